"""The sorted-set score codec and argument parsers: byte order is numeric order, parsing agrees
with C strtod as Redis uses it, and list/zset index math clamps as Redis does."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seshat.kv import zset_args as A
from seshat.kv.lists import normalise_index, parse_timeout, range_window
from seshat.kv.score_codec import (
    decode_score,
    encode_score,
    parse_range_bound,
    parse_score,
)
from seshat.protocol.replies import ErrorReply

SCORES = st.floats(allow_nan=False)


@given(a=SCORES, b=SCORES)
def test_byte_order_is_numeric_order(a: float, b: float) -> None:
    ea, eb = encode_score(a), encode_score(b)
    assert len(ea) == len(eb) == 8
    assert (ea < eb) == (a < b)
    assert (ea == eb) == (a == b)  # -0.0 == 0.0 share one encoding


@given(x=SCORES)
def test_round_trip(x: float) -> None:
    assert decode_score(encode_score(x)) == x
    if x == 0:
        assert math.copysign(1.0, decode_score(encode_score(x))) == 1.0


def test_edges() -> None:
    ordered = [-math.inf, -1.7976931348623157e308, -1.0, -5e-324, 0.0, 5e-324, 1.0, math.inf]
    encoded = [encode_score(x) for x in ordered]
    assert encoded == sorted(encoded)
    assert encode_score(-0.0) == encode_score(0.0)
    with pytest.raises(AssertionError):
        encode_score(math.nan)


@given(x=st.floats(allow_nan=False, allow_infinity=False))
def test_parse_score_reads_python_repr(x: float) -> None:
    assert parse_score(repr(x).encode()) == x
    assert parse_score(float.hex(x).encode()) == x


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"1", 1.0), (b"+5", 5.0), (b".5", 0.5), (b"5.", 5.0), (b"1e5", 1e5), (b"0x10", 16.0),
        (b"0x1p3", 8.0), (b"inf", math.inf), (b"-Infinity", -math.inf), (b"INF", math.inf),
        (b"4e-320", 4e-320), (b"-0", -0.0),
        (b"", None), (b" 5", None), (b"5 ", None), (b"1_0", None), (b"nan", None),
        (b"1e400", None), (b"1e-400", None), (b"abc", None), (b"1e", None), (b"0x", None),
        (b"infin", None), (b"0x1p99999", None), (b"1\x00", None),
    ],
)  # fmt: skip
def test_parse_score(text: bytes, expected: float | None) -> None:
    assert parse_score(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"1", (1.0, False)), (b"(1.5", (1.5, True)), (b"-inf", (-math.inf, False)),
        (b"(+inf", (math.inf, True)), (b"", (0.0, False)), (b"(", (0.0, True)),
        (b" 1", (1.0, False)), (b"1e400", (math.inf, False)), (b"   ", None), (b"5 ", None),
        (b"nan", None), (b"(nan", None), (b"[1", None), (b"1_0", None),
    ],
)  # fmt: skip
def test_parse_range_bound(text: bytes, expected: tuple[float, bool] | None) -> None:
    assert parse_range_bound(text) == expected


def test_zadd_option_errors() -> None:
    def err(*words: bytes) -> str:
        r = A.parse_zadd([b"zadd", b"k", *words])
        assert isinstance(r, ErrorReply)
        return r.message

    assert err(b"xx", b"nx", b"1", b"a") == A.ZADD_XX_NX.message
    assert err(b"gt", b"lt", b"1", b"a") == A.ZADD_GT_LT_NX.message
    assert err(b"nx", b"gt", b"1", b"a") == A.ZADD_GT_LT_NX.message
    assert err(b"incr", b"1", b"a", b"2", b"b") == A.ZADD_INCR_PAIRS.message
    assert err(b"1", b"a", b"2") == "ERR syntax error"
    assert err(b"x", b"a") == "ERR value is not a valid float"
    ok = A.parse_zadd([b"zadd", b"k", b"XX", b"gt", b"CH", b"1", b"a", b"(2", b"b"][:7])
    assert isinstance(ok, A.ZAddArgs) and ok.xx and ok.gt and ok.ch and ok.pairs == [(1.0, b"a")]


def test_range_option_errors() -> None:
    def parse(*words: bytes) -> A.RangeQuery | ErrorReply:
        return A.parse_range([b"zrange", b"k", *words], 1, False, None, None)

    assert parse(b"0", b"1", b"limit", b"0", b"1") == A.LIMIT_NEEDS_BY
    assert parse(b"[a", b"[b", b"bylex", b"withscores") == A.WITHSCORES_BYLEX
    assert parse(b"a", b"b", b"byscore") == A.MIN_FLOAT
    assert parse(b"a", b"b", b"bylex") == A.MIN_LEX
    assert parse(b"0", b"1", b"rev", b"rev") == ErrorReply("ERR syntax error")
    q = parse(b"(5", b"1", b"byscore", b"rev", b"limit", b"1", b"2", b"withscores")
    assert isinstance(q, A.RangeQuery)
    assert q.score == A.ScoreRange(1.0, 5.0, False, True) and q.rev and q.withscores
    assert (q.offset, q.limit) == (1, 2)


@pytest.mark.parametrize(
    ("start", "stop", "size", "expected"),
    [(0, -1, 5, (0, 4)), (-100, 100, 5, (0, 4)), (3, 1, 5, None), (5, 9, 5, None),
     (-2, -1, 5, (3, 4)), (0, 0, 0, None), (-1, -5, 5, None), (2, -3, 5, (2, 2))],
)  # fmt: skip
def test_range_windows(start: int, stop: int, size: int, expected: object) -> None:
    assert range_window(start, stop, size) == expected
    assert A.rank_window(start, stop, size) == expected


def test_list_index_and_timeout() -> None:
    assert normalise_index(-1, 3) == 2
    assert normalise_index(3, 3) is None
    assert normalise_index(-4, 3) is None
    assert parse_timeout(b"1.5") == 1500
    assert parse_timeout(b"0x10") == 16000
    assert parse_timeout(b"-0.0001") == 0
    assert isinstance(parse_timeout(b"-1"), ErrorReply)
    assert isinstance(parse_timeout(b"inf"), ErrorReply)
    assert isinstance(parse_timeout(b"x"), ErrorReply)


def test_encoding_is_kvrocks_bit_flip() -> None:
    one = struct.unpack(">Q", struct.pack(">d", 1.0))[0]
    assert encode_score(1.0) == (one | 1 << 63).to_bytes(8, "big")
    minus = struct.unpack(">Q", struct.pack(">d", -1.0))[0]
    assert encode_score(-1.0) == (minus ^ (1 << 64) - 1).to_bytes(8, "big")
