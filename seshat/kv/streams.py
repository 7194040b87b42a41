"""Streams (Redis 7.0 semantics): the type, its entries, and XADD, XLEN, XRANGE, XREVRANGE, XDEL,
XTRIM, XSETID and XREAD. Consumer groups are `stream_groups.py`; XINFO is `stream_info.py`.

A stream is a collection (`collections.py`): a meta record of type stream whose extra bytes hold
the stream's own counters (`StreamMeta`), and one sub-entry per entry, `e + id(16)`, whose value
is the entry's field/value list (msgpack). IDs sort as bytes, so XRANGE is one ordered scan and
XADD, XDEL and a point lookup are one RocksDB entry each. Unlike the other collections, an empty
stream is kept (XDEL of every entry, XTRIM MAXLEN 0, XGROUP CREATE ... MKSTREAM), as in Redis.

IDs that XADD generates (`*`) come from the log entry's timestamp, which every replica applies
identically; like Redis, they never go backwards (a clock behind the last ID reuses its ms and
increments the sequence).

Approximate trimming (`~`): Redis removes only whole radix-tree nodes, of 100 entries each by
default (`stream-node-max-entries`). Seshat keeps no node boundaries, so it removes whole runs of
100 entries from the head: the same result as Redis for a stream of small entries that was only
ever trimmed approximately; otherwise possibly more or fewer entries kept, never fewer than the
threshold asks for.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, cast

import msgpack

from seshat.kv import collections as C
from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv import notify as N
from seshat.kv import stream_ids as I
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter, WriterView
from seshat.kv.numbers import parse_int
from seshat.kv.stream_ids import MAX_ID, MIN_ID, StreamID
from seshat.protocol.replies import NULL_ARRAY, OK, ErrorReply, KeyedArrays, Reply

NODE_ENTRIES: Final = 100  # Redis's stream-node-max-entries: the unit of approximate trimming
APPROX_LIMIT_DEFAULT: Final = 100 * NODE_ENTRIES

ENTRY: Final = b"e"
_ENTRY_END: Final = b"f"
_META: Final = struct.Struct(">QQQQQQQ")  # last, max_deleted, first (ms, seq each), entries_added

ID_TOO_SMALL: Final = ErrorReply(
    "ERR The ID specified in XADD is equal or smaller than the target stream top item"
)
ID_ZERO: Final = ErrorReply("ERR The ID specified in XADD must be greater than 0-0")
EXHAUSTED: Final = ErrorReply(
    "ERR The stream has exhausted the last possible ID, unable to add more items"
)
MAXLEN_NEGATIVE: Final = ErrorReply("ERR The MAXLEN argument must be >= 0.")
LIMIT_NEGATIVE: Final = ErrorReply("ERR The LIMIT argument must be >= 0.")
LIMIT_WITHOUT_APPROX: Final = ErrorReply(
    "ERR syntax error, LIMIT cannot be used without the special ~ option"
)
LIMIT_WITHOUT_STRATEGY: Final = ErrorReply(
    "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
)
BOTH_STRATEGIES: Final = ErrorReply(
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
)
XTRIM_NO_STRATEGY: Final = ErrorReply(
    "ERR syntax error, XTRIM must be called with a trimming strategy"
)
TIMEOUT_NEGATIVE: Final = ErrorReply("ERR timeout is negative")
TIMEOUT_NOT_INTEGER: Final = ErrorReply("ERR timeout is not an integer or out of range")


# -- the meta record ---------------------------------------------------------------------------


@dataclass(slots=True)
class StreamMeta:
    """What Redis keeps in its `stream` struct besides the entries and the groups."""

    last: StreamID = MIN_ID  # last_id: the greatest ID ever added (or set by XSETID)
    max_deleted: StreamID = MIN_ID  # max_deleted_entry_id: the greatest ID XDEL removed
    first: StreamID = MIN_ID  # first_id: the first entry's ID, 0-0 when empty
    entries_added: int = 0  # every entry ever added, trimmed and deleted ones included

    @classmethod
    def of(cls, extra: bytes) -> StreamMeta:
        if not extra:
            return cls()
        lm, ls, dm, ds, fm, fs, added = _META.unpack(extra)
        return cls((lm, ls), (dm, ds), (fm, fs), added)

    def pack(self) -> bytes:
        return _META.pack(*self.last, *self.max_deleted, *self.first, self.entries_added)


def open_write(
    w: KeyspaceWriter, now_ms: int, db: int, key: bytes, create: bool
) -> tuple[C.WColl, StreamMeta] | ErrorReply | None:
    coll = C.open_write(w, now_ms, db, key, L.TYPE_STREAM, create)
    if coll is None or isinstance(coll, ErrorReply):
        return coll
    return coll, StreamMeta.of(coll.extra)


def open_read(
    view: KeyspaceView, now_ms: int, db: int, key: bytes
) -> tuple[C.RColl, StreamMeta] | ErrorReply | None:
    coll = C.open_read(view, now_ms, db, key, L.TYPE_STREAM)
    if coll is None or isinstance(coll, ErrorReply):
        return coll
    return coll, StreamMeta.of(coll.extra)


def save(coll: C.WColl, meta: StreamMeta) -> None:
    coll.extra = meta.pack()
    coll.save(keep_empty=True)


# -- entries -----------------------------------------------------------------------------------


def entry_sub(sid: StreamID) -> bytes:
    return ENTRY + I.encode(sid)


def pack_fields(fields: list[bytes]) -> bytes:
    return msgpack.packb(fields, use_bin_type=True)  # type: ignore[no-any-return]


def entry_reply(sid: StreamID, value: bytes) -> list[Reply]:
    """`[id, [field, value, ...]]`, one entry as every stream command replies with it."""
    return [I.text(sid), msgpack.unpackb(value)]


def entries(
    coll: C.WColl | C.RColl, lo: StreamID, hi: StreamID, reverse: bool = False
) -> Iterator[tuple[StreamID, bytes]]:
    """`(id, packed fields)` of the entries with `lo <= id <= hi`, oldest first (or newest)."""
    start = entry_sub(lo)
    end = entry_sub(hi) + b"\x00"
    for sub, value in coll.iterate(start, end, reverse):
        yield I.decode(sub[1:]), value


def range_reply(
    coll: C.WColl | C.RColl, lo: StreamID, hi: StreamID, count: int, reverse: bool = False
) -> list[Reply]:
    """Entries in `[lo, hi]` as replies, at most `count` of them (0: all)."""
    out: list[Reply] = []
    if lo > hi:
        return out
    for sid, value in entries(coll, lo, hi, reverse):
        out.append(entry_reply(sid, value))
        if len(out) == count:
            break
    return out


def first_entry_id(coll: C.WColl | C.RColl) -> StreamID:
    for sid, _ in entries(coll, MIN_ID, MAX_ID):
        return sid
    return MIN_ID


def last_entry_id(coll: C.WColl | C.RColl) -> StreamID:
    """`streamLastValidID`: the newest entry's ID (not `last`, which XDEL and XSETID leave)."""
    for sid, _ in entries(coll, MIN_ID, MAX_ID, reverse=True):
        return sid
    return MIN_ID


