"""DUMP, RESTORE and RESTORE-ASKING over the keyspace, as Redis 7.0's `cluster.c`.

The payload codec is `rdb_codec.py`; this module maps its values to and from Seshat's storage
through each type's own functions (RPUSH, SADD, HSET, the sorted-set and stream helpers), so a
restored value is stored exactly as if it had been built by commands, with the same encoding
flags Redis's loader would pick.

RESTORE is a replicated write. Redis checks, in order: the options (syntax, IDLETIME, FREQ),
whether the key exists (BUSYKEY, unless REPLACE), the TTL, the payload's footer, the payload.
Only the key check needs the keyspace, so `prepare_restore` checks everything else on the
leader: a bad payload never reaches the log whole. When the payload or TTL is bad and there is
no REPLACE, the reply still depends on the key (BUSYKEY wins in Redis), so a four-word marker
`RESTORE key - <error>` is proposed instead, whose apply answers BUSYKEY or that error.
A good payload is proposed as `RESTORE key <expire_at_ms|0> payload [REPLACE]`, the relative
TTL made absolute with the leader's clock (as SET PX is); apply decodes it again (a pure
function of the bytes, so every replica stores the same value) and answers "Bad data format"
rather than raising if it ever fails. IDLETIME and FREQ are checked and then dropped: Seshat
tracks neither (OBJECT IDLETIME is always 0).
"""

from __future__ import annotations

from typing import Final

from seshat.kv import collections as C
from seshat.kv import errors as E
from seshat.kv import hashes as H
from seshat.kv import layout as L
from seshat.kv import lists as LI
from seshat.kv import notify as N
from seshat.kv import rdb_codec as R
from seshat.kv import sets as SE
from seshat.kv import stream_groups as SG
from seshat.kv import streams as S
from seshat.kv import zsets as Z
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.numbers import INT64_MAX, parse_int
from seshat.kv.stream_ids import MAX_ID, MIN_ID
from seshat.protocol.replies import OK, Double, ErrorReply, Pairs, Reply

BUSYKEY: Final = ErrorReply("BUSYKEY Target key name already exists.")
BAD_FOOTER: Final = ErrorReply("ERR DUMP payload version or checksum are wrong")
BAD_DATA: Final = ErrorReply("ERR Bad data format")
TTL_NEGATIVE: Final = ErrorReply("ERR Invalid TTL value, must be >= 0")
IDLETIME_NEGATIVE: Final = ErrorReply("ERR Invalid IDLETIME value, must be >= 0")
FREQ_RANGE: Final = ErrorReply("ERR Invalid FREQ value, must be >= 0 and <= 255")

# The errors Redis finds after its key check, by the index a deferred-error marker carries.
_LATE_ERRORS: Final = (E.NOT_INTEGER, TTL_NEGATIVE, BAD_FOOTER, BAD_DATA)
_MARKER: Final = b"-"
_REPLACE: Final = b"REPLACE"
FREQ_MAX: Final = 255


# -- RESTORE -----------------------------------------------------------------------------------


def _parse_options(argv: list[bytes]) -> tuple[bool, bool] | ErrorReply:
    """`restoreCommand`'s option loop: (replace, absttl), or the first error, left to right."""
    replace = absttl = False
    idle = freq = False
    j = 4
    while j < len(argv):
        word, more = argv[j].lower(), len(argv) - j - 1
        if word == b"replace":
            replace = True
        elif word == b"absttl":
            absttl = True
        elif (word == b"idletime" and more >= 1 and not freq) or (
            word == b"freq" and more >= 1 and not idle
        ):
            n = parse_int(argv[j + 1])
            if n is None:
                return E.NOT_INTEGER
            if word == b"idletime" and n < 0:
                return IDLETIME_NEGATIVE
            if word == b"freq" and not 0 <= n <= FREQ_MAX:
                return FREQ_RANGE
            idle, freq = idle or word == b"idletime", freq or word == b"freq"
            j += 1
        else:
            return E.SYNTAX
        j += 1
    return replace, absttl


