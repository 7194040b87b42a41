"""Set commands (Redis 7.0 semantics, replies and errors) over the collection layout.

A set is a meta record (type set, expiry, version, size, one encoding byte: intset or hashtable,
see `hashed.py`) and one kv_data entry per member: `s + slot + version + crc32(member) + member
-> b""`. SADD, SREM, SISMEMBER, SMOVE and SPOP without a count touch O(1) entries whatever the
size. Whole-set replies (SMEMBERS, SINTER, ...) are `Set`s (RESP3 `~`), in layout order.

SPOP is a write and random: the leader draws a seed in `prepare_spop` and it travels in the
proposed argv (`SPOP key count seed 2`, the last word the draw's version), so every replica pops
the same members. SRANDMEMBER is a read and uses local randomness.
"""

from __future__ import annotations

import random
from typing import Final, cast

from seshat.kv import chance
from seshat.kv import collections as C
from seshat.kv import errors as E
from seshat.kv import hashed as X
from seshat.kv import layout as L
from seshat.kv import notify as N
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.numbers import INT64_MAX, parse_int
from seshat.protocol.replies import ErrorReply, Reply, Set

MUST_BE_POSITIVE: Final = ErrorReply("ERR value is out of range, must be positive")
NUMKEYS_NOT_POSITIVE: Final = ErrorReply("ERR numkeys should be greater than 0")
NUMKEYS_TOO_MANY: Final = ErrorReply("ERR Number of keys can't be greater than number of args")
LIMIT_NEGATIVE: Final = ErrorReply("ERR LIMIT can't be negative")
COUNT_RANGE: Final = ErrorReply(
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)
_NO_COUNT: Final = b"-"
SPOP_SEED_BITS: Final = 64


def _open_write(
    w: KeyspaceWriter, now_ms: int, db: int, key: bytes, create: bool
) -> C.WColl | ErrorReply | None:
    coll = C.open_write(w, now_ms, db, key, L.TYPE_SET, create)
    if isinstance(coll, C.WColl) and not coll.exists:
        coll.extra = X.COMPACT
    return coll


def _add(coll: C.WColl, member: bytes) -> int:
    """Add one member; 1 if it was not there. Keeps size and the one-way intset flag."""
    sub = C.hashed_sub(member)
    if coll.get(sub) is not None:
        return 0
    coll.put(sub, b"")
    coll.size += 1
    if coll.extra == X.COMPACT and (
        coll.size > X.SET_INTSET_ENTRIES_MAX or not X.is_intset_member(member)
    ):
        coll.extra = X.HASHTABLE
    return 1


def _remove(coll: C.WColl, member: bytes) -> int:
    sub = C.hashed_sub(member)
    if coll.get(sub) is None:
        return 0
    coll.delete(sub)
    coll.size -= 1
    return 1


def _open_read(view: KeyspaceView, now_ms: int, db: int, key: bytes) -> C.RColl | ErrorReply | None:
    return C.open_read(view, now_ms, db, key, L.TYPE_SET)


# -- writes ------------------------------------------------------------------------------------


