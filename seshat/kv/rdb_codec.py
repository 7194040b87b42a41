"""Redis 7.0's DUMP payload format, both ways: pure functions over bytes, no storage.

A payload is `object type(1) + object body + RDB version(2, LE) + CRC-64(8, LE)`, the CRC
(Redis's Jones variant, `crc64.c`) covering everything before it. The body is what `rdb.c`
writes for one value: lengths (`rdbSaveLen`), strings (raw, int-encoded or LZF-compressed),
and for compact encodings whole listpacks and intsets saved as strings.

`decode_payload` accepts every encoding redis-server 7.0.15 emits with its default config, plus
the older types 7.0 still loads: RDB_TYPE_LIST, RDB_TYPE_ZSET, the ziplist encodings of Redis
< 7 and the first stream type (only modules and the zipmap hashes of Redis < 2.6 are refused as
"Bad data format", see docs/dump.md). It validates as
deeply as Redis's `sanitize-dump-payload yes` would, and more (stream lengths, PEL owners), so
whatever it returns can be stored without breaking an invariant; any malformed input comes back
as a `DecodeError` value, never as an exception. `dump_*` emit the simplest encodings Redis
7.0 loads (see `docs/dump.md`); short strings and integers come out byte for byte as Redis's.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Final

RDB_VERSION: Final = 10  # Redis 7.0

# Object types (rdb.h), those Redis 7.0 knows.
T_STRING: Final = 0
T_LIST: Final = 1
T_SET: Final = 2
T_ZSET: Final = 3
T_HASH: Final = 4
T_ZSET_2: Final = 5
T_LIST_ZIPLIST: Final = 10
T_SET_INTSET: Final = 11
T_ZSET_ZIPLIST: Final = 12
T_HASH_ZIPLIST: Final = 13
T_LIST_QUICKLIST: Final = 14
T_STREAM_LISTPACKS: Final = 15
T_HASH_LISTPACK: Final = 16
T_ZSET_LISTPACK: Final = 17
T_LIST_QUICKLIST_2: Final = 18
T_STREAM_LISTPACKS_2: Final = 19
_OBJECT_TYPES: Final = frozenset(range(8)) | frozenset(range(9, 20))  # rdbIsObjectType

QUICKLIST_PLAIN: Final = 1  # QUICKLIST_NODE_CONTAINER_PLAIN
QUICKLIST_PACKED: Final = 2  # QUICKLIST_NODE_CONTAINER_PACKED

LIST_NODE_BYTES_MAX: Final = 8192  # list-max-listpack-size -2: what one node we emit holds
STREAM_NODE_ENTRIES_MAX: Final = 100  # stream-node-max-entries
STREAM_NODE_BYTES_MAX: Final = 4096  # stream-node-max-bytes
STRING_BYTES_MAX: Final = 512 * 1024 * 1024  # proto-max-bulk-len: no value may decode larger

_U64: Final = (1 << 64) - 1
_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1

StreamID = tuple[int, int]
# A group's entries_read that RDB_TYPE_STREAM_LISTPACKS does not carry: the caller estimates it
# as Redis does (`streamEstimateDistanceFromFirstEverEntry`).
ENTRIES_READ_ESTIMATE: Final = -2


class DecodeError(Exception):
    """A malformed payload. Raised only inside this module; `decode_payload` returns it."""


# -- values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StringValue:
    value: bytes


@dataclass(frozen=True, slots=True)
class ListValue:
    elements: list[bytes]


@dataclass(frozen=True, slots=True)
class SetValue:
    members: list[bytes]


@dataclass(frozen=True, slots=True)
class HashValue:
    pairs: list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class ZSetValue:
    pairs: list[tuple[bytes, float]]  # (member, score)


@dataclass(slots=True)
class PendingValue:
    sid: StreamID
    delivery_ms: int
    deliveries: int
    consumer: bytes = b""


@dataclass(slots=True)
class GroupValue:
    name: bytes
    last: StreamID
    entries_read: int  # -1: unknown (SCG_INVALID_ENTRIES_READ)
    pending: list[PendingValue] = field(default_factory=list)
    consumers: list[tuple[bytes, int]] = field(default_factory=list)  # (name, seen_ms)


@dataclass(slots=True)
class StreamValue:
    entries: list[tuple[StreamID, list[bytes]]]  # live entries, [field, value, ...]
    last: StreamID
    first: StreamID
    max_deleted: StreamID
    entries_added: int
    groups: list[GroupValue] = field(default_factory=list)


Value = StringValue | ListValue | SetValue | HashValue | ZSetValue | StreamValue


# -- CRC-64 (Jones polynomial, reflected, as Redis's crc64.c) ------------------------------------

_CRC64_POLY_REFLECTED: Final = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9, bit-reversed


def _crc64_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC64_POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC64_TABLE: Final = _crc64_table()


def crc64(data: bytes | memoryview, crc: int = 0) -> int:
    """Redis's `crc64(crc, data, len)`; crc64(b"123456789") == 0xE9C6D914C4B8D9CA."""
    table = _CRC64_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# -- LZF (liblzf's format, decompression only) ---------------------------------------------------


