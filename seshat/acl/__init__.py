"""Redis 7.0 ACL: users, their rules, and the checks dispatch makes (docs/acl.md).

`rules.py` parses and describes a user's rules, `catalog.py` maps command names and categories
to the command table, `check.py` decides whether a user may run a command, `users.py` is a
node's table of users (fed from apply), `replicated.py` is ACL SETUSER/DELUSER through the log,
`log.py` is ACL LOG and `commands.py` the ACL subcommands a node answers itself.
"""
