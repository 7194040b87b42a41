"""Stream consumer groups (Redis 7.0 semantics): XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
XAUTOCLAIM.

A group lives inside its stream's collection, as sub-entries beside the entries:

    g + group                        -> [last_ms, last_seq, entries_read]   (-1: unknown)
    p + len(group)(4) + group + id   -> [consumer, delivery_ms, deliveries] (the group's PEL)
    c + len(group)(4) + group + name -> [seen_ms]                           (a consumer)

So deleting, renaming, copying or expiring the stream carries its groups, as in Redis. A
consumer's own pending list is the group's PEL filtered by name: one ordered scan of the PEL,
where Redis keeps a second radix tree per consumer (XPENDING with a consumer, XREADGROUP of a
consumer's history and XGROUP DELCONSUMER pay O(PEL) instead of O(own PEL)).

Delivery and idle times are the log entry's timestamp, the same on every replica; XPENDING,
XINFO and the min-idle checks measure idleness against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Final

import msgpack

from seshat.kv import collections as C
from seshat.kv import errors as E
from seshat.kv import notify as N
from seshat.kv import stream_ids as I
from seshat.kv import streams as S
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.numbers import INT64_MAX, parse_int
from seshat.kv.stream_ids import MAX_ID, MIN_ID, StreamID
from seshat.protocol.replies import NULL_ARRAY, OK, ErrorReply, KeyedArrays, Reply, SimpleString

UNKNOWN_READS: Final = -1  # SCG_INVALID_ENTRIES_READ
_GROUP: Final = b"g"
_GROUP_END: Final = b"h"

BUSYGROUP: Final = ErrorReply("BUSYGROUP Consumer Group name already exists")
KEY_REQUIRED: Final = ErrorReply(
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
    "use the MKSTREAM option to create an empty stream automatically."
)
ENTRIESREAD_RANGE: Final = ErrorReply("ERR value for ENTRIESREAD must be positive or -1")
DOLLAR_IN_XREADGROUP: Final = ErrorReply(
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
    "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
    "would just return an empty result set."
)


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def nogroup(key: bytes, group: bytes, suffix: str = "") -> ErrorReply:
    return ErrorReply(
        f"NOGROUP No such key '{_text(key)}' or consumer group '{_text(group)}'{suffix}"
    )


def nogroup_for_key(key: bytes, group: bytes) -> ErrorReply:
    return ErrorReply(
        f"NOGROUP No such consumer group '{_text(group)}' for key name '{_text(key)}'"
    )


# -- layout ------------------------------------------------------------------------------------


def _scoped(tag: bytes, group: bytes) -> bytes:
    return tag + len(group).to_bytes(4, "big") + group


def _after(prefix: bytes) -> bytes:
    """The least byte string above every string that starts with `prefix`."""
    stripped = prefix.rstrip(b"\xff")
    return stripped[:-1] + bytes([stripped[-1] + 1])


def _pack(items: list[object]) -> bytes:
    return msgpack.packb(items, use_bin_type=True)  # type: ignore[no-any-return]


@dataclass(slots=True)
class Group:
    name: bytes
    last: StreamID
    entries_read: int

    def pack(self) -> bytes:
        return _pack([*self.last, self.entries_read])


@dataclass(slots=True)
class Pending:
    """One entry of a group's PEL (`streamNACK`)."""

    sid: StreamID
    consumer: bytes
    delivered_ms: int
    deliveries: int

    def pack(self) -> bytes:
        return _pack([self.consumer, self.delivered_ms, self.deliveries])


def _group(name: bytes, value: bytes) -> Group:
    ms, seq, reads = msgpack.unpackb(value)
    return Group(name, (ms, seq), reads)


def get_group(coll: C.WColl | C.RColl, name: bytes) -> Group | None:
    value = coll.get(_GROUP + name)
    return None if value is None else _group(name, value)


