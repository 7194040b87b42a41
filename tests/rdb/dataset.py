"""One dataset of every value encoding redis-server 7.0 writes, and how to compare two servers
holding it: shared by the tests that load an RDB file into Seshat (`test_load_rdb.py`) and
those that take one from Seshat (`test_sync_export.py`)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import redis

LIBRARY = (
    "#!lua name=loadlib\n"
    "redis.register_function('echo1', function(keys, args) return args[1] end)\n"
    "redis.register_function{function_name='ro', callback=function() return 1 end,"
    " flags={'no-writes'}}\n"
)
DBS = (0, 3, 15)


def client(port: int, db: int = 0) -> redis.Redis:
    return redis.Redis(port=port, db=db, protocol=2, socket_timeout=30)


def fill(port: int) -> None:
    """Every encoding redis-server 7.0 writes with its default config, in dbs 0, 3 and 15."""
    rng = random.Random(7)
    r = client(port)
    r.function_load(LIBRARY)
    r.mset({"int:small": 7, "int:neg": -12345, "int:big": 2**40, "int:huge": "1" * 25})
    r.set("str:short", "hello")
    r.set("str:lzf", "abc" * 200)  # compressible and > 20 bytes: LZF in the file
    r.set("str:random", os.urandom(300_000))
    r.set("str:big-lzf", b"0123456789" * 100_000)
    r.set("str:empty", "")
    r.rpush("list:small", "a", "b", 1, 2, -3, "x" * 70)
    r.rpush("list:big", *(f"element-{i}" * (i % 7 + 1) for i in range(5000)))
    r.rpush("list:plain-node", "y" * 20_000, "z", "w" * 9000)  # elements above 8 KiB: plain nodes
    r.sadd("set:ints", 1, 2, 3, -5, 100_000, 2**40)
    r.sadd("set:small", "a", "b", "c")
    r.sadd("set:big", *(f"m{i}" for i in range(1000)))
    r.sadd("set:big-ints", *range(1000))
    r.hset("hash:small", mapping={"f1": "v1", "f2": 2, "f3": ""})
    r.hset("hash:big", mapping={f"field{i}": f"value{i}" * (i % 5) for i in range(1000)})
    r.hset("hash:long-value", mapping={"f": "v" * 100})
    r.zadd("zset:small", {"a": 1.5, "b": -2, "c": float("inf"), "d": float("-inf"), "e": 0})
    r.zadd("zset:big", {f"m{i}": rng.uniform(-1e6, 1e6) for i in range(500)})
    r.zadd("zset:big", {"pinf": float("inf"), "ninf": float("-inf"), "tiny": 5e-324})
    r.set("ttl:ms", "soon-ish", px=3_600_000)
    r.set("ttl:s", "later")
    r.expireat("ttl:s", 4_000_000_000)
    r.hset("ttl:hash", "f", "v")
    r.pexpire("ttl:hash", 7_200_000)
    fill_streams(r)
    for db in (3, 15):
        rd = client(port, db)
        rd.set(f"db{db}:str", f"in db {db}")
        rd.rpush(f"db{db}:list", *range(10))
        rd.set("same-name", db)
        rd.set(f"db{db}:ttl", "x", px=5_000_000)


def fill_streams(r: redis.Redis) -> None:
    r.xadd("stream:small", {"a": "1"}, id="1-1")
    r.xadd("stream:small", {"a": "2", "b": "x"}, id="1-2")
    ids = [r.xadd("stream:big", {"f": i, "g": "v" * (i % 40)}) for i in range(400)]
    r.xadd("stream:big", {"other": "fields", "n": 3})
    r.xdel("stream:big", ids[0], ids[5], ids[150], ids[399])
    r.xgroup_create("stream:big", "g1", id="0")
    r.xgroup_create("stream:big", "g2", id="$")
    r.xgroup_create("stream:big", "g3", id=ids[200])
    r.xreadgroup("g1", "alice", {"stream:big": ">"}, count=10)
    r.xreadgroup("g1", "bob", {"stream:big": ">"}, count=5)
    r.xack("stream:big", "g1", ids[1], ids[2])
    r.xgroup_createconsumer("stream:big", "g1", "carol")
    r.xreadgroup("g3", "dave", {"stream:big": ">"}, count=3)
    r.xgroup_create("stream:empty", "g", id="$", mkstream=True)
    a, b = r.xadd("stream:all-deleted", {"k": "v"}), r.xadd("stream:all-deleted", {"k": "w"})
    r.xdel("stream:all-deleted", a, b)


def take_rdb(port: int, path: Path, option: str = "--rdb") -> None:
    """The real `redis-cli --rdb` (or `--functions-rdb`) against `port`, into `path`."""
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not installed")
    subprocess.run(
        [cli, "-p", str(port), option, str(path)], check=True, capture_output=True, timeout=120
    )


_STREAM_SHAPE_FIELDS = {b"radix-tree-keys", b"radix-tree-nodes"}  # memory layout, not data


def stream_full(r: redis.Redis, key: bytes) -> dict[bytes, object]:
    flat = r.execute_command("XINFO", "STREAM", key, "FULL")  # type: ignore[no-untyped-call]
    info = dict(zip(flat[0::2], flat[1::2], strict=True))
    return {k: v for k, v in info.items() if k not in _STREAM_SHAPE_FIELDS}


def snapshot_value(r: redis.Redis, key: bytes) -> object:
    kind = r.type(key)
    if kind == b"string":
        return kind, r.get(key)
    if kind == b"list":
        return kind, r.lrange(key, 0, -1)
    if kind == b"set":
        return kind, sorted(r.smembers(key))
    if kind == b"hash":
        return kind, r.hgetall(key)
    if kind == b"zset":
        return kind, r.zrange(key, 0, -1, withscores=True)
    if kind == b"stream":
        return kind, r.xrange(key), stream_full(r, key)
    raise AssertionError(f"unexpected type {kind!r} for {key!r}")


def snapshot(port: int) -> dict[int, dict[bytes, tuple[object, int]]]:
    """Every key of dbs 0, 3 and 15: its type and value, and its absolute expiry."""
    out: dict[int, dict[bytes, tuple[object, int]]] = {}
    for db in DBS:
        r = client(port, db)
        keys = sorted(r.scan_iter(count=1000))
        out[db] = {key: (snapshot_value(r, key), r.pexpiretime(key)) for key in keys}
    return out


def functions(port: int) -> list[dict[bytes, object]]:
    """FUNCTION LIST WITHCODE, libraries and their functions in name order (Redis lists both in
    its dicts' order)."""
    libraries = []
    for flat in client(port).function_list(withcode=True):
        library = dict(zip(flat[0::2], flat[1::2], strict=True))
        library[b"functions"] = sorted(library[b"functions"], key=repr)
        libraries.append(library)
    return sorted(libraries, key=repr)
