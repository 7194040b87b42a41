"""The command-table rows of SORT and SORT_RO, as plain data.

`commands.py` turns each into a `CommandSpec` with its `_row`. Values are what redis-server
7.0.15 publishes in `COMMAND INFO` and `COMMAND DOCS`; key spec tuples are as described in
`hash_set_table.py`, with `'unknown'` as the seventh element for the specs whose begin search
and find keys Redis leaves unknown (BY/GET keys, STORE's destination). SORT is a write, as in
Redis, with a `read` too: `KVService.prepare` routes it as a read when it has no STORE.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

from seshat.kv import sort as SO

# fmt: off
SORT_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'sort', arity=-2, flags='write denyoom movablekeys', first_key=1, last_key=1, step=1, acl='@write @set @sortedset @list @slow @dangerous',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'), (('RO', 'access'), 0, 0, 0, 0, "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort", 'unknown'), (('OW', 'update'), 0, 0, 0, 0, "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array", 'unknown')),
         summary='Sort the elements in a list, set or sorted set', since='1.0.0', group='generic', complexity='O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).',
         kind='write', prepare=SO.prepare_sort, apply=SO.apply_sort, read=SO.read_sort),
    dict(name=b'sort_ro', arity=-2, flags='readonly movablekeys', first_key=1, last_key=1, step=1, acl='@read @set @sortedset @list @slow @dangerous',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'), (('RO', 'access'), 0, 0, 0, 0, "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort", 'unknown')),
         summary='Sort the elements in a list, set or sorted set. Read-only variant of SORT.', since='7.0.0', group='generic', complexity='O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).',
         kind='read', read=SO.read_sort_ro),
)
# fmt: on
