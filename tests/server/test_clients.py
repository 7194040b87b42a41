"""Real clients against a real node: redis-py (RESP3 default, RESP2, asyncio), redis-cli.

These are the checks a new user makes first: the latest redis-py with its defaults, its
pipelines, and the command-line tools, including `redis-cli --pipe` mass insertion.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

import pytest
import redis
import redis.asyncio

from seshat.protocol.parser import encode_command
from tests.server.conftest import SeshatProcess

needs_redis_cli = pytest.mark.skipif(
    shutil.which("redis-cli") is None, reason="redis-cli (Debian redis-tools) is not installed"
)


@pytest.mark.parametrize("protocol", [3, 2])
def test_redis_py_strings_keys_and_pipelines(seshat_server: SeshatProcess, protocol: int) -> None:
    r = seshat_server.client(protocol=protocol)
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == b"hello"
    assert r.append("greeting", " world") == 11
    assert r.incr("counter") == 1
    assert r.incrby("counter", 41) == 42
    assert r.incrbyfloat("float", "2.5") == 2.5
    assert r.set("temp", "x", ex=100) is True
    assert 0 < r.ttl("temp") <= 100
    assert r.exists("greeting", "counter", "missing") == 2
    assert r.type("counter") == b"string"
    assert sorted(r.keys("*")) == [b"counter", b"float", b"greeting", b"temp"]
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("greeting")
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"p{i}", i)
    pipe.get("p7")
    pipe.incr("p8")
    results = pipe.execute(raise_on_error=False)
    assert results[:100] == [True] * 100
    assert results[100:] == [b"7", 9]
    assert r.mget([f"p{i}" for i in range(3)]) == [b"0", b"1", b"2"]
    assert r.dbsize() == 104
    r.select(3) if protocol == 2 else None  # redis-py's select is fine on a dedicated client
    r.close()


async def test_redis_py_asyncio(seshat_server: SeshatProcess) -> None:
    r = redis.asyncio.Redis(port=seshat_server.port)
    try:
        await r.set("a", "1")
        assert await r.get("a") == b"1"
        async with r.pipeline(transaction=False) as pipe:
            for i in range(50):
                pipe.incr("n")
            results = await pipe.execute()
        assert results == list(range(1, 51))
        assert await r.get("n") == b"50"
    finally:
        await r.aclose()


def test_pipelined_reads_see_earlier_writes_of_the_same_connection(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client()
    pipe = r.pipeline(transaction=False)
    for i in range(200):
        pipe.set("k", i)
        pipe.get("k")
    results = pipe.execute()
    assert results[1::2] == [str(i).encode() for i in range(200)]


def test_select_gives_sixteen_keyspaces(seshat_server: SeshatProcess) -> None:
    r0 = seshat_server.client(db=0)
    r5 = seshat_server.client(db=5)
    r0.set("k", "zero")
    r5.set("k", "five")
    assert r0.get("k") == b"zero" and r5.get("k") == b"five"
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        seshat_server.client(db=16).ping()


def test_hello_client_and_command_introspection(seshat_server: SeshatProcess) -> None:
    r = seshat_server.client()
    info = r.client_info()
    assert info["resp"] == "3" and info["cmd"] == "client|info"
    r.client_setname("worker-1")
    assert r.client_getname() == "worker-1" or r.client_getname() == b"worker-1"
    assert r.command_count() > 50
    assert r.command_getkeys("SET", "k", "v") == [b"k"] or r.command_getkeys("SET", "k", "v") == ["k"]
    assert r.info("raft")["role"] == "leader"
    assert r.config_get("save") == {"save": ""} or r.config_get("save") == {b"save": b""}


@needs_redis_cli
def test_redis_cli_set_get(seshat_server: SeshatProcess) -> None:
    def cli(*args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-p", str(seshat_server.port), *args],
            capture_output=True, timeout=10, check=True,
        )
        return out.stdout.decode().strip()

    assert cli("set", "a", "1") == "OK"
    assert cli("get", "a") == "1"
    assert cli("incr", "a") == "2"
    assert cli("get", "missing") == ""
    assert "wrong number of arguments" in cli("get")


@needs_redis_cli
def test_redis_cli_pipe_mass_insert(seshat_server: SeshatProcess) -> None:
    payload = b"".join(encode_command([b"SET", b"key:%d" % i, b"value:%d" % i]) for i in range(5000))
    out = subprocess.run(
        ["redis-cli", "-p", str(seshat_server.port), "--pipe"],
        input=payload, capture_output=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert b"errors: 0, replies: 5000" in out.stdout, out.stdout
    r = seshat_server.client()
    assert r.dbsize() == 5000
    assert r.get("key:4999") == b"value:4999"


def test_auth_with_requirepass(start_seshat: Callable[..., SeshatProcess]) -> None:
    node = start_seshat("--requirepass", "s3cret")
    assert node.raw(b"GET a\r\n") == b"-NOAUTH Authentication required.\r\n"
    assert node.raw(b"AUTH wrong\r\n") == (
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    )
    assert node.raw(b"AUTH s3cret\r\nSET a 1\r\nGET a\r\n") == b"+OK\r\n+OK\r\n$1\r\n1\r\n"
    r = node.client(password="s3cret")
    assert r.set("b", "2") and r.get("b") == b"2"
