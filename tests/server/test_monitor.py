"""MONITOR against redis-server 7.0: the lines a monitoring connection receives while another
connection runs a sequence (errors, transactions, SELECT, AUTH and HELLO redaction, admin
commands left out, binary arguments), with the clock and the client's port masked."""

from __future__ import annotations

import re

import pytest

from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import WireClient

SEQUENCE = [
    [b"SET", b"k", b"v"],
    [b"GET", b"k"],
    [b"GET"],  # wrong arity: never reaches execution, not shown
    [b"NOSUCH", b"x"],  # unknown: not shown
    [b"SET", b"k", b"v", b"bogus"],  # a syntax error is shown: it reached the command
    [b"LPUSH", b"k", b"x"],  # WRONGTYPE: shown
    [b"SET", b"bin", b'a"b\\c\n\r\t\x07\x08\x00\xff'],
    [b"CONFIG", b"GET", b"maxmemory"],  # admin: not shown
    [b"SLOWLOG", b"LEN"],  # admin: not shown
    [b"CLIENT", b"SETNAME", b"me"],
    [b"SELECT", b"5"],
    [b"SET", b"y", b"1"],
    [b"SELECT", b"0"],
    [b"MULTI"],
    [b"SET", b"x", b"1"],
    [b"GET", b"x"],
    [b"EXEC"],
    [b"multi"],
    [b"incr", b"x"],
    [b"exec"],  # shown as sent, as Redis shows it
    [b"AUTH", b"secret"],
    [b"AUTH", b"user", b"secret"],
    [b"HELLO", b"2", b"AUTH", b"default", b"pw"],
    [b"HELLO", b"2"],
    [b"PING"],
    [b"ECHO", b"hi"],
    [b"INCR", b"n"],
    [b"DEL", b"k", b"n", b"x", b"y", b"bin"],
]

SCRIPTS = [
    [b"EVAL", b"redis.call('set', KEYS[1], 'v') return redis.call('get', KEYS[1])", b"1", b"m"],
    [b"EVAL", b"return redis.pcall('incr', 'm')", b"0"],  # fails when it runs: shown
    [b"EVAL", b"return redis.pcall('nosuch')", b"0"],  # unknown: not shown
    [b"EVAL", b"return redis.pcall('get')", b"0"],  # wrong arity: not shown
    [b"EVAL", b"redis.call('select', 2) return redis.call('ping')", b"0"],
    [b"EVAL", b"return redis.pcall('select', 99)", b"0"],  # out of range: shown, DB unchanged
    [b"EVAL", b"return redis.pcall('config', 'get', 'x')", b"0"],  # not allowed in scripts
    [b"EVAL", b"#!lua flags=no-writes\nreturn redis.pcall('get', 'm')", b"0"],
    [b"EVAL_RO", b"return redis.call('get', KEYS[1])", b"1", b"m"],  # at a read point
    [b"EVAL_RO", b"return redis.pcall('set', 'm', 1)", b"0"],  # refused: a write
    [b"SCRIPT", b"LOAD", b"return redis.call('exists', 'm', 'n')"],
    [b"EVALSHA_RO", b"f9275f4b7a13be7d4acf14553a25cb23c41da204", b"0"],  # the script above
    [b"EVALSHA_RO", b"f4a9b2b8d1f1e1f5c63b0c7e6d7d3b6d2c5e1a2b", b"0"],  # NOSCRIPT: no lua line
    [b"GET", b"m"],  # a plain read after them: no stray lua line
]

# `+<time> [<db> <client address or lua>] <arguments>`; the address is masked.
_LINE = re.compile(rb"^\+\d+\.\d{6} \[(\d+) (127\.0\.0\.1:\d+|lua)\] (.*)\r\n$", re.DOTALL)


def _lines(port: int, sequence: list[list[bytes]] = SEQUENCE) -> list[bytes]:
    monitor, client = WireClient(port), WireClient(port)
    try:
        client.call([b"FLUSHALL"])
        assert monitor.call([b"MONITOR"]) == b"+OK\r\n"
        for argv in sequence:
            client.call(argv)
        client.call([b"ECHO", b"--end--"])
        out = []
        while True:
            frame = monitor.reply()
            match = _LINE.match(frame)
            assert match is not None, frame
            if b"--end--" in frame:
                return out
            source = b"lua" if match.group(2) == b"lua" else b"client"
            out.append(b" ".join([match.group(1), source, match.group(3)]))
    finally:
        monitor.close()
        client.close()


def test_a_monitor_sees_what_redis_shows(redis_port: int, seshat_port: int) -> None:  # noqa: F811
    theirs = _lines(redis_port)
    ours = _lines(seshat_port)
    assert ours == theirs
    assert len(ours) > 15


def test_commands_a_script_runs_show_as_lua_lines(redis_port: int, seshat_port: int) -> None:  # noqa: F811
    theirs = _lines(redis_port, SCRIPTS)
    ours = _lines(seshat_port, SCRIPTS)
    assert ours == theirs
    assert sum(b" lua " in line for line in ours) >= 5


@pytest.mark.parametrize(
    ("arg", "shown"),
    [(b"plain", b'"plain"'), (b'q"\\', b'"q\\"\\\\"'), (b"\x00\x7f\xc3", b'"\\x00\\x7f\\xc3"')],
)
def test_arguments_are_quoted_as_sdscatrepr(arg: bytes, shown: bytes) -> None:
    from seshat.monitor import quote

    assert quote(arg) == shown
