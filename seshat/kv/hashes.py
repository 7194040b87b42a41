"""Hash commands (Redis 7.0 semantics, replies and errors) over the collection layout.

A hash is a meta record (type hash, expiry, version, size, one encoding byte: `hashed.py`) and
one kv_data entry per field: `s + slot + version + crc32(field) + field -> value`. Single-field
commands (HSET, HGET, HDEL, HINCRBY, HEXISTS, HSTRLEN) touch O(1) entries whatever the size;
HGETALL, HKEYS, HVALS iterate the version's range. Field order is the layout's (hash, field)
order, which Redis leaves unspecified; HRANDFIELD draws with local randomness (it is a read).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final, cast

from seshat.kv import chance
from seshat.kv import collections as C
from seshat.kv import errors as E
from seshat.kv import hashed as X
from seshat.kv import layout as L
from seshat.kv import notify as N
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.numbers import (
    INFINITY,
    INT64_MAX,
    INT64_MIN,
    add_long_double,
    format_long_double,
    parse_int,
    parse_long_double,
)
from seshat.protocol.replies import OK, ErrorReply, Map, Pairs, Reply

HASH_NOT_INTEGER: Final = ErrorReply("ERR hash value is not an integer")
HASH_NOT_FLOAT: Final = ErrorReply("ERR hash value is not a float")
NAN_OR_INFINITY_ARG: Final = ErrorReply("ERR value is NaN or Infinity")
_LONG_MAX: Final = INT64_MAX
OUT_OF_RANGE: Final = ErrorReply("ERR value is out of range")
COUNT_RANGE: Final = ErrorReply(
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)


def _open_write(
    w: KeyspaceWriter, now_ms: int, db: int, key: bytes, create: bool
) -> C.WColl | ErrorReply | None:
    coll = C.open_write(w, now_ms, db, key, L.TYPE_HASH, create)
    if isinstance(coll, C.WColl) and not coll.exists:
        coll.extra = X.COMPACT
    return coll


def _set_field(coll: C.WColl, field: bytes, value: bytes) -> int:
    """Store one field; 1 if it is new. Keeps size and the one-way encoding flag."""
    sub = C.hashed_sub(field)
    created = coll.get(sub) is None
    coll.put(sub, value)
    if created:
        coll.size += 1
    if coll.extra == X.COMPACT and (
        coll.size > X.HASH_LISTPACK_ENTRIES_MAX
        or len(field) > X.HASH_LISTPACK_VALUE_BYTES_MAX
        or len(value) > X.HASH_LISTPACK_VALUE_BYTES_MAX
    ):
        coll.extra = X.HASHTABLE
    return int(created)


def _open_read(view: KeyspaceView, now_ms: int, db: int, key: bytes) -> C.RColl | ErrorReply | None:
    return C.open_read(view, now_ms, db, key, L.TYPE_HASH)


# -- writes ------------------------------------------------------------------------------------


def prepare_hset(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if len(argv) % 2 == 1:
        return E.wrong_arity(argv[0].lower())
    return argv


def _hset(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> int | ErrorReply:
    coll = _open_write(w, now_ms, db, argv[1], True)
    assert coll is not None
    if isinstance(coll, ErrorReply):
        return coll
    added = 0
    for i in range(2, len(argv), 2):
        added += _set_field(coll, argv[i], argv[i + 1])
    coll.save()
    coll.notify(N.HASH, b"hset")
    return added


def apply_hset(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _hset(w, now_ms, db, argv)


def apply_hmset(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    result = _hset(w, now_ms, db, argv)
    return result if isinstance(result, ErrorReply) else OK


def apply_hsetnx(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_write(w, now_ms, db, argv[1], True)
    assert coll is not None
    if isinstance(coll, ErrorReply):
        return coll
    if coll.get(C.hashed_sub(argv[2])) is not None:
        return 0
    _set_field(coll, argv[2], argv[3])
    coll.save()
    coll.notify(N.HASH, b"hset")
    return 1


def apply_hdel(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_write(w, now_ms, db, argv[1], False)
    if coll is None:
        return 0
    if isinstance(coll, ErrorReply):
        return coll
    deleted = 0
    for field in argv[2:]:
        sub = C.hashed_sub(field)
        if coll.get(sub) is not None:
            coll.delete(sub)
            coll.size -= 1
            deleted += 1
    if deleted:
        coll.save()
        coll.notify_removed(N.HASH, b"hdel")
    return deleted


def prepare_hincrby(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if parse_int(argv[3]) is None:
        return E.NOT_INTEGER
    return argv


def apply_hincrby(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_write(w, now_ms, db, argv[1], True)
    assert coll is not None
    if isinstance(coll, ErrorReply):
        return coll
    by = int(argv[3])
    raw = coll.get(C.hashed_sub(argv[2]))
    current = 0
    if raw is not None:
        parsed = parse_int(raw)
        if parsed is None:
            return HASH_NOT_INTEGER
        current = parsed
    new = current + by
    if new > INT64_MAX or new < INT64_MIN:
        return E.OVERFLOW
    _set_field(coll, argv[2], str(new).encode())
    coll.save()
    coll.notify(N.HASH, b"hincrby")
    return new


def prepare_hincrbyfloat(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    incr = parse_long_double(argv[3])
    if incr is None:
        return E.NOT_FLOAT
    if incr is INFINITY:
        return NAN_OR_INFINITY_ARG
    return argv


def apply_hincrbyfloat(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_write(w, now_ms, db, argv[1], True)
    assert coll is not None
    if isinstance(coll, ErrorReply):
        return coll
    incr = parse_long_double(argv[3])
    assert isinstance(incr, Fraction), argv
    raw = coll.get(C.hashed_sub(argv[2]))
    current: Fraction = Fraction(0)
    if raw is not None:
        parsed = parse_long_double(raw)
        if parsed is None:
            return HASH_NOT_FLOAT
        if parsed is INFINITY:
            return E.NAN_OR_INFINITY
        assert isinstance(parsed, Fraction)
        current = parsed
    total = add_long_double(current, incr)
    if total is INFINITY:
        return E.NAN_OR_INFINITY
    assert isinstance(total, Fraction)
    text = format_long_double(total)
    _set_field(coll, argv[2], text)
    coll.save()
    coll.notify(N.HASH, b"hincrbyfloat")
    return text


# -- reads -------------------------------------------------------------------------------------


def read_hget(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return coll
    return coll.get(C.hashed_sub(argv[2]))


def read_hmget(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if isinstance(coll, ErrorReply):
        return coll
    if coll is None:
        return [None] * (len(argv) - 2)
    return list(coll.multi_get([C.hashed_sub(f) for f in argv[2:]]))


def read_hlen(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return 0 if coll is None else coll
    return coll.size


def read_hstrlen(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return 0 if coll is None else coll
    value = coll.get(C.hashed_sub(argv[2]))
    return 0 if value is None else len(value)


def read_hexists(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return 0 if coll is None else coll
    return int(coll.get(C.hashed_sub(argv[2])) is not None)


def read_hkeys(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return [] if coll is None else coll
    return cast("list[Reply]", coll.hashed_members())  # bytes are replies: no copy


def read_hvals(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return [] if coll is None else coll
    return [value for _member, value in coll.hashed_items()]


def read_hgetall(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None or isinstance(coll, ErrorReply):
        return Map([]) if coll is None else coll
    return Map(cast("list[tuple[Reply, Reply]]", coll.hashed_items()))


def read_hscan(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return X.scan_command(
        argv,
        lambda: _open_read(view, now_ms, db, argv[1]),
        lambda items: [x for pair in items for x in pair],
    )


def read_hrandfield(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        coll = _open_read(view, now_ms, db, argv[1])
        if coll is None or isinstance(coll, ErrorReply):
            return coll
        picked = X.random_member(coll, chance.rng())
        return None if picked is None else picked[0]
    count = parse_int(argv[2])
    if count is None:
        return E.NOT_INTEGER
    if count < -_LONG_MAX:
        return COUNT_RANGE
    with_values = False
    if len(argv) == 4 and argv[3].lower() == b"withvalues":
        with_values = True
        if not -(_LONG_MAX // 2) <= count <= _LONG_MAX // 2:
            return OUT_OF_RANGE
    elif len(argv) >= 4:
        return E.SYNTAX
    coll = _open_read(view, now_ms, db, argv[1])
    if coll is None:
        return []
    if isinstance(coll, ErrorReply):
        return coll
    items = _random_fields(coll, count)
    if with_values:
        return Pairs(items)  # type: ignore[arg-type]
    return [field for field, _v in items]


def _random_fields(coll: C.RColl, count: int) -> list[tuple[bytes, bytes]]:
    rng = chance.rng()
    if count == 0:
        return []
    if count < 0:
        return X.repeated_random(coll, -count, rng)
    if count >= coll.size:
        return coll.hashed_items()
    return X.distinct_random(coll, coll.size, count, rng)
