"""A user's ACL rules: parse them as Redis 7.0's `ACLSetUser`, describe them as `ACL LIST`.

A `User` is built by applying rules one by one to a copy (`ACL SETUSER` is all or nothing, as
Redis's `ACLStringSetUser` stages changes on a temporary user). Once built it is never changed:
the node's table replaces the whole object, so a connection holding one sees a consistent user.

What the checks need is precomputed here, when a user changes, never per command: each
selector's allowed command names as a set, its key patterns split by permission, and
`User.unrestricted` (all commands, keys and channels in the root selector) which lets dispatch
skip every check for the common user with one attribute test.

The description follows 7.0's `ACLDescribeUser`: flags, `#<sha256>` passwords, the root
selector (`~keys`, `resetchannels &channels`, then command rules rebuilt from the allowed set:
see `Selector.describe_commands`), then ` (selector)` for each further selector. That
text is also what the replicated state stores (`users.py`), and parsing it again gives the
same user, which is how Redis's own ACL files work.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Final

from seshat.acl.catalog import CATEGORIES, catalog

READ: Final = 1
WRITE: Final = 2
READ_WRITE: Final = READ | WRITE

_HEX: Final = frozenset(b"0123456789abcdef")
_SPACES: Final = frozenset(b" \t\n\v\f\r\x00")


class RuleError(Exception):
    """A rule Redis refuses; `str()` is the reason `ACLSetUserStringError` gives."""


SYNTAX: Final = "Syntax error"
UNKNOWN_NAME: Final = "Unknown command or category name in ACL"
KEYS_AFTER_ALL: Final = (
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not "
    "have any effect. Try 'resetkeys' to start with an empty list of patterns"
)
CHANNELS_AFTER_ALL: Final = (
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does "
    "not have any effect. Try 'resetchannels' to start with an empty list of channels"
)
NO_SUCH_PASSWORD: Final = "The password you are trying to remove from the user does not exist"
BAD_HASH: Final = (
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal "
    "characters"
)
FIRST_ARG_OF_SUBCOMMAND: Final = "Allowing first-arg of a subcommand is not supported"


def password_hash(password: bytes) -> bytes:
    """Redis stores SHA-256 hex digests only (`ACLHashPassword`)."""
    return hashlib.sha256(password).hexdigest().encode()


def _has_spaces(s: bytes) -> bool:
    return any(c in _SPACES for c in s)


class Selector:
    """One set of command, key and channel permissions (Redis's `aclSelector`).

    `future` is Redis's reserved command bit: set by `+@all` only, it decides whether the
    description starts with `+@all` (commands added later would be allowed) or `-@all`.
    `all_commands` is the fast-path flag, cleared as soon as any command is taken away.
    """

    __slots__ = (
        "all_channels", "all_commands", "all_keys", "allowed", "channels", "first_args",
        "future", "patterns",
    )  # fmt: skip

    def __init__(self) -> None:
        self.all_keys = False
        self.patterns: list[tuple[bytes, int]] = []  # (pattern, READ|WRITE)
        self.all_channels = False  # Redis 7.0's acl-pubsub-default is resetchannels
        self.channels: list[bytes] = []
        self.future = False
        self.all_commands = False
        self.allowed: set[bytes] = set()  # full names: b"get", b"config|get"
        self.first_args: dict[bytes, list[bytes]] = {}  # command -> allowed first args

    def copy(self) -> Selector:
        s = Selector()
        s.all_keys, s.all_channels = self.all_keys, self.all_channels
        s.patterns, s.channels = list(self.patterns), list(self.channels)
        s.future, s.all_commands = self.future, self.all_commands
        s.allowed = set(self.allowed)
        s.first_args = {k: list(v) for k, v in self.first_args.items()}
        return s

    # -- rules -------------------------------------------------------------------------------

    def apply(self, op: bytes) -> None:
        """`ACLSetSelector`: one rule; raises RuleError (and may leave self half changed:
        callers work on a copy)."""
        low = op.lower()
        if low in (b"allkeys", b"~*"):
            self.all_keys = True
            self.patterns = []
        elif low == b"resetkeys":
            self.all_keys = False
            self.patterns = []
        elif low in (b"allchannels", b"&*"):
            self.all_channels = True
            self.channels = []
        elif low == b"resetchannels":
            self.all_channels = False
            self.channels = []
        elif low in (b"allcommands", b"+@all"):
            self.future = self.all_commands = True
            self.allowed = set(catalog().all_names)
            self.first_args = {}
        elif low in (b"nocommands", b"-@all"):
            self.future = self.all_commands = False
            self.allowed = set()
            self.first_args = {}
        elif op[:1] in (b"~", b"%"):
            self._add_key_pattern(op)
        elif op[:1] == b"&":
            if self.all_channels:
                raise RuleError(CHANNELS_AFTER_ALL)
            if _has_spaces(op[1:]):
                raise RuleError(SYNTAX)
            if op[1:] not in self.channels:
                self.channels.append(op[1:])
        elif op[:2] in (b"+@", b"-@"):
            self._category(op[2:], op[:1] == b"+")
        elif op[:1] == b"+":
            self._allow_command(op[1:])
        elif op[:1] == b"-":
            spec = catalog().lookup(op[1:])
            if spec is None:
                raise RuleError(UNKNOWN_NAME)
            self._change(spec.name, False)
        else:
            raise RuleError(SYNTAX)

    def _add_key_pattern(self, op: bytes) -> None:
        if self.all_keys:
            raise RuleError(KEYS_AFTER_ALL)
        flags = 0
        offset = 1
        if op[:1] == b"%":
            while offset < len(op):
                c = op[offset : offset + 1].upper()
                if c == b"R" and not flags & READ:
                    flags |= READ
                elif c == b"W" and not flags & WRITE:
                    flags |= WRITE
                elif c == b"~":
                    offset += 1
                    break
                else:
                    raise RuleError(SYNTAX)
                offset += 1
            if not flags:
                raise RuleError(SYNTAX)  # `%~a`: a pattern that grants nothing
        else:
            flags = READ_WRITE
        pattern = op[offset:]
        if _has_spaces(pattern):
            raise RuleError(SYNTAX)
        for i, (existing, existing_flags) in enumerate(self.patterns):
            if existing == pattern:
                self.patterns[i] = (pattern, existing_flags | flags)
                break
        else:
            self.patterns.append((pattern, flags))
        self.all_keys = False

    def _category(self, name: bytes, allow: bool) -> None:
        members = catalog().by_category.get(name.lower().decode(errors="replace"))
        if members is None:
            raise RuleError(UNKNOWN_NAME)
        for spec in members:
            self._change(spec.name, allow)

    def _allow_command(self, name: bytes) -> None:
        cat = catalog()
        if b"|" not in name:
            spec = cat.lookup(name)
            if spec is None:
                raise RuleError(UNKNOWN_NAME)
            self._change(spec.name, True)
            return
        base, _, sub = name.rpartition(b"|")
        spec = cat.lookup(base)
        if spec is None:
            raise RuleError(UNKNOWN_NAME)
        if cat.parent(spec) is not None:
            raise RuleError(FIRST_ARG_OF_SUBCOMMAND)
        if not sub:
            raise RuleError(SYNTAX)
        if cat.subcommands.get(spec.name):
            sub_spec = cat.lookup(name)
            if sub_spec is None:
                raise RuleError(UNKNOWN_NAME)
            self._change(sub_spec.name, True)
        else:
            # SELECT|0, DEBUG|OBJECT: Redis's deprecated first-argument allowance.
            # Redis also records it for a command already allowed, where it is dead state
            # (taking the command away drops it): we skip it, so the stored form is canonical.
            if spec.name not in self.allowed:
                args = self.first_args.setdefault(spec.name, [])
                if all(a.lower() != sub.lower() for a in args):
                    args.append(sub)

    def _change(self, name: bytes, allow: bool) -> None:
        """`ACLChangeSelectorPerm`: the command, and a container's subcommands with it."""
        names = [name] + [s.name for s in catalog().subcommands.get(name, ())]
        if allow:
            self.allowed.update(names)
        else:
            self.allowed.difference_update(names)
            self.all_commands = False
        self.first_args.pop(name, None)

    # -- description -------------------------------------------------------------------------

    def describe_keys(self) -> bytes:
        if self.all_keys:
            return b"~*"
        return b" ".join(_pattern_text(p, f) for p, f in self.patterns)

    def describe_channels(self) -> bytes:
        if self.all_channels:
            return b"&*"
        return b" ".join(b"&" + c for c in self.channels)

    def describe_commands(self) -> bytes:
        """Redis 7.0's `ACLDescribeSelectorCommandRules`: not the rules as given, but rules
        rebuilt from the allowed set. Start from `+@all` or `-@all`; while some category not
        yet used has more commands agreeing with the set than disagreeing, take the one with
        the fewest disagreements (ties: more agreements); then name each command that still
        differs, then the allowed first arguments. Redis walks its command dict (hash order,
        which differs between processes); we walk the table's order."""
        cat = catalog()
        additive = not self.future
        allowed = self.allowed
        rules = [b"+@all" if self.future else b"-@all"]
        fake: set[bytes] = set() if additive else set(cat.all_names)
        temp = set(allowed)
        used: set[str] = set()
        while True:
            best, best_diff, best_same = "", 1 << 30, 0
            for name in CATEGORIES:
                if name in used:
                    continue
                members = cat.by_category[name]
                on = sum(1 for spec in members if spec.name in temp)
                off = len(members) - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < best_diff or (diff == best_diff and same > best_same)):
                    best, best_diff, best_same = name, diff, same
            if not best:
                break
            used.add(best)
            names = _category_names(best)
            if additive:
                fake |= names
                temp -= names
            else:
                fake -= names
                temp |= names
            rules.append((b"+@" if additive else b"-@") + best.encode())
        for spec in cat.ordered:
            cmd = spec.name
            bit = cmd in allowed
            if bit != (cmd in fake):
                rules.append((b"+" if bit else b"-") + cmd)
                changed = {cmd} | {s.name for s in cat.subcommands.get(cmd, ())}
                if bit:
                    fake |= changed
                else:
                    fake -= changed
            if not bit:
                rules += [b"+" + cmd + b"|" + arg for arg in self.first_args.get(cmd, ())]
        return b" ".join(rules)

    def describe(self, stored: bool = False) -> bytes:
        """ACL LIST's text. `stored`: the form kept in the replicated state, where a `*` key
        pattern that is not `allkeys` (`%RW~*`) is kept apart from `~*` (which means allkeys
        when parsed again; ACL LIST shows both as `~*`, as Redis does)."""
        parts: list[bytes] = []
        if self.all_keys:
            parts.append(b"~*")
        else:
            parts += [
                b"%RW~*" if stored and p == b"*" and f == READ_WRITE else _pattern_text(p, f)
                for p, f in self.patterns
            ]
        if self.all_channels:
            parts.append(b"&*")
        else:
            parts.append(b"resetchannels")
            parts += [b"&" + c for c in self.channels]
        parts.append(self.describe_commands())
        return b" ".join(parts)

    @property
    def unrestricted(self) -> bool:
        return self.all_commands and self.all_keys and self.all_channels


