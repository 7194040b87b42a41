"""Which arguments of a command are keys, and what the command does to each: Redis 7's key specs.

ACL decides from this whether a user may read or write each key, and `COMMAND GETKEYS` /
`GETKEYSANDFLAGS` answer with it, so both follow Redis 7.0's `getKeysFromCommandWithSpecs`
(`src/db.c`): the row's key specs (`getKeysUsingKeySpecs`), except where Redis prefers a
command's own function: commands whose key flags depend on their arguments (SET with or without
GET, BITFIELD reading or writing: `variable_flags`), SORT and SORT_RO, whose BY/GET patterns
and STORE key no spec can describe, and MIGRATE, whose KEYS spec is incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from seshat.kv.commands import CommandSpec, KeySpec

# `addReplyFlagsForKeyArgs`'s order.
FLAG_ORDER: Final = (
    "RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete",
    "variable_flags",
)  # fmt: skip
_RANK: Final = {name: i for i, name in enumerate(FLAG_ORDER)}
RO_ACCESS: Final = ("RO", "access")
RW_ACCESS_UPDATE: Final = ("RW", "access", "update")
OW_UPDATE: Final = ("OW", "update")


@dataclass(frozen=True, slots=True)
class KeyRef:
    """One key argument: its position in argv and the key-spec flags that apply to it."""

    position: int
    flags: tuple[str, ...]

    @property
    def reads(self) -> bool:
        return "access" in self.flags

    @property
    def writes(self) -> bool:
        return "insert" in self.flags or "update" in self.flags or "delete" in self.flags


def ordered(flags: tuple[str, ...]) -> tuple[str, ...]:
    """`flags` in the order Redis prints them."""
    return tuple(sorted(flags, key=lambda f: _RANK.get(f, len(_RANK))))


def find_keys(spec: CommandSpec, argv: list[bytes]) -> list[KeyRef] | None:
    """The keys of `argv` (argv[0] is the command, as a client sent it), or None when its
    arguments do not hold the keys its specs promise (a bad numkeys, a missing argument)."""
    name = spec.name
    if name == b"set":
        return _set_keys(argv)
    if name == b"bitfield":
        return _bitfield_keys(argv)
    if name == b"migrate":
        return _migrate_keys(argv)
    found = _by_specs(spec.key_specs, argv)
    if found is None and name == b"sort":
        return _sort_keys(argv)
    if found is None and name == b"sort_ro":
        return [KeyRef(1, RO_ACCESS)]  # `sortROGetKeys`: BY and GET patterns are not keys
    return found


def _by_specs(specs: tuple[KeySpec, ...], argv: list[bytes]) -> list[KeyRef] | None:
    out: list[KeyRef] = []
    argc = len(argv)
    for ks in specs:
        if ks.find == "unknown":
            return None  # an incomplete spec (SORT's STORE): the command's own function decides
        found = _spec_range(ks, argv)
        if found is None:
            return None
        first, last, step = found
        out += [KeyRef(i, ks.flags) for i in range(first, last + 1, max(step, 1)) if i < argc]
    return out


def _spec_range(ks: KeySpec, argv: list[bytes]) -> tuple[int, int, int] | None:
    """(first, last, step) of one spec's keys; (1, 0, 1) when it has none here (its keyword is
    absent); None when the arguments contradict it (Redis's `invalid_spec`)."""
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
    if last >= argc or last < first or first >= argc:
        return None
    return first, last, step


def _set_keys(argv: list[bytes]) -> list[KeyRef]:
    """`setGetKeys`: the key is read too only when GET asks for the old value."""
    if any(arg.lower() == b"get" for arg in argv[3:]):
        return [KeyRef(1, RW_ACCESS_UPDATE)]
    return [KeyRef(1, OW_UPDATE)]


def _bitfield_keys(argv: list[bytes]) -> list[KeyRef]:
    """`bitfieldGetKeys`: read-only while every operation is a GET (or OVERFLOW)."""
    i, argc = 2, len(argv)
    while i < argc:
        left = argc - i - 1
        word = argv[i].lower()
        if word == b"get" and left >= 2:
            i += 3
        elif word == b"overflow" and left >= 1:
            i += 2
        else:
            return [KeyRef(1, RW_ACCESS_UPDATE)]  # SET, INCRBY, or a syntax error: not read-only
    return [KeyRef(1, RO_ACCESS)]


_MIGRATE_OPTION_ARGS: Final = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}
_RW_ACCESS_DELETE: Final = ("RW", "access", "delete")


def _migrate_keys(argv: list[bytes]) -> list[KeyRef]:
    """`migrateGetKeys`: MIGRATE's KEYS spec is incomplete (a password may be the word KEYS),
    so Redis asks the command: the words after KEYS when the key argument is empty (none
    when it is not), else the key argument. AUTH and AUTH2 values are skipped."""
    first, count = 3, 1
    i = 6
    while i < len(argv):
        word = argv[i].lower()
        if word == b"keys":
            if argv[3]:
                return []
            first, count = i + 1, len(argv) - i - 1
            break
        i += _MIGRATE_OPTION_ARGS.get(word, 0) + 1
    return [KeyRef(first + n, _RW_ACCESS_DELETE) for n in range(count)]


def _sort_keys(argv: list[bytes]) -> list[KeyRef]:
    """`sortGetKeys`: the sorted key, and the last STORE's destination (LIMIT, GET and BY
    arguments are skipped, so a key named "store" there is not mistaken for the option)."""
    keys = [KeyRef(1, RO_ACCESS)]
    store: KeyRef | None = None
    skip = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    while i < len(argv):
        word = argv[i].lower()
        if word in skip:
            i += skip[word]
        elif word == b"store" and i + 1 < len(argv):
            store = KeyRef(i + 1, OW_UPDATE)
        i += 1
    return keys if store is None else [*keys, store]
