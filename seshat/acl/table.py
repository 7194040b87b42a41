"""The command-table rows of ACL and its subcommands, as plain data.

`seshat/kv/commands.py` turns each into a `CommandSpec` with its `_row`, as it does the rows
of `function_table.py`. Values are what redis-server 7.0.15 publishes in `COMMAND INFO` and
`COMMAND DOCS`. ACL's subcommands differ in kind: SETUSER and DELUSER go through the log
(`replicated.py`); the others are answered by the node (`commands.py`), so the service routes
an ACL command by its subcommand's row.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

from seshat.acl import replicated as A

# fmt: off
ACL_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'acl', arity=-2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='A container for Access List Control commands ', since='6.0.0', group='server', complexity='Depends on subcommand.', subcommands=13,
         kind='write', prepare=A.prepare_acl, apply=A.apply_acl),
)

ACL_SUBCOMMAND_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'acl|cat', arity=-2, flags='noscript loading stale', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='List the ACL categories or the commands inside a category', since='6.0.0', group='server', complexity='O(1) since the categories and commands are a fixed set.',
         kind='connection'),
    dict(name=b'acl|deluser', arity=-3, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='Remove the specified ACL users and the associated rules', since='6.0.0', group='server', complexity='O(1) amortized time considering the typical user.',
         kind='write', prepare=A.prepare_acl, apply=A.apply_acl),
    dict(name=b'acl|dryrun', arity=-4, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='Returns whether the user can execute the given command without executing the command.', since='7.0.0', group='server', complexity='O(1).',
         kind='connection'),
    dict(name=b'acl|genpass', arity=-2, flags='noscript loading stale', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='Generate a pseudorandom secure password to use for ACL users', since='6.0.0', group='server', complexity='O(1)',
         kind='connection'),
    dict(name=b'acl|getuser', arity=3, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='Get the rules for a specific ACL user', since='6.0.0', group='server', complexity='O(N). Where N is the number of password, command and pattern rules that the user has.',
         kind='connection'),
    dict(name=b'acl|help', arity=2, flags='loading stale', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='Show helpful text about the different subcommands', since='6.0.0', group='server', complexity='O(1)',
         kind='connection'),
    dict(name=b'acl|list', arity=2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='List the current ACL rules in ACL config file format', since='6.0.0', group='server', complexity='O(N). Where N is the number of configured users.',
         kind='connection'),
    dict(name=b'acl|load', arity=2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='Reload the ACLs from the configured ACL file', since='6.0.0', group='server', complexity='O(N). Where N is the number of configured users.',
         kind='connection'),
    dict(name=b'acl|log', arity=-2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='List latest events denied because of ACLs in place', since='6.0.0', group='server', complexity='O(N) with N being the number of entries shown.',
         kind='connection'),
    dict(name=b'acl|save', arity=2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='Save the current ACL rules in the configured ACL file', since='6.0.0', group='server', complexity='O(N). Where N is the number of configured users.',
         kind='connection'),
    dict(name=b'acl|setuser', arity=-3, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='Modify or create the rules for a specific ACL user', since='6.0.0', group='server', complexity='O(N). Where N is the number of rules provided.',
         kind='write', prepare=A.prepare_acl, apply=A.apply_acl),
    dict(name=b'acl|users', arity=2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='List the username of all the configured ACL rules', since='6.0.0', group='server', complexity='O(N). Where N is the number of configured users.',
         kind='connection'),
    dict(name=b'acl|whoami', arity=2, flags='noscript loading stale', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='Return the name of the user associated to the current connection', since='6.0.0', group='server', complexity='O(1)',
         kind='connection'),
)
# fmt: on
