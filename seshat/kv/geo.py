"""Geo math, as Redis 7.0's geohash.c, geohash_helper.c and the search half of geo.c compute it.

A point is stored as a sorted-set member whose score is the 52-bit interleaved geohash (step 26)
of (longitude, latitude) over longitude [-180, 180] and latitude [-85.05112878, 85.05112878]:
longitude bits at odd positions, latitude bits at even positions. Every function here follows
Redis's C operation for operation (the same IEEE double arithmetic and the same libm for sin,
cos, asin and sqrt), so the scores, decoded coordinates, distances, the cells a search scans and
the order it finds points in are Redis's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

STEP_MAX: Final = 26
LONG_MIN: Final = -180.0
LONG_MAX: Final = 180.0
LAT_MIN: Final = -85.05112878
LAT_MAX: Final = 85.05112878
EARTH_RADIUS_IN_METERS: Final = 6372797.560856
MERCATOR_MAX: Final = 20037726.37
_D_R: Final = math.pi / 180.0
_M64: Final = (1 << 64) - 1
_B63: Final = 1 << 63
_EVEN: Final = 0x5555555555555555
_ODD: Final = 0xAAAAAAAAAAAAAAAA
_ALPHABET: Final = b"0123456789bcdefghjkmnpqrstuvwxyz"

Range = tuple[float, float]  # (min, max)
WGS84_LONG: Final[Range] = (LONG_MIN, LONG_MAX)
WGS84_LAT: Final[Range] = (LAT_MIN, LAT_MAX)


def _trunc_i64(x: float) -> int:
    """x86-64 cvttsd2si: truncation, or the 'integer indefinite' value out of range."""
    if math.isnan(x) or x >= 2.0**63 or x < -(2.0**63):
        return -_B63
    return int(x)


def to_u64(x: float) -> int:
    """C's `(uint64_t)x` as gcc compiles it on x86-64 (what Redis does to a score)."""
    if x < 2.0**63:
        return _trunc_i64(x) & _M64
    return (_trunc_i64(x - 2.0**63) & _M64) ^ _B63


def to_i64(x: float) -> int:
    """C's `(long long)x` on x86-64."""
    return _trunc_i64(x)


def _spread(v: int) -> int:
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & 0x5555555555555555


def _squash(v: int) -> int:
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    return (v | (v >> 16)) & 0x00000000FFFFFFFF


def interleave(lat_bits: int, long_bits: int) -> int:
    return _spread(lat_bits) | (_spread(long_bits) << 1)


@dataclass(frozen=True, slots=True)
class Hash:
    bits: int
    step: int

    def is_zero(self) -> bool:
        return self.bits == 0 and self.step == 0


ZERO: Final = Hash(0, 0)


@dataclass(frozen=True, slots=True)
class Area:
    long_min: float
    long_max: float
    lat_min: float
    lat_max: float


def encode(
    lon: float, lat: float, step: int, long_r: Range = WGS84_LONG, lat_r: Range = WGS84_LAT
) -> Hash | None:
    """geohashEncode: None where Redis returns 0."""
    if lon > LONG_MAX or lon < LONG_MIN or lat > LAT_MAX or lat < LAT_MIN:
        return None
    if lat < lat_r[0] or lat > lat_r[1] or lon < long_r[0] or lon > long_r[1]:
        return None
    lat_offset = (lat - lat_r[0]) / (lat_r[1] - lat_r[0])
    long_offset = (lon - long_r[0]) / (long_r[1] - long_r[0])
    lat_offset *= float(1 << step)
    long_offset *= float(1 << step)
    # C converts the doubles to uint32_t arguments of interleave64.
    return Hash(interleave(int(lat_offset), int(long_offset)), step)


def align52(h: Hash) -> int:
    return (h.bits << (52 - h.step * 2)) & _M64


def score_of(lon: float, lat: float) -> int:
    """The sorted-set score GEOADD stores for a (valid) point."""
    h = encode(lon, lat, STEP_MAX)
    assert h is not None, (lon, lat)
    return align52(h)


