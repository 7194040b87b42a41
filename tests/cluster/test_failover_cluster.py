"""FAILOVER, REPLICAOF and SLAVEOF on a real three-node cluster (seshat/failover.py): FAILOVER
on the leader hands leadership to a live follower, the one named by TO if given; a follower
refuses FAILOVER as a Redis replica does and knows its leader's address for REPLICAOF."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from tests.cluster.conftest import LocalCluster
from tests.waiting import poll_until


def _leader_other_than(cluster: LocalCluster, old: int) -> int | None:
    try:
        leader = cluster.leader()
    except Exception:  # noqa: BLE001  (no leader yet while the transfer runs)
        return None
    return leader if leader != old else None


def test_failover_to_a_named_follower(start_cluster: Callable[..., LocalCluster]) -> None:
    cluster = start_cluster(3)
    old = cluster.leader()
    client = cluster.client(old, protocol=3)
    client.set("before", "1")
    # The leader learns its followers' client addresses just after it is elected.
    poll_until(lambda: all(p != b"0" for _, p, _ in client.execute_command("ROLE")[2]))
    target = next(n for n in cluster.nodes if n != old)
    port = cluster.nodes[target].port
    assert client.execute_command("FAILOVER", "TO", "127.0.0.1", port) == b"OK"
    assert poll_until(lambda: _leader_other_than(cluster, old), timeout_s=20) == target
    new = cluster.client(target, protocol=3)
    new.set("after", "2")
    assert cluster.client(old, protocol=3).get("before") == b"1"  # forwarded to the new leader
    assert new.get("after") == b"2"


def test_failover_picks_a_follower_and_refuses_on_followers(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    old = cluster.leader()
    leader_client = cluster.client(old, protocol=2)
    leader_client.set("k", "v")
    follower = next(n for n in cluster.nodes if n != old)
    on_follower = cluster.client(follower, protocol=2)
    with pytest.raises(redis.ResponseError, match="FAILOVER is not valid when server is a replica"):
        on_follower.execute_command("FAILOVER")
    # A follower knows whom it follows, as a Redis replica knows its master.
    leader_port = cluster.nodes[old].port
    assert on_follower.execute_command("REPLICAOF", "127.0.0.1", leader_port) == (
        b"OK Already connected to specified master"
    )
    with pytest.raises(redis.ResponseError, match="follows the Raft leader"):
        on_follower.execute_command("REPLICAOF", "NO", "ONE")
    with pytest.raises(redis.ResponseError, match="replicate through Raft"):
        on_follower.execute_command("SLAVEOF", "127.0.0.1", 1)
    assert leader_client.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    with pytest.raises(redis.ResponseError, match="not a replica"):
        leader_client.execute_command("FAILOVER", "TO", "127.0.0.1", 1)
    assert leader_client.execute_command("FAILOVER") == b"OK"
    assert poll_until(lambda: _leader_other_than(cluster, old), timeout_s=20) is not None
    assert cluster.client(old, protocol=2).get("k") == b"v"