def apply_sadd(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_write(w, now_ms, db, argv[1], True)
    assert coll is not None
    if isinstance(coll, ErrorReply):
        return coll
    added = sum(_add(coll, m) for m in argv[2:])
    if added:
        coll.save()
        coll.notify(N.SET, b"sadd")
    return added


def apply_srem(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_write(w, now_ms, db, argv[1], False)
    if coll is None or isinstance(coll, ErrorReply):
        return 0 if coll is None else coll
    removed = sum(_remove(coll, m) for m in argv[2:])
    if removed:
        coll.save()
        coll.notify_removed(N.SET, b"srem")
    return removed


def apply_smove(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    src_key, dst_key, member = argv[1], argv[2], argv[3]
    src = _open_write(w, now_ms, db, src_key, False)
    dst_type = w.lookup(db, dst_key, now_ms)
    if src is None:
        return 0
    if isinstance(src, ErrorReply) or (dst_type is not None and dst_type[0] != L.TYPE_SET):
        return E.WRONGTYPE
    if src_key == dst_key:
        return int(src.get(C.hashed_sub(member)) is not None)
    if not _remove(src, member):
        return 0
    src.save()
    src.notify_removed(N.SET, b"srem")
    dst = _open_write(w, now_ms, db, dst_key, True)
    assert isinstance(dst, C.WColl), dst
    if _add(dst, member):
        dst.save()
        dst.notify(N.SET, b"sadd")
    return 1


def prepare_spop(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    """Validate COUNT and draw the seed the replicas will pop with."""
    if len(argv) > 3:
        return E.SYNTAX
    count = _NO_COUNT
    if len(argv) == 3:
        n = parse_int(argv[2])
        if n is None or n < 0:
            return MUST_BE_POSITIVE
        count = str(n).encode()
    seed = str(chance.rng().getrandbits(SPOP_SEED_BITS)).encode()
    return [b"SPOP", argv[1], count, seed, SPOP_UNIFORM]


SPOP_UNIFORM: Final = b"2"
"""The draw version SPOP proposes: uniform draws (`hashed.random_member`). An entry without
it was proposed by an older node and pops with the draws it was applied with elsewhere."""


def apply_spop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key, raw_count, seed = argv[1:4]
    uniform = argv[4:] == [SPOP_UNIFORM]
    random_member = X.random_member if uniform else X.legacy_random_member
    distinct_random = X.distinct_random if uniform else X.legacy_distinct_random
    with_count = raw_count != _NO_COUNT
    coll = _open_write(w, now_ms, db, key, False)
    if coll is None:
        return Set([]) if with_count else None
    if isinstance(coll, ErrorReply):
        return coll
    rng = random.Random(int(seed))
    if not with_count:
        picked = random_member(coll, rng)
        assert picked is not None
        _remove(coll, picked[0])
        coll.save()
        coll.notify_removed(N.SET, b"spop")
        return picked[0]
    count = int(raw_count)
    if count == 0:
        return Set([])
    if count >= coll.size:
        members: list[Reply] = list(coll.hashed_members())
        w.delete(db, key, coll.old)  # type: ignore[arg-type]  # O(1): the sub-entries go to GC with a tombstone
        coll.size = 0
        coll.notify_removed(N.SET, b"spop")
        return Set(members)
    popped = distinct_random(coll, coll.size, count, rng)
    for member, _v in popped:
        _remove(coll, member)
    coll.save()
    coll.notify(N.SET, b"spop")
    return Set([m for m, _v in popped])


def _store(
    w: KeyspaceWriter, now_ms: int, db: int, dst_key: bytes, members: list[bytes], event: bytes
) -> int:
    coll = C.new_write(w, now_ms, db, dst_key, L.TYPE_SET)
    coll.extra = X.COMPACT
    for member in members:
        _add(coll, member)
    C.replace_with(coll, N.SET, event)
    return coll.size


def _write_sets(
    w: KeyspaceWriter, now_ms: int, db: int, keys: list[bytes]
) -> list[C.WColl | None] | ErrorReply:
    out: list[C.WColl | None] = []
    for key in keys:
        coll = _open_write(w, now_ms, db, key, False)
        if isinstance(coll, ErrorReply):
            return coll
        out.append(coll)
    return out


def apply_sinterstore(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    sets = _write_sets(w, now_ms, db, argv[2:])
    if isinstance(sets, ErrorReply):
        return sets
    return _store(w, now_ms, db, argv[1], _inter(sets), b"sinterstore")


def apply_sunionstore(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    sets = _write_sets(w, now_ms, db, argv[2:])
    if isinstance(sets, ErrorReply):
        return sets
    return _store(w, now_ms, db, argv[1], _union(sets), b"sunionstore")


def apply_sdiffstore(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    sets = _write_sets(w, now_ms, db, argv[2:])
    if isinstance(sets, ErrorReply):
        return sets
    return _store(w, now_ms, db, argv[1], _diff(sets), b"sdiffstore")


# -- set algebra (both sides: handles of either kind) ------------------------------------------


def _inter(sets: list[C.WColl | None] | list[C.RColl | None], limit: int = 0) -> list[bytes]:
    """Members of every set: walk the smallest, probe the others (O(N*M) point reads)."""
    if not sets or any(s is None for s in sets):
        return []
    live = sorted((s for s in sets if s is not None), key=lambda s: s.size)
    smallest, others = live[0], live[1:]
    out: list[bytes] = []
    for sub, _v in smallest.iterate():
        if all(o.get(sub) is not None for o in others):
            out.append(sub[4:])
            if limit and len(out) >= limit:
                break
    return out


def _union(sets: list[C.WColl | None] | list[C.RColl | None]) -> list[bytes]:
    seen: dict[bytes, None] = {}
    for s in sets:
        if s is not None:
            for member in s.hashed_members():
                seen[member] = None
    return list(seen)


def _diff(sets: list[C.WColl | None] | list[C.RColl | None]) -> list[bytes]:
    first, others = sets[0], [s for s in sets[1:] if s is not None]
    if first is None:
        return []
    return [sub[4:] for sub, _v in first.iterate() if all(o.get(sub) is None for o in others)]


# -- reads -------------------------------------------------------------------------------------


def _read_sets(
    view: KeyspaceView, now_ms: int, db: int, keys: list[bytes]
) -> list[C.RColl | None] | ErrorReply:
    out: list[C.RColl | None] = []
    for key in keys:
        coll = _open_read(view, now_ms, db, key)
        if isinstance(coll, ErrorReply):
            return coll
        out.append(coll)
    return out


def read_smembers(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return Set([]) if coll is None else coll
    return Set(cast("list[Reply]", coll.hashed_members()))  # bytes are replies: no copy


def read_sismember(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return 0 if coll is None else coll
    return int(coll.get(C.hashed_sub(argv[2])) is not None)


def read_smismember(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if isinstance(coll, ErrorReply):
        return coll
    if coll is None:
        return [0] * (len(argv) - 2)
    found = coll.multi_get([C.hashed_sub(m) for m in argv[2:]])
    return [int(v is not None) for v in found]


def read_scard(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return 0 if coll is None else coll
    return coll.size


def read_srandmember(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        return E.SYNTAX
    rng = chance.rng()
    if len(argv) == 2:
        coll = _open_read(view, now_ms, db, argv[1])
        if coll is None or isinstance(coll, ErrorReply):
            return coll
        picked = X.random_member(coll, rng)
        return None if picked is None else picked[0]
    count = parse_int(argv[2])
    if count is None:
        return E.NOT_INTEGER
    if count < -INT64_MAX:
        return COUNT_RANGE
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None:
        return []
    if isinstance(coll, ErrorReply):
        return coll
    if count == 0:
        return []
    if count < 0:
        return [m for m, _v in X.repeated_random(coll, -count, rng)]
    if count >= coll.size:
        return coll.hashed_members()
    return [m for m, _v in X.distinct_random(coll, coll.size, count, rng)]


def read_sinter(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    sets = _read_sets(view, now_ms, db, argv[1:])
    return sets if isinstance(sets, ErrorReply) else Set(list(_inter(sets)))


def read_sunion(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    sets = _read_sets(view, now_ms, db, argv[1:])
    return sets if isinstance(sets, ErrorReply) else Set(list(_union(sets)))


def read_sdiff(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    sets = _read_sets(view, now_ms, db, argv[1:])
    return sets if isinstance(sets, ErrorReply) else Set(list(_diff(sets)))


def parse_card_limit(argv: list[bytes], at: int) -> int | ErrorReply:
    """SINTERCARD's and ZINTERCARD's options from `at`: `[LIMIT n]` (0, the default, is none;
    the last one given counts, as in Redis)."""
    limit = 0
    j = at
    while j < len(argv):
        if argv[j].lower() == b"limit" and j + 1 < len(argv):
            n = parse_int(argv[j + 1])
            if n is None or n < 0:
                return LIMIT_NEGATIVE
            limit = n
            j += 2
        else:
            return E.SYNTAX
    return limit


def read_sintercard(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    numkeys = parse_int(argv[1])
    if numkeys is None or numkeys < 1:
        return NUMKEYS_NOT_POSITIVE
    if numkeys > len(argv) - 2:
        return NUMKEYS_TOO_MANY
    limit = parse_card_limit(argv, 2 + numkeys)
    if isinstance(limit, ErrorReply):
        return limit
    sets = _read_sets(view, now_ms, db, argv[2 : 2 + numkeys])
    if isinstance(sets, ErrorReply):
        return sets
    return len(_inter(sets, limit))


def read_sscan(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return X.scan_command(
        argv,
        lambda: _open_read(view, now_ms, db, argv[1]),
        lambda items: [member for member, _value in items],
    )
