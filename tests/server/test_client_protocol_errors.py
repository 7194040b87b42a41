"""ClientConnection on a fake transport: what happens to a connection whose input is bad.

Redis answers the commands that came before the bad bytes, then `-ERR Protocol error: ...`,
then closes; past the query buffer limit it closes without writing anything
(`QueryBufferLimitError.send_reply` is False). The wire tests check the first against a real
redis-server; the limit (1 GiB by default) is checked here with a small one.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from seshat.client import ClientConnection
from seshat.command_timing import CommandTiming
from seshat.info_sections import Stats
from seshat.latency import LatencyMonitor
from seshat.monitor import Monitors
from seshat.protocol.limits import ParserLimits
from seshat.protocol.parser import Parser
from seshat.protocol.replies import PONG
from seshat.slowlog import SlowLog


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1)

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True


def _connection() -> tuple[ClientConnection, FakeTransport]:
    server = SimpleNamespace(
        config=SimpleNamespace(requirepass="", maxclients=10_000),
        clients={},
        stats=Stats(),  # the counters client.py bumps (INFO)
        kv=SimpleNamespace(prepare=_prepare_ping),
        admin=SimpleNamespace(execute=lambda conn, argv: PONG),
        client_pause=SimpleNamespace(mode=None),  # CLIENT PAUSE: none
        timing=CommandTiming(SlowLog(), LatencyMonitor()),  # SLOWLOG, LATENCY: the defaults
        monitors=Monitors(),  # MONITOR: nobody
        acl=SimpleNamespace(default_needs_auth=lambda: False, default_restriction=lambda: None),
    )
    conn = ClientConnection(server)  # type: ignore[arg-type]
    conn.parser = Parser(limits=ParserLimits(query_buffer_bytes_max=64))
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    return conn, transport


def _prepare_ping(session: object, argv: list[bytes]) -> object:
    from seshat.kv.service import _CONNECTIONS

    return _CONNECTIONS[b"ping"]


def test_commands_before_bad_bytes_are_answered_then_the_error() -> None:
    conn, transport = _connection()
    conn.data_received(b"PING\r\nPING\r\n*1\r\nfoo\r\n")
    assert transport.written == b"+PONG\r\n+PONG\r\n-ERR Protocol error: expected '$', got 'f'\r\n"
    assert transport.closed


def test_query_buffer_limit_closes_silently() -> None:
    conn, transport = _connection()
    conn.data_received(b"*1\r\n$100\r\n")
    conn.data_received(b"x" * 100)
    assert transport.written == b""
    assert transport.closed
    conn.data_received(b"PING\r\n")  # whatever arrives after is ignored
    assert transport.written == b""
