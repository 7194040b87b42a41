"""Three (or more) real `seshat` processes on loopback forming one Raft group.

`start_cluster(3)` starts nodes 1..3 with `--peers` naming each other's Raft ports and waits
until one of them is leader; `Cluster.leader()` polls INFO raft with bounded tries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.server.conftest import SeshatProcess, free_ports
from tests.waiting import poll_until

# Short ticks keep elections quick in tests (the default is 100 ms x 10 ticks).
FAST = ["--tick-interval-ms", "50", "--election-ticks", "10"]


@dataclass
class LocalCluster:
    nodes: dict[int, SeshatProcess]
    peers: str
    tmp: Path
    started: list[SeshatProcess]

    def add(self, node_id: int, node: SeshatProcess) -> None:
        """Track a node started by the test so the fixture stops it."""
        self.nodes[node_id] = node
        self.started.append(node)

    def info_raft(self, node_id: int) -> dict[str, str]:
        try:
            info = self.nodes[node_id].client(protocol=2, socket_timeout=2).info("raft")
        except (redis.ConnectionError, redis.TimeoutError):
            return {}
        return {k: str(v) for k, v in info.items()}

    def leader(self, exclude: tuple[int, ...] = ()) -> int:
        """The node that is leader with a majority's agreement; bounded polling."""

        def find() -> int:
            for node_id in self.nodes:
                if node_id not in exclude and self.info_raft(node_id).get("role") == "leader":
                    return node_id
            return 0

        found = poll_until(find, timeout_s=15, interval_s=0.05)
        if not found:
            raise AssertionError("no leader elected in time")
        return found

    def client(self, node_id: int, **kwargs: object) -> redis.Redis:
        return self.nodes[node_id].client(**kwargs)

    def wait_applied(self, node_id: int, index: int) -> None:
        def applied() -> bool:
            info = self.info_raft(node_id)
            return bool(info) and int(info.get("applied_index", "0")) >= index

        if not poll_until(applied, timeout_s=20, interval_s=0.05):
            raise AssertionError(f"node {node_id} did not apply index {index}")


@pytest.fixture
def start_cluster(tmp_path: Path) -> Iterator[Callable[..., LocalCluster]]:
    started: list[SeshatProcess] = []

    def start(size: int = 3, *args: str) -> LocalCluster:
        # All at once: ports chosen one by one could repeat (seen once: a node's client port
        # was another node's Raft port, and it could not bind).
        ports = free_ports(2 * size)
        raft_ports = {i: ports[size + i - 1] for i in range(1, size + 1)}
        peers = ",".join(f"{i}=127.0.0.1:{p}" for i, p in raft_ports.items())
        nodes: dict[int, SeshatProcess] = {}
        for i in range(1, size + 1):
            node = SeshatProcess(
                port=ports[i - 1],
                data_dir=tmp_path / f"n{i}",
                args=["--node-id", str(i), "--peers", peers, *FAST, *args],
                log_path=tmp_path / f"n{i}.log",
                raft_port=raft_ports[i],
            )
            started.append(node)
            nodes[i] = node
        for node in nodes.values():
            node.start()
        cluster = LocalCluster(nodes, peers, tmp_path, started)
        leader = cluster.leader()
        # Every node knows the leader: clients may use any of them.
        poll_until(
            lambda: all(cluster.info_raft(n).get("leader_id") == str(leader) for n in nodes),
            timeout_s=15,
            interval_s=0.05,
        )
        return cluster

    yield start
    for node in started:
        node.resume() if node.proc is not None and node.proc.poll() is None else None
        node.kill()
