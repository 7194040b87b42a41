"""Pub/sub against a real redis-server 7.0, byte for byte, and through redis-py.

A command may answer several frames (SUBSCRIBE a b confirms each channel) and a subscriber
receives messages no command asked for, so each command here is followed by `PING
--sentinel--`: every frame before the sentinel's answer belongs to the command. PING is one of
the few commands RESP2's pub/sub mode allows (it answers `pong` and the argument as an array
there). Inside MULTI a command answers exactly one frame (QUEUED or an error), so no sentinel
is sent there.

Messages published on one connection reach the other connection before the publisher's next
command is answered (Redis writes them at once; Seshat queues them on the subscriber ahead of
anything that subscriber asks next), so the sentinel also collects them deterministically.
"""

from __future__ import annotations

import shlex
import socket
from collections.abc import Callable, Iterator

import pytest
import redis

from tests.server.conftest import SeshatProcess
from tests.server.test_differential_wire import (  # noqa: F401  (fixtures used by name)
    Pair,
    normalise,
    redis_port,
    same,
    seshat_port,
)
from tests.server.wire import WireClient, encode_command, parse
from tests.waiting import poll_until

PROTOCOLS = [2, 3]
_SENTINEL = [b"PING", b"--sentinel--"]
_SENTINEL_REPLIES = (
    b"$12\r\n--sentinel--\r\n",  # PING's answer
    b"*2\r\n$4\r\npong\r\n$12\r\n--sentinel--\r\n",  # PING's answer in RESP2's pub/sub mode
)


def _frames(side: WireClient, argv: list[bytes], in_multi: bool) -> list[bytes]:
    if in_multi or argv[0].lower() == b"multi":
        side.send(encode_command(argv))
        return [side.reply()]
    side.send(encode_command(argv) + encode_command(_SENTINEL))
    frames = []
    while True:
        frame = side.reply()
        assert frame, f"connection closed after {argv!r}"
        if frame in _SENTINEL_REPLIES:
            return frames
        frames.append(frame)


def _normalise(argv: list[bytes], frame: bytes) -> object:
    """PUBSUB CHANNELS lists in Redis's dict order: compare the set of channels."""
    listing = len(argv) > 1 and argv[1].lower() in (b"channels", b"shardchannels")
    if argv[0].lower() == b"pubsub" and listing and frame[:1] == b"*":
        node, _ = parse(frame)
        return sorted(child.raw for child in node.children)
    return normalise(argv, frame)


class Conversation:
    """Named connections (`s`, `p`, ...), each a pair: one to redis-server, one to Seshat."""

    def __init__(self, redis_at: int, seshat_at: int, protocol: int) -> None:
        self.ports = (redis_at, seshat_at)
        self.protocol = protocol
        self.pairs: dict[str, Pair] = {}
        self.in_multi: set[str] = set()

    def check(self, who: str, argv: list[bytes]) -> None:
        pair = self.pairs.get(who)
        if pair is None:
            pair = self.pairs[who] = Pair(*self.ports, self.protocol)
        multi = who in self.in_multi
        theirs = _frames(pair.redis, argv, multi)
        ours = _frames(pair.seshat, argv, multi)
        name = argv[0].lower()
        if name == b"multi" and theirs == [b"+OK\r\n"]:
            self.in_multi.add(who)
        elif name in (b"exec", b"discard", b"reset"):
            self.in_multi.discard(who)
        a = [_normalise(argv, frame) for frame in theirs]
        b = [_normalise(argv, frame) for frame in ours]
        assert len(a) == len(b) and all(same(argv, y, x) for x, y in zip(a, b, strict=True)), (
            f"RESP{self.protocol} {who}: {b' '.join(argv)!r}\n  redis:  {theirs!r}\n"
            f"  seshat: {ours!r}"
        )

    def run(self, text: str) -> None:
        for line in text.strip().splitlines():
            who, _, command = line.strip().partition(": ")
            self.check(who, [w.encode() for w in shlex.split(command)])

    def close(self) -> None:
        for pair in self.pairs.values():
            pair.close()


@pytest.fixture
def conversation(redis_port: int, seshat_port: int) -> Iterator[Callable[[int], Conversation]]:  # noqa: F811
    made: list[Conversation] = []

    def make(protocol: int) -> Conversation:
        made.append(Conversation(redis_port, seshat_port, protocol))
        return made[-1]

    yield make
    for c in made:
        c.close()


