"""Reading a whole RDB file into records a loader can replay: pure functions over bytes.

`parse(data)` walks the file once, from the header to `EOF` and its checksum, and returns
every key as a `KeyRecord` holding a DUMP payload (`RESTORE` takes it as is) and every function
library as a `FunctionRecord`. Nothing is returned until the whole file has been read and its
checksum checked, so a loader that parses first never writes half of a corrupt file.

An RDB value has no length prefix: the only way to find where it ends is to decode it, which
`rdb_codec.value_end` does (validating it as `RESTORE` would). The payload is then the raw
bytes of the value, sliced from the file, behind its type byte and in front of a DUMP footer:
Redis's own encoding (listpacks, intsets, LZF strings) reaches the server untouched.

What this module refuses, each with an `RdbError` naming the offset: a bad magic or a version
above 10 (Redis 7.0), a truncated file, an opcode or object type it does not know, module
values and module aux data (Seshat has no modules), the pre-release function format
(`FUNCTION`, which Redis 7.0 itself refuses), and a checksum that does not match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from seshat.kv import rdb_codec
from seshat.kv.rdb_codec import DecodeError, crc64
from seshat.rdb import format as fmt

VERSION_MAX: Final = rdb_codec.RDB_VERSION  # Redis 7.0 writes and reads up to 10
CHECKSUM_SINCE_VERSION: Final = 5  # rdb.c: files before version 5 end at EOF
_HEADER_BYTES: Final = len(fmt.MAGIC) + fmt.VERSION_DIGITS
_MODULE_TYPES: Final = frozenset((6, 7))  # RDB_TYPE_MODULE_PRE_GA, RDB_TYPE_MODULE_2
# rdbIsObjectType in Redis 7.0 (8 was never used); which encodings load is rdb_codec's call.
_OBJECT_TYPES: Final = frozenset(range(8)) | frozenset(range(9, 20))


class RdbError(Exception):
    """The file is not one Seshat can load; the message says where and why."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One key: its database, name, absolute expiry (Unix ms, None for none) and its value as
    a DUMP payload (type byte + value bytes + RDB version + CRC-64), ready for `RESTORE`."""

    db: int
    key: bytes
    expire_at_ms: int | None
    payload: bytes


@dataclass(frozen=True, slots=True)
class FunctionRecord:
    """One function library's source, as `FUNCTION LOAD` takes it."""

    code: bytes


Record = KeyRecord | FunctionRecord