def entry_exists(coll: C.WColl | C.RColl, sid: StreamID) -> bool:
    return coll.get(entry_sub(sid)) is not None


# -- XADD and XTRIM arguments ------------------------------------------------------------------


@dataclass(slots=True)
class AddOrTrim:
    """`streamAddTrimArgs`: what XADD and XTRIM were asked to do."""

    strategy: bytes = b""  # b"maxlen", b"minid" or b"" (none)
    approx: bool = False
    maxlen: int = 0
    minid: StreamID = MIN_ID
    limit: int = 0  # 0: no limit
    nomkstream: bool = False
    sid: StreamID | None = None  # None: `*`
    seq_given: bool = True
    fields_at: int = 0  # XADD: the index of the first field


def _is(arg: bytes, word: bytes) -> bool:
    return arg.lower() == word


def _non_negative(arg: bytes, negative: ErrorReply) -> int | ErrorReply:
    n = parse_int(arg)
    if n is None:
        return E.NOT_INTEGER
    return negative if n < 0 else n


def parse_add_or_trim(argv: list[bytes], xadd: bool) -> AddOrTrim | ErrorReply:
    """`streamParseAddOrTrimArgsOrReply`, option by option in Redis's order of checks."""
    args = AddOrTrim()
    limit_given = False
    i = 2
    n = len(argv)
    while i < n:
        more = n - 1 - i
        opt = argv[i]
        if xadd and opt == b"*":
            break
        low = opt.lower()
        if low in (b"maxlen", b"minid") and more:
            if args.strategy:
                return BOTH_STRATEGIES
            args.approx = False
            if more >= 2 and argv[i + 1] in (b"~", b"="):
                args.approx = argv[i + 1] == b"~"
                i += 1
            if low == b"maxlen":
                maxlen = _non_negative(argv[i + 1], MAXLEN_NEGATIVE)
                if isinstance(maxlen, ErrorReply):
                    return maxlen
                args.maxlen = maxlen
            else:
                minid = I.parse_strict(argv[i + 1])
                if isinstance(minid, ErrorReply):
                    return minid
                args.minid = minid
            args.strategy = low
            i += 2
        elif low == b"limit" and more:
            limit = _non_negative(argv[i + 1], LIMIT_NEGATIVE)
            if isinstance(limit, ErrorReply):
                return limit
            args.limit = limit
            limit_given = True
            i += 2
        elif xadd and low == b"nomkstream":
            args.nomkstream = True
            i += 1
        elif xadd:
            parsed = I.parse_for_xadd(opt)
            if parsed is None:
                return I.INVALID_ID
            args.sid, args.seq_given = parsed
            break
        else:
            return E.SYNTAX
    if args.limit and not args.strategy:
        return LIMIT_WITHOUT_STRATEGY
    if not xadd and not args.strategy:
        return XTRIM_NO_STRATEGY
    if limit_given:
        if not args.approx:
            return LIMIT_WITHOUT_APPROX
    elif args.approx:
        args.limit = APPROX_LIMIT_DEFAULT
    args.fields_at = i + 1
    return args