def _check_late(ttl_arg: bytes, payload: bytes) -> int | ErrorReply:
    """The TTL, or the first error Redis reports after its key check."""
    ttl = parse_int(ttl_arg)
    if ttl is None:
        return E.NOT_INTEGER
    if ttl < 0:
        return TTL_NEGATIVE
    if not R.verify_footer(payload):
        return BAD_FOOTER
    if isinstance(R.decode_payload(payload), R.DecodeError):
        return BAD_DATA
    return ttl


def _expire_at(ttl: int, absttl: bool, now_ms: int) -> int:
    """`ttl += mstime()` as C computes it: a sum past INT64_MAX wraps negative, which then
    counts as already expired (Redis answers OK and creates nothing)."""
    if ttl == 0 or absttl:
        return ttl
    at = ttl + now_ms
    return at - (1 << 64) if at > INT64_MAX else at


def prepare_restore(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    options = _parse_options(argv)
    if isinstance(options, ErrorReply):
        return options
    replace, absttl = options
    ttl = _check_late(argv[2], argv[3])
    if isinstance(ttl, ErrorReply):
        if replace:
            return ttl  # no key check to come before it: answered without a log entry
        return [argv[0], argv[1], _MARKER, str(_LATE_ERRORS.index(ttl)).encode()]
    at = _expire_at(ttl, absttl, now_ms)
    out = [argv[0], argv[1], str(at).encode(), argv[3]]
    return [*out, _REPLACE] if replace else out


def apply_restore(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key = argv[1]
    old = w.lookup(db, key, now_ms)
    if argv[2] == _MARKER:
        return BUSYKEY if old is not None else _LATE_ERRORS[int(argv[3])]
    if old is not None and not (len(argv) == 5 and argv[4] == _REPLACE):
        return BUSYKEY
    if not R.verify_footer(argv[3]):
        return BAD_FOOTER
    value = R.decode_payload(argv[3])
    if isinstance(value, R.DecodeError):
        return BAD_DATA
    if old is not None:
        w.delete(db, key, old)
    at = int(argv[2])
    if at and at <= now_ms:  # already expired: Redis deletes the old key and creates nothing
        if old is not None:
            w.notify(N.GENERIC, b"del", db, key)
        return OK
    with w.quiet():  # the type's own writes would name theirs (rpush, sadd, ...)
        _store(w, now_ms, db, key, value)
        if at:
            rec = w.lookup(db, key, now_ms)
            assert rec is not None, key
            w.put(db, key, L.with_expire_at(rec, at), rec)
    w.notify(N.NEW, b"new", db, key)
    w.notify(N.GENERIC, b"restore", db, key)
    return OK


def _store(w: KeyspaceWriter, now_ms: int, db: int, key: bytes, value: R.Value) -> None:
    """Create `key` (missing now) holding `value`, through each type's own writes."""
    if isinstance(value, R.StringValue):
        w.put(db, key, L.string_record(value.value, 0), None)
    elif isinstance(value, R.ListValue):
        LI.apply_rpush(w, now_ms, db, [b"RPUSH", key, *value.elements])
    elif isinstance(value, R.SetValue):
        SE.apply_sadd(w, now_ms, db, [b"SADD", key, *value.members])
    elif isinstance(value, R.HashValue):
        H.apply_hset(w, now_ms, db, [b"HSET", key, *(x for pair in value.pairs for x in pair)])
    elif isinstance(value, R.ZSetValue):
        Z.store_entries(w, now_ms, db, key, [(s, m) for m, s in value.pairs], b"restore")
    else:
        _store_stream(w, now_ms, db, key, value)


def _store_stream(
    w: KeyspaceWriter, now_ms: int, db: int, key: bytes, value: R.StreamValue
) -> None:
    opened = S.open_write(w, now_ms, db, key, create=True)
    assert isinstance(opened, tuple), key
    coll, _ = opened
    meta = S.StreamMeta(value.last, value.max_deleted, value.first, value.entries_added)
    for sid, fields in value.entries:
        coll.put(S.entry_sub(sid), S.pack_fields(fields))
    coll.size = len(value.entries)
    for g in value.groups:
        reads = g.entries_read
        if reads == R.ENTRIES_READ_ESTIMATE:  # RDB_TYPE_STREAM_LISTPACKS carries none
            reads = SG.estimate_reads(coll.size, meta, g.last)
        SG.put_group(coll, SG.Group(g.name, g.last, reads))
        for p in g.pending:
            SG.put_pending(coll, g.name, SG.Pending(p.sid, p.consumer, p.delivery_ms, p.deliveries))
        for name, seen_ms in g.consumers:
            SG.touch_consumer(coll, g.name, name, seen_ms)
    S.save(coll, meta)


# -- DUMP --------------------------------------------------------------------------------------


def read_dump(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    body = value_body(view, now_ms, db, argv[1])
    return None if body is None else R.with_footer(body)


def value_body(
    view: KeyspaceView, now_ms: int, db: int, key: bytes, rec: bytes | None = None
) -> bytes | None:
    """`key`'s type and encoded value (a DUMP payload without its footer, what an RDB file
    holds after the key), or None when it is missing. `rec`: its live record, when the caller
    has just read it (an RDB export walking the keyspace), so it is not looked up again."""
    if rec is None:
        rec = view.record(db, key, now_ms)
    if rec is None:
        return None
    kind = rec[0]
    if kind == L.TYPE_STRING:
        return R.string_body(rec[L.RECORD_HEADER_BYTES :])
    if kind == L.TYPE_LIST:
        elements = LI.read_lrange(view, now_ms, db, [b"LRANGE", key, b"0", b"-1"])
        assert isinstance(elements, list), elements
        return R.list_body([e for e in elements if isinstance(e, bytes)])
    if kind == L.TYPE_ZSET:
        return R.zset_body(_zset_pairs(view, now_ms, db, key))
    if kind == L.TYPE_STREAM:
        return R.stream_body(_stream_value(view, now_ms, db, key))
    coll = C.open_read(view, now_ms, db, key, kind)
    assert isinstance(coll, C.RColl), key
    pairs = coll.hashed_items()
    if kind == L.TYPE_SET:
        return R.set_body([m for m, _v in pairs])
    assert kind == L.TYPE_HASH, kind
    return R.hash_body(pairs)


def _zset_pairs(view: KeyspaceView, now_ms: int, db: int, key: bytes) -> list[tuple[bytes, float]]:
    reply = Z.read_zrange(view, now_ms, db, [b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])
    assert isinstance(reply, Pairs), reply
    out: list[tuple[bytes, float]] = []
    for member, score in reply.items:
        assert isinstance(member, bytes) and isinstance(score, Double), (member, score)
        out.append((member, score.value))
    return out


def _stream_value(view: KeyspaceView, now_ms: int, db: int, key: bytes) -> R.StreamValue:
    opened = S.open_read(view, now_ms, db, key)
    assert isinstance(opened, tuple), key
    coll, meta = opened
    entries: list[tuple[R.StreamID, list[bytes]]] = []
    for sid, packed in S.entries(coll, MIN_ID, MAX_ID):
        fields = S.entry_reply(sid, packed)[1]
        assert isinstance(fields, list), fields
        entries.append((sid, [f for f in fields if isinstance(f, bytes)]))
    stream = R.StreamValue(entries, meta.last, meta.first, meta.max_deleted, meta.entries_added)
    for g in SG.groups(coll):
        group = R.GroupValue(g.name, g.last, g.entries_read)
        group.pending = [
            R.PendingValue(p.sid, p.delivered_ms, p.deliveries, p.consumer)
            for p in SG.pel(coll, g.name)
        ]
        group.consumers = list(SG.consumers(coll, g.name))
        known = {name for name, _seen in group.consumers}
        for p in group.pending:  # Redis needs an owner for every PEL entry
            if p.consumer not in known:
                known.add(p.consumer)
                group.consumers.append((p.consumer, 0))
        stream.groups.append(group)
    return stream
