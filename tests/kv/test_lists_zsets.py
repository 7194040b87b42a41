"""Lists and sorted sets against a real redis-server 7.0: hand tables for every command, its
errors and WRONGTYPE, hypothesis sequences mixing lists, sorted sets and strings with expiries,
and RESP3 reply shapes compared byte for byte (ZRANGE WITHSCORES pairs, ZSCORE doubles, ...).

Where Redis answers at random (ZRANDMEMBER) only what is determined is compared: with a count
at least the set's size the answer is the whole set, compared sorted; otherwise the length and
that every element belongs to the set.
"""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.kv.local import LocalExecutor
from seshat.kv.service import Session
from seshat.protocol.encoder import RESP3, encode
from tests.kv.conftest import LocalClient, RawRedis, Value
from tests.kv.test_differential import check_sequence, parse

CASES: dict[str, str] = {
    "list pushes and pops": """
        lpush l a b c
        rpush l d e
        lrange l 0 -1
        llen l
        lpushx l x
        rpushx l y
        lpushx nope x
        rpushx nope x
        exists nope
        lpop l
        rpop l
        lpop l 2
        rpop l 2
        lpop l 0
        lrange l 0 -1
        lpop l 10
        exists l
        lpop l
        lpop l 2
        lpop l 0
        rpop l 1
        lpop l -1
        lpop l x
        lpop l 1 2
        rpop l -5
        llen l
        rpush l ''
        lrange l 0 -1
        type l
    """,
    "list index and ranges": """
        rpush l a b c d e f
        lindex l 0
        lindex l -1
        lindex l 5
        lindex l 6
        lindex l -6
        lindex l -7
        lindex l x
        lindex nope x
        lindex nope 0
        lrange l 1 3
        lrange l -3 -1
        lrange l -100 100
        lrange l 4 2
        lrange l 6 10
        lrange l -1 -3
        lrange l a 1
        lrange nope 0 -1
        lrange nope a b
        lset l 0 A
        lset l -1 F
        lset l 6 x
        lset l -7 x
        lset l x y
        lset nope 0 x
        lset nope x x
        lrange l 0 -1
        ltrim l 1 -2
        lrange l 0 -1
        ltrim l -100 100
        lrange l 0 -1
        ltrim l 2 1
        exists l
        ltrim nope 0 1
        ltrim l a 1
        rpush t 1 2 3 4 5
        ltrim t 0 0
        lrange t 0 -1
        ltrim t -1 -1
        lrange t 0 -1
    """,
    "linsert lrem lpos": """
        rpush l a b c a b c a
        linsert l before c X
        lrange l 0 -1
        linsert l after a Y
        lrange l 0 -1
        linsert l AFTER a Z
        linsert l before zz x
        linsert l middle a x
        linsert nope before a x
        linsert l after c W
        lrange l 0 -1
        linsert l before W V
        lrange l 0 -1
        lrem l 1 a
        lrange l 0 -1
        lrem l -1 a
        lrange l 0 -1
        lrem l 0 c
        lrange l 0 -1
        lrem l 0 nope
        lrem l x a
        lrem nope 0 a
        rpush m a a a
        lrem m 0 a
        exists m
        rpush p a b c a b c a
        lpos p a
        lpos p c
        lpos p nope
        lpos p a rank 2
        lpos p a rank -1
        lpos p a rank -2
        lpos p a rank 5
        lpos p a count 0
        lpos p a count 2
        lpos p a rank -1 count 0
        lpos p a rank 2 count 2 maxlen 5
        lpos p a maxlen 1
        lpos p c maxlen 2
        lpos p a rank -9223372036854775808
        lpos p a rank 0
        lpos p a count -1
        lpos p a maxlen -1
        lpos p a rank x
        lpos p a foo 1
        lpos p a rank
        lpos nope a
        lpos nope a count 0
        lpos nope a rank 0
    """,
    "lmove rpoplpush and blocking cores": """
        rpush s a b c
        lmove s d left right
        lmove s d right left
        lrange s 0 -1
        lrange d 0 -1
        lmove s s left right
        lrange s 0 -1
        lmove nope d left left
        lmove s d up left
        rpoplpush s d
        lrange d 0 -1
        exists s
        rpoplpush nope d
        rpoplpush d d
        lrange d 0 -1
        set str v
        lmove d str left left
        rpoplpush d str
        lmove str d left left
        lrange d 0 -1
        blpop nope 0.001
        brpop nope other 0.001
        rpush q1 1 2
        rpush q2 3
        blpop nope q2 q1 0
        brpop q1 q2 0
        blpop q2 q1 1.5
        blpop str q1 0
        blpop q1 str 0
        blpop q1 x
        blpop q1 -1
        blpop q1 inf
        blpop q1 0x10
        brpoplpush nope d 0.001
        rpush r a
        brpoplpush r d 0
        lrange d 0 -1
        blmove nope d left left 0.001
        blmove d r right left 0
        lrange r 0 -1
        blmove d r foo left 0
        blmove d r left left x
        brpoplpush d r -1
    """,
    "list wrongtype and expiry": """
        set s v
        lpush s x
        rpush s x
        lpushx s x
        rpushx s x
        lpop s
        rpop s 2
        lpop s 0
        llen s
        lrange s 0 -1
        lrange s a b
        lindex s 0
        lindex s x
        lset s 0 x
        linsert s before a b
        linsert s foo a b
        lrem s 0 a
        ltrim s 0 1
        lpos s a
        lpos s a rank 0
        rpush l a b
        get l
        incr l
        append l x
        expire l 100
        ttl l
        rpush l c
        ttl l
        lpop l
        ttl l
        set l x
        type l
        rpush e a
        pexpire e 1
        sleepms 5
        rpush e2 a
        pexpireat e2 1
        exists e2
        rpush e2 b
        lrange e2 0 -1
        rename e2 e3
        lrange e3 0 -1
        copy e3 e4
        rpush e4 c
        lrange e3 0 -1
        lrange e4 0 -1
        move e4 1
        select 1
        lrange e4 0 -1
        select 0
        del e3
        lrange e3 0 -1
        scanall type list
        scanall type string
    """,
    "zadd and scores": """
        zadd z 1 a 2 b 3 c
        zadd z 1 a
        zadd z ch 5 a 2 b 0 d
        zrange z 0 -1 withscores
        zadd z nx 10 a 11 e
        zadd z xx 20 a 21 f
        zadd z xx ch 20 a 21 f
        zadd z gt 1 a 30 b
        zadd z lt 1 a 30 c
        zadd z gt ch 100 a
        zrange z 0 -1 withscores
        zadd z incr 5 a
        zadd z incr -5.5 new
        zadd z nx incr 1 a
        zadd z xx incr 1 nope
        zadd z gt incr -1 a
        zadd z lt incr -1 a
        zadd nokey xx 1 a
        zadd nokey xx incr 1 a
        exists nokey
        zadd z xx nx 1 a
        zadd z gt lt 1 a
        zadd z gt nx 1 a
        zadd z lt nx 1 a
        zadd z incr 1 a 2 b
        zadd z 1 a 2
        zadd z a a
        zadd z nan a
        zadd z ' 5' a
        zadd z '' a
        zadd z 1e400 a
        zadd z 1e-400 a
        zadd z 0x10 hex
        zadd z 4e-320 tiny
        zadd z inf top -inf bottom
        zadd z -0 negzero
        zscore z negzero
        zscore z hex
        zscore z tiny
        zscore z top
        zscore z nope
        zscore nokey a
        zmscore z a nope b
        zmscore nokey a b
        zincrby z 1 a
        zincrby z -0 fresh
        zincrby z 1.5 fresh
        zincrby z abc a
        zincrby z -inf top
        zincrby z 1 top
        zscore z top
        zadd q 0.1 a 0.2 b
        zincrby q 0.2 a
        zscore q a
        zrange q 0 -1 withscores
        zcard z
        zcard nokey
        zrem z a b nope
        zrem z a
        zrem nokey a
        zrange z 0 -1 withscores
        zrem q a b
        exists q
    """,
    "zrange forms": """
        zadd z 1 a 2 b 3 c 4 d 5 e 5 f -1 g
        zrange z 0 -1
        zrange z 0 -1 withscores
        zrange z 2 4
        zrange z -3 -1 withscores
        zrange z -3 -1
        zrange z -2 -1 rev
        zrange z 1 -2 rev
        zrevrange z -4 -2
        zrevrange z 1 2 withscores
        zrange z -1 -1
        zrange z -100 100
        zrange z 5 2
        zrange z 10 20
        zrange z 0 -1 rev
        zrange z 0 1 rev withscores
        zrange z 1 4 byscore
        zrange z (1 (5 byscore withscores
        zrange z -inf +inf byscore limit 1 3
        zrange z -inf +inf byscore limit 1 -1
        zrange z -inf +inf byscore limit -1 3
        zrange z -inf +inf byscore limit 10 3
        zrange z -inf +inf byscore limit 0 0
        zrange z +inf -inf byscore rev
        zrange z (5 2 byscore rev withscores
        zrange z 5 (5 byscore
        zrange z 3 1 byscore
        zrange z '' '' byscore
        zrange z ( ( byscore
        zrange z 0 -1 limit 0 1
        zrange z - + bylex withscores
        zrange z 0 1 byscore bylex
        zrange z 0 1 rev rev
        zrange z a b byscore
        zrange z a b bylex
        zrange z 0 1 limit 0
        zrange z 0 1 byscore limit a b
        zrange z 0 1 foo
        zrange z a 1
        zrange nokey 0 -1
        zrange nokey a b
        zrevrange z 0 2 withscores
        zrevrange z 0 -1 limit 0 1
        zrangebyscore z 2 4 withscores
        zrangebyscore z -inf +inf limit 2 2
        zrangebyscore z 0 1 rev
        zrangebyscore z 0 1 bylex
        zrangebyscore z a b
        zrevrangebyscore z 4 2 withscores
        zrevrangebyscore z +inf -inf limit 0 2
        zrevrangebyscore z 2 4
        zadd lex 0 a 0 b 0 c 0 d 0 e 0 ab
        zrangebylex lex - +
        zrangebylex lex [b [d
        zrangebylex lex (b (d
        zrangebylex lex [a (b
        zrangebylex lex (a +
        zrangebylex lex - [c limit 1 2
        zrangebylex lex [d [b
        zrangebylex lex + -
        zrangebylex lex [b (b
        zrangebylex lex a b
        zrangebylex lex '' +
        zrangebylex lex - + withscores
        zrevrangebylex lex + -
        zrevrangebylex lex [d [b
        zrevrangebylex lex (d - limit 0 2
        zrange lex [e [a bylex rev
        zrange lex (c + bylex limit 1 10
        zlexcount lex - +
        zlexcount lex [b (d
        zlexcount lex a b
        zlexcount nokey - +
        zcount z -inf +inf
        zcount z (1 5
        zcount z 5 (5
        zcount z '' ''
        zcount z a b
        zcount nokey 0 1
        zrank z a
        zrank z f
        zrank z nope
        zrank nokey a
        zrevrank z a
        zrevrank z g
        zrangestore d z 0 -1
        zrange d 0 -1 withscores
        zrangestore d z 1 3 byscore rev
        zrangestore d z (5 1 byscore rev limit 0 2
        zrange d 0 -1 withscores
        zrangestore d lex [b [c bylex
        zrange d 0 -1 withscores
        zrangestore d nokey 0 -1
        exists d
        zrangestore d z 0 -1 withscores
        zrangestore d z a b byscore
    """,
    "zpop and zremrange": """
        zadd z 1 a 2 b 3 c 4 d 5 e
        zpopmin z
        zpopmax z
        zpopmin z 2
        zpopmax z 1
        zpopmin z 0
        zpopmin z 5
        exists z
        zpopmin z
        zpopmin z 2
        zpopmin z -1
        zpopmin z x
        zpopmax nokey -1
        zpopmin z 1 2
        zadd r 1 a 2 b 3 c 4 d 5 e 6 f
        zremrangebyrank r 0 0
        zremrangebyrank r -1 -1
        zremrangebyrank r 5 10
        zrange r 0 -1
        zremrangebyscore r (2 4
        zrange r 0 -1 withscores
        zremrangebyscore r a 1
        zremrangebyrank r a 1
        zremrangebylex r a 1
        zadd lx 0 a 0 b 0 c 0 d
        zremrangebylex lx [b (d
        zrange lx 0 -1
        zremrangebylex lx - +
        exists lx
        zremrangebyrank r 0 -1
        exists r
        zremrangebyscore nokey 0 1
        zremrangebyrank nokey 0 1
        zremrangebylex nokey - +
    """,
    "bzpopmin bzpopmax": """
        bzpopmin nope 0.001
        bzpopmax nope other 0.001
        zadd z1 1 a 2 b 3 c
        zadd z2 -1.5 x inf y
        bzpopmin nope z2 z1 0
        bzpopmax z1 z2 0
        bzpopmax z2 0
        bzpopmin z2 z1 1.5
        zrange z1 0 -1 withscores
        exists z2
        set str v
        bzpopmin str z1 0
        bzpopmin z1 str 0
        bzpopmax nope str 0
        bzpopmin z1 x
        bzpopmin z1 -1
        bzpopmin z1 inf
        bzpopmax z1 0x10
        bzpopmin z1
        zadd big 1e300 m 0.1 n
        bzpopmax big 0
        bzpopmin big 0
        exists big
    """,
    "lmpop zmpop and their blocking forms": """
        lmpop 1 nope left
        rpush l1 a b c d
        rpush l2 x
        lmpop 2 nope l1 LEFT
        lmpop 2 l1 l2 right count 2
        lmpop 1 l1 left count 10
        exists l1
        lmpop 2 l1 l2 left count 1
        blmpop 0.001 2 l1 l2 left
        rpush l3 p q
        blmpop 0 1 l3 RIGHT COUNT 5
        lmpop 0 l1 left
        lmpop -1 l1 left
        lmpop x l1 left
        lmpop 3 l1 left
        lmpop 1 l1 up
        lmpop 1 l1 left count 0
        lmpop 1 l1 left count -2
        lmpop 1 l1 left count x
        lmpop 1 l1 left count 1 count 2
        lmpop 1 l1 left extra
        lmpop 1 l1 left count
        blmpop x 1 l1 left
        blmpop -1 1 l1 left
        blmpop 0 0 l1 left
        set str v
        lmpop 2 nope str left
        rpush l4 a
        lmpop 2 str l4 left
        lmpop 2 l4 str left
        zmpop 1 nope min
        zadd z1 1 a 2 b 3 c
        zadd z2 -2 x
        zmpop 2 nope z1 MIN
        zmpop 2 z1 z2 max count 5
        exists z1
        zmpop 1 z2 max count 1
        bzmpop 0.001 1 z2 min
        zadd z3 1.5 m inf n
        bzmpop 0 2 nope z3 MAX COUNT 1
        bzmpop 0 1 z3 min
        zmpop 0 z1 min
        zmpop 1 z1 middle
        zmpop 1 z1 min count 0
        zmpop 2 z1 min
        bzmpop x 1 z1 min
        zmpop 2 nope str min
        zadd zs 1 a
        zmpop 2 str zs min
        lmpop 1 zs left
    """,
    "zintercard": """
        zadd z1 1 a 2 b 3 c 4 d
        zadd z2 1 b 2 c 3 d 4 e
        sadd s c d e
        zintercard 1 z1
        zintercard 2 z1 z2
        zintercard 3 z1 z2 s
        zintercard 2 z1 z2 limit 1
        zintercard 2 z1 z2 LIMIT 0
        zintercard 2 z1 z2 limit 10
        zintercard 2 z1 nope
        zintercard 1 nope
        zintercard 0 z1
        zintercard -1 z1
        zintercard x z1
        zintercard 3 z1 z2
        zintercard 2 z1 z2 limit -1
        zintercard 2 z1 z2 limit x
        zintercard 2 z1 z2 limit
        zintercard 2 z1 z2 withscores
        zintercard 2 z1 z2 limit 1 limit 2
        set str v
        zintercard 2 z1 str
        zintercard 2 str z1 limit -1
        rpush l x
        zintercard 1 l
    """,
    "zunion zinter zdiff": """
        zadd a 1 x 2 y 3 z
        zadd b 10 y 20 z 30 w
        sadd s y w v
        zunion 2 a b
        zunion 2 a b withscores
        zinter 2 a b withscores
        zdiff 2 a b withscores
        zunion 2 a b weights 2 0.5 withscores
        zunion 2 a b aggregate min withscores
        zunion 2 a b aggregate max withscores
        zinter 2 a b aggregate max weights 1 -1 withscores
        zunion 3 a b s withscores
        zinter 2 a s withscores
        zdiff 2 a s
        zunion 2 a nokey withscores
        zinter 2 a nokey
        zdiff 2 nokey a
        zunionstore d 2 a b
        zrange d 0 -1 withscores
        zinterstore d 2 a b weights 2 3
        zrange d 0 -1 withscores
        zdiffstore d 2 a b
        zrange d 0 -1 withscores
        zinterstore d 2 a nokey
        exists d
        set str v
        zunionstore str 1 a
        type str
        zunionstore d 1 str
        zunion 2 a str weights abc
        zunion 2 str a withscores withscores
        zunionstore d 1 a weights abc
        zunionstore d 1 a weights nan
        zunionstore d 1 a weights 1 2
        zunionstore d 1 a weights
        zunionstore d 1 a aggregate
        zunionstore d 1 a aggregate foo
        zunionstore d 1 a aggregate max weights 1
        zunionstore d 1 a weights 1 aggregate min aggregate max
        zunionstore d 1 a withscores
        zunion 1 a withscores withscores
        zunionstore d 0 a
        zunionstore d -1 a
        zunionstore d 2 a
        zunionstore d 9999999999999 a
        zunionstore d abc a
        zunion 0 a
        zinter 0 a
        zdiff 1 a weights 1
        zdiff 1 a aggregate sum
        zdiffstore d 0 a
        zadd inf 1 x
        zadd ninf -inf x
        zunion 2 inf ninf weights inf 1 withscores
        zunion 2 inf ninf weights 0 1 withscores
        zinter 2 inf ninf weights inf 1 withscores
        zunion 1 ninf weights 0 withscores
        zunion 1 a weights -1 withscores
    """,
    "zset wrongtype zscan zrandmember": """
        set s v
        zadd s 1 a
        zincrby s 1 a
        zrem s a
        zcard s
        zscore s a
        zmscore s a
        zrank s a
        zrevrank s a
        zcount s 0 1
        zlexcount s - +
        zrange s 0 -1
        zrangebyscore s 0 1
        zrangebylex s - +
        zrangestore d s 0 -1
        zpopmin s
        zpopmax s 2
        zremrangebyrank s 0 1
        zremrangebyscore s 0 1
        zremrangebylex s - +
        zrandmember s
        zrandmember s 2
        zscan s 0
        zcount s a b
        zrange s a b
        rpush l a
        zadd l 1 a
        lpush zz a
        zadd z 1 a 2 b 0.1 c
        lpush z x
        lrange z 0 -1
        zscan z 0
        zscan z 0 count 1
        zscan z 0 match a*
        zscan z 0 match [ab]
        zscan z x
        zscan z 0 foo
        zscan z 0 count 0
        zscan z 0 count
        zscan nokey 0
        zscan nokey 0 foo
        zrandmember z 3
        zrandmember z 10 withscores
        zrandmember z 0
        zrandmember nokey
        zrandmember nokey 2
        zrandmember nokey 2 withscores
        zrandmember z x
        zrandmember z -9223372036854775808
        zrandmember z -4611686018427387904 withscores
        zrandmember z 4611686018427387904 withscores
        zrandmember z 5 foo
        zrandmember z 5 withscores x
        type z
        expire z 100
        zadd z 5 d
        ttl z
        zpopmin z 10
        ttl z
        exists z
    """,
}


