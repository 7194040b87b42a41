"""The leader's disk fills up: it stops, the others elect a leader, nothing acknowledged is lost.

The full disk is a file-size limit on the leader's process (see
`SeshatProcess.file_size_limit`): its RocksDB WAL append fails as on a full disk. Before a
failed Ready stopped the node, such a leader stayed up with a dead Raft driver: it still held
leadership in its followers' eyes only until its heartbeats stopped, but its own clients hung.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from tests.cluster.conftest import LocalCluster
from tests.waiting import poll_until

LIMIT = 2 << 20
VALUE = b"v" * 100_000


def test_leader_with_a_full_disk_stops_and_the_cluster_carries_on(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    first = cluster.leader()
    full = next(n for n in cluster.nodes if n != first)
    # Restart one follower with a small disk, then hand it the leadership.
    cluster.nodes[full].kill()
    cluster.nodes[full].file_size_limit = LIMIT
    cluster.nodes[full].start()
    cluster.wait_applied(full, int(cluster.info_raft(first)["commit_index"]))

    def transferred() -> bool:
        # A transfer the leader starts before its stream to the restarted node is back is
        # abandoned after an election timeout: ask again until the node leads.
        if cluster.info_raft(full).get("role") == "leader":
            return True
        cluster.client(first).execute_command("RAFT.TRANSFER", full)
        return bool(poll_until(lambda: cluster.info_raft(full).get("role") == "leader", 1))

    assert poll_until(transferred, timeout_s=20)

    client = cluster.client(full)
    acked: list[str] = []
    refusal = ""
    for i in range(4 * LIMIT // len(VALUE)):
        try:
            client.set(f"k{i}", VALUE)
        except (redis.ResponseError, redis.ConnectionError) as error:
            refusal = str(error)
            break
        acked.append(f"k{i}")
    assert acked and refusal, (len(acked), refusal)

    proc = cluster.nodes[full].proc
    assert proc is not None
    assert proc.wait(15) == 1, cluster.nodes[full].log()
    assert "node_failed" in cluster.nodes[full].log()
    leader = cluster.leader(exclude=(full,))
    survivor = cluster.client(leader)
    assert [k for k, v in zip(acked, survivor.mget(acked)) if v != VALUE] == []
    assert survivor.set("after", b"1")
    assert survivor.get("after") == b"1"
