"""The command-table rows of the bitmap commands, as plain data.

`commands.py` turns each into a `CommandSpec` with its `_row`, as it does the rows of
`hash_set_table.py` and `list_zset_table.py`. Values are what redis-server 7.0.15 publishes in
`COMMAND INFO` and `COMMAND DOCS`; key spec tuples are as described in `hash_set_table.py`.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

from seshat.kv import bitfield as F
from seshat.kv import bitmaps as B

# fmt: off
BITMAP_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'getbit', arity=3, flags='readonly fast', first_key=1, last_key=1, step=1, acl='@read @bitmap @fast',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Returns the bit value at offset in the string value stored at key', since='2.2.0', group='bitmap', complexity='O(1)',
         kind='read', read=B.read_getbit),
    dict(name=b'setbit', arity=4, flags='write denyoom', first_key=1, last_key=1, step=1, acl='@write @bitmap @slow',
         tips='', key_specs=((('RW', 'access', 'update'), 1, 0, 1, 0, '', 'range'),),
         summary='Sets or clears the bit at offset in the string value stored at key', since='2.2.0', group='bitmap', complexity='O(1)',
         kind='write', prepare=B.prepare_setbit, apply=B.apply_setbit),
    dict(name=b'bitcount', arity=-2, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @bitmap @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Count set bits in a string', since='2.6.0', group='bitmap', complexity='O(N)',
         kind='read', read=B.read_bitcount),
    dict(name=b'bitpos', arity=-3, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @bitmap @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Find first bit set or clear in a string', since='2.8.7', group='bitmap', complexity='O(N)',
         kind='read', read=B.read_bitpos),
    dict(name=b'bitop', arity=-4, flags='write denyoom', first_key=2, last_key=-1, step=1, acl='@write @bitmap @slow',
         tips='', key_specs=((('OW', 'update'), 2, 0, 1, 0, '', 'range'), (('RO', 'access'), 3, -1, 1, 0, '', 'range')),
         summary='Perform bitwise operations between strings', since='2.6.0', group='bitmap', complexity='O(N)',
         kind='write', prepare=B.prepare_bitop, apply=B.apply_bitop),
    dict(name=b'bitfield', arity=-2, flags='write denyoom', first_key=1, last_key=1, step=1, acl='@write @bitmap @slow',
         tips='', key_specs=((('RW', 'access', 'update', 'variable_flags'), 1, 0, 1, 0, 'This command allows both access and modification of the key', 'range'),),
         summary='Perform arbitrary bitfield integer operations on strings', since='3.2.0', group='bitmap', complexity='O(1) for each subcommand specified',
         kind='write', prepare=F.prepare_bitfield, apply=F.apply_bitfield),
    dict(name=b'bitfield_ro', arity=-2, flags='readonly fast', first_key=1, last_key=1, step=1, acl='@read @bitmap @fast',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD', since='6.0.0', group='bitmap', complexity='O(1) for each subcommand specified',
         kind='read', read=F.read_bitfield_ro),
)
# fmt: on
