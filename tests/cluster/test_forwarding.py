"""Writes through a follower: relayed to the leader in batches (`seshat/forwarder.py`), in the
order each connection sent them, each answer the leader's own, in the client's protocol.

Real processes and real redis-py clients. Every pipeline here is `transaction=False`: plain
pipelined commands, which a follower relays without waiting for each reply.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from collections.abc import Callable

import redis

from seshat.transport import PeerClient, api
from tests.cluster.conftest import LocalCluster
from tests.waiting import poll_until

NOT_AN_INTEGER = "ERR value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def _follower(cluster: LocalCluster) -> int:
    leader = cluster.leader()
    return next(n for n in cluster.nodes if n != leader)


def _forwarded(cluster: LocalCluster, node_id: int) -> tuple[int, int]:
    """(commands, batches) node `node_id` relayed to the leader (INFO raft)."""
    fields = cluster.client(node_id, protocol=2).info("raft")["forwarded"]  # parsed by redis-py
    # Leaders of this version take every batch on the ForwardStream, none as a unary call.
    assert int(fields["unary"]) == 0 and int(fields["fallbacks"]) == 0, fields
    return int(fields["commands"]), int(fields["batches"])


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


def test_pipelined_writes_through_a_follower_apply_in_order_in_few_batches(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    follower = _follower(cluster)
    client = cluster.client(follower, protocol=2)
    pipe = client.pipeline(transaction=False)
    for i in range(2000):
        pipe.rpush("list", i)
        pipe.incr("counter")
    replies = pipe.execute()
    assert replies[0::2] == list(range(1, 2001))
    assert replies[1::2] == list(range(1, 2001))
    assert client.lrange("list", 0, -1) == [str(i).encode() for i in range(2000)]
    commands, batches = _forwarded(cluster, follower)
    assert commands == 4000
    assert batches <= 40, f"{batches} batches for 4000 pipelined writes: not batched"


def _connection_writes(port: int, name: str, rounds: int, errors: list[str]) -> None:
    """Pipelines and single commands mixed, as a busy client would send them."""
    try:
        client = redis.Redis(port=port, protocol=2, socket_timeout=20)
        n = 0
        for r in range(rounds):
            pipe = client.pipeline(transaction=False)
            for _ in range(25):
                pipe.rpush(name, n)
                pipe.incr("shared")
                n += 1
            replies = pipe.execute()
            if replies[0::2] != list(range(n - 24, n + 1)):
                errors.append(f"{name} round {r}: {replies[0::2][:5]}...")
            assert client.rpush(name, n) == n + 1
            n += 1
    except Exception as error:  # reported by the test, which cannot see a thread's exception
        errors.append(f"{name}: {error!r}")


def test_concurrent_connections_through_a_follower_keep_their_order_and_lose_nothing(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    follower = _follower(cluster)
    port = cluster.nodes[follower].port
    errors: list[str] = []
    names = [f"conn{i}" for i in range(8)]
    rounds = 20
    threads = [
        threading.Thread(target=_connection_writes, args=(port, name, rounds, errors))
        for name in names
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    per_connection = rounds * 26
    client = cluster.client(follower, protocol=2)
    for name in names:
        assert client.lrange(name, 0, -1) == [str(i).encode() for i in range(per_connection)]
    assert client.get("shared") == str(len(names) * rounds * 25).encode()
    commands, _ = _forwarded(cluster, follower)
    assert commands == len(names) * per_connection + len(names) * rounds * 25


def test_a_command_failing_on_the_leader_leaves_its_batch_neighbours_alone(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    follower = _follower(cluster)
    client = cluster.client(follower, protocol=2)
    pipe = client.pipeline(transaction=False)
    pipe.set("word", "hello")
    pipe.incr("n")
    pipe.incr("word")  # fails when applied on the leader
    pipe.incr("n")
    pipe.lpush("word", "x")  # wrong type, also found on the leader
    pipe.incr("n")
    pipe.execute_command("INCR")  # wrong arity: answered by the follower, never relayed
    pipe.rpush("after", "a", "b")
    replies = pipe.execute(raise_on_error=False)
    assert replies[:2] == [True, 1]
    # redis-py drops the "ERR " code word; the RESP3 test below checks the bytes themselves.
    assert isinstance(replies[2], redis.ResponseError)
    assert str(replies[2]) == NOT_AN_INTEGER.removeprefix("ERR ")
    assert replies[3] == 2
    assert isinstance(replies[4], redis.ResponseError) and str(replies[4]) == WRONGTYPE
    assert replies[5] == 3
    assert isinstance(replies[6], redis.ResponseError)
    assert "wrong number of arguments" in str(replies[6])
    assert replies[7] == 2
    assert client.get("word") == b"hello"
    assert client.get("n") == b"3"


def test_resp3_client_gets_resp3_replies_through_a_batch(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    follower = _follower(cluster)
    # RESP3 nulls (`_`) and RESP2 ones (`$-1`, `*-1`) differ on the wire: check the bytes.
    raw = cluster.nodes[follower].raw(
        b"HELLO 3\r\n"
        b"SET a 1\r\nSET a 2 GET\r\nSET b 1 GET\r\nLPOP nolist\r\nINCR a\r\nINCR b\r\n"
        b"SET w abc\r\nINCR w\r\nINCR a\r\n"
    )
    expected = (
        b"+OK\r\n$1\r\n1\r\n_\r\n_\r\n:3\r\n:2\r\n"
        b"+OK\r\n-" + NOT_AN_INTEGER.encode() + b"\r\n:4\r\n"
    )
    assert raw.endswith(expected), raw[-120:]
    client = cluster.client(follower, protocol=3)
    pipe = client.pipeline(transaction=False)
    for i in range(200):
        pipe.hset("h", f"f{i}", i)
        pipe.lpop("none")
    replies = pipe.execute()
    assert replies == [1, None] * 200
    assert client.hlen("h") == 200


def test_reads_exec_and_blocking_pops_after_pipelined_writes_see_them(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    follower = _follower(cluster)
    client = cluster.client(follower, protocol=2)
    pipe = client.pipeline(transaction=False)
    pipe.rpush("q", "a", "b")
    pipe.rpush("q", "c")
    pipe.lrange("q", 0, -1)  # a read waits for the writes before it
    pipe.blpop(["q"], 1)  # a blocking pop too (forwarded on its own)
    pipe.rpush("q", "d")
    pipe.set("x", 1)
    pipe.execute_command("MULTI")
    pipe.execute_command("INCR", "x")
    pipe.execute_command("EXEC")  # forwarded on its own, after the writes before it
    pipe.incr("x")
    pipe.lrange("q", 0, -1)
    replies = pipe.execute()
    assert replies[:3] == [2, 3, [b"a", b"b", b"c"]]
    assert replies[3] == (b"q", b"a") or replies[3] == [b"q", b"a"]
    assert replies[4:6] == [3, True]
    assert replies[7:] == [b"QUEUED", [2], 3, [b"b", b"c", b"d"]]


def test_no_leader_answers_clusterdown_never_success(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    follower = _follower(cluster)
    other = next(n for n in cluster.nodes if n not in (leader, follower))
    cluster.nodes[leader].pause()
    cluster.nodes[other].pause()
    try:
        # The follower notices the leader is gone.
        poll_until(lambda: cluster.info_raft(follower).get("leader_id") == "0")
        assert cluster.info_raft(follower)["leader_id"] == "0"
        client = cluster.client(follower, protocol=2)
        pipe = client.pipeline(transaction=False)
        for i in range(50):
            pipe.rpush("orphan", i)
        replies = pipe.execute(raise_on_error=False)
        # -CLUSTERDOWN: never ran (redis-py names it ClusterDownError), never a success.
        assert all(isinstance(r, redis.exceptions.ClusterDownError) for r in replies), replies
    finally:
        cluster.nodes[leader].resume()
        cluster.nodes[other].resume()
    cluster.leader()
    client = cluster.client(follower, protocol=2)
    # The follower learns the new leader (until then: -CLUSTERDOWN, a ResponseError).
    pushed = poll_until(
        lambda: client.rpush("orphan", "back"), timeout_s=5, retry_on=(redis.ResponseError,)
    )
    assert pushed in (None, 1)
    assert client.lrange("orphan", 0, -1) == [b"back"]


def _streaming_pusher(port: int, replies: list[bytes], stop: threading.Event) -> int:
    """Send RPUSH seq 0, 1, 2, ... in small chunks without waiting for replies (a client that
    always has writes in flight), collecting each reply line; returns how many were sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    done = threading.Event()
    sent = 0

    def read() -> None:
        buffer = b""
        while not (done.is_set() and len(replies) >= sent):
            # Not a blocking recv: if the last reply came in before `done` was set, nothing
            # more would ever arrive to end the recv (it timed out there once, under load).
            readable, _, _ = select.select([sock], [], [], 0.1)
            if not readable:
                continue
            chunk = sock.recv(65536)
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\r\n")
            replies.extend(lines)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        while not stop.is_set():
            sock.sendall(b"".join(b"RPUSH seq %d\r\n" % (sent + i) for i in range(20)))
            sent += 20
            time.sleep(0.002)  # a pace for the sender, not a wait for anything
        done.set()
        reader.join(30)
    finally:
        sock.close()
    return sent


