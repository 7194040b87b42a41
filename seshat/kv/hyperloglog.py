"""HyperLogLog: PFADD, PFCOUNT, PFMERGE on string values laid out byte for byte as Redis's.

An HLL is a string: a 16-byte header (`HYLL`, the encoding, three unused bytes, and the cached
cardinality, little-endian, its top bit set when stale) and then the registers: 16,384 six-bit
counters, either dense (12,288 bytes, packed least significant bit first) or sparse (a run-length
code of ZERO, XZERO and VAL opcodes). Each element hashes with MurmurHash64A; its low 14 bits
pick a register, and the run of zeros after them (plus one) is what the register keeps the
maximum of. The cardinality comes from the registers' histogram with Ertl's estimator.

Everything here follows Redis 7.0's `hyperloglog.c`, including where a sparse string is split,
which neighbouring VAL opcodes are merged, and when it turns dense (a register above 32, or a
string past 3,000 bytes), so GET of an HLL answers the same bytes as Redis and PFCOUNT the same
number. The differential tests hold it to that.

PFCOUNT of one key stores the cardinality it computed in the header, as Redis does (and Redis
propagates that to its replicas): so Seshat runs PFCOUNT as a write through Raft, and the
value's bytes stay the same on every node and the same as Redis's. PFDEBUG is a write for
the same reason (GETREG and TODENSE store a sparse value dense); PFSELFTEST's checks of this
module are in `hyperloglog_selftest.py`.
"""

from __future__ import annotations

import math
from typing import Final

from seshat.kv import layout as L
from seshat.kv import notify as N
from seshat.kv.bitmaps import string_value
from seshat.kv.keyspace import KeyspaceWriter
from seshat.protocol.replies import OK, ErrorReply, Reply, SimpleString

P: Final = 14
Q: Final = 64 - P
REGISTERS: Final = 1 << P
REGISTER_MAX: Final = 63
HEADER_BYTES: Final = 16
DENSE_BYTES: Final = HEADER_BYTES + REGISTERS * 6 // 8
DENSE, SPARSE = 0, 1
SPARSE_MAX_BYTES: Final = 3000
"""Redis's `hll-sparse-max-bytes` default: a sparse string that would grow past it turns dense."""
SPARSE_VAL_MAX_VALUE: Final = 32
SPARSE_VAL_MAX_LEN: Final = 4
SPARSE_ZERO_MAX_LEN: Final = 64
SPARSE_XZERO_MAX_LEN: Final = 16384
_ALPHA_INF: Final = 0.721347520444481703680  # 0.5 / ln(2)
_MURMUR_M: Final = 0xC6A4A7935BD1E995
_MURMUR_SEED: Final = 0xADC83B19
_U64: Final = (1 << 64) - 1

WRONGTYPE_HLL = ErrorReply("WRONGTYPE Key is not a valid HyperLogLog string value.")
INVALIDOBJ = ErrorReply("INVALIDOBJ Corrupted HLL object detected")
NO_KEY = ErrorReply("ERR The specified key does not exist")  # PFDEBUG's, not "no such key"
NOT_SPARSE = ErrorReply("ERR HLL encoding is not sparse")


# ---------------------------------------------------------------------------------------------
# Hashing


def murmur64a(data: bytes, seed: int = _MURMUR_SEED) -> int:
    """MurmurHash64A, as Redis computes it on a little-endian machine."""
    m = _MURMUR_M
    n = len(data)
    h = (seed ^ (n * m)) & _U64
    whole = n - (n & 7)
    for i in range(0, whole, 8):
        k = int.from_bytes(data[i : i + 8], "little")
        k = (k * m) & _U64
        k ^= k >> 47
        k = (k * m) & _U64
        h ^= k
        h = (h * m) & _U64
    if n & 7:
        h ^= int.from_bytes(data[whole:], "little")
        h = (h * m) & _U64
    h ^= h >> 47
    h = (h * m) & _U64
    h ^= h >> 47
    return h


def pattern(element: bytes) -> tuple[int, int]:
    """(register index, the run of zeros after the index bits, plus one) of an element."""
    h = murmur64a(element)
    index = h & (REGISTERS - 1)
    h = (h >> P) | (1 << Q)  # the loop ends by bit Q at the latest: count <= Q + 1
    return index, (h & -h).bit_length()


# ---------------------------------------------------------------------------------------------
# The value: header, dense registers, sparse opcodes


