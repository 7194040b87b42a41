"""Fixtures for kv tests: a LocalExecutor on a real RocksDB, and a real redis-server.

The redis-server runs on a free loopback port picked by the OS, with persistence off, and is
stopped when the session ends. Without a `redis-server` binary the differential tests are
skipped with that reason; every other kv test still runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import hiredis
import pytest

from seshat.kv.local import LocalExecutor
from seshat.kv.service import Session
from seshat.protocol.numbers import format_double
from seshat.protocol.replies import (
    BigNumber,
    Double,
    ErrorReply,
    HumanDouble,
    KeyedArrays,
    Map,
    NullArray,
    Pairs,
    Reply,
    Set,
    SimpleString,
    Verbatim,
)
from seshat.storage.engine import Engine

Value = object  # a normalised reply: bytes | int | None | list | ("error", text)


def normalise(reply: Reply) -> Value:
    """Our typed reply as the Python value a RESP2 client would decode it to."""
    if isinstance(reply, SimpleString):
        return reply.value
    if isinstance(reply, ErrorReply):
        return ("error", reply.message)
    if isinstance(reply, (list, Set)):
        items = reply.items if isinstance(reply, Set) else reply
        return [normalise(r) for r in items]
    if isinstance(reply, (Map, Pairs)):
        return [normalise(x) for pair in reply.items for x in pair]
    if isinstance(reply, KeyedArrays):
        return [[normalise(k), normalise(v)] for k, v in reply.items]
    if isinstance(reply, NullArray):
        return None
    if isinstance(reply, bool):
        return int(reply)
    if isinstance(reply, Double):
        return format_double(reply.value)  # RESP2 bulk text, as redis-server sends it
    if isinstance(reply, HumanDouble):
        return reply.text  # RESP2 bulk text
    if isinstance(reply, BigNumber):
        return str(reply.value).encode()
    if isinstance(reply, Verbatim):
        return reply.text
    return reply


def normalise_hiredis(value: object) -> Value:
    if isinstance(value, hiredis.ReplyError):
        return ("error", str(value))
    if isinstance(value, list):
        return [normalise_hiredis(v) for v in value]
    return value


class RawRedis:
    """A minimal RESP2 client on a socket: commands in, hiredis-decoded replies out, errors as
    values (redis-py would rewrite some error texts and convert replies per command)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.reader = hiredis.Reader()

    def execute(self, argv: list[bytes]) -> Value:
        out = [b"*%d\r\n" % len(argv)]
        for a in argv:
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return normalise_hiredis(reply)
            data = self.sock.recv(1 << 16)
            assert data, "redis-server closed the connection"
            self.reader.feed(data)

    def close(self) -> None:
        self.sock.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_port() -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="seshat-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--daemonize", "no", "--enable-debug-command", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):  # up to ~10 s for the server to accept connections
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert proc.poll() is None, "redis-server exited during start-up"
                time.sleep(0.05)
        else:
            pytest.fail(f"redis-server did not listen on port {port}")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def real_redis(redis_port: int) -> Iterator[RawRedis]:
    client = RawRedis(redis_port)
    yield client
    client.close()


class LocalClient:
    """LocalExecutor behind the same `execute(argv)` shape as RawRedis, with one session."""

    def __init__(self, executor: LocalExecutor) -> None:
        self.executor = executor
        self.session = Session()

    def execute(self, argv: list[bytes]) -> Value:
        return normalise(self.executor.execute(self.session, argv))


@pytest.fixture(scope="session")
def local_db_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="seshat-kv-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def local_client(local_db_dir: Path) -> Iterator[LocalClient]:
    engine = Engine.open(os.fspath(local_db_dir / "db"))
    yield LocalClient(LocalExecutor(engine))
    engine.close()


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[LocalExecutor]:
    engine = Engine.open(os.fspath(tmp_path / "db"))
    yield LocalExecutor(engine)
    engine.close()