def decode_area(h: Hash, long_r: Range = WGS84_LONG, lat_r: Range = WGS84_LAT) -> Area:
    lat_scale = lat_r[1] - lat_r[0]
    long_scale = long_r[1] - long_r[0]
    ilato = _squash(h.bits)
    ilono = _squash(h.bits >> 1)
    div = float(1 << h.step)
    return Area(
        long_r[0] + (ilono * 1.0 / div) * long_scale,
        long_r[0] + ((ilono + 1) * 1.0 / div) * long_scale,
        lat_r[0] + (ilato * 1.0 / div) * lat_scale,
        lat_r[0] + ((ilato + 1) * 1.0 / div) * lat_scale,
    )


def decode_score(score: float) -> tuple[float, float]:
    """decodeGeohash: a score as (longitude, latitude), the centre of its step-26 cell."""
    a = decode_area(Hash(to_u64(score), STEP_MAX))
    lon = (a.long_min + a.long_max) / 2
    lon = min(max(lon, LONG_MIN), LONG_MAX)
    lat = (a.lat_min + a.lat_max) / 2
    lat = min(max(lat, LAT_MIN), LAT_MAX)
    return lon, lat


def geohash_string(score: float) -> bytes:
    """GEOHASH's 11 characters: re-encoded over latitude [-90, 90]; the last is always '0'."""
    lon, lat = decode_score(score)
    h = encode(lon, lat, 26, (-180.0, 180.0), (-90.0, 90.0))
    bits = 0 if h is None else h.bits
    out = bytearray()
    for i in range(11):
        idx = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
        out.append(_ALPHABET[idx])
    return bytes(out)


def _deg_rad(ang: float) -> float:
    return ang * _D_R


def _rad_deg(ang: float) -> float:
    return ang / _D_R


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance (7.0): the haversine great-circle distance in meters."""
    lat1r = _deg_rad(lat1)
    lon1r = _deg_rad(lon1)
    lat2r = _deg_rad(lat2)
    lon2r = _deg_rad(lon2)
    u = math.sin((lat2r - lat1r) / 2)
    v = math.sin((lon2r - lon1r) / 2)
    return (
        2.0
        * EARTH_RADIUS_IN_METERS
        * math.asin(math.sqrt(u * u + math.cos(lat1r) * math.cos(lat2r) * v * v))
    )


# ---------------------------------------------------------------------------------------------
# Neighbours and the search cells


def _move_x(h: Hash, d: int) -> Hash:
    x = h.bits & _ODD
    y = h.bits & _EVEN
    zz = _EVEN >> (64 - h.step * 2)
    if d > 0:
        x = (x + (zz + 1)) & _M64
    else:
        x = ((x | zz) - (zz + 1)) & _M64
    x &= _ODD >> (64 - h.step * 2)
    return Hash(x | y, h.step)


def _move_y(h: Hash, d: int) -> Hash:
    x = h.bits & _ODD
    y = h.bits & _EVEN
    zz = _ODD >> (64 - h.step * 2)
    if d > 0:
        y = (y + (zz + 1)) & _M64
    else:
        y = ((y | zz) - (zz + 1)) & _M64
    y &= _EVEN >> (64 - h.step * 2)
    return Hash(x | y, h.step)


def neighbours(h: Hash) -> dict[str, Hash]:
    return {
        "east": _move_x(h, 1),
        "west": _move_x(h, -1),
        "south": _move_y(h, -1),
        "north": _move_y(h, 1),
        "north_west": _move_y(_move_x(h, -1), 1),
        "south_west": _move_y(_move_x(h, -1), -1),
        "north_east": _move_y(_move_x(h, 1), 1),
        "south_east": _move_y(_move_x(h, 1), -1),
    }


def estimate_steps(range_meters: float, lat: float) -> int:
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


@dataclass(slots=True)
class Shape:
    """GeoShape: a circle (`radius`) or a box (`width`, `height`), in the unit of `conversion`."""

    lon: float = 0.0
    lat: float = 0.0
    conversion: float = 1.0
    circle: bool = True
    radius: float = 0.0
    width: float = 0.0
    height: float = 0.0


def bounding_box(s: Shape) -> tuple[float, float, float, float]:
    height = s.conversion * (s.radius if s.circle else s.height / 2)
    width = s.conversion * (s.radius if s.circle else s.width / 2)
    lat_delta = _rad_deg(height / EARTH_RADIUS_IN_METERS)
    long_delta_top = _rad_deg(
        width / EARTH_RADIUS_IN_METERS / math.cos(_deg_rad(s.lat + lat_delta))
    )
    long_delta_bottom = _rad_deg(
        width / EARTH_RADIUS_IN_METERS / math.cos(_deg_rad(s.lat - lat_delta))
    )
    southern = s.lat < 0
    delta = long_delta_bottom if southern else long_delta_top
    return s.lon - delta, s.lat - lat_delta, s.lon + delta, s.lat + lat_delta


def search_cells(s: Shape) -> list[Hash]:
    """geohashCalculateAreasByShapeWGS84: the centre cell and its 8 neighbours, in the order
    membersOfAllNeighbors scans them, useless ones zeroed."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(s)
    if s.circle:
        radius_meters = s.radius
    else:
        radius_meters = math.sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2))
    radius_meters *= s.conversion
    steps = estimate_steps(radius_meters, s.lat)
    h = encode(s.lon, s.lat, steps)
    assert h is not None
    n = neighbours(h)
    north, south = decode_area(n["north"]), decode_area(n["south"])
    east, west = decode_area(n["east"]), decode_area(n["west"])
    decrease = (
        north.lat_max < max_lat
        or south.lat_min > min_lat
        or east.long_max < max_lon
        or west.long_min > min_lon
    )
    if steps > 1 and decrease:
        steps -= 1
        h = encode(s.lon, s.lat, steps)
        assert h is not None
        n = neighbours(h)
    area = decode_area(h)
    if steps >= 2:
        if area.lat_min < min_lat:
            n["south"] = n["south_west"] = n["south_east"] = ZERO
        if area.lat_max > max_lat:
            n["north"] = n["north_east"] = n["north_west"] = ZERO
        if area.long_min < min_lon:
            n["west"] = n["south_west"] = n["north_west"] = ZERO
        if area.long_max > max_lon:
            n["east"] = n["south_east"] = n["north_east"] = ZERO
    order = (
        "north",
        "south",
        "east",
        "west",
        "north_east",
        "north_west",
        "south_east",
        "south_west",
    )
    return [h] + [n[k] for k in order]


