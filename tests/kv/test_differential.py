"""Differential tests: the same command sequences to a real redis-server and to LocalExecutor.

Replies are compared as the Python values a RESP2 client decodes (bytes, int, None, lists,
error text), errors included, word for word. Where Redis leaves an order unspecified (KEYS, a
whole SCAN iteration) the two sides are compared as sets; where wall time passes between the
two servers (TTL of a relative expiry) values are compared within a tolerance. Every expiry in
these sequences is far in the future, already in the past, or waited out with the `sleepms`
pseudo-command, so no result depends on timing.
"""

from __future__ import annotations

import os
import random
import shlex
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kv.conftest import LocalClient, RawRedis, Value

# Loose comparison: command -> largest allowed difference between two non-negative answers.
TOLERANCE = {b"ttl": 1, b"pttl": 1500, b"expiretime": 2, b"pexpiretime": 2000}


def run(client: RawRedis | LocalClient, argv: list[bytes]) -> Value:
    name = argv[0].lower()
    if name == b"sleepms":  # let a short TTL pass on both servers before the next command
        time.sleep(int(argv[1]) / 1000)
        return None
    if name == b"scanall":  # a whole SCAN iteration, as a sorted key list
        keys: set[bytes] = set()
        cursor = b"0"
        for _ in range(10_000):
            reply = client.execute([b"SCAN", cursor, *argv[1:]])
            if not isinstance(reply, list):
                return reply
            cursor, batch = reply
            assert isinstance(batch, list)
            keys.update(batch)
            if cursor == b"0":
                return sorted(keys)
        raise AssertionError("SCAN did not finish")
    reply = client.execute(argv)
    if name == b"keys" and isinstance(reply, list):
        return sorted(reply)  # type: ignore[type-var]
    if name == b"randomkey":
        return reply is None
    return reply


def same(name: bytes, ours: Value, theirs: Value) -> bool:
    tol = TOLERANCE.get(name)
    if (
        tol is not None
        and isinstance(ours, int)
        and isinstance(theirs, int)
        and ours >= 0
        and theirs >= 0
    ):
        return abs(ours - theirs) <= tol
    return ours == theirs


def check_sequence(
    real: RawRedis,
    local: LocalClient,
    commands: list[list[bytes]],
    masked: Callable[[list[bytes], Value], Value] | None = None,
    name: str = "",
) -> None:
    """Run `commands` on both sides from empty databases and compare reply by reply;
    `masked(argv, reply)` replaces what legitimately differs (wall-clock values) first."""
    for client in (real, local):
        client.execute([b"SELECT", b"0"])
        client.execute([b"FLUSHALL"])
        client.execute([b"SWAPDB", b"0", b"0"])
    local.session.db = 0
    for i, argv in enumerate(commands):
        theirs = run(real, argv)
        ours = run(local, argv)
        if masked is not None:
            theirs, ours = masked(argv, theirs), masked(argv, ours)
        assert same(argv[0].lower(), ours, theirs), (
            f"{name}: command #{i} {b' '.join(argv)!r}: redis {theirs!r}, seshat {ours!r}\n"
            f"sequence: {[b' '.join(c) for c in commands]!r}"
        )


def parse(script: str) -> list[list[bytes]]:
    return [[w.encode() for w in shlex.split(line)] for line in script.strip().splitlines()]


