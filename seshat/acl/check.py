"""May this user run this command? Redis 7.0's `ACLCheckAllUserCommandPerm`, and its texts.

Dispatch calls `check` only for a restricted user (`User.unrestricted` is False), so the common
connection pays one attribute test and nothing here. The command is the subcommand's row when
there is one (`config|get`), as Redis's `c->cmd`. Then, selector by selector: the command (or,
for a command allowed only with some first arguments, that argument); every key the key specs
find, against the patterns that grant what the key spec's logical flags need (`access` needs
read, `insert`/`update`/`delete` need write; RW/RO/OW/RM play no part, as in 7.0); the channels
of SUBSCRIBE, SSUBSCRIBE, PSUBSCRIBE (patterns compared literally), PUBLISH and SPUBLISH. The
first selector that allows everything wins; otherwise the "most relevant" denial is reported
(Redis: the highest reason, then the last argument position).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from seshat.acl.rules import READ, WRITE, Selector, User
from seshat.kv.glob import match
from seshat.kv.key_specs import find_keys
from seshat.protocol.replies import ErrorReply

if TYPE_CHECKING:
    from seshat.kv.commands import CommandSpec

# Redis's ACL_DENIED_* values: the order decides which denial a multi-selector user reports.
DENIED_CMD: Final = 1
DENIED_KEY: Final = 2
DENIED_AUTH: Final = 3
DENIED_CHANNEL: Final = 4

REASON_NAMES: Final = {DENIED_CMD: b"command", DENIED_KEY: b"key", DENIED_AUTH: b"auth",
                       DENIED_CHANNEL: b"channel"}  # fmt: skip

NOPERM_KEY: Final = ErrorReply(
    "NOPERM this user has no permissions to access one of the keys used as arguments"
)
NOPERM_CHANNEL: Final = ErrorReply(
    "NOPERM this user has no permissions to access one of the channels used as arguments"
)
SCRIPT_CMD: Final = "The user executing the script can't run this command or subcommand"
SCRIPT_KEY: Final = (
    "The user executing the script can't access at least one of the keys mentioned in the "
    "command arguments"
)
SCRIPT_CHANNEL: Final = (
    "The user executing the script can't publish to the channel mentioned in the command"
)

_SUBSCRIBE: Final = frozenset({b"subscribe", b"ssubscribe"})
_PUBLISH: Final = frozenset({b"publish", b"spublish"})


class Denial:
    """Why a command was refused: the reason, the argument position (keys, channels) and the
    command's row (its full name goes in the error and the ACL LOG)."""

    __slots__ = ("position", "reason", "spec")

    def __init__(self, reason: int, position: int, spec: CommandSpec) -> None:
        self.reason = reason
        self.position = position
        self.spec = spec

    def noperm(self) -> ErrorReply:
        """The error dispatch answers (`processCommand` in 7.0.15)."""
        if self.reason == DENIED_CMD:
            name = self.spec.name.decode(errors="replace")
            return ErrorReply(f"NOPERM this user has no permissions to run the '{name}' command")
        return NOPERM_KEY if self.reason == DENIED_KEY else NOPERM_CHANNEL

    def dryrun(self, argv: list[bytes]) -> bytes:
        """ACL DRYRUN's text (a bulk string, not an error)."""
        if self.reason == DENIED_CMD:
            name = self.spec.name.decode(errors="replace")
            return f"This user has no permissions to run the '{name}' command".encode()
        what = b"key" if self.reason == DENIED_KEY else b"channel"
        return b"This user has no permissions to access the '%s' %s" % (argv[self.position], what)

    def object(self, argv: list[bytes]) -> bytes:
        """What ACL LOG names: the command's full name, or the key or channel."""
        return self.spec.name if self.reason == DENIED_CMD else argv[self.position]


def command_row(argv: list[bytes]) -> CommandSpec | None:
    """The row Redis would check: the subcommand's for a container; None when the command
    would fail before any ACL check (unknown, unknown subcommand, wrong arity)."""
    from seshat.kv.commands import lookup, lookup_subcommand

    spec = lookup(argv[0])
    if spec is None or not spec.arity_ok(len(argv)):
        return None
    if spec.subcommands:
        if len(argv) < 2:
            return None
        sub = lookup_subcommand(spec.name, argv[1])
        if sub is None or not sub.arity_ok(len(argv)):
            return None
        return sub
    return spec


def check(user: User, argv: list[bytes]) -> Denial | None:
    """None if `user` may run `argv` (or if the command fails anyway before ACL)."""
    spec = command_row(argv)
    if spec is None:
        return None
    return check_spec(user, spec, argv)


def check_spec(user: User, spec: CommandSpec, argv: list[bytes]) -> Denial | None:
    if user.unrestricted:
        return None
    keys: list[tuple[int, int]] | None = None
    worst: Denial | None = None
    for selector in user.selectors:
        if not selector.all_keys and keys is None:
            keys = key_positions(spec, argv)
        denial = _check_selector(selector, spec, argv, keys or [])
        if denial is None:
            return None
        if (
            worst is None
            or denial.reason > worst.reason
            or (denial.reason == worst.reason and denial.position > worst.position)
        ):
            worst = denial
    return worst


def _check_selector(
    sel: Selector, spec: CommandSpec, argv: list[bytes], keys: list[tuple[int, int]]
) -> Denial | None:
    from seshat.kv.commands import F_NO_AUTH

    name = spec.name
    if not sel.all_commands and not spec.flags & F_NO_AUTH and name not in sel.allowed:
        args = sel.first_args.get(name)
        index = 2 if b"|" in name else 1
        if not args or len(argv) <= index or all(a.lower() != argv[index].lower() for a in args):
            return Denial(DENIED_CMD, 0, spec)
    if not sel.all_keys:
        for position, needs in keys:
            if not _key_allowed(sel, argv[position], needs):
                return Denial(DENIED_KEY, position, spec)
    if not sel.all_channels:
        if name in _SUBSCRIBE or name == b"psubscribe":
            literal = name == b"psubscribe"
            for position in range(1, len(argv)):
                if not _channel_allowed(sel, argv[position], literal):
                    return Denial(DENIED_CHANNEL, position, spec)
        elif name in _PUBLISH and not _channel_allowed(sel, argv[1], False):
            return Denial(DENIED_CHANNEL, 1, spec)
    return None


def _key_allowed(sel: Selector, key: bytes, needs: int) -> bool:
    for pattern, flags in sel.patterns:
        if flags & needs == needs and match(pattern, key):
            return True
    return False


def _channel_allowed(sel: Selector, channel: bytes, literal: bool) -> bool:
    for pattern in sel.channels:
        if (pattern == channel) if literal else match(pattern, channel):
            return True
    return False


# -- keys ------------------------------------------------------------------------------------


def key_positions(spec: CommandSpec, argv: list[bytes]) -> list[tuple[int, int]]:
    """(argument position, READ|WRITE needed) of each key, as Redis 7.0's ACL finds them
    (`getKeysFromCommandWithSpecs`: seshat/kv/key_specs.py). Arguments that contradict the
    specs give no keys: the command then fails by itself, as in Redis."""
    return [
        (ref.position, (READ if ref.reads else 0) | (WRITE if ref.writes else 0))
        for ref in find_keys(spec, argv) or ()
    ]


def script_error(denial: Denial) -> str:
    """The text `redis.call` raises inside a script (7.0's `scriptVerifyACL`)."""
    if denial.reason == DENIED_CMD:
        return SCRIPT_CMD
    return SCRIPT_KEY if denial.reason == DENIED_KEY else SCRIPT_CHANNEL