def _sort_random(argv: list[bytes], reply: Value) -> Value:
    """ZRANDMEMBER with a count: the whole set comes back in an unspecified order."""
    if argv[0].lower() != b"zrandmember" or len(argv) < 3 or not isinstance(reply, list):
        return reply
    if len(argv) == 4:
        pairs = [tuple(reply[i : i + 2]) for i in range(0, len(reply), 2)]
        return sorted(pairs)  # type: ignore[type-var]
    return sorted(reply)  # type: ignore[type-var]


class _Sorting:
    def __init__(self, client: RawRedis | LocalClient) -> None:
        self.client = client
        self.session = getattr(client, "session", None)

    def execute(self, argv: list[bytes]) -> Value:
        return _sort_random(argv, self.client.execute(argv))


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_written(name: str, real_redis: RawRedis, local_client: LocalClient) -> None:
    check_sequence(_Sorting(real_redis), _Sorting(local_client), parse(CASES[name]))  # type: ignore[arg-type]


def test_zrandmember_samples(local_client: LocalClient) -> None:
    c = local_client
    c.execute([b"FLUSHALL"])
    members = [b"m%d" % i for i in range(20)]
    c.execute([b"ZADD", b"z"] + [w for i, m in enumerate(members) for w in (b"%d" % i, m)])
    for _ in range(20):
        one = c.execute([b"ZRANDMEMBER", b"z"])
        assert one in members
        some = c.execute([b"ZRANDMEMBER", b"z", b"5"])
        assert isinstance(some, list) and len(set(some)) == 5 and set(some) <= set(members)
        many = c.execute([b"ZRANDMEMBER", b"z", b"-30", b"WITHSCORES"])
        assert isinstance(many, list) and len(many) == 60
        for m, s in zip(many[::2], many[1::2], strict=True):
            assert s == b"%d" % members.index(m)  # type: ignore[arg-type]