def lzf_decompress(data: bytes, out_len: int) -> bytes | None:
    """liblzf `lzf_decompress`: the `out_len` bytes, or None if `data` is not exactly that."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:  # a literal run of ctrl + 1 bytes
            run = ctrl + 1
            if i + run > n or len(out) + run > out_len:
                return None
            out += data[i : i + run]
            i += run
            continue
        length = ctrl >> 5  # a back reference
        if length == 7:
            if i >= n:
                return None
            length += data[i]
            i += 1
        if i >= n:
            return None
        offset = ((ctrl & 0x1F) << 8) + data[i] + 1
        i += 1
        length += 2
        start = len(out) - offset
        if start < 0 or len(out) + length > out_len:
            return None
        if offset >= length:
            out += out[start : start + length]
        else:  # the copy overlaps what it writes: the last `offset` bytes, repeated
            out += (out[start:] * (length // offset + 1))[:length]
    return bytes(out) if len(out) == out_len else None


# -- integers as Redis writes them in strings ----------------------------------------------------


def canonical_int(b: bytes) -> int | None:
    """`string2ll` + round trip (`lpStringToInt64`, `rdbTryIntegerEncoding`): the int64 whose
    decimal form is exactly `b`, else None."""
    if not 1 <= len(b) <= 20 or b[:1] not in b"-0123456789" or not b[-1:].isdigit():
        return None
    try:
        n = int(b)
    except ValueError:
        return None
    if str(n).encode() != b or not _INT64_MIN <= n <= _INT64_MAX:
        return None
    return n


# -- the reader --------------------------------------------------------------------------------


class _Reader:
    """A bounds-checked cursor over a payload body; every overrun is a `DecodeError`."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, end: int) -> None:
        self.data = data
        self.pos = 0
        self.end = end

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise DecodeError("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        if self.pos >= self.end:
            raise DecodeError("truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def length_or_encoding(self) -> tuple[int, bool]:
        """`rdbLoadLenByRef`: (length, False), or (string encoding type, True)."""
        b = self.byte()
        kind = b >> 6
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return b & 0x3F, True
        if b == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if b == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        raise DecodeError("unknown length encoding")

    def length(self) -> int:
        """`rdbLoadLen(rdb, NULL)`: an encoded-string marker reads as its type, as in Redis."""
        return self.length_or_encoding()[0]

    def string(self) -> bytes:
        """`rdbGenericLoadStringObject`: raw, INT8/16/32 (as decimal text) or LZF."""
        n, encoded = self.length_or_encoding()
        if not encoded:
            if n > STRING_BYTES_MAX:
                raise DecodeError("string too long")
            return self.take(n)
        if n <= 2:
            size = 1 << n
            return str(int.from_bytes(self.take(size), "little", signed=True)).encode()
        if n == 3:
            clen, out_len = self.length(), self.length()
            if out_len == 0 or out_len > STRING_BYTES_MAX:
                raise DecodeError("bad LZF length")
            out = lzf_decompress(self.take(clen), out_len)
            if out is None:
                raise DecodeError("invalid LZF data")
            return out
        raise DecodeError("unknown string encoding")

    def millis(self) -> int:
        """`rdbLoadMillisecondTime`: int64, little-endian."""
        return int.from_bytes(self.take(8), "little", signed=True)

    def binary_double(self) -> float:
        return float(struct.unpack("<d", self.take(8))[0])

    def text_double(self) -> float:
        """`rdbLoadDoubleValue` (RDB_TYPE_ZSET): 253 NaN, 254 +inf, 255 -inf, else text."""
        n = self.byte()
        if n == 253:
            return math.nan
        if n == 254:
            return math.inf
        if n == 255:
            return -math.inf
        return _parse_double(self.take(n))

    def stream_id(self) -> StreamID:
        return self.length(), self.length()

    def raw_id(self) -> StreamID:
        raw = self.take(16)
        return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:], "big")


