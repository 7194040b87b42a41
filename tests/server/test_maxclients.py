"""`maxclients`, as Redis has it: a connection past it is told why and closed, CONFIG SET checks
its argument, and the open-file limit lowers it at start.

The first two tests run the same steps against Seshat and a real redis-server (Debian's) and
compare the bytes each sends back. Before this, a client past the open-file limit saw a reset
connection and nothing else.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.server.conftest import SeshatProcess
from tests.server.wire import start_redis_server


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    (tmp_path / "redis").mkdir()
    yield from start_redis_server(tmp_path / "redis")


def ask(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(4096)


def info_field(port: int, section: bytes, name: bytes) -> bytes:
    lines = ask(port, b"INFO " + section + b"\r\n").split(b"\r\n")
    return next(line.split(b":", 1)[1] for line in lines if line.startswith(name + b":"))


def over_the_limit(port: int) -> list[bytes]:
    """With maxclients 2: what two clients, a third, and a fourth after one left, receive."""
    seen = [ask(port, b"CONFIG SET maxclients 2\r\n")]
    first = socket.create_connection(("127.0.0.1", port), timeout=5)
    second = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        for sock in (first, second):
            sock.sendall(b"PING\r\n")
            seen.append(sock.recv(100))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
            seen.append(third.recv(200))
            seen.append(third.recv(200))  # then closed: b""
        first.close()
        # The server notices the close in its own time; a client that connects before then is
        # refused and counted, so wait on the connection still held until only it is left.
        for _ in range(500):
            second.sendall(b"INFO clients\r\n")
            if b"connected_clients:1\r\n" in second.recv(8192):
                break
            time.sleep(0.01)
        seen.append(ask(port, b"PING\r\n"))
        second.sendall(b"INFO stats\r\n")
        stats = second.recv(8192)
        seen.append(next(x for x in stats.split(b"\r\n") if x.startswith(b"rejected_connections")))
    finally:
        first.close()
        second.close()
    return seen


def test_a_client_past_maxclients_is_told_and_closed_as_by_redis(
    redis_port: int, seshat_server: SeshatProcess
) -> None:
    ours, theirs = over_the_limit(seshat_server.port), over_the_limit(redis_port)
    assert ours == theirs
    assert b"-ERR max number of clients reached\r\n" in ours
    assert ours[-1] == b"rejected_connections:1"


@pytest.mark.parametrize("value", [b"0", b"-1", b"abc", b"4294967296", b"1.5", b""])
def test_config_set_maxclients_refuses_what_redis_refuses(
    value: bytes, redis_port: int, seshat_server: SeshatProcess
) -> None:
    request = b"*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$10\r\nmaxclients\r\n$%d\r\n%s\r\n" % (
        len(value),
        value,
    )
    ours, theirs = ask(seshat_server.port, request), ask(redis_port, request)
    assert ours == theirs
    assert ours.startswith(b"-ERR CONFIG SET failed"), ours


def test_config_get_and_info_show_maxclients(seshat_server: SeshatProcess) -> None:
    assert ask(seshat_server.port, b"CONFIG SET maxclients 123\r\n") == b"+OK\r\n"
    assert ask(seshat_server.port, b"CONFIG GET maxclients\r\n") == (
        b"*2\r\n$10\r\nmaxclients\r\n$3\r\n123\r\n"
    )
    assert info_field(seshat_server.port, b"clients", b"maxclients") == b"123"


def test_the_open_file_limit_lowers_maxclients_at_start_and_caps_config_set(
    start_seshat: Callable[..., SeshatProcess],
) -> None:
    node = start_seshat("--maxclients", "5000", open_files_limit=1024)
    assert "maxclients_lowered" in node.log()
    fitted = int(info_field(node.port, b"clients", b"maxclients"))
    assert 1 <= fitted < 1024
    refusal = ask(node.port, b"CONFIG SET maxclients 5000\r\n")
    assert refusal == (
        b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating "
        b"system is not able to handle the specified number of clients, try with %d\r\n" % fitted
    )
