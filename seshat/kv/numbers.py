"""Number parsing and formatting exactly as Redis does it, for the command layer.

- `parse_int` is Redis `string2ll`: optional `-`, no `+`, no leading zeros, no spaces, int64.
- `parse_long_double` is Redis `string2ld` (C `strtold` on x86-64: 80-bit extended precision),
  emulated exactly with `Fraction`: the decimal (or hex) text is rounded once, half to even, to a
  64-bit significand. INCRBYFLOAT results differ from what a Python `float` would give (Redis
  answers `0.3` for 0.1 + 0.2), so doubles will not do.
- `format_long_double` is Redis `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` with trailing zeros and
  a trailing point removed, `-0` printed as `0`. The protocol package may grow a shared
  `format_long_double`; this one is private to kv until then.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Final

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1
UINT64_MAX: Final = (1 << 64) - 1

_INT_RE: Final = re.compile(rb"-?[1-9][0-9]*|0")
_DEC_RE: Final = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_HEX_RE: Final = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_INF_RE: Final = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
_CURSOR_RE: Final = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")

# x87 extended precision: 64-bit significand, exponent range of IEEE binary128-like width.
_LD_MANT_BITS: Final = 64
_LD_MAX_EXP: Final = 16384  # values >= 2**16384 overflow to infinity
_LD_MIN_EXP: Final = -16445  # smallest subnormal is 2**-16445
_LONG_DOUBLE_CHARS_MAX: Final = 5 * 1024  # MAX_LONG_DOUBLE_CHARS in Redis


class _Inf:
    """Marker for a parsed infinity (Redis accepts `inf` as a float, then refuses the result)."""


INFINITY: Final = _Inf()


def parse_int(b: bytes) -> int | None:
    """Redis `string2ll`: the int64 written in `b` in canonical form, or None."""
    if len(b) > 20 or _INT_RE.fullmatch(b) is None:
        return None
    n = int(b)
    if n < INT64_MIN or n > INT64_MAX:
        return None
    return n


def parse_cursor(b: bytes) -> int | None:
    """Redis `parseScanCursorOrReply` (`strtoull`): spaces and a sign allowed, `-n` wraps."""
    m = _CURSOR_RE.fullmatch(b)
    if m is None:
        return None
    n = int(m.group(2))
    if n > UINT64_MAX:
        return None
    return (-n) & UINT64_MAX if m.group(1) == b"-" else n


def _round_to_long_double(x: Fraction) -> Fraction | _Inf | None:
    """Round `x` to the nearest x87 long double, half to even; None when it underflows to 0."""
    if x == 0:
        return x
    sign = -1 if x < 0 else 1
    a = abs(x)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    # now 2**e <= a < 2**(e+1); keep 64 significant bits (fewer for subnormals)
    shift = max(e - (_LD_MANT_BITS - 1), _LD_MIN_EXP)
    scaled = a / (Fraction(2) ** shift)
    m = round(scaled)  # Fraction.__round__ rounds half to even
    if m == 0:
        return None
    value = m * Fraction(2) ** shift
    if value >= Fraction(2) ** _LD_MAX_EXP:
        return INFINITY
    return sign * value


def _parse_exact(b: bytes) -> Fraction | _Inf | None:
    m = _DEC_RE.fullmatch(b)
    if m is not None:
        sign, whole, frac, exp = m.groups()
        frac = frac or b""
        if not whole and not frac:
            return None
        digits = int(whole + frac)
        power = int(exp or b"0") - len(frac)
        # A huge exponent on zero digits is still zero; on others it is certainly out of range.
        if digits == 0:
            return Fraction(0)
        if power > 2 * _LD_MAX_EXP:
            return INFINITY
        if power < -3 * _LD_MAX_EXP:
            return None  # strtold underflows to 0 with ERANGE
        value = Fraction(digits) * Fraction(10) ** power
        return -value if sign == b"-" else value
    m = _HEX_RE.fullmatch(b)
    if m is not None:
        sign, whole, frac, exp = m.groups()
        frac = frac or b""
        if not whole and not frac:
            return None
        digits = int(whole + frac, 16)
        power = int(exp or b"0") - 4 * len(frac)
        if digits == 0:
            return Fraction(0)
        if abs(power) > 4 * _LD_MAX_EXP:
            return INFINITY if power > 0 else None
        value = Fraction(digits) * Fraction(2) ** power
        return -value if sign == b"-" else value
    if _INF_RE.fullmatch(b) is not None:
        return INFINITY
    return None


def parse_long_double(b: bytes) -> Fraction | _Inf | None:
    """Redis `string2ld`: the long double in `b` (exact value as a Fraction), INFINITY, or None.

    None covers what Redis refuses: empty, too long, leading space, trailing junk, NaN, and
    out-of-range values (`strtold` sets ERANGE: overflow to HUGE_VAL or underflow to 0).
    """
    if not b or len(b) >= _LONG_DOUBLE_CHARS_MAX or b[:1].isspace():
        return None
    exact = _parse_exact(b)
    if exact is None or isinstance(exact, _Inf):
        return exact
    rounded = _round_to_long_double(exact)
    if rounded is None:
        return None  # underflow: strtold returns 0 with ERANGE
    if isinstance(rounded, _Inf):
        return None  # overflow: HUGE_VAL with ERANGE
    return rounded


def add_long_double(a: Fraction, b: Fraction) -> Fraction | _Inf:
    """`a + b` in long double arithmetic (both already long doubles)."""
    r = _round_to_long_double(a + b)
    if r is None:
        return Fraction(0)
    return r


def format_long_double(x: Fraction) -> bytes:
    """Redis `ld2string` human mode: `%.17Lf`, trailing zeros and point removed, no `-0`."""
    scaled = round(x * 10**17)  # printf rounds the exact binary value half to even
    neg = scaled < 0
    digits = str(abs(scaled)).rjust(18, "0")
    text = digits[:-17] + "." + digits[-17:]
    text = text.rstrip("0").rstrip(".")
    if neg and text != "0":
        text = "-" + text
    return text.encode()
