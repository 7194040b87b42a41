"""Floating-point text exactly as Redis 7.0.15 writes it on x86-64 Linux.

Two formats reach clients:

- `format_double` is `addReplyDouble` (src/networking.c): `%.17g` of a C double, `inf`/`-inf`
  spelled out. ZSCORE, ZINCRBY, GEODIST... answer it as a bulk string in RESP2 and after `,` in
  RESP3. Python's `%.17g` is correctly rounded, as glibc's printf is, so the bytes are equal.
- `format_long_double` is `ld2string(..., LD_STR_HUMAN)` (src/util.c), used by INCRBYFLOAT and
  HINCRBYFLOAT: `%.17Lf` of an x87 80-bit long double, trailing zeros and a bare `.` removed,
  `-0` made `0`. Python has no long double, so values are exact `Fraction`s rounded to the 64-bit
  significand (round half to even, subnormals below 2**-16382) by `to_long_double`, and printed
  by exact integer arithmetic, ties to even as glibc does (checked: INCRBYFLOAT of 2**-18
  answers `0.00000381469726562`).

INCRBYFLOAT computes `strtold(stored) + strtold(increment)` in long double; the kv layer gets
the same bytes with `format_long_double(to_long_double(parse_long_double(a) +
parse_long_double(b)))`. Deviation: `parse_long_double` reads decimal text and `inf` but not C99
hexadecimal floats (`0x1p3`), which strtold also accepts; it returns None for those.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction

_SIGNIFICAND_BITS = 64  # x87 extended precision: explicit integer bit, 64-bit significand
_EXPONENT_MIN = -16382 - (_SIGNIFICAND_BITS - 1)  # scale of the smallest subnormal
_EXPONENT_MAX = 16384 - _SIGNIFICAND_BITS  # largest finite is (2**64 - 1) * 2**16320
_FIXED_DIGITS = 17  # the 17 of %.17Lf
_DECIMAL_TEXT = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INF_TEXT = re.compile(rb"[+-]?inf(?:inity)?", re.IGNORECASE)


def format_double(value: float) -> bytes:
    """`%.17g` of a double as Redis's addReplyDouble writes it (ZSCORE in RESP2 and RESP3)."""
    if math.isnan(value):  # glibc prints the sign of a NaN
        return b"-nan" if math.copysign(1.0, value) < 0 else b"nan"
    return b"%.17g" % value


def to_long_double(value: Fraction | Decimal | float | int) -> Fraction:
    """`value` rounded to the nearest x87 long double; OverflowError if that is infinite.

    A float fits exactly (53 < 64 bits); an exact sum of two long doubles rounds as the FPU's
    addition does, so this is also how to add them.
    """
    exact = value if isinstance(value, Fraction) else Fraction(value)
    if exact == 0:
        return Fraction(0)
    magnitude = abs(exact)
    scale = max(_floor_log2(magnitude) - (_SIGNIFICAND_BITS - 1), _EXPONENT_MIN)
    significand = _round_half_even(magnitude / Fraction(2) ** scale)
    if significand == 1 << _SIGNIFICAND_BITS:  # rounding carried into a new bit
        significand >>= 1
        scale += 1
    if scale > _EXPONENT_MAX:
        raise OverflowError("long double overflow")
    rounded = Fraction(significand) * Fraction(2) ** scale
    return rounded if exact > 0 else -rounded


def parse_long_double(text: bytes) -> Fraction | float | None:
    """What `string2ld` (strtold) reads from `text`: a long double, ±inf, or None if refused.

    Refused, as Redis refuses: empty or untrimmed text, trailing garbage, nan, and values that
    overflow to infinity or underflow to zero. Infinity spelled `inf`/`infinity` is accepted
    (INCRBYFLOAT then rejects the result itself).
    """
    if _INF_TEXT.fullmatch(text):
        return -math.inf if text.startswith(b"-") else math.inf
    if _DECIMAL_TEXT.fullmatch(text) is None:
        return None
    exact = Fraction(Decimal(text.decode("ascii")))
    try:
        value = to_long_double(exact)
    except OverflowError:
        return None
    if value == 0 and exact != 0:
        return None
    return value


def format_long_double(value: Fraction | Decimal | float | int) -> bytes:
    """INCRBYFLOAT's reply text: `%.17Lf` of the long double nearest `value`, zeros stripped.

    Raises OverflowError if `value` is infinite as a long double: Redis never replies that, it
    answers "increment would produce NaN or Infinity" before formatting.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise OverflowError("INCRBYFLOAT never formats inf or nan")
    scaled = to_long_double(value) * 10**_FIXED_DIGITS
    units = _round_half_even(abs(scaled))
    if units == 0:
        return b"0"
    whole, fraction = divmod(units, 10**_FIXED_DIGITS)
    text = b"%d.%017d" % (whole, fraction)
    text = text.rstrip(b"0").rstrip(b".")
    return b"-" + text if scaled < 0 else text


def _floor_log2(positive: Fraction) -> int:
    """floor(log2(x)) of a positive rational, exactly."""
    numerator, denominator = positive.numerator, positive.denominator
    guess = numerator.bit_length() - denominator.bit_length()
    if guess >= 0:
        below = numerator < denominator << guess
    else:
        below = numerator << -guess < denominator
    return guess - 1 if below else guess


def _round_half_even(positive: Fraction) -> int:
    """Nearest integer to a non-negative rational, ties to even (IEEE and glibc printf)."""
    quotient, remainder = divmod(positive.numerator, positive.denominator)
    twice = 2 * remainder
    if twice > positive.denominator or (twice == positive.denominator and quotient & 1):
        quotient += 1
    return quotient
