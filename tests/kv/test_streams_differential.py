"""Streams, differentially: the same XADD ... XAUTOCLAIM sequences to redis-server 7.0 and to
LocalExecutor, compared reply for reply, errors word for word.

IDs are given explicitly wherever a later command depends on them; where a sequence uses `*`,
the generated IDs (wall-clock milliseconds, which differ between the two servers) are masked in
both replies, as are idle times and delivery timestamps.
"""

from __future__ import annotations

import os
import re
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kv.conftest import LocalClient, RawRedis, Value
from tests.kv.test_differential import check_sequence

_CLOCK_ID = re.compile(rb"\d{13}-\d+")
_TIMED = (b"xpending", b"xinfo")


def _masked(argv: list[bytes], reply: Value) -> Value:
    return _mask(reply, argv[0].lower() in _TIMED)


def _mask(value: Value, timed: bool) -> Value:
    """Wall-clock values as placeholders: `*` IDs, and in XPENDING and XINFO, idle times (small
    numbers after an `idle` field or in a PEL row) and millisecond timestamps."""
    if isinstance(value, bytes) and _CLOCK_ID.fullmatch(value):
        return b"<clock-id>"
    if isinstance(value, int) and timed and value >= 10**12:
        return "<timestamp>"
    if isinstance(value, list):
        out = [_mask(v, timed) for v in value]
        if timed:
            for i in range(1, len(out)):
                if out[i - 1] == b"idle" and isinstance(out[i], int):
                    out[i] = "<idle>"
            row = len(out) == 4 and isinstance(out[0], bytes) and b"-" in out[0]
            if row and isinstance(out[1], bytes) and isinstance(out[2], int):
                out[2] = "<idle>"  # an XPENDING row: id, consumer, idle, deliveries
        return out
    return value


def lines(text: str) -> list[list[bytes]]:
    return [[w.encode() for w in shlex.split(line)] for line in text.strip().splitlines()]


def many(template: str, n: int, first: int = 1) -> str:
    return "\n".join(template.format(i=i) for i in range(first, first + n))