def _parse_double(text: bytes) -> float:
    try:
        return float(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise DecodeError("not a double") from None


# -- listpacks and intsets -------------------------------------------------------------------------

_LP_HEADER: Final = 6
_LP_EOF: Final = 0xFF
_LP_COUNT_UNKNOWN: Final = 65535

# Integer encodings: first byte -> (total entry bytes before backlen, bits).
_LP_INTS: Final = {0xF1: (3, 16), 0xF2: (4, 24), 0xF3: (5, 32), 0xF4: (9, 64)}


def _backlen_size(n: int) -> int:
    """`lpEncodeBacklen`'s size for an entry of `n` bytes."""
    if n <= 127:
        return 1
    if n < 16383:
        return 2
    if n < 2097151:
        return 3
    if n < 268435455:
        return 4
    return 5


def _backlen(n: int) -> bytes:
    """`lpEncodeBacklen`: `n` in 7-bit groups, most significant first, all but the first
    flagged with the high bit, so a reader walking backwards stops at the unflagged byte."""
    size = _backlen_size(n)
    groups = [(n >> (7 * k)) & 127 for k in range(size - 1, -1, -1)]
    return bytes([groups[0]] + [g | 128 for g in groups[1:]])


def _lp_entry(blob: bytes, pos: int, end: int) -> tuple[bytes | int, int]:
    """One listpack entry at `pos`: (value, entry bytes before its backlen)."""
    b = blob[pos]
    if b < 0x80:
        return b, 1
    if b & 0xC0 == 0x80:
        size, header = b & 0x3F, 1
    elif b & 0xE0 == 0xC0:
        if pos + 2 > end:
            raise DecodeError("listpack entry overruns")
        v = ((b & 0x1F) << 8) | blob[pos + 1]
        return (v - (1 << 13) if v >= 1 << 12 else v), 2
    elif b & 0xF0 == 0xE0:
        if pos + 2 > end:
            raise DecodeError("listpack entry overruns")
        size, header = ((b & 0x0F) << 8) | blob[pos + 1], 2
    elif b == 0xF0:
        if pos + 5 > end:
            raise DecodeError("listpack entry overruns")
        size, header = int.from_bytes(blob[pos + 1 : pos + 5], "little"), 5
    elif b in _LP_INTS:
        total, _bits = _LP_INTS[b]
        if pos + total > end:
            raise DecodeError("listpack entry overruns")
        return int.from_bytes(blob[pos + 1 : pos + total], "little", signed=True), total
    else:
        raise DecodeError("bad listpack encoding")
    if pos + header + size > end:
        raise DecodeError("listpack entry overruns")
    return blob[pos + header : pos + header + size], header + size


def listpack_items(blob: bytes) -> list[bytes | int]:
    """Every entry of a listpack, integers as ints; header, backlens, count and terminator
    all checked (`lpValidateIntegrity` with deep validation)."""
    n = len(blob)
    if n < _LP_HEADER + 1 or int.from_bytes(blob[:4], "little") != n or blob[-1] != _LP_EOF:
        raise DecodeError("bad listpack header")
    count = int.from_bytes(blob[4:6], "little")
    end = n - 1
    pos = _LP_HEADER
    items: list[bytes | int] = []
    while pos < end:
        value, size = _lp_entry(blob, pos, end)
        blen = _backlen_size(size)
        if pos + size + blen > end or blob[pos + size : pos + size + blen] != _backlen(size):
            raise DecodeError("bad listpack backlen")
        items.append(value)
        pos += size + blen
    if count != _LP_COUNT_UNKNOWN and count != len(items):
        raise DecodeError("listpack count mismatch")
    return items


def _text(item: bytes | int) -> bytes:
    return str(item).encode() if isinstance(item, int) else item


def listpack_strings(blob: bytes) -> list[bytes]:
    """A listpack's entries as Redis replies with them (integers as decimal text)."""
    return [_text(item) for item in listpack_items(blob)]


def _lp_encode_int(v: int) -> bytes:
    if 0 <= v <= 127:
        return bytes([v])
    if -4096 <= v <= 4095:
        u = v & 0x1FFF
        return bytes([0xC0 | (u >> 8), u & 0xFF])
    for first, (total, bits) in _LP_INTS.items():
        if -(1 << (bits - 1)) <= v < 1 << (bits - 1):
            return bytes([first]) + v.to_bytes(total - 1, "little", signed=True)
    raise AssertionError(v)


def _lp_encode_str(s: bytes) -> bytes:
    n = len(s)
    if n < 64:
        return bytes([0x80 | n]) + s
    if n < 4096:
        return bytes([0xE0 | (n >> 8), n & 0xFF]) + s
    return b"\xf0" + n.to_bytes(4, "little") + s


def lp_entry_bytes(item: bytes | int) -> bytes:
    """One entry as `lpAppend` writes it: a string that is a canonical int64 as an integer."""
    if isinstance(item, bytes):
        as_int = canonical_int(item)
        enc = _lp_encode_str(item) if as_int is None else _lp_encode_int(as_int)
    else:
        enc = _lp_encode_int(item)
    return enc + _backlen(len(enc))


def build_listpack(items: list[bytes | int]) -> bytes:
    body = b"".join(lp_entry_bytes(item) for item in items)
    total = _LP_HEADER + len(body) + 1
    count = min(len(items), _LP_COUNT_UNKNOWN)
    return total.to_bytes(4, "little") + count.to_bytes(2, "little") + body + b"\xff"


_ZL_HEADER: Final = 10
# Integer encodings of a ziplist entry: first byte -> payload bytes.
_ZL_INTS: Final = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}


