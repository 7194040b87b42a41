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
from seshat.protocol.replies import ErrorReply

if TYPE_CHECKING:
    from seshat.kv.commands import CommandSpec, KeySpec

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


def _needs(ks: KeySpec) -> int:
    needs = 0
    if "access" in ks.flags:
        needs |= READ
    if "insert" in ks.flags or "update" in ks.flags or "delete" in ks.flags:
        needs |= WRITE
    return needs


def key_positions(spec: CommandSpec, argv: list[bytes]) -> list[tuple[int, int]]:
    """(argument position, READ|WRITE needed) of each key, by the row's key specs
    (`getKeysUsingKeySpecs`); SORT's STORE key as `sortGetKeys` finds it."""
    out: list[tuple[int, int]] = []
    argc = len(argv)
    for ks in spec.key_specs:
        if ks.find == "unknown":
            continue
        found = _spec_range(ks, argv)
        if found is None:
            if spec.name in (b"sort", b"sort_ro"):
                break
            return []  # an invalid spec: Redis finds no keys, and the command fails itself
        first, last, step = found
        needs = _needs(ks)
        out += [(i, needs) for i in range(first, last + 1, max(step, 1)) if i < argc]
    if spec.name == b"sort":
        for i in range(2, argc - 1):
            if argv[i].lower() == b"store":
                out.append((i + 1, WRITE))
    return out


def _spec_range(ks: KeySpec, argv: list[bytes]) -> tuple[int, int, int] | None:
    argc = len(argv)
    if ks.keyword:
        start = ks.begin_index if ks.begin_index > 0 else argc + ks.begin_index
        end = argc - 1 if ks.begin_index > 0 else 1
        first = 0
        i = start
        while i != end:
            if i >= argc or i < 1:
                break
            if argv[i].lower() == ks.keyword.lower().encode():
                first = i + 1
                break
            i = i + 1 if start <= end else i - 1
        if not first:
            return (1, 0, 1)  # keyword absent: no keys from this spec
    else:
        first = ks.begin_index
    if ks.find == "keynum":
        at = first + ks.last_key  # keynumidx
        if at >= argc:
            return None
        try:
            numkeys = int(argv[at])
        except ValueError:
            return None
        if numkeys < 0:
            return None
        first += ks.key_step  # firstkey
        last = first + numkeys - 1
        step = ks.limit  # keystep
    else:
        if ks.last_key >= 0:
            last = first + ks.last_key
        elif not ks.limit:
            last = argc + ks.last_key
        else:
            last = first + ((argc - first) // ks.limit + ks.last_key)
        step = ks.key_step
    if last < first:
        return (1, 0, 1) if ks.find == "keynum" else None
    if last >= argc or first >= argc:
        return None
    return first, last, step


def script_error(denial: Denial) -> str:
    """The text `redis.call` raises inside a script (7.0's `scriptVerifyACL`)."""
    if denial.reason == DENIED_CMD:
        return SCRIPT_CMD
    return SCRIPT_KEY if denial.reason == DENIED_KEY else SCRIPT_CHANNEL
