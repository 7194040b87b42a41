"""The node processes of one run: start, kill -9, pause, wipe and rejoin, leader lookup.

Each node runs ``python -m seshat.cli`` (from ``server_root`` when given, so a scratch tree can
be tested with this harness), inside its namespace when the `Net` has them, logging to
``<store>/n<id>.log`` (appended across restarts). Waiting is always bounded polling.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from jepsen.client import Client, CommandFailed
from jepsen.net import Net


def _pairs(reply: Any) -> dict[Any, Any]:
    """A RESP2 map (flat key, value list) as a dict; a RESP3 map is already one."""
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True))


@dataclass
class Node:
    node_id: int
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    paused: bool = False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Cluster:
    def __init__(self, net: Net, node_ids: list[int], store: Path,
                 server_root: Path | None = None, tick_interval_ms: int = 50,
                 election_ticks: int = 10) -> None:
        self.net = net
        self.store = store
        self.server_root = server_root
        self.tick_args = ["--tick-interval-ms", str(tick_interval_ms),
                          "--election-ticks", str(election_ticks)]
        self.nodes = {i: Node(i, store / "data" / f"n{i}", store / f"n{i}.log") for i in node_ids}
        self.members: set[int] = set(node_ids)  # nodes currently in the Raft configuration

    # ------------------------------------------------------------------ addresses

    def peers_arg(self) -> str:
        return ",".join(f"{i}={self.raft_address(i)}" for i in sorted(self.nodes))

    def raft_address(self, node_id: int) -> str:
        return f"{self.net.host(node_id)}:{self.net.raft_port(node_id)}"

    def client_address(self, node_id: int) -> tuple[str, int]:
        return self.net.host(node_id), self.net.client_port(node_id)

    # ------------------------------------------------------------------ processes

    def start(self, node_id: int, join: bool = False, wait: bool = True) -> None:
        node = self.nodes[node_id]
        assert not node.running(), node_id
        node.data_dir.parent.mkdir(parents=True, exist_ok=True)
        host, port = self.client_address(node_id)
        argv = [sys.executable, "-m", "seshat.cli", "--node-id", str(node_id), "--bind", host,
                "--port", str(port), "--raft-port", str(self.net.raft_port(node_id)),
                "--data-dir", str(node.data_dir), "--peers", self.peers_arg(), *self.tick_args]
        if join:
            argv.append("--join")
        env = dict(os.environ)
        if self.server_root is not None:
            env["PYTHONPATH"] = str(self.server_root)
        with open(node.log_path, "ab") as log:  # the child keeps its own copy of the fd
            node.proc = subprocess.Popen(
                self.net.wrap(node_id, argv), stdout=log, stderr=subprocess.STDOUT, env=env,
                cwd=str(self.server_root) if self.server_root is not None else None,
                start_new_session=True,  # a ^C to the harness must not kill nodes mid-heal
            )
        node.paused = False
        if wait:
            self.wait_serving(node_id)

    def wait_serving(self, node_id: int, timeout_s: float = 20.0) -> None:
        node = self.nodes[node_id]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if node.proc is None or node.proc.poll() is not None:
                raise RuntimeError(f"node {node_id} exited: {self.log_tail(node_id)}")
            try:
                self.redis(node_id, timeout=1.0).ping()
                return
            except (redis.ConnectionError, redis.TimeoutError):
                time.sleep(0.05)
            except redis.ResponseError:
                return
        raise RuntimeError(f"node {node_id} did not answer PING in {timeout_s}s")

    def kill(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.proc is None:
            return
        if node.proc.poll() is None:
            node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(timeout=10)
        node.proc = None
        node.paused = False

    def stop(self, node_id: int, timeout_s: float = 20.0) -> None:
        """SIGTERM: the node answers what it owes, hands over leadership, and exits; one that
        has not exited in `timeout_s` is killed (and the nemesis says so)."""
        node = self.nodes[node_id]
        if node.proc is None:
            return
        if node.proc.poll() is None:
            node.proc.send_signal(signal.SIGTERM)
            try:
                node.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill(node_id)
                raise RuntimeError(f"node {node_id} ignored SIGTERM for {timeout_s}s") from None
        node.proc = None
        node.paused = False

    def pause(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.running():
            node.proc.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
            node.paused = True

    def resume(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.running() and node.paused:
            node.proc.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
        node.paused = False

    def wipe(self, node_id: int) -> None:
        shutil.rmtree(self.nodes[node_id].data_dir, ignore_errors=True)

    def stop_all(self) -> None:
        for node_id in self.nodes:
            self.resume(node_id)
            self.kill(node_id)

    def log_tail(self, node_id: int, lines: int = 15) -> str:
        try:
            text = self.nodes[node_id].log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # ------------------------------------------------------------------ talking to nodes

    def redis(self, node_id: int, timeout: float = 1.0) -> redis.Redis:
        host, port = self.client_address(node_id)
        return redis.Redis(host=host, port=port, protocol=2, socket_timeout=timeout,
                           socket_connect_timeout=timeout, retry=None)

    def info_raft(self, node_id: int) -> dict[str, str]:
        node = self.nodes[node_id]
        if not node.running() or node.paused:
            return {}
        try:
            info = self.redis(node_id).info("raft")
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            return {}
        return {k: str(v) for k, v in info.items()}

    def leader(self) -> int | None:
        """The node that says it leads in the highest term (None if none says so)."""
        best: tuple[int, int] | None = None
        for node_id in sorted(self.nodes):
            info = self.info_raft(node_id)
            if info.get("role") == "leader":
                term = int(info.get("term", "0"))
                if best is None or term > best[0]:
                    best = (term, node_id)
        return best[1] if best else None

    def wait_leader(self, timeout_s: float = 20.0, agreed: bool = False) -> int:
        """Poll for a leader; with ``agreed``, until every running member names it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            leader = self.leader()
            if leader is not None and (not agreed or all(
                self.info_raft(n).get("leader_id") == str(leader)
                for n in self.members if self.nodes[n].running()
            )):
                return leader
            time.sleep(0.1)
        raise RuntimeError(f"no leader within {timeout_s}s")

    def voters(self) -> set[int]:
        """Voters of the current configuration, from RAFT.STATUS on the leader (empty: unknown)."""
        leader = self.leader()
        if leader is None:
            return set()
        client = Client(*self.client_address(leader), timeout_s=2.0)
        try:
            reply = client.call("RAFT.STATUS")
        except CommandFailed:
            return set()
        finally:
            client.close()
        status = _pairs(reply)
        voters = set()
        for member in status.get(b"members", []):
            fields = _pairs(member)
            if fields.get(b"voter") in (1, True, b"1", b"true"):
                voters.add(int(fields[b"id"]))
        return voters

    def wait_voter(self, node_id: int, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if node_id in self.voters():
                return
            time.sleep(0.2)
        raise RuntimeError(f"node {node_id} was added but is still not a voter after "
                           f"{timeout_s:.0f} s (a learner never promoted)")

    def admin(self, *argv: str, timeout_s: float = 15.0) -> tuple[int, str]:
        """Run an admin command (RAFT.NODE, RAFT.TRANSFER) on the current leader, retrying
        until it answers without error or the time is up; returns (leader, reply text)."""
        deadline = time.monotonic() + timeout_s
        last = "no leader"
        while time.monotonic() < deadline:
            leader = self.leader()
            if leader is None:
                time.sleep(0.2)
                continue
            try:
                reply = self.redis(leader, timeout=10.0).execute_command(*argv)
                return leader, str(reply)
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as error:
                last = f"{type(error).__name__}: {error}"
                time.sleep(0.3)
        raise RuntimeError(f"{' '.join(argv)} failed: {last}")
