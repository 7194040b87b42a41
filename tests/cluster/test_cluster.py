"""A three-node cluster of real processes on loopback: the guarantees the project exists for.

Writes through any node, reads from any node, the loss of the leader (kill -9) losing no
acknowledged write, a restarted node catching up (by snapshot when the log was compacted
meanwhile), membership changes and leadership transfer while clients write.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis

from tests.cluster.conftest import FAST, LocalCluster
from tests.server.conftest import SeshatProcess, free_ports
from tests.waiting import poll_until


def test_write_through_every_node_read_from_every_node(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    for node_id in cluster.nodes:
        assert cluster.client(node_id).set(f"from{node_id}", node_id)
    for node_id in cluster.nodes:
        client = cluster.client(node_id)
        # Reads are linearizable by default: a follower confirms a read index with the leader.
        assert [client.get(f"from{i}") for i in (1, 2, 3)] == [b"1", b"2", b"3"]
        assert client.incr("shared") >= 1
    assert cluster.client(1).get("shared") == b"3"


def test_resp3_client_on_a_follower_gets_resp3_replies(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    follower = next(n for n in cluster.nodes if n != cluster.leader())
    raw = cluster.nodes[follower].raw(b"HELLO 3\r\nSET f 1.5\r\nINCRBYFLOAT f 1\r\nGET nope\r\n")
    assert raw.endswith(b"+OK\r\n$3\r\n2.5\r\n_\r\n"), raw[-60:]


def _writer(port: int, prefix: str, acked: list[str], stop: threading.Event) -> None:
    client = redis.Redis(port=port, socket_timeout=5, protocol=2)
    i = 0
    while not stop.is_set():
        key = f"{prefix}:{i}"
        i += 1
        try:
            if client.set(key, key):
                acked.append(key)
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            time.sleep(0.05)  # no leader yet, or this node is down: retry with a new key


@contextmanager
def _writing(
    cluster: LocalCluster, nodes: list[int], prefix: str
) -> Iterator[dict[int, list[str]]]:
    """One `_writer` thread per node while the block runs; yields each node's acked keys."""
    stop = threading.Event()
    acked: dict[int, list[str]] = {n: [] for n in nodes}
    threads = [
        threading.Thread(
            target=_writer,
            args=(cluster.nodes[n].port, f"{prefix}{n}", acked[n], stop),
            daemon=True,
        )
        for n in nodes
    ]
    for thread in threads:
        thread.start()
    try:
        yield acked
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)


def _assert_none_lost(
    cluster: LocalCluster, node: int, acked: dict[int, list[str]], across: str
) -> None:
    keys = [k for ks in acked.values() for k in ks]
    values = cluster.client(node, protocol=2).mget(keys)
    lost = [k for k, v in zip(keys, values) if v != k.encode()]
    assert not lost, f"{len(lost)} acknowledged writes lost across {across}: {lost[:5]}"


