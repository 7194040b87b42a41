"""The command-table rows of EVAL, EVALSHA, their _RO forms and SCRIPT, as plain data.

`commands.py` turns each into a `CommandSpec` with its `_row`. Values are what redis-server
7.0.15 publishes in `COMMAND INFO` and `COMMAND DOCS`; key spec tuples are as described in
`hash_set_table.py`. SCRIPT's subcommands differ in kind (LOAD and FLUSH go through the log,
EXISTS is a read), so the service routes a SCRIPT command by its subcommand's row.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

from seshat.kv import scripts as S

_SCRIPT_FLAGS: Final = "noscript stale skip_monitor no_mandatory_keys movablekeys"
_RW_KEYS: Final = ((("RW", "access", "update"), 2, 0, 1, 1, "", "keynum"),)
_RO_KEYS: Final = ((("RO", "access"), 2, 0, 1, 1, "", "keynum"),)
_RUN_COMPLEXITY: Final = "Depends on the script that is executed."

# fmt: off
SCRIPT_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'eval', arity=-3, flags=_SCRIPT_FLAGS, first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=((('RW', 'access', 'update'), 2, 0, 1, 1, 'We cannot tell how the keys will be used so we assume the worst, RW and UPDATE', 'keynum'),),
         summary='Execute a Lua script server side', since='2.6.0', group='scripting', complexity=_RUN_COMPLEXITY,
         kind='write', prepare=S.prepare_eval, apply=S.apply_eval),
    dict(name=b'evalsha', arity=-3, flags=_SCRIPT_FLAGS, first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=_RW_KEYS,
         summary='Execute a Lua script server side', since='2.6.0', group='scripting', complexity=_RUN_COMPLEXITY,
         kind='write', prepare=S.prepare_evalsha, apply=S.apply_evalsha),
    dict(name=b'eval_ro', arity=-3, flags='readonly ' + _SCRIPT_FLAGS, first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=((('RO', 'access'), 2, 0, 1, 1, 'We cannot tell how the keys will be used so we assume the worst, RO and ACCESS', 'keynum'),),
         summary='Execute a read-only Lua script server side', since='7.0.0', group='scripting', complexity=_RUN_COMPLEXITY,
         kind='read', read=S.read_eval_ro),
    dict(name=b'evalsha_ro', arity=-3, flags='readonly ' + _SCRIPT_FLAGS, first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=_RO_KEYS,
         summary='Execute a read-only Lua script server side', since='7.0.0', group='scripting', complexity=_RUN_COMPLEXITY,
         kind='read', read=S.read_evalsha_ro),
    dict(name=b'script', arity=-2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='A container for Lua scripts management commands', since='2.6.0', group='scripting', complexity='Depends on subcommand.', subcommands=6,
         kind='write', prepare=S.prepare_script, apply=S.apply_script),
)

SCRIPT_SUBCOMMAND_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'script|debug', arity=3, flags='noscript', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=(),
         summary='Set the debug mode for executed scripts.', since='3.2.0', group='scripting', complexity='O(1)',
         kind='read', read=S.read_script),
    dict(name=b'script|exists', arity=-3, flags='noscript', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='request_policy:all_shards response_policy:agg_logical_and', key_specs=(),
         summary='Check existence of scripts in the script cache.', since='2.6.0', group='scripting', complexity='O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).',
         kind='read', read=S.read_script),
    dict(name=b'script|flush', arity=-2, flags='noscript', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='request_policy:all_nodes response_policy:all_succeeded', key_specs=(),
         summary='Remove all the scripts from the script cache.', since='2.6.0', group='scripting', complexity='O(N) with N being the number of scripts in cache',
         kind='write', prepare=S.prepare_script, apply=S.apply_script),
    dict(name=b'script|help', arity=2, flags='loading stale', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='', key_specs=(),
         summary='Show helpful text about the different subcommands', since='5.0.0', group='scripting', complexity='O(1)',
         kind='read', read=S.read_script),
    dict(name=b'script|kill', arity=2, flags='noscript allow_busy', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='request_policy:all_shards response_policy:one_succeeded', key_specs=(),
         summary='Kill the script currently in execution.', since='2.6.0', group='scripting', complexity='O(1)',
         kind='read', read=S.read_script),
    dict(name=b'script|load', arity=3, flags='noscript stale', first_key=0, last_key=0, step=0, acl='@slow @scripting',
         tips='request_policy:all_nodes response_policy:all_succeeded', key_specs=(),
         summary='Load the specified Lua script into the script cache.', since='2.6.0', group='scripting', complexity='O(N) with N being the length in bytes of the script body.',
         kind='write', prepare=S.prepare_script, apply=S.apply_script),
)
# fmt: on
