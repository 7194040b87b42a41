"""DUMP and RESTORE against redis-server 7.0: payloads are interchangeable both ways.

1. A value of every type and encoding is built in Redis with commands, DUMPed there, RESTOREd
   into Seshat, and both keys are read back with commands (and PTTL) and compared.
2. The same values built in Seshat are DUMPed by Seshat and RESTOREd into Redis; compared alike
   (and Seshat's small strings and integers must be Redis's bytes exactly).
3. Errors reply for reply against Redis (`check_sequence`).
4. Fuzz: byte flips, truncations and insertions in valid payloads, with the CRC recomputed so
   they reach the parser, give an error or a value that DUMPs and RESTOREs again; never an
   exception (codec level, and through prepare and apply).
5. Apply is deterministic: one log of RESTOREs (bad payloads forced into it too) replayed on
   two state machines gives equal checksums.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from seshat.kv import notify as N
from seshat.kv import rdb_codec as R
from seshat.kv.local import LocalExecutor
from seshat.kv.operation import encode_command
from seshat.kv.service import Session
from seshat.kv.state_machine import StateMachine
from seshat.protocol.replies import OK, ErrorReply
from seshat.storage.engine import Engine
from tests.kv.conftest import LocalClient, RawRedis, Value
from tests.kv.test_differential import check_sequence

Client = RawRedis | LocalClient
Build = list[list[bytes]]


def _args(*words: object) -> list[bytes]:
    return [w if isinstance(w, bytes) else str(w).encode() for w in words]


def _rng_bytes(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _body(kind: int, body: bytes) -> bytes:
    return R.with_footer(bytes([kind]) + body)


def _stream_with_groups() -> Build:
    cmds = [_args("XADD", "k", f"1-{i}", "f", i, "g", f"v{i}") for i in range(1, 8)]
    cmds += [
        _args("XADD", "k", "5-0", "other", "x"),
        _args("XGROUP", "CREATE", "k", "g1", "0"),
        _args("XGROUP", "CREATE", "k", "g2", "$"),
        _args("XGROUP", "CREATE", "k", "g3", "1-3", "ENTRIESREAD", "2"),
        _args("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "k", ">"),
        _args("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "k", ">"),
        _args("XGROUP", "CREATECONSUMER", "k", "g1", "carol"),
        _args("XACK", "k", "g1", "1-2"),
        _args("XCLAIM", "k", "g1", "bob", "0", "1-1"),
        _args("XREADGROUP", "GROUP", "g3", "", "COUNT", "1", "STREAMS", "k", ">"),
        _args("XDEL", "k", "1-4"),
    ]
    return cmds


VALUES: dict[str, Build] = {
    "string short": [_args("SET", "k", "hello")],
    "string int8": [_args("SET", "k", "-12")],
    "string int16": [_args("SET", "k", "1234")],
    "string int32": [_args("SET", "k", "-70000")],
    "string int64": [_args("SET", "k", "12345678901234")],
    "string not canonical int": [_args("SET", "k", "007")],
    "string 20 bytes": [_args("SET", "k", "a" * 20)],
    "string 50-byte compressible": [_args("SET", "k", "ab" * 25)],
    "string binary": [_args("SET", "k", bytes(range(256)))],
    "string 1 MB": [_args("SET", "k", (_rng_bytes(1, 1000) + b"x" * 1000) * 512)],
    "list small": [
        _args(
            "RPUSH",
            "k",
            "a",
            "1",
            "-100",
            "4000",
            "-5000",
            "8000000",
            "-2000000000",
            "",
            "x" * 70,
            "9223372036854775807",
        )
    ],
    "list 1000": [_args("RPUSH", "k", *range(1000))],
    "list big elements": [
        _args("RPUSH", "k", "x" * 10_000, "y" * 9000, "z", _rng_bytes(2, 20_000))
    ],
    "set strings": [_args("SADD", "k", "a", "b", "c", "")],
    "set ints": [_args("SADD", "k", 1, -2, 300, 70000, -(2**40), 2**62)],
    "set 600 ints": [_args("SADD", "k", *range(0, 1200, 2))],
    "set 300 strings": [_args("SADD", "k", *(f"m{i}" for i in range(300)))],
    "hash 3": [_args("HSET", "k", "f", "v", "n", "12", "e", "")],
    "hash 600": [_args("HSET", "k", *(x for i in range(600) for x in (f"f{i}", i * 7)))],
    "hash long value": [_args("HSET", "k", "f", "v" * 100, "g", "1")],
    "zset small": [_args("ZADD", "k", 1.5, "a", "-inf", "b", "+inf", "c", -0.25, "d", 3, "e")],
    "zset 200": [_args("ZADD", "k", *(x for i in range(200) for x in (i / 3, f"m{i}")))],
    "zset ties": [_args("ZADD", "k", 0, "b", 0, "a", 0, "c", 1e300, "x", -1e-300, "y")],
    "stream simple": [
        _args("XADD", "k", "1-1", "a", "1"),
        _args("XADD", "k", "2-5", "a", "x", "b", "2"),
    ],
    "stream 250 entries": [
        _args("XADD", "k", f"{1000 + i}-{i % 3}", "f", i, "h", "y" * (i % 50)) for i in range(250)
    ],
    "stream groups, PEL, consumers": _stream_with_groups(),
    "stream empty after XDEL": [_args("XADD", "k", "3-3", "a", "1"), _args("XDEL", "k", "3-3")],
    "stream empty with group": [_args("XGROUP", "CREATE", "k", "g", "$", "MKSTREAM")],
    "stream maxlen": [
        *(_args("XADD", "k", "MAXLEN", "5", f"{i}-1", "f", i) for i in range(1, 12)),
        _args("XSETID", "k", "99-0", "ENTRIESADDED", "40", "MAXDELETEDID", "7-0"),
    ],
}

_STREAM_FULL_LAYOUT = (b"radix-tree-keys", b"radix-tree-nodes")


def _pairs(reply: Value) -> list[tuple[Value, Value]]:
    assert isinstance(reply, list), reply
    return list(zip(reply[0::2], reply[1::2], strict=True))


def snapshot(client: Client, key: bytes) -> list[Value]:
    """The value at `key` read back with commands, in an order both servers agree on."""
    kind = client.execute([b"TYPE", key])
    out: list[Value] = [kind, client.execute([b"OBJECT", b"ENCODING", key])]
    if kind == b"string":
        out.append(client.execute([b"GET", key]))
    elif kind == b"list":
        out.append(client.execute([b"LRANGE", key, b"0", b"-1"]))
    elif kind == b"set":
        out.append(sorted(client.execute([b"SMEMBERS", key])))  # type: ignore[arg-type]
    elif kind == b"hash":
        out.append(sorted(_pairs(client.execute([b"HGETALL", key]))))  # type: ignore[type-var]
    elif kind == b"zset":
        out.append(client.execute([b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]))
    elif kind == b"stream":
        full = _pairs(client.execute([b"XINFO", b"STREAM", key, b"FULL", b"COUNT", b"0"]))
        out.append([kv for kv in full if kv[0] not in _STREAM_FULL_LAYOUT])
        out.append(client.execute([b"XINFO", b"GROUPS", key]))
        out.append(client.execute([b"XLEN", key]))
    else:
        raise AssertionError(kind)
    return out


def _reset(*clients: Client) -> None:
    for client in clients:
        client.execute([b"SELECT", b"0"])
        client.execute([b"FLUSHALL"])
    for client in clients:
        if isinstance(client, LocalClient):
            client.session.db = 0


def _build(client: Client, cmds: Build) -> None:
    for argv in cmds:
        reply = client.execute(argv)
        assert not (isinstance(reply, tuple) and reply[0] == "error"), (argv[:3], reply)


def _compare_restored(src: Client, dst: Client, name: str, ttl_ms: int) -> None:
    """DUMP `k` in `src`, RESTORE it as `r` in `dst` (with a TTL), compare `k` with `r`."""
    if ttl_ms:
        assert src.execute([b"PEXPIRE", b"k", str(ttl_ms).encode()]) == 1
    payload = src.execute([b"DUMP", b"k"])
    assert isinstance(payload, bytes), (name, payload)
    reply = dst.execute([b"RESTORE", b"r", str(ttl_ms).encode(), payload])
    assert reply == b"OK", (name, reply)
    assert snapshot(dst, b"r") == snapshot(src, b"k"), name
    ttl_src, ttl_dst = src.execute([b"PTTL", b"k"]), dst.execute([b"PTTL", b"r"])
    assert isinstance(ttl_src, int) and isinstance(ttl_dst, int), (ttl_src, ttl_dst)
    if ttl_ms:
        assert 0 < ttl_dst <= ttl_ms and abs(ttl_src - ttl_dst) < 2000, (name, ttl_src, ttl_dst)
    else:
        assert ttl_src == ttl_dst == -1, name


@pytest.mark.parametrize("name", list(VALUES))
def test_redis_dump_restores_into_seshat(
    name: str, real_redis: RawRedis, local_client: LocalClient
) -> None:
    _reset(real_redis, local_client)
    _build(real_redis, VALUES[name])
    _compare_restored(real_redis, local_client, name, 0)
    local_client.execute([b"DEL", b"r"])
    _compare_restored(real_redis, local_client, name, 100_000)


@pytest.mark.parametrize("name", list(VALUES))
def test_seshat_dump_restores_into_redis(
    name: str, real_redis: RawRedis, local_client: LocalClient
) -> None:
    _reset(real_redis, local_client)
    _build(local_client, VALUES[name])
    _compare_restored(local_client, real_redis, name, 0)
    real_redis.execute([b"DEL", b"r"])
    _compare_restored(local_client, real_redis, name, 100_000)
    # and Seshat reads its own payloads back
    payload = local_client.execute([b"DUMP", b"k"])
    assert local_client.execute([b"RESTORE", b"again", b"0", payload]) == b"OK"  # type: ignore[list-item]
    assert snapshot(local_client, b"again") == snapshot(local_client, b"k"), name


SMALL_STRINGS = [b"", b"a", b"hello", b"x" * 20, b"0", b"-1", b"127", b"-128", b"128", b"32767",
                 b"-32769", b"2147483647", b"-2147483648", b"2147483648", b"12345678901234",
                 b"-9223372036854775808", b"01", b"+1", b"1.5", b" 1"]  # fmt: skip


def test_small_strings_dump_byte_for_byte(real_redis: RawRedis, local_client: LocalClient) -> None:
    _reset(real_redis, local_client)
    for value in SMALL_STRINGS:
        for client in (real_redis, local_client):
            client.execute([b"SET", b"k", value])
        ours, theirs = local_client.execute([b"DUMP", b"k"]), real_redis.execute([b"DUMP", b"k"])
        assert ours == theirs, (value, ours, theirs)


def test_hand_made_payloads_restore_as_in_redis(
    real_redis: RawRedis, local_client: LocalClient
) -> None:
    """Quicklist plain nodes (7.0 writes them only for elements of 1 GB) and the older types,
    crafted by hand: both servers hold the value expected."""
    _reset(real_redis, local_client)
    plain = R.with_footer(
        bytes([R.T_LIST_QUICKLIST_2]) + R.encode_length(2)
        + R.encode_length(R.QUICKLIST_PLAIN) + R.encode_string(b"plain" * 3)
        + R.encode_length(R.QUICKLIST_PACKED) + R.encode_string(R.build_listpack([b"a", b"7"]))
    )  # fmt: skip
    old_list = R.with_footer(bytes([R.T_LIST]) + R.encode_length(2) + b"\x01a\xc0\x05")
    old_zset = R.with_footer(
        bytes([R.T_ZSET]) + R.encode_length(3)
        + b"\x01a\x031.5" + b"\x01b\xfe" + b"\x01c\xff"
    )  # fmt: skip
    cases = [
        (plain, [b"plainplainplain", b"a", b"7"], b"LRANGE"),
        (old_list, [b"a", b"5"], b"LRANGE"),
        (old_zset, [b"c", b"-inf", b"a", b"1.5", b"b", b"inf"], b"ZRANGE"),
    ]
    for payload, expected, read in cases:
        extra = [b"WITHSCORES"] if read == b"ZRANGE" else []
        for client in (real_redis, local_client):
            assert client.execute([b"RESTORE", b"k", b"0", payload, b"REPLACE"]) == b"OK"
            assert client.execute([read, b"k", b"0", b"-1", *extra]) == expected


def _ziplist(items: list[bytes | int]) -> bytes:
    """A ziplist as Redis 6 wrote them (the loader's test input: 7.0 never writes one)."""
    body, prev, last = b"", 0, 10
    for item in items:
        if isinstance(item, int):
            enc = b"\xfe" + item.to_bytes(1, "little", signed=True) if -128 <= item < 128 else (
                b"\xd0" + item.to_bytes(4, "little", signed=True))  # fmt: skip
            if 0 <= item <= 12:
                enc = bytes([0xF1 + item])
        elif len(item) < 64:
            enc = bytes([len(item)]) + item
        elif len(item) < 16384:
            enc = bytes([0x40 | (len(item) >> 8), len(item) & 0xFF]) + item
        else:
            enc = b"\x80" + len(item).to_bytes(4, "big") + item
        entry = (bytes([prev]) if prev < 254 else b"\xfe" + prev.to_bytes(4, "little")) + enc
        last = 10 + len(body)
        body += entry
        prev = len(entry)
    total = 10 + len(body) + 1
    return (
        total.to_bytes(4, "little") + last.to_bytes(4, "little")
        + len(items).to_bytes(2, "little") + body + b"\xff"
    )  # fmt: skip


ZIPLIST_PAYLOADS: dict[str, tuple[bytes, list[bytes]]] = {
    "list ziplist": (
        _body(R.T_LIST_ZIPLIST, R.encode_string(_ziplist([b"a", 5, -7, 100000, b"x" * 300]))),
        _args("LRANGE", "k", "0", "-1"),
    ),
    "list quicklist of ziplists": (
        _body(
            R.T_LIST_QUICKLIST,
            b"\x02"
            + R.encode_string(_ziplist([b"a", 12]))
            + R.encode_string(_ziplist([b"b" * 20000, 0])),
        ),
        _args("LRANGE", "k", "0", "-1"),
    ),
    "hash ziplist": (
        _body(R.T_HASH_ZIPLIST, R.encode_string(_ziplist([b"f", b"v", b"n", 3]))),
        _args("HGETALL", "k"),
    ),
    "zset ziplist": (
        _body(R.T_ZSET_ZIPLIST, R.encode_string(_ziplist([b"a", 1, b"b", b"2.5", b"c", b"inf"]))),
        _args("ZRANGE", "k", "0", "-1", "WITHSCORES"),
    ),
}


@pytest.mark.parametrize("name", list(ZIPLIST_PAYLOADS))
def test_ziplist_payloads_restore_as_in_redis(
    name: str, real_redis: RawRedis, local_client: LocalClient
) -> None:
    """Redis 6's encodings, which 7.0 still loads: both servers hold the same value."""
    _reset(real_redis, local_client)
    payload, read = ZIPLIST_PAYLOADS[name]
    for client in (real_redis, local_client):
        assert client.execute([b"RESTORE", b"k", b"0", payload]) == b"OK", name
    assert snapshot(local_client, b"k") == snapshot(real_redis, b"k"), name
    assert local_client.execute(read) == real_redis.execute(read), name


# -- 3. errors, reply for reply ------------------------------------------------------------------

GOOD = R.dump_string(b"v")
GOOD_LIST = R.dump_list([b"a", b"b"])


BAD_DATA_PAYLOADS = {
    "empty body": R.with_footer(b""),
    "module type": _body(7, b"\x00"),
    "pre-GA module type": _body(8, b"\x00"),
    "7.2 set listpack": _body(20, b"\x00"),
    "unknown type": _body(30, b""),
    "empty set": _body(R.T_SET, b"\x00"),
    "empty list": _body(R.T_LIST_QUICKLIST_2, b"\x00"),
    "empty hash": _body(R.T_HASH, b"\x00"),
    "empty zset": _body(R.T_ZSET_2, b"\x00"),
    "duplicate set members": _body(R.T_SET, b"\x02\x01a\x01a"),
    "duplicate zset members": _body(R.T_ZSET_2, b"\x02\x01a" + bytes(8) + b"\x01a" + bytes(8)),
    "unknown string encoding": _body(R.T_STRING, b"\xc4\x00"),
    "bad length prefix": _body(R.T_STRING, b"\x82\x00"),
    "quicklist container 3": _body(R.T_LIST_QUICKLIST_2, b"\x01\x03\x01a"),
    "stream node key not 16 bytes": _body(R.T_STREAM_LISTPACKS_2, b"\x01\x03abc"),
    "intset bad width": _body(
        R.T_SET_INTSET, R.encode_string(b"\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00")
    ),
    "bad LZF": _body(R.T_STRING, b"\xc3\x03\x19\x01\x00\x00"),
}


# Payloads Redis 7.0 accepts with its default `sanitize-dump-payload no` and then holds a
# corrupt value (a small hash with two fields of one name); Seshat checks deeply and refuses.
STRICTER_PAYLOADS = {
    "duplicate hash fields": _body(R.T_HASH, b"\x02\x01a\x01b\x01a\x01c"),
    "listpack hash, duplicate fields": _body(
        R.T_HASH_LISTPACK, R.encode_string(R.build_listpack([b"a", b"1", b"a", b"2"]))
    ),
    "listpack count mismatch": _body(
        R.T_LIST_QUICKLIST_2,
        b"\x01\x02"
        + R.encode_string(
            R.build_listpack([b"a"])[:4] + b"\x02\x00" + R.build_listpack([b"a"])[6:]
        ),
    ),
    "intset not sorted": _body(
        R.T_SET_INTSET, R.encode_string(b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00")
    ),
    "PEL entry without consumer": _body(
        R.T_STREAM_LISTPACKS_2,
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01g\x00\x00\x00\x01"
        + bytes(16)
        + bytes(8)
        + b"\x01\x00",
    ),
}


def _restore_sequence() -> list[list[bytes]]:
    bad_crc = GOOD[:-1] + bytes([GOOD[-1] ^ 1])
    version_11 = GOOD[:-10] + b"\x0b\x00" + R.crc64(GOOD[:-10] + b"\x0b\x00").to_bytes(8, "little")
    version_9 = GOOD[:-10] + b"\x09\x00" + R.crc64(GOOD[:-10] + b"\x09\x00").to_bytes(8, "little")
    seq = [
        _args("SET", "k", "1"),
        _args("RESTORE", "k", "0", GOOD),
        _args("RESTORE", "k", "abc", GOOD),
        _args("RESTORE", "k", "-1", b"junk"),
        _args("RESTORE", "k", "0", bad_crc),
        _args("RESTORE", "n", "abc", GOOD),
        _args("RESTORE", "n", "-1", GOOD),
        _args("RESTORE", "n", "0", b"junk"),
        _args("RESTORE", "n", "0", b""),
        _args("RESTORE", "n", "0", bad_crc),
        _args("RESTORE", "n", "0", version_11),
        _args("RESTORE", "n", "abc", GOOD, "REPLACE"),
        _args("RESTORE", "n", "-5", GOOD, "replace"),
        _args("RESTORE", "k", "0", bad_crc, "REPLACE"),
        _args("RESTORE", "n", "0", GOOD, "IDLETIME", "-1"),
        _args("RESTORE", "k", "0", GOOD, "idletime", "x"),
        _args("RESTORE", "k", "0", GOOD, "FREQ", "256"),
        _args("RESTORE", "k", "0", GOOD, "FREQ", "-1"),
        _args("RESTORE", "n", "0", GOOD, "FREQ", "1", "IDLETIME", "1"),
        _args("RESTORE", "n", "0", GOOD, "IDLETIME", "1", "FREQ", "1"),
        _args("RESTORE", "n", "0", GOOD, "IDLETIME"),
        _args("RESTORE", "n", "0", GOOD, "FREQ"),
        _args("RESTORE", "n", "0", GOOD, "bogus"),
        _args("RESTORE", "k", "0", GOOD, "bogus"),
        _args("RESTORE", "k", "0", GOOD, "IDLETIME", "-1", "bogus"),
        _args("RESTORE", "n", "0", GOOD, "IDLETIME", "5", "IDLETIME", "6"),
        _args("GET", "n"),
        _args("RESTORE", "k", "0", GOOD, "REPLACE", "FREQ", "7", "ABSTTL"),
        _args("GET", "k"),
        _args("RESTORE", "k", "0", GOOD_LIST, "REPLACE"),
        _args("TYPE", "k"),
        _args("LRANGE", "k", "0", "-1"),
        _args("RESTORE", "v9", "0", version_9),
        _args("GET", "v9"),
        _args("RESTORE", "past", "1", GOOD, "ABSTTL"),
        _args("EXISTS", "past"),
        _args("RESTORE", "k", "1", GOOD, "ABSTTL", "REPLACE"),
        _args("EXISTS", "k"),
        _args("RESTORE", "huge", "9223372036854775807", GOOD),
        _args("EXISTS", "huge"),
        _args("RESTORE", "far", "9223372036854775806", GOOD, "ABSTTL"),
        _args("PEXPIRETIME", "far"),
        _args("RESTORE", "t", "100000", GOOD),
        _args("PTTL", "t"),
        _args("RESTORE", "t2", "100000000", GOOD, "ABSTTL"),
        _args("PEXPIRETIME", "t2"),
        _args("RESTORE", "into-footer", "0", R.with_footer(b"\x00\x05hel")),
        _args("GET", "into-footer"),
        _args("RESTORE", "trailing", "0", R.with_footer(b"\x00\x02hitrailing")),
        _args("GET", "trailing"),
        _args("RESTORE-ASKING", "k", "0", GOOD),
        _args("RESTORE-ASKING", "ask", "0", GOOD),
        _args("GET", "ask"),
        _args("RESTORE-ASKING", "ask", "0", b"x"),
        _args("DUMP", "missing"),
        _args("DUMP"),
        _args("DUMP", "a", "b"),
        _args("RESTORE", "k", "0"),
        _args("RESTORE"),
        _args("SET", "ex", "v", "PX", "1"),
        _args("sleepms", "5"),
        _args("DUMP", "ex"),
        _args("RESTORE", "ex", "0", GOOD),
    ]
    for name, payload in BAD_DATA_PAYLOADS.items():
        seq.append(_args("RESTORE", "bad", "0", payload))
        seq.append(_args("RESTORE", "k", "0", payload))  # the key exists: BUSYKEY first
        seq.append(_args("RESTORE", "k", "0", payload, "REPLACE"))
        seq.append(_args("EXISTS", "bad", "k"))
        seq.append(_args("ECHO", name))
    return seq


def test_restore_errors_as_redis(real_redis: RawRedis, local_client: LocalClient) -> None:
    check_sequence(real_redis, local_client, _restore_sequence(), name="restore errors")


def test_bad_payloads_never_reach_the_log_with_replace(executor: LocalExecutor) -> None:
    session = Session()
    executor.execute(session, _args("SET", "k", "1"))
    before = len(executor.log)
    for payload in [*BAD_DATA_PAYLOADS.values(), *STRICTER_PAYLOADS.values()]:
        assert isinstance(R.decode_payload(payload), R.DecodeError)
        reply = executor.execute(session, _args("RESTORE", "k", "0", payload, "REPLACE"))
        assert reply == ErrorReply("ERR Bad data format")
    assert len(executor.log) == before
    # without REPLACE the answer depends on the key, so only a short marker is proposed
    reply = executor.execute(session, _args("RESTORE", "k", "0", b"x" * 1000))
    assert reply == ErrorReply("BUSYKEY Target key name already exists.")
    assert len(executor.log) == before + 1 and len(executor.log[-1]) < 100


# -- 4. fuzz ---------------------------------------------------------------------------------------


def _seed_payloads(real_redis: RawRedis) -> list[bytes]:
    """Valid payloads of every type, from Redis (its encodings) and from our encoder."""
    _reset(real_redis)
    payloads: list[bytes] = []
    for name, cmds in VALUES.items():
        if "1 MB" in name or "1000" in name or "250" in name or "600" in name:
            continue
        real_redis.execute([b"DEL", b"k"])
        _build(real_redis, cmds)
        payload = real_redis.execute([b"DUMP", b"k"])
        assert isinstance(payload, bytes)
        payloads.append(payload)
        value = R.decode_payload(payload)
        assert not isinstance(value, R.DecodeError), (name, value)
    payloads.append(R.dump_set([b"1", b"2"]))
    payloads.append(R.dump_hash([(b"a", b"1")]))
    payloads.append(R.dump_zset([(b"a", 1.0)]))
    payloads += [payload for payload, _read in ZIPLIST_PAYLOADS.values()]
    return payloads


def _mutate(rng: random.Random, payload: bytes) -> bytes:
    body = bytearray(payload[:-10])
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        if op == 0 and body:
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
        elif op == 1 and body:
            body[rng.randrange(len(body))] = rng.randrange(256)
        elif op == 2:
            del body[rng.randrange(len(body) + 1) :]
        else:
            at = rng.randrange(len(body) + 1)
            body[at:at] = rng.randbytes(rng.randint(1, 3))
    return R.with_footer(bytes(body))


FUZZ_CASES = 3000
FUZZ_THROUGH_APPLY = 400


def test_fuzzed_payloads_never_raise(real_redis: RawRedis, executor: LocalExecutor) -> None:
    seeds = _seed_payloads(real_redis)
    rng = random.Random(7)
    session = Session()
    outcomes = {"ok": 0, "error": 0}
    for i in range(FUZZ_CASES):
        payload = _mutate(rng, rng.choice(seeds))
        value = R.decode_payload(payload)  # must return, never raise
        assert isinstance(value, (R.DecodeError, *R.Value.__args__)), value  # type: ignore[attr-defined]
        if i >= FUZZ_THROUGH_APPLY:
            continue
        reply = executor.execute(session, _args("RESTORE", "f", "0", payload, "REPLACE"))
        if isinstance(reply, ErrorReply):
            assert reply.message == "ERR Bad data format", reply
            assert isinstance(value, R.DecodeError)
            outcomes["error"] += 1
            continue
        outcomes["ok"] += 1
        again = executor.execute(session, _args("DUMP", "f"))
        assert isinstance(again, bytes)
        assert executor.execute(
            session, _args("RESTORE", "g", "0", again, "REPLACE")
        ) != ErrorReply("ERR Bad data format")
    assert outcomes["ok"] > 10 and outcomes["error"] > 10, outcomes


def test_apply_answers_any_bytes_with_an_error(executor: LocalExecutor) -> None:
    """A payload that reaches the log without prepare (as no client can make it) still gets a
    reply: the footer check and the decoder run again in apply."""
    rng = random.Random(3)
    sm = executor.state_machine
    for _ in range(200):
        junk = rng.randbytes(rng.randint(0, 40))
        for payload in (junk, R.with_footer(junk)):
            data = encode_command(
                1_700_000_000_000, 0, _args("RESTORE", "j", "0", payload, "REPLACE")
            )
            reply = sm.apply_batch([(sm.applied_index() + 1, data)])[0]
            assert reply is not None


# -- 5. replay determinism -----------------------------------------------------------------------


def test_restore_log_replays_to_equal_checksums(tmp_path: Path, real_redis: RawRedis) -> None:
    seeds = _seed_payloads(real_redis)
    clock_ms = [1_700_000_000_000]
    engines = [Engine.open(os.fspath(tmp_path / n)) for n in ("leader", "r1", "r2")]
    try:
        leader = LocalExecutor(engines[0], lambda: clock_ms[0])
        session = Session()
        rng = random.Random(11)
        for i, payload in enumerate(seeds * 3):
            ttl = rng.choice([b"0", b"5000", b"1", str(clock_ms[0] + 10).encode()])
            opts = rng.choice([[], [b"REPLACE"], [b"ABSTTL"], [b"REPLACE", b"ABSTTL"]])
            key = b"k%d" % rng.randrange(6)
            mutated = _mutate(rng, payload) if i % 4 == 3 else payload
            leader.execute(session, [b"RESTORE", key, ttl, mutated, *opts])
            leader.execute(session, [b"DUMP", key])
            clock_ms[0] += rng.randrange(3000)
        leader.log.append(encode_command(clock_ms[0], 0, _args("RESTORE", "z", "0", b"junk")))
        log = list(enumerate(leader.log, start=1))
        replicas = [StateMachine(e) for e in engines[1:]]
        replicas[0].apply_batch(log)
        for lo in range(0, len(log), 5):
            replicas[1].apply_batch(log[lo : lo + 5])
        sums = {sm.checksum() for sm in replicas}
        assert len(sums) == 1, sums
    finally:
        for e in engines:
            e.close()


def test_restore_names_redis_keyspace_events(executor: LocalExecutor) -> None:
    """`new` then `restore` (not the rpush/sadd/... of the writes underneath), or `del` when
    REPLACE meets an already-expired TTL, as `restoreCommand` notifies."""
    executor.state_machine.notify_classes = N.ALL | N.NEW
    session = Session()
    for payload in (R.dump_list([b"a"]), R.dump_set([b"1"]), R.dump_zset([(b"m", 1.0)])):
        executor.events.clear()
        assert executor.execute(session, _args("RESTORE", "k", "0", payload, "REPLACE")) == OK
        assert executor.events == [(b"new", 0, b"k"), (b"restore", 0, b"k")]
    executor.events.clear()
    reply = executor.execute(session, _args("RESTORE", "k", "1", GOOD, "ABSTTL", "REPLACE"))
    assert reply == OK and executor.events == [(b"del", 0, b"k")]
