"""Bitmap commands on string values: GETBIT, SETBIT, BITCOUNT, BITPOS, BITOP.

A bitmap is a string read bit by bit, the most significant bit of byte 0 first, as in Redis.
Redis 7.0 looks a key up before it parses BITCOUNT's and BITPOS's range (a missing key answers
0 or the "infinite zeros" position whatever the range says); the order of checks below follows
redis-server 7.0.15 (`bitops.c`), and the differential tests hold it to that.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Final

from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv import notify as N
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import ErrorReply, Reply

BITS_MAX: Final = 512 * 1024 * 1024 * 8
"""Offsets stop at proto-max-bulk-len (512 MB) worth of bits, as in Redis."""

_FOLDS: Final[dict[bytes, Callable[[int, int], int]]] = {
    b"and": operator.and_,
    b"or": operator.or_,
    b"xor": operator.xor,
}
"""BITOP's operators over two or more sources (NOT takes exactly one)."""


def _offset(arg: bytes) -> int | ErrorReply:
    offset = parse_int(arg)
    if offset is None or offset < 0 or offset >= BITS_MAX:
        return E.BIT_OFFSET
    return offset


def string_value(rec: bytes | None) -> bytes | ErrorReply:
    """A string record's bytes (a missing key reads as empty), or WRONGTYPE."""
    if rec is None:
        return b""
    if rec[0] != L.TYPE_STRING:
        return E.WRONGTYPE
    return rec[L.RECORD_HEADER_BYTES :]


# ---------------------------------------------------------------------------------------------
# GETBIT, SETBIT


