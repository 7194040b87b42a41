"""MODULE: Seshat loads no Redis modules, and answers as a Redis that may not load them.

Redis 7's default `enable-module-command no` refuses LOAD, LOADEX and UNLOAD with the error
below, and LIST answers an empty list: the same replies are true of Seshat, whose commands are
Python and whose every write must replay identically on every replica.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from seshat.protocol.replies import ErrorReply, Reply, SimpleString

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

NOT_ALLOWED: Final = ErrorReply(
    'ERR MODULE command not allowed. If the enable-module-command option is set to "local", '
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
HELP: Final = [
    SimpleString(line)
    for line in (
        b"MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"LIST",
        b"    Return a list of loaded modules.",
        b"LOAD <path> [<arg> ...]",
        b"    Load a module library from <path>, passing to it any optional arguments.",
        b"LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        b"    Load a module library from <path>, while passing it module configurations and"
        + b" optional arguments.",
        b"UNLOAD <name>",
        b"    Unload a module.",
        b"HELP",
        b"    Prints this help.",
    )
]


def module_command(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    """MODULE LIST | HELP | LOAD | LOADEX | UNLOAD (existence and arity checked by the table)."""
    sub = argv[1].lower()
    if sub == b"list":
        return []
    if sub == b"help":
        return HELP
    return NOT_ALLOWED


HANDLERS = {b"module": module_command}
