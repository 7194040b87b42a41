"""MULTI/EXEC/DISCARD/WATCH/UNWATCH and the blocking list pops, against real processes.

Goal: the replies of transactions (errors included, RESP2 and RESP3 bytes) match redis-server
7.0.15 for the same sequences, also when a second connection interferes; redis-py's optimistic
WATCH loop stays exact under concurrent clients on one node and through a follower of a
three-node cluster; BLPOP & co. block, wake on a push from another client in FIFO order, time
out with a null array and forget a client that went away.
"""

# ruff: noqa: F811  (pytest fixtures imported from other modules are parameters here)
from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest
import redis

from tests.cluster.conftest import LocalCluster, start_cluster  # noqa: F401  (fixture)
from tests.server.conftest import SeshatProcess, wait_blocked
from tests.server.test_differential_wire import (  # noqa: F401  (fixtures)
    Pair,
    pair_factory,
    redis_port,
    script,
    seshat_port,
)
from tests.server.wire import WireClient, encode_command
from tests.waiting import poll_until

PROTOCOLS = [2, 3]

CASES: dict[str, str] = {
    "exec and discard without multi": """
        EXEC
        DISCARD
        UNWATCH
        MULTI
        DISCARD
        EXEC
    """,
    "queued replies and runtime errors": """
        MULTI
        SET a 1
        INCR a
        GET a
        LPUSH a x
        INCR a
        HSET h f v
        HGETALL h
        MGET a h nosuch
        EXEC
        GET a
    """,
    "queuing errors abort": """
        MULTI
        SET a 1
        NOSUCHCOMMAND x
        SET a
        GET
        CLIENT NOSUCH
        EXEC
        GET a
        MULTI
        SET a 1
        EXEC
    """,
    "argument errors are per command": """
        MULTI
        SET a 1 EX 0
        SET b 1 NX XX
        SET c 2 PX 100000
        PTTL c
        EXPIRE c notanumber
        INCRBY c x
        EXEC
    """,
    "nesting and watch inside multi": """
        MULTI
        MULTI
        WATCH a
        SET a 1
        EXEC
        MULTI
        UNWATCH
        PING
        ECHO hi
        EXEC
    """,
    "select inside multi": """
        MULTI
        SELECT 3
        SET x in3
        SELECT 99
        SELECT notanint
        GET x
        EXEC
        GET x
        SELECT 0
        GET x
    """,
    "empty transaction": """
        MULTI
        EXEC
        WATCH a
        MULTI
        EXEC
    """,
    "watch own write aborts": """
        SET k 1
        WATCH k
        SET k 2
        MULTI
        INCR k
        EXEC
        GET k
        WATCH k
        MULTI
        INCR k
        EXEC
    """,
    "watch then unwatch": """
        WATCH k
        SET k 1
        UNWATCH
        MULTI
        GET k
        EXEC
        WATCH k
        SET k 2
        MULTI
        DISCARD
        MULTI
        GET k
        EXEC
    """,
    "watch missing key and untouched writes": """
        WATCH nokey other
        DEL nokey
        SET unrelated 1
        SETNX other2 1
        MULTI
        GET nokey
        EXEC
        SET k v
        WATCH k
        SET k v NX
        MULTI
        GET k
        EXEC
    """,
    "watch and flush": """
        WATCH nokey
        FLUSHALL
        MULTI
        PING
        EXEC
        SET k 1
        WATCH k
        FLUSHDB
        MULTI
        PING
        EXEC
        SET k 1
        WATCH k
        SELECT 1
        FLUSHDB
        SELECT 0
        MULTI
        PING
        EXEC
    """,
    "watch and swapdb": """
        SET k 1
        WATCH k
        SWAPDB 0 1
        MULTI
        PING
        EXEC
        WATCH nokey
        SWAPDB 0 1
        MULTI
        PING
        EXEC
        SWAPDB 0 1
    """,
    "watch collections": """
        HSET h f 1
        RPUSH l a b
        WATCH h
        HSET h f 1
        MULTI
        PING
        EXEC
        WATCH l
        LSET l 0 z
        MULTI
        PING
        EXEC
        WATCH l
        LRANGE l 0 -1
        MULTI
        LPOP l
        EXEC
    """,
    "blocking pops inside multi never block": """
        MULTI
        BLPOP nolist 0
        BRPOP nolist 1
        BLMOVE nolist dst LEFT RIGHT 0
        BRPOPLPUSH nolist dst 0
        BZPOPMIN nozset 0
        BZPOPMAX nozset 1
        RPUSH l a
        BLPOP l 0
        ZADD z 1 m
        BZPOPMAX z 0
        BLMPOP 0 1 nolist LEFT
        BZMPOP 0 1 nozset MIN COUNT 2
        EXEC
    """,
    "blocking pops that need not block": """
        RPUSH l a b c
        BLPOP l 0
        BRPOP l 0
        BRPOPLPUSH l l2 0
        BLMOVE l2 l LEFT LEFT 0
        BLPOP l notalist 1
        SET s x
        BLPOP s 1
        BLPOP l -1
        BLPOP l notafloat
        ZADD z 1 a 2 b
        BZPOPMIN z 0
        BZPOPMAX s z 0
        BZPOPMAX z l 0
    """,
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_transactions_like_redis(
    name: str,
    protocol: int,
    pair_factory: Callable[[int], Pair],
) -> None:
    pair = pair_factory(protocol)
    pair.reset()
    for argv in script(CASES[name]):
        pair.check(argv)
    pair.check([b"SELECT", b"0"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_watch_sees_other_clients(protocol: int, pair_factory: Callable[[int], Pair]) -> None:
    pair = pair_factory(protocol)
    other = pair_factory(2)
    pair.reset()
    for watched, interference, aborts in (
        ([b"k"], [b"SET", b"k", b"2"], True),
        ([b"k"], [b"SET", b"unrelated", b"2"], False),
        ([b"k", b"j"], [b"DEL", b"j"], False),  # j did not exist: DEL changes nothing
        ([b"k", b"j"], [b"SET", b"j", b"1"], True),
        ([b"j"], [b"DEL", b"j"], True),
        ([b"k"], [b"EXPIRE", b"k", b"100"], True),
        ([b"k"], [b"RENAME", b"k", b"k2"], True),
        ([b"k2"], [b"RENAME", b"k2", b"k"], True),
        ([b"k"], [b"SETBIT", b"k", b"2", b"1"], False),  # "2" is 0x32: bit 2 is already 1
        ([b"k"], [b"SETBIT", b"k", b"0", b"0"], False),
        ([b"k"], [b"SETBIT", b"k", b"0", b"1"], True),
        ([b"k"], [b"SETBIT", b"k", b"100", b"0"], True),  # the string grows
        ([b"b"], [b"BITOP", b"AND", b"b", b"nokey"], False),  # nothing to store or delete
        ([b"k"], [b"BITOP", b"OR", b"k", b"k"], True),
    ):
        pair.check([b"WATCH", *watched])
        pair.check([b"MULTI"])
        pair.check([b"GET", b"k"])
        other.check(interference)
        reply = pair.check([b"EXEC"])
        assert (reply in (b"*-1\r\n", b"_\r\n")) == aborts, (watched, interference, reply)


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    if not poll_until(condition, timeout_s=4):
        raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_watched_key_that_expires_aborts(
    protocol: int, pair_factory: Callable[[int], Pair]
) -> None:
    pair = pair_factory(protocol)
    other = pair_factory(2)  # polls, so that `pair` stays inside MULTI
    pair.reset()
    pair.check([b"SET", b"k", b"1", b"PX", b"300"])
    pair.check([b"SET", b"gone", b"1", b"PX", b"1"])
    _wait_until(lambda: other.both([b"EXISTS", b"gone"]) == (b":0\r\n", b":0\r\n"), "gone expired")
    pair.check([b"WATCH", b"k"])
    pair.check([b"MULTI"])
    pair.check([b"PING"])
    _wait_until(lambda: other.both([b"EXISTS", b"k"]) == (b":0\r\n", b":0\r\n"), "k expired")
    assert pair.check([b"EXEC"]) in (b"*-1\r\n", b"_\r\n")
    # A key already expired when WATCHed: its removal by expiry is no change (Redis 7.0).
    pair.check([b"WATCH", b"gone"])
    pair.check([b"MULTI"])
    pair.check([b"PING"])
    assert pair.check([b"EXEC"]) not in (b"*-1\r\n", b"_\r\n")


# ---- redis-py's optimistic locking --------------------------------------------------------------

THREADS = 8
INCREMENTS = 50


def _increment_with_watch(port: int, key: str, retries: list[int]) -> None:
    client = redis.Redis(port=port, socket_timeout=30)

    def increment(pipe: redis.client.Pipeline) -> None:  # type: ignore[type-arg]
        value = int(pipe.get(key) or 0)
        pipe.multi()
        pipe.set(key, value + 1)

    for _ in range(INCREMENTS):
        while True:
            try:
                client.transaction(increment, key)
                break
            except redis.WatchError:  # pragma: no cover - transaction() retries itself
                retries.append(1)
    client.close()


def _hammer(port: int, key: str) -> None:
    retries: list[int] = []
    threads = [
        threading.Thread(target=_increment_with_watch, args=(port, key, retries))
        for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)


def test_watch_counter_single_node(seshat_server: SeshatProcess) -> None:
    _hammer(seshat_server.port, "counter")
    assert seshat_server.client().get("counter") == str(THREADS * INCREMENTS).encode()


def test_pipeline_transaction_and_watch_error(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client()
    pipe = r.pipeline(transaction=True)
    pipe.set("a", 1).incr("a").get("a").lpush("a", "x")
    results = pipe.execute(raise_on_error=False)
    assert results[:3] == [True, 2, b"2"]
    assert isinstance(results[3], redis.ResponseError)
    with r.pipeline() as pipe:
        pipe.watch("a")
        r.set("a", 10)  # another connection changes it
        pipe.multi()
        pipe.incr("a")
        with pytest.raises(redis.WatchError):
            pipe.execute()


def _cluster_follower(cluster: LocalCluster) -> tuple[int, int]:
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    return leader, follower


def test_watch_counter_through_a_follower(start_cluster: Callable[..., LocalCluster]) -> None:
    cluster = start_cluster(3)
    leader, follower = _cluster_follower(cluster)
    port = cluster.nodes[follower].port
    _hammer(port, "counter")
    expected = str(THREADS * INCREMENTS).encode()
    assert cluster.client(follower).get("counter") == expected
    assert cluster.client(leader).get("counter") == expected
    # SELECT inside MULTI and a queuing error, relayed
    r = cluster.client(follower, protocol=2)
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("SELECT", 5).set("x", "y").execute_command("PING")
    assert pipe.execute() == [True, True, True]
    assert cluster.client(leader, db=5).get("x") == b"y"
    # BLPOP on a follower blocks on the leader and wakes on a push through another node
    results: list[object] = []
    blocked = threading.Thread(
        target=lambda: results.append(cluster.client(follower).blpop(["q"], timeout=20))
    )
    blocked.start()
    wait_blocked(cluster.client(leader), 1)  # it blocks on the leader
    other = next(n for n in cluster.nodes if n not in (leader, follower))
    cluster.client(other).rpush("q", "item")
    blocked.join(20)
    assert results == [(b"q", b"item")]


# ---- blocking pops ------------------------------------------------------------------------------


def _raw_blocked(port: int, argv: list[bytes], protocol: int = 2) -> WireClient:
    client = WireClient(port)
    if protocol == 3:
        client.call([b"HELLO", b"3"])
    client.send(encode_command(argv))
    return client


def test_blpop_woken_by_another_client(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client()
    waiter = _raw_blocked(seshat_server.port, [b"BLPOP", b"l1", b"l2", b"0"])
    wait_blocked(r, 1)
    assert r.rpush("l2", "x") == 1
    assert waiter.reply() == b"*2\r\n$2\r\nl2\r\n$1\r\nx\r\n"
    # the connection answers its next command normally once unblocked
    assert waiter.call([b"PING"]) == b"+PONG\r\n"
    assert r.llen("l2") == 0
    waiter.close()


def test_bzpopmin_woken_by_another_client(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client()
    waiter = _raw_blocked(seshat_server.port, [b"BZPOPMIN", b"z1", b"z2", b"0"])
    wait_blocked(r, 1)
    assert r.zadd("z2", {"b": 2, "a": 1.5}) == 2
    assert waiter.reply() == b"*3\r\n$2\r\nz2\r\n$1\r\na\r\n$3\r\n1.5\r\n"
    assert r.zrange("z2", 0, -1) == [b"b"]
    waiter.close()


def test_blmpop_and_bzmpop_woken_by_another_client(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client()
    lists = _raw_blocked(seshat_server.port, [b"BLMPOP", b"0", b"2", b"l1", b"l2", b"RIGHT"])
    zsets = _raw_blocked(seshat_server.port, [b"BZMPOP", b"0", b"1", b"z", b"MIN", b"COUNT", b"2"])
    wait_blocked(r, 2)
    assert r.rpush("l2", "a", "b") == 2
    assert lists.reply() == b"*2\r\n$2\r\nl2\r\n*1\r\n$1\r\nb\r\n"
    assert r.zadd("z", {"x": 2, "y": 1, "w": 3}) == 3
    assert zsets.reply() == (
        b"*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\ny\r\n$1\r\n1\r\n*2\r\n$1\r\nx\r\n$1\r\n2\r\n"
    )
    assert r.zrange("z", 0, -1) == [b"w"]
    lists.close()
    zsets.close()


def test_blocked_clients_are_served_fifo(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client()
    first = _raw_blocked(seshat_server.port, [b"BRPOP", b"q", b"0"])
    wait_blocked(r, 1)
    second = _raw_blocked(seshat_server.port, [b"BLMOVE", b"q", b"dst", b"LEFT", b"RIGHT", b"0"])
    wait_blocked(r, 2)
    r.rpush("q", "a")
    assert first.reply() == b"*2\r\n$1\r\nq\r\n$1\r\na\r\n"
    r.rpush("q", "b")
    assert second.reply() == b"$1\r\nb\r\n"
    assert r.lrange("dst", 0, -1) == [b"b"]
    first.close()
    second.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_blpop_timeout(seshat_server: SeshatProcess, protocol: int) -> None:
    client = _raw_blocked(seshat_server.port, [b"BLPOP", b"empty", b"0.2"], protocol)
    assert client.reply() == (b"*-1\r\n" if protocol == 2 else b"_\r\n")
    client.send(encode_command([b"BRPOPLPUSH", b"empty", b"dst", b"0.1"]))
    assert client.reply() == (b"*-1\r\n" if protocol == 2 else b"_\r\n")
    client.close()
    assert seshat_server.client().blpop(["empty"], timeout=0.1) is None


def test_commands_after_a_blocking_pop_wait_for_it(seshat_server: SeshatProcess) -> None:
    """Pipelined after BLPOP, a push on the same connection runs only after BLPOP answers."""
    client = WireClient(seshat_server.port)
    client.send(encode_command([b"BLPOP", b"p", b"0.3"]) + encode_command([b"RPUSH", b"p", b"v"]))
    assert client.reply() == b"*-1\r\n"
    assert client.reply() == b":1\r\n"
    client.close()


def test_killed_blocked_client_takes_nothing(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client()
    sock = socket.create_connection(("127.0.0.1", seshat_server.port))
    sock.sendall(encode_command([b"BLPOP", b"k", b"0"]))
    wait_blocked(r, 1)
    sock.close()
    _wait_until(lambda: int(r.info("clients")["blocked_clients"]) == 0, "the closed waiter")
    killed = _raw_blocked(seshat_server.port, [b"BLPOP", b"k", b"0"])
    wait_blocked(r, 1)
    killed_id = [
        int(line.split(b"id=")[1].split(b" ")[0])
        for line in r.execute_command("CLIENT", "LIST").splitlines()
        if b"cmd=blpop" in line.lower()
    ]
    assert len(killed_id) == 1
    r.execute_command("CLIENT", "KILL", "ID", killed_id[0])
    _wait_until(lambda: int(r.info("clients")["blocked_clients"]) == 0, "the killed waiter")
    r.rpush("k", "kept")
    assert r.lrange("k", 0, -1) == [b"kept"]
    killed.close()