def trim(coll: C.WColl, meta: StreamMeta, args: AddOrTrim) -> int:
    """Remove entries from the head as `args` asks (`streamTrim`); the number removed."""
    if not args.strategy or coll.size == 0:
        return 0
    # Nothing to remove, known from the meta record alone (XADD ... MAXLEN runs this for every
    # entry): the smallest removal is one entry, or one whole run when approximate.
    if args.strategy == b"maxlen":
        smallest = min(NODE_ENTRIES, coll.size) if args.approx else 1
        if coll.size - smallest < args.maxlen:
            return 0
    elif meta.first >= args.minid:
        return 0
    doomed: list[StreamID] = []
    if args.approx:
        run: list[StreamID] = []  # the next whole "node": NODE_ENTRIES entries, or the rest
        for sid, _ in entries(coll, MIN_ID, MAX_ID):
            run.append(sid)
            if len(run) < NODE_ENTRIES and len(doomed) + len(run) < coll.size:
                continue
            whole = len(doomed) + len(run)
            if args.strategy == b"maxlen":
                removable = coll.size - whole >= args.maxlen
            else:
                removable = run[-1] < args.minid
            if not removable or (args.limit and whole > args.limit):
                break
            doomed += run
            run = []
    elif args.strategy == b"maxlen":
        excess = coll.size - args.maxlen
        if excess > 0:
            for sid, _ in entries(coll, MIN_ID, MAX_ID):
                doomed.append(sid)
                if len(doomed) == excess:
                    break
    else:
        for sid, _ in entries(coll, MIN_ID, args.minid):
            if sid < args.minid:
                doomed.append(sid)
    for sid in doomed:
        coll.delete(entry_sub(sid))
    if doomed:
        coll.size -= len(doomed)
        meta.first = first_entry_id(coll) if coll.size else MIN_ID
    return len(doomed)


# -- writes ------------------------------------------------------------------------------------