def read_getbit(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    offset = _offset(argv[2])
    if isinstance(offset, ErrorReply):
        return offset
    value = string_value(view.record(db, argv[1], now_ms))
    if isinstance(value, ErrorReply):
        return value
    byte = offset >> 3
    if byte >= len(value):
        return 0
    return (value[byte] >> (7 - (offset & 7))) & 1


def prepare_setbit(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    offset = _offset(argv[2])
    if isinstance(offset, ErrorReply):
        return offset
    if argv[3] not in (b"0", b"1"):
        return E.BIT_VALUE
    return argv


def apply_setbit(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    key, offset, on = argv[1], int(argv[2]), argv[3] == b"1"
    old = w.lookup(db, key, now_ms)
    value = string_value(old)
    if isinstance(value, ErrorReply):
        return value
    byte, mask = offset >> 3, 1 << (7 - (offset & 7))
    was = 0 if byte >= len(value) else int(bool(value[byte] & mask))
    if old is not None and byte < len(value) and was == on:
        return was  # unchanged: Redis does not count it as a modification (WATCH holds)
    grown = bytearray(value)
    if byte >= len(grown):
        grown.extend(bytes(byte + 1 - len(grown)))
    grown[byte] = grown[byte] | mask if on else grown[byte] & ~mask
    w.put_string(db, key, bytes(grown), old)
    w.notify(N.STRING, b"setbit", db, key)
    return was


# ---------------------------------------------------------------------------------------------
# BITCOUNT, BITPOS: a range in bytes (default) or bits, negative from the end, then clamped


def _unit_is_bit(arg: bytes) -> bool | ErrorReply:
    unit = arg.lower()
    if unit == b"bit":
        return True
    if unit == b"byte":
        return False
    return E.SYNTAX


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    """Redis's range rule: negatives count from the end, then both are clamped into the value
    (an empty result is start > end)."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    start, end = max(start, 0), max(end, 0)
    return start, min(end, total - 1)


def _bits(value: bytes, first: int, last: int) -> int:
    """Bits `first..last` (inclusive, 0 = the top bit of byte 0) as one integer."""
    chunk = int.from_bytes(value[first >> 3 : (last >> 3) + 1], "big")
    return (chunk >> (7 - (last & 7))) & ((1 << (last - first + 1)) - 1)


def read_bitcount(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    rec = view.record(db, argv[1], now_ms)
    if rec is None:
        return 0  # Redis 7.0 answers before it reads the range, so even a bad one gets 0
    value = string_value(rec)
    if isinstance(value, ErrorReply):
        return value
    if len(argv) == 2:
        return int.from_bytes(value, "big").bit_count()
    if len(argv) not in (4, 5):
        return E.SYNTAX
    start, end = parse_int(argv[2]), parse_int(argv[3])
    if start is None or end is None:
        return E.NOT_INTEGER
    if start < 0 and end < 0 and start > end:
        return 0  # Redis 7.0 answers this before it reads the unit, so even a bad one gets 0
    in_bits = False
    if len(argv) == 5:
        unit = _unit_is_bit(argv[4])
        if isinstance(unit, ErrorReply):
            return unit
        in_bits = unit
    start, end = _clamp(start, end, len(value) * (8 if in_bits else 1))
    if start > end:
        return 0
    if not in_bits:
        start, end = start * 8, end * 8 + 7
    return _bits(value, start, end).bit_count()


def read_bitpos(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    bit = parse_int(argv[2])
    if bit is None:
        return E.NOT_INTEGER
    if bit not in (0, 1):
        return E.BIT_ARGUMENT
    rec = view.record(db, argv[1], now_ms)
    if rec is None:
        return -1 if bit else 0  # a missing key is an endless run of zeros
    value = string_value(rec)
    if isinstance(value, ErrorReply):
        return value
    size = len(value)
    in_bits, end_given = False, False
    if len(argv) == 3:
        start, end = 0, size - 1
    elif len(argv) <= 6:
        parsed_start = parse_int(argv[3])
        if parsed_start is None:
            return E.NOT_INTEGER
        if len(argv) == 6:
            unit = _unit_is_bit(argv[5])
            if isinstance(unit, ErrorReply):
                return unit
            in_bits = unit
        if len(argv) >= 5:
            parsed_end = parse_int(argv[4])
            if parsed_end is None:
                return E.NOT_INTEGER
            end_given = True
        else:
            parsed_end = size * 8 + 7 if in_bits else size - 1
        start, end = _clamp(parsed_start, parsed_end, size * (8 if in_bits else 1))
    else:
        return E.SYNTAX
    if start > end:
        return -1  # an empty range holds neither a 0 nor a 1
    if not in_bits:
        start, end = start * 8, end * 8 + 7
    found = _first(value, start, end, bit)
    if found is not None:
        return found
    if bit == 1 or end_given:
        return -1
    return end + 1  # looking for a 0 with no end given: the string is padded with zeros


def _first(value: bytes, first: int, last: int, bit: int) -> int | None:
    """The position of the first `bit` in bits `first..last`, or None."""
    width = last - first + 1
    bits = _bits(value, first, last)
    if bit == 0:
        bits ^= (1 << width) - 1
    if bits == 0:
        return None
    return first + width - bits.bit_length()


# ---------------------------------------------------------------------------------------------
# BITOP


def prepare_bitop(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    op = argv[1].lower()
    if op != b"not" and op not in _FOLDS:
        return E.SYNTAX
    if op == b"not" and len(argv) != 4:
        return E.BITOP_NOT_ONE_KEY
    return [argv[0], op, *argv[2:]]


def apply_bitop(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    op, dest = argv[1], argv[2]
    sources = []
    for key in argv[3:]:
        value = string_value(w.lookup(db, key, now_ms))
        if isinstance(value, ErrorReply):
            return value
        sources.append(value)
    size = max(len(v) for v in sources)
    old = w.lookup(db, dest, now_ms)
    if size == 0:
        if old is not None:
            w.delete(db, dest, old)
            w.notify(N.GENERIC, b"del", db, dest)
        return 0
    numbers = [int.from_bytes(v.ljust(size, b"\x00"), "big") for v in sources]
    if op == b"not":
        result = ~numbers[0] & ((1 << (8 * size)) - 1)
    else:
        result = functools.reduce(_FOLDS[op], numbers)
    w.put(db, dest, L.string_record(result.to_bytes(size, "big"), 0), old)
    w.notify(N.STRING, b"set", db, dest)
    return size