@cache
def _category_names(name: str) -> frozenset[bytes]:
    """What `+@name` changes: its commands, and each container's subcommands with it."""
    cat = catalog()
    names: set[bytes] = set()
    for spec in cat.by_category[name]:
        names.add(spec.name)
        names.update(s.name for s in cat.subcommands.get(spec.name, ()))
    return frozenset(names)


def _pattern_text(pattern: bytes, flags: int) -> bytes:
    if flags == READ_WRITE:
        return b"~" + pattern
    if flags == READ:
        return b"%R~" + pattern
    if flags == WRITE:
        return b"%W~" + pattern
    return b"%~" + pattern


class User:
    """A user: flags, password hashes and selectors (the root first). Built by `set_user`;
    treat as immutable once a table holds it."""

    __slots__ = ("enabled", "name", "nopass", "passwords", "sanitize", "selectors", "unrestricted")

    def __init__(self, name: bytes) -> None:
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize: bool | None = None  # sanitize-payload / skip-sanitize-payload / neither
        self.passwords: list[bytes] = []
        self.selectors: list[Selector] = [Selector()]
        self.unrestricted = False

    def copy(self, name: bytes | None = None) -> User:
        u = User(self.name if name is None else name)
        u.enabled, u.nopass, u.sanitize = self.enabled, self.nopass, self.sanitize
        u.passwords = list(self.passwords)
        u.selectors = [s.copy() for s in self.selectors]
        u.unrestricted = self.unrestricted
        return u

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    def apply(self, op: bytes) -> None:
        """`ACLSetUser`: one (merged) rule."""
        low = op.lower()
        if low == b"on":
            self.enabled = True
        elif low == b"off":
            self.enabled = False
        elif low == b"skip-sanitize-payload":
            self.sanitize = False
        elif low == b"sanitize-payload":
            self.sanitize = True
        elif low == b"nopass":
            self.nopass = True
            self.passwords = []
        elif low == b"resetpass":
            self.nopass = False
            self.passwords = []
        elif op[:1] in (b">", b"#"):
            digest = password_hash(op[1:]) if op[:1] == b">" else op[1:]
            if op[:1] == b"#" and not _valid_hash(digest):
                raise RuleError(BAD_HASH)
            if digest not in self.passwords:  # a known password keeps its place
                self.passwords.append(digest)
            self.nopass = False
        elif op[:1] in (b"<", b"!"):
            digest = password_hash(op[1:]) if op[:1] == b"<" else op[1:]
            if op[:1] == b"!" and not _valid_hash(digest):
                raise RuleError(BAD_HASH)
            if digest not in self.passwords:
                raise RuleError(NO_SUCH_PASSWORD)
            self.passwords.remove(digest)
        elif op[:1] == b"(" and op[-1:] == b")":
            selector = Selector()
            for part in op[1:-1].split():
                selector.apply(part)
            self.selectors.append(selector)
        elif low == b"clearselectors":
            del self.selectors[1:]
        elif low == b"reset":
            for rule in (b"resetpass", b"resetkeys", b"resetchannels", b"off",
                         b"sanitize-payload", b"clearselectors", b"-@all"):  # fmt: skip
                self.apply(rule)
        else:
            self.root.apply(op)

    def finish(self) -> User:
        """Precompute what the checks read; returns self."""
        self.unrestricted = self.root.unrestricted
        return self

    def describe(self, stored: bool = False) -> bytes:
        """The rules after `user <name> ` in ACL LIST; `stored`: the replicated form."""
        parts = self.flag_names()
        parts += [b"#" + p for p in self.passwords]
        parts.append(self.root.describe(stored))
        parts += [b"(" + s.describe(stored) + b")" for s in self.selectors[1:]]
        return b" ".join(parts)

    def flag_names(self) -> list[bytes]:
        """In `ACLUserFlags` order: on|off, nopass, skip-sanitize-payload, sanitize-payload."""
        flags = [b"on" if self.enabled else b"off"]
        if self.nopass:
            flags.append(b"nopass")
        if self.sanitize is False:
            flags.append(b"skip-sanitize-payload")
        elif self.sanitize:
            flags.append(b"sanitize-payload")
        return flags

    def check_password(self, given: bytes) -> bool:
        """Redis's `ACLCheckUserCredentials`, once the user exists: disabled users never
        log in; `nopass` takes any password."""
        if not self.enabled:
            return False
        if self.nopass:
            return True
        return password_hash(given) in self.passwords


