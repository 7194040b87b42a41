"""The command-table rows of DUMP, RESTORE and RESTORE-ASKING, as plain data.

`commands.py` turns each into a `CommandSpec` with its `_row`. Values are what redis-server
7.0.15 publishes in `COMMAND INFO` and `COMMAND DOCS`; key spec tuples are as described in
`hash_set_table.py`. DUMP is a read; RESTORE and RESTORE-ASKING (the same command for a
cluster's migration, flagged `asking`) are writes: `seshat/kv/dump.py`.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

from seshat.kv import dump as D

_RESTORE_COMPLEXITY: Final = "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N))."

# fmt: off
DUMP_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'dump', arity=2, flags='readonly', first_key=1, last_key=1, step=1, acl='@keyspace @read @slow',
         tips='nondeterministic_output', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Return a serialized version of the value stored at the specified key.', since='2.6.0', group='generic', complexity='O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).',
         kind='read', read=D.read_dump),
    dict(name=b'restore', arity=-4, flags='write denyoom', first_key=1, last_key=1, step=1, acl='@keyspace @write @slow @dangerous',
         tips='', key_specs=((('OW', 'update'), 1, 0, 1, 0, '', 'range'),),
         summary='Create a key using the provided serialized value, previously obtained using DUMP.', since='2.6.0', group='generic', complexity=_RESTORE_COMPLEXITY,
         kind='write', prepare=D.prepare_restore, apply=D.apply_restore),
    dict(name=b'restore-asking', arity=-4, flags='write denyoom asking', first_key=1, last_key=1, step=1, acl='@keyspace @write @slow @dangerous',
         tips='', key_specs=((('OW', 'update'), 1, 0, 1, 0, '', 'range'),),
         summary='An internal command for migrating keys in a cluster', since='3.0.0', group='server', complexity=_RESTORE_COMPLEXITY,
         kind='write', prepare=D.prepare_restore, apply=D.apply_restore),
)
# fmt: on
