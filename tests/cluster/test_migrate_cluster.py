"""MIGRATE in a three-node group: sent to a follower, it reads at a linearizable read point,
moves the key to a real redis-server, and the delete (an EXEC entry the follower relays to the
leader) reaches every replica. Real processes, bounded polling only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis

from tests.cluster.conftest import LocalCluster
from tests.server.wire import start_redis_server
from tests.waiting import poll_until


def test_migrate_through_a_follower_moves_the_key_off_every_node(
    start_cluster: Callable[..., LocalCluster], tmp_path: Path
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    (tmp_path / "redis").mkdir()
    targets = start_redis_server(tmp_path / "redis")
    target_port = next(targets)
    try:
        with cluster.client(leader, protocol=2) as c:
            c.set("k", "v", px=100_000)
            c.rpush("stay", "x")
        with cluster.client(follower, protocol=2) as c:
            # The follower's read point covers the leader's write: no wait needed here.
            reply = c.execute_command(
                "MIGRATE", "127.0.0.1", target_port, "", 0, 5000, "KEYS", "k", "missing"
            )
            assert reply in (True, b"OK"), reply
        with redis.Redis(port=target_port) as target:
            assert target.get("k") == b"v"
            assert 0 < target.pttl("k") <= 100_000
        index = int(cluster.info_raft(leader)["commit_index"])
        for node_id in cluster.nodes:
            cluster.wait_applied(node_id, index)
            with cluster.client(node_id, protocol=2) as c:
                c.execute_command("READONLY")  # this node's own applied state, not the leader's
                gone = poll_until(lambda c=c: c.exists("k") == 0, timeout_s=10)  # type: ignore[misc]
                assert gone, f"k still on node {node_id}"
                assert c.lrange("stay", 0, -1) == [b"x"]
    finally:
        targets.close()
