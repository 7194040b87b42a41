"""The command table: every command of the single-node issue has a row, rows agree with what
redis-server 7 publishes, lookup ignores case, and COMMAND replies have Redis 7's shape."""

from __future__ import annotations

import pytest

from seshat.kv import commands as C
from seshat.kv.admin_table import ADMIN_ROWS
from seshat.kv.bitmap_table import BITMAP_ROWS
from seshat.kv.dump_table import DUMP_ROWS
from seshat.kv.function_table import FUNCTION_ROWS
from seshat.kv.geo_table import GEO_ROWS
from seshat.kv.hash_set_table import HASH_SET_ROWS
from seshat.kv.hyperloglog_table import HYPERLOGLOG_ROWS
from seshat.kv.list_zset_table import LIST_ZSET_ROWS
from seshat.kv.pubsub_table import PUBSUB_ROWS
from seshat.kv.script_table import SCRIPT_ROWS
from seshat.kv.sort_table import SORT_ROWS
from seshat.kv.stream_table import STREAM_ROWS
from seshat.protocol.replies import Map, Set, SimpleString
from tests.kv.conftest import RawRedis, normalise

NAMES = [
    "PING",
    "ECHO",
    "QUIT",
    "SELECT",
    "MOVE",
    "SWAPDB",
    "HELLO",
    "AUTH",
    "CLIENT",
    "COMMAND",
    "INFO",
    "CONFIG",
    "DBSIZE",
    "FLUSHDB",
    "FLUSHALL",
    "SHUTDOWN",
    "TIME",
    "GET",
    "SET",
    "SETNX",
    "SETEX",
    "PSETEX",
    "MGET",
    "MSET",
    "MSETNX",
    "GETSET",
    "GETDEL",
    "GETEX",
    "INCR",
    "DECR",
    "INCRBY",
    "DECRBY",
    "INCRBYFLOAT",
    "APPEND",
    "STRLEN",
    "LCS",
    "GETRANGE",
    "SUBSTR",
    "SETRANGE",
    "DEL",
    "UNLINK",
    "EXISTS",
    "TYPE",
    "EXPIRE",
    "PEXPIRE",
    "EXPIREAT",
    "PEXPIREAT",
    "TTL",
    "PTTL",
    "EXPIRETIME",
    "PEXPIRETIME",
    "PERSIST",
    "KEYS",
    "SCAN",
    "RENAME",
    "RENAMENX",
    "RANDOMKEY",
    "TOUCH",
    "COPY",
]
NAMES += [row["name"].decode().upper() for row in LIST_ZSET_ROWS]  # lists and sorted sets
NAMES += [row["name"].decode().upper() for row in HASH_SET_ROWS]  # hashes, sets, OBJECT
NAMES += [row["name"].decode().upper() for row in BITMAP_ROWS]  # bitmaps
NAMES += [row["name"].decode().upper() for row in HYPERLOGLOG_ROWS]  # HyperLogLog
NAMES += [row["name"].decode().upper() for row in PUBSUB_ROWS]  # pub/sub, RESET
NAMES += [row["name"].decode().upper() for row in SCRIPT_ROWS]  # Lua scripts
NAMES += [row["name"].decode().upper() for row in FUNCTION_ROWS]  # Redis 7 functions
NAMES += [row["name"].decode().upper() for row in STREAM_ROWS]  # streams
NAMES += [row["name"].decode().upper() for row in GEO_ROWS]  # geo
NAMES += [row["name"].decode().upper() for row in SORT_ROWS]  # SORT, SORT_RO
NAMES += [row["name"].decode().upper() for row in ADMIN_ROWS]  # ROLE, SLOWLOG, MEMORY...
NAMES += [row["name"].decode().upper() for row in DUMP_ROWS]  # DUMP, RESTORE
NAMES += ["CLUSTER", "READONLY", "READWRITE"]
NAMES += ["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"]  # transactions
NAMES += ["ACL"]  # seshat/acl/table.py
SESHAT_ONLY = ["RAFT.NODE", "RAFT.TRANSFER", "RAFT.STATUS"]  # no Redis row to compare with


def test_every_command_has_a_row_and_lookup_ignores_case() -> None:
    for name in NAMES:
        for variant in (name, name.lower(), name.capitalize()):
            spec = C.lookup(variant.encode())
            assert spec is not None and spec.name == name.lower().encode(), variant
    assert C.lookup(b"nosuch") is None
    assert all(C.lookup(name.encode()) is not None for name in SESHAT_ONLY)
    assert len(C.TABLE) == len(NAMES) + len(SESHAT_ONLY)


# Write kinds without Redis's `write` flag: PFCOUNT may store its count (hyperloglog.py); a
# script may write and SCRIPT LOAD/FLUSH change the replicated script cache (scripts.py); XGROUP
# is a container whose subcommands carry the flag. FCALL runs a function that may write, and
# FUNCTION is a container whose LOAD/DELETE/FLUSH/RESTORE change the replicated libraries
# (functions.py). ACL is a container whose SETUSER/DELUSER change the replicated users.
UNFLAGGED_WRITES = {
    b"pfcount", b"eval", b"evalsha", b"script", b"xgroup", b"fcall", b"function", b"acl",
}  # fmt: skip


def test_kinds_match_flags() -> None:
    for spec in C.TABLE:
        if spec.kind is C.WRITE and spec.name not in UNFLAGGED_WRITES:
            assert spec.flags & C.F_WRITE, spec.name
            assert spec.apply is not None
        if spec.kind is C.READ:
            assert not spec.flags & C.F_WRITE, spec.name


@pytest.mark.parametrize(
    ("name", "argv", "keys"),
    [
        ("get", [b"get", b"k"], [b"k"]),
        ("mset", [b"mset", b"a", b"1", b"b", b"2"], [b"a", b"b"]),
        ("del", [b"del", b"a", b"b", b"c"], [b"a", b"b", b"c"]),
        ("copy", [b"copy", b"s", b"d", b"REPLACE"], [b"s", b"d"]),
        ("ping", [b"ping"], []),
        ("xadd", [b"xadd", b"s", b"*", b"f", b"v"], [b"s"]),
    ],
)
def test_get_keys(name: str, argv: list[bytes], keys: list[bytes]) -> None:
    spec = C.lookup(name.encode())
    assert spec is not None
    assert C.get_keys(spec, argv) == keys


def test_command_info_reply_shape() -> None:
    spec = C.lookup(b"set")
    assert spec is not None
    info = C.command_info_reply(spec)
    assert info[:2] == [b"set", -3]
    assert info[2] == Set([SimpleString(b"write"), SimpleString(b"denyoom")])
    assert info[3:6] == [1, 1, 1]
    assert isinstance(info[8], Set) and isinstance(info[8].items[0], Map)  # `~` in RESP3
    docs = C.command_docs_reply(spec)
    assert (b"summary", b"Set the string value of a key") in docs.items


@pytest.mark.parametrize("name", NAMES)
def test_command_info_matches_redis(name: str, real_redis: RawRedis) -> None:
    """Arity, flags, key range, ACL categories, tips and key specs as redis-server reports."""
    spec = C.lookup(name.encode())
    assert spec is not None
    theirs = real_redis.execute([b"COMMAND", b"INFO", name.encode()])
    assert isinstance(theirs, list)
    ours = normalise(C.command_info_reply(spec))
    assert isinstance(ours, list)
    # Redis lists subcommands of container commands; ours leaves them to the server layer.
    assert ours[:9] == theirs[0][:9]  # type: ignore[index]
