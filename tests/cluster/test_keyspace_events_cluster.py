"""Keyspace notifications on a three-node cluster: every node applies every entry, so a
subscriber on any node hears about writes made through any node, in the log's order, and
each node publishes by its own `notify-keyspace-events` (as each Redis node does)."""

from __future__ import annotations

from collections.abc import Callable

from tests.cluster.conftest import LocalCluster


def test_subscribers_on_every_node_hear_writes_made_through_any_node(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    nodes = list(cluster.nodes)
    subscribers = {}
    # Kept alive: a client's connection pool holds its pub/sub connection.
    clients = {n: cluster.client(n, protocol=3) for n in nodes}
    for n in nodes:
        client = clients[n]
        client.config_set("notify-keyspace-events", "E$l" if n != leader else "K$")
        pubsub = client.pubsub()
        pubsub.psubscribe("__key*__:*")
        assert pubsub.get_message(timeout=5)["type"] == "psubscribe"
        subscribers[n] = pubsub
    writers = [cluster.client(n) for n in nodes]
    for i, writer in enumerate(writers):
        writer.set(f"k{i}", i)
        writer.rpush("list", i)

    def heard(n: int, count: int) -> list[tuple[bytes, bytes]]:
        out = []
        while len(out) < count:
            message = subscribers[n].get_message(timeout=10)
            assert message is not None, (n, out)
            out.append((message["channel"], message["data"]))
        return out

    expected_events = []
    for i in range(len(writers)):
        expected_events += [(b"__keyevent@0__:set", b"k%d" % i), (b"__keyevent@0__:rpush", b"list")]
    for n in nodes:
        if n == leader:  # K$: keyspace channels of string events only
            assert heard(n, 3) == [(b"__keyspace@0__:k%d" % i, b"set") for i in range(3)]
        else:
            assert heard(n, 6) == expected_events