def put_group(coll: C.WColl, group: Group) -> None:
    coll.put(_GROUP + group.name, group.pack())


def groups(coll: C.WColl | C.RColl) -> Iterator[Group]:
    for sub, value in coll.iterate(_GROUP, _GROUP_END):
        yield _group(sub[1:], value)


def pel(
    coll: C.WColl | C.RColl, group: bytes, lo: StreamID = MIN_ID, hi: StreamID = MAX_ID
) -> Iterator[Pending]:
    """The group's pending entries with `lo <= id <= hi`, in ID order."""
    prefix = _scoped(b"p", group)
    n = len(prefix)
    for sub, value in coll.iterate(prefix + I.encode(lo), prefix + I.encode(hi) + b"\x00"):
        consumer, delivered, deliveries = msgpack.unpackb(value)
        yield Pending(I.decode(sub[n:]), consumer, delivered, deliveries)


def get_pending(coll: C.WColl | C.RColl, group: bytes, sid: StreamID) -> Pending | None:
    value = coll.get(_scoped(b"p", group) + I.encode(sid))
    if value is None:
        return None
    consumer, delivered, deliveries = msgpack.unpackb(value)
    return Pending(sid, consumer, delivered, deliveries)


def put_pending(coll: C.WColl, group: bytes, p: Pending) -> None:
    coll.put(_scoped(b"p", group) + I.encode(p.sid), p.pack())


def drop_pending(coll: C.WColl, group: bytes, sid: StreamID) -> None:
    coll.delete(_scoped(b"p", group) + I.encode(sid))


def consumers(coll: C.WColl | C.RColl, group: bytes) -> Iterator[tuple[bytes, int]]:
    """`(name, seen_ms)` of the group's consumers, in name order."""
    prefix = _scoped(b"c", group)
    n = len(prefix)
    for sub, value in coll.iterate(prefix, _after(prefix)):
        yield sub[n:], msgpack.unpackb(value)[0]


def consumer_exists(coll: C.WColl | C.RColl, group: bytes, name: bytes) -> bool:
    return coll.get(_scoped(b"c", group) + name) is not None


def consumer_seen(coll: C.WColl, group: bytes, name: bytes, now_ms: int) -> None:
    """A command's consumer, created (and announced, as Redis's `streamCreateConsumer`) or
    refreshed."""
    if touch_consumer(coll, group, name, now_ms):
        coll.notify(N.STREAM, b"xgroup-createconsumer")


def touch_consumer(
    coll: C.WColl, group: bytes, name: bytes, now_ms: int, refresh: bool = True
) -> bool:
    """Create the consumer, or refresh its seen time (unless not `refresh`); True if created."""
    created = not consumer_exists(coll, group, name)
    if created or refresh:
        coll.put(_scoped(b"c", group) + name, _pack([now_ms]))
    return created


def pending_counts(coll: C.WColl | C.RColl, group: bytes) -> dict[bytes, int]:
    counts: dict[bytes, int] = {}
    for p in pel(coll, group):
        counts[p.consumer] = counts.get(p.consumer, 0) + 1
    return counts


# -- read counters and lag (Redis 7.0's estimates, word for word) ------------------------------


def range_has_tombstones(size: int, meta: S.StreamMeta, start: StreamID) -> bool:
    """`streamRangeHasTombstones(s, start, NULL)`: may an XDEL hole lie at or after `start`?"""
    if not size or meta.max_deleted == MIN_ID:
        return False
    if meta.first > meta.max_deleted:
        return False
    return start <= meta.max_deleted


def estimate_reads(size: int, meta: S.StreamMeta, sid: StreamID) -> int:
    """`streamEstimateDistanceFromFirstEverEntry`: entries added up to `sid`, or unknown."""
    if not meta.entries_added:
        return 0
    if not size and sid <= meta.last:
        return meta.entries_added
    if sid == meta.last:
        return meta.entries_added
    if sid > meta.last:
        return UNKNOWN_READS
    if meta.max_deleted == MIN_ID or meta.max_deleted < meta.first:
        if sid < meta.first:
            return meta.entries_added - size
        if sid == meta.first:
            return meta.entries_added - size + 1
    return UNKNOWN_READS