def within(s: Shape, score: float) -> tuple[float, float, float] | None:
    """geoWithinShape: (lon, lat, distance in meters) of a score inside the shape, else None."""
    lon, lat = decode_score(score)
    if s.circle:
        d = distance(s.lon, s.lat, lon, lat)
        return None if d > s.radius * s.conversion else (lon, lat, d)
    width_m, height_m = s.width * s.conversion, s.height * s.conversion
    lon_distance = distance(lon, lat, s.lon, lat)
    lat_distance = distance(lon, lat, lon, s.lat)
    if lon_distance > width_m / 2 or lat_distance > height_m / 2:
        return None
    return lon, lat, distance(s.lon, s.lat, lon, lat)


@dataclass(slots=True)
class Point:
    member: bytes
    score: float
    lon: float
    lat: float
    dist: float


RangeScan = Callable[[int, int], Iterator[tuple[float, bytes]]]  # (min, max): min <= s < max


def search(s: Shape, scan: RangeScan, limit: int) -> list[Point]:
    """membersOfAllNeighbors: the points inside the shape in Redis's (unsorted) order; with a
    `limit` (COUNT ... ANY) it stops once that many are found."""
    cells = search_cells(s)
    found: list[Point] = []
    last = 0
    for i, cell in enumerate(cells):
        if cell.is_zero():
            continue
        if last and cell == cells[last]:
            continue
        if found and limit and len(found) >= limit:
            break
        lo = align52(cell)
        hi = align52(Hash(cell.bits + 1, cell.step))
        for score, member in scan(lo, hi):
            if found and limit and len(found) >= limit:
                break
            hit = within(s, score)
            if hit is not None:
                found.append(Point(member, score, hit[0], hit[1], hit[2]))
        last = i
    return found


# ---------------------------------------------------------------------------------------------
# Sorting, as Redis does it


