"""Real `seshat` processes on free loopback ports, each with its own data dir.

A test asks for `seshat_server` (one running node) or `start_seshat` (to start, kill and
restart nodes itself). Readiness is polled with bounded tries, never a fixed sleep; every
process a test starts is stopped when it ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.server.wire import Pair
from tests.waiting import poll_until

SESHAT = [sys.executable, "-m", "seshat.cli"]
# Runs what follows `--` in its argv with the resource limits named before it (`FSIZE=N`,
# `NOFILE=N`), through exec (same pid), so no preexec_fn runs in a forked child of this
# threaded process. SIGXFSZ is ignored: a write past FSIZE then fails with EFBIG.
_WITH_LIMITS = [
    sys.executable,
    "-c",
    (
        "import os, resource, signal, sys; end = sys.argv.index('--'); "
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "[resource.setrlimit(getattr(resource, 'RLIMIT_' + name), (int(n), int(n))) "
        "for name, n in (arg.split('=') for arg in sys.argv[1:end])]; "
        "os.execv(sys.argv[end + 1], sys.argv[end + 1:])"
    ),
]


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """`n` distinct free ports: all are held open while the others are chosen (one at a time,
    the kernel may hand out a port it just gave, since nothing listens on it yet)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class SeshatProcess:
    port: int
    data_dir: Path
    args: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    raft_port: int = 0
    file_size_limit: int | None = None
    """RLIMIT_FSIZE for the process: a write past it fails with EFBIG, as one fails with
    ENOSPC on a full disk (no root, no mount); SIGXFSZ is ignored so the write just fails."""
    open_files_limit: int | None = None
    """RLIMIT_NOFILE for the process (soft and hard): `ulimit -n`."""

    def __post_init__(self) -> None:
        while self.raft_port in (0, self.port):  # a free port may be handed out twice
            self.raft_port = free_port()

    def start(self) -> SeshatProcess:
        env = dict(os.environ, **self.extra_env)
        log = open(self.log_path, "ab")
        limits = [
            f"{name}={value}"
            for name, value in (("FSIZE", self.file_size_limit), ("NOFILE", self.open_files_limit))
            if value is not None
        ]
        limit = [*_WITH_LIMITS, *limits, "--"] if limits else []
        self.proc = subprocess.Popen(
            limit
            + SESHAT
            + ["--port", str(self.port), "--raft-port", str(self.raft_port)]
            + ["--data-dir", str(self.data_dir)]
            + self.args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        self.wait_ready()
        return self

    def wait_ready(self, tries: int = 200) -> None:
        """Poll with a raw PING: any RESP reply (even -NOAUTH) means the node is serving."""
        for _ in range(tries):
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"seshat exited with {self.proc.returncode}:\n{self.log()}")
            if self.raw(b"PING\r\n")[:1] in (b"+", b"-"):
                return
            time.sleep(0.05)
        raise AssertionError(f"seshat did not answer PING on {self.port}:\n{self.log()}")

    def raw(self, request: bytes, timeout: float = 2.0) -> bytes:
        """Send bytes, return what arrives until the server pauses (b"" if unreachable)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
                sock.sendall(request)
                data = sock.recv(65536)
                sock.settimeout(0.1)
                try:
                    while chunk := sock.recv(65536):
                        data += chunk
                except (TimeoutError, socket.timeout):
                    pass
                return data
        except OSError:
            return b""

    def client(self, **kwargs: object) -> redis.Redis:
        options: dict[str, object] = {"socket_timeout": 10, **kwargs}
        return redis.Redis(port=self.port, **options)  # type: ignore[arg-type]

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


@pytest.fixture
def start_seshat(tmp_path: Path) -> Iterator[Callable[..., SeshatProcess]]:
    started: list[SeshatProcess] = []

    def start(
        *args: str,
        data_dir: Path | None = None,
        port: int | None = None,
        env: dict[str, str] | None = None,
        file_size_limit: int | None = None,
        open_files_limit: int | None = None,
    ) -> SeshatProcess:
        node = SeshatProcess(
            port=port or free_port(),
            data_dir=data_dir or tmp_path / f"node{len(started)}",
            args=list(args),
            log_path=tmp_path / f"node{len(started)}.log",
            extra_env=env or {},
            file_size_limit=file_size_limit,
            open_files_limit=open_files_limit,
        )
        started.append(node)
        return node.start()

    yield start
    for node in started:
        node.kill()


@pytest.fixture
def seshat_server(start_seshat: Callable[..., SeshatProcess]) -> SeshatProcess:
    return start_seshat()


def wait_blocked(client: redis.Redis, count: int) -> None:
    """Wait (bounded) until `count` clients are parked in a blocking pop on this node."""
    if not poll_until(lambda: int(client.info("clients")["blocked_clients"]) >= count, 4):
        raise AssertionError(f"fewer than {count} clients blocked in time")


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def pair(request: pytest.FixtureRequest, redis_port: int, seshat_port: int) -> Iterator[Pair]:
    """A `Pair` in each protocol, for modules that import test_differential_wire's module-scoped
    `redis_port` and `seshat_port` fixtures (one redis-server and one Seshat per module)."""
    p = Pair(redis_port, seshat_port, request.param)
    yield p
    p.close()