def test_leader_killed_no_acknowledged_write_lost_and_restart_catches_up(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    stop = threading.Event()
    acked: dict[int, list[str]] = {n: [] for n in cluster.nodes}
    threads = [
        threading.Thread(
            target=_writer, args=(cluster.nodes[n].port, f"w{n}", acked[n], stop), daemon=True
        )
        for n in cluster.nodes
    ]
    for thread in threads:
        thread.start()
    poll_until(lambda: sum(map(len, acked.values())) >= 300, timeout_s=4)
    cluster.nodes[leader].kill()
    new_leader = cluster.leader(exclude=(leader,))
    assert new_leader != leader
    before = sum(map(len, acked.values()))
    # The survivors keep accepting writes.
    poll_until(lambda: sum(map(len, acked.values())) >= before + 100, timeout_s=4)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert sum(map(len, acked.values())) >= before + 100, "writes stalled after failover"
    survivor = cluster.client(new_leader, protocol=2)
    keys = [k for ks in acked.values() for k in ks]
    values = survivor.mget(keys)
    lost = [k for k, v in zip(keys, values) if v != k.encode()]
    assert not lost, f"{len(lost)} acknowledged writes lost: {lost[:5]}"
    # The old leader comes back as a follower and catches up.
    cluster.nodes[leader].start()
    commit = int(cluster.info_raft(new_leader)["commit_index"])
    cluster.wait_applied(leader, commit)
    restarted = cluster.client(leader, protocol=2)
    restarted.execute_command("READONLY")
    assert restarted.mget(keys[-20:]) == [k.encode() for k in keys[-20:]]


def test_node_down_while_log_compacted_catches_up_by_snapshot(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3, "--log-compact-entries-max", "50")
    leader = cluster.leader()
    lagging = next(n for n in cluster.nodes if n != leader)
    cluster.nodes[lagging].kill()
    client = cluster.client(leader)
    for i in range(400):
        client.set(f"k{i}", i)
    info = cluster.info_raft(leader)
    assert int(info["first_log_index"]) > 2, info  # the log was truncated
    cluster.nodes[lagging].start()
    cluster.wait_applied(lagging, int(info["commit_index"]))
    assert "snapshot_installed" in cluster.nodes[lagging].log()
    follower = cluster.client(lagging)
    assert follower.get("k0") == b"0" and follower.get("k399") == b"399"
    assert follower.dbsize() == 400


def test_leadership_transfer_under_load(start_cluster: Callable[..., LocalCluster]) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    target = next(n for n in cluster.nodes if n != leader)
    with _writing(cluster, list(cluster.nodes), "t") as acked:
        client = cluster.client(leader)
        assert client.execute_command("RAFT.TRANSFER", target) in (b"OK", "OK", True)
        poll_until(lambda: cluster.info_raft(target).get("role") == "leader")
        assert cluster.info_raft(target)["role"] == "leader"
        before = sum(map(len, acked.values()))
        # Writers keep going under the new leader.
        poll_until(lambda: sum(map(len, acked.values())) >= before + 50, timeout_s=4)
    _assert_none_lost(cluster, target, acked, "the transfer")


def _first_log_time(text: str, *needles: str) -> str:
    """The ISO timestamp of the first log line holding every needle."""
    return next(line.split()[0] for line in text.splitlines() if all(n in line for n in needles))


def test_a_leader_stopped_gracefully_hands_leadership_over_first(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    """SIGTERM (or SHUTDOWN) on the leader: it transfers leadership to a caught-up follower
    before it stops, so the others need no election timeout; writes through the followers go
    on and none acknowledged is lost."""
    cluster = start_cluster(3)
    leader = cluster.leader()
    followers = [n for n in cluster.nodes if n != leader]
    with _writing(cluster, followers, "g") as acked:
        poll_until(lambda: all(len(acked[n]) >= 20 for n in followers), timeout_s=10)
        assert cluster.nodes[leader].terminate() == 0
        before = sum(map(len, acked.values()))
        poll_until(lambda: sum(map(len, acked.values())) >= before + 50, timeout_s=10)
    old_log = cluster.nodes[leader].log()
    handed = next(line for line in old_log.splitlines() if "leadership_handed_off" in line)
    target = int(handed.split("target=")[1].split()[0])
    assert target in followers
    assert cluster.leader(exclude=(leader,)) == target
    # The target led before the old leader finished stopping (one clock: the same machine).
    led_at = _first_log_time(cluster.nodes[target].log(), "role_changed", "role=leader")
    assert led_at < _first_log_time(old_log, "seshat_stopped")
    _assert_none_lost(cluster, target, acked, "the stop")


def test_add_and_remove_a_node_while_writing(
    start_cluster: Callable[..., LocalCluster], tmp_path: object
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    client = cluster.client(leader)
    for i in range(100):
        client.set(f"before{i}", i)
    raft_port, client_port = free_ports(2)
    new = SeshatProcess(
        port=client_port,
        data_dir=cluster.tmp / "n4",
        args=[
            "--node-id",
            "4",
            "--join",
            "--peers",
            cluster.peers + f",4=127.0.0.1:{raft_port}",
            *FAST,
        ],
        log_path=cluster.tmp / "n4.log",
        raft_port=raft_port,
    )
    cluster.add(4, new)
    new.start()
    reply = client.execute_command(
        "RAFT.NODE", "ADD", 4, f"127.0.0.1:{raft_port}", f"127.0.0.1:{new.port}"
    )
    assert reply in (b"OK", "OK", True)
    for _ in range(300):
        if "4" in cluster.info_raft(leader).get("voters", ""):
            break
        client.set("during", "add")
        time.sleep(0.05)
    assert cluster.info_raft(leader)["voters"] == "[1, 2, 3, 4]"
    cluster.wait_applied(4, int(cluster.info_raft(leader)["commit_index"]))
    assert cluster.client(4).get("before99") == b"99"
    victim = next(n for n in (1, 2, 3) if n != leader)
    assert client.execute_command("RAFT.NODE", "REMOVE", victim) in (b"OK", "OK", True)
    assert cluster.info_raft(leader)["voters"] == str([n for n in (1, 2, 3, 4) if n != victim])
    assert client.set("after", "remove")


def test_paused_leader_is_replaced_and_steps_down_on_resume(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    """SIGSTOP cuts the leader off from everyone (as a partition would, both ways)."""
    cluster = start_cluster(3)
    leader = cluster.leader()
    cluster.nodes[leader].pause()
    try:
        new_leader = cluster.leader(exclude=(leader,))
        assert cluster.client(new_leader).set("while", "paused")
    finally:
        cluster.nodes[leader].resume()
    poll_until(lambda: cluster.info_raft(leader).get("role") == "follower")
    assert cluster.info_raft(leader)["role"] == "follower"
    assert cluster.client(leader).get("while") == b"paused"


def test_redirect_mode_with_redis_cluster_clients(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3, "--redirect")
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    plain = cluster.client(follower, protocol=2)
    with pytest.raises(redis.exceptions.MovedError, match="12182 127.0.0.1"):
        plain.set("foo", "bar")
    # Cluster-aware tools read these to tell a cluster from a standalone server.
    assert plain.info("cluster")["cluster_enabled"] == 1
    assert plain.info("server")["redis_mode"] == "cluster"
    rc = redis.RedisCluster(host="127.0.0.1", port=cluster.nodes[follower].port)
    try:
        assert rc.set("foo", "bar")
        assert rc.get("foo") == b"bar"
    finally:
        rc.close()
    if shutil.which("redis-cli"):  # redis-cli -c follows -MOVED from a follower to the leader
        port = str(cluster.nodes[follower].port)
        out = subprocess.run(
            ["redis-cli", "-c", "-p", port, "set", "k2", "v2"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        assert out.stdout.strip() == "OK", out.stdout
        out = subprocess.run(
            ["redis-cli", "-c", "-p", port, "get", "k2"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        assert out.stdout.strip() == "v2", out.stdout


@pytest.mark.parametrize("protocol", [3, 2])
def test_redis_py_workload_against_a_follower(
    start_cluster: Callable[..., LocalCluster], protocol: int
) -> None:
    """The same client-level workload as against a single node, through a follower."""
    from tests.server import redis_py_workload

    cluster = start_cluster(3)
    follower = next(n for n in cluster.nodes if n != cluster.leader())
    redis_py_workload.run_sync(cluster.nodes[follower].port, protocol)