def test_order_kept_when_the_follower_becomes_leader_mid_stream(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    """A connection's relayed writes finish before the new leader proposes its next ones."""
    cluster = start_cluster(3)
    leader = cluster.leader()
    target = _follower(cluster)
    replies: list[bytes] = []
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            _streaming_pusher(cluster.nodes[target].port, replies, stop)
        )
    )
    thread.start()
    try:
        poll_until(lambda: len(replies) >= 500, timeout_s=4)
        assert cluster.client(leader).execute_command("RAFT.TRANSFER", target) in (b"OK", True)
        poll_until(lambda: cluster.info_raft(target).get("role") == "leader")
        assert cluster.info_raft(target)["role"] == "leader"
        before = len(replies)
        poll_until(lambda: len(replies) >= before + 500, timeout_s=4)  # the new leader writes
    finally:
        stop.set()
        thread.join(60)
    assert result and len(replies) == result[0], (len(replies), result)
    stored = [int(v) for v in cluster.client(target, protocol=2).lrange("seq", 0, -1)]
    assert stored == sorted(stored) and len(set(stored)) == len(stored), "order broken"
    acked = {v for v, reply in enumerate(replies) if reply.startswith(b":")}
    never_ran = {v for v, reply in enumerate(replies) if reply.startswith(b"-CLUSTERDOWN")}
    assert acked <= set(stored), sorted(acked - set(stored))[:5]
    assert not never_ran & set(stored), sorted(never_ran & set(stored))[:5]
    # Each acknowledged RPUSH answered the list's length right after it: its position.
    positions = {v: i + 1 for i, v in enumerate(stored)}
    assert all(int(replies[v][1:]) == positions[v] for v in acked)
