"""Goal: the parser turns bytes into exactly the commands and errors Redis 7.0.15 produces.

The tables below were checked against a real redis-server (test_resp_against_redis.py replays
the error rows on one); every row runs on both engines, in one piece and split at every byte.
Hypothesis then checks round trips and that the hiredis engine never disagrees with the pure
Python one on arbitrary bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ENGINES, make_parser
from seshat.protocol import (
    NEED_MORE,
    Parser,
    ParserLimits,
    ProtocolError,
    QueryBufferLimitError,
    encode_command,
)

Outcome = tuple[list[list[bytes]], str | None]


def drain(parser: Parser) -> Outcome:
    """Commands available now, and the protocol error that stopped them (None: need more)."""
    commands: list[list[bytes]] = []
    while True:
        try:
            command = parser.next_command()
        except ProtocolError as error:
            return commands, error.message
        if command is NEED_MORE:
            return commands, None
        assert isinstance(command, list)
        commands.append(command)


def parse_chunks(engine: str, chunks: list[bytes], **kwargs: object) -> Outcome:
    """Feed chunks one by one, draining after each, as a connection does."""
    parser = make_parser(engine, **kwargs)
    commands: list[list[bytes]] = []
    for chunk in chunks:
        parser.feed(chunk)
        got, error = drain(parser)
        commands += got
        if error is not None:
            return commands, error
    return commands, None


PING = [b"PING"]
P = "Protocol error: "
GOOD: list[tuple[bytes, list[list[bytes]]]] = [
    (b"*1\r\n$4\r\nPING\r\n", [PING]),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nval\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
     [[b"SET", b"k", b"val"], [b"GET", b"k"]]),
    (b"*1\r\n$0\r\n\r\n", [[b""]]),
    (b"*0\r\n*1\r\n$4\r\nPING\r\n", [PING]),  # *0 is an empty command, skipped
    (b"*-10\r\nPING\r\n", [PING]),  # so is any negative count
    (b"*1\rX$4\r\nPING\r\n", [PING]),  # the byte after a header's \r is not checked
    (b"*1\r\n$4\r\nPINGXX*1\r\n$4\r\nPING\r\n", [PING, PING]),  # nor the 2 after a payload
    (b"*1\r\n$4\r\nPI\x00G\r\n", [[b"PI\x00G"]]),  # payloads are binary
    (b"*1\r\n$3\r\n+(=\r\n", [[b"+(="]]),  # suspect bytes inside payloads are fine
    (b"*2\r\n$1\r\n~\r\n$1\r\n|\r\n*1\r\n$1\r\n>\r\n", [[b"~", b"|"], [b">"]]),
    (b"PING\r\n", [PING]),
    (b"PING\n", [PING]),
    (b"\r\n\r\nPING\r\n", [PING]),  # blank inline lines are skipped
    (b"  \r\nPING\r\n", [PING]),
    (b"+PING\r\n", [[b"+PING"]]),  # not `*`: an inline line, whatever it looks like
    (b"$4\r\nPING\r\n", [[b"$4"], PING]),
    (b'SET k "a b"\r\n*1\r\n$4\r\nPING\r\n', [[b"SET", b"k", b"a b"], PING]),
    (b"*1\r\n$4\r\nPING\r\nECHO x\r\n*1\r\n$4\r\nPING\r\n", [PING, [b"ECHO", b"x"], PING]),
]
WAITING: list[bytes] = [
    b"*1\r",  # the byte after \r has not come
    b"*1\r\n$4\r\nPING\r",
    b"*2\r\n$4\r\nECHO\r\n",
    b"PING\x00\r\n",  # Redis's strchr stops at NUL: no line yet
    b"*1\x00\r\n$4\r\nPING\r\n",
    b"*2147483647\r\n",  # Redis 7.0 allows counts up to INT_MAX
    b"*1\r\n$536870912\r\n",  # proto-max-bulk-len itself is allowed
    b"A" * 65536,  # exactly the inline limit, still waiting
    b"*1\r\n" + b"$" * 65536,
    b"*" * 65536,
]
BAD: list[tuple[bytes, list[list[bytes]], str]] = [
    (b"*2147483648\r\n", [], P + "invalid multibulk length"),
    (b"*\r\n", [], P + "invalid multibulk length"),
    (b"*-0\r\n", [], P + "invalid multibulk length"),
    (b"*+1\r\n", [], P + "invalid multibulk length"),
    (b"*1 \r\n", [], P + "invalid multibulk length"),
    (b"*01\r\n$4\r\nPING\r\n", [], P + "invalid multibulk length"),
    (b"*99999999999999999999\r\n", [], P + "invalid multibulk length"),
    (b"*1\r\n$04\r\nPING\r\n", [], P + "invalid bulk length"),
    (b"*1\r\n$536870913\r\n", [], P + "invalid bulk length"),
    (b"*1\r\n$-1\r\n", [], P + "invalid bulk length"),
    (b"*1\r\n$\r\n", [], P + "invalid bulk length"),
    (b"*1\r\n+PING\r\n", [], P + "expected '$', got '+'"),
    (b"*1\r\n\n\r\n", [], P + "expected '$', got ' '"),
    (b"*1\r\n\r\n", [], P + "expected '$', got ' '"),
    (b"*1\r\n\xff\r\n", [], P + "expected '$', got '\udcff'"),
    (b"*2\r\n$4\r\nECHO\r\n:1\r\n", [], P + "expected '$', got ':'"),
    (b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\nx\r\n", [], P + "expected '$', got '*'"),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", [], P + "expected '$', got 'f'"),
    (b"*1\r\n$4\r\nPING\r\n*2\r\n:1\r\n", [PING], P + "expected '$', got ':'"),
    (b'ECHO "foo\r\n', [], P + "unbalanced quotes in request"),
    (b'*1\r\n$4\r\nPING\r\nECHO "a"b\r\n', [PING], P + "unbalanced quotes in request"),
    (b"*" + b"1" * 70000, [], P + "too big mbulk count string"),
    (b"*" * 65537, [], P + "too big mbulk count string"),
    (b"*1\r\n$" + b"1" * 70000, [], P + "too big bulk count string"),
    (b"*1\r\n" + b"$" * 65537, [], P + "too big bulk count string"),
    (b"*1\r\n$4\x00" + b"1" * 65537, [], P + "too big bulk count string"),
    (b"A" * 65537, [], P + "too big inline request"),
    (b"PING\x00" + b"\r\n" * 40000, [], P + "too big inline request"),
    (b"*1\r\n$4\r\nPING\r\n" + b"A" * 65537, [PING], P + "too big inline request"),
]
SMALL = 200  # split-at-every-byte only for inputs this short


@pytest.mark.parametrize(("data", "expected"), GOOD)
def test_good_input_gives_commands(engine: str, data: bytes, expected: list[list[bytes]]) -> None:
    assert parse_chunks(engine, [data]) == (expected, None)


@pytest.mark.parametrize("data", WAITING)
def test_incomplete_input_waits(engine: str, data: bytes) -> None:
    assert parse_chunks(engine, [data]) == ([], None)


@pytest.mark.parametrize(("data", "before", "message"), BAD)
def test_bad_input_gives_redis_error(
    engine: str, data: bytes, before: list[list[bytes]], message: str
) -> None:
    assert parse_chunks(engine, [data]) == (before, message)


ALL_CASES = [(d, (e, None)) for d, e in GOOD] + [(d, ([], None)) for d in WAITING]
ALL_CASES += [(d, (b, m)) for d, b, m in BAD]


@pytest.mark.parametrize(("data", "expected"), [c for c in ALL_CASES if len(c[0]) <= SMALL])
def test_every_split_point_gives_the_same_result(
    engine: str, data: bytes, expected: Outcome
) -> None:
    for cut in range(1, len(data)):
        assert parse_chunks(engine, [data[:cut], data[cut:]]) == expected, cut
    assert parse_chunks(engine, [data[i : i + 1] for i in range(len(data))]) == expected


def test_pipeline_split_at_every_byte(engine: str) -> None:
    commands = [[b"SET", b"key:%d" % i, b"v" * i] for i in range(12)] + [[b"PING"]]
    data = b"".join(encode_command(c) for c in commands)
    for cut in range(1, len(data)):
        assert parse_chunks(engine, [data[:cut], data[cut:]]) == (commands, None), cut


def test_large_payload_fed_in_small_pieces(engine: str) -> None:
    value = bytes(range(256)) * 4096  # 1 MiB, crosses the fast-path size tables
    data = encode_command([b"SET", b"k", value]) + encode_command([b"GET", b"k"])
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    assert parse_chunks(engine, chunks) == ([[b"SET", b"k", value], [b"GET", b"k"]], None)


def test_error_is_sticky_and_commands_before_it_come_first(engine: str) -> None:
    parser = make_parser(engine)
    parser.feed(b"*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n")
    assert parser.next_command() == PING
    for _ in range(2):
        with pytest.raises(ProtocolError) as info:
            parser.next_command()
        assert info.value.message == P + "expected '$', got ':'"
    assert info.value.to_reply().message == "ERR " + P + "expected '$', got ':'"


def test_next_commands_returns_the_whole_batch(engine: str) -> None:
    parser = make_parser(engine)
    parser.feed(encode_command([b"PING"]) * 3 + b"*1\r\n$4\r\nPI")
    assert parser.next_commands() == [PING] * 3
    assert parser.next_commands() == []
    parser.feed(b"NG\r\n*1\r\n:")
    assert parser.next_commands() == [PING]
    assert parser.next_commands() == []
    parser.feed(b"1\r\n")
    with pytest.raises(ProtocolError):
        parser.next_commands()


def test_next_command_and_next_commands_interleave(engine: str) -> None:
    parser = make_parser(engine)
    parser.feed(encode_command([b"A"]) + encode_command([b"B"]) + encode_command([b"C"]))
    assert parser.next_command() == [b"A"]
    assert parser.next_commands() == [[b"B"], [b"C"]]
    assert parser.next_command() is NEED_MORE


# ---- limits -----------------------------------------------------------------------------------

UNAUTHENTICATED: list[tuple[bytes, str | None]] = [
    (b"*10\r\n", None),
    (b"*11\r\n", P + "unauthenticated multibulk length"),
    (b"*11\r\n$1\r\n", P + "unauthenticated multibulk length"),
    (b"*2\r\n$16384\r\n", None),
    (b"*2\r\n$16385\r\n", P + "unauthenticated bulk length"),
    (b"*2147483648\r\n", P + "invalid multibulk length"),  # checked first, as in Redis
    (b"*1\r\n$536870913\r\n", P + "invalid bulk length"),
    (b"ECHO " + b"a" * 20000 + b"\r\n", None),  # inline lines have no pre-AUTH limit
]


@pytest.mark.parametrize(("data", "message"), UNAUTHENTICATED)
def test_unauthenticated_limits(engine: str, data: bytes, message: str | None) -> None:
    commands, error = parse_chunks(engine, [data], authenticated=False)
    assert error == message
    assert parse_chunks(engine, [data], authenticated=True)[1] in (None, message)


def test_auth_in_a_pipeline_lifts_the_limits_for_what_follows(engine: str) -> None:
    parser = make_parser(engine, authenticated=False)
    big = [b"MSET"] + [b"k"] * 20
    parser.feed(encode_command([b"AUTH", b"secret"]) + encode_command(big))
    assert parser.next_command() == [b"AUTH", b"secret"]
    parser.authenticated = True
    assert parser.next_command() == big
    assert parser.next_command() is NEED_MORE


def test_unauthenticated_parser_hands_out_one_command_at_a_time(engine: str) -> None:
    parser = make_parser(engine, authenticated=False)
    parser.feed(encode_command([b"PING"]) * 2 + b"*11\r\n")
    assert parser.next_commands() == [PING]
    assert parser.next_commands() == [PING]
    with pytest.raises(ProtocolError, match="unauthenticated multibulk length"):
        parser.next_commands()


@pytest.mark.parametrize(
    ("limits", "data", "message"),
    [
        (ParserLimits(bulk_bytes_max=10), b"*1\r\n$11\r\n", P + "invalid bulk length"),
        (ParserLimits(bulk_bytes_max=10), b"*1\r\n$10\r\n0123456789\r\n", None),
        (ParserLimits(multibulk_count_max=3), b"*4\r\n", P + "invalid multibulk length"),
        (ParserLimits(multibulk_count_max=3), b"*3\r\n", None),
        (ParserLimits(inline_bytes_max=8), b"123456789", P + "too big inline request"),
        (ParserLimits(inline_bytes_max=8), b"12345678", None),
    ],
)
def test_configured_limits(
    engine: str, limits: ParserLimits, data: bytes, message: str | None
) -> None:
    assert parse_chunks(engine, [data], limits=limits)[1] == message


def test_complete_command_over_a_small_limit_is_refused(engine: str) -> None:
    limits = ParserLimits(bulk_bytes_max=3, multibulk_count_max=2)
    data = encode_command([b"GET", b"k"]) + encode_command([b"SET", b"k", b"v"])
    assert parse_chunks(engine, [data], limits=limits) == (
        [[b"GET", b"k"]],
        P + "invalid multibulk length",
    )
    data = encode_command([b"GET", b"k"]) + encode_command([b"GET", b"long"])
    assert parse_chunks(engine, [data], limits=limits) == (
        [[b"GET", b"k"]],
        P + "invalid bulk length",
    )


def test_query_buffer_limit_closes_without_reply(engine: str) -> None:
    parser = make_parser(engine, limits=ParserLimits(query_buffer_bytes_max=100))
    parser.feed(b"*1\r\n$200\r\n")
    with pytest.raises(QueryBufferLimitError) as info:
        parser.feed(b"x" * 100)
    assert info.value.send_reply is False
    with pytest.raises(QueryBufferLimitError):
        parser.next_command()


def test_use_hiredis_false_needs_no_hiredis() -> None:
    parser = Parser(use_hiredis=False)
    parser.feed(encode_command([b"PING"]))
    assert parser.next_command() == PING


# ---- properties -------------------------------------------------------------------------------

arguments = st.lists(st.binary(max_size=40), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(commands=st.lists(arguments, min_size=1, max_size=8), cuts=st.lists(st.integers(0, 400)))
def test_round_trip_in_any_chunking(commands: list[list[bytes]], cuts: list[int]) -> None:
    data = b"".join(encode_command(c) for c in commands)
    points = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    chunks = [data[a:b] for a, b in zip(points, points[1:])]
    for engine in ENGINES:
        assert parse_chunks(engine, chunks) == (commands, None)


words = st.lists(st.binary(min_size=1, max_size=10).filter(
    lambda w: not any(b in w for b in b" \t\r\n\v\f\"'\0")), min_size=1, max_size=5)


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(words, min_size=1, max_size=5))
def test_inline_round_trip(lines: list[list[bytes]]) -> None:
    data = b"".join(b" ".join(w) + b"\r\n" for w in lines)
    expected = [w for w in lines if w[0][:1] != b"*"]
    if len(expected) != len(lines):
        return  # a word starting with * makes the line a multibulk
    for engine in ENGINES:
        assert parse_chunks(engine, [data]) == (expected, None)


protocol_bytes = st.binary(max_size=60) | st.lists(
    st.sampled_from([b"*", b"$", b"\r\n", b"\r", b"\n", b"1", b"2", b"0", b"-", b"+", b":",
                     b"x", b"\0", b" ", b'"', b"'", b"*1\r\n", b"$1\r\n", b"~", b"=", b"("]),
    max_size=30,
).map(b"".join)


@settings(max_examples=1000, deadline=None)
@given(data=protocol_bytes, cut=st.integers(0, 60))
def test_hiredis_engine_agrees_with_python_engine(data: bytes, cut: int) -> None:
    chunks = [data[:cut], data[cut:]]
    results = {engine: parse_chunks(engine, chunks) for engine in ENGINES}
    assert len(set(map(repr, results.values()))) == 1, results


@settings(max_examples=300, deadline=None)
@given(
    commands=st.lists(arguments, min_size=1, max_size=6),
    position=st.integers(0, 10_000),
    byte=st.sampled_from(b"*$+:-~>|=(\r\n0x\0"),
)
def test_engines_agree_on_corrupted_pipelines(
    commands: list[list[bytes]], position: int, byte: int
) -> None:
    data = bytearray(b"".join(encode_command(c) for c in commands))
    data[position % len(data)] = byte
    results = {engine: parse_chunks(engine, [bytes(data)]) for engine in ENGINES}
    assert len(set(map(repr, results.values()))) == 1, results