def _zl_entry(blob: bytes, pos: int, end: int) -> tuple[bytes, int]:
    """One ziplist entry's value (integers as decimal text) and its encoding + data bytes."""
    b = blob[pos]
    if b >> 6 == 0:
        header, size = 1, b & 0x3F
    elif b >> 6 == 1:
        if pos + 2 > end:
            raise DecodeError("ziplist entry overruns")
        header, size = 2, ((b & 0x3F) << 8) | blob[pos + 1]
    elif b == 0x80:
        if pos + 5 > end:
            raise DecodeError("ziplist entry overruns")
        header, size = 5, int.from_bytes(blob[pos + 1 : pos + 5], "big")
    elif b in _ZL_INTS:
        n = _ZL_INTS[b]
        if pos + 1 + n > end:
            raise DecodeError("ziplist entry overruns")
        value = int.from_bytes(blob[pos + 1 : pos + 1 + n], "little", signed=True)
        return str(value).encode(), 1 + n
    elif 0xF1 <= b <= 0xFD:
        return str((b & 0x0F) - 1).encode(), 1
    else:
        raise DecodeError("bad ziplist encoding")
    if pos + header + size > end:
        raise DecodeError("ziplist entry overruns")
    return blob[pos + header : pos + header + size], header + size


def ziplist_strings(blob: bytes) -> list[bytes]:
    """A ziplist's entries (Redis < 7's compact encoding, which 7.0 still loads): header,
    every prevlen, the tail offset, the count and the terminator checked."""
    n = len(blob)
    if n < _ZL_HEADER + 1 or int.from_bytes(blob[:4], "little") != n or blob[-1] != 0xFF:
        raise DecodeError("bad ziplist header")
    tail, count = int.from_bytes(blob[4:8], "little"), int.from_bytes(blob[8:10], "little")
    pos, prev, last = _ZL_HEADER, 0, _ZL_HEADER
    items: list[bytes] = []
    while pos < n - 1:
        if blob[pos] < 254:
            prevlen, plen = blob[pos], 1
        elif blob[pos] == 254 and pos + 5 <= n - 1:
            prevlen, plen = int.from_bytes(blob[pos + 1 : pos + 5], "little"), 5
        else:
            raise DecodeError("bad ziplist prevlen")
        if prevlen != prev or pos + plen >= n - 1:
            raise DecodeError("bad ziplist prevlen")
        value, size = _zl_entry(blob, pos + plen, n - 1)
        items.append(value)
        last, prev = pos, plen + size
        pos += prev
    if tail != last or (count != 65535 and count != len(items)):
        raise DecodeError("ziplist tail or count mismatch")
    return items


def intset_members(blob: bytes) -> list[bytes]:
    """An intset's members as decimal text: encoding (2/4/8), length, then the integers in
    strictly ascending order (`intsetValidateIntegrity`, deep)."""
    if len(blob) < 8:
        raise DecodeError("bad intset header")
    width = int.from_bytes(blob[:4], "little")
    count = int.from_bytes(blob[4:8], "little")
    if width not in (2, 4, 8) or len(blob) != 8 + count * width:
        raise DecodeError("bad intset size")
    out: list[bytes] = []
    prev: int | None = None
    for k in range(count):
        v = int.from_bytes(blob[8 + k * width : 8 + (k + 1) * width], "little", signed=True)
        if prev is not None and v <= prev:
            raise DecodeError("intset not sorted")
        prev = v
        out.append(str(v).encode())
    return out


# -- decoding, one function per object type ------------------------------------------------------


def _pairs(items: list[bytes]) -> list[tuple[bytes, bytes]]:
    if len(items) % 2:
        raise DecodeError("odd number of listpack entries")
    return list(zip(items[0::2], items[1::2], strict=True))


def _nonempty(count: int) -> int:
    """An empty collection is refused (`goto emptykey`: RESTORE answers Bad data format)."""
    if count == 0:
        raise DecodeError("empty collection")
    return count


def _unique(keys: list[bytes]) -> None:
    if len(set(keys)) != len(keys):
        raise DecodeError("duplicate members")


def _string(r: _Reader) -> StringValue:
    return StringValue(r.string())


def _list(r: _Reader) -> ListValue:
    return ListValue([r.string() for _ in range(_nonempty(r.length()))])