def test_zscan_big_set_returns_everything_once_under_writes(local_client: LocalClient) -> None:
    c = local_client
    c.execute([b"FLUSHALL"])
    members = [b"member:%04d" % i for i in range(500)] + [b"x", b"", b"\xff" * 9]
    for m in members:
        c.execute([b"ZADD", b"z", b"1", m])
    seen: list[bytes] = []
    cursor = b"0"
    for step in range(10_000):
        reply = c.execute([b"ZSCAN", b"z", cursor, b"COUNT", b"7"])
        assert isinstance(reply, list)
        cursor, flat = reply  # type: ignore[misc]
        seen += flat[::2]  # type: ignore[index]
        c.execute([b"ZADD", b"z", b"2", b"new:%d" % step])  # writes between calls
        if cursor == b"0":
            break
    assert set(members) <= set(seen)


# -- generated sequences: lists, sorted sets and strings over four keys, with expiries -------

KEYS = st.sampled_from([b"a", b"b", b"c", b"d"])
ELEMS = st.sampled_from([b"x", b"y", b"z", b"", b"1", b"xy"])
INTS = st.sampled_from([b"0", b"1", b"-1", b"2", b"-2", b"5", b"-10", b"100"])
SCORES = st.sampled_from([b"0", b"1", b"-1", b"2.5", b"-0", b"1e3", b"inf", b"-inf", b"0.1"])
BOUNDS = st.sampled_from([b"-inf", b"+inf", b"0", b"(0", b"1", b"(2.5", b"1e3", b"-1"])
LEX = st.sampled_from([b"-", b"+", b"[x", b"(x", b"[y", b"(z", b"[", b"(xy"])
FAR = st.integers(100, 100_000).map(lambda n: str(n).encode())
SIDE = st.sampled_from([b"LEFT", b"RIGHT"])


