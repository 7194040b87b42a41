"""Goal: differential check of the codec against a real redis-server 7.0 on a free port.

For malformed requests, the error line Redis sends before closing must equal `-ERR ` plus our
ProtocolError message (after the replies of the commands before it). Inline lines are echoed
through ECHO to compare word splitting. Doubles (ZSCORE, RESP2 and RESP3 after HELLO 3) and
INCRBYFLOAT texts must match our encoder and float formatting byte for byte.
Skipped, with the reason, when redis-server is not installed.
"""

from __future__ import annotations

import pytest

from conftest import RedisServer, make_parser
from seshat.protocol import (
    NEED_MORE,
    RESP2,
    RESP3,
    ProtocolError,
    encode,
    encode_command,
    format_long_double,
    parse_long_double,
    to_long_double,
)
from seshat.protocol.replies import Double, ErrorReply, Map, SimpleString
from test_resp_numbers import DOUBLES, INCREMENTS, incrbyfloat
from test_resp_parser import BAD, UNAUTHENTICATED

QUIT = encode_command([b"QUIT"])


def expected_reply(engine: str, data: bytes, **kwargs: object) -> bytes:
    """What Redis should send for `data`: +PONG per PING parsed, then the protocol error."""
    parser = make_parser(engine, **kwargs)
    parser.feed(data)
    out = b""
    while True:
        try:
            command = parser.next_command()
        except ProtocolError as error:
            return out + encode(error.to_reply(), RESP2)
        assert command is not NEED_MORE, "every input here must end in a protocol error"
        assert command == [b"PING"], command
        out += b"+PONG\r\n"


@pytest.mark.parametrize(("data", "message"), [(d, m) for d, _, m in BAD])
def test_protocol_errors_match_redis(
    redis_server: RedisServer, engine: str, data: bytes, message: str
) -> None:
    assert redis_server.exchange(data) == expected_reply(engine, data)


@pytest.mark.parametrize(
    "data", [d for d, m in UNAUTHENTICATED if m is not None and not d.startswith(b"ECHO")]
)
def test_unauthenticated_errors_match_redis(
    redis_server_with_password: RedisServer, engine: str, data: bytes
) -> None:
    expected = expected_reply(engine, data, authenticated=False)
    assert redis_server_with_password.exchange(data) == expected


INLINE_LINES = [
    b"a", b"a\\x41", b'"a b"', b"'a b'", b'a"b c"', b"a'b c'", b'"a\\"b"', b'"\\x41\\n\\t\\z"',
    b'"\\x4g"', b'"\\xff"', b'"\\x"', b"'a\\'b'", b"'a\\n'", b"''", b'""', b"b\x0bc", b"b\x0cc",
    b"\x0bx", b'"a"b', b'"foo', b'"\\"', b"'a\\\\'", b'""""', b'"a"\x0bb', b"x\ry", b'"a\rb"',
    b"a b", b"a\tb",
]


@pytest.mark.parametrize("line", INLINE_LINES)
def test_inline_splitting_matches_redis(
    redis_server: RedisServer, engine: str, line: bytes
) -> None:
    data = b"ECHO " + line + b"\r\n"
    parser = make_parser(engine)
    parser.feed(data)
    try:
        words = parser.next_command()
    except ProtocolError as error:
        assert redis_server.exchange(data) == encode(error.to_reply(), RESP2)
        return
    assert isinstance(words, list)
    if len(words) == 2:
        expected = encode(words[1], RESP2)
    else:
        expected = encode(ErrorReply("ERR wrong number of arguments for 'echo' command"), RESP2)
    assert redis_server.exchange(data + QUIT) == expected + b"+OK\r\n"


def session(server: RedisServer, commands: list[list[bytes]]) -> bytes:
    """Run commands on one connection (ending with QUIT) and return all the replies."""
    return server.exchange(b"".join(encode_command(c) for c in commands) + QUIT)


@pytest.mark.parametrize("protocol", [RESP2, RESP3])
def test_zscore_doubles_match_redis(redis_server: RedisServer, protocol: int) -> None:
    commands: list[list[bytes]] = [[b"HELLO", b"%d" % protocol]]
    expected_tail = b""
    for i, (text, _) in enumerate(DOUBLES):
        key = b"z:%d:%d" % (protocol, i)
        commands += [[b"ZADD", key, text.encode(), b"m"], [b"ZSCORE", key, b"m"]]
        expected_tail += b":1\r\n" + encode(Double(float(text)), protocol)
    replies = session(redis_server, commands)
    assert replies.endswith(expected_tail + b"+OK\r\n")


@pytest.mark.parametrize(("increments", "_expected"), INCREMENTS)
def test_incrbyfloat_matches_redis(
    redis_server: RedisServer, increments: list[str], _expected: list[bytes]
) -> None:
    key = b"f:" + "|".join(increments).encode()
    commands = [[b"DEL", key]] + [[b"INCRBYFLOAT", key, i.encode()] for i in increments]
    ours = b"".join(encode(v, RESP2) for v in incrbyfloat(increments))
    assert session(redis_server, commands) == b":0\r\n" + ours + b"+OK\r\n"


def test_resp3_map_and_nulls_match_redis(redis_server: RedisServer) -> None:
    commands = [[b"HELLO", b"3"], [b"CONFIG", b"GET", b"maxmemory"], [b"GET", b"missing:key"],
                [b"SET", b"s", b"1"]]
    replies = session(redis_server, commands)
    tail = encode(Map([(b"maxmemory", b"0")]), RESP3) + encode(None, RESP3)
    tail += encode(SimpleString(b"OK"), RESP3)
    assert replies.endswith(tail + b"+OK\r\n")


def test_resp2_flat_map_matches_redis(redis_server: RedisServer) -> None:
    replies = session(redis_server, [[b"CONFIG", b"GET", b"maxmemory"], [b"GET", b"missing:key"]])
    assert replies == encode(Map([(b"maxmemory", b"0")]), RESP2) + encode(None, RESP2) + b"+OK\r\n"


def test_long_double_helpers_agree_on_stored_text(redis_server: RedisServer) -> None:
    """INCRBYFLOAT by 0 reprints a stored value through strtold and %.17Lf."""
    stored = b"0.30000000000000004"
    commands = [[b"SET", b"g", stored], [b"INCRBYFLOAT", b"g", b"0"]]
    value = parse_long_double(stored)
    assert value is not None and not isinstance(value, float)
    ours = encode(format_long_double(to_long_double(value)), RESP2)
    assert session(redis_server, commands) == b"+OK\r\n" + ours + b"+OK\r\n"
