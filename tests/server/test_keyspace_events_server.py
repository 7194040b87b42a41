"""Keyspace notifications through a real server, side by side with redis-server, with
redis-py's pub/sub in RESP2 and RESP3: what a subscriber receives for writes made inside
MULTI/EXEC, by a Lua script and by plain commands, and how CONFIG shows and refuses the
`notify-keyspace-events` setting. (tests/kv/test_keyspace_events.py compares the events of
every data type's command sequences; this checks the wiring from apply to the subscriber.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from seshat import config
from tests.server.conftest import SeshatProcess
from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401

SCRIPT = "redis.call('set', KEYS[1], 'x'); redis.call('lpush', KEYS[2], 'a'); return 1"


def _published(port: int, protocol: int, flags: str) -> list[tuple[object, ...]]:
    """Everything a `__key*__:*` subscriber receives while one client writes."""
    client = redis.Redis(port=port, protocol=protocol)
    listener = redis.Redis(port=port, protocol=protocol)
    try:
        client.flushall()
        client.config_set("notify-keyspace-events", flags)
        pubsub = listener.pubsub()
        pubsub.psubscribe("__key*__:*")
        pubsub.subscribe("end")  # a PUBLISH after the writes marks the end of their events
        for _ in range(2):
            assert pubsub.get_message(timeout=5)["type"] in ("psubscribe", "subscribe")
        with client.pipeline(transaction=True) as pipe:
            pipe.set("a", 1).lpush("l", "x", "y").expire("a", 100).rpop("l").rpop("l")
            pipe.execute()
        client.eval(SCRIPT, 2, "s", "m")
        client.hset("h", mapping={"f": "1", "g": "2"})
        client.delete("a", "h", "nosuch")
        client.select(1)
        client.set("other-db", 1)
        client.publish("end", "")
        received = []
        while True:
            message = pubsub.get_message(timeout=5)
            assert message is not None, f"no more messages after {received!r}"
            if message["channel"] == b"end":
                return received
            received.append((message["type"], message["channel"], message["data"]))
    finally:
        client.config_set("notify-keyspace-events", "")
        client.close()
        listener.close()


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("flags", ["KEA", "Elg", "K$hn"])
def test_a_subscriber_receives_what_redis_sends(
    redis_port: int,  # noqa: F811
    seshat_port: int,  # noqa: F811
    protocol: int,
    flags: str,
) -> None:
    theirs = _published(redis_port, protocol, flags)
    ours = _published(seshat_port, protocol, flags)
    assert ours == theirs
    assert len(ours) > 4


@pytest.fixture
def both(redis_port: int, seshat_port: int) -> Iterator[list[redis.Redis]]:  # noqa: F811
    clients = [redis.Redis(port=redis_port), redis.Redis(port=seshat_port)]
    yield clients
    for client in clients:
        client.config_set("notify-keyspace-events", "")
        client.close()


@pytest.mark.parametrize("flags", ["", "KEA", "AKEn", "gK$", "nKEm", "Ex", "ngtd"])
def test_config_shows_the_flags_as_redis(both: list[redis.Redis], flags: str) -> None:
    shown = []
    for client in both:
        assert client.config_set("notify-keyspace-events", flags)
        shown.append(client.config_get("notify-keyspace-events"))
    assert shown[0] == shown[1]


def test_config_refuses_what_redis_refuses(both: list[redis.Redis]) -> None:
    errors = []
    for client in both:
        with pytest.raises(redis.ResponseError) as refused:
            client.config_set("notify-keyspace-events", "KEq")
        errors.append(str(refused.value))
    assert errors[0] == errors[1]


def test_the_flags_can_be_set_at_start(start_seshat: Callable[..., SeshatProcess]) -> None:
    node = start_seshat(env={"SESHAT_NOTIFY_KEYSPACE_EVENTS": "Kl"})
    client = node.client()
    assert client.config_get("notify-keyspace-events") == {"notify-keyspace-events": "lK"}
    pubsub = client.pubsub()
    pubsub.subscribe("__keyspace@0__:l")
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    client.set("not-a-list", 1)
    client.rpush("l", 1)
    message = pubsub.get_message(timeout=5)
    assert (message["channel"], message["data"]) == (b"__keyspace@0__:l", b"rpush")
    with pytest.raises(ValueError, match="Invalid event class character"):
        config.load(["--notify-keyspace-events", "Kq"], {})
