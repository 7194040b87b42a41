"""One client-level workload (strings, keys, pipelines) for any redis-py version and protocol.

Run in-process by `test_redis_py_versions.py` with the installed redis-py (8.x, RESP3 by
default) and as a script in a subprocess whose PYTHONPATH holds an older redis-py (5.x):

    python tests/server/redis_py_workload.py PORT PROTOCOL MODE   # MODE: sync or asyncio

It only uses API that redis-py 5 and 8 share, and asserts what both must decode.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import redis
import redis.asyncio


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def run_sync(port: int, protocol: int) -> None:
    r = redis.Redis(port=port, protocol=protocol, socket_timeout=10)
    try:
        assert r.ping() is True
        r.flushall()
        assert r.set("s", "hello") is True
        assert r.get("s") == b"hello"
        assert r.set("s", "x", nx=True) is None
        assert r.getset("s", "world") == b"hello"
        assert r.append("s", "!") == 6
        assert r.strlen("s") == 6
        assert r.getrange("s", 0, 2) == b"wor"
        assert r.setrange("s", 0, "W") == 6
        assert r.incr("n") == 1 and r.incrby("n", 41) == 42 and r.decr("n") == 41
        assert r.incrbyfloat("f", 2.5) == 2.5
        assert r.mset({"a": "1", "b": "2"}) is True
        assert r.mget(["a", "b", "missing"]) == [b"1", b"2", None]
        assert r.msetnx({"a": "x", "c": "3"}) is False
        assert r.set("t", "v", ex=100) is True
        assert 0 < r.ttl("t") <= 100 and 0 < r.pttl("t") <= 100_000
        assert r.expire("a", 50) is True and r.persist("a") is True and r.ttl("a") == -1
        assert r.exists("a", "b", "missing") == 2
        assert r.type("a") == b"string"
        assert sorted(r.keys("*")) == [b"a", b"b", b"f", b"n", b"s", b"t"]
        assert r.rename("b", "b2") is True and r.get("b2") == b"2"
        assert r.delete("b2", "missing") == 1
        assert r.getdel("a") == b"1" and r.get("a") is None
        assert r.dbsize() == 4
        cursor, keys = r.scan(0, count=100)
        assert cursor == 0 and sorted(keys) == [b"f", b"n", b"s", b"t"]
        try:
            r.incr("s")
        except redis.ResponseError as error:
            assert "not an integer" in str(error)
        else:
            raise AssertionError("INCR of a non-integer did not fail")
        pipe = r.pipeline(transaction=False)
        for i in range(50):
            pipe.set(f"p{i}", i)
        pipe.get("p7").incr("p8").get("missing")
        results = pipe.execute()
        assert results == [True] * 50 + [b"7", 9, None]
        assert _text(r.client_getname()) is None
        assert r.client_setname("tester") is True and _text(r.client_getname()) == "tester"
        assert r.config_get("save") in ({"save": ""}, {b"save": b""})
        assert r.command_count() > 50
        assert isinstance(r.time()[0], int)
        assert r.flushdb() is True and r.dbsize() == 0
    finally:
        r.close()


async def run_asyncio(port: int, protocol: int) -> None:
    r = redis.asyncio.Redis(port=port, protocol=protocol, socket_timeout=10)
    try:
        await r.flushall()
        assert await r.set("a", "1") is True
        assert await r.get("a") == b"1"
        assert await r.mget("a", "missing") == [b"1", None]
        async with r.pipeline(transaction=False) as pipe:
            for _ in range(50):
                pipe.incr("n")
            results = await pipe.execute()
        assert results == list(range(1, 51))
        assert await r.get("n") == b"50"
        assert await r.expire("n", 100) is True and 0 < await r.ttl("n") <= 100
        assert sorted(await r.keys()) == [b"a", b"n"]
        await asyncio.gather(*(r.incr("c") for _ in range(20)))
        assert await r.get("c") == b"20"
    finally:
        if hasattr(r, "aclose"):
            await r.aclose()
        else:
            await r.close()


def main() -> None:
    port, protocol, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if mode == "sync":
        run_sync(port, protocol)
    else:
        asyncio.run(run_asyncio(port, protocol))
    print(f"ok redis-py {redis.__version__} RESP{protocol} {mode}")


if __name__ == "__main__":
    main()
