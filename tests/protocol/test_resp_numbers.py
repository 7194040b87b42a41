"""Goal: float text is byte-for-byte what Redis 7.0.15 prints (values taken from a real server).

`format_double` is ZSCORE's `%.17g`; `format_long_double` is INCRBYFLOAT's `%.17Lf` on an x87
long double. The differential test replays a subset on a live server.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seshat.protocol import format_double, format_long_double, parse_long_double, to_long_double

# (ZADD score text, what ZSCORE answered)
DOUBLES = [
    ("0.1", b"0.10000000000000001"),
    ("1.5", b"1.5"),
    ("10", b"10"),
    ("1e300", b"1.0000000000000001e+300"),
    ("3.0e3", b"3000"),
    ("1e-5", b"1.0000000000000001e-05"),
    ("5e17", b"5e+17"),
    ("inf", b"inf"),
    ("-inf", b"-inf"),
    ("123456789.123456789", b"123456789.12345679"),
    ("2.5e-320", b"2.4999721679567075e-320"),
    ("0.3", b"0.29999999999999999"),
    ("1e22", b"1e+22"),
    ("1e16", b"10000000000000000"),
    ("1e17", b"1e+17"),
    ("-1.25", b"-1.25"),
]
# (INCRBYFLOAT increments applied to a missing key, the replies)
INCREMENTS = [
    (["10.5"], [b"10.5"]),
    (["0.1", "0.2"], [b"0.1", b"0.3"]),
    (["3.0e3"], [b"3000"]),
    (["1e-5"], [b"0.00001"]),
    (["5.0e+17"], [b"500000000000000000"]),
    (["1.1", "2.2", "3.3"], [b"1.1", b"3.3", b"6.6"]),
    (["-0.1", "0.1"], [b"-0.1", b"0"]),
    (["1e-20"], [b"0"]),
    (["0.1234567890123456789"], [b"0.12345678901234568"]),
    (["1e30"], [b"1000000000000000000024696061952"]),
    (["1.0000000000000000001"], [b"1"]),
    (["3.814697265625e-06"], [b"0.00000381469726562"]),  # a tie, rounded to even
]


def incrbyfloat(increments: list[str]) -> list[bytes]:
    """What INCRBYFLOAT answers, step by step, from a missing key (value 0)."""
    replies, stored = [], b"0"
    for increment in increments:
        current, delta = parse_long_double(stored), parse_long_double(increment.encode())
        assert isinstance(current, Fraction) and isinstance(delta, Fraction)
        stored = format_long_double(to_long_double(current + delta))
        replies.append(stored)
    return replies


@pytest.mark.parametrize(("text", "expected"), DOUBLES)
def test_format_double(text: str, expected: bytes) -> None:
    assert format_double(float(text)) == expected


def test_format_double_nan_carries_its_sign() -> None:
    assert format_double(math.nan) == b"nan"
    assert format_double(-math.nan) == b"-nan"


@pytest.mark.parametrize(("increments", "expected"), INCREMENTS)
def test_incrbyfloat_text(increments: list[str], expected: list[bytes]) -> None:
    assert incrbyfloat(increments) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [(b"", None), (b" 1", None), (b"1 ", None), (b"nan", None), (b"1e5000", None),
     (b"1e-5000", None), (b"abc", None), (b"0x10", None), (b"inf", math.inf),
     (b"-Infinity", -math.inf), (b"1.5", Fraction(3, 2)), (b"+.5", Fraction(1, 2))],
)
def test_parse_long_double(text: bytes, expected: object) -> None:
    assert parse_long_double(text) == expected


def test_long_double_range() -> None:
    largest = Fraction(2**64 - 1) * Fraction(2) ** 16320
    assert to_long_double(largest) == largest
    with pytest.raises(OverflowError):
        to_long_double(Fraction(2) ** 16384)
    smallest = Fraction(1, 2**16445)
    assert to_long_double(smallest) == smallest
    assert to_long_double(smallest / 3) == 0


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_exact_long_doubles(value: float) -> None:
    assert to_long_double(value) == Fraction(value)


@given(st.integers(-(2**64), 2**64))
def test_integers_print_as_integers_when_exact(value: int) -> None:
    rounded = to_long_double(value)
    assert format_long_double(value) == b"%d" % int(rounded)