# Each case runs on fresh connections, once per protocol. Channel names are unique per case:
# the servers (and their subscribers) are shared by the module's tests. An UNSUBSCRIBE of
# everything names at most one channel left: Redis answers in its dict's hash order.
CASES: dict[str, str] = {
    "one connection: confirmations, counts, pub/sub mode": """
        s: PUBSUB NUMPAT
        s: PUBSUB NUMSUB
        s: PUBSUB NUMSUB c1a c1b
        s: PUBSUB CHANNELS c1*
        s: PUBSUB CHANNELS a b
        s: PUBSUB SHARDCHANNELS c1*
        s: PUBSUB SHARDNUMSUB c1s
        s: PUBSUB HELP
        s: PUBSUB help x
        s: PUBSUB foo
        s: PUBSUB
        s: PUBLISH c1a
        s: PUBLISH c1a b
        s: SPUBLISH c1a b
        s: UNSUBSCRIBE
        s: PUNSUBSCRIBE
        s: SUNSUBSCRIBE
        s: UNSUBSCRIBE x y
        s: SUBSCRIBE
        s: SUBSCRIBE c1a
        s: PSUBSCRIBE c1?llo c1a*
        s: PSUBSCRIBE c1?llo
        s: SSUBSCRIBE c1s
        s: SUBSCRIBE c1a "c1 b" ""
        s: PING
        s: PING x
        s: ECHO x
        s: GET x
        s: CLIENT ID
        s: CONFIG GET save
        s: nosuch
        s: GET
        s: CLIENT INFO
        s: CLIENT LIST TYPE pubsub
        s: PUBSUB NUMSUB c1a c1?llo
        s: PUBSUB CHANNELS c1*
        s: PUBSUB CHANNELS c1?
        s: PUBSUB SHARDCHANNELS c1*
        s: PUBSUB SHARDNUMSUB c1s c2s
        s: PUBLISH c1a hi
        s: UNSUBSCRIBE c1a "c1 b"
        s: PUNSUBSCRIBE c1?llo nosuch
        s: PUNSUBSCRIBE
        s: SUNSUBSCRIBE c1s c2s
        s: UNSUBSCRIBE
        s: PING
        s: GET x
        s: CLIENT INFO
    """,
    "two connections: messages, patterns, shard channels": """
        s: SUBSCRIBE c2news
        s: PSUBSCRIBE c2n* c2x
        s: SSUBSCRIBE c2shard
        p: PUBLISH c2news hello
        s: PING
        p: PUBLISH c2nx "with space"
        p: PUBLISH c2other x
        p: SPUBLISH c2shard m1
        p: SPUBLISH c2news m2
        p: PUBLISH c2shard m3
        p: PUBSUB NUMSUB c2news c2nx c2shard
        p: PUBSUB SHARDNUMSUB c2shard c2news
        p: PUBSUB CHANNELS c2*
        s: PING
        s: UNSUBSCRIBE c2news
        p: PUBLISH c2news again
        s: PING
        s: PUNSUBSCRIBE c2x c2n*
        p: PUBLISH c2news again
        s: PING
        s: SUNSUBSCRIBE
        p: SPUBLISH c2shard gone
        s: UNSUBSCRIBE
        s: GET x
        p: PUBSUB CHANNELS c2*
        p: CLIENT LIST TYPE pubsub
    """,
    "RESET, HELLO and MULTI around subscriptions": """
        s: SUBSCRIBE c3z
        s: HELLO 3
        s: MULTI
        s: RESET
        s: GET x
        s: PUBSUB NUMSUB c3z
        p: PUBLISH c3z x
        p: MULTI
        p: PUBLISH c3z x
        p: SUBSCRIBE c3q
        p: EXEC
        q: PUBLISH c3q hi
        p: GET x
        p: RESET
        q: PUBLISH c3q hi
        p: CLIENT INFO
        s: SUBSCRIBE c3a
        s: UNSUBSCRIBE c3a
        s: GET x
    """,
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_frames_as_redis(
    name: str, protocol: int, conversation: Callable[[int], Conversation]
) -> None:
    conversation(protocol).run(CASES[name])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_binary_channels_and_messages(
    protocol: int, conversation: Callable[[int], Conversation]
) -> None:
    talk = conversation(protocol)
    channel, pattern, message = b"c4\x00\xff\r\n", b"c4\x00*", bytes(range(256)) * 4
    talk.check("s", [b"SUBSCRIBE", channel])
    talk.check("s", [b"PSUBSCRIBE", pattern])
    talk.check("p", [b"PUBLISH", channel, message])
    talk.check("s", [b"PING"])
    talk.check("s", [b"UNSUBSCRIBE", channel])
    talk.check("s", [b"PUNSUBSCRIBE", pattern])


# ---- redis-py, as users get it (RESP3 by default) ---------------------------------------------


def test_redis_py_pubsub(seshat_server: SeshatProcess) -> None:
    publisher = seshat_server.client()
    pubsub = seshat_server.client().pubsub()
    pubsub.subscribe("news")
    pubsub.psubscribe("n*")
    assert pubsub.connection is not None and pubsub.connection.protocol == 3
    confirmations = [pubsub.get_message(timeout=5) for _ in range(2)]
    assert [(m["type"], m["data"]) for m in confirmations if m] == [
        ("subscribe", 1),
        ("psubscribe", 2),
    ]
    assert publisher.publish("news", "hello") == 2
    assert publisher.publish("other", "x") == 0
    got = [pubsub.get_message(timeout=5) for _ in range(2)]
    assert [(m["type"], m["pattern"], m["channel"], m["data"]) for m in got if m] == [
        ("message", None, b"news", b"hello"),
        ("pmessage", b"n*", b"news", b"hello"),
    ]
    assert publisher.pubsub_numsub("news") == [(b"news", 1)]
    assert publisher.pubsub_numpat() == 1
    pubsub.unsubscribe()
    pubsub.punsubscribe()
    pubsub.close()
    assert poll_until(lambda: publisher.pubsub_numpat() == 0)
    assert publisher.pubsub_numsub("news") == [(b"news", 0)]
    info = publisher.info("stats")
    assert (info["pubsub_channels"], info["pubsub_patterns"]) == (0, 0)


def test_a_closed_subscriber_is_forgotten(seshat_server: SeshatProcess) -> None:
    client = seshat_server.client()
    conn = WireClient(seshat_server.port)
    conn.call([b"SUBSCRIBE", b"gone"])
    assert client.pubsub_numsub("gone") == [(b"gone", 1)]
    conn.close()
    assert poll_until(lambda: client.pubsub_numsub("gone") == [(b"gone", 0)])
    assert client.publish("gone", "x") == 0


def test_a_subscriber_that_stops_reading_is_closed_not_buffered(
    seshat_server: SeshatProcess,
) -> None:
    """Past 32 MiB of unsent messages the subscriber is dropped, as Redis's default
    `client-output-buffer-limit pubsub` does; the node's memory does not follow the backlog."""
    publisher = seshat_server.client()
    stalled = socket.create_connection(("127.0.0.1", seshat_server.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(encode_command([b"SUBSCRIBE", b"flood"]))
    assert poll_until(lambda: publisher.pubsub_numsub("flood") == [(b"flood", 1)])
    message = b"x" * (1 << 20)
    published = 0
    while publisher.pubsub_numsub("flood") == [(b"flood", 1)]:
        publisher.publish("flood", message)
        published += 1
        assert published < 200, "the stalled subscriber was never dropped"
    assert published > 32  # not before the limit
    assert "pubsub_client_closed" in seshat_server.log()
    assert publisher.ping()
    stalled.close()


def test_publish_is_not_replicated_on_a_single_node(
    start_seshat: Callable[..., SeshatProcess],
) -> None:
    """Messages never enter the Raft log: publishing moves no applied index."""
    node = start_seshat()
    client = node.client()
    client.publish("c", "before")
    applied = client.info("raft")["applied_index"]
    client.publish("c", "again")
    assert client.info("raft")["applied_index"] == applied
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        client.execute_command("PUBLISH", "c")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pubsub_pushes_pass_client_reply_off(
    protocol: int,
    redis_port: int,  # noqa: F811
    seshat_port: int,  # noqa: F811
) -> None:
    """Redis writes subscribe confirmations and messages with CLIENT_PUSHING, past CLIENT
    REPLY OFF, in RESP2 as in RESP3 (pubsub.tcl, "PubSub messages with CLIENT REPLY OFF");
    Seshat dropped them. Each step's expected frame count is read from both servers; a reply
    that should have stayed silent (PING) would show up in place of the next push."""
    steps = [
        ("s", "CLIENT REPLY OFF", 0),
        ("s", "SUBSCRIBE end", 1),
        ("s", "PSUBSCRIBE ch*", 1),
        ("p", "PUBLISH channel hello", 1),
        ("s", "PING", 0),
        ("s", "UNSUBSCRIBE end", 1),
        ("s", "PUNSUBSCRIBE ch*", 1),
    ]
    seen: list[list[bytes]] = []
    for port in (redis_port, seshat_port):
        s, p = WireClient(port), WireClient(port)
        try:
            s.call([b"HELLO", str(protocol).encode()])
            frames = []
            for who, line, count in steps:
                conn = s if who == "s" else p
                conn.send(encode_command([w.encode() for w in line.split()]))
                if who == "p":
                    frames.append(p.reply())
                frames += [s.reply() for _ in range(count)]
            seen.append(frames)
        finally:
            s.close()
            p.close()
    assert seen[1] == seen[0]
