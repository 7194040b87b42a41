"""The command-table rows of FCALL, FCALL_RO and FUNCTION with its subcommands, as plain data.

`commands.py` turns each into a `CommandSpec` with its `_row`. Values are what redis-server
7.0.15 publishes in `COMMAND INFO` and `COMMAND DOCS`. FUNCTION's subcommands differ in kind
(LOAD, DELETE, FLUSH and RESTORE go through the log; LIST, DUMP, STATS, KILL and HELP are
reads), so the service routes a FUNCTION command by its subcommand's row, as it does SCRIPT.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

from seshat.kv import functions as F

# fmt: off
FUNCTION_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'fcall', arity=-3, flags='noscript stale skip_monitor no_mandatory_keys movablekeys', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=((('RW', 'access', 'update'), 2, 0, 1, 1, 'We cannot tell how the keys will be used so we assume the worst, RW and UPDATE', 'keynum'),),
         summary='Invoke a function', since='7.0.0', group='scripting', complexity='Depends on the function that is executed.',
         kind='write', prepare=None, apply=F.apply_fcall),
    dict(name=b'fcall_ro', arity=-3, flags='readonly noscript stale skip_monitor no_mandatory_keys movablekeys', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=((('RO', 'access'), 2, 0, 1, 1, 'We cannot tell how the keys will be used so we assume the worst, RO and ACCESS', 'keynum'),),
         summary='Invoke a read-only function', since='7.0.0', group='scripting', complexity='Depends on the function that is executed.',
         kind='read', read=F.read_fcall_ro),
    dict(name=b'function', arity=-2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='A container for function commands', since='7.0.0', group='scripting', complexity='Depends on subcommand.', subcommands=9,
         kind='write', prepare=F.prepare_function, apply=F.apply_function),
)

FUNCTION_SUBCOMMAND_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'function|delete', arity=3, flags='write noscript', first_key=0, last_key=0, step=0, acl='@write @slow @scripting',
         tips='request_policy:all_shards response_policy:all_succeeded', key_specs=(),
         summary='Delete a function by name', since='7.0.0', group='scripting', complexity='O(1)',
         kind='write', prepare=F.prepare_function, apply=F.apply_function),
    dict(name=b'function|dump', arity=2, flags='noscript', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=(),
         summary='Dump all functions into a serialized binary payload', since='7.0.0', group='scripting', complexity='O(N) where N is the number of functions',
         kind='read', read=F.read_function),
    dict(name=b'function|flush', arity=-2, flags='write noscript', first_key=0, last_key=0, step=0, acl='@write @slow @scripting',
         tips='request_policy:all_shards response_policy:all_succeeded', key_specs=(),
         summary='Deleting all functions', since='7.0.0', group='scripting', complexity='O(N) where N is the number of functions deleted',
         kind='write', prepare=F.prepare_function, apply=F.apply_function),
    dict(name=b'function|help', arity=2, flags='loading stale', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=(),
         summary='Show helpful text about the different subcommands', since='7.0.0', group='scripting', complexity='O(1)',
         kind='read', read=F.read_function),
    dict(name=b'function|kill', arity=2, flags='noscript allow_busy', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='request_policy:all_shards response_policy:one_succeeded', key_specs=(),
         summary='Kill the function currently in execution.', since='7.0.0', group='scripting', complexity='O(1)',
         kind='read', read=F.read_function),
    dict(name=b'function|list', arity=-2, flags='noscript', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='nondeterministic_output_order', key_specs=(),
         summary='List information about all the functions', since='7.0.0', group='scripting', complexity='O(N) where N is the number of functions',
         kind='read', read=F.read_function),
    dict(name=b'function|load', arity=-3, flags='write denyoom noscript', first_key=0, last_key=0, step=0, acl='@write @slow @scripting',
         tips='request_policy:all_shards response_policy:all_succeeded', key_specs=(),
         summary='Create a function with the given arguments (name, code, description)', since='7.0.0', group='scripting', complexity='O(1) (considering compilation time is redundant)',
         kind='write', prepare=F.prepare_function, apply=F.apply_function),
    dict(name=b'function|restore', arity=-3, flags='write denyoom noscript', first_key=0, last_key=0, step=0, acl='@write @slow @scripting',
         tips='request_policy:all_shards response_policy:all_succeeded', key_specs=(),
         summary='Restore all the functions on the given payload', since='7.0.0', group='scripting', complexity='O(N) where N is the number of functions on the payload',
         kind='write', prepare=F.prepare_function, apply=F.apply_function),
    dict(name=b'function|stats', arity=2, flags='noscript allow_busy', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='nondeterministic_output request_policy:all_shards response_policy:special', key_specs=(),
         summary='Return information about the function currently running (name, description, duration)', since='7.0.0', group='scripting', complexity='O(1)',
         kind='read', read=F.read_function),
)
# fmt: on
