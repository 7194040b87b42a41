"""Lists: layout, argument checks, and the handlers of every list command.

Layout (Kvrocks-style, on the collection foundation in `layout.py`):

    meta record:  type LIST + expire + version(8) + size(8) + head(8) + tail(8)
    sub-entries:  sub_prefix(slot, version) + index(8, BE)  -> element

Elements occupy the contiguous unsigned 64-bit positions `[head, tail)`; a new list starts with
`head = tail = 2**63`, in the middle of the space, so LPUSH writes at `head - 1` and RPUSH at
`tail`: pushes, pops, LINDEX and LSET are O(1) RocksDB operations whatever the length, and
LRANGE is one range scan over exactly the positions asked for. `size == tail - head` always.
LINSERT and LREM in the middle shift the shorter side of the list by one position per element
(O(n), as Kvrocks); LTRIM deletes what it trims (O(removed)), or, when it trims everything,
deletes the key and leaves the entries to the tombstone GC (O(1)).

Every list lives entirely under its version prefix, so the foundation's generic RENAME, COPY,
MOVE and GC need nothing list-specific.

Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH) are ordinary replicated writes here: their
apply is the non-blocking core (pop from the first non-empty list, or answer `NullArray`), and
the connection layer turns a `NullArray` answer into waiting (see `BLOCKING_COMMANDS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Final, Protocol

from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv import mpop
from seshat.kv import notify as N
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.numbers import INT64_MIN, parse_int, parse_long_double
from seshat.protocol.replies import NULL_ARRAY, OK, ErrorReply, Reply

LIST_MIDDLE: Final = 1 << 63
_EXTRA: Final = L.COLLECTION_HEADER_BYTES  # head(8) + tail(8) follow the common header

NOT_POSITIVE = ErrorReply("ERR value is out of range, must be positive")
INDEX_OUT_OF_RANGE = ErrorReply("ERR index out of range")
RANK_ZERO = ErrorReply(
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "
    "negative to start from the end of the list"
)
COUNT_NEGATIVE = ErrorReply("ERR COUNT can't be negative")
MAXLEN_NEGATIVE = ErrorReply("ERR MAXLEN can't be negative")
TIMEOUT_NOT_FLOAT = ErrorReply("ERR timeout is not a float or out of range")
TIMEOUT_NEGATIVE = ErrorReply("ERR timeout is negative")

# Commands whose NullArray reply means "nothing to pop yet: block" (the connection layer's job).
BLOCKING_COMMANDS: Final = frozenset(
    {b"blpop", b"brpop", b"blmove", b"brpoplpush", b"bzpopmin", b"bzpopmax"} | mpop.BLOCKING
)


def timeout_arg(argv: list[bytes]) -> bytes:
    """A blocking command's timeout: its last argument, or BLMPOP's and BZMPOP's first."""
    return argv[1] if argv[0].lower() in mpop.BLOCKING else argv[-1]


class _Source(Protocol):
    def sub_get(self, kkey: bytes) -> bytes | None: ...

    def iterate_kv(
        self, lo: bytes, hi: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]: ...


# ---------------------------------------------------------------------------------------------
# Pure helpers: records, positions, index math


def list_record(expire_at_ms: int, version: int, head: int, tail: int) -> bytes:
    assert 0 < head <= tail < 1 << 64, (head, tail)
    extra = head.to_bytes(8, "big") + tail.to_bytes(8, "big")
    return L.collection_record(L.TYPE_LIST, expire_at_ms, version, tail - head, extra)


def head_tail(rec: bytes) -> tuple[int, int]:
    head = int.from_bytes(rec[_EXTRA : _EXTRA + 8], "big")
    tail = int.from_bytes(rec[_EXTRA + 8 : _EXTRA + 16], "big")
    assert tail - head == L.record_size(rec), (head, tail, L.record_size(rec))
    return head, tail


def normalise_index(index: int, size: int) -> int | None:
    """LINDEX/LSET: a negative index counts from the tail; None when out of range."""
    if index < 0:
        index += size
    return index if 0 <= index < size else None


