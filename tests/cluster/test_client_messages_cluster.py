"""What a client hears about changes, on a three-node cluster: every node applies every entry,
so a keyspace-notification subscriber on any node hears about writes made through any node,
in the log's order, by that node's own `notify-keyspace-events` (as each Redis node does), and
a CLIENT TRACKING client on any node is told when what it read changes, and a MONITOR on any
node sees the commands a script ran."""

from __future__ import annotations

from collections.abc import Callable

from tests.cluster.conftest import LocalCluster
from tests.server.wire import WireClient


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


def test_client_tracking_on_a_follower_hears_writes_made_through_the_leader(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    """CLIENT TRACKING: a follower remembers what its client read and invalidates it when it
    applies a change, whichever node the change came through."""
    cluster = start_cluster(3)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    reader = WireClient(cluster.nodes[follower].port)
    try:
        reader.call([b"HELLO", b"3"])
        assert reader.call([b"CLIENT", b"TRACKING", b"ON"]) == b"+OK\r\n"
        writer = cluster.client(leader)
        writer.set("k", 1)
        assert reader.call([b"GET", b"k"]) == b"$1\r\n1\r\n"
        writer.set("k", 2)
        assert reader.reply() == b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
        assert reader.call([b"GET", b"k"]) == b"$1\r\n2\r\n"
        # Read inside a transaction, which the leader runs: the follower cannot tell from its
        # own apply order which later change to report, so it invalidates what the
        # transaction read right after EXEC's reply, and the client reads again if it wants.
        for argv in ([b"MULTI"], [b"GET", b"k"], [b"GET", b"j"]):
            reader.call(argv)
        assert reader.call([b"EXEC"]) == b"*2\r\n$1\r\n2\r\n_\r\n"
        invalidated = {reader.reply(), reader.reply()}
        assert invalidated == {
            b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\n%b\r\n" % key for key in (b"k", b"j")
        }
        writer.set("k", 3)
        assert reader.call([b"GET", b"k"]) == b"$1\r\n3\r\n"  # nothing else came first
    finally:
        reader.close()


def test_monitors_on_every_node_see_the_commands_scripts_run(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    """A script runs in apply on every replica, so each node's MONITOR shows its `[0 lua]`
    lines, whichever node's client sent it; the EVAL line itself shows only where it was sent."""
    cluster = start_cluster(3)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    monitors = {n: WireClient(cluster.nodes[n].port) for n in cluster.nodes}
    try:
        for monitor in monitors.values():
            assert monitor.call([b"MONITOR"]) == b"+OK\r\n"
        sender = WireClient(cluster.nodes[follower].port)
        try:
            script = b"redis.call('set', KEYS[1], 'v') return redis.call('get', KEYS[1])"
            assert sender.call([b"EVAL", script, b"1", b"mk"]) == b"$1\r\nv\r\n"
        finally:
            sender.close()
        for n, monitor in monitors.items():
            lines = []
            while not lines or b'"get" "mk"' not in lines[-1]:
                frame = monitor.reply()
                assert frame, (n, lines)  # the node closed the connection
                lines.append(frame)
            lua = [line.split(b"] ", 1)[1] for line in lines if b" [0 lua] " in line]
            assert lua == [b'"set" "mk" "v"\r\n', b'"get" "mk"\r\n'], (n, lines)
            evals = [line for line in lines if b'"EVAL"' in line.upper()]
            assert len(evals) == (1 if n == follower else 0), (n, lines)
    finally:
        for monitor in monitors.values():
            monitor.close()
