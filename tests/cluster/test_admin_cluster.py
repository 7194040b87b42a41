"""ROLE and WAIT on a real three-node cluster: the leader answers as a Redis master with the
followers as its replicas, followers as replicas of the leader's client address, and WAIT
counts the other voters that hold this connection's last write (seshat/roles.py)."""

from __future__ import annotations

from collections.abc import Callable

import redis

from tests.cluster.conftest import LocalCluster
from tests.waiting import poll_until


def test_role_on_leader_and_followers(start_cluster: Callable[..., LocalCluster]) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    followers = [n for n in cluster.nodes if n != leader]
    client = cluster.client(leader, protocol=2)
    client.set("k", "v")
    # The leader learns its followers' client addresses just after it is elected.
    role = poll_until(
        lambda: (r := client.execute_command("ROLE")) and all(p != b"0" for _, p, _ in r[2]) and r
    )
    assert role is not None and role[0] == b"master"
    assert isinstance(role[1], int) and role[1] > 0
    replicas = sorted(role[2])
    assert sorted(int(port) for _, port, _ in replicas) == sorted(
        cluster.nodes[n].port for n in followers
    )
    for host, port, offset in replicas:
        assert host == b"127.0.0.1" and port.isdigit() and offset.isdigit()  # strings, as Redis
    for n in followers:
        node_role = cluster.client(n, protocol=3).execute_command("ROLE")
        assert node_role[:4] == [b"slave", b"127.0.0.1", cluster.nodes[leader].port, b"connected"]
        assert isinstance(node_role[4], int) and node_role[4] > 0  # its applied index


def test_role_of_a_follower_without_leader(start_cluster: Callable[..., LocalCluster]) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    others = [n for n in cluster.nodes if n != follower]
    for n in others:
        cluster.nodes[n].kill()
    client = cluster.client(follower, protocol=2)
    # With no majority the follower's election timer fires and it forgets the leader.
    role = poll_until(
        lambda: (r := client.execute_command("ROLE"))[3] == b"connect" and r, timeout_s=20
    )
    assert role == [b"slave", b"", 0, b"connect", -1]


def test_wait_counts_the_voters_holding_the_write(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    client = cluster.client(leader, protocol=3)
    client.set("k", "v")
    assert client.execute_command("WAIT", 2, 0) == 2  # 0: no timeout, as Redis
    pipe = client.pipeline(transaction=False)
    pipe.set("a", "1").set("b", "2").execute_command("WAIT", 2, 5000)
    assert pipe.execute() == [True, True, 2]
    assert client.execute_command("WAIT", 0, 0) == 2  # nothing to wait for: the count now
    # A follower is a replica: Redis refuses WAIT there.
    follower = next(n for n in cluster.nodes if n != leader)
    try:
        cluster.client(follower).execute_command("WAIT", 1, 10)
    except redis.ResponseError as error:
        assert str(error).startswith("WAIT cannot be used with replica instances.")
    else:
        raise AssertionError("WAIT on a follower answered")


def test_wait_times_out_when_a_voter_is_down(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    down = next(n for n in cluster.nodes if n != leader)
    cluster.nodes[down].kill()
    client = cluster.client(leader, protocol=2)
    client.set("k", "v")  # committed by the leader and the other follower
    assert client.execute_command("WAIT", 2, 200) == 1
    assert client.get("k") == b"v"  # the connection goes on after WAIT answered