def range_window(start: int, stop: int, size: int) -> tuple[int, int] | None:
    """LRANGE/LTRIM clamping (`listTypeRange`/`ltrimCommand`): inclusive `(start, stop)`."""
    if start < 0:
        start += size
    if stop < 0:
        stop += size
    start = max(start, 0)
    if start > stop or start >= size:
        return None
    return start, min(stop, size - 1)


def parse_timeout(arg: bytes) -> int | ErrorReply:
    """Redis `getTimeoutFromObjectOrReply` (seconds, long double): the timeout in ms (0 = none)."""
    value = parse_long_double(arg)
    if value is None:
        return TIMEOUT_NOT_FLOAT
    if not isinstance(value, Fraction):
        return TIMEOUT_NEGATIVE  # infinity: (long long)(inf * 1000) is LLONG_MIN on x86-64
    ms = int(value * 1000)  # C truncates toward zero
    if ms >= 1 << 63 or ms < 0:
        return TIMEOUT_NEGATIVE  # an out-of-range conversion gives LLONG_MIN too
    return ms


class _ListRef:
    """A list's meta record, loaded for one command; `save` writes it back."""

    __slots__ = ("db", "expire", "head", "key", "old", "prefix", "tail", "version")

    def __init__(self, db: int, key: bytes, slot: int, rec: bytes) -> None:
        self.db = db
        self.key = key
        self.old: bytes | None = rec
        self.expire = L.record_expire_at(rec)
        self.version = L.record_version(rec)
        self.head, self.tail = head_tail(rec)
        self.prefix = L.sub_prefix(slot, self.version)

    def pos(self, i: int) -> bytes:
        return self.prefix + i.to_bytes(8, "big")

    @property
    def size(self) -> int:
        return self.tail - self.head

    def items(
        self, src: _Source, lo: int, hi: int, reverse: bool = False
    ) -> Iterator[tuple[int, bytes]]:
        """`(position, element)` for positions in `[lo, hi)`."""
        for kkey, value in src.iterate_kv(self.pos(lo), self.pos(hi), reverse):
            yield int.from_bytes(kkey[-8:], "big"), value


def _new_list(w: KeyspaceWriter, db: int, key: bytes) -> _ListRef:
    rec = list_record(0, w.new_version(), LIST_MIDDLE, LIST_MIDDLE)
    ref = _ListRef(db, key, w.db_map[db], rec)
    ref.old = None
    return ref


def _load_w(w: KeyspaceWriter, now_ms: int, db: int, key: bytes) -> _ListRef | ErrorReply | None:
    rec = w.lookup(db, key, now_ms)
    if rec is None:
        return None
    if rec[0] != L.TYPE_LIST:
        return E.WRONGTYPE
    return _ListRef(db, key, w.db_map[db], rec)


def _load_r(view: KeyspaceView, now_ms: int, db: int, key: bytes) -> _ListRef | ErrorReply | None:
    rec = view.record(db, key, now_ms)
    if rec is None:
        return None
    if rec[0] != L.TYPE_LIST:
        return E.WRONGTYPE
    return _ListRef(db, key, view.db_map[db], rec)


def _save(w: KeyspaceWriter, ref: _ListRef) -> None:
    """Write the meta record back; an emptied list (all entries already deleted) goes away."""
    if ref.size == 0:
        if ref.old is not None:
            w.detach(ref.db, ref.key, ref.old)
        ref.old = None
        return
    rec = list_record(ref.expire, ref.version, ref.head, ref.tail)
    w.put(ref.db, ref.key, rec, ref.old)
    ref.old = rec


def _notify_pop(w: KeyspaceWriter, ref: _ListRef, left: bool) -> None:
    """A pop's events, as Redis orders them: the pop, then "del" if it emptied the list."""
    w.notify(N.LIST, b"lpop" if left else b"rpop", ref.db, ref.key)
    if ref.size == 0:
        w.notify(N.GENERIC, b"del", ref.db, ref.key)


