"""`seshat cluster` (the local launcher) and the admin subcommands, as a person runs them.

The launcher runs as a real subprocess on free loopback ports; its stdout is read line by line
(with a deadline) for the addresses, the node pids and the leader it announces.
"""

from __future__ import annotations

import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.server.conftest import free_port, free_ports

_SCRIPT = Path(sys.executable).parent / "seshat"
SESHAT = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "seshat.cli"]
FAST = ["--tick-interval-ms", "50", "--election-ticks", "10"]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_range(count: int) -> int:
    """A base port such that base..base+count-1 are all free on 127.0.0.1 right now."""
    for _ in range(200):
        base = random.randrange(20000, 60000)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise AssertionError("no free port range found")


@dataclass
class Launched:
    proc: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)
    ports: dict[int, int] = field(default_factory=dict)
    pids: dict[int, int] = field(default_factory=dict)
    pump: threading.Thread | None = None

    def expect(self, pattern: str, timeout_s: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r}; launcher said:\n" + "".join(self.seen))

    def client(self, node_id: int) -> redis.Redis:
        return redis.Redis(port=self.ports[node_id], socket_timeout=10, protocol=2)

    def role(self, node_id: int) -> str:
        return str(self.client(node_id).info("raft")["role"])


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[object]:
    started: list[Launched] = []

    def start(nodes: int = 3, *extra: str) -> Launched:
        base = free_range(nodes)
        raft_base = free_range(nodes)
        proc = subprocess.Popen(
            SESHAT
            + ["cluster", "--nodes", str(nodes), "--base-port", str(base)]
            + ["--base-raft-port", str(raft_base), "--data-dir", str(tmp_path / "cluster")]
            + FAST
            + list(extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        launched = Launched(proc)
        started.append(launched)
        launched.pump = threading.Thread(target=_pump, args=(proc, launched.lines), daemon=True)
        launched.pump.start()
        for i in range(1, nodes + 1):
            match = launched.expect(rf"node {i}: redis 127\.0\.0\.1:(\d+) .* pid (\d+)")
            launched.ports[i] = int(match.group(1))
            launched.pids[i] = int(match.group(2))
        assert sorted(launched.ports.values()) == list(range(base, base + nodes))
        launched.expect(r"leader is node \d+ .*ready")
        return launched

    yield start
    for launched in started:
        if launched.proc.poll() is None:
            launched.proc.send_signal(signal.SIGKILL)
            launched.proc.wait(10)
        for pid in launched.pids.values():  # never leave a node behind, whatever failed
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if launched.pump is not None:
            launched.pump.join(10)
        if launched.proc.stdout is not None:
            launched.proc.stdout.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie of ours would still answer; the launcher reaps its children, so this is alive.
    return False


def _wait_gone(pids: list[int], timeout_s: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = [p for p in pids if not _gone(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return [p for p in pids if not _gone(p)]


def seshat(*args: str, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        SESHAT + list(args),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.timeout(120)
def test_three_nodes_write_through_a_follower_then_sigterm_stops_them_all(
    launch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    cluster = launch(3)
    leader = int(cluster.seen[-1].split("leader is node ")[1].split()[0])
    follower = next(n for n in cluster.ports if n != leader)
    other = next(n for n in cluster.ports if n not in (leader, follower))
    assert cluster.role(follower) == "follower"
    assert cluster.client(follower).set("through", "follower")
    assert cluster.client(follower).incr("n") == 1
    assert cluster.client(other).get("through") == b"follower"
    assert cluster.client(leader).get("n") == b"1"

    cluster.proc.send_signal(signal.SIGTERM)
    assert cluster.proc.wait(30) == 0
    cluster.expect("SIGTERM: stopping every node")
    stopped = cluster.expect(r"stopped \(exit codes (.*)\)")
    assert stopped.group(1) == "{1: 0, 2: 0, 3: 0}", stopped.group(1)
    assert _wait_gone(list(cluster.pids.values()), 5) == []
    for i in (1, 2, 3):
        log = (tmp_path / "cluster" / f"node{i}.log").read_text()
        assert "shutdown_requested" in log and "seshat_stopped" in log


@pytest.mark.timeout(120)
def test_sigint_is_forwarded_and_data_survives_a_restart(launch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = launch(3)
    assert first.client(1).set("kept", "yes")
    first.proc.send_signal(signal.SIGINT)
    assert first.proc.wait(30) == 0
    for i in (1, 2, 3):
        assert "signal=SIGINT" in (tmp_path / "cluster" / f"node{i}.log").read_text()
    assert _wait_gone(list(first.pids.values()), 5) == []
    # Same data root, but new ports: --peers differ, so every node refuses the old data dir.
    with pytest.raises(AssertionError, match="exited with code 2"):
        launch(3)
    refused = (tmp_path / "cluster" / "node1.log").read_text()
    assert "data_dir_refused" in refused


@pytest.mark.timeout(120)
def test_launcher_killed_with_sigkill_takes_its_nodes_along(launch) -> None:  # type: ignore[no-untyped-def]
    cluster = launch(3)
    cluster.proc.send_signal(signal.SIGKILL)
    cluster.proc.wait(10)
    # The nodes were started with PR_SET_PDEATHSIG=SIGTERM: they stop gracefully on their own.
    assert _wait_gone(list(cluster.pids.values()), 20) == []


def test_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = seshat(
            "cluster",
            "--nodes",
            "1",
            "--base-port",
            str(port),
            "--base-raft-port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "c"),
        )
    assert result.returncode == 1
    assert f"port(s) {port} already in use" in result.stderr
    assert not (tmp_path / "c").exists()


@pytest.mark.timeout(150)
def test_admin_subcommands_status_transfer_add_remove(launch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cluster = launch(3)
    leader = int(cluster.seen[-1].split("leader is node ")[1].split()[0])
    follower = next(n for n in cluster.ports if n != leader)
    at = {n: f"127.0.0.1:{p}" for n, p in cluster.ports.items()}

    status = seshat("status", "--node", at[follower])
    assert status.returncode == 0, status.stderr
    assert f"leader {leader}" in status.stdout
    assert re.search(rf"^\s+{leader}\s+voter\s+leader\s+{at[leader]}", status.stdout, re.MULTILINE)

    # Asked of a follower: followed to the leader, then waits until the target leads.
    target = next(n for n in cluster.ports if n not in (leader, follower))
    moved = seshat("transfer", str(target), "--leader", at[follower])
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == f"node {target} is leader"
    assert cluster.role(target) == "leader"

    # A fourth node joins (started by hand with --join), is added, then removed.
    raft_port, client_port = free_ports(2)
    peers = ",".join(
        [f"{n}=127.0.0.1:{p}" for n, p in _raft_ports(cluster).items()]
        + [f"4=127.0.0.1:{raft_port}"]
    )
    with open(tmp_path / "n4.log", "wb") as log:
        fourth = subprocess.Popen(
            SESHAT
            + [
                "--node-id",
                "4",
                "--port",
                str(client_port),
                "--raft-port",
                str(raft_port),
                "--data-dir",
                str(tmp_path / "n4"),
                "--join",
                "--peers",
                peers,
                *FAST,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        added = seshat(
            "node",
            "add",
            "4",
            f"127.0.0.1:{raft_port}",
            f"127.0.0.1:{client_port}",
            "--leader",
            at[leader],
        )
        assert added.returncode == 0, added.stderr + (tmp_path / "n4.log").read_text()[-2000:]
        assert "node 4 added" in added.stdout
        for _ in range(200):
            if seshat("status", "--node", at[target], "--json").stdout.count('"id": 4') == 1:
                break
            time.sleep(0.05)
        assert cluster.client(target).set("with", "four")
        fourth_client = redis.Redis(port=client_port, socket_timeout=10, protocol=2)
        assert fourth_client.get("with") == b"four"
        removed = seshat("node", "remove", "4", "--leader", at[target])
        assert removed.returncode == 0, removed.stderr
        assert "node 4 removed" in removed.stdout
        after = seshat("status", "--node", at[target], "--json").stdout
        assert '"id": 4' not in after
    finally:
        fourth.kill()
        fourth.wait(10)

    bad = seshat("transfer", "9", "--leader", at[target])
    assert bad.returncode == 1 and "node 9 is not a voter" in bad.stderr
    down = seshat("status", "--node", f"127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "Connection refused" in down.stderr


def _raft_ports(cluster: Launched) -> dict[int, int]:
    ports: dict[int, int] = {}
    for line in cluster.seen:
        match = re.search(r"node (\d+): redis \S+\s+raft 127\.0\.0\.1:(\d+)", line)
        if match:
            ports[int(match.group(1))] = int(match.group(2))
    return ports
