"""Streams through a real server with redis-py (RESP3 by default) and RESP2: replies in the
shapes clients parse, and XREAD/XREADGROUP BLOCK woken by another client's XADD."""

from __future__ import annotations

import threading

import pytest
import redis

from tests.server.conftest import SeshatProcess, wait_blocked


@pytest.mark.parametrize("protocol", [2, 3])
def test_stream_replies_as_redis_py_parses_them(
    seshat_server: SeshatProcess, protocol: int
) -> None:
    r = seshat_server.client(protocol=protocol)
    first = r.xadd("s", {"a": "1"})
    second = r.xadd("s", {"b": "2"}, id="*")
    assert first < second  # generated IDs grow
    assert r.xlen("s") == 2
    assert r.xrange("s") == [(first, {b"a": b"1"}), (second, {b"b": b"2"})]
    assert r.xrevrange("s", count=1) == [(second, {b"b": b"2"})]
    read = r.xread({"s": "0"}, count=1)
    expected = [(first, {b"a": b"1"})]
    if protocol == 3:
        assert read == {b"s": [expected]}  # a map per stream in RESP3
    else:
        assert read == [[b"s", expected]]
    r.xgroup_create("s", "g", id="0")
    got = r.xreadgroup("g", "alice", {"s": ">"}, count=2)
    entries = got[b"s"][0] if protocol == 3 else got[0][1]
    assert [e[0] for e in entries] == [first, second]
    summary = r.xpending("s", "g")
    assert summary["pending"] == 2 and summary["min"] == first and summary["max"] == second
    assert summary["consumers"] == [{"name": b"alice", "pending": 2}]
    assert r.xack("s", "g", first) == 1
    claimed = r.xautoclaim("s", "g", "bob", min_idle_time=0, start_id="0")
    assert claimed[1] == [(second, {b"b": b"2"})]
    info = r.xinfo_stream("s")
    assert info["length"] == 2 and info["groups"] == 1
    assert info["first-entry"] == (first, {b"a": b"1"})
    groups = r.xinfo_groups("s")
    assert groups[0]["name"] == b"g" and groups[0]["pending"] == 1 and groups[0]["lag"] == 0
    consumers = {c["name"]: c["pending"] for c in r.xinfo_consumers("s", "g")}
    assert consumers == {b"alice": 0, b"bob": 1}
    assert r.xtrim("s", maxlen=0) == 2
    assert r.exists("s") == 1 and r.type("s") == b"stream"


def _once_blocked(watch: redis.Redis, action: object) -> threading.Thread:
    """Run `action` in a thread once a client is parked in a blocking read (not after a
    guessed delay: then the read might not have blocked yet)."""

    def run() -> None:
        wait_blocked(watch, 1)
        action()  # type: ignore[operator]

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_xread_block_wakes_on_xadd_with_only_new_entries(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client()
    r.xadd("s", {"old": "1"}, id="1-1")
    writer = seshat_server.client()
    results: list[object] = []
    reader = threading.Thread(
        target=lambda: results.append(
            seshat_server.client(protocol=3).xread({"s": "$"}, block=20_000)
        )
    )
    reader.start()
    wait_blocked(r, 1)
    writer.xadd("other", {"x": "1"})  # another key: the reader stays parked
    # Its apply (which would wake the reader) ran before its reply: the reader is still parked.
    assert int(r.info("clients")["blocked_clients"]) == 1
    assert not results
    writer.xadd("s", {"new": "2"}, id="2-1")
    reader.join(10)
    assert results == [{b"s": [[(b"2-1", {b"new": b"2"})]]}]


def test_xread_block_on_a_missing_key_and_the_timeout(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client(protocol=3)
    assert r.xread({"nokey": "$"}, block=100) == {}  # timed out: a null, which redis-py maps
    watch = seshat_server.client()
    thread = _once_blocked(watch, lambda: watch.xadd("fresh", {"f": "v"}, id="5-5"))
    assert r.xread({"fresh": "0"}, block=20_000) == {b"fresh": [[(b"5-5", {b"f": b"v"})]]}
    thread.join()
    pipe = r.pipeline(transaction=True)  # MULTI: BLOCK cannot block, it answers at once
    pipe.xread({"empty": "$"}, block=0)
    assert pipe.execute() == [{}]


def test_xreadgroup_block_serves_each_entry_to_one_consumer(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client(protocol=3)
    r.xgroup_create("jobs", "workers", id="$", mkstream=True)
    got: dict[str, object] = {}

    def consume(name: str) -> None:
        got[name] = seshat_server.client(protocol=3).xreadgroup(
            "workers", name, {"jobs": ">"}, count=1, block=20_000
        )

    consumers = [threading.Thread(target=consume, args=(n,)) for n in ("c1", "c2")]
    for thread in consumers:
        thread.start()
    wait_blocked(r, 2)
    r.xadd("jobs", {"n": "1"}, id="1-0")
    r.xadd("jobs", {"n": "2"}, id="2-0")
    for thread in consumers:
        thread.join(10)
    served = sorted(reply[b"jobs"][0][0][0] for reply in got.values())  # type: ignore[index]
    assert served == [b"1-0", b"2-0"]
    pending = r.xpending_range("jobs", "workers", "-", "+", 10)
    assert sorted(p["consumer"] for p in pending) == [b"c1", b"c2"]
    r.xgroup_destroy("jobs", "workers")
    with pytest.raises(Exception, match="NOGROUP"):
        r.xreadgroup("workers", "c1", {"jobs": ">"}, block=10)
