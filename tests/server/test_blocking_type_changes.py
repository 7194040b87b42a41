"""Blocked clients whose key changes type or goes away, against a real redis-server.

Redis 7.0 serves a woken client only from a key of the type it waits for, so a list waiter
whose key became a string in a transaction keeps waiting; an XREADGROUP whose stream was
deleted, replaced or flushed is unblocked with an error. Each scenario runs on both servers:
a client blocks, the steps run on another connection, and the blocked client's first reply
must be the same bytes (a wrong early reply shows up as that first reply). Found by Redis's
own list.tcl, zset.tcl, stream.tcl and stream-cgroups.tcl run against Seshat.
"""

from __future__ import annotations

import pytest
import redis

from tests.server.conftest import wait_blocked
from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import WireClient, encode_command

SCENARIOS: dict[str, tuple[str | list[str], list[str]]] = {
    "a list waiter sleeps through its key becoming a string": (
        "BLPOP list 0",
        ["MULTI", "LPUSH list a", "DEL list", "SET list foo", "EXEC", "DEL list", "LPUSH list b"],
    ),
    "a sorted-set waiter too": (
        "BZPOPMIN z 0",
        ["MULTI", "ZADD z 1 a", "DEL z", "SET z foo", "EXEC", "DEL z", "ZADD z 2 b"],
    ),
    "an XREAD too, through a list": (
        "XREAD BLOCK 0 STREAMS s $",
        ["MULTI", "XADD s 1-1 a 1", "DEL s", "LPUSH s x", "EXEC", "DEL s", "XADD s 5-0 f v"],
    ),
    "BLMOVE onto a string answers WRONGTYPE when its source fills": (
        "BLMOVE src dst LEFT RIGHT 0",
        ["SET dst foo", "LPUSH src a"],
    ),
    "two BRPOPLPUSH, the first onto a string: it fails, the second moves": (
        ["BRPOPLPUSH blist target1 0", "BRPOPLPUSH blist target2 0"],
        ["SET target1 nolist", "LPUSH blist foo"],
    ),
    "XREADGROUP on a deleted stream is unblocked": (
        "XREADGROUP GROUP g c BLOCK 0 STREAMS gs >",
        ["DEL gs"],
    ),
    "XREADGROUP on a stream replaced by a string": (
        "XREADGROUP GROUP g c BLOCK 0 STREAMS gs >",
        ["MULTI", "DEL gs", "SET gs foo", "EXEC"],
    ),
    "XREADGROUP on a flushed database": (
        "XREADGROUP GROUP g c BLOCK 0 STREAMS gs >",
        ["FLUSHALL"],
    ),
}


def _words(line: str) -> list[bytes]:
    return [w.encode() for w in line.split()]


def _blocked_reply(port: int, blocking: str | list[str], steps: list[str]) -> list[bytes]:
    """Each blocked client's first reply, then what `target2` holds."""
    r = redis.Redis(port=port, protocol=2)
    r.flushall()
    r.xgroup_create("gs", "g", id="$", mkstream=True)
    commands = [blocking] if isinstance(blocking, str) else blocking
    waiters = [WireClient(port) for _ in commands]
    other = WireClient(port)
    try:
        for i, (waiter, command) in enumerate(zip(waiters, commands, strict=True)):
            waiter.send(encode_command(_words(command)))
            wait_blocked(r, i + 1)
        for step in steps:
            other.call(_words(step))
        replies = [waiter.reply() for waiter in waiters]
        # Where things ended up, once every waiter has its answer: Seshat serves a woken
        # waiter through the log after the push's reply (see seshat/blocking.py), so a read
        # sent right after the push could come first.
        return [*replies, other.call(_words("LRANGE target2 0 -1"))]
    finally:
        for waiter in waiters:
            waiter.close()
        other.close()
        r.close()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_blocked_client_as_in_redis(name: str, redis_port: int, seshat_port: int) -> None:  # noqa: F811
    blocking, steps = SCENARIOS[name]
    theirs = _blocked_reply(redis_port, blocking, steps)
    ours = _blocked_reply(seshat_port, blocking, steps)
    assert ours == theirs, (name, theirs)