def _quicklist(r: _Reader) -> ListValue:
    """RDB_TYPE_LIST_QUICKLIST_2: nodes of (container, data); a packed node is a listpack
    (empty ones are skipped, as Redis does), a plain node one element."""
    elements: list[bytes] = []
    for _ in range(_nonempty(r.length())):
        container = r.length()
        data = r.string()
        if container not in (QUICKLIST_PLAIN, QUICKLIST_PACKED) or not data:
            raise DecodeError("bad quicklist node")
        if container == QUICKLIST_PLAIN:
            elements.append(data)
        else:
            elements += listpack_strings(data)
    _nonempty(len(elements))
    return ListValue(elements)


def _list_ziplist(r: _Reader, quicklist: bool) -> ListValue:
    """RDB_TYPE_LIST_QUICKLIST (nodes that are ziplists) and RDB_TYPE_LIST_ZIPLIST (one)."""
    nodes = _nonempty(r.length()) if quicklist else 1
    elements: list[bytes] = []
    for _ in range(nodes):
        elements += ziplist_strings(r.string())
    _nonempty(len(elements))
    return ListValue(elements)


def _set(r: _Reader) -> SetValue:
    members = [r.string() for _ in range(_nonempty(r.length()))]
    _unique(members)
    return SetValue(members)


def _intset(r: _Reader) -> SetValue:
    members = intset_members(r.string())
    _nonempty(len(members))
    return SetValue(members)


def _hash(r: _Reader) -> HashValue:
    pairs = [(r.string(), r.string()) for _ in range(_nonempty(r.length()))]
    _unique([f for f, _v in pairs])
    return HashValue(pairs)


def _hash_listpack(r: _Reader) -> HashValue:
    pairs = _pairs(listpack_strings(r.string()))
    _nonempty(len(pairs))
    _unique([f for f, _v in pairs])
    return HashValue(pairs)


def _hash_ziplist(r: _Reader) -> HashValue:
    pairs = _pairs(ziplist_strings(r.string()))
    _nonempty(len(pairs))
    _unique([f for f, _v in pairs])
    return HashValue(pairs)


def _score(score: float) -> float:
    if math.isnan(score):
        raise DecodeError("NaN score")
    return score


def _zset(r: _Reader, binary: bool) -> ZSetValue:
    pairs: list[tuple[bytes, float]] = []
    for _ in range(_nonempty(r.length())):
        member = r.string()
        pairs.append((member, _score(r.binary_double() if binary else r.text_double())))
    _unique([m for m, _s in pairs])
    return ZSetValue(pairs)


def _zset_listpack(r: _Reader, ziplist: bool = False) -> ZSetValue:
    """RDB_TYPE_ZSET_LISTPACK (or RDB_TYPE_ZSET_ZIPLIST): member, score, member, score..."""
    blob = r.string()
    items = list[bytes | int](ziplist_strings(blob)) if ziplist else listpack_items(blob)
    if len(items) % 2:
        raise DecodeError("odd number of listpack entries")
    pairs: list[tuple[bytes, float]] = []
    for k in range(0, len(items), 2):
        score = items[k + 1]
        value = float(score) if isinstance(score, int) else _parse_double(score)
        pairs.append((_text(items[k]), _score(value)))
    _nonempty(len(pairs))
    _unique([m for m, _s in pairs])
    return ZSetValue(pairs)


# -- streams ---------------------------------------------------------------------------------------

_STREAM_DELETED: Final = 1  # STREAM_ITEM_FLAG_DELETED
_STREAM_SAMEFIELDS: Final = 2  # STREAM_ITEM_FLAG_SAMEFIELDS


class _Items:
    """A cursor over one stream node's listpack entries."""

    __slots__ = ("items", "pos")

    def __init__(self, items: list[bytes | int]) -> None:
        self.items = items
        self.pos = 0

    def next(self) -> bytes | int:
        if self.pos >= len(self.items):
            raise DecodeError("stream node truncated")
        item = self.items[self.pos]
        self.pos += 1
        return item

    def integer(self) -> int:
        item = self.next()
        value = item if isinstance(item, int) else canonical_int(item)
        if value is None:
            raise DecodeError("stream node integer expected")
        return value

    def count(self) -> int:
        value = self.integer()
        if value < 0:
            raise DecodeError("negative count in stream node")
        return value

    def text(self) -> bytes:
        return _text(self.next())


