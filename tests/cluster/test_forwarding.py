"""Forwarding to the leader: a `ForwardBatch` runs in order on the leader, each answer in its
command's protocol; a node that is not the leader refuses every command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from seshat.transport import PeerClient, api
from tests.cluster.conftest import LocalCluster

NOT_AN_INTEGER = "ERR value is not an integer or out of range"


def _follower(cluster: LocalCluster) -> int:
    leader = cluster.leader()
    return next(n for n in cluster.nodes if n != leader)


def _forward_batch(
    raft_port: int, commands: tuple[api.ForwardRequest, ...]
) -> api.ForwardBatchReply:
    """Call one node's ForwardBatch as a member of its cluster would."""

    async def call() -> api.ForwardBatchReply:
        address = f"127.0.0.1:{raft_port}"
        async with PeerClient.connect(address) as anonymous:
            cluster_id = (await anonymous.status()).cluster_id
        async with PeerClient.connect(address, cluster_id=cluster_id, node_id=9) as client:
            return await client.forward_batch(api.ForwardBatchRequest(commands))

    return asyncio.run(call())


def test_the_leader_runs_a_batch_in_order_each_reply_in_its_commands_protocol(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    follower = _follower(cluster)
    commands = (
        api.ForwardRequest((b"RPUSH", b"l", b"a")),
        api.ForwardRequest((b"SET", b"s", b"x")),
        api.ForwardRequest((b"INCR", b"s")),  # fails when applied
        api.ForwardRequest((b"incr",)),  # wrong arity: answered without proposing
        api.ForwardRequest((b"LRANGE", b"l", b"0", b"-1")),  # a read sees the writes before it
        api.ForwardRequest((b"RPUSH", b"l", b"b"), protocol=3),
        api.ForwardRequest((b"LPOP", b"none"), protocol=3),
        api.ForwardRequest((b"LPOP", b"none"), protocol=2),
        api.ForwardRequest((b"SET", b"k", b"one"), db=1),
    )
    reply = _forward_batch(cluster.nodes[leader].raft_port, commands)
    assert [r.status for r in reply.replies] == [api.ReplyStatus.OK] * len(commands)
    assert [r.reply for r in reply.replies] == [
        b":1\r\n",
        b"+OK\r\n",
        b"-" + NOT_AN_INTEGER.encode() + b"\r\n",
        b"-ERR wrong number of arguments for 'incr' command\r\n",
        b"*1\r\n$1\r\na\r\n",
        b":2\r\n",
        b"_\r\n",
        b"$-1\r\n",
        b"+OK\r\n",
    ]
    assert cluster.client(leader, protocol=2, db=1).get("k") == b"one"
    assert cluster.client(leader, protocol=2).get("k") is None
    # Not the leader: every command is refused (it never ran), naming the leader.
    refused = _forward_batch(cluster.nodes[follower].raft_port, commands[:3])
    assert [(r.status, r.leader_id) for r in refused.replies] == [
        (api.ReplyStatus.NOT_LEADER, leader)
    ] * 3
    assert cluster.client(leader, protocol=2).lrange("l", 0, -1) == [b"a", b"b"]
