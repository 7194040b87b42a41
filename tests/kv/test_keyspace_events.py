"""Keyspace notifications against redis-server: every differential sequence of the data-type
tests is run again on both sides with notifications on, and the events each command publishes
are compared, command by command, channel and message.

Redis's side is read by a second connection subscribed to `__key*__:*`; a PING on it after each
command returns after everything published before (one connection's replies keep their
order). The `x` class (expired) is left out of these sequences: when Redis expires a key
depends on its own timer and on reads, which Seshat's apply never sees; expiry is checked on
its own below, with writes only.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import hiredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.kv import notify as N
from tests.kv import (
    test_differential,
    test_differential_collections,
    test_functions_differential,
    test_geo_differential,
    test_scripts_differential,
    test_sort_differential,
    test_streams_differential,
)
from tests.kv.conftest import LocalClient, RawRedis

FLAGS = b"KEg$lshztn"  # every class Seshat emits but x (see the module docstring)

Published = list[tuple[bytes, bytes]]


class Subscriber:
    """A RESP2 connection in pattern-subscribed mode on every keyspace channel."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.reader = hiredis.Reader()
        self._send([b"PSUBSCRIBE", b"__key*__:*"])
        assert self._read()[0] == b"psubscribe"

    def _send(self, argv: list[bytes]) -> None:
        self.sock.sendall(
            b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)
        )

    def _read(self) -> list[bytes]:
        while True:
            reply = self.reader.gets()
            if reply is not False:
                assert isinstance(reply, list), reply
                return reply
            data = self.sock.recv(1 << 16)
            assert data, "redis-server closed the subscriber"
            self.reader.feed(data)

    def drain(self) -> Published:
        """Everything published since the last drain, in order."""
        self._send([b"PING"])
        out: Published = []
        while True:
            reply = self._read()
            if reply[0] == b"pong":
                return out
            assert reply[0] == b"pmessage", reply
            out.append((reply[2], reply[3]))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def subscriber(redis_port: int, real_redis: RawRedis) -> Iterator[Subscriber]:
    sub = Subscriber(redis_port)
    try:
        yield sub
    finally:
        sub.close()
        real_redis.execute([b"CONFIG", b"SET", b"notify-keyspace-events", b""])


def ours(local: LocalClient, flags: int) -> Published:
    events = local.executor.events
    out = [pair for event, db, key in events for pair in N.channels(flags, event, db, key)]
    events.clear()
    return out


def check_events(
    real: RawRedis,
    sub: Subscriber,
    local: LocalClient,
    commands: list[list[bytes]],
    flags: bytes = FLAGS,
    name: str = "",
) -> None:
    """Run `commands` on both sides from empty databases; each command publishes the same."""
    bits = N.parse_flags(flags)
    assert bits is not None
    real.execute([b"CONFIG", b"SET", b"notify-keyspace-events", b""])
    for client in (real, local):
        client.execute([b"SELECT", b"0"])
        client.execute([b"FLUSHALL"])
        client.execute([b"SWAPDB", b"0", b"0"])
        client.execute([b"FUNCTION", b"FLUSH"])
    local.session.db = 0
    real.execute([b"CONFIG", b"SET", b"notify-keyspace-events", flags])
    sub.drain()
    state_machine = local.executor.state_machine
    state_machine.notify_classes = N.emitted_classes(bits)
    local.executor.events.clear()
    try:
        for i, argv in enumerate(commands):
            test_differential.run(real, argv)
            test_differential.run(local, argv)
            theirs, mine = sub.drain(), ours(local, bits)
            assert mine == theirs, (
                f"{name}: command #{i} {b' '.join(argv)!r}: redis published {theirs!r}, "
                f"seshat {mine!r}\nsequence: {[b' '.join(c) for c in commands]!r}"
            )
    finally:
        state_machine.notify_classes = 0