def prepare_xadd(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    args = parse_add_or_trim(argv, xadd=True)
    if isinstance(args, ErrorReply):
        return args
    nfields = len(argv) - args.fields_at
    if nfields < 2 or nfields % 2:
        return E.wrong_arity(b"xadd")
    if args.sid == MIN_ID and args.seq_given:
        return ID_ZERO
    return argv


def _next_id(meta: StreamMeta, args: AddOrTrim, now_ms: int) -> StreamID | ErrorReply:
    last = meta.last
    if args.sid is None:
        if now_ms > last[0]:
            return now_ms, 0
        sid = I.increment(last)
        assert sid is not None  # last is not MAX_ID: checked by the caller
        return sid
    sid = args.sid
    if not args.seq_given and sid[0] == last[0]:
        if last[1] == I.U64_MAX:
            return ID_TOO_SMALL
        sid = (sid[0], last[1] + 1)
    return sid if sid > last else ID_TOO_SMALL


def apply_xadd(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    args = parse_add_or_trim(argv, xadd=True)
    assert not isinstance(args, ErrorReply), args
    opened = open_write(w, now_ms, db, argv[1], create=not args.nomkstream)
    if opened is None or isinstance(opened, ErrorReply):
        return opened
    coll, meta = opened
    if meta.last == MAX_ID:
        return EXHAUSTED
    sid = _next_id(meta, args, now_ms)
    if isinstance(sid, ErrorReply):
        return sid
    coll.put(entry_sub(sid), pack_fields(argv[args.fields_at :]))
    coll.size += 1
    meta.entries_added += 1
    meta.last = sid
    if coll.size == 1:
        meta.first = sid
    trimmed = trim(coll, meta, args)
    save(coll, meta)
    coll.notify(N.STREAM, b"xadd")
    if trimmed:
        coll.notify(N.STREAM, b"xtrim")
    return I.text(sid)


def prepare_xtrim(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    args = parse_add_or_trim(argv, xadd=False)
    return args if isinstance(args, ErrorReply) else argv


def apply_xtrim(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    args = parse_add_or_trim(argv, xadd=False)
    assert not isinstance(args, ErrorReply), args
    opened = open_write(w, now_ms, db, argv[1], create=False)
    if opened is None:
        return 0
    if isinstance(opened, ErrorReply):
        return opened
    coll, meta = opened
    removed = trim(coll, meta, args)
    if removed:
        save(coll, meta)
        coll.notify(N.STREAM, b"xtrim")
    return removed


def apply_xdel(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    opened = open_write(w, now_ms, db, argv[1], create=False)
    if opened is None:
        return 0
    if isinstance(opened, ErrorReply):
        return opened
    coll, meta = opened
    sids: list[StreamID] = []
    for arg in argv[2:]:
        sid = I.parse_strict(arg)
        if isinstance(sid, ErrorReply):
            return sid
        sids.append(sid)
    deleted = 0
    first_deleted = False
    for sid in sids:
        sub = entry_sub(sid)
        if coll.get(sub) is None:
            continue
        coll.delete(sub)
        coll.size -= 1
        deleted += 1
        first_deleted = first_deleted or sid == meta.first
        meta.max_deleted = max(meta.max_deleted, sid)
    if deleted:
        if coll.size == 0:
            meta.first = MIN_ID
        elif first_deleted:
            meta.first = first_entry_id(coll)
        save(coll, meta)
        coll.notify(N.STREAM, b"xdel")
    return deleted


_XSETID_SMALLER_THAN_DELETED: Final = ErrorReply(
    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
)
_XSETID_BELOW_TOP: Final = ErrorReply(
    "ERR The ID specified in XSETID is smaller than the target stream top item"
)
_XSETID_ADDED_BELOW_LENGTH: Final = ErrorReply(
    "ERR The entries_added specified in XSETID is smaller than the target stream length"
)
_XSETID_ADDED_NEGATIVE: Final = ErrorReply("ERR entries_added must be positive")


def _parse_xsetid(argv: list[bytes]) -> tuple[StreamID, int, StreamID] | ErrorReply:
    sid = I.parse_strict(argv[2])
    if isinstance(sid, ErrorReply):
        return sid
    added, max_deleted = -1, MIN_ID
    i = 3
    while i < len(argv):
        more = len(argv) - 1 - i
        if _is(argv[i], b"entriesadded") and more:
            n = _non_negative(argv[i + 1], _XSETID_ADDED_NEGATIVE)
            if isinstance(n, ErrorReply):
                return n
            added = n
        elif _is(argv[i], b"maxdeletedid") and more:
            parsed = I.parse_strict(argv[i + 1])
            if isinstance(parsed, ErrorReply):
                return parsed
            if sid < parsed:
                return _XSETID_SMALLER_THAN_DELETED
            max_deleted = parsed
        else:
            return E.SYNTAX
        i += 2
    return sid, added, max_deleted


def prepare_xsetid(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    parsed = _parse_xsetid(argv)
    return parsed if isinstance(parsed, ErrorReply) else argv


def apply_xsetid(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    parsed = _parse_xsetid(argv)
    assert not isinstance(parsed, ErrorReply), parsed
    sid, added, max_deleted = parsed
    opened = open_write(w, now_ms, db, argv[1], create=False)
    if opened is None:
        return E.NO_SUCH_KEY
    if isinstance(opened, ErrorReply):
        return opened
    coll, meta = opened
    if coll.size:
        if sid < last_entry_id(coll):
            return _XSETID_BELOW_TOP
        if added != -1 and coll.size > added:
            return _XSETID_ADDED_BELOW_LENGTH
    meta.last = sid
    if added != -1:
        meta.entries_added = added
    if max_deleted != MIN_ID:
        meta.max_deleted = max_deleted
    save(coll, meta)
    coll.notify(N.STREAM, b"xsetid")
    return OK


# -- reads -------------------------------------------------------------------------------------


def read_xlen(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    opened = open_read(view, now_ms, db, argv[1])
    if opened is None or isinstance(opened, ErrorReply):
        return opened or 0
    return opened[0].size


def _range(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes], reverse: bool) -> Reply:
    lo_arg, hi_arg = (argv[3], argv[2]) if reverse else (argv[2], argv[3])
    lo = I.parse_interval(lo_arg, 0, start=True)
    if isinstance(lo, ErrorReply):
        return lo
    hi = I.parse_interval(hi_arg, I.U64_MAX, start=False)
    if isinstance(hi, ErrorReply):
        return hi
    count = -1
    i = 4
    while i < len(argv):
        if _is(argv[i], b"count") and i + 1 < len(argv):
            n = parse_int(argv[i + 1])
            if n is None:
                return E.NOT_INTEGER
            count = max(n, 0)
            i += 2
        else:
            return E.SYNTAX
    opened = open_read(view, now_ms, db, argv[1])
    if opened is None:
        return []
    if isinstance(opened, ErrorReply):
        return opened
    if count == 0:
        return NULL_ARRAY
    return range_reply(opened[0], lo, hi, max(count, 0), reverse)


def read_xrange(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _range(view, now_ms, db, argv, reverse=False)


def read_xrevrange(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _range(view, now_ms, db, argv, reverse=True)


# -- XREAD and XREADGROUP arguments -------------------------------------------------------------


@dataclass(slots=True)
class ReadArgs:
    """What XREAD or XREADGROUP asked for; `ids` are still words (`$`, `>` or an ID)."""

    keys: list[bytes]
    ids: list[bytes]
    count: int = 0
    block_ms: int = -1  # -1: no BLOCK
    group: bytes | None = None
    consumer: bytes = b""
    noack: bool = False


UNBALANCED: Final = ErrorReply(  # the same words for XREADGROUP, in Redis 7.0
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
)


def parse_read(argv: list[bytes]) -> ReadArgs | ErrorReply:
    """`xreadCommand`'s option parsing (up to, not including, the IDs' meaning)."""
    group_cmd = len(argv[0]) == 10
    args = ReadArgs([], [])
    streams_at = 0
    i = 1
    n = len(argv)
    while i < n:
        more = n - 1 - i
        low = argv[i].lower()
        if low == b"block" and more:
            timeout = parse_int(argv[i + 1])
            if timeout is None:
                return TIMEOUT_NOT_INTEGER
            if timeout < 0:
                return TIMEOUT_NEGATIVE
            args.block_ms = timeout
            i += 2
        elif low == b"count" and more:
            count = parse_int(argv[i + 1])
            if count is None:
                return E.NOT_INTEGER
            args.count = max(count, 0)
            i += 2
        elif low == b"streams" and more:
            streams_at = i + 1
            if (n - streams_at) % 2:
                return UNBALANCED
            break
        elif low == b"group" and more >= 2:
            if not group_cmd:
                return ErrorReply(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
                )
            args.group, args.consumer = argv[i + 1], argv[i + 2]
            i += 3
        elif low == b"noack":
            if not group_cmd:
                return ErrorReply(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
                )
            args.noack = True
            i += 1
        else:
            return E.SYNTAX
    if not streams_at:
        return E.SYNTAX
    if group_cmd and args.group is None:
        return ErrorReply("ERR Missing GROUP option for XREADGROUP")
    half = (n - streams_at) // 2
    args.keys = argv[streams_at : streams_at + half]
    args.ids = argv[streams_at + half :]
    return args


ONLY_XREADGROUP_GT: Final = ErrorReply(
    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
    "<consumer> option."
)


def read_xread(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """XREAD without blocking: the streams with entries after the given IDs, or a null array.
    (BLOCK is the server's: `seshat/blocking.py` parks the client and reads again.)"""
    args = parse_read(argv)
    if isinstance(args, ErrorReply):
        return args
    resolved = resolve_xread_ids(view, now_ms, db, args)
    if isinstance(resolved, ErrorReply):
        return resolved
    return xread_from(view, now_ms, db, args.keys, resolved, args.count)


def pin_blocking_read(
    view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]
) -> list[bytes] | ErrorReply | None:
    """XREAD with BLOCK as the write to propose, each `$` replaced by its stream's last ID
    now, so retries wait for entries newer than that; None without BLOCK (a plain read)."""
    args = parse_read(argv)
    if isinstance(args, ErrorReply) or args.block_ms < 0:
        return None  # the read answers the error
    resolved = resolve_xread_ids(view, now_ms, db, args)
    if isinstance(resolved, ErrorReply):
        return resolved
    ids = [
        I.text(sid) if word == b"$" else word for sid, word in zip(resolved, args.ids, strict=True)
    ]
    return argv[: len(argv) - len(ids)] + ids


def apply_xread(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """XREAD BLOCK's attempt inside apply: the read, against the state the entry lands on."""
    return read_xread(cast(KeyspaceView, WriterView(w)), now_ms, db, argv)


def resolve_xread_ids(
    view: KeyspaceView, now_ms: int, db: int, args: ReadArgs
) -> list[StreamID] | ErrorReply:
    """The ID each stream must be read after: `$` is the stream's last ID now."""
    out: list[StreamID] = []
    for key, word in zip(args.keys, args.ids, strict=True):
        opened = open_read(view, now_ms, db, key)
        if isinstance(opened, ErrorReply):
            return opened
        if word == b"$":
            out.append(opened[1].last if opened is not None else MIN_ID)
        elif word == b">":
            return ONLY_XREADGROUP_GT
        else:
            sid = I.parse_strict(word)
            if isinstance(sid, ErrorReply):
                return sid
            out.append(sid)
    return out


def xread_from(
    view: KeyspaceView, now_ms: int, db: int, keys: list[bytes], after: list[StreamID], count: int
) -> Reply:
    """Entries newer than `after[i]` in each stream `keys[i]`; a null array if none has any."""
    served: list[tuple[Reply, Reply]] = []
    for key, gt in zip(keys, after, strict=True):
        opened = open_read(view, now_ms, db, key)
        if opened is None:
            continue
        if isinstance(opened, ErrorReply):
            return opened
        coll = opened[0]
        if not coll.size or last_entry_id(coll) <= gt:
            continue
        start = I.increment(gt)
        assert start is not None
        served.append((key, range_reply(coll, start, MAX_ID, count)))
    return KeyedArrays(served) if served else NULL_ARRAY