def _cmp(a: Point, b: Point) -> int:
    if a.dist > b.dist:
        return 1
    if a.dist == b.dist:
        return 0
    return -1


def sort_points(points: list[Point], desc: bool, returned: int) -> None:
    """qsort (glibc's stable merge sort) of all, or Redis's pqsort when only the first
    `returned` points are replied."""
    if returned == len(points):
        # glibc's qsort is a stable merge sort here: ties keep the scan order either way
        points.sort(key=(lambda p: -p.dist) if desc else (lambda p: p.dist))
        return
    cmp = (lambda a, b: -_cmp(a, b)) if desc else _cmp
    pqsort(points, cmp, 0, returned - 1)


_ES: Final = 2  # element size in pqsort's address arithmetic (only comparisons use it)


def pqsort(a: list[Point], cmp: Callable[[Point, Point], int], lrange: int, rrange: int) -> None:
    """Redis's pqsort.c (NetBSD qsort sorting only what covers [lrange, rrange])."""
    _pqsort(a, 0, len(a), cmp, lrange * _ES, (rrange + 1) * _ES - 1)


def _med3(a: list[Point], i: int, j: int, k: int, cmp: Callable[[Point, Point], int]) -> int:
    if cmp(a[i], a[j]) < 0:
        if cmp(a[j], a[k]) < 0:
            return j
        return k if cmp(a[i], a[k]) < 0 else i
    if cmp(a[j], a[k]) > 0:
        return j
    return i if cmp(a[i], a[k]) < 0 else k


def _swap(a: list[Point], i: int, j: int) -> None:
    a[i], a[j] = a[j], a[i]


def _vecswap(a: list[Point], i: int, j: int, n: int) -> None:
    for k in range(n):
        _swap(a, i + k, j + k)


def _insertion(a: list[Point], base: int, n: int, cmp: Callable[[Point, Point], int]) -> None:
    for pm in range(base + 1, base + n):
        pl = pm
        while pl > base and cmp(a[pl - 1], a[pl]) > 0:
            _swap(a, pl, pl - 1)
            pl -= 1


def _pqsort(
    a: list[Point], base: int, n: int, cmp: Callable[[Point, Point], int], lr: int, rr: int
) -> None:
    while True:
        swap_cnt = False
        if n < 7:
            _insertion(a, base, n, cmp)
            return
        pm = base + n // 2
        if n > 7:
            pl = base
            pn = base + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(a, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(a, pm - d, pm, pm + d, cmp)
                pn = _med3(a, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(a, pl, pm, pn, cmp)
        _swap(a, base, pm)
        pa = pb = base + 1
        pc = pd = base + n - 1
        while True:
            while pb <= pc:
                r = cmp(a[pb], a[base])
                if r > 0:
                    break
                if r == 0:
                    swap_cnt = True
                    _swap(a, pa, pb)
                    pa += 1
                pb += 1
            while pb <= pc:
                r = cmp(a[pc], a[base])
                if r < 0:
                    break
                if r == 0:
                    swap_cnt = True
                    _swap(a, pc, pd)
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            _swap(a, pb, pc)
            swap_cnt = True
            pb += 1
            pc -= 1
        if not swap_cnt:
            _insertion(a, base, n, cmp)
            return
        pn = base + n
        r = min(pa - base, pb - pa)
        _vecswap(a, base, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(a, pb, pn - r, r)
        r = pb - pa
        if r > 1:
            lo, hi = base * _ES, (base + r) * _ES - 1
            if not ((lr < lo and rr < lo) or (lr > hi and rr > hi)):
                _pqsort(a, base, r, cmp, lr, rr)
        r = pd - pc
        if r > 1:
            base = pn - r
            n = r
            lo, hi = base * _ES, (base + r) * _ES - 1
            if not ((lr < lo and rr < lo) or (lr > hi and rr > hi)):
                continue
        return


def human(x: float) -> bytes:
    """Redis's LD_STR_HUMAN: "%.17Lf" without trailing zeros or dot, "-0" as "0"."""
    text = b"%.17f" % x
    if b"." in text:
        text = text.rstrip(b"0").rstrip(b".")
    return b"0" if text == b"-0" else text
