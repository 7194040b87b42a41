"""Differential tests for hashes, sets and the key commands on them: the same sequences to a
real redis-server and to LocalExecutor, replies compared (errors word for word).

Redis leaves the order of whole-collection replies unspecified (SMEMBERS, HKEYS, SINTER, ...),
so those are compared sorted (HGETALL as sorted pairs); a whole HSCAN/SSCAN iteration is
compared as a sorted set. Random replies are compared by what is certain: a random draw from a
one-member collection, SPOP/SRANDMEMBER/HRANDFIELD with a count covering the whole collection,
and the length and membership of the rest (`SRANDMEMBER k -3` -> three members of k).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kv.conftest import LocalClient, RawRedis, Value
from tests.kv.test_differential import _cmd, parse, same
from tests.kv.test_differential import run as run_plain

SORTED = {
    b"smembers", b"hkeys", b"hvals", b"sinter", b"sunion", b"sdiff", b"keys",
}  # fmt: skip


def _pairs(flat: list[Value]) -> list[tuple[Value, Value]]:
    return sorted(zip(flat[::2], flat[1::2], strict=True))  # type: ignore[type-var]


def run(client: RawRedis | LocalClient, argv: list[bytes]) -> Value:
    name = argv[0].lower()
    if name in (b"hscanall", b"sscanall"):  # a whole HSCAN/SSCAN iteration, sorted
        real = b"HSCAN" if name == b"hscanall" else b"SSCAN"
        items: list[Value] = []
        cursor = b"0"
        for _ in range(10_000):
            reply = client.execute([real, argv[1], cursor, *argv[2:]])
            if not isinstance(reply, list):
                return reply
            cursor, batch = reply  # type: ignore[assignment]
            assert isinstance(batch, list)
            items += batch
            if cursor == b"0":
                if real == b"HSCAN":
                    return sorted(set(_pairs(items)))  # type: ignore[type-var]
                return sorted(set(items))  # type: ignore[type-var]
        raise AssertionError("scan did not finish")
    reply = client.execute(argv)
    if not isinstance(reply, list):
        return reply
    if name in SORTED or (name in (b"spop", b"srandmember") and len(argv) > 2):
        if name == b"srandmember" and argv[2].startswith(b"-"):
            return len(reply)  # with repetition: the count is certain, the members are not
        return sorted(reply)  # type: ignore[type-var]
    if name == b"hgetall":
        return _pairs(reply)  # type: ignore[return-value]
    if name == b"hrandfield":
        if len(argv) > 2 and argv[2].startswith(b"-"):
            return len(reply)
        if len(argv) > 3:
            return _pairs(reply)  # type: ignore[return-value]
        return sorted(reply)  # type: ignore[type-var]
    return run_plain(client, argv) if name == b"scanall" else reply


def check_sequence(real: RawRedis, local: LocalClient, commands: list[list[bytes]]) -> None:
    for client in (real, local):
        client.execute([b"SELECT", b"0"])
        client.execute([b"FLUSHALL"])
    local.session.db = 0
    for i, argv in enumerate(commands):
        name = argv[0].lower()
        theirs = run_plain(real, argv) if name == b"scanall" else run(real, argv)
        ours = run_plain(local, argv) if name == b"scanall" else run(local, argv)
        assert same(name, ours, theirs), (
            f"command #{i} {b' '.join(argv)!r}: redis {theirs!r}, seshat {ours!r}\n"
            f"sequence: {[b' '.join(c) for c in commands]!r}"
        )


CASES: dict[str, str] = {
    "hash basics": """
        hset h a 1 b 2 c 3
        hset h a 10 d 4
        hget h a
        hget h zz
        hget nokey a
        hmget h a zz b
        hmget nokey a b
        hlen h
        hlen nokey
        hstrlen h a
        hstrlen h zz
        hstrlen nokey a
        hexists h a
        hexists h zz
        hexists nokey a
        hkeys h
        hvals h
        hgetall h
        hgetall nokey
        hkeys nokey
        hsetnx h a x
        hsetnx h e 5
        hsetnx newh f v
        hmset h x 1 y 2
        hdel h a zz x
        hdel h zz
        hdel nokey a
        hgetall h
        hdel h b c d e y
        exists h
        hlen h
        type newh
        hset h '' ''
        hget h ''
        hstrlen h ''
    """,
    "hash counters": """
        hincrby h n 5
        hincrby h n -2
        hincrby h n x
        hincrby h n 1.5
        hincrby h n 9223372036854775807
        hset h big 9223372036854775806
        hincrby h big 1
        hincrby h big 1
        hset h s abc
        hincrby h s 1
        hincrbyfloat h s 1
        hincrbyfloat h f 1.5
        hincrbyfloat h f 0.1
        hincrbyfloat h f -1.6
        hincrbyfloat h f abc
        hincrbyfloat h f inf
        hincrbyfloat h f nan
        hincrbyfloat h f 1e308
        hincrbyfloat h f 1e308
        hincrbyfloat h g 3.0e3
        hget h g
        hset h sp ' 1'
        hincrby h sp 1
        hincrbyfloat h sp 1
        hset h i 10
        hincrbyfloat h i 0.5
        hincrby h i 1
        hgetall h
    """,
    "hash errors and arity": """
        hset h
        hset h a
        hset h a 1 b
        hmset h a
        hmset h a 1 b
        hsetnx h a
        hget h
        hmget h
        hdel h
        hlen
        hstrlen h
        hexists h
        hkeys
        hincrby h a
        hincrbyfloat h a
        hscan h
        hscan h x
        hscan nokey 0 count 0
        hscan nokey x
        hset h a 1
        hscan h 0 count 0
        hscan h 0 count x
        hscan h 0 match
        hscan h 0 type string
        hscan h 0 novalues
        hscan h 18446744073709551616
        hrandfield h x
        hrandfield h 1 foo
        hrandfield h 1 withvalues x
        hrandfield h -9223372036854775808
        hrandfield h -9223372036854775807 withvalues
        hrandfield nokey x
        hrandfield
    """,
    "hash random and scan": """
        hset h a 1
        hrandfield h
        hrandfield h 1
        hrandfield h -3
        hrandfield h 5 withvalues
        hrandfield h -2 withvalues
        hrandfield h 0
        hrandfield h 0 withvalues
        hrandfield nokey
        hrandfield nokey 3
        hrandfield nokey -3 withvalues
        hset h b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 j 10 k 11 l 12
        hrandfield h 100
        hrandfield h 12 withvalues
        hrandfield h -20
        hscanall h
        hscanall h count 2
        hscanall h match ?
        hscanall h match [a-c]
    """,
    "hash encodings": """
        hset h a 1
        object encoding h
        hset h long 12345678901234567890123456789012345678901234567890123456789012345
        object encoding h
        hdel h long
        object encoding h
        hset h2 12345678901234567890123456789012345678901234567890123456789012345 x
        object encoding h2
        hset h3 f 1234567890123456789012345678901234567890123456789012345678901234
        object encoding h3
    """,
    "set basics": """
        sadd s a b c
        sadd s a d
        sadd s
        scard s
        scard nokey
        sismember s a
        sismember s z
        sismember nokey a
        smismember s a z b
        smismember nokey a b
        smembers s
        smembers nokey
        srem s a z
        srem s z
        srem nokey a
        smembers s
        srem s b c d
        exists s
        sadd s ''
        sismember s ''
        smembers s
    """,
    "set algebra": """
        sadd a 1 2 3 4
        sadd b 3 4 5
        sadd c 4 5 6
        sinter a b
        sinter a b c
        sinter a nokey
        sinter nokey a
        sunion a b c
        sunion a nokey
        sdiff a b
        sdiff a b c
        sdiff nokey a
        sdiff a nokey
        sintercard 2 a b
        sintercard 3 a b c
        sintercard 2 a b limit 1
        sintercard 2 a b limit 0
        sintercard 2 a nokey
        sinterstore d a b
        smembers d
        sinterstore d a nokey
        exists d
        sunionstore d a b
        smembers d
        sdiffstore d a b
        smembers d
        sdiffstore a a b
        smembers a
        set str x
        sinterstore str a b
        type str
        smembers str
        sunionstore b b nokey
        smembers b
        sinter a str
        sinter nokey str
        sunion a str
        sdiff str a
        sdiff a str
        sintercard 2 a str
        sinterstore d a str
        sunionstore d str
        sdiffstore d a str
        smembers d
        sinter
        sintercard 0 a
        sintercard x a
        sintercard -1 a
        sintercard 2 a
        sintercard 1 a limit
        sintercard 1 a limit -1
        sintercard 1 a limit x
        sintercard 1 a foo 1
        sinterstore d
        sunion
        sdiffstore d
    """,
    "set pop move random": """
        sadd s a
        spop s
        spop s
        exists s
        sadd s a
        srandmember s
        srandmember s 5
        srandmember s -3
        srandmember s 0
        srandmember nokey
        srandmember nokey 5
        srandmember s x
        srandmember s 1 2
        srandmember s -9223372036854775808
        sadd s b c d
        spop s 10
        exists s
        sadd s a b c
        spop s 0
        spop s -1
        spop s x
        spop s 1 2
        spop nokey
        spop nokey 3
        scard s
        srandmember s 3
        spop s 3
        sadd x 1 2
        sadd y 2 3
        smove x y 1
        smove x y 1
        smove x y 2
        exists x
        smembers y
        smove y y 3
        smove y y 9
        smove nokey y 1
        smove y newset 3
        smembers newset
        set str v
        smove y str 2
        smove str y 2
        smove nokey str 1
        sadd z 1
        smove z z 1
        smembers z
    """,
    "set errors and scan": """
        sadd s
        srem s
        smembers
        sismember s
        smismember s
        scard
        smove s d
        sscan s
        sscan s x
        sscan nokey 0 count 0
        sadd s 1 2 3
        sscan s 0 count 0
        sscan s 0 foo 1
        sscanall s
        sadd t a b c d e f g h i j k l m n o p
        sscanall t
        sscanall t count 3
        sscanall t match [a-e]
    """,
    "set encodings": """
        sadd s 1 2 3
        object encoding s
        sadd s -5
        object encoding s
        sadd s 007
        object encoding s
        srem s 007
        object encoding s
        sadd t a
        object encoding t
        sadd u 9223372036854775807
        object encoding u
        sadd u 9223372036854775808
        object encoding u
        sinterstore v s s
        object encoding v
        sunionstore w s t
        object encoding w
    """,
    "wrongtype everywhere": """
        set str v
        hset h a 1
        sadd s m
        hget str a
        hset str a 1
        hsetnx str a 1
        hmget str a
        hmset str a 1
        hdel str a
        hlen str
        hstrlen str a
        hexists str a
        hkeys str
        hvals str
        hgetall str
        hincrby str a 1
        hincrbyfloat str a 1
        hscan str 0
        hrandfield str
        hrandfield str 2
        sadd str m
        srem str m
        smembers str
        sismember str m
        smismember str m
        scard str
        spop str
        spop str 2
        srandmember str
        srandmember str 2
        sscan str 0
        sadd h m
        smembers h
        hget s a
        get h
        get s
        set h x get
        getset s x
        getdel h
        getex s
        incr h
        incrbyfloat s 1
        append h x
        strlen s
        getrange h 0 1
        setrange s 0 x
        mget h s str
        type h
        type s
        type str
    """,
    "keys on collections": """
        hset h a 1 b 2
        sadd s x y
        exists h s nokey
        type h
        type s
        dbsize
        expire h 1000
        ttl h
        pexpire s 1000000
        pttl s
        persist h
        ttl h
        expireat s 4102444800
        expiretime s
        rename h h2
        exists h
        hgetall h2
        renamenx s h2
        renamenx s s2
        smembers s2
        rename s2 h2
        type h2
        smembers h2
        copy h2 c
        smembers c
        sadd c z
        scard h2
        scard c
        copy h2 c
        copy h2 c replace
        scard c
        copy h2 c db 1
        select 1
        smembers c
        sadd c w
        select 0
        scard c
        move c 1
        sadd c only0
        move c 1
        select 1
        smembers c
        del c
        select 0
        hset h3 f v
        set h3 str
        type h3
        hset h3 f v
        sadd s3 1
        hset s3 f v
        mset s3 x
        type s3
        del h2 s3 nokey
        dbsize
        hset e f v
        expire e 0
        exists e
        hset e f v
        pexpireat e 1
        hget e f
        sadd p m
        getex p
        scanall type hash
        scanall type set
        scanall type string
        keys *
        object encoding nokey
        object encoding e
        set i 123
        object encoding i
        set es hello
        object encoding es
        set r 123456789012345678901234567890123456789012345
        object encoding r
        object refcount i
        object refcount es
        object idletime es
        object freq es
        object foo es
        object encoding
        object
        object help x
        hset fl f v
        sadd fl2 m
        select 1
        hset fl f v
        flushdb
        select 0
        hget fl f
        swapdb 0 1
        hget fl f
        swapdb 0 1
        hget fl f
        flushall
        hget fl f
        smembers fl2
    """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_written(name: str, real_redis: RawRedis, local_client: LocalClient) -> None:
    check_sequence(real_redis, local_client, parse(CASES[name]))


# -- generated sequences mixing strings, hashes, sets and expiries -----------------------------

KEYS = st.sampled_from([b"a", b"b", b"c"])
FIELDS = st.sampled_from([b"f", b"g", b"h", b"1", b"2", b"10"])
VALUES = st.sampled_from([b"", b"0", b"1", b"-7", b"1.5", b"x", b"9223372036854775807"])
FAR = st.integers(100, 1_000_000).map(lambda n: str(n).encode())
FIELDS_LIST = st.lists(FIELDS, min_size=1, max_size=3)

COMMAND = st.one_of(
    st.tuples(KEYS, st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=3)).map(
        lambda t: [b"HSET", t[0], *(w for p in t[1] for w in p)]
    ),
    _cmd(b"HSETNX", KEYS, FIELDS, VALUES),
    _cmd(b"HGET", KEYS, FIELDS),
    st.tuples(KEYS, FIELDS_LIST).map(lambda t: [b"HMGET", t[0], *t[1]]),
    st.tuples(KEYS, FIELDS_LIST).map(lambda t: [b"HDEL", t[0], *t[1]]),
    _cmd(st.sampled_from([b"HLEN", b"HKEYS", b"HVALS", b"HGETALL"]), KEYS),
    _cmd(st.sampled_from([b"HSTRLEN", b"HEXISTS"]), KEYS, FIELDS),
    _cmd(b"HINCRBY", KEYS, FIELDS, st.sampled_from([b"1", b"-3", b"x", b"9223372036854775807"])),
    _cmd(b"HINCRBYFLOAT", KEYS, FIELDS, st.sampled_from([b"0.5", b"-2", b"x", b"1e3"])),
    _cmd(b"HSCANALL", KEYS),
    st.tuples(KEYS, FIELDS_LIST).map(lambda t: [b"SADD", t[0], *t[1]]),
    st.tuples(KEYS, FIELDS_LIST).map(lambda t: [b"SREM", t[0], *t[1]]),
    _cmd(st.sampled_from([b"SMEMBERS", b"SCARD"]), KEYS),
    _cmd(b"SISMEMBER", KEYS, FIELDS),
    st.tuples(KEYS, FIELDS_LIST).map(lambda t: [b"SMISMEMBER", t[0], *t[1]]),
    _cmd(b"SPOP", KEYS, st.just(b"100")),
    _cmd(b"SRANDMEMBER", KEYS, st.sampled_from([b"100", b"-2", b"0"])),
    _cmd(b"SMOVE", KEYS, KEYS, FIELDS),
    st.tuples(
        st.sampled_from([b"SINTER", b"SUNION", b"SDIFF"]), st.lists(KEYS, min_size=1, max_size=3)
    ).map(lambda t: [t[0], *t[1]]),
    st.tuples(
        st.sampled_from([b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"]),
        KEYS,
        st.lists(KEYS, min_size=1, max_size=3),
    ).map(lambda t: [t[0], t[1], *t[2]]),
    st.lists(KEYS, min_size=1, max_size=3).map(
        lambda ks: [b"SINTERCARD", str(len(ks)).encode(), *ks]
    ),
    _cmd(b"SSCANALL", KEYS),
    _cmd(b"SET", KEYS, VALUES),
    _cmd(b"GET", KEYS),
    _cmd(b"INCR", KEYS),
    _cmd(b"APPEND", KEYS, VALUES),
    _cmd(st.sampled_from([b"DEL", b"EXISTS", b"TYPE", b"TTL", b"PERSIST", b"OBJECT"]), KEYS).map(
        lambda c: [b"OBJECT", b"ENCODING", c[1]] if c[0] == b"OBJECT" else c
    ),
    _cmd(b"EXPIRE", KEYS, st.one_of(FAR, st.just(b"0"))),
    _cmd(st.sampled_from([b"RENAME", b"RENAMENX"]), KEYS, KEYS),
    st.tuples(KEYS, KEYS, st.sampled_from([[], [b"REPLACE"], [b"DB", b"1"]])).map(
        lambda t: [b"COPY", t[0], t[1], *t[2]]
    ),
    _cmd(b"MOVE", KEYS, st.sampled_from([b"0", b"1"])),
    _cmd(b"SELECT", st.sampled_from([b"0", b"1"])),
    _cmd(b"SWAPDB", st.sampled_from([b"0", b"1"]), st.sampled_from([b"0", b"1"])),
    _cmd(b"SCANALL"),
    _cmd(b"DBSIZE"),
    _cmd(b"FLUSHDB"),
)


@settings(
    max_examples=int(os.environ.get("SESHAT_DIFF_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(commands=st.lists(COMMAND, min_size=1, max_size=30))
def test_generated_sequences(
    commands: list[list[bytes]], real_redis: RawRedis, local_client: LocalClient
) -> None:
    check_sequence(real_redis, local_client, commands)