def _stream_node(
    master: StreamID, blob: bytes, entries: list[tuple[StreamID, list[bytes]]]
) -> None:
    """Append a node's live entries to `entries` (see the listpack layout in `t_stream.c`):
    master entry `count, deleted, nfields, field..., 0`, then per entry `flags, ms-diff,
    seq-diff, [nfields, field, value ...] | [value ...] (SAMEFIELDS), lp-count`."""
    it = _Items(listpack_items(blob))
    live, deleted, nfields = it.count(), it.count(), it.count()
    master_fields = [it.text() for _ in range(nfields)]
    if it.integer() != 0:
        raise DecodeError("bad master entry terminator")
    seen_live = seen_deleted = 0
    while it.pos < len(it.items):
        flags = it.integer()
        sid = ((master[0] + it.integer()) & _U64, (master[1] + it.integer()) & _U64)
        if flags & _STREAM_SAMEFIELDS:
            fields = [x for f in master_fields for x in (f, it.text())]
            expected = len(master_fields) + 3
        else:
            n = it.count()
            fields = [it.text() for _ in range(2 * n)]
            expected = 2 * n + 4
        if it.integer() != expected:
            raise DecodeError("bad stream entry lp-count")
        if entries and sid <= entries[-1][0]:
            raise DecodeError("stream IDs not ascending")
        if flags & _STREAM_DELETED:
            seen_deleted += 1
            continue
        seen_live += 1
        entries.append((sid, fields))
    if (seen_live, seen_deleted) != (live, deleted) or not live + deleted:
        raise DecodeError("stream node counts mismatch")


def _stream_groups(r: _Reader, version: int, stream: StreamValue) -> None:
    names: set[bytes] = set()
    for _ in range(r.length()):
        name = r.string()
        last = r.stream_id()
        reads = r.length() if version == 2 else ENTRIES_READ_ESTIMATE
        if reads > _INT64_MAX:
            reads -= 1 << 64
        if (version == 2 and reads < -1) or name in names:
            raise DecodeError("bad consumer group")
        names.add(name)
        group = GroupValue(name, last, reads)
        _group_pel(r, group)
        stream.groups.append(group)


def _group_pel(r: _Reader, group: GroupValue) -> None:
    """The group's PEL, then its consumers, each naming the PEL entries it owns; every entry
    must end up with exactly one owner."""
    pending: dict[StreamID, PendingValue] = {}
    for _ in range(r.length()):
        sid = r.raw_id()
        p = PendingValue(sid, r.millis(), r.length())
        if sid in pending or p.deliveries > _INT64_MAX:
            raise DecodeError("bad PEL entry")
        pending[sid] = p
    names: set[bytes] = set()
    owned: set[StreamID] = set()
    for _ in range(r.length()):
        name = r.string()
        if name in names:
            raise DecodeError("duplicate consumer")
        names.add(name)
        group.consumers.append((name, r.millis()))
        for _ in range(r.length()):
            sid = r.raw_id()
            if sid not in pending or sid in owned:
                raise DecodeError("consumer PEL entry not in the group PEL")
            owned.add(sid)
            pending[sid].consumer = name
    if len(owned) != len(pending):
        raise DecodeError("PEL entry without consumer")
    group.pending = sorted(pending.values(), key=lambda p: p.sid)


def _stream(r: _Reader, version: int) -> StreamValue:
    entries: list[tuple[StreamID, list[bytes]]] = []
    node_keys: set[bytes] = set()
    for _ in range(r.length()):
        key = r.string()
        if len(key) != 16 or key in node_keys:
            raise DecodeError("bad stream node key")
        node_keys.add(key)
        master = int.from_bytes(key[:8], "big"), int.from_bytes(key[8:], "big")
        _stream_node(master, r.string(), entries)
    length, last = r.length(), r.stream_id()
    if version == 2:
        first, max_deleted, added = r.stream_id(), r.stream_id(), r.length()
    else:
        first, max_deleted, added = (entries[0][0] if entries else (0, 0)), (0, 0), length
    if length != len(entries) or (entries and entries[-1][0] > last) or added > _INT64_MAX:
        raise DecodeError("stream length or last ID inconsistent")
    stream = StreamValue(entries, last, first, max_deleted, added)
    _stream_groups(r, version, stream)
    return stream


def _decode_body(r: _Reader, kind: int) -> Value:
    if kind == T_STRING:
        return _string(r)
    if kind == T_LIST:
        return _list(r)
    if kind in (T_LIST_QUICKLIST, T_LIST_ZIPLIST):
        return _list_ziplist(r, quicklist=kind == T_LIST_QUICKLIST)
    if kind == T_HASH_ZIPLIST:
        return _hash_ziplist(r)
    if kind == T_ZSET_ZIPLIST:
        return _zset_listpack(r, ziplist=True)
    if kind == T_LIST_QUICKLIST_2:
        return _quicklist(r)
    if kind == T_SET:
        return _set(r)
    if kind == T_SET_INTSET:
        return _intset(r)
    if kind == T_HASH:
        return _hash(r)
    if kind == T_HASH_LISTPACK:
        return _hash_listpack(r)
    if kind in (T_ZSET, T_ZSET_2):
        return _zset(r, binary=kind == T_ZSET_2)
    if kind == T_ZSET_LISTPACK:
        return _zset_listpack(r)
    if kind in (T_STREAM_LISTPACKS, T_STREAM_LISTPACKS_2):
        return _stream(r, 2 if kind == T_STREAM_LISTPACKS_2 else 1)
    raise DecodeError("unsupported object type")  # modules and zipmap