def new_sparse() -> bytearray:
    """An empty HLL, as Redis creates one: sparse, one XZERO per 16,384 registers."""
    buf = bytearray(b"HYLL" + bytes([SPARSE]) + bytes(11))
    for _ in range(REGISTERS // SPARSE_XZERO_MAX_LEN):
        buf += _xzero(SPARSE_XZERO_MAX_LEN)
    return buf


def is_hll(value: bytes) -> bool:
    """Redis's `isHLLObjectOrReply` test of a string value."""
    if len(value) < HEADER_BYTES or value[:4] != b"HYLL" or value[4] > SPARSE:
        return False
    return value[4] != DENSE or len(value) == DENSE_BYTES


def invalidate_cache(buf: bytearray) -> None:
    buf[15] |= 0x80


def _dense_get(buf: bytes | bytearray, index: int) -> int:
    bit = index * 6
    byte = HEADER_BYTES + (bit >> 3)
    shift = bit & 7
    word = buf[byte] | ((buf[byte + 1] << 8) if byte + 1 < len(buf) else 0)
    return (word >> shift) & REGISTER_MAX


def _dense_set(buf: bytearray, index: int, value: int) -> None:
    bit = index * 6
    byte = HEADER_BYTES + (bit >> 3)
    shift = bit & 7
    buf[byte] = (buf[byte] & ~(REGISTER_MAX << shift) & 0xFF) | ((value << shift) & 0xFF)
    if shift > 2:  # the register spills into the next byte
        rest = 8 - shift
        buf[byte + 1] = (buf[byte + 1] & ~(REGISTER_MAX >> rest) & 0xFF) | (value >> rest)


def _dense_registers(buf: bytes | bytearray) -> list[int]:
    """All 16,384 registers of a dense value: four registers in every three bytes."""
    out = [0] * REGISTERS
    for k, i in enumerate(range(HEADER_BYTES, DENSE_BYTES, 3)):
        word = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16)
        if word:
            j = 4 * k
            out[j] = word & 63
            out[j + 1] = (word >> 6) & 63
            out[j + 2] = (word >> 12) & 63
            out[j + 3] = word >> 18
    return out


def _zero(length: int) -> bytes:
    return bytes([length - 1])


def _xzero(length: int) -> bytes:
    length -= 1
    return bytes([(length >> 8) | 0x40, length & 0xFF])


def _val(value: int, length: int) -> int:
    return ((value - 1) << 2 | (length - 1)) | 0x80


def _opcode(buf: bytes | bytearray, p: int) -> tuple[int, int, int] | None:
    """(registers covered, bytes, value) of the opcode at `p`; None if it is cut short."""
    b = buf[p]
    if b & 0xC0 == 0:
        return (b & 0x3F) + 1, 1, 0
    if b & 0x80:
        return (b & 0x03) + 1, 1, ((b >> 2) & 0x1F) + 1
    if p + 1 >= len(buf):
        return None
    return (((b & 0x3F) << 8) | buf[p + 1]) + 1, 2, 0


def _opcodes(buf: bytes | bytearray) -> list[tuple[int, int]] | None:
    """(value, run length) of each sparse opcode; None if the last one is cut short."""
    runs = []
    p, end = HEADER_BYTES, len(buf)
    while p < end:
        op = _opcode(buf, p)
        if op is None:
            return None
        span, size, value = op
        runs.append((value, span))
        p += size
    return runs


def _sparse_runs(buf: bytes | bytearray) -> list[tuple[int, int]] | None:
    """The runs; None when they do not cover exactly 16,384 registers (a corrupt value).

    An opcode running past the last register is corruption too, a VAL included: Redis 7.0's
    first readers stopped at such a VAL and kept the value, but the fix for CVE-2025-32023
    (in the Debian redis-server 7.0.15 we compare with) refuses it, in the conversion to
    dense (PFDEBUG, promotions) and in merges (PFMERGE, PFCOUNT of several keys) alike.
    """
    runs = _opcodes(buf)
    if runs is None or sum(span for _, span in runs) != REGISTERS:
        return None
    return runs


def sparse_to_dense(buf: bytes | bytearray) -> bytearray | None:
    """The dense form of a value (itself if already dense); None if the sparse one is corrupt."""
    if buf[4] == DENSE:
        return bytearray(buf)
    runs = _sparse_runs(buf)
    if runs is None:
        return None
    dense = bytearray(buf[:HEADER_BYTES]) + bytearray(DENSE_BYTES - HEADER_BYTES)
    dense[4] = DENSE
    index = 0
    for value, span in runs:
        if value:
            for i in range(index, index + span):
                _dense_set(dense, i, value)
        index += span
    return dense


