"""Sorted sets: layout and the handlers of every sorted-set command.

Layout (on `collections.py`): the meta record `type ZSET + expire + version + size`, and two
sub-entry families per member under the collection's version prefix:

    b"m" + member                          -> score (8 raw IEEE bytes)   member -> score
    b"s" + encode_score(score) + member    -> b""                        score index

`encode_score` (`score_codec.py`) is order-preserving, so the `s` family iterates in Redis's
order (score, then member bytes): ZRANGE by rank or score and ZPOPMIN/MAX are range scans, and
ZADD/ZREM/ZSCORE/ZINCRBY touch O(1) entries whatever the size (ZADD: read `m`, delete the old
`s`, write the new `s` and `m`). Costs that are not Redis's: ZRANK/ZREVRANK and a ZRANGE that
starts deep inside a big set walk the index from the nearer end (O(rank), no skiplist spans);
ZCOUNT/ZLEXCOUNT walk the range they count; ZRANDMEMBER walks to a random rank.

Scores: -0.0 is stored as 0.0 (what Redis's listpack encoding stores, so ZSCORE answers `0`),
while the reply of ZINCRBY/ZADD INCR carries the computed value as Redis's does. BYLEX ranges
assume all members share one score, as Redis documents: the scan seeks inside the first
(forward) or last (reverse) score and then walks like Redis's listpack code.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Final, Protocol

from seshat.kv import chance, mpop
from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv import notify as N
from seshat.kv import zset_args as A
from seshat.kv.collections import (
    RColl,
    WColl,
    hashed_sub,
    hashed_sub_member,
    new_write,
    open_read,
    open_write,
    replace_with,
)
from seshat.kv.glob import match
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.lists import prepare_multi_pop
from seshat.kv.numbers import INT64_MAX, parse_cursor, parse_int
from seshat.kv.scan_options import parse_scan_options
from seshat.kv.score_codec import (
    decode_score,
    encode_score,
    pack_double,
    parse_score,
    unpack_double,
)
from seshat.kv.sets import parse_card_limit
from seshat.protocol.numbers import format_double
from seshat.protocol.replies import NULL_ARRAY, Double, ErrorReply, Pairs, Reply

_M: Final = b"m"
_S: Final = b"s"
_S_END: Final = b"t"
NOT_POSITIVE = ErrorReply("ERR value is out of range, must be positive")
RANDMEMBER_RANGE = ErrorReply(
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)
RANDMEMBER_WITHSCORES_RANGE = ErrorReply("ERR value is out of range")
ZSCAN_SMALL_MAX: Final = 128  # zset-max-listpack-entries: Redis answers such a ZSCAN at once
_SCAN_PREFIX_BYTES: Final = 7  # a ZSCAN cursor is 1 + the first 7 bytes of the next member


class _Coll(Protocol):
    size: int

    def get(self, sub: bytes) -> bytes | None: ...

    def iterate(
        self, start: bytes = b"", end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]: ...


Entry = tuple[float, bytes]  # (score, member)


# ---------------------------------------------------------------------------------------------
# Sub-entry helpers


def _norm(score: float) -> float:
    return 0.0 if score == 0.0 else score


def _ssub(score: float, member: bytes) -> bytes:
    return _S + encode_score(score) + member


def score_of(coll: _Coll, member: bytes) -> float | None:
    raw = coll.get(_M + member)
    return None if raw is None else unpack_double(raw)


def _add(coll: WColl, score: float, member: bytes, old: float | None) -> None:
    score = _norm(score)
    if old is not None:
        coll.delete(_ssub(old, member))
    else:
        coll.size += 1
    coll.put(_ssub(score, member), b"")
    coll.put(_M + member, pack_double(score))


def _remove(coll: WColl, score: float, member: bytes) -> None:
    coll.delete(_ssub(score, member))
    coll.delete(_M + member)
    coll.size -= 1


def score_range(coll: _Coll, lo: float, hi: float) -> Iterator[Entry]:
    """`(score, member)` with `lo <= score < hi`, by score (GEO's cells are such ranges)."""
    return _index(coll, False, _S + encode_score(lo), _S + encode_score(hi))


def _index(
    coll: _Coll, reverse: bool = False, start: bytes = _S, end: bytes = _S_END
) -> Iterator[Entry]:
    for sub, _v in coll.iterate(start, end, reverse):
        yield decode_score(sub[1:9]), sub[9:]


def _after(score: float) -> bytes:
    """The first index key above every entry with this score."""
    return _S + (int.from_bytes(encode_score(score), "big") + 1).to_bytes(8, "big")


def _first(coll: _Coll, reverse: bool) -> Entry | None:
    for entry in _index(coll, reverse):
        return entry
    return None


# ---------------------------------------------------------------------------------------------
# Ranges over the index


def _by_rank(coll: _Coll, start: int, stop: int, reverse: bool) -> list[Entry]:
    return [(decode_score(sub[1:9]), sub[9:]) for sub in _rank_subs(coll, start, stop, reverse)]


def _rank_subs(coll: _Coll, start: int, stop: int, reverse: bool) -> list[bytes]:
    """The index subs (`_S + score + member`) of ranks `start..stop`, in the order asked. Raw,
    so that ZRANGE without scores decodes none (a fifth of its time for 100 members), and
    the ranks skipped are passed over by `islice` without being looked at."""
    window = A.rank_window(start, stop, coll.size)
    if window is None:
        return []
    s, e = window
    from_far_end = s > coll.size - 1 - e
    skip = coll.size - 1 - e if from_far_end else s
    pairs = coll.iterate(_S, _S_END, reverse != from_far_end)
    subs = [sub for sub, _v in itertools.islice(pairs, skip, skip + e - s + 1)]
    if from_far_end:
        subs.reverse()
    return subs


def _by_score(coll: _Coll, r: A.ScoreRange, reverse: bool) -> Iterator[Entry]:
    if r.empty():
        return
    if not reverse:
        for score, member in _index(coll, False, _S + encode_score(r.min)):
            if not r.gte_min(score):
                continue
            if not r.lte_max(score):
                return
            yield score, member
    else:
        for score, member in _index(coll, True, _S, _after(r.max)):
            if not r.lte_max(score):
                continue
            if not r.gte_min(score):
                return
            yield score, member


def _by_lex(coll: _Coll, lo: A.LexBound, hi: A.LexBound, reverse: bool) -> Iterator[Entry]:
    if A.lex_range_empty(lo, hi):
        return
    edge = _first(coll, reverse)
    if edge is None:
        return
    # Redis's zslIsInLexRange: nothing in range unless the last member reaches min and the
    # first reaches max. With equal scores this changes nothing; with mixed scores (where
    # Redis calls the result unspecified) it gives Redis's answer.
    head, tail = (edge, _first(coll, True)) if not reverse else (_first(coll, False), edge)
    assert head is not None and tail is not None
    if not A.lex_gte_min(tail[1], lo) or not A.lex_lte_max(head[1], hi):
        return
    if not reverse:
        start = _S if lo.inf else _S + encode_score(edge[0]) + lo.value
        started = False
        for score, member in _index(coll, False, start):
            if not started:
                if not A.lex_gte_min(member, lo):
                    continue
                started = True
            if not A.lex_lte_max(member, hi):
                return
            yield score, member
    else:
        end = _S_END if hi.inf else _S + encode_score(edge[0]) + hi.value + b"\x00"
        started = False
        for score, member in _index(coll, True, _S, end):
            if not started:
                if not A.lex_lte_max(member, hi):
                    continue
                started = True
            if not A.lex_gte_min(member, lo):
                return
            yield score, member


def _limited(entries: Iterator[Entry], offset: int, limit: int) -> list[Entry]:
    """Redis's LIMIT walk: a negative offset skips everything, a negative limit takes all."""
    if offset < 0:
        return []
    out: list[Entry] = []
    for i, entry in enumerate(entries):
        if i < offset:
            continue
        if 0 <= limit <= len(out):
            break
        out.append(entry)
    return out


def _query(coll: _Coll, q: A.RangeQuery) -> list[Entry]:
    if q.by == A.BY_RANK:
        return _by_rank(coll, q.start, q.stop, q.rev)
    if q.offset > 0 and q.offset >= coll.size:
        return []
    if q.by == A.BY_SCORE:
        assert q.score is not None
        return _limited(_by_score(coll, q.score, q.rev), q.offset, q.limit)
    assert q.lex is not None
    return _limited(_by_lex(coll, q.lex[0], q.lex[1], q.rev), q.offset, q.limit)


def _entries_reply(entries: list[Entry], withscores: bool) -> Reply:
    if withscores:
        return Pairs([(m, Double(s)) for s, m in entries])
    return [m for _s, m in entries]


# ---------------------------------------------------------------------------------------------
# ZADD, ZINCRBY, ZREM


def prepare_zadd(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    parsed = A.parse_zadd(argv)
    return parsed if isinstance(parsed, ErrorReply) else argv


def prepare_zincrby(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    return E.NOT_FLOAT if parse_score(argv[2]) is None else argv


def zadd(w: KeyspaceWriter, now_ms: int, db: int, key: bytes, z: A.ZAddArgs) -> Reply:
    coll = open_write(w, now_ms, db, key, L.TYPE_ZSET, create=not z.xx)
    if isinstance(coll, ErrorReply):
        return coll
    if coll is None:
        return None if z.incr else 0
    added = updated = processed = 0
    score = 0.0
    for score, member in z.pairs:
        cur = score_of(coll, member)
        if cur is not None:
            if z.nx:
                continue
            if z.incr:
                score += cur
                if math.isnan(score):
                    coll.save()
                    return A.SCORE_NAN
            if (z.lt and score >= cur) or (z.gt and score <= cur):
                continue
            processed += 1
            if score != cur:
                _add(coll, score, member, cur)
                updated += 1
        elif not z.xx:
            _add(coll, score, member, None)
            added += 1
            processed += 1
    coll.save()
    if added or updated:
        coll.notify(N.ZSET, b"zincr" if z.incr else b"zadd")
    if z.incr:
        return Double(score) if processed else None
    return added + updated if z.ch else added


def apply_zadd(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    z = A.parse_zadd(argv)
    assert not isinstance(z, ErrorReply), argv
    return zadd(w, now_ms, db, argv[1], z)


def apply_zincrby(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    incr = parse_score(argv[2])
    assert incr is not None, argv
    z = A.ZAddArgs(False, False, False, False, False, True, [(incr, argv[3])])
    return zadd(w, now_ms, db, argv[1], z)


def apply_zrem(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = open_write(w, now_ms, db, argv[1], L.TYPE_ZSET, create=False)
    if coll is None or isinstance(coll, ErrorReply):
        return coll if coll is not None else 0
    removed = 0
    for member in argv[2:]:
        cur = score_of(coll, member)
        if cur is not None:
            _remove(coll, cur, member)
            removed += 1
    coll.save()
    if removed:
        coll.notify_removed(N.ZSET, b"zrem")
    return removed


# ---------------------------------------------------------------------------------------------
# Point reads


def read_zcard(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if coll is None or isinstance(coll, ErrorReply):
        return coll if coll is not None else 0
    return coll.size


def read_zscore(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if coll is None or isinstance(coll, ErrorReply):
        return coll
    score = score_of(coll, argv[2])
    return None if score is None else Double(score)


def read_zmscore(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if isinstance(coll, ErrorReply):
        return coll
    if coll is None:
        return [None] * (len(argv) - 2)
    raws = coll.multi_get([_M + m for m in argv[2:]])
    return [None if raw is None else Double(unpack_double(raw)) for raw in raws]


def _rank(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes], reverse: bool) -> Reply:
    """O(rank): walks the index from the end the rank counts from."""
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if coll is None or isinstance(coll, ErrorReply):
        return coll
    score = score_of(coll, argv[2])
    if score is None:
        return None
    target = _ssub(score, argv[2])
    if reverse:
        return sum(1 for _ in coll.iterate(target + b"\x00", _S_END))
    return sum(1 for _ in coll.iterate(_S, target))


def read_zrank(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _rank(view, now_ms, db, argv, False)


def read_zrevrank(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _rank(view, now_ms, db, argv, True)


def read_zcount(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    r = A.parse_score_range(argv[2], argv[3])
    if isinstance(r, ErrorReply):
        return r
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if coll is None or isinstance(coll, ErrorReply):
        return coll if coll is not None else 0
    return sum(1 for _ in _by_score(coll, r, False))


def read_zlexcount(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    r = A.parse_lex_range(argv[2], argv[3])
    if isinstance(r, ErrorReply):
        return r
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if coll is None or isinstance(coll, ErrorReply):
        return coll if coll is not None else 0
    return sum(1 for _ in _by_lex(coll, r[0], r[1], False))


# ---------------------------------------------------------------------------------------------
# ZRANGE family

# name -> (by, rev) fixed by the command; None = from the options
_RANGE_FORMS: Final[dict[bytes, tuple[str | None, bool | None]]] = {
    b"zrange": (None, None),
    b"zrevrange": (A.BY_RANK, True),
    b"zrangebyscore": (A.BY_SCORE, False),
    b"zrevrangebyscore": (A.BY_SCORE, True),
    b"zrangebylex": (A.BY_LEX, False),
    b"zrevrangebylex": (A.BY_LEX, True),
}


def read_zrange(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    by, rev = _RANGE_FORMS[argv[0].lower()]
    q = A.parse_range(argv, 1, False, by, rev)
    if isinstance(q, ErrorReply):
        return q
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if coll is None or isinstance(coll, ErrorReply):
        return coll if coll is not None else []
    if q.by == A.BY_RANK and not q.withscores:
        return [sub[9:] for sub in _rank_subs(coll, q.start, q.stop, q.rev)]
    return _entries_reply(_query(coll, q), q.withscores)


def prepare_zrangestore(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    q = A.parse_range(argv, 2, True, None, None)
    return q if isinstance(q, ErrorReply) else argv


def store_entries(
    w: KeyspaceWriter, now_ms: int, db: int, key: bytes, entries: list[Entry], event: bytes
) -> int:
    """Replace `key` with a sorted set of `entries` (an empty result deletes it); `event` is
    the storing command's keyspace event."""
    coll = new_write(w, now_ms, db, key, L.TYPE_ZSET)
    for score, member in entries:
        _add(coll, score, member, None)
    replace_with(coll, N.ZSET, event)
    return len(entries)


def apply_zrangestore(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    q = A.parse_range(argv, 2, True, None, None)
    assert not isinstance(q, ErrorReply), argv
    src = open_write(w, now_ms, db, argv[2], L.TYPE_ZSET, create=False)
    if isinstance(src, ErrorReply):
        return src
    entries = [] if src is None else _query(src, q)
    return store_entries(w, now_ms, db, argv[1], entries, b"zrangestore")


# ---------------------------------------------------------------------------------------------
# Pops and range removals


def prepare_zpop(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if len(argv) > 3:
        return E.SYNTAX
    if len(argv) == 3:
        n = parse_int(argv[2])
        if n is None or n < 0:
            return NOT_POSITIVE
    return argv


def _pop_entries(coll: WColl, count: int, reverse: bool) -> list[Entry]:
    """Remove the `count` lowest (highest with `reverse`) entries, save, and return them."""
    popped = list(itertools.islice(_index(coll, reverse), count))
    for score, member in popped:
        _remove(coll, score, member)
    coll.save()
    coll.notify_removed(N.ZSET, b"zpopmax" if reverse else b"zpopmin")
    return popped


def _zpop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes], reverse: bool) -> Reply:
    has_count = len(argv) == 3
    coll = open_write(w, now_ms, db, argv[1], L.TYPE_ZSET, create=False)
    if isinstance(coll, ErrorReply):
        return coll
    count = int(argv[2]) if has_count else 1
    if coll is None or count == 0:
        return Pairs([]) if has_count else []
    popped = _pop_entries(coll, count, reverse)
    if has_count:
        return _entries_reply(popped, True)
    score, member = popped[0]
    return [member, Double(score)]


def apply_zpopmin(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _zpop(w, now_ms, db, argv, False)


def apply_zpopmax(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _zpop(w, now_ms, db, argv, True)


def _bzpop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes], reverse: bool) -> Reply:
    """The non-blocking core of BZPOPMIN/BZPOPMAX: `[key, member, score]` from the first
    non-empty sorted set, or `NullArray` for `seshat.blocking` to wait on (its timeout, the
    last argument, was checked by `lists.prepare_blocking`)."""
    for key in argv[1:-1]:
        coll = open_write(w, now_ms, db, key, L.TYPE_ZSET, create=False)
        if isinstance(coll, ErrorReply):
            return coll
        if coll is None:
            continue
        ((score, member),) = _pop_entries(coll, 1, reverse)
        return [key, member, Double(score)]
    return NULL_ARRAY


def apply_bzpopmin(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _bzpop(w, now_ms, db, argv, False)


def apply_bzpopmax(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _bzpop(w, now_ms, db, argv, True)


def prepare_zmpop(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    return prepare_multi_pop(argv, (b"min", b"max"))


def apply_zmpop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """ZMPOP, and BZMPOP's non-blocking core: `[key, [[member, score]...]]` from the first
    non-empty sorted set, or `NullArray`."""
    parsed = mpop.parse(argv, (b"min", b"max"))
    assert not isinstance(parsed, ErrorReply), parsed
    for key in parsed.keys:
        coll = open_write(w, now_ms, db, key, L.TYPE_ZSET, create=False)
        if isinstance(coll, ErrorReply):
            return coll
        if coll is None:
            continue
        popped = _pop_entries(coll, parsed.count, parsed.side == b"max")
        return [key, [[member, Double(score)] for score, member in popped]]
    return NULL_ARRAY


def prepare_zremrange(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    parsed = _parse_remrange(argv)
    return parsed if isinstance(parsed, ErrorReply) else argv


def _parse_remrange(argv: list[bytes]) -> A.RangeQuery | ErrorReply:
    name = argv[0].lower()
    if name == b"zremrangebyrank":
        start, stop = parse_int(argv[2]), parse_int(argv[3])
        if start is None or stop is None:
            return E.NOT_INTEGER
        return A.RangeQuery(A.BY_RANK, False, False, start=start, stop=stop)
    if name == b"zremrangebyscore":
        r = A.parse_score_range(argv[2], argv[3])
        if isinstance(r, ErrorReply):
            return r
        return A.RangeQuery(A.BY_SCORE, False, False, score=r)
    lex = A.parse_lex_range(argv[2], argv[3])
    if isinstance(lex, ErrorReply):
        return lex
    return A.RangeQuery(A.BY_LEX, False, False, lex=lex)


def apply_zremrange(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    q = _parse_remrange(argv)
    assert not isinstance(q, ErrorReply), argv
    coll = open_write(w, now_ms, db, argv[1], L.TYPE_ZSET, create=False)
    if coll is None or isinstance(coll, ErrorReply):
        return coll if coll is not None else 0
    doomed = _query(coll, q)
    event = argv[0].lower()
    if len(doomed) == coll.size and coll.old is not None:
        w.delete(db, argv[1], coll.old)  # O(1): the tombstone GC removes the entries
        coll.size = 0
        coll.notify_removed(N.ZSET, event)
        return len(doomed)
    for score, member in doomed:
        _remove(coll, score, member)
    coll.save()
    if doomed:
        coll.notify_removed(N.ZSET, event)
    return len(doomed)


# ---------------------------------------------------------------------------------------------
# ZUNION, ZINTER, ZDIFF and their STORE forms


class _Input:
    """One input of a set operation: a sorted set, a plain set (every score 1), or missing."""

    __slots__ = ("coll", "is_set", "size", "weight")

    def __init__(self, coll: _Coll | None, is_set: bool) -> None:
        self.coll = coll
        self.is_set = is_set
        self.size = 0 if coll is None else coll.size
        self.weight = 1.0

    def entries(self) -> Iterator[Entry]:
        if self.coll is None:
            return
        if self.is_set:
            for sub, _v in self.coll.iterate():
                yield 1.0, hashed_sub_member(sub)
        else:
            yield from _index(self.coll)

    def score(self, member: bytes) -> float | None:
        if self.coll is None:
            return None
        if self.is_set:
            return 1.0 if self.coll.get(hashed_sub(member)) is not None else None
        return score_of(self.coll, member)


def _open_input(
    src: KeyspaceView | KeyspaceWriter, now_ms: int, db: int, key: bytes
) -> _Input | ErrorReply:
    opened: WColl | RColl | ErrorReply | None
    for tag in (L.TYPE_ZSET, L.TYPE_SET):
        if isinstance(src, KeyspaceWriter):
            opened = open_write(src, now_ms, db, key, tag, create=False)
        else:
            opened = open_read(src, now_ms, db, key, tag)
        if opened is None:
            return _Input(None, False)
        if not isinstance(opened, ErrorReply):
            return _Input(opened, tag == L.TYPE_SET)
    return E.WRONGTYPE


_SETOPS: Final[dict[bytes, tuple[str, bool]]] = {
    b"zunion": ("union", False),
    b"zinter": ("inter", False),
    b"zdiff": ("diff", False),
    b"zunionstore": ("union", True),
    b"zinterstore": ("inter", True),
    b"zdiffstore": ("diff", True),
}


def prepare_setop(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    name = argv[0].lower()
    n = A.parse_numkeys(argv, 2, name.decode())
    return n if isinstance(n, ErrorReply) else argv


def _setop(
    src: KeyspaceView | KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]
) -> tuple[list[Entry], bool] | ErrorReply:
    """Redis `zunionInterDiffGenericCommand` up to the result: `(sorted entries, withscores)`."""
    name = argv[0].lower()
    op, store = _SETOPS[name]
    at = 2 if store else 1
    numkeys = A.parse_numkeys(argv, at, name.decode())
    if isinstance(numkeys, ErrorReply):
        return numkeys
    inputs: list[_Input] = []
    for key in argv[at + 1 : at + 1 + numkeys]:
        opened = _open_input(src, now_ms, db, key)
        if isinstance(opened, ErrorReply):
            return opened
        inputs.append(opened)
    opts = A.parse_setop_options(argv, at + 1 + numkeys, numkeys, op == "diff", store)
    if isinstance(opts, ErrorReply):
        return opts
    for inp, weight in zip(inputs, opts.weights, strict=True):
        inp.weight = weight
    if op == "union":
        result = _union(inputs, opts.aggregate)
    elif op == "inter":
        result = _inter(inputs, opts.aggregate)
    else:
        result = _diff(inputs)
    entries = sorted(((s, m) for m, s in result.items()), key=lambda e: (e[0], e[1]))
    return entries, opts.withscores


def _weighted(score: float, weight: float) -> float:
    value = score * weight
    return 0.0 if math.isnan(value) else value


def _union(inputs: list[_Input], agg: str) -> dict[bytes, float]:
    acc: dict[bytes, float] = {}
    for inp in inputs:
        for score, member in inp.entries():
            value = _weighted(score, inp.weight)
            if member in acc:
                acc[member] = A.aggregate(agg, acc[member], value)
            else:
                acc[member] = value
    return acc


def _inter(inputs: list[_Input], agg: str) -> dict[bytes, float]:
    ordered = sorted(inputs, key=lambda i: i.size)  # smallest first, as Redis
    acc: dict[bytes, float] = {}
    if ordered[0].size == 0:
        return acc
    first = ordered[0]
    for score, member in first.entries():
        total = _weighted(score, first.weight)
        for other in ordered[1:]:
            found = other.score(member) if other is not first else score
            if found is None:
                break
            total = A.aggregate(agg, total, found * other.weight)
        else:
            acc[member] = total
    return acc


def _diff(inputs: list[_Input]) -> dict[bytes, float]:
    acc: dict[bytes, float] = {}
    for score, member in inputs[0].entries():
        if all(other.score(member) is None for other in inputs[1:]):
            acc[member] = score
    return acc


def read_setop(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    result = _setop(view, now_ms, db, argv)
    if isinstance(result, ErrorReply):
        return result
    entries, withscores = result
    return _entries_reply(entries, withscores)


def read_zintercard(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """ZINTERCARD numkeys key... [LIMIT limit]: the size of the intersection (sets count as
    sorted sets, as in ZINTER), at most `limit` when it is not 0. Types before options."""
    numkeys = A.parse_numkeys(argv, 1, "zintercard")
    if isinstance(numkeys, ErrorReply):
        return numkeys
    inputs: list[_Input] = []
    for key in argv[2 : 2 + numkeys]:
        opened = _open_input(view, now_ms, db, key)
        if isinstance(opened, ErrorReply):
            return opened
        inputs.append(opened)
    limit = parse_card_limit(argv, 2 + numkeys)
    if isinstance(limit, ErrorReply):
        return limit
    size = len(_inter(inputs, A.AGG_SUM))
    return min(size, limit) if limit else size


def apply_setop_store(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    result = _setop(w, now_ms, db, argv)
    if isinstance(result, ErrorReply):
        return result
    return store_entries(w, now_ms, db, argv[1], result[0], argv[0].lower())


# ---------------------------------------------------------------------------------------------
# ZRANDMEMBER, ZSCAN (reads: local randomness is fine, nothing random happens at apply)


def read_zrandmember(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    count: int | None = None
    withscores = False
    if len(argv) >= 3:
        count = parse_int(argv[2])
        if count is None:
            return E.NOT_INTEGER
        if count < -INT64_MAX:
            return RANDMEMBER_RANGE
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
            return E.SYNTAX
        if len(argv) == 4:
            withscores = True
            if count < -(INT64_MAX // 2) or count > INT64_MAX // 2:  # C division truncates
                return RANDMEMBER_WITHSCORES_RANGE
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if isinstance(coll, ErrorReply):
        return coll
    if coll is None:
        return None if count is None else []
    if count is None:
        return _by_rank(coll, (r := chance.rng().randrange(coll.size)), r, False)[0][1]
    if count == 0:
        return []
    if count >= coll.size:
        return _entries_reply(list(_index(coll)), withscores)
    if count > 0:
        rng = chance.rng()
        ranks = set(rng.sample(range(coll.size), count))
        picked = [e for i, e in enumerate(_index(coll)) if i in ranks]
        rng.shuffle(picked)
    else:
        everything = list(_index(coll))
        rng = chance.rng()
        picked = [rng.choice(everything) for _ in range(-count)]
    return _entries_reply(picked, withscores)


def _scan_prefix(member: bytes) -> int:
    return int.from_bytes(member[:_SCAN_PREFIX_BYTES].ljust(_SCAN_PREFIX_BYTES, b"\x00"), "big")


def read_zscan(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """Sets of up to 128 members answer in one call with cursor 0, in score order (as Redis's
    listpack encoding). Bigger ones walk the member family; the cursor is 1 + the first 7 bytes
    of the next member, and a call finishes the run of members sharing those bytes, so every
    member present for the whole iteration is returned (possibly twice), whatever is written
    between calls, and the iteration ends."""
    cursor = parse_cursor(argv[2])
    if cursor is None:
        return E.INVALID_CURSOR
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if coll is None:
        return [b"0", []]
    if isinstance(coll, ErrorReply):
        return coll
    options = parse_scan_options(argv, 3)
    if isinstance(options, ErrorReply):
        return options
    count, pattern, _ = options
    out: list[Reply] = []
    if coll.size <= ZSCAN_SMALL_MAX:
        for score, member in _index(coll):
            if pattern is None or match(pattern, member):
                out += [member, format_double(score)]
        return [b"0", out]
    if cursor > 1 << (8 * _SCAN_PREFIX_BYTES):
        return [b"0", []]
    start_prefix = cursor - 1 if cursor else 0
    seek = _M + start_prefix.to_bytes(_SCAN_PREFIX_BYTES, "big").rstrip(b"\x00")
    next_cursor = 0
    seen = 0
    last = -1
    for sub, raw in coll.iterate(seek, b"n"):  # b"n": just above the member family
        member = sub[1:]
        p = _scan_prefix(member)
        if p < start_prefix:
            continue
        if seen >= count and p != last:
            next_cursor = p + 1
            break
        seen += 1
        last = p
        if pattern is None or match(pattern, member):
            out += [member, format_double(unpack_double(raw))]
    return [str(next_cursor).encode(), out]
