"""Sorted-set scores: Redis-exact parsing of score text, and an order-preserving byte encoding.

Encoding (as Apache Kvrocks encodes scores in its score column family): the 8 big-endian bytes
of the IEEE-754 double, with the sign bit flipped for positive numbers and every bit inverted
for negative ones. Unsigned byte order then equals numeric order, -inf < finite < +inf, so a
RocksDB range scan over `encode_score(score) + member` keys walks a sorted set in Redis order
(score, then member bytes). Two rules keep the map well defined:

- -0.0 and +0.0 compare equal in Redis (its skiplist orders equal scores by member), so both
  encode as +0.0; `encode_score(-0.0) == encode_score(0.0)`.
- NaN has no place in an order and Redis never stores one (parsing refuses it, arithmetic that
  makes one is an error or is replaced by 0), so encoding NaN is a bug and asserts.

Parsing follows Redis 7.0 exactly:

- `parse_score` is `getDoubleFromObject` (ZADD, ZINCRBY, WEIGHTS): C `strtod` over the whole
  text, no leading space, no NaN, no overflow to ±HUGE_VAL, no underflow to 0 (subnormals are
  fine); `inf`/`infinity` (any case) and hexadecimal floats are accepted.
- `parse_range_bound` is `zslParseRange` (ZCOUNT, ZRANGEBYSCORE, ...): an optional `(` for an
  exclusive bound, then `strtod`, which skips leading white space, accepts the empty string as
  0 (!), and saturates overflow to ±inf; only trailing text and NaN are refused.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Final

_SIGN_BIT: Final = 1 << 63
_ALL_BITS: Final = (1 << 64) - 1
_U64: Final = struct.Struct(">Q")
_DOUBLE: Final = struct.Struct(">d")

_DECIMAL: Final = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX: Final = re.compile(
    rb"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?"
)
_INF: Final = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
_NAN: Final = re.compile(rb"[+-]?nan(?:\([0-9A-Za-z_]*\))?", re.IGNORECASE)
# What C isspace() skips before a number (strtod skips it; getDoubleFromObject refuses it).
_C_SPACE: Final = b" \t\n\v\f\r"

SCORE_BYTES: Final = 8


def encode_score(score: float) -> bytes:
    """8 bytes whose unsigned order is the numeric order of `score` (-0.0 encodes as 0.0)."""
    assert score == score, "NaN has no order"  # noqa: PLR0124
    if score == 0.0:
        score = 0.0  # -0.0 == 0.0 in Redis order: one encoding for both
    bits: int = struct.unpack(">Q", struct.pack(">d", score))[0]
    bits = bits ^ _ALL_BITS if bits & _SIGN_BIT else bits | _SIGN_BIT
    return bits.to_bytes(8, "big")


def decode_score(data: bytes) -> float:
    """Inverse of `encode_score` (for a stored -0.0 it gives 0.0). Precompiled structs: every
    member a ZRANGE WITHSCORES returns passes here."""
    bits: int = _U64.unpack(data)[0]
    value: float = _DOUBLE.unpack(
        _U64.pack(bits ^ _SIGN_BIT if bits & _SIGN_BIT else bits ^ _ALL_BITS)
    )[0]
    return value


def pack_double(value: float) -> bytes:
    """The raw IEEE bytes of a score (the member -> score sub-entry)."""
    return struct.pack(">d", value)


def unpack_double(data: bytes) -> float:
    value: float = struct.unpack(">d", data)[0]
    return value


def _strtod_full(text: bytes) -> tuple[float, bool] | None:
    """C `strtod` consuming all of `text` (no leading space): `(value, erange)` or None.

    `erange` is strtod's ERANGE: overflow to ±inf or underflow to zero (glibc also sets it for
    inexact subnormal results; Redis ignores that case, so it is not reported here).
    """
    if _DECIMAL.fullmatch(text):
        value = float(text)  # correctly rounded, as glibc's strtod
        if math.isinf(value):
            return value, True
        if value == 0.0 and any(c in b"123456789" for c in text.split(b"e")[0].split(b"E")[0]):
            return value, True
        return value, False
    m = _HEX.fullmatch(text)
    if m is not None:
        sign, digits, exp = m.groups()
        body = digits.decode()
        if "." not in body:
            body += "."
        try:
            value = float.fromhex(f"{sign.decode()}0x{body}p{int(exp or b'0')}")
        except OverflowError:
            return (-math.inf if sign == b"-" else math.inf), True
        if value == 0.0 and any(c not in b"0." for c in digits):
            return value, True
        return value, False
    m = _INF.fullmatch(text)
    if m is not None:
        return (-math.inf if m.group(1) == b"-" else math.inf), False
    if _NAN.fullmatch(text):
        return math.nan, False
    return None


def parse_score(text: bytes) -> float | None:
    """Redis `getDoubleFromObject`: the double in `text`, or None (`value is not a valid float`)."""
    if not text or text[0] in _C_SPACE or b"\x00" in text:
        return None
    parsed = _strtod_full(text)
    if parsed is None:
        return None
    value, erange = parsed
    if erange and (math.isinf(value) or value == 0.0):
        return None
    if math.isnan(value):
        return None
    return value


def parse_range_bound(text: bytes) -> tuple[float, bool] | None:
    """Redis `zslParseRange` for one bound: `(value, exclusive)`, or None if not a float."""
    exclusive = text[:1] == b"("
    if exclusive:
        text = text[1:]
    text = text.split(b"\x00", 1)[0]  # C string: strtod stops at NUL and eptr[0] == '\0'
    stripped = text.lstrip(_C_SPACE)
    if not stripped:
        # strtod converted nothing and set eptr to the start: accepted (as 0) only when the
        # text is empty, since then eptr[0] is the terminating NUL.
        return (0.0, exclusive) if not text else None
    parsed = _strtod_full(stripped)
    if parsed is None:
        return None
    value = parsed[0]
    if math.isnan(value):
        return None
    return value, exclusive
