"""Fixtures for the RESP codec tests: both parser engines, and real redis-servers to compare with.

Servers bind 127.0.0.1 on a free port, are polled until they answer PING (bounded tries, no
sleeps on a guess), and are stopped by the fixture that started them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from seshat.protocol import HIREDIS_AVAILABLE, Parser, PythonParser

REDIS_SERVER = shutil.which("redis-server")
ENGINES = ["python"] + (["hiredis"] if HIREDIS_AVAILABLE else [])


def make_parser(engine: str, **kwargs: object) -> Parser:
    """A parser running the named engine (the hiredis one falls back to Python as it must)."""
    if engine == "python":
        return PythonParser(**kwargs)  # type: ignore[arg-type]
    parser = Parser(use_hiredis=True, **kwargs)  # type: ignore[arg-type]
    parser._hiredis_min_bytes = 0  # exercise the hiredis batch even on tiny inputs
    return parser


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Run the test once per parser engine available."""
    return str(request.param)


@dataclass(frozen=True)
class RedisServer:
    """A running redis-server: where it listens and how to talk raw bytes to it."""

    port: int

    def exchange(self, data: bytes, timeout_s: float = 10.0) -> bytes:
        """Send `data`, return everything the server writes until it closes the connection.

        Inputs must make the server close (a protocol error, or a trailing QUIT); a timeout
        means the server was still waiting for bytes, which fails the test loudly.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s) as conn:
            conn.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    raise AssertionError(f"redis-server kept waiting after {data[:80]!r}")
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(500):
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                    return
        except OSError:
            pass
        time.sleep(0.01)  # a poll interval, not a guess at readiness
    raise RuntimeError("redis-server did not answer PING")


def _start_redis(tmp_path: Path, *extra: str) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = _free_port()
    args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(tmp_path), *extra]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_ready(port, process)
        yield RedisServer(port)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A plain redis-server for this test module."""
    yield from _start_redis(tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="module")
def redis_server_with_password(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server with requirepass, where the pre-AUTH limits apply."""
    yield from _start_redis(tmp_path_factory.mktemp("redis-auth"), "--requirepass", "secret")