SEQUENCES: dict[str, str] = {
    "adding and reading": """
        xadd s 1-1 a 1
        xadd s 1-1 a 1
        xadd s 0-0 a 1
        xadd s2 0-0 a 1
        exists s2
        xadd s2 0-* a 1
        xadd s 1-* b 2
        xadd s 5-* b 2
        xadd s 5 c 3
        xadd s 6 c 3 d 4
        xadd s abc a 1
        xadd s 1-abc a 1
        xadd s -1 a 1
        xadd s * a
        xadd s *
        xadd s 7-0 a
        xadd s maxlen -1 7-0 a 1
        xadd s maxlen = 1 limit 5 7-0 a 1
        xadd s maxlen ~ 1 limit -5 7-0 a 1
        xadd s maxlen ~ abc 7-0 a 1
        xadd s maxlen 1 minid 1 7-0 a 1
        xadd s limit 5 7-0 a 1
        xadd s minid ( 7-0 a 1
        xadd nos nomkstream 1-1 a 1
        exists nos
        xadd nos nomkstream 0-0 a 1
        xlen s
        xlen nokey
        xrange s - +
        xrange s - + count 2
        xrange s - + count 0
        xrange s - + count -1
        xrange s - + count
        xrange s - + foo 1
        xrange s (1-1 +
        xrange s (1 (5-0
        xrange s 1 1
        xrange s 5 5-0
        xrange s + -
        xrange s (- +
        xrange s - (+
        xrange s abc +
        xrange s 1- +
        xrange s - 18446744073709551615
        xrange s - 18446744073709551616
        xrange s (18446744073709551615-18446744073709551615 +
        xrange s - (0-0
        xrange s -1 +
        xrange nokey - +
        xrevrange s + -
        xrevrange s + - count 1
        xrevrange s 5 1-2
        xrevrange s (6 -
        xrevrange s - +
        xadd s 18446744073709551615-18446744073709551615 z 1
        xadd s 18446744073709551615-* z 1
        xadd s 1-1 z 1
        xrange s (6-0 +
        type s
        object encoding s
        set str x
        xadd str 1-1 a 1
        xlen str
        xrange str - +
        xrevrange str + -
        xdel str 1-1
        xtrim str maxlen 0
    """,
    "deleting and trimming": """
        xadd s 1-1 a 1
        xadd s 2-1 b 2
        xadd s 3-1 c 3
        xadd s 4-1 d 4
        xdel s 2-1 9-9
        xdel s bad
        xdel s 2-1
        xdel nokey bad
        xdel nokey 1-1
        xlen s
        xrange s - +
        xinfo stream s
        xdel s 1-1
        xinfo stream s
        xtrim s
        xtrim s foo 1
        xtrim s maxlen
        xtrim s maxlen 1 foo
        xtrim s maxlen ~ 10 limit 0
        xtrim s minid 0
        xtrim s minid 3-1
        xtrim s minid = 4
        xrange s - +
        xtrim s maxlen 5
        xtrim s maxlen 0
        xlen s
        exists s
        xinfo stream s
        xtrim s maxlen 0
        xadd s 4-2 e 5
        xinfo stream s
        xadd s maxlen 0 5-0 f 6
        xlen s
        exists s
        xtrim nokey maxlen 0
        xadd t 1-1 a 1
        xadd t 2-1 a 1
        xadd t 3-1 a 1
        xtrim t maxlen 1 limit 1
        xtrim t minid ~ 3 limit 1
        xtrim t minid ~ 3
        xrange t - +
    """,
    "approximate trimming keeps whole nodes": "\n".join(
        [
            many("xadd s {i}-0 f v", 250),
            "xtrim s maxlen ~ 200",
            "xlen s",
            "xtrim s maxlen ~ 149",
            "xlen s",
            "xrange s - + count 1",
            "xtrim s maxlen ~ 10 limit 50",
            "xlen s",
            "xtrim s maxlen ~ 10 limit 100",
            "xlen s",
            "xtrim s minid ~ 240",
            "xlen s",
            "xtrim s minid ~ 251",
            "xlen s",
            "xinfo stream s",
            many("xadd n {i}-0 f v", 120),
            "xadd n maxlen ~ 50 121-0 f v",
            "xlen n",
            "xadd n maxlen ~ 0 122-0 f v",
            "xlen n",
            "xinfo stream n",
        ]
    ),
    "setting the last id": """
        xadd s 10-1 a 1
        xadd s 10-2 a 1 b 2
        xsetid s 1-1
        xsetid s 10-2
        xsetid s 11-0 maxdeletedid 12-0
        xsetid s 11-0 entriesadded 1
        xsetid s 11-0 entriesadded -1
        xsetid s 11-0 entriesadded x
        xsetid s 11-0 maxdeletedid 0-0
        xsetid s 11-0 entriesadded 5 maxdeletedid 3-3
        xsetid s 11-0 foo
        xsetid s 11-0 entriesadded
        xsetid s bad
        xsetid s + 
        xinfo stream s
        xadd s 11-0 a 1
        xadd s 11-* a 1
        xsetid nokey 1-1
        xdel s 10-1 10-2 11-1
        xsetid s 11-0
        xsetid s 10-0
        xinfo stream s
        set str x
        xsetid str 1-1
    """,
    "information about a stream": """
        xinfo
        xinfo foo s
        xinfo help
        xinfo help extra
        xinfo stream
        xinfo stream nokey
        xadd s 1-1 a 1 b 2
        xadd s 2-2 c 3
        xinfo stream s
        xinfo stream s full
        xinfo stream s full count 1
        xinfo stream s full count 0
        xinfo stream s full count -1
        xinfo stream s full count x
        xinfo stream s foo
        xinfo stream s full foo 1
        xinfo stream s full count
        xinfo groups s
        xinfo groups nokey
        xinfo consumers s g
        set str x
        xinfo stream str
        xinfo groups str
    """,
    "reading without a group": """
        xadd s 1-1 a 1
        xadd s 2-1 b 2
        xadd t 1-5 c 3
        xread streams s 0
        xread count 1 streams s 0
        xread count 1 streams s t 0 0
        xread streams s t 1-1 1-4
        xread streams s t 2-1 1-5
        xread streams s nos 0 0
        xread streams s $
        xread streams nos $
        xread streams s 2
        xread streams s 1
        xread count -1 streams s 0
        xread count x streams s 0
        xread streams s
        xread streams s nos 0
        xread streams s >
        xread streams s bad
        xread foo streams s 0
        xread count 1
        xread block -1 streams s 0
        xread block x streams s 0
        xread block 10 streams s 0
        xread group g c streams s 0
        xread noack streams s 0
        xread streams
        set str x
        xread streams str 0
        xread streams s str 0 0
        xread streams nos str 0 0
    """,
    "groups": """
        xgroup
        xgroup foo
        xgroup help
        xgroup help extra
        xgroup create s g
        xgroup create s g $
        xgroup create s g $ mkstream
        xgroup create s g $ mkstream
        xgroup create s g2 0 foo
        xgroup create s g2 bad
        xgroup create s g2 + 
        xgroup create s g2 0 entriesread -2
        xgroup create s g2 0 entriesread x
        xgroup create s g2 0 entriesread 3
        xgroup create s g2 0 mkstream entriesread 3 foo
        xgroup create nokey g 0
        xgroup create nokey2 g bad mkstream
        exists nokey2
        xinfo groups s
        xgroup setid s g 5-5
        xgroup setid s nog 5-5
        xgroup setid nokey g 5-5
        xgroup setid s g bad
        xgroup setid s g - 
        xgroup setid s g + entriesread 4
        xgroup setid s g 0 mkstream
        xgroup setid s g $ entriesread
        xinfo groups s
        xgroup createconsumer s g c1
        xgroup createconsumer s g c1
        xgroup createconsumer s nog c1
        xgroup createconsumer nokey g c1
        xgroup createconsumer s g
        xgroup delconsumer s g c9
        xgroup delconsumer s g c1
        xgroup delconsumer s nog c1
        xgroup destroy s g2
        xgroup destroy s g2
        xgroup destroy s g2 extra
        xgroup destroy nokey g
        xinfo groups s
        set str x
        xgroup create str g 0
        xgroup destroy str g
    """,
    "consuming with a group": """
        xadd s 1-1 a 1
        xadd s 2-1 b 2
        xadd s 3-1 c 3
        xgroup create s g 0
        xreadgroup group g alice count 1 streams s >
        xreadgroup group g bob streams s >
        xreadgroup group g bob streams s >
        xreadgroup group g carol streams s >
        xinfo consumers s g
        xinfo groups s
        xpending s g
        xpending s g - + 10
        xpending s g - + 10 alice
        xpending s g - + 10 nobody
        xpending s g (1-1 + 1
        xpending s g - + 0
        xpending s g - + -1
        xpending s g idle 0 - + 10
        xpending s g idle 99999999 - + 10
        xpending s g idle 0 - + 
        xpending s g - +
        xpending s g - + x
        xpending s g bad + 10
        xpending s g - + 10 bob extra extra extra
        xpending s nog
        xpending nokey g
        xreadgroup group g alice streams s 0
        xreadgroup group g alice streams s 0
        xpending s g - + 10
        xreadgroup group g bob count 1 streams s 0
        xreadgroup group g bob streams s 2-1
        xreadgroup group g dave streams s 0
        xinfo consumers s g
        xack s g 1-1 9-9
        xack s g 1-1
        xack s g bad
        xack s nog 1-1
        xack nokey g 1-1
        xack nokey g bad
        xpending s g
        xreadgroup group g alice streams s 0
        xdel s 2-1
        xreadgroup group g bob streams s 0
        xinfo groups s
        xadd s 4-1 d 4
        xinfo groups s
        xreadgroup group g alice noack streams s >
        xpending s g
        xinfo groups s
        xreadgroup group g alice streams s $
        xreadgroup group g alice streams s bad
        xreadgroup group nog alice streams s >
        xreadgroup group g alice streams nokey >
        xreadgroup group g alice streams s
        xreadgroup group g alice streams s t > >
        xreadgroup streams s >
        xreadgroup group g streams s >
        xreadgroup group g alice count x streams s >
        xreadgroup group g alice block 0 streams s 0
        xgroup delconsumer s g bob
        xpending s g
        xinfo consumers s g
        xgroup setid s g 0
        xreadgroup group g eve count 2 streams s >
        xpending s g - + 10
        xinfo groups s
        set str x
        xreadgroup group g alice streams str >
        xack str g 1-1
        xpending str g
    """,
    "lag and the read counter": """
        xadd s 1-1 a 1
        xadd s 2-1 a 1
        xadd s 3-1 a 1
        xgroup create s g 0
        xgroup create s h $
        xgroup create s i 1-1
        xgroup create s j 0 entriesread 1
        xinfo groups s
        xreadgroup group g c count 1 streams s >
        xinfo groups s
        xdel s 2-1
        xinfo groups s
        xreadgroup group g c streams s >
        xinfo groups s
        xadd s 4-1 a 1
        xinfo groups s
        xreadgroup group i c streams s >
        xinfo groups s
        xtrim s maxlen 1
        xinfo groups s
        xinfo stream s
        xgroup setid s g 0 entriesread 0
        xinfo groups s
        xgroup setid s h $
        xinfo groups s
        xdel s 4-1
        xinfo groups s
        xinfo stream s
        xgroup create e g $ mkstream
        xinfo groups e
        xadd f 1-1 a 1
        xadd f 2-1 a 1
        xadd f 3-1 a 1
        xgroup create f first 1-1
        xgroup create f before 0-5
        xgroup create f last 3-1
        xgroup create f future 9-9
        xgroup create f between 1-5
        xinfo groups f
        xdel f 3-1
        xinfo groups f
        xtrim f maxlen 0
        xinfo groups f
    """,
    "claiming": """
        xadd s 1-1 a 1
        xadd s 2-1 b 2
        xadd s 3-1 c 3
        xadd s 4-1 d 4
        xgroup create s g 0
        xreadgroup group g alice streams s >
        xclaim s g bob 0 1-1
        xclaim s g bob 0 1-1 2-1 justid
        xclaim s g bob 99999999 3-1
        xclaim s g bob 0 3-1 retrycount 7
        xclaim s g bob 0 9-9
        xclaim s g bob 0 9-9 force
        xadd s 5-1 e 5
        xclaim s g bob 0 5-1
        xclaim s g bob 0 5-1 force justid
        xclaim s g bob 0 5-1 idle 1000 justid
        xclaim s g bob 0 5-1 time 1 justid
        xclaim s g bob 0 4-1 lastid 9-0 justid
        xinfo groups s
        xclaim s g bob 0 4-1 lastid 1-0 justid
        xclaim s g bob 0 4-1 foo
        xclaim s g bob 0 4-1 idle x
        xclaim s g bob 0 4-1 retrycount
        xclaim s g bob 0 4-1 lastid bad
        xclaim s g bob x 4-1
        xclaim s g bob -5 4-1 justid
        xclaim s nog bob 0 4-1
        xclaim nokey g bob 0 4-1
        xpending s g - + 10
        xdel s 1-1
        xclaim s g carol 0 1-1 2-1
        xpending s g - + 10
        xinfo consumers s g
        xautoclaim s g dave 0 0
        xautoclaim s g dave 0 0 count 1
        xautoclaim s g dave 0 0 count 1 justid
        xautoclaim s g dave 0 (3-1 justid
        xautoclaim s g dave 99999999 0
        xdel s 4-1
        xautoclaim s g erin 0 0 count 2
        xautoclaim s g erin 0 0 count 0
        xautoclaim s g erin 0 0 count x
        xautoclaim s g erin 0 0 foo
        xautoclaim s g erin x 0
        xautoclaim s g erin 0 bad
        xautoclaim s nog erin 0 0
        xautoclaim nokey g erin 0 0
        xpending s g - + 10
        xinfo consumers s g
        set str x
        xclaim str g bob 0 1-1
        xautoclaim str g bob 0 0
    """,
    "generated ids": """
        xadd s * a 1
        xadd s * b 2
        xlen s
        xadd s maxlen 1 * c 3
        xlen s
        xadd s nomkstream * d 4
        xsetid s 99999999999999-0
        xadd s * e 5
        xadd s 99999999999999-* e 5
        xlen s
    """,
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_streams_like_redis(name: str, real_redis: RawRedis, local_client: LocalClient) -> None:
    check_sequence(
        real_redis, local_client, masked=_masked, name=name, commands=lines(SEQUENCES[name])
    )


# -- generated sequences ----------------------------------------------------------------------

_KEYS = st.sampled_from([b"s", b"s", b"s", b"t"])
_GROUPS = st.sampled_from([b"g", b"g", b"g", b"h"])
_CONSUMERS = st.sampled_from([b"alice", b"bob"])
_IDS = st.builds(lambda ms, seq: b"%d-%d" % (ms, seq), st.integers(0, 6), st.integers(0, 3))
_BOUNDS = st.one_of(
    _IDS,
    st.sampled_from([b"-", b"+", b"0", b"3", b"(2-1", b"(0-0", b"(6-3", b"5"]),
)
_COUNT = st.sampled_from([[], [b"COUNT", b"1"], [b"COUNT", b"2"], [b"COUNT", b"0"]])
_TRIM = st.one_of(
    st.tuples(st.sampled_from([b"MAXLEN", b"MINID"]), st.sampled_from([[], [b"="], [b"~"]])).map(
        list
    ),
).flatmap(
    lambda t: (st.integers(0, 4).map(lambda n: b"%d" % n) if t[0] == b"MAXLEN" else _IDS).map(
        lambda v: [t[0], *t[1], v]
    )
)


def flat(*parts: st.SearchStrategy[object]) -> st.SearchStrategy[list[bytes]]:
    def join(values: tuple[object, ...]) -> list[bytes]:
        out: list[bytes] = []
        for v in values:
            out.extend(v if isinstance(v, list) else [v])  # type: ignore[arg-type]
        return out

    return st.tuples(*parts).map(join)


_c = st.just
STREAM_COMMAND = st.one_of(
    flat(_c(b"XADD"), _KEYS, st.sampled_from([[], [b"NOMKSTREAM"]]),
          st.one_of(st.just([]), _TRIM), st.one_of(_IDS, st.builds(lambda ms: b"%d-*" % ms, st.integers(0, 6))),
          _c(b"f"), st.sampled_from([b"1", b"2"])),
    flat(_c(b"XDEL"), _KEYS, _IDS, st.one_of(st.just([]), _IDS.map(lambda i: [i]))),
    flat(_c(b"XTRIM"), _KEYS, _TRIM),
    flat(st.sampled_from([b"XRANGE", b"XREVRANGE"]), _KEYS, _BOUNDS, _BOUNDS, _COUNT),
    flat(_c(b"XLEN"), _KEYS),
    flat(_c(b"XSETID"), _KEYS, _IDS),
    flat(_c(b"XREAD"), _COUNT, _c(b"STREAMS"), _KEYS, st.sampled_from([b"0", b"$", b"2-0"])),
    flat(_c(b"XGROUP"), _c(b"CREATE"), _KEYS, _GROUPS, st.sampled_from([b"0", b"$", b"3-0"]),
          st.sampled_from([[], [b"MKSTREAM"], [b"ENTRIESREAD", b"1"]])),
    flat(_c(b"XGROUP"), _c(b"SETID"), _KEYS, _GROUPS, st.sampled_from([b"0", b"$", b"3-0"])),
    flat(_c(b"XGROUP"), st.sampled_from([b"CREATECONSUMER", b"DELCONSUMER"]), _KEYS, _GROUPS,
          _CONSUMERS),
    flat(_c(b"XGROUP"), _c(b"DESTROY"), _KEYS, _GROUPS),
    flat(_c(b"XREADGROUP"), _c(b"GROUP"), _GROUPS, _CONSUMERS, _COUNT,
          st.sampled_from([[], [b"NOACK"]]), _c(b"STREAMS"), _KEYS,
          st.sampled_from([b">", b"0", b"0", b"2-0"])),
    flat(_c(b"XREADGROUP"), _c(b"GROUP"), _c(b"g"), _CONSUMERS, _c(b"STREAMS"), _c(b"s"),
          st.sampled_from([b">", b"0"])),
    flat(_c(b"XPENDING"), _c(b"s"), _c(b"g"), _c(b"-"), _c(b"+"), _c(b"10")),
    flat(_c(b"XACK"), _KEYS, _GROUPS, _IDS, st.one_of(st.just([]), _IDS.map(lambda i: [i]))),
    flat(_c(b"XPENDING"), _KEYS, _GROUPS),
    flat(_c(b"XPENDING"), _KEYS, _GROUPS, _BOUNDS, _BOUNDS, st.sampled_from([b"1", b"10"]),
          st.one_of(st.just([]), _CONSUMERS.map(lambda c: [c]))),
    flat(_c(b"XCLAIM"), _KEYS, _GROUPS, _CONSUMERS, _c(b"0"), _IDS,
          st.sampled_from([[], [b"JUSTID"], [b"FORCE"], [b"RETRYCOUNT", b"5"], [b"LASTID", b"4-0"]])),
    flat(_c(b"XAUTOCLAIM"), _KEYS, _GROUPS, _CONSUMERS, _c(b"0"), _BOUNDS, _COUNT,
          st.sampled_from([[], [b"JUSTID"]])),
    flat(_c(b"XINFO"), _c(b"GROUPS"), _KEYS),
    flat(_c(b"XINFO"), _c(b"CONSUMERS"), _KEYS, _GROUPS),
    flat(_c(b"XINFO"), _c(b"STREAM"), _KEYS, st.sampled_from([[], [b"FULL"]])),
    flat(st.sampled_from([b"DEL", b"TYPE", b"EXISTS"]), _KEYS),
    flat(_c(b"COPY"), _KEYS, _KEYS),
)  # fmt: skip


@settings(
    max_examples=int(os.environ.get("SESHAT_DIFF_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(commands=st.lists(STREAM_COMMAND, min_size=1, max_size=30))
def test_generated_stream_sequences(
    commands: list[list[bytes]], real_redis: RawRedis, local_client: LocalClient
) -> None:
    """Random commands over two streams and two groups, from a start where a group already has
    entries to deliver, so most sequences reach the PEL."""
    check_sequence(
        real_redis,
        local_client,
        masked=_masked,
        name="generated",
        commands=GENERATED_PRELUDE + commands,
    )


GENERATED_PRELUDE = lines("""
    xadd s 1-1 f 1
    xadd s 2-0 f 2
    xadd s 3-2 f 3
    xgroup create s g 0
    xreadgroup group g alice count 2 streams s >
""")