class SparseCursor:
    """Where the last `sparse_set` started its merge scan: an opcode boundary the next call,
    for a higher register, may start from (PFMERGE sets registers in order, and a scan from
    the start for each would cost the square of the string's length)."""

    __slots__ = ("first", "pos", "prev")

    def __init__(self) -> None:
        self.pos = HEADER_BYTES
        self.first = 0
        self.prev: int | None = None


def sparse_set(
    buf: bytearray, index: int, count: int, cursor: SparseCursor | None = None
) -> tuple[bytearray, int]:
    """Raise register `index` to `count` in a sparse value, as Redis's `hllSparseSet`:
    (the value, 1 if changed, 0 if not, -1 if corrupt). The value may come back dense."""
    if count > SPARSE_VAL_MAX_VALUE:
        return _promote(buf, index, count)
    # Step 1: find the opcode covering `index`, and the one before it.
    if cursor is not None:
        p, first, prev = cursor.pos, cursor.first, cursor.prev
    else:
        p, first, prev = HEADER_BYTES, 0, None
    prev_first = 0
    prev_prev: int | None = None
    advanced = False  # whether `prev_first` and `prev_prev` are known (set by this scan)
    end = len(buf)
    span = size = value = 0
    while p < end:
        op = _opcode(buf, p)
        if op is None:
            return buf, -1
        span, size, value = op
        if index <= first + span - 1:
            break
        prev_prev, prev, prev_first = prev, p, first
        advanced = True
        p += size
        first += span
    if span == 0 or p >= end:
        return buf, -1
    b = buf[p]
    is_val = bool(b & 0x80)
    is_xzero = not is_val and b & 0xC0 == 0x40
    runlen = span
    # Step 2: the cases that change the opcode in place, then the general split.
    if is_val and value >= count:
        return buf, 0
    if runlen == 1 and (is_val or not is_xzero):
        buf[p] = _val(count, 1)
    else:
        last = first + span - 1
        seq = bytearray()
        if not is_val:
            if index != first:
                length = index - first
                seq += _xzero(length) if length > SPARSE_ZERO_MAX_LEN else _zero(length)
            seq.append(_val(count, 1))
            if index != last:
                length = last - index
                seq += _xzero(length) if length > SPARSE_ZERO_MAX_LEN else _zero(length)
        else:
            if index != first:
                seq.append(_val(value, index - first))
            seq.append(_val(count, 1))
            if index != last:
                seq.append(_val(value, last - index))
        # Step 3: put the new opcodes in place of the old one.
        old_size = 2 if is_xzero else 1
        delta = len(seq) - old_size
        if delta > 0 and len(buf) + delta > SPARSE_MAX_BYTES:
            return _promote(buf, index, count)
        buf[p : p + old_size] = seq
    # Step 4: merge neighbouring VAL opcodes of one value, in the five opcodes from `prev`.
    q = prev if prev is not None else HEADER_BYTES
    end = len(buf)
    scan = 5
    while q < end and scan > 0:
        scan -= 1
        c = buf[q]
        if c & 0xC0 == 0x40:
            q += 2
            continue
        if c & 0xC0 == 0:
            q += 1
            continue
        if q + 1 < end and buf[q + 1] & 0x80:
            v1 = ((c >> 2) & 0x1F) + 1
            nxt = buf[q + 1]
            if v1 == ((nxt >> 2) & 0x1F) + 1:
                length = (c & 0x03) + 1 + (nxt & 0x03) + 1
                if length <= SPARSE_VAL_MAX_LEN:
                    buf[q + 1] = _val(v1, length)
                    del buf[q]
                    end -= 1
                    continue
        q += 1
    if cursor is not None:
        # The merge above starts at `prev`: it still starts an opcode covering registers from
        # `prev_first` on, and nothing before it moved. Where that is not known, start over.
        if prev is None or not advanced:
            cursor.pos, cursor.first, cursor.prev = HEADER_BYTES, 0, None
        else:
            cursor.pos, cursor.first, cursor.prev = prev, prev_first, prev_prev
    invalidate_cache(buf)
    return buf, 1


