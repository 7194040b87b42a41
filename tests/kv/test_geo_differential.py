"""GEO commands, differentially: the same GEOADD ... GEOSEARCHSTORE sequences to redis-server 7.0
and to LocalExecutor, compared reply for reply (unsorted search results in Redis's own order),
errors word for word; plus GEOPOS's RESP3 frames byte for byte.
"""

from __future__ import annotations

import os
import random
import shlex
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.kv.local import LocalExecutor
from seshat.kv.service import Session
from seshat.protocol.encoder import encode
from tests.kv.conftest import LocalClient, RawRedis
from tests.kv.test_differential import check_sequence


def lines(text: str) -> list[list[bytes]]:
    return [[w.encode() for w in shlex.split(line)] for line in text.splitlines() if line.strip()]


SICILY = """
    geoadd Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
    geoadd Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2 13.583333 37.316667 Agrigento
"""

SEARCH_OPTIONS = [
    "", "asc", "desc", "count 1", "count 2 asc", "count 2 desc", "count 3 any", "count 1 any desc",
    "withdist", "withcoord", "withhash", "withdist withcoord withhash", "withhash withdist asc",
    "count 2 withcoord desc", "count 10", "any count 2 withdist", "ASC WITHDIST COUNT 2",
]  # fmt: skip
UNITS = ["m", "km", "mi", "ft", "KM", "Mi"]


def _search_matrix() -> str:
    out = []
    for opt in SEARCH_OPTIONS:
        out.append(f"georadius Sicily 15 37 200 km {opt}")
        out.append(f"georadius_ro Sicily 15 37 100 km {opt}")
        out.append(f"georadiusbymember Sicily Palermo 250 km {opt}")
        out.append(f"georadiusbymember_ro Sicily Agrigento 100 km {opt}")
        out.append(f"geosearch Sicily fromlonlat 15 37 byradius 200 km {opt}")
        out.append(f"geosearch Sicily frommember Palermo bybox 400 400 km {opt}")
        out.append(f"geosearch Sicily fromlonlat 15 37 bybox 300 100 km {opt}")
    for unit in UNITS:
        out.append(f"georadius Sicily 15 37 120 {unit} withdist")
        out.append(f"geosearch Sicily fromlonlat 15 37 byradius 200000 {unit} withdist asc")
        out.append(f"geosearch Sicily frommember Catania bybox 500 300 {unit} withdist desc")
        out.append(f"geodist Sicily Palermo Catania {unit}")
    return "\n".join(out)


