"""SORT and SORT_RO, as Redis 7.0's `sortCommandGeneric` (`sort.c`).

The elements of a list, set or sorted set are read through those types' own read handlers;
BY and GET patterns read strings and hash fields the same way (GET/HGET over the view).
Without STORE the command only reads (`KVService.prepare` routes it so); with STORE it is a
write whose `apply` replaces the destination with a list, as `setKey` does.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Final, cast

from seshat.kv import errors as E
from seshat.kv import hashes as H
from seshat.kv import layout as L
from seshat.kv import lists as LI
from seshat.kv import notify as N
from seshat.kv import reads as R
from seshat.kv import sets as SE
from seshat.kv import writes as W
from seshat.kv import zsets as Z
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter, WriterView
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import ErrorReply, Reply, Set

_INTSET_ENTRIES_MAX: Final = 512  # set-max-intset-entries
NOT_DOUBLE: Final = ErrorReply("ERR One or more scores can't be converted into double")

# C `strtod` over the whole string (Redis rejects trailing bytes): leading spaces, a sign, then
# a decimal, hexadecimal, infinity or NaN (NaN is rejected by the caller).
_SPACE: Final = b" \t\n\v\f\r"
_DEC_RE: Final = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX_RE: Final = re.compile(
    rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
)
_INF_RE: Final = re.compile(rb"[+-]?(?:inf|infinity)", re.IGNORECASE)
_NAN_RE: Final = re.compile(rb"[+-]?nan(?:\([0-9A-Za-z_]*\))?", re.IGNORECASE)


def _strtod(b: bytes) -> float | None:
    """Redis's `strtod(ptr, &eptr)` check in SORT: the score, or None (trailing bytes, ERANGE,
    NaN). An empty string is 0, as strtod converts nothing and stops at the terminator."""
    b = _cstr(b)
    s = b.lstrip(_SPACE)
    if not s:
        return 0.0 if not b else None
    if _INF_RE.fullmatch(s):
        return -math.inf if s[:1] == b"-" else math.inf
    if _NAN_RE.fullmatch(s):
        return None
    is_hex = _HEX_RE.fullmatch(s) is not None
    if is_hex:
        mantissa = re.split(rb"[pP]", s)[0].lstrip(b"+-")[2:]
        text = s.decode() if b"p" in s.lower() else s.decode() + "p0"
        try:
            value = float.fromhex(text)
        except OverflowError:
            return None  # ERANGE: overflow
    elif _DEC_RE.fullmatch(s):
        mantissa = re.split(rb"[eE]", s)[0]
        value = float(s)
    else:
        return None
    if math.isinf(value):
        return None  # ERANGE: overflow
    if value == 0.0 and re.search(rb"[1-9a-fA-F]", mantissa):
        return None  # ERANGE: underflow to zero
    if value != 0.0 and abs(value) < sys.float_info.min and not is_hex:
        return None  # ERANGE: an inexact subnormal (a decimal one; hex ones here are exact)
    return value


@dataclass(slots=True)
class _Options:
    desc: bool = False
    alpha: bool = False
    start: int = 0
    count: int = -1
    by: bytes | None = None
    dontsort: bool = False
    store: bytes | None = None
    gets: list[bytes] = field(default_factory=list)


def _parse(argv: list[bytes], readonly: bool) -> _Options | ErrorReply:
    opts = _Options()
    j = 2
    argc = len(argv)
    while j < argc:
        word = argv[j].lower()
        left = argc - j - 1
        if word == b"asc":
            opts.desc = False
        elif word == b"desc":
            opts.desc = True
        elif word == b"alpha":
            opts.alpha = True
        elif word == b"limit" and left >= 2:
            start, count = parse_int(argv[j + 1]), parse_int(argv[j + 2])
            if start is None or count is None:
                return E.NOT_INTEGER
            opts.start, opts.count = start, count
            j += 2
        elif not readonly and word == b"store" and left >= 1:
            opts.store = argv[j + 1]
            j += 1
        elif word == b"by" and left >= 1:
            opts.by = argv[j + 1]
            if b"*" not in _cstr(opts.by):
                opts.dontsort = True  # as Redis: a later BY with a pattern does not undo it
            j += 1
        elif word == b"get" and left >= 1:
            opts.gets.append(argv[j + 1])
            j += 1
        else:
            return E.SYNTAX
        j += 1
    return opts


def _cstr(b: bytes) -> bytes:
    """`b` as C string functions see it: up to the first NUL."""
    nul = b.find(b"\0")
    return b if nul < 0 else b[:nul]


def _lookup(view: KeyspaceView, now_ms: int, db: int, pattern: bytes, elem: bytes) -> bytes | None:
    """Redis `lookupKeyByPattern`: `#` is the element; the first `*` takes the element; a
    `->field` after it reads a hash field. Missing keys and wrong types give None."""
    spat = _cstr(pattern)
    if spat == b"#":
        return elem
    star = spat.find(b"*")
    if star < 0:
        return None
    arrow = spat.find(b"->", star + 1)
    hfield = None
    if arrow >= 0 and arrow + 2 < len(spat):
        hfield = pattern[arrow + 2 :]
        key = pattern[:star] + elem + pattern[star + 1 : arrow]
    else:
        key = pattern[:star] + elem + pattern[star + 1 :]
    if hfield is None:
        got = R.read_get(view, now_ms, db, [b"get", key])
    else:
        got = H.read_hget(view, now_ms, db, [b"hget", key, hfield])
    return got if isinstance(got, bytes) else None


def _elements(
    view: KeyspaceView, now_ms: int, db: int, key: bytes
) -> tuple[int, list[bytes]] | ErrorReply:
    rec = view.record(db, key, now_ms)
    if rec is None:
        return L.TYPE_LIST, []
    tag = rec[0]
    if tag == L.TYPE_LIST:
        got = LI.read_lrange(view, now_ms, db, [b"lrange", key, b"0", b"-1"])
    elif tag == L.TYPE_SET:
        got = SE.read_smembers(view, now_ms, db, [b"smembers", key])
    elif tag == L.TYPE_ZSET:
        got = Z.read_zrange(view, now_ms, db, [b"zrange", key, b"0", b"-1"])
    else:
        return E.WRONGTYPE
    if isinstance(got, Set):
        got = got.items
    assert isinstance(got, list), got
    return tag, cast(list[bytes], got)


def _sorted(
    view: KeyspaceView, now_ms: int, db: int, argv: list[bytes], readonly: bool
) -> tuple[_Options, list[bytes | None]] | ErrorReply:
    """The parsed options and the output elements (GET results, or the elements)."""
    opts = _parse(argv, readonly)
    if isinstance(opts, ErrorReply):
        return opts
    loaded = _elements(view, now_ms, db, argv[1])
    if isinstance(loaded, ErrorReply):
        return loaded
    tag, elems = loaded
    by, alpha, dontsort = opts.by, opts.alpha, opts.dontsort
    if dontsort and tag == L.TYPE_SET and opts.store is not None:
        dontsort, alpha, by = False, True, None  # a stored set's order must be deterministic
    n = len(elems)
    start = max(opts.start, 0)
    end = n - 1 if opts.count < 0 else start + opts.count - 1
    if start >= n:
        start, end = n - 1, n - 2
    end = min(end, n - 1)
    if dontsort and tag == L.TYPE_SET and len(elems) <= _INTSET_ENTRIES_MAX:
        ints = [parse_int(e) for e in elems]
        if None not in ints:  # an intset in Redis: iterated in ascending order
            elems = [e for _i, e in sorted(zip(cast(list[int], ints), elems, strict=True))]
    if dontsort:
        if tag != L.TYPE_SET and opts.desc:
            elems = elems[::-1]
    else:
        ordered = _sort(view, now_ms, db, elems, by, alpha, opts.desc)
        if ordered is None:
            return NOT_DOUBLE
        elems = ordered
    window = elems[start : end + 1] if end >= start else []
    if not opts.gets:
        return opts, list(window)
    out: list[bytes | None] = []
    for elem in window:
        out.extend(_lookup(view, now_ms, db, pat, elem) for pat in opts.gets)
    return opts, out


def _sort(
    view: KeyspaceView,
    now_ms: int,
    db: int,
    elems: list[bytes],
    by: bytes | None,
    alpha: bool,
    desc: bool,
) -> list[bytes] | None:
    sign = -1 if desc else 1
    if alpha:
        if by is None:
            return sorted(elems, reverse=desc)
        weights = [_lookup(view, now_ms, db, by, e) for e in elems]

        def cmp_alpha(a: tuple[bytes | None, bytes], b: tuple[bytes | None, bytes]) -> int:
            x, y = a[0], b[0]
            if x is None or y is None:
                c = 0 if x is y else (-1 if x is None else 1)
            else:
                c = (x > y) - (x < y)
            return sign * c

        pairs = sorted(zip(weights, elems, strict=True), key=cmp_to_key(cmp_alpha))
        return [e for _w, e in pairs]
    scores: list[float] = []
    for e in elems:
        w = e if by is None else _lookup(view, now_ms, db, by, e)
        if w is None:
            scores.append(0.0)
            continue
        score = _strtod(w)
        if score is None:
            return None
        scores.append(score)

    def cmp_num(a: tuple[float, bytes], b: tuple[float, bytes]) -> int:
        if a[0] != b[0]:
            return sign * (1 if a[0] > b[0] else -1)
        return sign * ((a[1] > b[1]) - (a[1] < b[1]))  # compareStringObjects: the bytes

    return [e for _s, e in sorted(zip(scores, elems, strict=True), key=cmp_to_key(cmp_num))]


def _reply(found: tuple[_Options, list[bytes | None]] | ErrorReply) -> Reply:
    if isinstance(found, ErrorReply):
        return found
    return cast(list[Reply], found[1])


def prepare_sort(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    opts = _parse(argv, readonly=False)
    return opts if isinstance(opts, ErrorReply) else argv


def has_store(argv: list[bytes]) -> bool:
    """True if SORT's `argv` may write (a STORE word anywhere among its options)."""
    return any(arg.lower() == b"store" for arg in argv[2:])


def read_sort(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _reply(_sorted(view, now_ms, db, argv, readonly=False))


def read_sort_ro(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _reply(_sorted(view, now_ms, db, argv, readonly=True))


def apply_sort(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    view = cast(KeyspaceView, WriterView(w))
    found = _sorted(view, now_ms, db, argv, readonly=False)
    if isinstance(found, ErrorReply):
        return found
    opts, out = found
    if opts.store is None:
        return cast(list[Reply], out)
    existed = w.lookup(db, opts.store, now_ms) is not None
    with w.quiet():  # Redis names it "sortstore" (or "del"), below
        W.apply_del(w, now_ms, db, [b"del", opts.store])
        if out:
            LI.apply_rpush(
                w, now_ms, db, [b"rpush", opts.store, *(b"" if v is None else v for v in out)]
            )
    if out:
        if not existed:
            w.notify(N.NEW, b"new", db, opts.store)
        w.notify(N.LIST, b"sortstore", db, opts.store)
    elif existed:
        w.notify(N.GENERIC, b"del", db, opts.store)
    return len(out)