def _data_type_sequences() -> dict[str, list[list[bytes]]]:
    found: dict[str, list[list[bytes]]] = {}
    for name, text in test_differential.CASES.items():
        found[f"strings/{name}"] = test_differential.parse(text)
    for name, text in test_differential_collections.CASES.items():
        found[f"collections/{name}"] = test_differential.parse(text)
    for name, text in test_streams_differential.SEQUENCES.items():
        found[f"streams/{name}"] = test_streams_differential.lines(text)
    for name, text in test_geo_differential.SEQUENCES.items():
        found[f"geo/{name}"] = test_geo_differential.lines(text)
    for name, text in test_sort_differential.SEQUENCES.items():
        found[f"sort/{name}"] = test_sort_differential.lines(text)
    for name, commands in test_scripts_differential.SEQUENCES.items():
        found[f"scripts/{name}"] = commands
    for name, commands in test_functions_differential.SEQUENCES.items():
        found[f"functions/{name}"] = commands
    return found


EDGES: dict[str, str] = {
    "bitfield writes that change nothing": """
        setbit a 0 0
        bitfield a set i1 0 0
        bitfield a incrby i1 0 0
        bitfield a set u8 8 0
        bitfield z overflow fail incrby u2 0 5
        bitfield z set u8 0 0
        bitfield z get u8 0
        setbit a 0 0
        setbit a 0 1
    """,
    "keys replaced, moved and copied": """
        set a 1
        set b 2
        rename a b
        renamenx b c
        renamenx c c
        copy c d
        copy c d replace
        copy c c
        move d 3
        select 3
        move d 0
        select 0
        expire c 100
        persist c
        persist c
        expire c -1
        getex d persist
        getex d ex 100
        getex d persist
        getex d pxat 1
        getdel nosuch
    """,
    "pops that empty a key": """
        rpush l a
        lmove l l left right
        lmove l m left left
        lmove m m right left
        rpush l x y z
        lpop l 5
        rpush l a b c
        ltrim l 5 10
        rpush l a a
        lrem l 0 a
        sadd s a b c
        spop s 5
        sadd s a b
        smove s t a
        smove s t b
        smove t t a
        zadd z 1 a 2 b 3 c
        zremrangebyrank z 0 0
        zremrangebyscore z -inf +inf
        zadd z 1 a
        zpopmin z 5
        zadd z 1 a 2 b
        zadd z xx 1 a
        zadd z xx ch 5 a
        zadd z nx 9 b
        zincrby z 0 a
        hset h a 1
        hdel h a b
        pfadd p a
        pfadd p a
        pfcount p
    """,
    "stores over existing and missing keys": """
        rpush l 3 1 2
        sort l store d
        sort l store d
        sort nosuch store d
        sort nosuch store d
        sadd a 1 2
        sadd b 3
        sinterstore d a b
        sunionstore d a b
        sdiffstore d a nosuch
        zadd z 1 x
        zunionstore d 1 z
        zinterstore d 2 z nosuch
        zrangestore d z 0 -1
        geoadd g 13.36 38.11 p 15.08 37.50 c
        geosearchstore d g frommember p byradius 1 km asc
        georadius g 15 37 200 km store d
        georadius g 15 37 1 m store d
        bitop and d a b
        set x 1
        bitop or d x
        bitop and d nosuch1 nosuch2
    """,
    "consumer groups and consumers": """
        xadd s 1-1 a 1
        xgroup create s g 0
        xgroup create s g 0
        xgroup create t g $ mkstream
        xgroup setid s g 0
        xgroup createconsumer s g alice
        xgroup createconsumer s g alice
        xreadgroup group g bob count 1 streams s >
        xreadgroup group g carol count 1 streams s >
        xclaim s g dave 0 1-1
        xautoclaim s g erin 0 0-0
        xgroup delconsumer s g alice
        xgroup delconsumer s g nobody
        xgroup destroy s g
        xgroup destroy s g
        xadd s maxlen 1 2-1 b 2
        xtrim s maxlen 0
        xtrim s maxlen 0
        xadd s 3-1 c 3
        xdel s 3-1 9-9
        xsetid s 5-0
        xadd nosuch nomkstream * a 1
    """,
}


def _all_sequences() -> dict[str, list[list[bytes]]]:
    found = {f"edges/{name}": test_differential.parse(text) for name, text in EDGES.items()}
    found.update(_data_type_sequences())
    return found