CASES: dict[str, str] = {
    "errors before execution": """
        foo a b
        FOO
        get
        GET
        set k
        set k v nx xx
        set k v xx nx
        set k v ex 0
        set k v ex -5
        set k v ex abc
        set k v px 9223372036854775807
        set k v ex 9999999999999999
        set k v keepttl ex 10
        set k v ex 10 px 10
        set k v exat
        set k v foo
        set k v persist
        mset a
        mset a 1 b
        msetnx a
        msetnx a 1 b
        msetnx a 1 b 2 c
        incrby k 1.5
        incrby k 99999999999999999999
        decrby k -9223372036854775808
        incrbyfloat k abc
        incrbyfloat k nan
        incrbyfloat k 1e5000
        incrbyfloat k ' 1'
        incrbyfloat k inf
        setrange k -1 x
        setrange k abc x
        getrange k a b
        setex k 0 v
        setex k -1 v
        setex k x v
        psetex k 0 v
        getex k persist ex 1
        getex k foo
        getex k ex
        select 16
        select -1
        select x
        select 4294967296
        move k 16
        move k x
        move k 4294967296
        swapdb 0 16
        swapdb a 1
        swapdb 1 b
        copy a b db 16
        copy a b db x
        copy a b db
        copy a b foo
        expire k 10 nx xx
        expire k 10 gt lt
        expire k 10 nx gt
        expire k 10 foo
        expire k abc
        expire k 9223372036854775807
        pexpire k 9223372036854775807
        expire k -9223372036854775808
        expireat k 9223372036854775807
        pexpireat k 9223372036854775807
        scan x
        scan 18446744073709551616
        scan 0 count 0
        scan 0 count x
        scan 0 type
        scan 0 match
        scan 0 foo 1
        flushdb foo
        flushdb sync async
        flushall foo
        keys
        dbsize x
        randomkey x
    """,
    "set and get": """
        get k
        set k v
        get k
        set k v2 nx
        set k v3 xx
        get k
        set n v xx
        get n
        set n v nx
        set k v4 get
        set k2 v get
        set k2 w nx get
        get k2
        set k3 x xx get
        exists k3
        setnx k x
        setnx k4 x
        getset k4 y
        getset k5 y
        getdel k5
        getdel k5
        strlen k
        strlen none
        mset a 1 b 2 a 3
        mget a b c a
        msetnx a 1 z 2
        msetnx y 1 z 2
        mget y z
        dbsize
        type a
        type none
        set e ''
        get e
        strlen e
    """,
    "counters": """
        incr c
        incr c
        decr c
        incrby c 10
        decrby c 3
        decrby c -3
        set c 9223372036854775806
        incr c
        incr c
        get c
        set c -9223372036854775807
        decr c
        decr c
        decrby c 1
        set s abc
        incr s
        set s 007
        incr s
        set s ' 1'
        incrby s 1
        set s -0
        incr s
        set f 1
        incrbyfloat f 0.1
        incrbyfloat f 0.2
        incrbyfloat f 1e20
        incrbyfloat f -1e20
        set f 10.5
        incrbyfloat f -10.5
        get f
        incrbyfloat f 1.23456789012345678
        incrbyfloat f 5e-18
        incrbyfloat g 3.0000000000000000001
        incrbyfloat g 0x10
        set g 0x1p3
        incrbyfloat g 1
        set g 1
        incrbyfloat g 1e400
        strlen g
        set g inf
        incrbyfloat g 1
        set g abc
        incrbyfloat g 1
        set g '1 '
        incrbyfloat g 1
        incrbyfloat h -0.0
        incrbyfloat h 2.5e3
        set t 5 ex 1000
        incr t
        ttl t
        incrbyfloat t 1.5
        ttl t
    """,
    "append setrange getrange": """
        append a hello
        append a ' world'
        get a
        getrange a 0 4
        getrange a -5 -1
        getrange a -1 -5
        getrange a 5 2
        getrange a 0 -100
        getrange a -100 100
        getrange a 100 200
        getrange none 0 -1
        substr a 1 3
        setrange a 6 WORLD
        get a
        setrange a 15 '!'
        get a
        setrange a 0 ''
        setrange nokey 0 ''
        exists nokey
        setrange nokey 3 x
        get nokey
        setrange a 536870912 x
        setrange fresh 536870912 x
        setrange a 536870911 ''
        set t v ex 1000
        append t x
        setrange t 0 y
        ttl t
        get t
    """,
    "bitmaps": """
        setbit b 7 1
        get b
        getbit b 7
        getbit b 6
        getbit b 100
        getbit nokey 0
        setbit b 7 1
        setbit b 7 0
        get b
        exists b
        setbit fresh 20 0
        get fresh
        setbit b -1 1
        setbit b x 1
        setbit b 4294967296 1
        setbit b 1 2
        setbit b 1 -1
        setbit b 1 01
        setbit b 1 ''
        getbit b -1
        getbit b 4294967296
        getbit b 1.0
        set t abc ex 1000
        setbit t 0 1
        ttl t
        get t
        lpush l x
        getbit l 0
        setbit l 0 1
        setbit l x 1
        bitcount l
        bitpos l 1
        set s foobar
        bitcount s
        bitcount s 0 0
        bitcount s 1 1
        bitcount s 1 -2
        bitcount s -100 100
        bitcount s 5 30 bit
        bitcount s 5 30 BYTE
        bitcount s -3 -1 bit
        bitcount s 3 1
        bitcount s 0
        bitcount s 0 1 bit extra
        bitcount s a b
        bitcount s 0 1 bits
        bitcount s -1 -9 bits
        bitcount s -1 -9 bit
        bitcount nokey
        bitcount nokey 0
        bitcount nokey a b
        set e ''
        bitcount e
        bitcount e 0 -1
        bitcount e a b
        bitcount e -1 -9 bits
        bitcount e 1 -9 bits
        bitpos e 0
        bitpos e 1
        bitpos s 1
        bitpos s 0
        bitpos s 1 2
        bitpos s 0 2 -1
        bitpos s 1 2 -1 bit
        bitpos s 1 7 15 bit
        bitpos s 0 7 15 bit
        bitpos s 1 -1
        bitpos s 1 100
        bitpos s 0 3 2
        bitpos s 2
        bitpos s x
        bitpos s 1 x
        bitpos s 1 0 x
        bitpos s 1 0 1 x
        bitpos s 1 0 x bad
        bitpos s 1 0 1 bit extra
        bitpos nokey 0
        bitpos nokey 1
        bitpos nokey 0 5 10
        bitpos nokey 2
        set ones "\xff\xff"
        setbit all 0 1
        setbit all 1 1
        setbit all 2 1
        setbit all 3 1
        setbit all 4 1
        setbit all 5 1
        setbit all 6 1
        setbit all 7 1
        bitpos all 0
        bitpos all 0 0
        bitpos all 0 0 0
        bitpos all 0 0 -1 bit
        bitpos all 0 0 3 bit
        bitpos all 0 2 bit
        bitpos all 1 3 5 bit
        bitop and d s all
        get d
        bitop or d s all nokey
        get d
        bitop xor d s s
        get d
        bitop not d all
        strlen d
        bitcount d
        bitop AnD d nokey nokey2
        exists d
        set d x ex 1000
        bitop or d s
        ttl d
        get d
        bitop not d s all
        bitop nand d s
        bitop and d l
        bitop and l s
        type l
        get l
        bitop or s s e
        get s
    """,
    "keys and types": """
        mset a 1 b 2 c 3 abc 4 'a b' 5 'h[e]llo' 6 'x\\y' 7
        exists a b nope a
        touch a nope b b
        del a nope a
        exists a
        unlink b c nope
        keys *
        keys a*
        keys ?bc
        keys [ab]*
        keys [^a]*
        keys *[
        keys h\\[e]llo
        keys 'x\\\\y'
        keys *b*
        keys [a-c]
        keys [c-a]*
        dbsize
        randomkey
        flushdb
        randomkey
        keys *
        scanall
        mset k1 1 k2 2 k3 3 j1 1
        scanall
        scanall match k*
        scanall count 1
        scanall count 2 match j?
        scanall type string
        scanall type list
    """,
    "expiry": """
        set k v
        ttl k
        pttl k
        expiretime k
        pexpiretime k
        ttl none
        pttl none
        expiretime none
        pexpiretime none
        expire none 100
        expire k 100 xx
        expire k 100 gt
        expire k 100 lt
        ttl k
        expire k 200 nx
        expire k 200 gt
        ttl k
        expire k 50 gt
        expire k 50 lt
        ttl k
        expire k 60 xx
        ttl k
        persist k
        persist k
        ttl k
        pexpire k 100000
        pttl k
        expireat k 4102444800
        expiretime k
        pexpiretime k
        pexpireat k 4102444800123
        pexpiretime k
        ttl k
        expireat k 4102444800 gt
        expireat k 4102444801 gt
        expiretime k
        expire k 0
        exists k
        set k v
        expire k -1
        exists k
        set k v
        pexpireat k 1
        get k
        set k v
        expireat k 4102444800
        set k v2 keepttl
        expiretime k
        set k v3
        ttl k
        set k v exat 4102444800
        expiretime k
        set k v pxat 4102444800555
        pexpiretime k
        set k v exat 1
        get k
        exists k
        set k v px 100000000
        get k
        setex s 1000 v
        ttl s
        psetex p 1000000 v
        pttl p
        getex s
        getex s persist
        ttl s
        getex s ex 500
        ttl s
        getex s px 600000
        pttl s
        getex s exat 4102444800
        expiretime s
        getex s pxat 4102444800777
        pexpiretime s
        getex s exat 1
        get s
        getex none ex 0
        getex none ex abc
        set s v
        getex s ex 0
        getex s ex abc
        getex s px 9223372036854775807
        get s
    """,
    "rename copy move": """
        set a 1 ex 1000
        rename a b
        exists a
        ttl b
        rename none x
        rename none none
        rename b b
        renamenx b b
        renamenx none x
        set c 3
        renamenx b c
        rename b c
        get c
        ttl c
        copy c c
        copy c d
        copy none d
        copy c d
        set c 4
        copy c d replace
        get d
        ttl d
        copy c d db 1 replace
        copy c c db 1
        copy c c db 1 replace
        select 1
        get c
        get d
        ttl d
        move d 0
        move d 1
        move none 0
        select 0
        move c 2
        select 2
        get c
        ttl c
        move c 0
        select 0
        move d 2
        select 2
        exists d
        select 0
        copy d e db 2
        copy c d db 0
    """,
    "databases": """
        set a 0
        select 1
        set a 1
        set b 1
        dbsize
        select 0
        dbsize
        swapdb 0 1
        dbsize
        get a
        get b
        swapdb 1 1
        select 1
        get a
        flushdb
        dbsize
        select 0
        dbsize
        swapdb 0 5
        dbsize
        select 5
        keys *
        set c 5
        flushall
        dbsize
        select 0
        dbsize
        flushdb async
        flushall sync
        set x 1 ex 1000
        select 3
        set x 3
        swapdb 0 3
        ttl x
        select 0
        ttl x
        flushdb
        select 3
        ttl x
        dbsize
    """,
    "bitfield": """
        bitfield bf
        bitfield bf get u8 0
        exists bf
        bitfield bf set u8 0 255 get u8 0 get i8 0 get u4 4 get i4 #1
        get bf
        bitfield bf incrby u2 100 1 overflow sat incrby u2 102 1
        bitfield bf incrby u2 100 1 incrby u2 100 1 incrby u2 100 1
        bitfield bf overflow fail incrby u2 100 1 incrby u2 100 1
        bitfield bf overflow FAIL set i8 0 200 get i8 0
        bitfield bf overflow sat set i8 0 200 set u8 8 -1 get u8 8
        bitfield bf overflow wrap set i8 0 200 set u8 8 -1 get u8 8 incrby i8 0 -1000
        bitfield bf overflow sat incrby i8 0 -1000 incrby u8 8 -1000 incrby u8 8 9999
        bitfield bf set i64 0 -9223372036854775808 incrby i64 0 -1 overflow sat incrby i64 0 -1
        bitfield bf set i64 0 9223372036854775807 incrby i64 0 1 overflow fail incrby i64 0 1
        bitfield bf set u63 0 9223372036854775807 incrby u63 0 1 get u63 0
        bitfield bf set i5 13 -7 get i5 13 get u5 13 get u1 13 get i1 13
        bitfield bf set u16 #3 1234 get u16 #3 get u16 48
        get bf
        strlen bf
        bitfield bf overflow fail set u8 800 999
        strlen bf
        bitfield grow overflow fail set u8 80 999
        get grow
        bitfield bf get u64 0
        bitfield bf get i65 0
        bitfield bf get i0 0
        bitfield bf get x8 0
        bitfield bf get I8 0
        bitfield bf get u8 -1
        bitfield bf get u8 #-1
        bitfield bf get u8 # 
        bitfield bf get u8 4294967296
        bitfield bf get u8 x
        bitfield bf set u8 0 x
        bitfield bf set u8 0 1.5
        bitfield bf incrby u8 0
        bitfield bf get u8
        bitfield bf foo u8 0
        bitfield bf overflow
        bitfield bf overflow nope get u8 0
        bitfield bf get u8 0 overflow nope
        bitfield bf set u8 0 1 get x8 0
        bitfield_ro bf get u8 0 get i16 #1
        bitfield_ro bf set u8 0 1
        bitfield_ro bf set u8 0 x
        bitfield_ro bf overflow sat get u8 0
        bitfield_ro nokey get u8 0
        bitfield_ro bf
        lpush l a
        bitfield l get u8 0
        bitfield l set u8 0 1
        bitfield_ro l get u8 0
        bitfield l get x 0
        set t abc ex 1000
        bitfield t set u8 0 65
        ttl t
        get t
    """,
    "lcs": """
        mset a ohmytext b mynewtext
        lcs a b
        lcs a b len
        lcs a b idx
        lcs a b IDX MINMATCHLEN 4 WITHMATCHLEN
        lcs a b idx withmatchlen
        lcs a b idx minmatchlen -5
        lcs a b len idx
        lcs a b foo
        lcs a b minmatchlen
        lcs a b minmatchlen x
        lcs a b minmatchlen x foo
        lcs a a idx
        lcs a nokey
        lcs nokey nokey idx
        lcs nokey a len
        set c ""
        lcs c a idx withmatchlen
        lpush l x
        lcs a l
        lcs l nokey foo
        lcs a
        mset x abcabcabc y cbacbacba
        lcs x y
        lcs x y idx withmatchlen
        lcs y x idx
    """,
    "hyperloglog": """
        pfadd h
        get h
        pfadd h
        pfcount h
        get h
        pfadd h a b c d e f g
        pfadd h a b
        get h
        pfcount h
        get h
        pfcount h
        pfadd h2 x y z a
        pfcount h h2
        pfcount h h2 nokey
        get h
        pfmerge m h h2
        get m
        pfcount m
        pfmerge m
        get m
        pfmerge fresh
        get fresh
        pfmerge fresh nokey
        get fresh
        pfcount nokey
        set s hello
        pfadd s a
        pfcount s
        pfcount h s
        pfmerge m s
        pfmerge s h
        set t HYLLxxxxxxxxxxxx
        pfadd t a
        set u HYLL
        pfcount u
        lpush l a
        pfadd l a
        pfcount l
        pfcount h l
        pfmerge l h
        pfmerge h l
        set e abc ex 1000
        pfadd hx a
        expire hx 1000
        pfadd hx b
        pfcount hx
        ttl hx
        pfmerge hx h
        ttl hx
        pfadd
        pfcount
        pfmerge
        type h
        strlen h
        getrange h 0 3
    """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_written(name: str, real_redis: RawRedis, local_client: LocalClient) -> None:
    check_sequence(real_redis, local_client, parse(CASES[name]))


def test_hyperloglogs_grow_dense_and_merge_as_in_redis(
    real_redis: RawRedis, local_client: LocalClient
) -> None:
    """Past 3,000 bytes a sparse HLL turns dense; merges of sparse into sparse set registers
    one by one (the path that resumes its scan), of dense into anything turn the target dense.
    GET compares the bytes, PFCOUNT the estimate, at every step."""
    commands: list[list[bytes]] = []
    for key, start, total in ((b"small", 0, 400), (b"mid", 300, 900), (b"big", 1000, 2600)):
        for first in range(start, start + total, 100):
            commands.append([b"PFADD", key, *(b"el%d" % n for n in range(first, first + 100))])
            commands += [[b"GET", key], [b"PFCOUNT", key], [b"GET", key]]
    commands += [
        [b"PFMERGE", b"sparse-merge", b"small", b"mid"],
        [b"GET", b"sparse-merge"],
        [b"PFCOUNT", b"sparse-merge"],
        [b"PFMERGE", b"small", b"mid"],
        [b"GET", b"small"],
        [b"PFMERGE", b"dense-merge", b"small", b"big"],
        [b"GET", b"dense-merge"],
        [b"PFCOUNT", b"small", b"mid", b"big"],
        [b"PFMERGE", b"mid", b"big"],
        [b"GET", b"mid"],
        [b"PFCOUNT", b"mid"],
        [b"PFADD", b"big", b"one more"],
        [b"GET", b"big"],
    ]
    check_sequence(real_redis, local_client, commands)


def test_hyperloglogs_turn_dense_at_the_same_byte_as_in_redis(
    real_redis: RawRedis, local_client: LocalClient
) -> None:
    """One element at a time across the 3,000-byte bound, for several HLLs: a sparse string
    that would reach exactly 3,000 bytes stays sparse, one byte more turns it dense."""
    commands: list[list[bytes]] = []
    for k in range(6):
        key = b"grow%d" % k
        commands.append([b"PFADD", key, *(b"k%d-%d" % (k, n) for n in range(1250))])
        for n in range(1250, 1700):
            commands += [[b"PFADD", key, b"k%d-%d" % (k, n)], [b"STRLEN", key]]
    for k in range(6):
        commands.append([b"GET", b"grow%d" % k])
    check_sequence(real_redis, local_client, commands)


def test_lcs_of_long_strings_as_in_redis(real_redis: RawRedis, local_client: LocalClient) -> None:
    """Rows wider than a machine word, and ranges that IDX reports from a long walk."""
    rng = random.Random(7)
    commands: list[list[bytes]] = []
    for size_a, size_b, alphabet in ((300, 500, b"ab"), (2000, 1500, b"acgt"), (64, 65, b"xy")):
        a = bytes(rng.choice(alphabet) for _ in range(size_a))
        b = bytes(rng.choice(alphabet) for _ in range(size_b))
        commands += [
            [b"MSET", b"a", a, b"b", b],
            [b"LCS", b"a", b"b"],
            [b"LCS", b"b", b"a", b"LEN"],
            [b"LCS", b"a", b"b", b"IDX", b"MINMATCHLEN", b"3", b"WITHMATCHLEN"],
        ]
    check_sequence(real_redis, local_client, commands)


# -- generated sequences over a small keyspace ---------------------------------------------------

KEYS = st.sampled_from([b"a", b"b", b"c", b"d"])
VALUES = st.sampled_from(
    [b"", b"0", b"1", b"-7", b"12", b"1.5", b"x", b"hello", b"9223372036854775807"]
)
INTS = st.sampled_from([b"0", b"1", b"-1", b"5", b"-3", b"100", b"x", b"9223372036854775807"])
FAR = st.integers(100, 1_000_000).map(lambda n: str(n).encode())  # seconds: never reached
FAR_AT = st.sampled_from([b"4102444800", b"4102444801", b"4200000000"])
PAST = st.sampled_from([b"0", b"-1", b"-100"])
BIT_INDEX = st.sampled_from([b"0", b"1", b"-1", b"3", b"-9", b"12", b"x"])
BIT_RANGE = st.one_of(
    st.just([]),
    st.tuples(BIT_INDEX).map(list),
    st.tuples(BIT_INDEX, BIT_INDEX).map(list),
    st.tuples(BIT_INDEX, BIT_INDEX, st.sampled_from([b"BIT", b"byte", b"bits"])).map(list),
)
HLL_ELEMENTS = st.integers(0, 5000).map(lambda n: b"e%d" % n)
LCS_TEXT = st.binary(max_size=40).map(lambda raw: bytes(b"abc"[x % 3] for x in raw))
LCS_OPTIONS = st.sampled_from(
    [[], [b"LEN"], [b"IDX"], [b"IDX", b"WITHMATCHLEN"], [b"IDX", b"MINMATCHLEN", b"2"],
     [b"IDX", b"MINMATCHLEN", b"3", b"WITHMATCHLEN"], [b"LEN", b"IDX"]]
)  # fmt: skip
BITFIELD_TYPE = st.sampled_from([b"i1", b"u1", b"i5", b"u7", b"i8", b"u8", b"i16", b"u63", b"i64"])
BITFIELD_OFFSET = st.sampled_from([b"0", b"3", b"7", b"13", b"#1", b"#2", b"64"])
BITFIELD_INT = st.sampled_from(
    [b"0", b"1", b"-1", b"127", b"-128", b"255", b"300", b"-9223372036854775808",
     b"9223372036854775807", b"4611686018427387904"]
)  # fmt: skip
BITFIELD_GET = st.tuples(st.just(b"GET"), BITFIELD_TYPE, BITFIELD_OFFSET).map(list)
BITFIELD_OP = st.one_of(
    BITFIELD_GET,
    st.tuples(
        st.sampled_from([b"SET", b"INCRBY"]), BITFIELD_TYPE, BITFIELD_OFFSET, BITFIELD_INT
    ).map(list),
    st.tuples(st.just(b"OVERFLOW"), st.sampled_from([b"WRAP", b"SAT", b"FAIL"])).map(list),
)
EXPIRE_FLAGS = st.lists(st.sampled_from([b"NX", b"XX", b"GT", b"LT"]), max_size=2)


def _cmd(*parts: st.SearchStrategy[bytes] | bytes) -> st.SearchStrategy[list[bytes]]:
    return st.tuples(*(p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts)).map(
        list
    )


SET_OPTS = st.lists(
    st.sampled_from(
        [[b"NX"], [b"XX"], [b"GET"], [b"KEEPTTL"], [b"EX", b"1000"], [b"PXAT", b"4102444800000"]]
    ),
    max_size=2,
).map(lambda opts: [w for o in opts for w in o])

COMMAND = st.one_of(
    _cmd(b"GET", KEYS),
    st.tuples(KEYS, VALUES, SET_OPTS).map(lambda t: [b"SET", t[0], t[1], *t[2]]),
    _cmd(b"SETNX", KEYS, VALUES),
    _cmd(b"SETEX", KEYS, FAR, VALUES),
    _cmd(b"MSET", KEYS, VALUES, KEYS, VALUES),
    _cmd(b"MSETNX", KEYS, VALUES, KEYS, VALUES),
    _cmd(b"MGET", KEYS, KEYS, KEYS),
    _cmd(b"GETSET", KEYS, VALUES),
    _cmd(b"GETDEL", KEYS),
    _cmd(b"GETEX", KEYS, st.sampled_from([b"PERSIST", b"EX"]), FAR).map(
        lambda c: c[:3] if c[2] == b"PERSIST" else c
    ),
    _cmd(st.sampled_from([b"INCR", b"DECR"]), KEYS),
    _cmd(st.sampled_from([b"INCRBY", b"DECRBY"]), KEYS, INTS),
    _cmd(b"INCRBYFLOAT", KEYS, st.sampled_from([b"0.1", b"-2.5", b"1e3", b"x", b"3"])),
    _cmd(b"APPEND", KEYS, VALUES),
    _cmd(b"STRLEN", KEYS),
    _cmd(b"GETRANGE", KEYS, INTS, INTS),
    _cmd(b"SETRANGE", KEYS, st.sampled_from([b"0", b"2", b"10"]), VALUES),
    _cmd(st.sampled_from([b"DEL", b"UNLINK", b"EXISTS", b"TOUCH"]), KEYS, KEYS),
    _cmd(b"TYPE", KEYS),
    st.tuples(
        st.sampled_from([b"EXPIRE", b"PEXPIRE"]), KEYS, st.one_of(FAR, PAST), EXPIRE_FLAGS
    ).map(
        lambda t: [
            t[0],
            t[1],
            t[2] + (b"000" if t[0] == b"PEXPIRE" and t[2] not in (b"0", b"-1", b"-100") else b""),
            *t[3],
        ]
    ),
    st.tuples(KEYS, FAR_AT, EXPIRE_FLAGS).map(lambda t: [b"EXPIREAT", t[0], t[1], *t[2]]),
    _cmd(st.sampled_from([b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME", b"PERSIST"]), KEYS),
    _cmd(b"KEYS", st.sampled_from([b"*", b"a*", b"[ab]", b"?"])),
    _cmd(b"SCANALL"),
    _cmd(st.sampled_from([b"RENAME", b"RENAMENX"]), KEYS, KEYS),
    st.tuples(
        KEYS, KEYS, st.sampled_from([[], [b"REPLACE"], [b"DB", b"1"], [b"DB", b"0", b"REPLACE"]])
    ).map(lambda t: [b"COPY", t[0], t[1], *t[2]]),
    _cmd(b"MOVE", KEYS, st.sampled_from([b"0", b"1"])),
    _cmd(b"SELECT", st.sampled_from([b"0", b"1"])),
    _cmd(b"SWAPDB", st.sampled_from([b"0", b"1"]), st.sampled_from([b"0", b"1"])),
    _cmd(b"DBSIZE"),
    _cmd(b"RANDOMKEY"),
    _cmd(b"FLUSHDB"),
    _cmd(
        b"SETBIT", KEYS, st.sampled_from([b"0", b"6", b"9", b"30"]), st.sampled_from([b"0", b"1"])
    ),
    _cmd(b"GETBIT", KEYS, st.sampled_from([b"0", b"2", b"9", b"100"])),
    st.tuples(KEYS, BIT_RANGE).map(lambda t: [b"BITCOUNT", t[0], *t[1]]),
    st.tuples(KEYS, st.sampled_from([b"0", b"1", b"2"]), BIT_RANGE).map(
        lambda t: [b"BITPOS", t[0], t[1], *t[2]]
    ),
    _cmd(b"BITOP", st.sampled_from([b"AND", b"OR", b"XOR"]), KEYS, KEYS, KEYS),
    _cmd(b"BITOP", b"NOT", KEYS, KEYS),
    st.tuples(KEYS, st.lists(BITFIELD_OP, min_size=1, max_size=4)).map(
        lambda t: [b"BITFIELD", t[0], *(w for op in t[1] for w in op)]
    ),
    st.tuples(KEYS, st.lists(BITFIELD_GET, min_size=1, max_size=3)).map(
        lambda t: [b"BITFIELD_RO", t[0], *(w for op in t[1] for w in op)]
    ),
    st.tuples(KEYS, KEYS, LCS_OPTIONS).map(lambda t: [b"LCS", t[0], t[1], *t[2]]),
    st.tuples(KEYS, LCS_TEXT).map(lambda t: [b"SET", t[0], t[1]]),
    st.tuples(KEYS, st.lists(HLL_ELEMENTS, max_size=6)).map(lambda t: [b"PFADD", t[0], *t[1]]),
    st.lists(KEYS, min_size=1, max_size=3).map(lambda keys: [b"PFCOUNT", *keys]),
    st.lists(KEYS, min_size=1, max_size=3).map(lambda keys: [b"PFMERGE", *keys]),
)


@settings(
    max_examples=int(os.environ.get("SESHAT_DIFF_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(commands=st.lists(COMMAND, min_size=1, max_size=25))
def test_generated_sequences(
    commands: list[list[bytes]], real_redis: RawRedis, local_client: LocalClient
) -> None:
    check_sequence(real_redis, local_client, commands)


@pytest.mark.parametrize(
    "argv",
    [
        [b"nosuch"],
        [b"NoSuch", b"a\r\nb", b"c"],
        [b"x" * 200, b"y" * 200],
        [b"foo", b"a" * 100, b"b" * 100, b"c"],
        [b"GeT"],
        [b"mSeT", b"a"],
    ],
)
def test_rejection_texts(
    argv: list[bytes], real_redis: RawRedis, local_client: LocalClient
) -> None:
    """Unknown commands and arity errors echo user input exactly as Redis cuts and cleans it."""
    assert run(local_client, argv) == run(real_redis, argv)
