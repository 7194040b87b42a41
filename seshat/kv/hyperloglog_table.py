"""The command-table rows of the HyperLogLog commands, as plain data.

`commands.py` turns each into a `CommandSpec` with its `_row`, as it does the rows of
`bitmap_table.py`. Values are what redis-server 7.0.15 publishes in `COMMAND INFO` and
`COMMAND DOCS`; key spec tuples are as described in `hash_set_table.py`.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

from seshat.kv import hyperloglog as H

# fmt: off
HYPERLOGLOG_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'pfadd', arity=-2, flags='write denyoom fast', first_key=1, last_key=1, step=1, acl='@write @hyperloglog @fast',
         tips='', key_specs=((('RW', 'insert'), 1, 0, 1, 0, '', 'range'),),
         summary='Adds the specified elements to the specified HyperLogLog.', since='2.8.9', group='hyperloglog', complexity='O(1) to add every element.',
         kind='write', apply=H.apply_pfadd),
    # Read-only in Redis, yet it may store the count it computed in the value, and Redis
    # propagates that: Seshat replicates it as a write (`hyperloglog.py`).
    dict(name=b'pfcount', arity=-2, flags='readonly', first_key=1, last_key=-1, step=1, acl='@read @hyperloglog @slow',
         tips='', key_specs=((('RW', 'access'), 1, -1, 1, 0, 'RW because it may change the internal representation of the key, and propagate to replicas', 'range'),),
         summary='Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).', since='2.8.9', group='hyperloglog', complexity='O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.',
         kind='write', apply=H.apply_pfcount),
    dict(name=b'pfmerge', arity=-2, flags='write denyoom', first_key=1, last_key=-1, step=1, acl='@write @hyperloglog @slow',
         tips='', key_specs=((('RW', 'access', 'insert'), 1, 0, 1, 0, '', 'range'), (('RO', 'access'), 2, -1, 1, 0, '', 'range')),
         summary='Merge N different HyperLogLogs into a single one.', since='2.8.9', group='hyperloglog', complexity='O(N) to merge N HyperLogLogs, but with high constant times.',
         kind='write', apply=H.apply_pfmerge),
    # Checks this node's HLL code and touches no key: `seshat/debug_commands.py` answers it.
    dict(name=b'pfselftest', arity=1, flags='admin', first_key=0, last_key=0, step=0, acl='@hyperloglog @admin @slow @dangerous',
         tips='', key_specs=(),
         summary='An internal command for testing HyperLogLog values', since='2.8.9', group='hyperloglog', complexity='N/A',
         kind='connection'),
    # A write in Redis's table too: GETREG and TODENSE store a sparse value dense.
    dict(name=b'pfdebug', arity=3, flags='write denyoom admin', first_key=2, last_key=2, step=1, acl='@write @hyperloglog @admin @slow @dangerous',
         tips='', key_specs=((('RW', 'access'), 2, 0, 1, 0, '', 'range'),),
         summary='Internal commands for debugging HyperLogLog values', since='2.8.9', group='hyperloglog', complexity='N/A',
         kind='write', apply=H.apply_pfdebug),
)
# fmt: on