@dataclass(frozen=True, slots=True)
class RdbFile:
    """A parsed file: its version, aux fields (`redis-ver`, `ctime`...) in file order, the
    records in file order, and the checksum it carried (0: written without one)."""

    version: int
    aux: list[tuple[bytes, bytes]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    checksum: int = 0


class _Cursor:
    """A position in the file; every overrun or bad encoding becomes an `RdbError` that names
    the offset where the item being read started."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def fail(self, what: str, at: int | None = None) -> RdbError:
        return RdbError(f"{what} at offset {self.pos if at is None else at}")

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail(f"truncated file: {what} runs past the end")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def string(self, what: str) -> bytes:
        start = self.pos
        try:
            value, self.pos = rdb_codec.read_string(self.data, self.pos)
        except DecodeError as error:
            raise self.fail(f"bad {what} ({error})", start) from None
        return value

    def length(self, what: str) -> int:
        start = self.pos
        try:
            n, self.pos = rdb_codec.read_length(self.data, self.pos)
        except DecodeError as error:
            raise self.fail(f"bad {what} ({error})", start) from None
        return n

    def value_end(self, kind: int) -> int:
        start = self.pos
        try:
            self.pos = rdb_codec.value_end(self.data, self.pos, kind)
        except DecodeError as error:
            raise self.fail(f"bad value of type {kind} ({error})", start) from None
        return self.pos


def parse(data: bytes) -> RdbFile:
    """Every record of an RDB file, or an `RdbError`. When the file is corrupt in a way that
    derails the walk (a flipped type byte reads as an unknown opcode), the error also says
    whether the checksum at the end matches, the likelier diagnosis."""
    try:
        return _parse(data)
    except RdbError as error:
        if _trailing_checksum_mismatch(data):
            raise RdbError(f"{error}; the file's checksum does not match either") from None
        raise


def _parse(data: bytes) -> RdbFile:
    version = _header(data)
    aux: list[tuple[bytes, bytes]] = []
    records: list[Record] = []
    cursor = _Cursor(data, _HEADER_BYTES)
    db = 0
    expire_at_ms: int | None = None  # applies to the next key, as in rdbLoadRioWithLoadingCtx
    while True:
        at = cursor.pos
        op = cursor.byte("an opcode")
        if op == fmt.OP_EOF:
            break
        if op == fmt.OP_SELECTDB:
            db = cursor.length("database number")
        elif op == fmt.OP_RESIZEDB:
            cursor.length("RESIZEDB size")
            cursor.length("RESIZEDB expires size")
        elif op == fmt.OP_EXPIRETIME_MS:
            expire_at_ms = int.from_bytes(cursor.take(8, "an expiry"), "little", signed=True)
        elif op == fmt.OP_EXPIRETIME:
            seconds = int.from_bytes(cursor.take(4, "an expiry"), "little", signed=True)
            expire_at_ms = seconds * 1000
        elif op == fmt.OP_IDLE:
            cursor.length("IDLE time")  # an eviction hint: RESTORE starts the key afresh
        elif op == fmt.OP_FREQ:
            cursor.take(1, "an LFU counter")
        elif op == fmt.OP_AUX:
            aux.append((cursor.string("aux field name"), cursor.string("aux field value")))
        elif op == fmt.OP_FUNCTION2:
            records.append(FunctionRecord(cursor.string("function library code")))
        else:
            records.append(_key(cursor, op, at, db, expire_at_ms))
            expire_at_ms = None
    return RdbFile(version, aux, records, _checksum(data, cursor.pos, version))


def _header(data: bytes) -> int:
    """The version from `REDIS` + four digits, refused unless 1..VERSION_MAX."""
    if len(data) < _HEADER_BYTES or not data.startswith(fmt.MAGIC):
        raise RdbError("not an RDB file: it does not start with REDIS and a 4-digit version")
    digits = data[len(fmt.MAGIC) : _HEADER_BYTES]
    if not digits.isdigit():
        raise RdbError(f"not an RDB file: bad version {digits!r}")
    version = int(digits)
    if not 1 <= version <= VERSION_MAX:
        raise RdbError(
            f"RDB version {version} is not supported (up to {VERSION_MAX}, Redis 7.0's); "
            "save the file with Redis 7.0 or older"
        )
    return version


def _key(cursor: _Cursor, kind: int, at: int, db: int, expire_at_ms: int | None) -> KeyRecord:
    """A key and its value, after the type byte `kind` read at `at`."""
    if kind in _MODULE_TYPES:
        raise cursor.fail(
            f"a module value (type {kind}) is not supported: Seshat has no modules", at
        )
    if kind == fmt.OP_MODULE_AUX:
        raise cursor.fail("module aux data is not supported: Seshat has no modules", at)
    if kind == fmt.OP_FUNCTION:
        raise cursor.fail(
            "the pre-release function format (Redis 7.0 release candidates) is not supported", at
        )
    if kind not in _OBJECT_TYPES:
        raise cursor.fail(f"unknown opcode or object type {kind}", at)
    key = cursor.string("key")
    start = cursor.pos
    end = cursor.value_end(kind)
    payload = rdb_codec.with_footer(bytes([kind]) + cursor.data[start:end])
    return KeyRecord(db, key, expire_at_ms, payload)


def _checksum(data: bytes, eof_end: int, version: int) -> int:
    """The CRC-64 after `EOF`, checked against everything before it unless it is 0 (Redis
    writes 0 with `rdbchecksum no`). Bytes after the checksum are ignored, as Redis does."""
    if version < CHECKSUM_SINCE_VERSION:
        return 0
    trailer = data[eof_end : eof_end + fmt.CHECKSUM_BYTES]
    if len(trailer) < fmt.CHECKSUM_BYTES:
        raise RdbError(f"truncated file: the checksum after EOF (offset {eof_end - 1}) is missing")
    stored = int.from_bytes(trailer, "little")
    if stored and crc64(memoryview(data)[:eof_end]) != stored:
        raise RdbError("checksum mismatch: the file is corrupt")
    return stored


def _trailing_checksum_mismatch(data: bytes) -> bool:
    """Whether the file ends like a whole RDB file (EOF and a non-zero checksum) whose checksum
    does not match what precedes it."""
    n = fmt.CHECKSUM_BYTES
    if len(data) < _HEADER_BYTES + 1 + n or data[-n - 1] != fmt.OP_EOF:
        return False
    stored = int.from_bytes(data[-n:], "little")
    return stored != 0 and crc64(memoryview(data)[:-n]) != stored
