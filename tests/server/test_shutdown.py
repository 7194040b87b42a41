"""SHUTDOWN: the node stops as on SIGTERM, the client gets no reply, and its argument errors and
its refusal inside MULTI are Redis's, byte for byte (compared with Debian's redis-server)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.server.conftest import SeshatProcess
from tests.server.wire import start_redis_server


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    (tmp_path / "redis").mkdir()
    yield from start_redis_server(tmp_path / "redis")


def replies(port: int, commands: list[bytes]) -> list[bytes]:
    """One reply per command, sent one at a time on one connection."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        reader = sock.makefile("rb")
        for command in commands:
            sock.sendall(command + b"\r\n")
            out.append(reader.readline())
    return out


REFUSED = [
    b"SHUTDOWN bad",
    b"SHUTDOWN NOW bad",
    b"SHUTDOWN ABORT",
    b"SHUTDOWN abort ABORT",
    b"SHUTDOWN ABORT NOW",
    b"SHUTDOWN NOW ABORT",
    b"SHUTDOWN SAVE NOSAVE",
    b"MULTI",
    b"SET a 1",
    b"SHUTDOWN",
    b"SHUTDOWN NOSAVE",
    b"EXEC",
    b"PING",
]


def test_shutdown_refuses_what_redis_refuses(redis_port: int, seshat_server: SeshatProcess) -> None:
    ours, theirs = replies(seshat_server.port, REFUSED), replies(redis_port, REFUSED)
    assert ours == theirs
    assert b"-ERR Command not allowed inside a transaction\r\n" in ours
    assert ours[-1] == b"+PONG\r\n"  # none of it stopped either server


def test_shutdown_answers_earlier_commands_then_stops_the_node(
    start_seshat: Callable[..., SeshatProcess],
) -> None:
    node = start_seshat()
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as sock:
        sock.sendall(b"SET kept 1\r\nSHUTDOWN NOW\r\nGET kept\r\n")
        received = b""
        while chunk := sock.recv(100):
            received += chunk
    assert received == b"+OK\r\n"  # the SET's reply, then the close: nothing for SHUTDOWN
    assert node.proc is not None and node.proc.wait(15) == 0
    log = node.log()
    assert "shutdown_requested" in log and "command=SHUTDOWN" in log and "seshat_stopped" in log
    restarted = start_seshat(data_dir=node.data_dir, port=node.port)
    assert restarted.client().get("kept") == b"1"


def test_redis_py_shutdown_returns_and_the_node_exits(seshat_server: SeshatProcess) -> None:
    client: redis.Redis = seshat_server.client()
    client.set("a", "1")
    client.shutdown(nosave=True)  # redis-py expects the connection to drop, and says so
    assert seshat_server.proc is not None and seshat_server.proc.wait(15) == 0