_FOOTER_BYTES: Final = 10


def verify_footer(payload: bytes) -> bool:
    """`verifyDumpPayload`: room for the footer, an RDB version Redis 7.0 reads, and the CRC."""
    if len(payload) < _FOOTER_BYTES:
        return False
    body_end = len(payload) - _FOOTER_BYTES
    if int.from_bytes(payload[body_end : body_end + 2], "little") > RDB_VERSION:
        return False
    crc = int.from_bytes(payload[body_end + 2 :], "little")
    return crc64(memoryview(payload)[: body_end + 2]) == crc


def decode_payload(payload: bytes) -> Value | DecodeError:
    """The value in a payload whose footer `verify_footer` accepted, or a `DecodeError`.

    Redis reads the value from a buffer holding the whole payload, footer included, so a value
    may end inside the footer, and bytes left before it are ignored; so do we."""
    r = _Reader(payload, len(payload))
    try:
        kind = r.byte()
        if kind not in _OBJECT_TYPES:
            raise DecodeError("not an object type")
        return _decode_body(r, kind)
    except DecodeError as exc:
        return exc


# -- encoding --------------------------------------------------------------------------------------


def encode_length(n: int) -> bytes:
    """`rdbSaveLen`: 6-bit, 14-bit, 32-bit or 64-bit (the last two big-endian)."""
    assert 0 <= n <= _U64, n
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def encode_string(s: bytes) -> bytes:
    """`rdbSaveRawString` without LZF: a canonical integer of up to 11 bytes that fits 32 bits
    as INT8/16/32 (`rdbTryIntegerEncoding`), anything else raw."""
    n = canonical_int(s) if len(s) <= 11 else None
    if n is not None:
        for enc, size in ((0, 1), (1, 2), (2, 4)):
            if -(1 << (8 * size - 1)) <= n < 1 << (8 * size - 1):
                return bytes([0xC0 | enc]) + n.to_bytes(size, "little", signed=True)
    return encode_length(len(s)) + s


def _millis(ms: int) -> bytes:
    return ms.to_bytes(8, "little", signed=True)


def _raw_id(sid: StreamID) -> bytes:
    return sid[0].to_bytes(8, "big") + sid[1].to_bytes(8, "big")


def with_footer(body: bytes) -> bytes:
    """`createDumpPayload`'s footer: RDB version, then the CRC-64 of everything before it."""
    out = body + RDB_VERSION.to_bytes(2, "little")
    return out + crc64(out).to_bytes(8, "little")


def string_body(value: bytes) -> bytes:
    """A value's object type and encoding, as a DUMP payload holds them before its footer and
    an RDB file after the key: the `*_body` functions are what both share."""
    return bytes([T_STRING]) + encode_string(value)


def dump_string(value: bytes) -> bytes:
    return with_footer(string_body(value))


def _list_nodes(elements: list[bytes]) -> list[list[bytes]]:
    """Elements grouped as a quicklist with `list-max-listpack-size -2` holds them: nodes of at
    most 8 KiB, an element bigger than that alone in its node."""
    nodes: list[list[bytes]] = []
    size = 0
    for e in elements:
        cost = len(e) + 11  # an entry's header and backlen, at most
        if not nodes or size + cost > LIST_NODE_BYTES_MAX:
            nodes.append([])
            size = _LP_HEADER + 1
        nodes[-1].append(e)
        size += cost
    return nodes


def list_body(elements: list[bytes]) -> bytes:
    assert elements
    nodes = _list_nodes(elements)
    out = [bytes([T_LIST_QUICKLIST_2]), encode_length(len(nodes))]
    for node in nodes:
        out += (encode_length(QUICKLIST_PACKED), encode_string(build_listpack(list(node))))
    return b"".join(out)


def dump_list(elements: list[bytes]) -> bytes:
    return with_footer(list_body(elements))


def set_body(members: list[bytes]) -> bytes:
    assert members
    out = [bytes([T_SET]), encode_length(len(members))]
    out += (encode_string(m) for m in members)
    return b"".join(out)


def dump_set(members: list[bytes]) -> bytes:
    return with_footer(set_body(members))


def hash_body(pairs: list[tuple[bytes, bytes]]) -> bytes:
    assert pairs
    out = [bytes([T_HASH]), encode_length(len(pairs))]
    for f, v in pairs:
        out += (encode_string(f), encode_string(v))
    return b"".join(out)


