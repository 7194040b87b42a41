"""The ACL subcommands a node answers itself (SETUSER and DELUSER go through the log).

USERS, LIST and GETUSER read this node's table, which every node builds from the same
replicated records (so they agree, except for the default user's password where a node's
requirepass overrides it). WHOAMI and LOG are about this node's connections. SAVE and LOAD
answer Redis's error for a server without an aclfile: users live in the replicated state.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Final

from seshat.acl import check as C
from seshat.acl.catalog import CATEGORIES, catalog
from seshat.acl.rules import Selector, User
from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import OK, ErrorReply, Map, Reply, Set, SimpleString

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

NO_ACLFILE: Final = ErrorReply(
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
    "Redis configuration file set) in order to store users in the Redis configuration."
)
GENPASS_RANGE: Final = ErrorReply(
    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive "
    "number up to 4096"
)
NOT_INTEGER: Final = ErrorReply("ERR value is not an integer or out of range")
GENPASS_BITS_MAX: Final = 4096
LOG_DEFAULT_COUNT: Final = 10

HELP: Final = (
    b"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CAT [<category>]",
    b"    List all commands that belong to <category>, or all command categories",
    b"    when no category is specified.",
    b"DELUSER <username> [<username> ...]",
    b"    Delete a list of users.",
    b"DRYRUN <username> <command> [<arg> ...]",
    b"    Returns whether the user can execute the given command without executing the command.",
    b"GETUSER <username>",
    b"    Get the user's details.",
    b"GENPASS [<bits>]",
    b"    Generate a secure 256-bit user password. The optional `bits` argument can",
    b"    be used to specify a different size.",
    b"LIST",
    b"    Show users details in config file format.",
    b"LOAD",
    b"    Reload users from the ACL file.",
    b"LOG [<count> | RESET]",
    b"    Show the ACL log entries.",
    b"SAVE",
    b"    Save the current config to the ACL file.",
    b"SETUSER <username> <attribute> [<attribute> ...]",
    b"    Create or modify a user with the specified attributes.",
    b"USERS",
    b"    List all the registered usernames.",
    b"WHOAMI",
    b"    Return the current connection username.",
    b"HELP",
    b"    Prints this help.",
)


def acl_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    """ACL's connection subcommands (dispatch has checked the subcommand and its arity)."""
    acl = admin.server.acl
    sub = argv[1].lower()
    n = len(argv)
    if sub == b"whoami":
        return conn.user_name
    if sub == b"users":
        return [name for name in acl.table.names()]
    if sub == b"list":
        table = acl.table
        return [b"user " + name + b" " + table.users[name].describe() for name in table.names()]
    if sub == b"getuser":
        user = acl.user(argv[2])
        return None if user is None else getuser_reply(user)
    if sub == b"cat" and n <= 3:
        return _cat(argv)
    if sub == b"genpass" and n <= 3:
        bits = 256
        if n == 3:
            parsed = parse_int(argv[2])
            if parsed is None:
                return NOT_INTEGER
            if parsed <= 0 or parsed > GENPASS_BITS_MAX:
                return GENPASS_RANGE
            bits = parsed
        chars = (bits + 3) // 4
        return secrets.token_hex((chars + 1) // 2)[:chars].encode()
    if sub == b"dryrun":
        return _dryrun(admin, argv)
    if sub == b"log" and n <= 3:
        count = LOG_DEFAULT_COUNT
        if n == 3:
            if argv[2].lower() == b"reset":
                acl.log.reset()
                return OK
            parsed = parse_int(argv[2])
            if parsed is None:
                return NOT_INTEGER
            count = max(parsed, 0)
        return acl.log.reply(count)
    if sub in (b"save", b"load"):
        return NO_ACLFILE
    if sub == b"help":
        return [SimpleString(line) for line in HELP]
    return ErrorReply(
        f"ERR unknown subcommand or wrong number of arguments for "
        f"'{argv[1].decode(errors='replace')[:128]}'. Try ACL HELP."
    )


def _cat(argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        return [c.encode() for c in CATEGORIES]
    name = argv[2].decode(errors="replace").lower()
    members = catalog().by_category.get(name)
    if members is None:
        return ErrorReply(f"ERR Unknown category '{argv[2].decode(errors='replace')[:128]}'")
    return [spec.name for spec in members]


def _dryrun(admin: Admin, argv: list[bytes]) -> Reply:
    user = admin.server.acl.user(argv[2])
    if user is None:
        return ErrorReply(f"ERR User '{argv[2].decode(errors='replace')}' not found")
    args = argv[3:]
    spec = catalog().lookup(args[0])
    if spec is not None and spec.subcommands and len(args) > 1:
        spec = catalog().lookup(args[0] + b"|" + args[1])
    if spec is None:
        return ErrorReply(f"ERR Command '{args[0].decode(errors='replace')}' not found")
    if not spec.arity_ok(len(args)):
        return E.wrong_arity(spec.name)
    denial = C.check_spec(user, spec, args)
    if denial is None:
        return OK
    return denial.dryrun(args)


def _selector_reply(s: Selector) -> list[tuple[Reply, Reply]]:
    return [
        (b"commands", s.describe_commands()),
        (b"keys", s.describe_keys()),
        (b"channels", s.describe_channels()),
    ]


def getuser_reply(user: User) -> Reply:
    items: list[tuple[Reply, Reply]] = [
        (b"flags", Set(list(user.flag_names()))),
        (b"passwords", list(user.passwords)),
    ]
    items += _selector_reply(user.root)
    items.append((b"selectors", [Map(_selector_reply(s)) for s in user.selectors[1:]]))
    return Map(items)
