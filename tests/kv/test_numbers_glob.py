"""Redis number parsing/formatting and glob matching, checked against known Redis answers."""

from __future__ import annotations

import pytest

from seshat.kv.glob import match
from seshat.kv.numbers import (
    INFINITY,
    add_long_double,
    format_long_double,
    parse_cursor,
    parse_int,
    parse_long_double,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [(b"0", 0), (b"-5", -5), (b"9223372036854775807", (1 << 63) - 1),
     (b"-9223372036854775808", -(1 << 63)), (b"-0", None), (b"007", None), (b"+1", None),
     (b" 1", None), (b"1 ", None), (b"", None), (b"9223372036854775808", None), (b"1.0", None)],
)  # fmt: skip
def test_parse_int(text: bytes, value: int | None) -> None:
    assert parse_int(text) == value


def test_parse_cursor_is_strtoull() -> None:
    assert parse_cursor(b"0") == 0
    assert parse_cursor(b"-1") == (1 << 64) - 1
    assert parse_cursor(b"18446744073709551616") is None
    assert parse_cursor(b"x") is None


def incr(a: bytes, b: bytes) -> bytes:
    x, y = parse_long_double(a), parse_long_double(b)
    assert x is not None and y is not None and x is not INFINITY and y is not INFINITY
    total = add_long_double(x, y)  # type: ignore[arg-type]
    return format_long_double(total)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "out"),
    [(b"0", b"0.1", b"0.1"), (b"0.1", b"0.2", b"0.3"), (b"1e20", b"0.3", b"100000000000000000000"),
     (b"10.5", b"-10.5", b"0"), (b"0", b"3.0000000000000000001", b"3"), (b"0x10", b"1", b"17"),
     (b"1.23456789012345678", b"5e-18", b"1.23456789012345678"), (b"0", b"-0.0", b"0")],
)  # fmt: skip
def test_incrbyfloat_arithmetic_is_long_double(a: bytes, b: bytes, out: bytes) -> None:
    assert incr(a, b) == out


@pytest.mark.parametrize("text", [b"abc", b"nan", b" 1", b"1 ", b"1e5000", b"1e-5000", b""])
def test_invalid_floats(text: bytes) -> None:
    assert parse_long_double(text) is None


@pytest.mark.parametrize(
    ("pattern", "string", "result"),
    [(b"*", b"", True), (b"a*", b"abc", True), (b"?", b"", False), (b"[ab]c", b"bc", True),
     (b"[^a]c", b"ac", False), (b"[c-a]", b"b", True), (b"h\\[e]llo", b"h[e]llo", True),
     (b"*[", b"a[", False), (b"a*b*c", b"aXbYc", True), (b"[a", b"a", True),
     (b"a\\", b"a\\", True), (b"**x", b"yx", True)],
)  # fmt: skip
def test_glob(pattern: bytes, string: bytes, result: bool) -> None:
    assert match(pattern, string) is result
