"""SORT and SORT_RO, differentially: the same sequences to redis-server 7.0 and to
LocalExecutor, compared reply for reply, errors word for word.

Sequences avoid what leaves Redis's order unspecified: ALPHA BY with equal (or missing)
weights, and `BY nosort` on a set that is not an intset without STORE (hash-table order).
"""

from __future__ import annotations

import os
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.kv.service import Read, Write
from tests.kv.conftest import LocalClient, RawRedis
from tests.kv.test_differential import check_sequence
from tests.kv.test_streams_differential import flat  # joins a tuple of parts into one argv


def lines(text: str) -> list[list[bytes]]:
    return [[w.encode() for w in shlex.split(line)] for line in text.strip().splitlines()]


SEQUENCES: dict[str, str] = {
    "numeric and alpha over a list": """
        rpush l 3 1 2 10 -1 1.5 0x10 inf -inf 2e1
        sort l
        sort l desc
        sort l asc
        sort l alpha
        sort l alpha desc
        sort_ro l
        sort_ro l desc alpha
        rpush m b a c ab B
        sort m
        sort m alpha
        sort m alpha desc
        sort missing
        sort missing alpha desc limit 0 5
        sort_ro missing
    """,
    "ties are broken by the elements' bytes": """
        rpush l 1 1.0 01 +1 1e0 0x1 2 02
        sort l
        sort l desc
        sort l limit 1 3
        sort l desc limit 2 -1
        rpush w 3 b 3 a 3
        set w_a 1
        set w_b 1
        sort w by w_*
        sort w by w_* desc
    """,
    "scores that are not numbers": """
        rpush l 1 abc 2
        sort l
        sort l desc limit 0 1
        sort l alpha
        sort l by nosort
        del l
        rpush l 1 "1 " 2
        sort l
        del l
        rpush l " 1" "" 2 +.5 5. 0x.8 -infinity
        sort l
        del l
        rpush l 1 nan
        sort l
        del l
        rpush l 1e400
        sort l
        del l
        rpush l 1e-400
        sort l
        del l
        rpush l 1e-310
        sort l
        del l
        rpush l 1_0
        sort l
    """,
    "limit": """
        rpush l 5 4 3 2 1 6 7
        sort l limit 0 3
        sort l limit 2 3
        sort l limit -2 3
        sort l limit 2 -1
        sort l limit 2 0
        sort l limit 6 5
        sort l limit 7 5
        sort l limit 100 5
        sort l limit -100 -100
        sort l desc limit 1 2
        sort l limit 1 2 limit 3 1
        sort l limit a 1
        sort l limit 1 b
        sort l limit 1.5 1
        sort l limit 1
        sort l limit
        sort l limit 99999999999999999999 1
        sort missing limit 1 1
        sort missing limit a 1
    """,
    "by nosort keeps the natural order": """
        rpush l c a b 3 1
        sort l by nosort
        sort l by nosort desc
        sort l by nosort limit 1 2
        sort l by nosort desc limit 1 2
        sort l by nosort limit 4 10
        sort l by nosort limit 5 10
        sort l by nosort limit -1 0
        sort l by nosort alpha
        set w_3 9
        set w_1 -4
        sort l by nosort by w_*
        sort l by w_* by nosort
        sort l by w_* by w_*
        sort l by w
        zadd z 3 c 1 a 2 b 2 bb 5 e
        sort z by nosort
        sort z by nosort desc
        sort z by nosort limit 1 2
        sort z by nosort desc limit 1 2
        sort z by nosort desc limit 3 10
        sort z by nosort limit 10 10
        sort z by nosort get # get w_*
        sadd i 5 3 10 1
        sort i by nosort
        sort i by nosort limit 1 2
        sadd s b a c 10 2
        sort s by nosort store d
        lrange d 0 -1
        sort s by nosort desc store d
        lrange d 0 -1
        sort s by nosort limit 1 2 store d
        lrange d 0 -1
    """,
    "sets and sorted sets": """
        sadd s 3 1 2 10 -5
        sort s
        sort s desc
        sort s alpha
        sort s limit 1 2
        sadd t b a c
        sort t
        sort t alpha
        sort t alpha desc
        zadd z 1 c 2 b 3 a
        sort z alpha
        sort z alpha desc
        sort z
        zadd zn 3 1 2 2 1 3
        sort zn
        sort zn desc limit 0 2
    """,
    "by and get with strings": """
        rpush l a b c d
        set w_a 30
        set w_b 10
        set w_c 20
        set w_d 5
        set v_a A
        set v_b B
        set v_c C
        sort l by w_*
        sort l by w_* desc
        sort l by w_* limit 1 2
        sort l by w_* get v_*
        sort l by w_* get v_* get # get w_*
        sort l by w_* get missing_*
        sort l by w_* get nostar
        sort l by w_* get #
        sort l get v_*
        sort l by w_* alpha
        sort l by v_* alpha desc limit 0 3
        set v_d X
        sort l by v_* alpha
        sort l by v_* alpha desc
        sort l by *_x
        set a_x 3
        set b_x 1
        set c_x 2
        set d_x 0
        sort l by *_x get *_x
        sort l by w_*->f
        rpush w_b x
        del w_b
        rpush w_b x
        sort l by w_* get w_*
        set w_d notanumber
        sort l by w_*
        sort l by w_* alpha get v_*
    """,
    "missing weights sort as zero, first in alpha": """
        rpush l x y z
        set w_y 2
        set w_z -1
        sort l by w_*
        sort l by w_* desc
        set v_x b
        set v_y a
        sort l by v_* alpha
        sort l by v_* alpha desc
        sort l by v_* get v_*
    """,
    "by and get with hash fields": """
        rpush l 1 2 3
        hset h_1 n 30 name one
        hset h_2 n 10 name two
        hset h_3 n 20 name three
        sort l by h_*->n
        sort l by h_*->n desc get h_*->name get #
        sort l by h_*->name alpha get h_*->name
        sort l by h_*->missing get h_*->missing
        sort l by h_*-> get h_*->
        set h_2 str
        sort l by h_*->n get h_*->name
        sort l get h_*->name get #->name
        hset p x->y 1
        sort l get *->n
    """,
    "store": """
        rpush l 3 1 2
        sort l store d
        lrange d 0 -1
        type d
        sort l desc limit 0 2 store d
        lrange d 0 -1
        set d string
        expire d 100
        sort l store d
        type d
        ttl d
        lrange d 0 -1
        sort missing store d
        exists d
        set d string
        sort l limit 5 5 store d
        exists d
        set v_1 one
        sort l get v_* get # store d
        lrange d 0 -1
        sort l store l
        lrange l 0 -1
        sort l store d store e
        exists d e
        lrange e 0 -1
        sort l store
        sort_ro l store d
        sort_ro l store
        sort l get # store d get v_*
        lrange d 0 -1
        sadd s b a 1
        sort s alpha store d
        lrange d 0 -1
        sort s store d
        sort str store d
        lrange d 0 -1
    """,
    "errors": """
        set str v
        hset h f v
        sort str
        sort h
        sort_ro str
        sort str limit a b
        sort l foo
        sort str foo
        sort l asc desc bogus
        sort l by
        sort l get
        sort l store
        sort_ro l store d
        sort
        sort_ro
        rpush l 1
        sort l by
        sort l limit 0
        sort str by nosort
        sort str store d
        exists d
    """,
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_sort_like_redis(name: str, real_redis: RawRedis, local_client: LocalClient) -> None:
    check_sequence(real_redis, local_client, name=name, commands=lines(SEQUENCES[name]))


def test_sort_without_store_proposes_nothing(local_client: LocalClient) -> None:
    """SORT is a write row, but only SORT ... STORE goes through the log."""
    service = local_client.executor.service
    session = local_client.session
    assert isinstance(service.prepare(session, [b"SORT", b"l", b"BY", b"w_*", b"DESC"]), Read)
    assert isinstance(service.prepare(session, [b"sort", b"l", b"GET", b"#"]), Read)
    assert isinstance(service.prepare(session, [b"SORT", b"l", b"store", b"d"]), Write)
    assert isinstance(service.prepare(session, [b"SORT_RO", b"l", b"STORE", b"d"]), Read)


# -- generated sequences ----------------------------------------------------------------------

_ELEMS = st.sampled_from([b"1", b"2", b"3", b"10", b"-1", b"1.5", b"01", b"a", b"b", b"0x2"])
_NUMS = st.sampled_from([b"1", b"2", b"3", b"10", b"-1", b"1.5", b"01", b"0x2", b"7"])
_KEYS = st.sampled_from([b"l", b"l", b"s", b"z", b"n", b"x"])


_OPTION = st.one_of(
    st.sampled_from([[b"ASC"], [b"DESC"], [b"ALPHA"], [b"BY", b"nosort"], [b"BY", b"w_*"],
                     [b"BY", b"h_*->f"], [b"GET", b"#"], [b"GET", b"w_*"], [b"GET", b"h_*->f"],
                     [b"GET", b"v_*"], [b"STORE", b"d"], [b"STORE", b"l"], [b"LIMIT"], [b"BOGUS"]]),
    st.tuples(st.integers(-3, 8), st.integers(-2, 6)).map(
        lambda t: [b"LIMIT", b"%d" % t[0], b"%d" % t[1]]
    ),
)  # fmt: skip

_c = st.just
SORT_COMMAND = st.one_of(
    flat(_c(b"RPUSH"), st.sampled_from([b"l", b"n"]), _ELEMS, st.lists(_ELEMS, max_size=4)),
    flat(_c(b"SADD"), _c(b"s"), _NUMS, st.lists(_NUMS, max_size=4)),
    flat(_c(b"ZADD"), _c(b"z"), st.integers(0, 3).map(lambda n: b"%d" % n), _ELEMS),
    flat(_c(b"SET"), st.builds(lambda e: b"w_" + e, _ELEMS), _NUMS),
    flat(_c(b"SET"), st.builds(lambda e: b"v_" + e, _ELEMS), _ELEMS),
    flat(_c(b"HSET"), st.builds(lambda e: b"h_" + e, _ELEMS), _c(b"f"), _NUMS),
    flat(_c(b"SET"), _c(b"x"), _c(b"str")),
    flat(_c(b"DEL"), _KEYS),
    flat(st.sampled_from([b"SORT", b"SORT_RO"]), _KEYS, st.lists(_OPTION, max_size=4).map(
        lambda opts: [w for o in opts for w in o])),
    flat(_c(b"LRANGE"), st.sampled_from([b"d", b"l"]), _c(b"0"), _c(b"-1")),
)  # fmt: skip


def _deterministic(argv: list[bytes]) -> bool:
    """False for the SORTs whose order Redis leaves open: ALPHA BY a pattern (equal weights),
    and `BY nosort` over a set without STORE (hash-table order)."""
    if argv[0] not in (b"SORT", b"SORT_RO"):
        return True
    words = [w.upper() for w in argv[2:]]
    by = [argv[2 + i + 1] for i, w in enumerate(words[:-1]) if w == b"BY"]
    if b"ALPHA" in words and by and b"*" in by[-1]:
        return False
    return not (argv[1] == b"s" and by and b"*" not in by[-1])


@settings(
    max_examples=int(os.environ.get("SESHAT_DIFF_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(commands=st.lists(SORT_COMMAND.filter(_deterministic), min_size=1, max_size=30))
def test_generated_sort_sequences(
    commands: list[list[bytes]], real_redis: RawRedis, local_client: LocalClient
) -> None:
    """Random SORTs over a list, a set, a sorted set and a string, with weights and values in
    strings and hash fields, from a start where each key already holds something."""
    check_sequence(
        real_redis, local_client, name="generated", commands=GENERATED_PRELUDE + commands
    )


GENERATED_PRELUDE = lines("""
    rpush l 3 1 2 10 a
    rpush n 2 1.5 -1
    sadd s 3 1 2
    zadd z 1 b 2 a 2 10
    set w_1 5
    set w_2 -1
    set v_3 x
    hset h_10 f 1
""")