def _push(w: KeyspaceWriter, ref: _ListRef, elements: list[bytes], left: bool) -> None:
    for element in elements:
        if left:
            ref.head -= 1
            w.sub_put(ref.pos(ref.head), element)
        else:
            w.sub_put(ref.pos(ref.tail), element)
            ref.tail += 1
    assert 0 < ref.head <= ref.tail < 1 << 64, (ref.head, ref.tail)


def _pop(w: KeyspaceWriter, ref: _ListRef, count: int, left: bool) -> list[bytes]:
    """Remove and return up to `count` elements from one end (entries deleted, record not saved)."""
    count = min(count, ref.size)
    if count == 1:
        at = ref.head if left else ref.tail - 1
        value = w.sub_get(ref.pos(at))
        assert value is not None, (ref.key, at)
        out = [value]
    elif left:
        out = [v for _p, v in ref.items(w, ref.head, ref.head + count)]
    else:
        out = [v for _p, v in ref.items(w, ref.tail - count, ref.tail, reverse=True)]
    assert len(out) == count, (len(out), count)
    for i in range(count):
        w.sub_delete(ref.pos(ref.head + i if left else ref.tail - 1 - i))
    if left:
        ref.head += count
    else:
        ref.tail -= count
    return out


# ---------------------------------------------------------------------------------------------
# Pushes and pops


def _apply_push(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes], left: bool,
                only_existing: bool) -> Reply:  # fmt: skip
    ref = _load_w(w, now_ms, db, argv[1])
    if isinstance(ref, ErrorReply):
        return ref
    if ref is None:
        if only_existing:
            return 0
        ref = _new_list(w, db, argv[1])
    _push(w, ref, argv[2:], left)
    _save(w, ref)
    w.notify(N.LIST, b"lpush" if left else b"rpush", db, argv[1])
    return ref.size