SEQUENCES: dict[str, str] = {
    "geoadd": """
        geoadd g 13.361389 38.115556 Palermo
        geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        geoadd g nx 1 1 Palermo 2 2 new
        geoadd g xx 1 1 Palermo 3 3 other
        geoadd g xx ch 5 5 Palermo 3 3 other
        geoadd g ch 5 5 Palermo 6 6 Palermo 7 7 x
        geoadd g CH NX 8 8 x 9 9 y
        geoadd g nx xx 1 1 a
        geoadd g xx nx ch 1 1 a
        geoadd g ch ch ch
        geoadd g ch ch ch ch
        geoadd g 1 2 a 3
        geoadd g 1 2 a 3 4
        geoadd g nx 1 2
        geoadd g gt 1 2 a
        geoadd g 181 0 a
        geoadd g -180.0000001 0 a
        geoadd g 0 85.05112879 a
        geoadd g 0 -86 a
        geoadd g 1 1 ok 200 300 bad
        geoadd g abc 1 a
        geoadd g 1 abc a
        geoadd g nan 1 a
        geoadd g inf 1 a
        geoadd g 1 -inf a
        geoadd g " 1" 1 a
        geoadd g 0x10 1 hex
        geoadd g 1e1 1.5e1 exp
        geoadd g 180 85.05112878 corner1 -180 -85.05112878 corner2
        geoadd g 180 0 am1 -180 0 am2 0 0 origin
        geoadd nokey xx 1 1 a
        exists nokey
        zrange g 0 -1 withscores
        type g
        zcard g
        geopos g Palermo Catania nope corner1 corner2 am1 am2 origin hex exp
        set str x
        geoadd str 1 1 a
        geoadd str 1 1000 a
    """,
    "geopos geodist geohash": SICILY
    + """
        geopos Sicily Palermo Catania nope
        geopos nokey a b
        geopos Sicily
        geodist Sicily Palermo Catania
        geodist Sicily Palermo Catania m
        geodist Sicily Palermo Catania km
        geodist Sicily Palermo Catania mi
        geodist Sicily Palermo Catania ft
        geodist Sicily Palermo Catania FT
        geodist Sicily Palermo Catania parsec
        geodist Sicily Palermo Catania km extra
        geodist Sicily Palermo nope
        geodist Sicily nope Palermo
        geodist Sicily Palermo Palermo
        geodist nokey a b
        geodist nokey a b parsec
        geohash Sicily Palermo Catania nope edge1 edge2
        geohash nokey a
        geohash Sicily
        zadd Sicily 0 zero 4503599627370495 top 1e30 huge -5 neg 1.5 frac
        geopos Sicily zero top huge neg frac
        geohash Sicily zero top huge neg frac
        geodist Sicily zero top
        geodist Sicily huge neg km
        set str x
        geopos str a
        geodist str a b
        geohash str a
    """,
    "search matrix": SICILY + _search_matrix(),
    "search errors": SICILY
    + """
        georadius Sicily 15 37 200 parsec
        georadius Sicily 15 37 abc km
        georadius Sicily 15 37 -1 km
        georadius Sicily 15 abc 200 km
        georadius Sicily 200 37 200 km
        georadius Sicily 15 37 200 km count
        georadius Sicily 15 37 200 km count 0
        georadius Sicily 15 37 200 km count -3
        georadius Sicily 15 37 200 km count abc
        georadius Sicily 15 37 200 km any
        georadius Sicily 15 37 200 km foo
        georadius Sicily 15 37 200 km withdist store dst
        georadius Sicily 15 37 200 km store
        georadius_ro Sicily 15 37 200 km store dst
        georadius_ro Sicily 15 37 200 km storedist dst
        georadiusbymember Sicily nope 200 km
        georadiusbymember Sicily Palermo abc km
        georadiusbymember Sicily Palermo 100 parsec
        georadiusbymember nokey nope abc parsec
        georadiusbymember nokey nope 1 km withdist store x
        georadiusbymember nokey nope 1 km store x
        georadius nokey 15 37 abc km
        georadius nokey 15 37 1 km
        georadius nokey 15 37 1 km foo
        georadius_ro nokey 15 37 1 km
        geosearch Sicily fromlonlat 15 37
        geosearch Sicily byradius 10 km
        geosearch Sicily frommember Palermo fromlonlat 15 37 byradius 10 km
        geosearch Sicily fromlonlat 15 37 frommember Palermo byradius 10 km
        geosearch Sicily fromlonlat 15 37 byradius 10 km bybox 1 1 km
        geosearch Sicily fromlonlat 15 37 bybox 1 1 km byradius 10 km
        geosearch Sicily frommember nope byradius 10 km
        geosearch nokey frommember nope byradius 10 km
        geosearch nokey fromlonlat 15 37 byradius 10 km
        geosearch nokey fromlonlat 15 37 byradius abc km
        geosearch nokey fromlonlat 15 37
        GEOSEARCH Sicily fromlonlat 15 37 withdist
        GeoSearch Sicily bybox 1 1 km withdist
        geosearch Sicily fromlonlat 15 37 bybox -1 1 km
        geosearch Sicily fromlonlat 15 37 bybox 1 abc km
        geosearch Sicily fromlonlat 15 37 bybox abc 1 km
        geosearch Sicily fromlonlat 15 37 bybox 1 1 parsec
        geosearch Sicily fromlonlat 15 37 bybox 1 1
        geosearch Sicily fromlonlat 15 37 byradius 1
        geosearch Sicily fromlonlat 15 byradius 1 km
        geosearch Sicily fromlonlat 15 95 byradius 1 km
        geosearch Sicily fromlonlat 15 37 byradius 1 km store x
        geosearch Sicily fromlonlat 15 37 byradius 1 km storedist
        geosearch Sicily fromlonlat 15 37 byradius 1 km any
        geosearch Sicily fromlonlat 15 37 byradius 1 km count 0
        geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km withdist
        geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km store x
        geosearchstore dst Sicily fromlonlat 15 37
        exists dst
        set str x
        georadius str 15 37 abc km
        georadius str 15 37 200 km foo
        georadiusbymember str nope 1 km
        georadius_ro str 15 37 200 km
        geosearch str foo
        geosearchstore dst str foo
    """,
    "store": SICILY
    + """
        georadius Sicily 15 37 200 km store dst
        zrange dst 0 -1 withscores
        georadius Sicily 15 37 200 km storedist dst2
        zrange dst2 0 -1 withscores
        georadius Sicily 15 37 200 km storedist dst2 asc count 2
        zrange dst2 0 -1 withscores
        georadius Sicily 15 37 200 mi storedist dst2 desc count 2
        zrange dst2 0 -1 withscores
        georadius Sicily 15 37 200 km store dst storedist dst3
        exists dst dst3
        zrange dst3 0 -1 withscores
        georadiusbymember Sicily Palermo 100 km store dst4
        zrange dst4 0 -1 withscores
        georadiusbymember Sicily Palermo 100 km storedist dst4 count 1 any
        zrange dst4 0 -1 withscores
        georadius Sicily 0 0 1 km store dst4
        exists dst4
        georadius nokey 0 0 1 km store dst
        exists dst
        set str x
        georadius Sicily 15 37 200 km store str
        type str
        geosearchstore out Sicily fromlonlat 15 37 byradius 200 km
        zrange out 0 -1 withscores
        geosearchstore out Sicily fromlonlat 15 37 byradius 200 km storedist
        zrange out 0 -1 withscores
        geosearchstore out Sicily frommember Palermo bybox 500 500 km storedist count 2 desc
        zrange out 0 -1 withscores
        geosearchstore out Sicily fromlonlat 15 37 byradius 200 km storedist count 1 any
        zrange out 0 -1 withscores
        geosearchstore out nokey fromlonlat 15 37 byradius 200 km
        exists out
        geosearchstore out Sicily fromlonlat 0 0 byradius 1 km
        geosearchstore Sicily Sicily fromlonlat 15 37 byradius 120 km
        zrange Sicily 0 -1 withscores
        geosearchstore str Sicily fromlonlat 15 37 byradius 120 km
        type str
        set str2 x
        geosearchstore str2 nokey fromlonlat 15 37 byradius 120 km
        exists str2
    """,
    "poles antimeridian equator": """
        geoadd w 179.9 0 e1 -179.9 0 w1 180 0 e2 -180 0 w2 179.999 1 e3 -179.999 -1 w3
        geoadd w 0 0 o 0.0001 0 o1 0 -0.0001 o2 -0.0001 0.0001 o3 1 0 o4
        geoadd w 0 85.05 n1 90 85.05 n2 180 85 n3 -90 84.9 n4 45 85.05112878 n5
        geoadd w 0 -85.05 s1 90 -85.05 s2 180 -85 s3 -90 -84.9 s4 45 -85.05112878 s5
        geoadd w 12 0 d1 12 0 d2 12 0 d3 12 0.00001 d4 12 0 d0
        geosearch w fromlonlat 180 0 byradius 50 km withdist
        geosearch w fromlonlat -180 0 byradius 50 km withdist asc
        geosearch w fromlonlat 179.95 0 bybox 30 30 km withcoord
        geosearch w frommember e1 byradius 30 km desc
        georadius w 0 0 0 m withdist
        georadius w 0 0 0 km
        georadius w 12 0 0 m withdist
        georadius w 12 0 1 m withdist
        georadius w 12 0 1 m count 2
        georadius w 12 0 1 m count 3 desc
        georadius w 12 0 1 m count 2 any
        geosearch w frommember d1 bybox 0 0 m withdist
        geosearch w frommember d1 byradius 0 m withdist count 1
        georadius w 0 0 20 m withdist withcoord withhash
        georadius w 0 0 100 km withdist
        georadius w 0 85 500 km withdist withcoord
        georadius w 0 85 2000 km withdist
        georadius w 45 85.05 5000 km asc
        georadius w 0 -85 500 km withdist withcoord
        georadius w 0 -85 3000 km desc
        geosearch w fromlonlat 0 85 bybox 4000 400 km withdist
        geosearch w fromlonlat 0 -85 bybox 20000 20000 km withdist
        georadius w 0 0 20000 km
        georadius w 0 0 10000 km count 5
        georadius w 100 20 7000 km withdist
        geosearch w fromlonlat 0 0 bybox 40000 40000 km
        geosearch w fromlonlat 0 0 bybox 40000 40000 km count 7 withdist
        geopos w e2 w2 n5 s5 o1 o2 o3 d4
        geohash w e1 w1 e2 w2 n1 n5 s1 s5 o o1 o2 o3
        geodist w e1 w1
        geodist w e2 w2
        geodist w n5 s5 km
        geodist w o o3
        geodist w d1 d4 ft
    """,
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_geo_like_redis(name: str, real_redis: RawRedis, local_client: LocalClient) -> None:
    check_sequence(real_redis, local_client, name=name, commands=lines(SEQUENCES[name]))


def _generated_points() -> list[list[bytes]]:
    rnd = random.Random(7)
    cmds: list[list[bytes]] = []
    for i in range(200):
        if i % 2:
            lon, lat = rnd.uniform(-180, 180), rnd.uniform(-85, 85)
        else:  # a cluster around Europe, so searches find many points
            lon, lat = rnd.gauss(10, 4), rnd.gauss(46, 3)
        cmds.append([b"GEOADD", b"pts", b"%.6f" % lon, b"%.6f" % lat, b"p%d" % i])
    centres = [(10, 46), (0, 0), (-170, 60), (179, -10), (12.5, 41.9), (10, 84)]
    radii = [(b"1", b"m"), (b"50", b"km"), (b"300", b"km"), (b"900", b"mi"), (b"3000", b"km"),
             (b"9000", b"km"), (b"25000", b"km")]  # fmt: skip
    for lon, lat in centres:
        c = [b"%d" % lon if isinstance(lon, int) else b"%r" % lon, b"%r" % lat]
        for r, unit in radii:
            for opts in ([], [b"ASC"], [b"DESC"], [b"COUNT", b"7"], [b"COUNT", b"5", b"ANY"],
                         [b"WITHDIST", b"WITHHASH", b"COUNT", b"3", b"DESC"]):  # fmt: skip
                cmds.append([b"GEORADIUS", b"pts", *c, r, unit, *opts])
            cmds.append([b"GEOSEARCH", b"pts", b"FROMLONLAT", *c, b"BYBOX", r, r, unit])
            cmds.append([b"GEOSEARCH", b"pts", b"FROMLONLAT", *c, b"BYBOX", r, r, unit, b"ASC"])
        for m in (b"p0", b"p1", b"p7", b"p100"):
            cmds.append([b"GEORADIUSBYMEMBER", b"pts", m, b"500", b"km", b"WITHDIST"])
            cmds.append([b"GEOSEARCH", b"pts", b"FROMMEMBER", m, b"BYBOX", b"2000", b"800",
                         b"km", b"WITHCOORD"])  # fmt: skip
    cmds.append([b"GEOSEARCHSTORE", b"st", b"pts", b"FROMLONLAT", b"10", b"46", b"BYRADIUS",
                 b"400", b"km", b"STOREDIST"])  # fmt: skip
    cmds.append([b"ZRANGE", b"st", b"0", b"-1", b"WITHSCORES"])
    cmds.append([b"GEOHASH", b"pts", *[b"p%d" % i for i in range(0, 200, 3)]])
    cmds.append([b"GEOPOS", b"pts", *[b"p%d" % i for i in range(0, 200, 3)]])
    cmds.append([b"GEODIST", b"pts", b"p0", b"p1", b"km"])
    return cmds


def test_generated_points_like_redis(real_redis: RawRedis, local_client: LocalClient) -> None:
    check_sequence(real_redis, local_client, name="200 points", commands=_generated_points())


def test_geopos_resp3_frames(redis_port: int, executor: LocalExecutor) -> None:
    """GEOPOS's coordinates are RESP3 doubles holding Redis's human text."""
    sock = socket.create_connection(("127.0.0.1", redis_port))
    sock.settimeout(0.3)

    def raw(argv: list[bytes]) -> bytes:
        """One reply's bytes: everything the server sends until it pauses."""
        out = [b"*%d\r\n" % len(argv)] + [b"$%d\r\n%s\r\n" % (len(a), a) for a in argv]
        sock.sendall(b"".join(out))
        data = b""
        while True:
            try:
                chunk = sock.recv(1 << 16)
            except TimeoutError:
                if data:
                    return data
                continue
            assert chunk, "redis-server closed the connection"
            data += chunk

    try:
        raw([b"HELLO", b"3"])
        session = Session()
        for argv in lines("""
            flushall
            geoadd g 13.361389 38.115556 Palermo 0 0 zero -180 -85.05112878 low
            geopos g Palermo zero low nope
            georadius_ro g 13 38 100 km withcoord withdist withhash
            geosearch g fromlonlat 0 0 byradius 1 km withcoord
        """):
            theirs = raw(argv)
            ours = encode(executor.execute(session, argv), 3)
            if argv[0] == b"flushall":
                continue
            assert ours == theirs, (argv, ours, theirs)
    finally:
        sock.close()


# -- generated sequences ----------------------------------------------------------------------

_KEYS = st.sampled_from([b"g", b"g", b"g", b"h"])
_MEMBERS = st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"nope"])
_LON = st.sampled_from([b"-180", b"-179.5", b"-1", b"0", b"0.5", b"1", b"13.5", b"179.9", b"180"])
_LAT = st.sampled_from([b"-85.05112878", b"-60", b"-1", b"0", b"0.5", b"1", b"45", b"85"])
_RADIUS = st.sampled_from([b"0", b"1", b"60", b"150", b"1000", b"5000", b"20000"])
_UNIT = st.sampled_from([b"m", b"km", b"km", b"km", b"mi", b"ft"])
_OPTS = st.lists(
    st.sampled_from([[b"WITHDIST"], [b"WITHCOORD"], [b"WITHHASH"], [b"ASC"], [b"DESC"],
                     [b"COUNT", b"1"], [b"COUNT", b"2"], [b"COUNT", b"3", b"ANY"]]),
    max_size=3,
)  # fmt: skip
_FROM = st.one_of(
    st.tuples(st.just(b"FROMMEMBER"), _MEMBERS).map(list),
    st.tuples(st.just(b"FROMLONLAT"), _LON, _LAT).map(list),
)
_BY = st.one_of(
    st.tuples(st.just(b"BYRADIUS"), _RADIUS, _UNIT).map(list),
    st.tuples(st.just(b"BYBOX"), _RADIUS, _RADIUS, _UNIT).map(list),
)