def lag(size: int, meta: S.StreamMeta, group: Group) -> int | None:
    """`streamReplyWithCGLag`: entries not yet delivered to the group, or None if unknown."""
    if not meta.entries_added:
        return 0
    if group.entries_read != UNKNOWN_READS and not range_has_tombstones(size, meta, group.last):
        return meta.entries_added - group.entries_read
    reads = estimate_reads(size, meta, group.last)
    return None if reads == UNKNOWN_READS else meta.entries_added - reads


# -- XGROUP ------------------------------------------------------------------------------------

_XGROUP_HELP: Final[list[Reply]] = [
    SimpleString(line)
    for line in (
        b"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"CREATE <key> <groupname> <id|$> [option]",
        b"    Create a new consumer group. Options are:",
        b"    * MKSTREAM",
        b"      Create the empty stream if it does not exist.",
        b"    * ENTRIESREAD entries_read",
        b"      Set the group's entries_read counter (internal use).",
        b"CREATECONSUMER <key> <groupname> <consumer>",
        b"    Create a new consumer in the specified group.",
        b"DELCONSUMER <key> <groupname> <consumer>",
        b"    Remove the specified consumer.",
        b"DESTROY <key> <groupname>",
        b"    Remove the specified group.",
        b"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        b"    Set the current group ID and entries_read counter.",
        b"HELP",
        b"    Prints this help.",
    )
]