def _promote(buf: bytearray, index: int, count: int) -> tuple[bytearray, int]:
    dense = sparse_to_dense(buf)
    if dense is None:
        return buf, -1
    _dense_set(dense, index, count)  # a register the sparse form could not hold: it grows
    return dense, 1


def add(buf: bytearray, element: bytes) -> tuple[bytearray, int]:
    """PFADD of one element: (the value, 1 if a register grew, 0 if not, -1 if corrupt)."""
    index, count = pattern(element)
    if buf[4] == DENSE:
        if _dense_get(buf, index) >= count:
            return buf, 0
        _dense_set(buf, index, count)
        return buf, 1
    return sparse_set(buf, index, count)


def registers(buf: bytes | bytearray) -> list[int] | None:
    """Every register of a valid value; None if a sparse one is corrupt."""
    if buf[4] == DENSE:
        return _dense_registers(buf)
    runs = _sparse_runs(buf)
    if runs is None:
        return None
    out: list[int] = []
    for value, span in runs:
        out += [value] * span
    return out


def _sparse_histogram(buf: bytes | bytearray) -> list[int] | None:
    """Redis's `hllSparseRegHisto`: every opcode counts, and the total must be 16,384."""
    runs = _opcodes(buf)
    if runs is None or sum(span for _, span in runs) != REGISTERS:
        return None
    histogram = [0] * 64
    for value, span in runs:
        histogram[value] += span
    return histogram


def count_registers(regs: list[int]) -> int:
    histogram = [0] * 64
    for value in regs:
        histogram[value] += 1
    return estimate(histogram)


