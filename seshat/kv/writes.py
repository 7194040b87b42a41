"""Write commands: validation and rewriting before proposal, and their deterministic apply.

Each write command has up to two functions here:

- `prepare_<cmd>(argv, now_ms)` runs on the leader before anything reaches the log. It finds
  what Redis reports before touching the keyspace (syntax, integer parsing, option conflicts)
  and returns an `ErrorReply`, or the argv to propose, with relative times made absolute from
  the leader's `now_ms` (`SET k v EX 10` -> `SET k v PXAT <abs>`). Commands with nothing to
  check or rewrite have no prepare.
- `apply_<cmd>(w, now_ms, db, argv)` runs on every replica with the operation's `now_ms` and
  the argv that was proposed, and returns the reply the client gets. It must be a pure function
  of the keyspace and its arguments: errors that depend on stored values (WRONGTYPE, a stored
  value that is not a number, overflow) are found here and are replies, not exceptions.

Apply handlers re-parse the proposed argv: it is canonical and already validated, so they
assert rather than report.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from seshat.kv import collections as C
from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv import notify as N
from seshat.kv.keyspace import KeyspaceWriter
from seshat.kv.numbers import (
    INFINITY,
    INT64_MAX,
    INT64_MIN,
    add_long_double,
    format_long_double,
    parse_int,
    parse_long_double,
)
from seshat.protocol.replies import OK, ErrorReply, Reply

STRING_BYTES_MAX: Final = 512 * 1024 * 1024  # proto-max-bulk-len default

_PXAT: Final = b"PXAT"


def _string_or_wrongtype(rec: bytes | None) -> bool:
    """True if the record is missing or a string (what string commands accept)."""
    return rec is None or rec[0] == L.TYPE_STRING


# ---------------------------------------------------------------------------------------------
# Expiry argument helpers shared by SET, SETEX, PSETEX, GETEX.


def _absolute_expire(
    raw: bytes, unit_ms: int, relative: bool, now_ms: int, cmd: str
) -> int | ErrorReply:
    """Redis `getExpireMillisecondsOrReply`: a positive time, converted, as absolute ms."""
    n = parse_int(raw)
    if n is None:
        return E.NOT_INTEGER
    if n <= 0 or (unit_ms == 1000 and n > INT64_MAX // 1000):
        return E.invalid_expire_time(cmd)
    n *= unit_ms
    if relative:
        n += now_ms
    if n <= 0 or n > INT64_MAX:
        return E.invalid_expire_time(cmd)
    return n


# SET option flags
_NX, _XX, _GET, _KEEPTTL, _EX, _PX, _EXAT, _PXAT_F, _PERSIST = (1 << i for i in range(9))
_TIME_FLAGS: Final = _EX | _PX | _EXAT | _PXAT_F
_TIME_OPTS: Final = {b"ex": _EX, b"px": _PX, b"exat": _EXAT, b"pxat": _PXAT_F}


def _parse_string_options(
    argv: list[bytes], start: int, is_set: bool
) -> tuple[int, bytes | None] | ErrorReply:
    """Redis `parseExtendedStringArgumentsOrReply`: flags and the raw time argument."""
    flags = 0
    expire: bytes | None = None
    j = start
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        has_next = j + 1 < n
        if opt == b"nx" and is_set and not flags & _XX:
            flags |= _NX
        elif opt == b"xx" and is_set and not flags & _NX:
            flags |= _XX
        elif opt == b"get" and is_set:
            flags |= _GET
        elif opt == b"keepttl" and is_set and not flags & (_PERSIST | _TIME_FLAGS):
            flags |= _KEEPTTL
        elif opt == b"persist" and not is_set and not flags & (_TIME_FLAGS | _KEEPTTL):
            flags |= _PERSIST
        elif opt in _TIME_OPTS and has_next:
            flag = _TIME_OPTS[opt]
            if flags & (_KEEPTTL | _PERSIST | (_TIME_FLAGS & ~flag)):
                return E.SYNTAX
            flags |= flag
            expire = argv[j + 1]
            j += 1
        else:
            return E.SYNTAX
        j += 1
    return flags, expire


def _expire_from_options(flags: int, expire: bytes, now_ms: int, cmd: str) -> int | ErrorReply:
    unit = 1000 if flags & (_EX | _EXAT) else 1
    relative = bool(flags & (_EX | _PX))
    return _absolute_expire(expire, unit, relative, now_ms, cmd)


# ---------------------------------------------------------------------------------------------
# SET family


def prepare_set(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if len(argv) == 3:
        return argv
    parsed = _parse_string_options(argv, 3, True)
    if isinstance(parsed, ErrorReply):
        return parsed
    flags, expire = parsed
    out = argv[:3]
    if flags & _NX:
        out.append(b"NX")
    if flags & _XX:
        out.append(b"XX")
    if flags & _GET:
        out.append(b"GET")
    if flags & _KEEPTTL:
        out.append(b"KEEPTTL")
    if expire is not None:
        at = _expire_from_options(flags, expire, now_ms, "set")
        if isinstance(at, ErrorReply):
            return at
        out += (_PXAT, str(at).encode())
    return out


def apply_set(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key, value = argv[1], argv[2]
    old = w.lookup(db, key, now_ms)
    if len(argv) == 3:
        w.put(db, key, L.string_record(value, 0), old)
        w.notify(N.STRING, b"set", db, key)
        return OK
    opts = argv[3:]
    nx = b"NX" in opts
    xx = b"XX" in opts
    get = b"GET" in opts
    reply: Reply = OK
    if get:
        if not _string_or_wrongtype(old):
            return E.WRONGTYPE
        reply = None if old is None else old[L.RECORD_HEADER_BYTES :]
    if (nx and old is not None) or (xx and old is None):
        return reply if get else None
    expire_at = 0
    if b"KEEPTTL" in opts and old is not None:
        expire_at = L.record_expire_at(old)
    elif opts[-2:-1] == [_PXAT]:
        expire_at = int(opts[-1])
    w.put(db, key, L.string_record(value, expire_at), old)
    w.notify(N.STRING, b"set", db, key)
    if opts[-2:-1] == [_PXAT]:
        w.notify(N.GENERIC, b"expire", db, key)
    return reply


def apply_setnx(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    old = w.lookup(db, argv[1], now_ms)
    if old is not None:
        return 0
    w.put(db, argv[1], L.string_record(argv[2], 0), None)
    w.notify(N.STRING, b"set", db, argv[1])
    return 1


def _prepare_setex(
    argv: list[bytes], now_ms: int, unit_ms: int, cmd: str
) -> list[bytes] | ErrorReply:
    at = _absolute_expire(argv[2], unit_ms, True, now_ms, cmd)
    if isinstance(at, ErrorReply):
        return at
    return [b"SET", argv[1], argv[3], _PXAT, str(at).encode()]


def prepare_setex(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    return _prepare_setex(argv, now_ms, 1000, "setex")


def prepare_psetex(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    return _prepare_setex(argv, now_ms, 1, "psetex")


def prepare_mset(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if len(argv) % 2 == 0:
        return E.wrong_arity(argv[0].lower())
    return argv


def apply_mset(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    for i in range(1, len(argv), 2):
        key = argv[i]
        w.put(db, key, L.string_record(argv[i + 1], 0), w.lookup(db, key, now_ms))
        w.notify(N.STRING, b"set", db, key)
    return OK


def apply_msetnx(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    for i in range(1, len(argv), 2):
        if w.lookup(db, argv[i], now_ms) is not None:
            return 0
    apply_mset(w, now_ms, db, argv)
    return 1


def apply_getset(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    old = w.lookup(db, argv[1], now_ms)
    if not _string_or_wrongtype(old):
        return E.WRONGTYPE
    w.put(db, argv[1], L.string_record(argv[2], 0), old)
    w.notify(N.STRING, b"set", db, argv[1])
    return None if old is None else old[L.RECORD_HEADER_BYTES :]


def apply_getdel(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    old = w.lookup(db, argv[1], now_ms)
    if old is None:
        return None
    if old[0] != L.TYPE_STRING:
        return E.WRONGTYPE
    w.delete(db, argv[1], old)
    w.notify(N.GENERIC, b"del", db, argv[1])
    return old[L.RECORD_HEADER_BYTES :]


# ---------------------------------------------------------------------------------------------
# GETEX: options are validated before proposing, but Redis reports a bad time only for an
# existing string key (a missing key answers nil first), so that error travels in the log.


def prepare_getex(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    parsed = _parse_string_options(argv, 2, False)
    if isinstance(parsed, ErrorReply):
        return parsed
    flags, expire = parsed
    if flags & _PERSIST:
        return [b"GETEX", argv[1], b"PERSIST"]
    if expire is None:
        return [b"GETEX", argv[1]]
    at = _expire_from_options(flags, expire, now_ms, "getex")
    if isinstance(at, ErrorReply):
        return [b"GETEX", argv[1], b"ERROR", at.message.encode()]
    return [b"GETEX", argv[1], _PXAT, str(at).encode()]


def apply_getex(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key = argv[1]
    old = w.lookup(db, key, now_ms)
    if old is None:
        return None
    if old[0] != L.TYPE_STRING:
        return E.WRONGTYPE
    value = old[L.RECORD_HEADER_BYTES :]
    if len(argv) == 2:
        return value
    opt = argv[2]
    if opt == b"ERROR":
        return ErrorReply(argv[3].decode())
    if opt == b"PERSIST":
        if L.record_expire_at(old):
            w.put(db, key, L.with_expire_at(old, 0), old)
            w.notify(N.GENERIC, b"persist", db, key)
        return value
    at = int(argv[3])
    if at <= now_ms:
        w.delete(db, key, old)
        w.notify(N.GENERIC, b"del", db, key)
    else:
        w.put(db, key, L.with_expire_at(old, at), old)
        w.notify(N.GENERIC, b"expire", db, key)
    return value


# ---------------------------------------------------------------------------------------------
# Counters


def _prepare_by(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if parse_int(argv[2]) is None:
        return E.NOT_INTEGER
    return argv


prepare_incrby = _prepare_by


def prepare_decrby(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    n = parse_int(argv[2])
    if n is None:
        return E.NOT_INTEGER
    if n == INT64_MIN:
        return E.DECREMENT_OVERFLOW
    return [b"INCRBY", argv[1], str(-n).encode()]


def _incr(w: KeyspaceWriter, now_ms: int, db: int, key: bytes, by: int) -> Reply:
    old = w.lookup(db, key, now_ms)
    if old is None:
        current, expire_at = 0, 0
    else:
        if old[0] != L.TYPE_STRING:
            return E.WRONGTYPE
        parsed = parse_int(old[L.RECORD_HEADER_BYTES :])
        if parsed is None:
            return E.NOT_INTEGER
        current, expire_at = parsed, L.record_expire_at(old)
    new = current + by
    if new > INT64_MAX or new < INT64_MIN:
        return E.OVERFLOW
    w.put(db, key, L.string_record(str(new).encode(), expire_at), old)
    w.notify(N.STRING, b"incrby", db, key)
    return new


def apply_incr(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _incr(w, now_ms, db, argv[1], 1)


def apply_decr(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _incr(w, now_ms, db, argv[1], -1)


def apply_incrby(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _incr(w, now_ms, db, argv[1], int(argv[2]))


def prepare_incrbyfloat(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if parse_long_double(argv[2]) is None:
        return E.NOT_FLOAT
    return argv


def apply_incrbyfloat(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key = argv[1]
    incr = parse_long_double(argv[2])
    assert incr is not None, argv
    old = w.lookup(db, key, now_ms)
    current: Fraction | object = Fraction(0)
    expire_at = 0
    if old is not None:
        if old[0] != L.TYPE_STRING:
            return E.WRONGTYPE
        current = parse_long_double(old[L.RECORD_HEADER_BYTES :])
        if current is None:
            return E.NOT_FLOAT
        expire_at = L.record_expire_at(old)
    if current is INFINITY or incr is INFINITY:
        return E.NAN_OR_INFINITY
    assert isinstance(current, Fraction) and isinstance(incr, Fraction)
    total = add_long_double(current, incr)
    if total is INFINITY:
        return E.NAN_OR_INFINITY
    assert isinstance(total, Fraction)
    text = format_long_double(total)
    w.put(db, key, L.string_record(text, expire_at), old)
    w.notify(N.STRING, b"incrbyfloat", db, key)
    return text


# ---------------------------------------------------------------------------------------------
# APPEND, SETRANGE


def apply_append(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key, extra = argv[1], argv[2]
    old = w.lookup(db, key, now_ms)
    if old is None:
        w.put(db, key, L.string_record(extra, 0), None)
        w.notify(N.STRING, b"append", db, key)
        return len(extra)
    if old[0] != L.TYPE_STRING:
        return E.WRONGTYPE
    size = len(old) - L.RECORD_HEADER_BYTES
    if size + len(extra) > STRING_BYTES_MAX:
        return E.STRING_TOO_LONG
    w.put(db, key, old + extra, old)
    w.notify(N.STRING, b"append", db, key)
    return size + len(extra)


def prepare_setrange(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    offset = parse_int(argv[2])
    if offset is None:
        return E.NOT_INTEGER
    if offset < 0:
        return E.OFFSET_OUT_OF_RANGE
    return argv


def apply_setrange(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key, offset, patch = argv[1], int(argv[2]), argv[3]
    old = w.lookup(db, key, now_ms)
    if old is not None and old[0] != L.TYPE_STRING:
        return E.WRONGTYPE
    current = b"" if old is None else old[L.RECORD_HEADER_BYTES :]
    if not patch:
        return len(current)
    if offset + len(patch) > STRING_BYTES_MAX:
        return E.STRING_TOO_LONG
    if len(current) < offset:
        current += b"\x00" * (offset - len(current))
    value = current[:offset] + patch + current[offset + len(patch) :]
    w.put_string(db, key, value, old)
    w.notify(N.STRING, b"setrange", db, key)
    return len(value)


# ---------------------------------------------------------------------------------------------
# Keys


def apply_del(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    deleted = 0
    for key in argv[1:]:
        old = w.lookup(db, key, now_ms)
        if old is not None:
            w.delete(db, key, old)
            w.notify(N.GENERIC, b"del", db, key)
            deleted += 1
    return deleted


_EXPIRE_UNIT_MS: Final = {b"expire": 1000, b"pexpire": 1, b"expireat": 1000, b"pexpireat": 1}
_EXPIRE_FLAGS: Final = (b"NX", b"XX", b"GT", b"LT")


def prepare_expire(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    """Redis `expireGenericCommand` checks, then `PEXPIREAT key <abs ms> [flags]`."""
    name = argv[0].lower()
    flags: list[bytes] = []
    for opt in argv[3:]:
        up = opt.upper()
        if up not in _EXPIRE_FLAGS:
            return E.unsupported_option(opt)
        if up not in flags:
            flags.append(up)
    if b"NX" in flags and len(flags) > 1:
        return E.EXPIRE_NX_XX_GT_LT
    if b"GT" in flags and b"LT" in flags:
        return E.EXPIRE_GT_LT
    when = parse_int(argv[2])
    if when is None:
        return E.NOT_INTEGER
    cmd = name.decode()
    if _EXPIRE_UNIT_MS[name] == 1000:
        if when > INT64_MAX // 1000 or when < -(-INT64_MIN // 1000):
            return E.invalid_expire_time(cmd)
        when *= 1000
    base = now_ms if name in (b"expire", b"pexpire") else 0
    if when > INT64_MAX - base:
        return E.invalid_expire_time(cmd)
    return [b"PEXPIREAT", argv[1], str(when + base).encode(), *sorted(flags)]


def apply_pexpireat(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key, when, flags = argv[1], int(argv[2]), argv[3:]
    old = w.lookup(db, key, now_ms)
    if old is None:
        return 0
    current = L.record_expire_at(old)  # 0: no TTL (Redis: -1, "infinite")
    if flags:
        if b"NX" in flags and current:
            return 0
        if b"XX" in flags and not current:
            return 0
        if b"GT" in flags and (not current or when <= current):
            return 0
        if b"LT" in flags and current and when >= current:
            return 0
    if when <= now_ms:
        w.delete(db, key, old)
        w.notify(N.GENERIC, b"del", db, key)
    else:
        w.put(db, key, L.with_expire_at(old, when), old)
        w.notify(N.GENERIC, b"expire", db, key)
    return 1


def apply_persist(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    old = w.lookup(db, argv[1], now_ms)
    if old is None or not L.record_expire_at(old):
        return 0
    w.put(db, argv[1], L.with_expire_at(old, 0), old)
    w.notify(N.GENERIC, b"persist", db, argv[1])
    return 1


def _rename(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes], nx: bool) -> Reply:
    src, dst = argv[1], argv[2]
    rec = w.lookup(db, src, now_ms)
    if rec is None:
        return E.NO_SUCH_KEY
    if src == dst:
        return 0 if nx else OK
    target = w.lookup(db, dst, now_ms)
    if target is not None and nx:
        return 0
    if target is not None:  # Redis deletes it and adds the key anew
        w.notify(N.NEW, b"new", db, dst)
    w.put(db, dst, rec, target)
    w.detach(db, src, rec)  # a collection's sub-entries stay: its meta record names them
    w.notify(N.GENERIC, b"rename_from", db, src)
    w.notify(N.GENERIC, b"rename_to", db, dst)
    return 1 if nx else OK


def apply_rename(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _rename(w, now_ms, db, argv, False)


def apply_renamenx(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _rename(w, now_ms, db, argv, True)


def parse_db_index(raw: bytes) -> int | ErrorReply:
    """A DB index as Redis `getIntFromObjectOrReply` + `selectDb` check it (SELECT, MOVE, COPY)."""
    n = parse_int(raw)
    if n is None:
        return E.NOT_INTEGER
    if n < -(1 << 31) or n >= 1 << 31:
        return E.INT32_RANGE
    if not 0 <= n < L.DB_COUNT:
        return E.DB_INDEX_OUT_OF_RANGE
    return n


def prepare_move(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    target = parse_db_index(argv[2])
    return target if isinstance(target, ErrorReply) else argv


def apply_move(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key, target = argv[1], int(argv[2])
    if target == db:
        return E.SAME_OBJECT
    rec = w.lookup(db, key, now_ms)
    if rec is None:
        return 0
    if w.lookup(target, key, now_ms) is not None:
        return 0
    moved = C.clone(w, db, rec, target) if L.is_collection(rec) else rec  # slot changes
    w.put(target, key, moved, None)
    w.delete(db, key, rec)
    w.notify(N.GENERIC, b"move_from", db, key)
    w.notify(N.GENERIC, b"move_to", target, key)
    return 1


def prepare_copy(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    target: int | None = None
    replace = False
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and j + 1 < len(argv):
            n = parse_db_index(argv[j + 1])
            if isinstance(n, ErrorReply):
                return n
            target = n
            j += 1
        else:
            return E.SYNTAX
        j += 1
    out = argv[:3]
    if target is not None:
        out += (b"DB", str(target).encode())
    if replace:
        out.append(b"REPLACE")
    return out


def apply_copy(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    src, dst = argv[1], argv[2]
    target = int(argv[4]) if len(argv) > 4 and argv[3] == b"DB" else db
    replace = len(argv) > 3 and argv[-1] == b"REPLACE"
    if target == db and src == dst:
        return E.SAME_OBJECT
    rec = w.lookup(db, src, now_ms)
    if rec is None:
        return 0
    existing = w.lookup(target, dst, now_ms)
    if existing is not None and not replace:
        return 0
    if existing is not None:  # Redis deletes it and adds the key anew
        w.notify(N.NEW, b"new", target, dst)
    w.put(target, dst, C.clone(w, db, rec, target) if L.is_collection(rec) else rec, existing)
    w.notify(N.GENERIC, b"copy_to", target, dst)
    return 1


# ---------------------------------------------------------------------------------------------
# Databases


def _prepare_flush(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"sync", b"async")):
        return E.SYNTAX
    return argv[:1]


prepare_flushdb = _prepare_flush
prepare_flushall = _prepare_flush


def apply_flushdb(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    w.flush_db(db)
    return OK


def apply_flushall(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    w.flush_all()
    return OK


def prepare_swapdb(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    a = parse_int(argv[1])
    if a is None or not -(1 << 31) <= a < 1 << 31:
        return E.INVALID_FIRST_DB
    b = parse_int(argv[2])
    if b is None or not -(1 << 31) <= b < 1 << 31:
        return E.INVALID_SECOND_DB
    if not (0 <= a < L.DB_COUNT and 0 <= b < L.DB_COUNT):
        return E.DB_INDEX_OUT_OF_RANGE
    return argv


def apply_swapdb(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    a, b = int(argv[1]), int(argv[2])
    if a != b:
        w.swap_db(a, b)
    return OK