def read_xgroup_help(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return list(_XGROUP_HELP)


def _xgroup_options(argv: list[bytes]) -> tuple[bool, int] | ErrorReply:
    """MKSTREAM (CREATE only) and ENTRIESREAD after the ID of CREATE and SETID."""
    sub = argv[1].lower()
    mkstream, reads = False, UNKNOWN_READS
    if sub not in (b"create", b"setid"):
        return mkstream, reads
    i = 5
    while i < len(argv):
        if sub == b"create" and argv[i].lower() == b"mkstream":
            mkstream = True
            i += 1
        elif argv[i].lower() == b"entriesread" and i + 1 < len(argv):
            n = parse_int(argv[i + 1])
            if n is None:
                return E.NOT_INTEGER
            if n < 0 and n != UNKNOWN_READS:
                return ENTRIESREAD_RANGE
            reads = n
            i += 2
        else:
            return E.subcommand_syntax(argv[1], "XGROUP")
    return mkstream, reads


_XGROUP_ARGC: Final = {
    b"create": range(5, 9),
    b"setid": (5, 7),
    b"destroy": (4,),
    b"createconsumer": (5,),
    b"delconsumer": (5,),
}


def prepare_xgroup(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    from seshat.kv.commands import lookup_subcommand  # the table imports this module

    sub = lookup_subcommand(b"xgroup", argv[1])
    if sub is None:
        return E.unknown_subcommand(argv[1], "XGROUP")
    if not sub.arity_ok(len(argv)):
        return E.wrong_arity(sub.name)
    options = _xgroup_options(argv)
    return options if isinstance(options, ErrorReply) else argv


def apply_xgroup(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """`xgroupCommand`: the key (and for most subcommands the group) checked in Redis's
    order, then the subcommand's own work."""
    options = _xgroup_options(argv)
    assert not isinstance(options, ErrorReply), options
    mkstream, reads = options
    sub = argv[1].lower()
    key, name = argv[2], argv[3]
    opened = S.open_write(w, now_ms, db, key, create=mkstream)
    if isinstance(opened, ErrorReply):
        return opened
    if opened is None:
        return KEY_REQUIRED
    coll, meta = opened
    group = get_group(coll, name)
    if group is None and sub in (b"setid", b"createconsumer", b"delconsumer"):
        return nogroup_for_key(key, name)
    if len(argv) not in _XGROUP_ARGC[sub]:
        return E.subcommand_syntax(argv[1], "XGROUP")
    if sub == b"create":
        return _xgroup_create(coll, meta, group, name, argv[4], reads)
    if sub == b"setid":
        sid = meta.last if argv[4] == b"$" else I.parse(argv[4], 0)
        if sid is None:
            return I.INVALID_ID
        put_group(coll, Group(name, sid, reads))
        coll.notify(N.STREAM, b"xgroup-setid")
        return OK
    if sub == b"destroy":
        return 0 if group is None else _xgroup_destroy(coll, name)
    if sub == b"createconsumer":
        created = touch_consumer(coll, name, argv[4], now_ms, refresh=False)
        if created:
            coll.notify(N.STREAM, b"xgroup-createconsumer")
        return int(created)
    return _xgroup_delconsumer(coll, name, argv[4])


def _xgroup_create(
    coll: C.WColl, meta: S.StreamMeta, group: Group | None, name: bytes, arg: bytes, reads: int
) -> Reply:
    sid = meta.last if arg == b"$" else I.parse_strict(arg)
    if isinstance(sid, ErrorReply):
        return sid
    if group is not None:
        return BUSYGROUP
    put_group(coll, Group(name, sid, reads))
    if not coll.exists:  # MKSTREAM
        S.save(coll, meta)
    coll.notify(N.STREAM, b"xgroup-create")
    return OK


def _xgroup_destroy(coll: C.WColl, name: bytes) -> int:
    for p in list(pel(coll, name)):
        drop_pending(coll, name, p.sid)
    for consumer, _ in list(consumers(coll, name)):
        coll.delete(_scoped(b"c", name) + consumer)
    coll.delete(_GROUP + name)
    coll.notify(N.STREAM, b"xgroup-destroy")
    return 1


def _xgroup_delconsumer(coll: C.WColl, name: bytes, consumer: bytes) -> int:
    """The consumer's pending entries leave the PEL with it; their count is the reply."""
    if not consumer_exists(coll, name, consumer):
        return 0
    owned = [p.sid for p in pel(coll, name) if p.consumer == consumer]
    for sid in owned:
        drop_pending(coll, name, sid)
    coll.delete(_scoped(b"c", name) + consumer)
    coll.notify(N.STREAM, b"xgroup-delconsumer")
    return len(owned)


# -- XREADGROUP --------------------------------------------------------------------------------


def prepare_xreadgroup(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    args = S.parse_read(argv)
    return args if isinstance(args, ErrorReply) else argv


def _deliver_new(
    coll: C.WColl,
    meta: S.StreamMeta,
    group: Group,
    consumer: bytes,
    count: int,
    noack: bool,
    now_ms: int,
) -> list[Reply]:
    """Entries after the group's last delivered ID, recorded in the PEL unless NOACK."""
    out: list[Reply] = []
    start = I.increment(group.last)
    if start is None:
        return out
    fresh = S.entries(coll, start, MAX_ID)
    for sid, value in list(islice(fresh, count or None)):
        if group.entries_read != UNKNOWN_READS and not range_has_tombstones(coll.size, meta, sid):
            group.entries_read += 1
        else:
            group.entries_read = estimate_reads(coll.size, meta, sid)
        group.last = sid
        if not noack:
            put_pending(coll, group.name, Pending(sid, consumer, now_ms, 1))
        out.append(S.entry_reply(sid, value))
    if out:
        put_group(coll, group)
    return out


def _deliver_history(
    coll: C.WColl, group: bytes, consumer: bytes, after: StreamID, count: int, now_ms: int
) -> list[Reply]:
    """The consumer's own pending entries after `after`; a deleted entry as `[id, nil]`."""
    out: list[Reply] = []
    start = I.increment(after)
    if start is None:
        return out
    for p in list(pel(coll, group, start)):
        if p.consumer != consumer:
            continue
        value = coll.get(S.entry_sub(p.sid))
        if value is None:
            out.append([I.text(p.sid), NULL_ARRAY])
        else:
            p.delivered_ms = now_ms
            p.deliveries += 1
            put_pending(coll, group, p)
            out.append(S.entry_reply(p.sid, value))
        if len(out) == count:
            break
    return out


def apply_xreadgroup(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """XREADGROUP without blocking; a null array when nothing is served (BLOCK retries it:
    `seshat/blocking.py`). Serving nothing writes nothing, so retries never wake each other."""
    args = S.parse_read(argv)
    assert not isinstance(args, ErrorReply), args
    assert args.group is not None
    opened: dict[bytes, tuple[C.WColl, S.StreamMeta]] = {}
    plan: list[tuple[bytes, StreamID | None]] = []
    for key, word in zip(args.keys, args.ids, strict=True):
        stream = opened.get(key) or S.open_write(w, now_ms, db, key, create=False)
        if isinstance(stream, ErrorReply):
            return stream
        if stream is None or get_group(stream[0], args.group) is None:
            return nogroup(key, args.group, " in XREADGROUP with GROUP option")
        opened[key] = stream
        if word == b"$":
            return DOLLAR_IN_XREADGROUP
        if word == b">":
            plan.append((key, None))
            continue
        sid = I.parse_strict(word)
        if isinstance(sid, ErrorReply):
            return sid
        plan.append((key, sid))
    served: list[tuple[Reply, Reply]] = []
    for key, after in plan:
        coll, meta = opened[key]
        group = get_group(coll, args.group)  # again: an earlier stream may have been this one
        assert group is not None
        if after is None:
            batch = _deliver_new(coll, meta, group, args.consumer, args.count, args.noack, now_ms)
            if not batch:
                continue  # nothing after the group's last ID: not served, no consumer made
        else:
            batch = _deliver_history(coll, group.name, args.consumer, after, args.count, now_ms)
        consumer_seen(coll, group.name, args.consumer, now_ms)
        served.append((key, batch))
    return KeyedArrays(served) if served else NULL_ARRAY


# -- XACK --------------------------------------------------------------------------------------


def apply_xack(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    opened = S.open_write(w, now_ms, db, argv[1], create=False)
    if isinstance(opened, ErrorReply):
        return opened
    if opened is None or get_group(opened[0], argv[2]) is None:
        return 0
    coll = opened[0]
    sids: list[StreamID] = []
    for arg in argv[3:]:
        sid = I.parse_strict(arg)
        if isinstance(sid, ErrorReply):
            return sid
        sids.append(sid)
    acked = 0
    for sid in sids:
        if get_pending(coll, argv[2], sid) is not None:
            drop_pending(coll, argv[2], sid)
            acked += 1
    return acked


# -- XPENDING ----------------------------------------------------------------------------------


def read_xpending(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    argc = len(argv)
    if argc != 3 and not 6 <= argc <= 9:
        return E.SYNTAX
    min_idle, count = 0, 0
    lo, hi = MIN_ID, MAX_ID
    consumer: bytes | None = None
    if argc >= 6:
        at = 3
        if argv[3].lower() == b"idle":
            parsed_idle = parse_int(argv[4])
            if parsed_idle is None:
                return E.NOT_INTEGER
            min_idle = parsed_idle
            if argc < 8:
                return E.SYNTAX
            at = 5
        parsed_count = parse_int(argv[at + 2])
        if parsed_count is None:
            return E.NOT_INTEGER
        count = max(parsed_count, 0)
        start = I.parse_interval(argv[at], 0, start=True)
        if isinstance(start, ErrorReply):
            return start
        end = I.parse_interval(argv[at + 1], I.U64_MAX, start=False)
        if isinstance(end, ErrorReply):
            return end
        lo, hi = start, end
        if at + 3 < argc:
            consumer = argv[at + 3]
    opened = S.open_read(view, now_ms, db, argv[1])
    if isinstance(opened, ErrorReply):
        return opened
    if opened is None or get_group(opened[0], argv[2]) is None:
        return nogroup(argv[1], argv[2])
    coll = opened[0]
    if argc == 3:
        entries = list(pel(coll, argv[2]))
        if not entries:
            return [0, None, None, NULL_ARRAY]
        counts = pending_counts(coll, argv[2])
        return [
            len(entries),
            I.text(entries[0].sid),
            I.text(entries[-1].sid),
            [[name, b"%d" % counts[name]] for name in sorted(counts)],
        ]
    if consumer is not None and not consumer_exists(coll, argv[2], consumer):
        return []
    out: list[Reply] = []
    if lo > hi:
        return out
    for p in pel(coll, argv[2], lo, hi):
        if len(out) >= count:
            break
        if consumer is not None and p.consumer != consumer:
            continue
        idle = now_ms - p.delivered_ms
        if min_idle and idle < min_idle:
            continue
        out.append([I.text(p.sid), p.consumer, max(idle, 0), p.deliveries])
    return out


# -- XCLAIM and XAUTOCLAIM ---------------------------------------------------------------------


def _open_group(
    w: KeyspaceWriter, now_ms: int, db: int, key: bytes, name: bytes
) -> tuple[C.WColl, Group] | ErrorReply:
    """The stream and its group for XCLAIM and XAUTOCLAIM, which require both (NOGROUP)."""
    opened = S.open_write(w, now_ms, db, key, create=False)
    if isinstance(opened, ErrorReply):
        return opened
    group = get_group(opened[0], name) if opened is not None else None
    if opened is None or group is None:
        return nogroup(key, name)
    return opened[0], group


@dataclass(slots=True)
class _Claim:
    min_idle: int
    sids: list[StreamID]
    delivered_ms: int | None = None  # IDLE or TIME, before clamping
    retry_count: int = -1
    force: bool = False
    justid: bool = False
    last_id: StreamID = MIN_ID


def _int_or(arg: bytes, message: str) -> int | ErrorReply:
    n = parse_int(arg)
    return ErrorReply(f"ERR {message}") if n is None else n


def _parse_xclaim(argv: list[bytes], now_ms: int) -> _Claim | ErrorReply:
    min_idle = _int_or(argv[4], "Invalid min-idle-time argument for XCLAIM")
    if isinstance(min_idle, ErrorReply):
        return min_idle
    claim = _Claim(max(min_idle, 0), [])
    j = 5
    while j < len(argv):
        sid = I.parse(argv[j], 0, strict=True)
        if sid is None:
            break
        claim.sids.append(sid)
        j += 1
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            claim.force = True
        elif opt == b"justid":
            claim.justid = True
        elif opt in (b"idle", b"time", b"retrycount") and more:
            j += 1
            n = _int_or(argv[j], f"Invalid {opt.upper().decode()} option argument for XCLAIM")
            if isinstance(n, ErrorReply):
                return n
            if opt == b"idle":
                claim.delivered_ms = now_ms - n
            elif opt == b"time":
                claim.delivered_ms = n
            else:
                claim.retry_count = n
        elif opt == b"lastid" and more:
            j += 1
            last = I.parse_strict(argv[j])
            if isinstance(last, ErrorReply):
                return last
            claim.last_id = last
        else:
            return ErrorReply(f"ERR Unrecognized XCLAIM option '{_text(argv[j])}'")
        j += 1
    return claim


def _claimed(coll: C.WColl, sid: StreamID, justid: bool) -> Reply:
    if justid:
        return I.text(sid)
    value = coll.get(S.entry_sub(sid))
    assert value is not None
    return S.entry_reply(sid, value)


def apply_xclaim(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    found = _open_group(w, now_ms, db, argv[1], argv[2])
    if isinstance(found, ErrorReply):
        return found
    coll, group = found
    claim = _parse_xclaim(argv, now_ms)
    if isinstance(claim, ErrorReply):
        return claim
    if claim.last_id > group.last:
        group.last = claim.last_id
        put_group(coll, group)
    delivered = claim.delivered_ms
    if delivered is None or delivered < 0 or delivered > now_ms:
        delivered = now_ms
    name = argv[3]
    out: list[Reply] = []
    touched = False
    for sid in claim.sids:
        p = get_pending(coll, group.name, sid)
        if not S.entry_exists(coll, sid):
            if p is not None:
                drop_pending(coll, group.name, sid)
            continue
        fresh = False
        if p is None:
            if not claim.force:
                continue
            p = Pending(sid, b"", now_ms, 1)
            fresh = True
        if not fresh and claim.min_idle and now_ms - p.delivered_ms < claim.min_idle:
            continue
        if not touched:
            consumer_seen(coll, group.name, name, now_ms)
            touched = True
        p.consumer = name
        p.delivered_ms = delivered
        if claim.retry_count >= 0:
            p.deliveries = claim.retry_count
        elif not claim.justid:
            p.deliveries += 1
        put_pending(coll, group.name, p)
        out.append(_claimed(coll, sid, claim.justid))
    return out


_AUTOCLAIM_COUNT_MAX: Final = INT64_MAX // 16
_AUTOCLAIM_ATTEMPTS_FACTOR: Final = 10


def _parse_xautoclaim(argv: list[bytes]) -> tuple[int, StreamID, int, bool] | ErrorReply:
    min_idle = _int_or(argv[4], "Invalid min-idle-time argument for XAUTOCLAIM")
    if isinstance(min_idle, ErrorReply):
        return min_idle
    start = I.parse_interval(argv[5], 0, start=True)
    if isinstance(start, ErrorReply):
        return start
    count, justid = 100, False
    j = 6
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"count" and j + 1 < len(argv):
            n = parse_int(argv[j + 1])
            if n is None or not 1 <= n <= _AUTOCLAIM_COUNT_MAX:
                return ErrorReply("ERR COUNT must be > 0")
            count = n
            j += 2
        elif opt == b"justid":
            justid = True
            j += 1
        else:
            return E.SYNTAX
    return max(min_idle, 0), start, count, justid


def prepare_xautoclaim(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    parsed = _parse_xautoclaim(argv)
    return parsed if isinstance(parsed, ErrorReply) else argv


def apply_xautoclaim(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    parsed = _parse_xautoclaim(argv)
    assert not isinstance(parsed, ErrorReply), parsed
    min_idle, start, count, justid = parsed
    found = _open_group(w, now_ms, db, argv[1], argv[2])
    if isinstance(found, ErrorReply):
        return found
    coll, group = found
    attempts = count * _AUTOCLAIM_ATTEMPTS_FACTOR
    claimed: list[Reply] = []
    deleted: list[Reply] = []
    touched = False
    pending = list(pel(coll, group.name, start))
    i = 0
    while attempts and count and i < len(pending):
        attempts -= 1
        p = pending[i]
        i += 1
        if not S.entry_exists(coll, p.sid):
            drop_pending(coll, group.name, p.sid)
            deleted.append(I.text(p.sid))
            count -= 1
            continue
        if min_idle and now_ms - p.delivered_ms < min_idle:
            continue
        if not touched:
            consumer_seen(coll, group.name, argv[3], now_ms)
            touched = True
        p.consumer = argv[3]
        p.delivered_ms = now_ms
        if not justid:
            p.deliveries += 1
        put_pending(coll, group.name, p)
        claimed.append(_claimed(coll, p.sid, justid))
        count -= 1
    cursor = pending[i].sid if i < len(pending) else MIN_ID
    return [I.text(cursor), claimed, deleted]