def estimate(histogram: list[int]) -> int:
    """The cardinality from the registers' histogram (Ertl, arXiv:1702.01284), in doubles
    as Redis computes it, rounded half away from zero as `llroundl`."""
    m = float(REGISTERS)
    z = m * _tau((m - histogram[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histogram[j]
        z *= 0.5
    z += m * _sigma(histogram[0] / m)
    e = _ALPHA_INF * m * m / z
    whole = math.floor(e)
    return int(whole + 1 if e - whole >= 0.5 else whole)


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        z_prime = z
        z += x * y
        y += y
        if z_prime == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        z_prime = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if z_prime == z:
            return z / 3


def cached_count(buf: bytes | bytearray) -> int | None:
    """The cardinality kept in the header, or None when it is stale."""
    if buf[15] & 0x80:
        return None
    return int.from_bytes(buf[8:16], "little")


def count(buf: bytes | bytearray) -> int | None:
    """The cardinality of one valid value; None if it is corrupt."""
    if buf[4] == DENSE:
        return count_registers(_dense_registers(buf))
    histogram = _sparse_histogram(buf)
    return None if histogram is None else estimate(histogram)


# ---------------------------------------------------------------------------------------------
# The commands (applied in order on every node; PFCOUNT too, see the module docstring)


def _value(rec: bytes | None) -> bytes | ErrorReply | None:
    """The HLL string of a record, None if absent, or the error Redis answers for it."""
    if rec is None:
        return None
    value = string_value(rec)
    if isinstance(value, ErrorReply):
        return value
    return value if is_hll(value) else WRONGTYPE_HLL


def apply_pfadd(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key = argv[1]
    old = w.lookup(db, key, now_ms)
    value = _value(old)
    if isinstance(value, ErrorReply):
        return value
    buf = new_sparse() if value is None else bytearray(value)
    updated = value is None
    for element in argv[2:]:
        buf, changed = add(buf, element)
        if changed < 0:
            if value is None or buf != value:
                w.put_string(db, key, bytes(buf), old)  # as Redis: what changed before stays
            return INVALIDOBJ
        updated = updated or changed == 1
    if not updated:
        return 0
    invalidate_cache(buf)
    w.put_string(db, key, bytes(buf), old)
    w.notify(N.STRING, b"pfadd", db, key)
    return 1


def apply_pfcount(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    if len(argv) > 2:
        union = _union(w, now_ms, db, argv[1:])
        return union if isinstance(union, ErrorReply) else count_registers(union[0])
    key = argv[1]
    old = w.lookup(db, key, now_ms)
    value = _value(old)
    if value is None:
        return 0
    if isinstance(value, ErrorReply):
        return value
    cached = cached_count(value)
    if cached is not None:
        return cached
    card = count(value)
    if card is None:
        return INVALIDOBJ
    buf = bytearray(value)
    buf[8:16] = card.to_bytes(8, "little")
    w.put_string(db, key, bytes(buf), old)
    return card


def _union(
    w: KeyspaceWriter, now_ms: int, db: int, keys: list[bytes]
) -> tuple[list[int], bool] | ErrorReply:
    """The register-wise maximum of the keys' HLLs (absent keys are empty ones), and whether
    any of them was dense; or the error of the first key that is no valid HLL."""
    union = [0] * REGISTERS
    any_dense = False
    for key in keys:
        value = _value(w.lookup(db, key, now_ms))
        if value is None:
            continue
        if isinstance(value, ErrorReply):
            return value
        any_dense = any_dense or value[4] == DENSE
        regs = registers(value)
        if regs is None:
            return INVALIDOBJ
        union = [max(a, b) for a, b in zip(union, regs, strict=True)]
    return union, any_dense


def apply_pfmerge(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    merged = _union(w, now_ms, db, argv[1:])
    if isinstance(merged, ErrorReply):
        return merged
    union, use_dense = merged
    dest = argv[1]
    old = w.lookup(db, dest, now_ms)
    buf = new_sparse() if old is None else bytearray(old[L.RECORD_HEADER_BYTES :])
    if use_dense:
        dense = sparse_to_dense(buf)
        if dense is None:
            return INVALIDOBJ
        buf = dense
    cursor = SparseCursor()
    for i, target in enumerate(union):
        if not target:
            continue
        if buf[4] == DENSE:
            if _dense_get(buf, i) < target:
                _dense_set(buf, i, target)
        else:
            buf, _ = sparse_set(buf, i, target, cursor)
    invalidate_cache(buf)
    w.put_string(db, dest, bytes(buf), old)
    w.notify(N.STRING, b"pfadd", db, dest)
    return OK


def decode_sparse(buf: bytes | bytearray) -> bytes:
    """PFDEBUG DECODE: a sparse value's opcodes as Redis prints them (`Z:<run>` for XZERO,
    `z:<run>` for ZERO, `v:<value>,<run>` for VAL), space-separated. Like Redis it reads every
    byte and checks nothing: an XZERO cut short by the end reads its second byte as 0 (the NUL
    Redis keeps after every string)."""
    words = []
    p, end = HEADER_BYTES, len(buf)
    while p < end:
        b = buf[p]
        if b & 0xC0 == 0:
            words.append(b"z:%d" % ((b & 0x3F) + 1))
            p += 1
        elif b & 0x80 == 0:
            low = buf[p + 1] if p + 1 < end else 0
            words.append(b"Z:%d" % ((((b & 0x3F) << 8) | low) + 1))
            p += 2
        else:
            words.append(b"v:%d,%d" % (((b >> 2) & 0x1F) + 1, (b & 0x03) + 1))
            p += 1
    return b" ".join(words)


def apply_pfdebug(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """PFDEBUG GETREG | DECODE | ENCODING | TODENSE <key>, as Redis 7.0's `pfdebugCommand`.

    The key is looked up and checked before the subcommand is. GETREG and TODENSE store a
    sparse value dense, keeping its TTL and cached cardinality; Redis propagates that change
    to its replicas, and here it is this entry's write on every node. Neither notifies.
    """
    sub = argv[1].lower()
    key = argv[2]
    old = w.lookup(db, key, now_ms)
    value = _value(old)
    if value is None:
        return NO_KEY
    if isinstance(value, ErrorReply):
        return value
    if sub in (b"getreg", b"todense"):
        converted = value[4] == SPARSE
        dense = sparse_to_dense(value)  # a copy of a dense value
        if dense is None:
            return INVALIDOBJ
        if converted:
            w.put_string(db, key, bytes(dense), old)
        if sub == b"todense":
            return int(converted)
        registers_out: list[Reply] = [*_dense_registers(dense)]
        return registers_out
    if sub == b"decode":
        return NOT_SPARSE if value[4] != SPARSE else decode_sparse(value)
    if sub == b"encoding":
        return SimpleString(b"sparse" if value[4] == SPARSE else b"dense")
    # Redis formats the subcommand with %s: it ends at a NUL; CR and LF become spaces.
    name = argv[1].split(b"\0", 1)[0].decode("utf-8", "replace")
    name = name.replace("\r", " ").replace("\n", " ")
    return ErrorReply(f"ERR Unknown PFDEBUG subcommand '{name}'")
