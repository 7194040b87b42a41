"""INFO replication on a three-node cluster: a follower prints the fields a Redis replica prints,
in its order (checked against Redis 7.0.15 by hand: `redis-server --replicaof`), and the
leader lists its followers as replicas; offsets are Raft indexes, the same id on every node.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.cluster.conftest import LocalCluster
from tests.server.wire import WireClient, parse
from tests.waiting import poll_until

# A Redis 7.0 replica whose link is up, `INFO replication`, in order.
REPLICA_FIELDS = [
    "role", "master_host", "master_port", "master_link_status", "master_last_io_seconds_ago",
    "master_sync_in_progress", "slave_read_repl_offset", "slave_repl_offset", "slave_priority",
    "slave_read_only", "replica_announced", "connected_slaves", "master_failover_state",
    "master_replid", "master_replid2", "master_repl_offset", "second_repl_offset",
    "repl_backlog_active", "repl_backlog_size", "repl_backlog_first_byte_offset",
    "repl_backlog_histlen",
]  # fmt: skip


def _rows(port: int) -> list[tuple[str, str]]:
    """`INFO replication` as printed: (field, value) in order."""
    client = WireClient(port)
    try:
        node, _ = parse(client.call([b"INFO", b"replication"]))
    finally:
        client.close()
    assert node.value is not None
    lines = node.value.decode().split("\r\n")
    return [(k, v) for k, _, v in (line.partition(":") for line in lines if ":" in line)]


def test_follower_and_leader_replication_sections(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    cluster.client(leader, protocol=2).set("info:k", "v")
    index = int(cluster.info_raft(leader)["applied_index"])
    follower = next(n for n in cluster.nodes if n != leader)
    cluster.wait_applied(follower, index)

    def up() -> list[tuple[str, str]] | None:
        rows = _rows(cluster.nodes[follower].port)
        return rows if dict(rows).get("master_link_status") == "up" else None

    rows = poll_until(up, timeout_s=10)
    assert rows, "the follower's link to its leader never read up"
    assert [name for name, _ in rows] == REPLICA_FIELDS
    fields = dict(rows)
    assert fields["role"] == "slave"
    assert fields["master_port"] == str(cluster.nodes[leader].port)
    assert int(fields["slave_repl_offset"]) >= index
    assert int(fields["master_repl_offset"]) >= index

    leader_fields = dict(_rows(cluster.nodes[leader].port))
    assert leader_fields["role"] == "master"
    assert leader_fields["connected_slaves"] == "2"
    assert leader_fields["slave0"].startswith("ip=127.0.0.1,port=")
    assert leader_fields["master_replid"] == fields["master_replid"]  # one history per group

    for node_id in cluster.nodes:  # every section builds on leader and followers alike
        info = cluster.client(node_id, protocol=2).info("everything")
        assert info["arch_bits"] in (32, 64) and "used_cpu_user" in info, node_id


def test_raft_streams_travel_on_plain_tcp(start_cluster: Callable[..., LocalCluster]) -> None:
    """Every node listens for Raft streams on a port of its own (CONFIG GET raft-stream-port)
    and every stream between the nodes uses it (INFO raft, `stream=tcp`), both ways; so does
    a follower's forward stream to the leader (`forwarded:...,stream=tcp`)."""
    cluster = start_cluster(3)
    leader = cluster.leader()
    cluster.client(leader, protocol=2).set("stream:k", "v")
    for node_id, node in cluster.nodes.items():
        shown = cluster.client(node_id, protocol=2).config_get("raft-stream-port")
        stream_port = int(shown["raft-stream-port"])
        assert stream_port > 0 and stream_port != node.raft_port

        def streams(node_id: int = node_id) -> dict[str, object] | None:
            raft = cluster.client(node_id, protocol=2).info("raft")
            rows = [v for k, v in raft.items() if k.startswith("transport_peer")]
            up = len(rows) == 2 and all(row["stream"] == "tcp" for row in rows)
            return raft if up else None

        raft = poll_until(streams, timeout_s=10)
        assert raft, cluster.info_raft(node_id)
        assert raft["transport_received"]["tcp_streams"] == 2
    follower = next(n for n in cluster.nodes if n != leader)
    cluster.client(follower, protocol=2).set("stream:forwarded", "v")  # a forward stream opens
    forwarded = cluster.client(follower, protocol=2).info("raft")["forwarded"]
    assert forwarded["stream"] == "tcp" and forwarded["commands"] >= 1, forwarded