SEQUENCES = _all_sequences()


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_events_as_in_redis(
    name: str, real_redis: RawRedis, subscriber: Subscriber, local_client: LocalClient
) -> None:
    check_events(real_redis, subscriber, local_client, SEQUENCES[name], name=name)


GENERATORS = {
    "strings and keys": (test_differential.COMMAND, []),
    "collections": (test_differential_collections.COMMAND, []),
    "streams": (
        test_streams_differential.STREAM_COMMAND,
        test_streams_differential.GENERATED_PRELUDE,
    ),
    "geo": (test_geo_differential.GEO_COMMAND, test_geo_differential.GENERATED_PRELUDE),
}


@pytest.mark.parametrize("family", sorted(GENERATORS))
def test_generated_events_as_in_redis(
    family: str, real_redis: RawRedis, subscriber: Subscriber, local_client: LocalClient
) -> None:
    """The data-type tests' random command generators, with notifications compared."""
    strategy, prelude = GENERATORS[family]

    @settings(
        max_examples=int(os.environ.get("SESHAT_DIFF_EXAMPLES", "100")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(commands=st.lists(strategy, min_size=1, max_size=25))
    def run(commands: list[list[bytes]]) -> None:
        check_events(real_redis, subscriber, local_client, prelude + commands, name=family)

    run()


def test_expired_events_as_in_redis(
    real_redis: RawRedis, subscriber: Subscriber, local_client: LocalClient
) -> None:
    """`expired` for keys found expired by a write (lazily) and by the active cycle. Redis's
    own cycle decides which of the two happens when, so the events of the whole sequence are
    compared as a multiset, once Seshat's cycle has run too."""
    commands = test_differential.parse("""
        set a 1 px 40
        set b 1 px 40
        hset h f v
        pexpire h 40
        set keep 1
        select 2
        set c 1 px 40
        select 0
        sleepms 150
        set a 2
        incr keep
    """)
    flags = b"KEx$gh"
    bits = N.parse_flags(flags)
    assert bits is not None
    theirs: Published = []
    mine: Published = []
    real_redis.execute([b"CONFIG", b"SET", b"notify-keyspace-events", b""])
    for client in (real_redis, local_client):
        client.execute([b"FLUSHALL"])
    local_client.session.db = 0
    real_redis.execute([b"CONFIG", b"SET", b"notify-keyspace-events", flags])
    subscriber.drain()
    executor = local_client.executor
    executor.state_machine.notify_classes = N.emitted_classes(bits)
    executor.events.clear()
    try:
        for argv in commands:
            test_differential.run(real_redis, argv)
            test_differential.run(local_client, argv)
            theirs += subscriber.drain()
            mine += ours(local_client, bits)
        executor.active_expire(time.time_ns() // 1_000_000)
        mine += ours(local_client, bits)
    finally:
        executor.state_machine.notify_classes = 0
    assert sorted(mine) == sorted(theirs)
    expired = sorted(m for c, m in mine if c.startswith(b"__keyevent") and c.endswith(b"expired"))
    assert expired == [b"a", b"b", b"c", b"h"]


def test_restore_events_as_in_redis(
    real_redis: RawRedis, subscriber: Subscriber, local_client: LocalClient
) -> None:
    """RESTORE over missing, existing and replaced keys, with a TTL already past, with
    payloads Redis made (both servers load Redis's DUMP format)."""
    payloads = []
    for build in ([b"SET", b"x", b"hello"], [b"RPUSH", b"x", b"a", b"b"]):
        real_redis.execute([b"DEL", b"x"])
        real_redis.execute(build)
        payload = real_redis.execute([b"DUMP", b"x"])
        assert isinstance(payload, bytes)
        payloads.append(payload)
    text, items = payloads
    commands = [
        [b"RESTORE", b"k", b"0", text],
        [b"RESTORE", b"k", b"0", items],
        [b"RESTORE", b"k", b"0", items, b"REPLACE"],
        [b"RESTORE", b"k", b"1", text, b"REPLACE", b"ABSTTL"],
        [b"RESTORE", b"k", b"100000", text],
        [b"RESTORE", b"k", b"0", b"junk", b"REPLACE"],
    ]
    check_events(real_redis, subscriber, local_client, commands, name="restore")
