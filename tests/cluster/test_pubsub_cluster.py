"""Pub/sub across a three-node cluster: a message published on any node reaches the
subscribers of every node, as in Redis Cluster, and a node that is down does not stop it."""

from __future__ import annotations

from collections.abc import Callable

import redis

from tests.cluster.conftest import LocalCluster
from tests.waiting import poll_until


def _subscribe(client: redis.Redis, channel: str, pattern: str) -> redis.client.PubSub:
    """The caller keeps `client`: redis-py closes its pool, the subscriber's connection
    included, when the client object is collected."""
    pubsub = client.pubsub()
    pubsub.subscribe(channel)
    pubsub.psubscribe(pattern)
    for _ in range(2):
        assert pubsub.get_message(timeout=5) is not None  # the two confirmations
    return pubsub


def _take(pubsub: redis.client.PubSub, n: int) -> list[tuple[str, bytes, bytes]]:
    """The next `n` messages (kind, channel, data), or fewer if they do not come within a
    bounded wait (10 s in all)."""
    got: list[tuple[str, bytes, bytes]] = []
    for _ in range(50):
        while len(got) < n:
            message = pubsub.get_message(timeout=0.2)
            if message is None:
                break
            got.append((message["type"], message["channel"], message["data"]))
        if len(got) == n:
            break
    return got


def test_a_message_published_on_any_node_reaches_every_nodes_subscribers(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    clients = {n: cluster.client(n) for n in cluster.nodes}
    subscribers = {n: _subscribe(clients[n], "news", "n*") for n in cluster.nodes}
    for publisher in cluster.nodes:
        body = f"from {publisher}".encode()
        # The count is of this node's own subscribers, as PUBLISH answers in Redis Cluster.
        assert clients[publisher].publish("news", body) == 2
        for node, pubsub in subscribers.items():
            got = _take(pubsub, 2)
            assert got == [("message", b"news", body), ("pmessage", b"news", body)], node
    # In order, from one node to another.
    follower = next(n for n in cluster.nodes if n != cluster.leader())
    sender = clients[follower]
    for i in range(50):
        sender.publish("news", str(i))
    watcher = subscribers[next(n for n in cluster.nodes if n != follower)]
    seen = _take(watcher, 100)
    assert [m[2] for m in seen if m[0] == "message"] == [str(i).encode() for i in range(50)]
    # Messages are not Raft entries: publishing moves no node's commit index.
    commit = {n: cluster.info_raft(n)["commit_index"] for n in cluster.nodes}
    sender.publish("news", "x")
    assert {n: cluster.info_raft(n)["commit_index"] for n in cluster.nodes} == commit
    for pubsub in subscribers.values():
        pubsub.close()


def test_publish_goes_on_with_a_node_down_and_reaches_it_again_after(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    down, up = (n for n in cluster.nodes if n != leader)
    watching = cluster.client(up)
    watcher = _subscribe(watching, "alerts", "a*")
    cluster.nodes[down].kill()
    for i in range(20):  # no hang and no error while a peer is unreachable
        assert cluster.client(leader).publish("alerts", f"m{i}") == 0
    got = _take(watcher, 40)
    assert [m[2] for m in got if m[0] == "message"] == [f"m{i}".encode() for i in range(20)]
    cluster.nodes[down].start()
    returning = cluster.client(down)
    returned = _subscribe(returning, "alerts", "a*")

    def delivered() -> bool:
        cluster.client(leader).publish("alerts", "back")
        return _take(returned, 1) == [("message", b"alerts", b"back")]

    assert poll_until(delivered, timeout_s=20, interval_s=0.2)
    returned.close()
    watcher.close()
