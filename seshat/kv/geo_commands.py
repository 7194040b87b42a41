"""The GEO command handlers: GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE and the
GEORADIUS family, over the sorted-set storage of `zsets.py` (the math is in `geo.py`).

Argument handling follows Redis 7.0's geo.c: the source key's type is checked before any
argument is parsed, and a search's errors may depend on the data (FROMMEMBER of a missing
member), so the search commands that write (GEORADIUS ... STORE, GEOSEARCHSTORE) parse in
`apply`, which every replica runs identically; GEOADD validates its points in `prepare`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from seshat.kv import errors as E
from seshat.kv import geo as G
from seshat.kv import layout as L
from seshat.kv import zset_args as A
from seshat.kv.collections import RColl, WColl, open_read, open_write
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.numbers import parse_int
from seshat.kv.score_codec import parse_score
from seshat.kv.zsets import score_of, score_range, store_entries, zadd
from seshat.protocol.replies import NULL_ARRAY, ErrorReply, HumanDouble, Reply

_Coll = RColl | WColl

UNIT = ErrorReply("ERR unsupported unit provided. please use M, KM, FT, MI")
NEED_RADIUS = ErrorReply("ERR need numeric radius")
NEED_WIDTH = ErrorReply("ERR need numeric width")
NEED_HEIGHT = ErrorReply("ERR need numeric height")
NEGATIVE_RADIUS = ErrorReply("ERR radius cannot be negative")
NEGATIVE_BOX = ErrorReply("ERR height or width cannot be negative")
NO_MEMBER = ErrorReply("ERR could not decode requested zset member")
COUNT_POSITIVE = ErrorReply("ERR COUNT must be > 0")
ANY_NEEDS_COUNT = ErrorReply("ERR the ANY argument requires COUNT argument")

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}


def _unit(arg: bytes) -> float | ErrorReply:
    return _UNITS.get(arg.lower(), UNIT)


def _lonlat(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float] | ErrorReply:
    """extractLongLatOrReply."""
    lon = parse_score(lon_arg)
    if lon is None:
        return E.NOT_FLOAT
    lat = parse_score(lat_arg)
    if lat is None:
        return E.NOT_FLOAT
    if lon < G.LONG_MIN or lon > G.LONG_MAX or lat < G.LAT_MIN or lat > G.LAT_MAX:
        return ErrorReply(f"ERR invalid longitude,latitude pair {lon:f},{lat:f}")
    return lon, lat


def _coords(lon: float, lat: float) -> list[Reply]:
    return [HumanDouble(G.human(lon)), HumanDouble(G.human(lat))]


def _distance_text(d: float) -> bytes:
    return b"%.4f" % d


# ---------------------------------------------------------------------------------------------
# GEOADD


def _parse_geoadd(argv: list[bytes]) -> A.ZAddArgs | ErrorReply:
    nx = xx = ch = False
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"ch":
            ch = True
        else:
            break
        i += 1
    if (len(argv) - i) % 3 or (xx and nx):
        return E.SYNTAX
    pairs: list[tuple[float, bytes]] = []
    for j in range(i, len(argv), 3):
        point = _lonlat(argv[j], argv[j + 1])
        if isinstance(point, ErrorReply):
            return point
        pairs.append((float(G.score_of(*point)), argv[j + 2]))
    if not pairs:
        return E.SYNTAX  # ZADD with no elements, which GEOADD ends up calling
    return A.ZAddArgs(nx, xx, False, False, ch, False, pairs)


def prepare_geoadd(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    parsed = _parse_geoadd(argv)
    return parsed if isinstance(parsed, ErrorReply) else argv


def apply_geoadd(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    z = _parse_geoadd(argv)
    assert not isinstance(z, ErrorReply), argv
    return zadd(w, now_ms, db, argv[1], z)


# ---------------------------------------------------------------------------------------------
# GEOPOS, GEODIST, GEOHASH


def read_geopos(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if isinstance(coll, ErrorReply):
        return coll
    out: list[Reply] = []
    for member in argv[2:]:
        score = None if coll is None else score_of(coll, member)
        if score is None:
            out.append(NULL_ARRAY)
        else:
            out.append(_coords(*G.decode_score(score)))
    return out


def read_geodist(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    to_meter = 1.0
    if len(argv) == 5:
        unit = _unit(argv[4])
        if isinstance(unit, ErrorReply):
            return unit
        to_meter = unit
    elif len(argv) > 5:
        return E.SYNTAX
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if coll is None or isinstance(coll, ErrorReply):
        return coll
    s1 = score_of(coll, argv[2])
    s2 = score_of(coll, argv[3]) if s1 is not None else None
    if s1 is None or s2 is None:
        return None
    lon1, lat1 = G.decode_score(s1)
    lon2, lat2 = G.decode_score(s2)
    return _distance_text(G.distance(lon1, lat1, lon2, lat2) / to_meter)


def read_geohash(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    coll = open_read(view, now_ms, db, argv[1], L.TYPE_ZSET)
    if isinstance(coll, ErrorReply):
        return coll
    out: list[Reply] = []
    for member in argv[2:]:
        score = None if coll is None else score_of(coll, member)
        out.append(None if score is None else G.geohash_string(score))
    return out


# ---------------------------------------------------------------------------------------------
# Searches (georadiusGeneric)

_COORDS, _MEMBER, _SEARCH, _SEARCHSTORE = range(4)


@dataclass(slots=True)
class _Search:
    shape: G.Shape
    withdist: bool = False
    withhash: bool = False
    withcoord: bool = False
    desc: bool | None = None  # None: unsorted
    any: bool = False
    count: int = 0
    store: bytes | None = None
    storedist: bool = False


def _distance(args: list[bytes], s: G.Shape) -> ErrorReply | None:
    """extractDistanceOrReply: `<radius> <unit>` into the shape."""
    radius = parse_score(args[0])
    if radius is None:
        return NEED_RADIUS
    if radius < 0:
        return NEGATIVE_RADIUS
    s.radius = radius
    unit = _unit(args[1])
    if isinstance(unit, ErrorReply):
        return unit
    s.conversion = unit
    s.circle = True
    return None


def _box(args: list[bytes], s: G.Shape) -> ErrorReply | None:
    width = parse_score(args[0])
    if width is None:
        return NEED_WIDTH
    height = parse_score(args[1])
    if height is None:
        return NEED_HEIGHT
    if height < 0 or width < 0:
        return NEGATIVE_BOX
    s.width, s.height = width, height
    unit = _unit(args[2])
    if isinstance(unit, ErrorReply):
        return unit
    s.conversion = unit
    s.circle = False
    return None


def _member_point(coll: _Coll, member: bytes, s: G.Shape) -> ErrorReply | None:
    score = score_of(coll, member)
    if score is None:
        return NO_MEMBER
    s.lon, s.lat = G.decode_score(score)
    return None


def _parse_search(
    coll: _Coll | None, argv: list[bytes], mode: int, nostore: bool
) -> _Search | ErrorReply:
    shape = G.Shape()
    q = _Search(shape)
    if mode == _COORDS:
        base = 6
        point = _lonlat(argv[2], argv[3])
        if isinstance(point, ErrorReply):
            return point
        shape.lon, shape.lat = point
        err = _distance(argv[4:6], shape)
        if err is not None:
            return err
    elif mode == _MEMBER:
        base = 5
        if coll is not None:
            err = _member_point(coll, argv[2], shape) or _distance(argv[3:5], shape)
            if err is not None:
                return err
    elif mode == _SEARCH:
        base = 2
    else:
        base = 3
        q.store = argv[1]
    search = mode in (_SEARCH, _SEARCHSTORE)
    frommember = fromloc = byradius = bybox = False
    remaining = len(argv) - base
    i = 0
    while i < remaining:
        arg = argv[base + i].lower()
        rest = argv[base + i + 1 :]
        if arg == b"withdist":
            q.withdist = True
        elif arg == b"withhash":
            q.withhash = True
        elif arg == b"withcoord":
            q.withcoord = True
        elif arg == b"any":
            q.any = True
        elif arg == b"asc":
            q.desc = False
        elif arg == b"desc":
            q.desc = True
        elif arg == b"count" and i + 1 < remaining:
            count = parse_int(rest[0])
            if count is None:
                return E.NOT_INTEGER
            if count <= 0:
                return COUNT_POSITIVE
            q.count = count
            i += 1
        elif arg in (b"store", b"storedist") and i + 1 < remaining and not nostore and not search:
            q.store = rest[0]
            q.storedist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and mode == _SEARCHSTORE:
            q.storedist = True
        elif arg == b"frommember" and i + 1 < remaining and search and not fromloc:
            if coll is not None:
                err = _member_point(coll, rest[0], shape)
                if err is not None:
                    return err
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and i + 2 < remaining and search and not frommember:
            point = _lonlat(rest[0], rest[1])
            if isinstance(point, ErrorReply):
                return point
            shape.lon, shape.lat = point
            fromloc = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and search and not bybox:
            err = _distance(rest[:2], shape)
            if err is not None:
                return err
            byradius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and search and not byradius:
            err = _box(rest[:3], shape)
            if err is not None:
                return err
            bybox = True
            i += 3
        else:
            return E.SYNTAX
        i += 1
    if q.store is not None and (q.withdist or q.withhash or q.withcoord):
        what = "GEOSEARCHSTORE" if mode == _SEARCHSTORE else "STORE option in GEORADIUS"
        return ErrorReply(
            f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )
    name = argv[0].decode("utf-8", "surrogateescape")
    if search and not (frommember or fromloc):
        return ErrorReply(
            f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )
    if search and not (byradius or bybox):
        return ErrorReply(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")
    if q.any and not q.count:
        return ANY_NEEDS_COUNT
    return q


def _scanner(coll: _Coll) -> G.RangeScan:
    def scan(lo: int, hi: int) -> Iterator[tuple[float, bytes]]:
        return score_range(coll, float(lo), float(hi))

    return scan


def _run(coll: _Coll, q: _Search) -> tuple[list[G.Point], int]:
    """The points found and how many of them are replied (COUNT)."""
    desc = q.desc
    if q.count and desc is None and not q.any:
        desc = False
    points = G.search(q.shape, _scanner(coll), q.count if q.any else 0)
    returned = len(points) if q.count == 0 or len(points) < q.count else q.count
    if desc is not None and points:
        G.sort_points(points, desc, returned)
    return points[:returned], returned


def _reply(points: list[G.Point], q: _Search) -> Reply:
    out: list[Reply] = []
    options = q.withdist or q.withhash or q.withcoord
    for p in points:
        if not options:
            out.append(p.member)
            continue
        item: list[Reply] = [p.member]
        if q.withdist:
            item.append(_distance_text(p.dist / q.shape.conversion))
        if q.withhash:
            item.append(G.to_i64(p.score))
        if q.withcoord:
            item.append(_coords(p.lon, p.lat))
        out.append(item)
    return out


def _search_read(
    view: KeyspaceView, now_ms: int, db: int, argv: list[bytes], mode: int, key_at: int
) -> Reply:
    coll = open_read(view, now_ms, db, argv[key_at], L.TYPE_ZSET)
    if isinstance(coll, ErrorReply):
        return coll
    q = _parse_search(coll, argv, mode, nostore=True)
    if isinstance(q, ErrorReply):
        return q
    if coll is None:
        return []
    points, _n = _run(coll, q)
    return _reply(points, q)


def _search_write(
    w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes], mode: int, key_at: int
) -> Reply:
    coll = open_write(w, now_ms, db, argv[key_at], L.TYPE_ZSET, create=False)
    if isinstance(coll, ErrorReply):
        return coll
    q = _parse_search(coll, argv, mode, nostore=False)
    if isinstance(q, ErrorReply):
        return q
    if coll is None:
        if q.store is None:
            return []
        store_entries(w, now_ms, db, q.store, [], _store_event(argv))
        return 0
    points, returned = _run(coll, q)
    if q.store is None:
        return _reply(points, q)
    entries = [(p.dist / q.shape.conversion if q.storedist else p.score, p.member) for p in points]
    store_entries(w, now_ms, db, q.store, entries, _store_event(argv))
    return returned


def _store_event(argv: list[bytes]) -> bytes:
    """The keyspace event of a search's STORE, as Redis names it."""
    return b"geosearchstore" if argv[0].lower() == b"geosearchstore" else b"georadiusstore"


def read_geosearch(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _search_read(view, now_ms, db, argv, _SEARCH, 1)


def read_georadius_ro(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _search_read(view, now_ms, db, argv, _COORDS, 1)


def read_georadiusbymember_ro(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _search_read(view, now_ms, db, argv, _MEMBER, 1)


def apply_geosearchstore(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _search_write(w, now_ms, db, argv, _SEARCHSTORE, 2)


def apply_georadius(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _search_write(w, now_ms, db, argv, _COORDS, 1)


def apply_georadiusbymember(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    return _search_write(w, now_ms, db, argv, _MEMBER, 1)