def _valid_hash(digest: bytes) -> bool:
    return len(digest) == 64 and all(c in _HEX for c in digest)


class MergeError(Exception):
    """A selector's `(` without its `)`: the argument it started at."""

    def __init__(self, start: bytes) -> None:
        super().__init__(start)
        self.start = start


def merge_selector_arguments(rules: list[bytes]) -> list[bytes]:
    """`ACLMergeSelectorArguments`: `(+get` `~k)` become one `(+get ~k)` rule."""
    merged: list[bytes] = []
    selector: bytes | None = None
    start = b""
    for op in rules:
        if op[:1] == b"(" and op[-1:] != b")":
            selector, start = op, op
            continue
        if selector is not None:
            selector += b" " + op
            if op[-1:] == b")":
                merged.append(selector)
                selector = None
            continue
        merged.append(op)
    if selector is not None:
        raise MergeError(start)
    return merged


def set_user(base: User | None, name: bytes, rules: list[bytes]) -> User:
    """`ACLStringSetUser`: a new user (or a changed copy of `base`) with `rules` applied.

    Raises MergeError or `(rule, RuleError)` wrapped in SetUserError; `base` is untouched.
    """
    merged = merge_selector_arguments(rules)
    user = base.copy(name) if base is not None else User(name)
    for op in merged:
        try:
            if op:  # an empty rule changes nothing, as in Redis
                user.apply(op)
        except RuleError as error:
            raise SetUserError(op, str(error)) from None
    return user.finish()


class SetUserError(Exception):
    def __init__(self, op: bytes, reason: str) -> None:
        super().__init__(op, reason)
        self.op = op
        self.reason = reason


def default_user() -> User:
    """Redis's built-in `default`: `on nopass ~* &* +@all`."""
    return set_user(None, b"default", [b"on", b"nopass", b"~*", b"&*", b"+@all"])


def parse_stored(name: bytes, description: bytes) -> User:
    """A user from its stored description (`User.describe()`); a bad record is a bug."""
    return set_user(None, name, description.split())
