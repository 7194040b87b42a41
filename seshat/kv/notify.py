"""Keyspace notifications: the event classes, and `notify-keyspace-events` as Redis spells it.

A write's apply names what it did (`KeyspaceWriter.notify(cls, event, db, key)`) at the place
Redis 7.0 calls `notifyKeyspaceEvent`, in the same order, so a subscriber sees the same stream
of events. Events are not state: every replica applies every entry, so each node tells its own
subscribers about its own apply and nothing about them goes into the log or a snapshot. The
server publishes them (`__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`) after the
batch is applied, before any client hears the replies of that batch, as Redis publishes them
before the command's reply.

The class bits are Redis's (`server.h`), so the flag string round-trips as Redis's does.
"""

from __future__ import annotations

from typing import Final

KEYSPACE: Final = 1 << 0  # K: __keyspace@<db>__:<key> channels
KEYEVENT: Final = 1 << 1  # E: __keyevent@<db>__:<event> channels
GENERIC: Final = 1 << 2  # g: DEL, EXPIRE, RENAME, ...
STRING: Final = 1 << 3  # $
LIST: Final = 1 << 4  # l
SET: Final = 1 << 5  # s
HASH: Final = 1 << 6  # h
ZSET: Final = 1 << 7  # z
EXPIRED: Final = 1 << 8  # x
EVICTED: Final = 1 << 9  # e (never emitted: Seshat does not evict)
STREAM: Final = 1 << 10  # t
KEY_MISS: Final = 1 << 11  # m (never emitted: reads do not go through apply)
MODULE: Final = 1 << 13  # d (never emitted: no modules)
NEW: Final = 1 << 14  # n: a key added to the keyspace
ALL: Final = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE

# The classes in the order Redis writes them back (`keyspaceEventsFlagsToString`).
_CLASS_CHARS: Final = (
    ("g", GENERIC), ("$", STRING), ("l", LIST), ("s", SET), ("h", HASH), ("z", ZSET),
    ("x", EXPIRED), ("e", EVICTED), ("t", STREAM), ("d", MODULE), ("n", NEW),
)  # fmt: skip
_CHANNEL_CHARS: Final = (("K", KEYSPACE), ("E", KEYEVENT), ("m", KEY_MISS))
_PARSE: Final = {**dict(_CLASS_CHARS), **dict(_CHANNEL_CHARS), "A": ALL}

INVALID_FLAGS: Final = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."


def parse_flags(text: bytes) -> int | None:
    """`notify-keyspace-events` as bits, or None if it has a character Redis refuses."""
    flags = 0
    for ch in text.decode("latin-1"):
        bit = _PARSE.get(ch)
        if bit is None:
            return None
        flags |= bit
    return flags


def format_flags(flags: int) -> str:
    """The flags as CONFIG GET shows them: "A" for every class (which hides "n"), K, E, m."""
    if flags & ALL == ALL:
        out = "A"
    else:
        out = "".join(ch for ch, bit in _CLASS_CHARS if flags & bit)
    return out + "".join(ch for ch, bit in _CHANNEL_CHARS if flags & bit)


def emitted_classes(flags: int) -> int:
    """The classes a writer must record: none unless some channel kind is on (as
    `notifyKeyspaceEvent` publishes nothing without K or E)."""
    if not flags & (KEYSPACE | KEYEVENT):
        return 0
    return flags & ~(KEYSPACE | KEYEVENT | KEY_MISS)


def channels(flags: int, event: bytes, db: int, key: bytes) -> list[tuple[bytes, bytes]]:
    """`(channel, message)` pairs Redis publishes for one event, keyspace channel first."""
    out = []
    if flags & KEYSPACE:
        out.append((b"__keyspace@%d__:%s" % (db, key), event))
    if flags & KEYEVENT:
        out.append((b"__keyevent@%d__:%s" % (db, event), key))
    return out
