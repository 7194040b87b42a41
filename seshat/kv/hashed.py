"""What hashes and sets share: members stored under `crc32(member) + member` sub keys.

- `SCAN`-style cursors over one collection (HSCAN, SSCAN): the cursor is the hash of the next
  member + 1, exactly like the keyspace SCAN (`reads.read_scan`), so it survives writes between
  calls. A collection Redis 7.0 would keep in a compact encoding (listpack, intset) is returned
  whole with cursor 0, as Redis does, whatever COUNT says.
- Random members. Up to `EXACT_DRAW_MAX` members (Redis's listpacks and intsets, which draw
  exactly uniformly too) the collection is read once and drawn from, uniformly. A larger one is
  not read whole: a draw seeks to a random 32-bit point and picks uniformly among the `WINDOW`
  members from there (wrapping around). The first member after the point alone would be
  weighted by the gap in hash space before it, exponentially distributed: over ten members
  the likeliest came up ten times as often as the least (Redis's `hash.tcl` chi-square check
  failed at 974 against 40). Over a window the weight is the mean of 64 gaps, within about
  12 % of even, as Redis's own `dictGetFairRandomKey` is only about even.
- The encoding flag kept in the meta record's extra byte: Redis 7.0 converts a small hash
  (listpack) or an all-integer set (intset) to a hashtable once a limit is passed and never
  converts back; we set the same one-way flag at the same moments, so OBJECT ENCODING answers
  as Redis does, and HSCAN/SSCAN know when Redis would answer in one page.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from typing import Final, Protocol

from seshat.kv import errors as E
from seshat.kv.collections import HASH_SPACE, hashed_sub, hashed_sub_hash
from seshat.kv.glob import match
from seshat.kv.numbers import parse_cursor, parse_int
from seshat.kv.scan_options import parse_scan_options as parse_options
from seshat.protocol.replies import ErrorReply, Reply

# Redis 7.0 defaults (redis.conf): hash-max-listpack-entries/-value, set-max-intset-entries.
HASH_LISTPACK_ENTRIES_MAX: Final = 128
HASH_LISTPACK_VALUE_BYTES_MAX: Final = 64
SET_INTSET_ENTRIES_MAX: Final = 512

COMPACT: Final = b"\x00"  # listpack (hash) / intset (set)
HASHTABLE: Final = b"\x01"


EXACT_DRAW_MAX: Final = 512
"""Largest collection a random draw reads whole (then exactly uniform): a few hundred
members cost one pass, about what a dozen seeks cost."""
WINDOW: Final = 64
"""Members a draw from a larger collection chooses among, after its random point."""


class Iterable(Protocol):
    extra: bytes  # the type's extra metadata bytes: COMPACT for a listpack/intset
    size: int

    def iterate(
        self, start: bytes = b"", end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]: ...

    def hashed_items(self) -> list[tuple[bytes, bytes]]: ...


def is_intset_member(member: bytes) -> bool:
    """Redis `isSdsRepresentableAsLongLong`: a canonical 64-bit integer."""
    n = parse_int(member)
    return n is not None and str(n).encode() == member


def parse_scan_options(argv: list[bytes]) -> tuple[int, bytes | None] | ErrorReply:
    """HSCAN/SSCAN `key cursor [MATCH p] [COUNT n]` (no TYPE)."""
    options = parse_options(argv, 3)
    if isinstance(options, ErrorReply):
        return options
    return options[0], options[1]


def scan_page(
    coll: Iterable, cursor: int, count: int, compact: bool
) -> tuple[int, list[tuple[bytes, bytes]]]:
    """`(next_cursor, [(member, value)])`: at least `count` members from `cursor`, finishing
    the run of the last hash (see `reads.read_scan`); all of it when `compact`."""
    if compact:
        return 0, coll.hashed_items()
    if cursor > HASH_SPACE:
        return 0, []
    start = (cursor - 1).to_bytes(4, "big") if cursor else b""
    out: list[tuple[bytes, bytes]] = []
    last_hash = -1
    for sub, value in coll.iterate(start):
        h = hashed_sub_hash(sub)
        if len(out) >= count and h != last_hash:
            return h + 1, out
        last_hash = h
        out.append((sub[4:], value))
    return 0, out


def filter_matches(
    items: list[tuple[bytes, bytes]], pattern: bytes | None
) -> list[tuple[bytes, bytes]]:
    if pattern is None or pattern == b"*":
        return items
    return [(m, v) for m, v in items if match(pattern, m)]


def random_member(coll: Iterable, rng: random.Random) -> tuple[bytes, bytes] | None:
    """One member, uniformly (see the module docstring); None if empty."""
    if coll.size <= EXACT_DRAW_MAX:
        items = coll.hashed_items()
        return rng.choice(items) if items else None
    return _window_draw(coll, rng)


def _window_draw(coll: Iterable, rng: random.Random) -> tuple[bytes, bytes]:
    point = rng.randrange(HASH_SPACE).to_bytes(4, "big")
    window = list(itertools.islice(coll.iterate(point), WINDOW))
    if len(window) < WINDOW:  # wrap around to the lowest hashes
        window += itertools.islice(coll.iterate(), WINDOW - len(window))
    sub, value = rng.choice(window)
    return sub[4:], value


def distinct_random(
    coll: Iterable, size: int, count: int, rng: random.Random
) -> list[tuple[bytes, bytes]]:
    """`count` distinct members (count < size). A large share, or a small collection: one pass
    and a sample, as Redis's SRANDMEMBER "case 3" copies the set. Else windowed draws, a
    member drawn twice drawn again (at least two thirds of the members are still free)."""
    assert 0 < count < size, (count, size)
    if count * 3 > size or size <= EXACT_DRAW_MAX:
        return rng.sample(coll.hashed_items(), count)
    found: dict[bytes, bytes] = {}
    while len(found) < count:
        member, value = _window_draw(coll, rng)
        found.setdefault(member, value)
    return list(found.items())


def repeated_random(coll: Iterable, count: int, rng: random.Random) -> list[tuple[bytes, bytes]]:
    """`count` members drawn with repetition (negative COUNT), each uniformly."""
    if coll.size <= EXACT_DRAW_MAX or count * WINDOW >= coll.size:
        items = coll.hashed_items()
        return [rng.choice(items) for _ in range(count)] if items else []
    return [_window_draw(coll, rng) for _ in range(count)]


# SPOP entries proposed before the uniform draws (four arguments, no draw version) replay with
# the draws they were applied with everywhere else: one seek to a random point, the first
# member after it. A log written by an older node must apply alike on every replica.


def legacy_random_member(coll: Iterable, rng: random.Random) -> tuple[bytes, bytes] | None:
    point = rng.randrange(HASH_SPACE).to_bytes(4, "big")
    for sub, value in coll.iterate(point):
        return sub[4:], value
    for sub, value in coll.iterate():
        return sub[4:], value
    return None


def legacy_distinct_random(
    coll: Iterable, size: int, count: int, rng: random.Random
) -> list[tuple[bytes, bytes]]:
    if count * 3 > size:
        return rng.sample(coll.hashed_items(), count)
    found: dict[bytes, bytes] = {}
    while len(found) < count:
        picked = legacy_random_member(coll, rng)
        assert picked is not None
        if picked[0] in found:
            picked = _legacy_next_free(coll, rng, found)
        found[picked[0]] = picked[1]
    return list(found.items())


def _legacy_next_free(
    coll: Iterable, rng: random.Random, taken: dict[bytes, bytes]
) -> tuple[bytes, bytes]:
    point = rng.randrange(HASH_SPACE).to_bytes(4, "big")
    for start in (point, b""):
        for sub, value in coll.iterate(start):
            if sub[4:] not in taken:
                return sub[4:], value
    raise AssertionError("no free member: count must be smaller than the size")


def sub_of(member: bytes) -> bytes:
    return hashed_sub(member)


def scan_command(
    argv: list[bytes],
    open_coll: Callable[[], Iterable | ErrorReply | None],
    emit: Callable[[list[tuple[bytes, bytes]]], list[Reply]],
) -> Reply:
    """HSCAN/SSCAN `key cursor [MATCH p] [COUNT n]`: errors in Redis's order (cursor, then
    type, then options), then one page; `emit` turns (member, value) pairs into the reply."""
    cursor = parse_cursor(argv[2])
    if cursor is None:
        return E.INVALID_CURSOR
    coll = open_coll()
    if coll is None:
        return [b"0", []]
    if isinstance(coll, ErrorReply):
        return coll
    options = parse_scan_options(argv)
    if isinstance(options, ErrorReply):
        return options
    count, pattern = options
    next_cursor, items = scan_page(coll, cursor, count, coll.extra == COMPACT)
    return [str(next_cursor).encode(), emit(list(filter_matches(items, pattern)))]
