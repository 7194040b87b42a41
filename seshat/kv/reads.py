"""Read commands: `read_<cmd>(view, now_ms, db, argv) -> Reply` over the committed keyspace.

They run on the node that confirmed a linearizable read point, with that node's clock for lazy
expiry: an expired key reads as missing (only the leader's active-expiry cycle deletes it,
through the log). They never write. Argument errors are found here too: a read never reaches
the log, so there is nothing to keep out of it.
"""

from __future__ import annotations

from typing import Final

from seshat.kv import chance
from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv.glob import match
from seshat.kv.keyspace import KeyspaceView
from seshat.kv.numbers import parse_cursor, parse_int
from seshat.kv.scan_options import parse_scan_options
from seshat.protocol.replies import ErrorReply, Reply, SimpleString

_NONE: Final = SimpleString(b"none")
_TYPE_REPLIES: Final = {t: SimpleString(name) for t, name in L.TYPE_NAMES.items()}
_HASH_SPACE: Final = 1 << 32


def read_get(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    rec = view.record(db, argv[1], now_ms)
    if rec is None:
        return None
    if rec[0] != L.TYPE_STRING:
        return E.WRONGTYPE
    return rec[L.RECORD_HEADER_BYTES :]


def read_mget(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    out: list[Reply] = []
    for rec in view.records(db, argv[1:], now_ms):
        out.append(None if rec is None or rec[0] != L.TYPE_STRING else rec[L.RECORD_HEADER_BYTES :])
    return out


def read_strlen(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    rec = view.record(db, argv[1], now_ms)
    if rec is None:
        return 0
    if rec[0] != L.TYPE_STRING:
        return E.WRONGTYPE
    return len(rec) - L.RECORD_HEADER_BYTES


def read_getrange(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    if start is None or end is None:
        return E.NOT_INTEGER
    rec = view.record(db, argv[1], now_ms)
    if rec is None:
        return b""
    if rec[0] != L.TYPE_STRING:
        return E.WRONGTYPE
    value = rec[L.RECORD_HEADER_BYTES :]
    size = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end = max(size + end, 0)
    end = min(end, size - 1)
    if start > end or size == 0:
        return b""
    return value[start : end + 1]


def read_exists(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """Counts every argument, so a key named twice counts twice (EXISTS and TOUCH alike)."""
    return sum(rec is not None for rec in view.records(db, argv[1:], now_ms))


def read_type(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    rec = view.record(db, argv[1], now_ms)
    return _NONE if rec is None else _TYPE_REPLIES[rec[0]]


def _ttl(view: KeyspaceView, now_ms: int, db: int, key: bytes) -> int | None:
    """Remaining ms (never negative), -1 without expiry, None when the key is missing."""
    rec = view.record(db, key, now_ms)
    if rec is None:
        return None
    exp = L.record_expire_at(rec)
    return -1 if not exp else max(exp - now_ms, 0)


def read_ttl(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    ttl = _ttl(view, now_ms, db, argv[1])
    if ttl is None:
        return -2
    return -1 if ttl == -1 else (ttl + 500) // 1000


def read_pttl(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    ttl = _ttl(view, now_ms, db, argv[1])
    return -2 if ttl is None else ttl


def _expiretime(view: KeyspaceView, now_ms: int, db: int, key: bytes, unit_ms: int) -> Reply:
    rec = view.record(db, key, now_ms)
    if rec is None:
        return -2
    exp = L.record_expire_at(rec)
    return -1 if not exp else exp // unit_ms


def read_expiretime(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _expiretime(view, now_ms, db, argv[1], 1000)


def read_pexpiretime(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _expiretime(view, now_ms, db, argv[1], 1)


def read_dbsize(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return view.db_size(db)


def read_keys(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    pattern = argv[1]
    out: list[Reply] = []
    if pattern == b"*":
        out.extend(key for _h, key, _r in view.iterate(db, now_ms))
    else:
        out.extend(key for _h, key, _r in view.iterate(db, now_ms) if match(pattern, key))
    return out


def read_randomkey(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """A live key at a random point of the hash order (reads may be random; apply never is)."""
    start = chance.rng().randrange(_HASH_SPACE)
    for _h, key, _r in view.iterate(db, now_ms, start):
        return key
    for _h, key, _r in view.iterate(db, now_ms):
        return key
    return None


def read_scan(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """SCAN over (hash32, key) order; the cursor is the next position's hash + 1 (0 = done).

    It visits at least COUNT keys, then finishes the run of keys sharing the last hash, so the
    next call resumes at a strictly greater hash: every key present for the whole iteration is
    returned, none twice, whatever is written between calls, and the iteration always ends.
    """
    cursor = parse_cursor(argv[1])
    if cursor is None:
        return E.INVALID_CURSOR
    options = parse_scan_options(argv, 2, allow_type=True)
    if isinstance(options, ErrorReply):
        return options
    count, pattern, type_name = options
    if cursor > _HASH_SPACE:
        return [b"0", []]
    start = cursor - 1 if cursor else 0
    keys: list[Reply] = []
    last_hash = -1
    next_cursor = 0
    for seen, (h, key, rec) in enumerate(view.iterate_all(db, start)):
        if seen >= count and h != last_hash:
            next_cursor = h + 1
            break
        last_hash = h
        if _scan_keeps(rec, key, now_ms, pattern, type_name):
            keys.append(key)
    return [str(next_cursor).encode(), keys]


def _scan_keeps(
    rec: bytes, key: bytes, now_ms: int, pattern: bytes | None, type_name: bytes | None
) -> bool:
    exp = L.record_expire_at(rec)
    if exp and exp <= now_ms:
        return False
    if type_name is not None and L.TYPE_NAMES.get(rec[0]) != type_name:
        return False
    return pattern is None or match(pattern, key)