def _flat(*parts: st.SearchStrategy[object]) -> st.SearchStrategy[list[bytes]]:
    def join(values: tuple[object, ...]) -> list[bytes]:
        out: list[bytes] = []
        for v in values:
            if isinstance(v, list):
                for x in v:
                    out.extend(x if isinstance(x, list) else [x])
            else:
                out.append(v)  # type: ignore[arg-type]
        return out

    return st.tuples(*parts).map(join)


_c = st.just
GEO_COMMAND = st.one_of(
    _flat(_c(b"GEOADD"), _KEYS, st.sampled_from([[], [b"NX"], [b"XX"], [b"CH"], [b"XX", b"CH"]]),
          _LON, _LAT, _MEMBERS, st.lists(st.tuples(_LON, _LAT, _MEMBERS).map(list), max_size=2)),
    _flat(_c(b"GEOPOS"), _KEYS, _MEMBERS, _MEMBERS),
    _flat(_c(b"GEODIST"), _KEYS, _MEMBERS, _MEMBERS, st.sampled_from([[], [b"km"], [b"mi"]])),
    _flat(_c(b"GEOHASH"), _KEYS, _MEMBERS, _MEMBERS),
    _flat(_c(b"GEOSEARCH"), _KEYS, _FROM, _BY, _OPTS),
    _flat(_c(b"GEOSEARCHSTORE"), _KEYS, _KEYS, _FROM, _BY,
          st.sampled_from([[], [b"STOREDIST"], [b"COUNT", b"2"], [b"STOREDIST", b"DESC"]])),
    _flat(st.sampled_from([b"GEORADIUS", b"GEORADIUS_RO"]), _KEYS, _LON, _LAT, _RADIUS, _UNIT,
          _OPTS),
    _flat(st.sampled_from([b"GEORADIUSBYMEMBER", b"GEORADIUSBYMEMBER_RO"]), _KEYS, _MEMBERS,
          _RADIUS, _UNIT, _OPTS),
    _flat(_c(b"GEORADIUS"), _KEYS, _LON, _LAT, _RADIUS, _UNIT,
          st.sampled_from([[b"STORE", b"h"], [b"STOREDIST", b"h"], [b"STORE", b"g"]]),
          st.sampled_from([[], [b"COUNT", b"2"], [b"DESC"]])),
    _flat(_c(b"ZRANGE"), _KEYS, _c(b"0"), _c(b"-1"), _c(b"WITHSCORES")),
    _flat(st.sampled_from([b"DEL", b"TYPE"]), _KEYS),
    _flat(_c(b"ZREM"), _KEYS, _MEMBERS),
)  # fmt: skip


@settings(
    max_examples=int(os.environ.get("SESHAT_DIFF_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(commands=st.lists(GEO_COMMAND, min_size=1, max_size=30))
def test_generated_geo_sequences(
    commands: list[list[bytes]], real_redis: RawRedis, local_client: LocalClient
) -> None:
    """Random geo commands over two keys and points on a small grid (many at equal distances,
    so ties in sorting and COUNT are exercised)."""
    check_sequence(
        real_redis, local_client, name="generated", commands=GENERATED_PRELUDE + commands
    )


GENERATED_PRELUDE = lines("""
    geoadd g 0 0 a 0.5 0.5 b 1 1 c 13.5 45 d -179.5 -1 e
""")