def _cmd(*parts: st.SearchStrategy[bytes] | bytes) -> st.SearchStrategy[list[bytes]]:
    return st.tuples(*(p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts)).map(
        list
    )


def _with(head: list[bytes], tail: st.SearchStrategy[list[bytes]]) -> st.SearchStrategy[list[bytes]]:
    return tail.map(lambda t: head + t)


MPOP_COUNT = st.sampled_from([[], [b"COUNT", b"1"], [b"COUNT", b"3"], [b"COUNT", b"0"]])
ZADD_FLAGS = st.lists(st.sampled_from([b"NX", b"XX", b"GT", b"LT", b"CH"]), max_size=2)
RANGE_OPTS = st.lists(
    st.sampled_from([[b"WITHSCORES"], [b"REV"], [b"LIMIT", b"1", b"2"], [b"LIMIT", b"0", b"-1"]]),
    max_size=2,
).map(lambda opts: [w for o in opts for w in o])

COMMAND = st.one_of(
    st.tuples(st.sampled_from([b"LPUSH", b"RPUSH", b"LPUSHX", b"RPUSHX"]), KEYS,
              st.lists(ELEMS, min_size=1, max_size=3)).map(lambda t: [t[0], t[1], *t[2]]),
    _cmd(st.sampled_from([b"LPOP", b"RPOP"]), KEYS),
    _cmd(st.sampled_from([b"LPOP", b"RPOP"]), KEYS, st.sampled_from([b"0", b"1", b"3"])),
    _cmd(b"LLEN", KEYS),
    _cmd(b"LRANGE", KEYS, INTS, INTS),
    _cmd(b"LINDEX", KEYS, INTS),
    _cmd(b"LSET", KEYS, INTS, ELEMS),
    _cmd(b"LINSERT", KEYS, st.sampled_from([b"BEFORE", b"AFTER"]), ELEMS, ELEMS),
    _cmd(b"LREM", KEYS, INTS, ELEMS),
    _cmd(b"LTRIM", KEYS, INTS, INTS),
    _cmd(b"LPOS", KEYS, ELEMS, b"RANK", st.sampled_from([b"1", b"-1", b"2"]), b"COUNT", INTS.filter(lambda x: not x.startswith(b"-"))),
    _cmd(b"LMOVE", KEYS, KEYS, SIDE, SIDE),
    _cmd(b"RPOPLPUSH", KEYS, KEYS),
    _cmd(st.sampled_from([b"BLPOP", b"BRPOP"]), KEYS, KEYS, b"0.001"),
    st.tuples(KEYS, ZADD_FLAGS, st.lists(st.tuples(SCORES, ELEMS), min_size=1, max_size=3)).map(
        lambda t: [b"ZADD", t[0], *t[1], *[w for p in t[2] for w in p]]
    ),
    _cmd(b"ZADD", KEYS, b"INCR", SCORES, ELEMS),
    _cmd(b"ZINCRBY", KEYS, SCORES, ELEMS),
    _cmd(b"ZREM", KEYS, ELEMS, ELEMS),
    _cmd(st.sampled_from([b"ZCARD", b"TYPE", b"EXISTS"]), KEYS),
    _cmd(st.sampled_from([b"ZSCORE", b"ZRANK", b"ZREVRANK"]), KEYS, ELEMS),
    _cmd(b"ZMSCORE", KEYS, ELEMS, ELEMS),
    _cmd(b"ZCOUNT", KEYS, BOUNDS, BOUNDS),
    _cmd(b"ZLEXCOUNT", KEYS, LEX, LEX),
    st.tuples(KEYS, INTS, INTS, st.sampled_from([[], [b"WITHSCORES"], [b"REV"]])).map(
        lambda t: [b"ZRANGE", t[0], t[1], t[2], *t[3]]
    ),
    st.tuples(KEYS, BOUNDS, BOUNDS, RANGE_OPTS).map(
        lambda t: [b"ZRANGE", t[0], t[1], t[2], b"BYSCORE", *t[3]]
    ),
    _cmd(st.sampled_from([b"ZRANGEBYSCORE", b"ZREVRANGEBYSCORE"]), KEYS, BOUNDS, BOUNDS, b"WITHSCORES"),
    _cmd(st.sampled_from([b"ZRANGEBYLEX", b"ZREVRANGEBYLEX"]), KEYS, LEX, LEX),
    _cmd(b"ZRANGESTORE", KEYS, KEYS, INTS, INTS),
    _cmd(st.sampled_from([b"ZPOPMIN", b"ZPOPMAX"]), KEYS),
    _cmd(st.sampled_from([b"BZPOPMIN", b"BZPOPMAX"]), KEYS, KEYS, b"0.001"),
    st.tuples(KEYS, KEYS, st.sampled_from([b"LEFT", b"RIGHT"]), MPOP_COUNT).map(
        lambda t: [b"LMPOP", b"2", t[0], t[1], t[2], *t[3]]
    ),
    st.tuples(KEYS, KEYS, st.sampled_from([b"MIN", b"MAX"]), MPOP_COUNT).map(
        lambda t: [b"ZMPOP", b"2", t[0], t[1], t[2], *t[3]]
    ),
    st.tuples(KEYS, KEYS, st.sampled_from([[], [b"LIMIT", b"1"], [b"LIMIT", b"0"]])).map(
        lambda t: [b"ZINTERCARD", b"2", t[0], t[1], *t[2]]
    ),
    _cmd(st.sampled_from([b"ZPOPMIN", b"ZPOPMAX"]), KEYS, st.sampled_from([b"0", b"1", b"2"])),
    _cmd(b"ZREMRANGEBYRANK", KEYS, INTS, INTS),
    _cmd(b"ZREMRANGEBYSCORE", KEYS, BOUNDS, BOUNDS),
    _cmd(b"ZREMRANGEBYLEX", KEYS, LEX, LEX),
    st.tuples(st.sampled_from([b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE"]), KEYS, KEYS, KEYS).map(
        lambda t: [t[0], t[1], b"2", t[2], t[3]]
    ),
    st.tuples(st.sampled_from([b"ZUNION", b"ZINTER"]), KEYS, KEYS,
              st.sampled_from([[], [b"WEIGHTS", b"2", b"-1"], [b"AGGREGATE", b"MAX"]])).map(
        lambda t: [t[0], b"2", t[1], t[2], *t[3], b"WITHSCORES"]
    ),
    _cmd(b"ZDIFF", b"2", KEYS, KEYS, b"WITHSCORES"),
    _cmd(b"ZSCAN", KEYS, b"0"),
    _cmd(b"ZRANDMEMBER", KEYS, b"100", b"WITHSCORES"),
    _cmd(b"SET", KEYS, ELEMS),
    _cmd(b"GET", KEYS),
    _cmd(b"DEL", KEYS),
    _cmd(b"EXPIRE", KEYS, FAR),
    _cmd(b"PEXPIRE", KEYS, st.sampled_from([b"0", b"-1"])),
    _cmd(b"TTL", KEYS),
    _cmd(b"PERSIST", KEYS),
    _cmd(st.sampled_from([b"RENAME", b"COPY"]), KEYS, KEYS),
)  # fmt: skip


@settings(
    max_examples=int(os.environ.get("SESHAT_DIFF_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(commands=st.lists(COMMAND, min_size=1, max_size=30))
def test_generated_sequences(
    commands: list[list[bytes]], real_redis: RawRedis, local_client: LocalClient
) -> None:
    check_sequence(_Sorting(real_redis), _Sorting(local_client), commands)  # type: ignore[arg-type]


# -- RESP3 shapes, byte for byte -------------------------------------------------------------

RESP3_SCRIPT = [
    [b"ZADD", b"z", b"1", b"a", b"2.5", b"b", b"0.1", b"c", b"inf", b"d"],
    [b"ZSCORE", b"z", b"c"],
    [b"ZSCORE", b"z", b"nope"],
    [b"ZMSCORE", b"z", b"a", b"nope", b"d"],
    [b"ZINCRBY", b"z", b"1", b"a"],
    [b"ZADD", b"z", b"INCR", b"-0", b"e"],
    [b"ZADD", b"z", b"NX", b"INCR", b"1", b"a"],
    [b"ZRANGE", b"z", b"0", b"-1"],
    [b"ZRANGE", b"z", b"0", b"-1", b"WITHSCORES"],
    [b"ZRANGEBYSCORE", b"z", b"-inf", b"+inf", b"WITHSCORES", b"LIMIT", b"1", b"2"],
    [b"ZREVRANGE", b"z", b"0", b"1", b"WITHSCORES"],
    [b"ZUNION", b"1", b"z", b"WITHSCORES"],
    [b"ZINTER", b"1", b"z", b"WITHSCORES"],
    [b"ZDIFF", b"1", b"z", b"WITHSCORES"],
    [b"ZSCAN", b"z", b"0"],
    [b"ZADD", b"one", b"1.5", b"m"],
    [b"ZRANDMEMBER", b"one", b"10", b"WITHSCORES"],
    [b"ZRANDMEMBER", b"one", b"-2", b"WITHSCORES"],
    [b"ZRANDMEMBER", b"one", b"1"],
    [b"ZRANDMEMBER", b"nope"],
    [b"ZRANDMEMBER", b"nope", b"2", b"WITHSCORES"],
    [b"ZPOPMIN", b"z"],
    [b"ZPOPMAX", b"z", b"2"],
    [b"ZPOPMIN", b"z", b"1"],
    [b"ZPOPMIN", b"nope"],
    [b"ZPOPMIN", b"nope", b"3"],
    [b"LPOP", b"nol"],
    [b"LPOP", b"nol", b"2"],
    [b"BLPOP", b"nol", b"0.001"],
    [b"BLMOVE", b"nol", b"x", b"LEFT", b"LEFT", b"0.001"],
    [b"RPUSH", b"l", b"a"],
    [b"LPOP", b"l", b"0"],
    [b"LPOS", b"l", b"a", b"COUNT", b"0"],
    [b"LPOS", b"l", b"zz"],
]


def _resp_command(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


def _redis_resp3_replies(port: int, commands: list[list[bytes]]) -> bytes:
    """Raw reply bytes for `commands` on a fresh RESP3 connection (after HELLO 3 and FLUSHALL)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        marker = b"resp3-marker"
        script = [[b"HELLO", b"3"], [b"FLUSHALL"], [b"ECHO", marker], *commands]
        script.append([b"ECHO", marker])
        sock.sendall(b"".join(_resp_command(c) for c in script))
        data = b""
        end = b"$%d\r\n%b\r\n" % (len(marker), marker)
        while data.count(end) < 2:
            chunk = sock.recv(1 << 16)
            assert chunk, "redis-server closed the connection"
            data += chunk
    start = data.index(end) + len(end)
    return data[start : data.rindex(end)]


def test_resp3_shapes_match_redis(redis_port: int, executor: LocalExecutor) -> None:
    session = Session()
    replies = []
    for argv in RESP3_SCRIPT:
        reply = executor.execute(session, argv)
        replies.append(encode(reply, RESP3))
    theirs = _redis_resp3_replies(redis_port, RESP3_SCRIPT)
    assert b"".join(replies) == theirs