def apply_lpush(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _apply_push(w, now_ms, db, argv, True, False)


def apply_rpush(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _apply_push(w, now_ms, db, argv, False, False)


def apply_lpushx(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _apply_push(w, now_ms, db, argv, True, True)


def apply_rpushx(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _apply_push(w, now_ms, db, argv, False, True)


def prepare_pop(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if len(argv) > 3:
        return E.wrong_arity(argv[0].lower())
    if len(argv) == 3:
        n = parse_int(argv[2])
        if n is None or n < 0:
            return NOT_POSITIVE
    return argv


def _apply_pop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes], left: bool) -> Reply:
    has_count = len(argv) == 3
    ref = _load_w(w, now_ms, db, argv[1])
    if ref is None:
        return NULL_ARRAY if has_count else None
    if isinstance(ref, ErrorReply):
        return ref
    count = int(argv[2]) if has_count else 1
    if has_count and count == 0:
        return []
    out: list[Reply] = list(_pop(w, ref, count, left))
    _save(w, ref)
    _notify_pop(w, ref, left)
    return out if has_count else out[0]


def apply_lpop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _apply_pop(w, now_ms, db, argv, True)


def apply_rpop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _apply_pop(w, now_ms, db, argv, False)


_WHERE: Final = {b"left": True, b"right": False}


def prepare_lmove(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    """LMOVE src dst LEFT|RIGHT LEFT|RIGHT (and BLMOVE with a trailing timeout)."""
    if argv[3].lower() not in _WHERE or argv[4].lower() not in _WHERE:
        return E.SYNTAX
    if len(argv) == 6:
        timeout = parse_timeout(argv[5])
        if isinstance(timeout, ErrorReply):
            return timeout
    return argv


DESTINATION_WRONGTYPE: Final = ErrorReply(E.WRONGTYPE.message)
"""WRONGTYPE for an LMOVE/RPOPLPUSH destination: equal to any WRONGTYPE, but its own object,
so `seshat/blocking.py` can tell a woken BLMOVE's destination error (its reply, as in Redis)
from its source's (the waiter keeps waiting)."""


def _move(w: KeyspaceWriter, now_ms: int, db: int, src: bytes, dst: bytes, left_from: bool,
          left_to: bool, blocking: bool) -> Reply:  # fmt: skip
    """Redis `lmoveGenericCommand`: the source must be a list, the destination a list or absent."""
    ref = _load_w(w, now_ms, db, src)
    if ref is None:
        return NULL_ARRAY if blocking else None
    if isinstance(ref, ErrorReply):
        return ref
    dest = _load_w(w, now_ms, db, dst) if dst != src else ref
    if isinstance(dest, ErrorReply):
        return DESTINATION_WRONGTYPE
    (value,) = _pop(w, ref, 1, left_from)
    if dest is ref:  # a rotation: the list is never empty, never deleted
        _push(w, ref, [value], left_to)
        _save(w, ref)
    else:
        _save(w, ref)
        if dest is None:
            dest = _new_list(w, db, dst)
        _push(w, dest, [value], left_to)
        _save(w, dest)
    w.notify(N.LIST, b"lpush" if left_to else b"rpush", db, dst)
    _notify_pop(w, ref, left_from)
    return value


def apply_lmove(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    left_from = _WHERE[argv[3].lower()]
    left_to = _WHERE[argv[4].lower()]
    return _move(w, now_ms, db, argv[1], argv[2], left_from, left_to, len(argv) == 6)


def apply_rpoplpush(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _move(w, now_ms, db, argv[1], argv[2], False, True, len(argv) == 4)


def prepare_blocking(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    """BLPOP/BRPOP/BRPOPLPUSH/BZPOPMIN/BZPOPMAX: the last argument is the timeout (the
    connection layer's to use)."""
    timeout = parse_timeout(argv[-1])
    if isinstance(timeout, ErrorReply):
        return timeout
    return argv


def prepare_multi_pop(argv: list[bytes], sides: tuple[bytes, bytes]) -> list[bytes] | ErrorReply:
    """LMPOP/ZMPOP, and BLMPOP/BZMPOP after their timeout (which Redis checks first)."""
    if argv[0].lower() in mpop.BLOCKING:
        timeout = parse_timeout(argv[1])
        if isinstance(timeout, ErrorReply):
            return timeout
    parsed = mpop.parse(argv, sides)
    return parsed if isinstance(parsed, ErrorReply) else argv


def prepare_lmpop(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    return prepare_multi_pop(argv, (b"left", b"right"))


def apply_lmpop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """LMPOP, and BLMPOP's non-blocking core: `[key, [element...]]` from the first non-empty
    list, or `NullArray` (for BLMPOP, `seshat.blocking` then waits)."""
    parsed = mpop.parse(argv, (b"left", b"right"))
    assert not isinstance(parsed, ErrorReply), parsed
    for key in parsed.keys:
        ref = _load_w(w, now_ms, db, key)
        if ref is None:
            continue
        if isinstance(ref, ErrorReply):
            return ref
        values: list[Reply] = list(_pop(w, ref, parsed.count, parsed.side == b"left"))
        _save(w, ref)
        _notify_pop(w, ref, parsed.side == b"left")
        return [key, values]
    return NULL_ARRAY


def _apply_bpop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes], left: bool) -> Reply:
    """The non-blocking core of BLPOP/BRPOP: `[key, element]` from the first non-empty list."""
    for key in argv[1:-1]:
        ref = _load_w(w, now_ms, db, key)
        if ref is None:
            continue
        if isinstance(ref, ErrorReply):
            return ref
        (value,) = _pop(w, ref, 1, left)
        _save(w, ref)
        _notify_pop(w, ref, left)
        return [key, value]
    return NULL_ARRAY


def apply_blpop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _apply_bpop(w, now_ms, db, argv, True)


def apply_brpop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _apply_bpop(w, now_ms, db, argv, False)


# ---------------------------------------------------------------------------------------------
# Reads


def read_llen(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    ref = _load_r(view, now_ms, db, argv[1])
    if ref is None:
        return 0
    if isinstance(ref, ErrorReply):
        return ref
    return ref.size


def read_lindex(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    ref = _load_r(view, now_ms, db, argv[1])
    if ref is None or isinstance(ref, ErrorReply):
        return ref
    index = parse_int(argv[2])
    if index is None:
        return E.NOT_INTEGER
    i = normalise_index(index, ref.size)
    return None if i is None else view.sub_get(ref.pos(ref.head + i))


def read_lrange(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    start, stop = parse_int(argv[2]), parse_int(argv[3])
    if start is None or stop is None:
        return E.NOT_INTEGER
    ref = _load_r(view, now_ms, db, argv[1])
    if ref is None:
        return []
    if isinstance(ref, ErrorReply):
        return ref
    window = range_window(start, stop, ref.size)
    if window is None:
        return []
    lo, hi = ref.head + window[0], ref.head + window[1] + 1
    if view.__class__ is KeyspaceView:  # committed state: the positions are dense, so it is
        return list[Reply](view.values_from(ref.pos(lo), hi - lo))  # exactly hi - lo keys
    return [v for _p, v in ref.items(view, lo, hi)]  # a script's view: its writes overlaid


_LPOS_OPTS: Final = (b"rank", b"count", b"maxlen")


def _parse_lpos(argv: list[bytes]) -> tuple[int, int | None, int] | ErrorReply:
    """`(rank, count or None, maxlen)` of LPOS key element [RANK r] [COUNT n] [MAXLEN m]."""
    rank, count, maxlen = 1, None, 0
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt not in _LPOS_OPTS or j + 1 >= len(argv):
            return E.SYNTAX
        n = parse_int(argv[j + 1])
        if n is None:
            return E.NOT_INTEGER
        if opt == b"rank":
            if n == 0:
                return RANK_ZERO
            rank = n
        elif opt == b"count":
            if n < 0:
                return COUNT_NEGATIVE
            count = n
        else:
            if n < 0:
                return MAXLEN_NEGATIVE
            maxlen = n
        j += 2
    return rank, count, maxlen


def read_lpos(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """O(n) scan from the head (positive RANK) or the tail (negative), at most MAXLEN long."""
    parsed = _parse_lpos(argv)
    if isinstance(parsed, ErrorReply):
        return parsed
    rank, count, maxlen = parsed
    ref = _load_r(view, now_ms, db, argv[1])
    if ref is None:
        return [] if count is not None else None
    if isinstance(ref, ErrorReply):
        return ref
    reverse = rank < 0
    # Redis negates the rank; LONG_MIN stays negative, so every match then counts as the first.
    skip = 0 if rank == INT64_MIN else abs(rank) - 1
    wanted = count if count else (ref.size if count == 0 else 1)
    found: list[Reply] = []
    matches = 0
    for scanned, (pos, value) in enumerate(ref.items(view, ref.head, ref.tail, reverse)):
        if maxlen and scanned >= maxlen:
            break
        if value == argv[2]:
            matches += 1
            if matches > skip:
                found.append(pos - ref.head)
                if len(found) >= wanted:
                    break
    if count is None:
        return found[0] if found else None
    return found


# ---------------------------------------------------------------------------------------------
# Writes in the middle


def apply_lset(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    ref = _load_w(w, now_ms, db, argv[1])
    if ref is None:
        return E.NO_SUCH_KEY
    if isinstance(ref, ErrorReply):
        return ref
    index = parse_int(argv[2])
    if index is None:
        return E.NOT_INTEGER
    i = normalise_index(index, ref.size)
    if i is None:
        return INDEX_OUT_OF_RANGE
    w.sub_put(ref.pos(ref.head + i), argv[3])
    w.touch(db, argv[1])  # the meta record is unchanged: tell WATCH the key was modified
    w.notify(N.LIST, b"lset", db, argv[1])
    return OK


def prepare_linsert(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if argv[2].lower() not in (b"before", b"after"):
        return E.SYNTAX
    return argv


def apply_linsert(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """Find the pivot from the head, then shift the shorter side by one position: O(n)."""
    ref = _load_w(w, now_ms, db, argv[1])
    if ref is None:
        return 0
    if isinstance(ref, ErrorReply):
        return ref
    pivot_at = None
    for pos, value in ref.items(w, ref.head, ref.tail):
        if value == argv[3]:
            pivot_at = pos
            break
    if pivot_at is None:
        return -1
    gap = pivot_at if argv[2].lower() == b"before" else pivot_at + 1  # insert before `gap`
    if gap - ref.head <= ref.tail - gap:  # shift [head, gap) one to the left
        moved = list(ref.items(w, ref.head, gap))
        for pos, value in moved:
            w.sub_put(ref.pos(pos - 1), value)
        ref.head -= 1
        w.sub_put(ref.pos(gap - 1), argv[4])
    else:  # shift [gap, tail) one to the right
        moved = list(ref.items(w, gap, ref.tail))
        for pos, value in moved:
            w.sub_put(ref.pos(pos + 1), value)
        ref.tail += 1
        w.sub_put(ref.pos(gap), argv[4])
    _save(w, ref)
    w.notify(N.LIST, b"linsert", db, argv[1])
    return ref.size


def prepare_lrem(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    return E.NOT_INTEGER if parse_int(argv[2]) is None else argv


def apply_lrem(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """Scan (from the tail for a negative count), then close the gaps: O(n)."""
    count = int(argv[2])
    ref = _load_w(w, now_ms, db, argv[1])
    if ref is None:
        return 0
    if isinstance(ref, ErrorReply):
        return ref
    items = list(ref.items(w, ref.head, ref.tail, reverse=count < 0))
    doomed: set[int] = set()
    for pos, value in items:
        if value == argv[3]:
            doomed.add(pos)
            if count and len(doomed) == abs(count):
                break
    if not doomed:
        return 0
    if len(doomed) == ref.size:
        w.delete(db, ref.key, ref.old)  # type: ignore[arg-type]
        w.notify(N.LIST, b"lrem", db, ref.key)
        w.notify(N.GENERIC, b"del", db, ref.key)
        return len(doomed)
    if count < 0:
        items.reverse()
    lo, hi = min(doomed), max(doomed)
    if ref.tail - lo <= hi + 1 - ref.head:  # close the gaps towards the head: rewrite [lo, tail)
        keep = [v for p, v in items if p >= lo and p not in doomed]
        for i, value in enumerate(keep):
            w.sub_put(ref.pos(lo + i), value)
        new_tail = lo + len(keep)
        for p in range(new_tail, ref.tail):
            w.sub_delete(ref.pos(p))
        ref.tail = new_tail
    else:  # towards the tail: rewrite [head, hi]
        keep = [v for p, v in items if p <= hi and p not in doomed]
        new_head = hi + 1 - len(keep)
        for i, value in enumerate(keep):
            w.sub_put(ref.pos(new_head + i), value)
        for p in range(ref.head, new_head):
            w.sub_delete(ref.pos(p))
        ref.head = new_head
    _save(w, ref)
    w.notify(N.LIST, b"lrem", db, ref.key)
    return len(doomed)


def prepare_ltrim(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if parse_int(argv[2]) is None or parse_int(argv[3]) is None:
        return E.NOT_INTEGER
    return argv


def apply_ltrim(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    ref = _load_w(w, now_ms, db, argv[1])
    if ref is None:
        return OK
    if isinstance(ref, ErrorReply):
        return ref
    window = range_window(int(argv[2]), int(argv[3]), ref.size)
    if window is None:
        w.delete(db, ref.key, ref.old)  # type: ignore[arg-type]  # O(1); GC takes the entries
        w.notify(N.LIST, b"ltrim", db, ref.key)
        w.notify(N.GENERIC, b"del", db, ref.key)
        return OK
    new_head, new_tail = ref.head + window[0], ref.head + window[1] + 1
    for p in range(ref.head, new_head):
        w.sub_delete(ref.pos(p))
    for p in range(new_tail, ref.tail):
        w.sub_delete(ref.pos(p))
    ref.head, ref.tail = new_head, new_tail
    _save(w, ref)
    w.notify(N.LIST, b"ltrim", db, ref.key)
    return OK