def dump_hash(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return with_footer(hash_body(pairs))


def zset_body(pairs: list[tuple[bytes, float]]) -> bytes:
    assert pairs
    out = [bytes([T_ZSET_2]), encode_length(len(pairs))]
    for member, score in pairs:
        out += (encode_string(member), struct.pack("<d", score))
    return b"".join(out)


def dump_zset(pairs: list[tuple[bytes, float]]) -> bytes:
    return with_footer(zset_body(pairs))


def _stream_nodes(
    entries: list[tuple[StreamID, list[bytes]]],
) -> list[list[tuple[StreamID, list[bytes]]]]:
    """Entries grouped as `stream-node-max-entries` / `-bytes` would group them on XADD."""
    nodes: list[list[tuple[StreamID, list[bytes]]]] = []
    size = 0
    for entry in entries:
        cost = sum(len(x) + 11 for x in entry[1]) + 44
        if (
            not nodes
            or len(nodes[-1]) >= STREAM_NODE_ENTRIES_MAX
            or size + cost >= STREAM_NODE_BYTES_MAX
        ):
            nodes.append([])
            size = 0
        nodes[-1].append(entry)
        size += cost
    return nodes


def _stream_node_listpack(node: list[tuple[StreamID, list[bytes]]]) -> bytes:
    """A node's listpack: the master entry takes the first entry's field names; an entry with
    the same names is written with the SAMEFIELDS flag, others with their full field list."""
    master, first_fields = node[0]
    names = first_fields[0::2]
    items: list[bytes | int] = [len(node), 0, len(names), *names, 0]
    for sid, fields in node:
        ms_diff = (sid[0] - master[0]) & _U64
        seq_diff = (sid[1] - master[1]) & _U64
        ids: list[bytes | int] = [_signed64(ms_diff), _signed64(seq_diff)]
        if fields[0::2] == names:
            items += [_STREAM_SAMEFIELDS, *ids, *fields[1::2], len(names) + 3]
        else:
            items += [0, *ids, len(fields) // 2, *fields, len(fields) + 4]
    return build_listpack(items)


def _signed64(u: int) -> int:
    return u - (1 << 64) if u > _INT64_MAX else u


def stream_body(stream: StreamValue) -> bytes:
    out = [bytes([T_STREAM_LISTPACKS_2])]
    nodes = _stream_nodes(stream.entries)
    out.append(encode_length(len(nodes)))
    for node in nodes:
        out += (encode_string(_raw_id(node[0][0])), encode_string(_stream_node_listpack(node)))
    out.append(encode_length(len(stream.entries)))
    for sid in (stream.last, stream.first, stream.max_deleted):
        out += (encode_length(sid[0]), encode_length(sid[1]))
    out.append(encode_length(stream.entries_added))
    out.append(encode_length(len(stream.groups)))
    for g in stream.groups:
        out += (encode_string(g.name), encode_length(g.last[0]), encode_length(g.last[1]))
        out.append(encode_length(g.entries_read & _U64))
        out.append(encode_length(len(g.pending)))
        for p in g.pending:
            out += (_raw_id(p.sid), _millis(p.delivery_ms), encode_length(p.deliveries))
        out.append(encode_length(len(g.consumers)))
        for name, seen_ms in g.consumers:
            owned = [p.sid for p in g.pending if p.consumer == name]
            out += (encode_string(name), _millis(seen_ms), encode_length(len(owned)))
            out += (_raw_id(sid) for sid in owned)
    return b"".join(out)


def dump_stream(stream: StreamValue) -> bytes:
    return with_footer(stream_body(stream))


# -- reading values inside a whole RDB file (`seshat.rdb.reader`) --------------------------------


def _reader_at(data: bytes, pos: int) -> _Reader:
    r = _Reader(data, len(data))
    r.pos = pos
    return r


def value_end(data: bytes, pos: int, kind: int) -> int:
    """Where the body of a `kind` value starting at `pos` ends. The body is decoded (and so
    validated) in full: RDB has no length prefix for a value, decoding is the only way to find
    its end. Raises `DecodeError` on bad or truncated data."""
    if kind not in _OBJECT_TYPES:
        raise DecodeError("not an object type")
    r = _reader_at(data, pos)
    _decode_body(r, kind)
    return r.pos


def read_string(data: bytes, pos: int) -> tuple[bytes, int]:
    """An RDB string (raw, int-encoded or LZF) at `pos`, and the position after it."""
    r = _reader_at(data, pos)
    return r.string(), r.pos


def read_length(data: bytes, pos: int) -> tuple[int, int]:
    """A plain `rdbSaveLen` length at `pos`, and the position after it; a string-encoding
    marker where a length belongs is a `DecodeError`."""
    r = _reader_at(data, pos)
    n, encoded = r.length_or_encoding()
    if encoded:
        raise DecodeError("string encoding where a length was expected")
    return n, r.pos
