"""Geo commands through a real server with redis-py, in RESP2 and RESP3, beside redis-server:
the same redis-py calls give the same parsed results on both (coordinates, distances, hashes,
searches), and a stored search is a sorted set other commands read."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from tests.server.conftest import SeshatProcess
from tests.server.wire import start_redis_server

PLACES = [
    (13.361389, 38.115556, "Palermo"),
    (15.087269, 37.502669, "Catania"),
    (12.496366, 41.902782, "Rome"),
    (-0.127758, 51.507351, "London"),
]

CALLS: list[tuple[str, Callable[[redis.Redis], object]]] = [
    ("geoadd", lambda r: r.geoadd("sicily", [v for place in PLACES for v in place])),
    ("geoadd nx ch", lambda r: r.geoadd("sicily", [13.0, 38.0, "Palermo"], nx=True, ch=True)),
    ("type", lambda r: r.type("sicily")),
    ("geopos", lambda r: r.geopos("sicily", "Palermo", "Atlantis", "London")),
    ("geodist km", lambda r: r.geodist("sicily", "Palermo", "Catania", unit="km")),
    ("geodist missing", lambda r: r.geodist("sicily", "Palermo", "Atlantis")),
    ("geohash", lambda r: r.geohash("sicily", "Palermo", "Rome", "Atlantis")),
    ("geosearch", lambda r: r.geosearch(
        "sicily", longitude=15, latitude=37, radius=200, unit="km", sort="ASC",
        withdist=True, withcoord=True, withhash=True)),
    ("geosearch box", lambda r: r.geosearch(
        "sicily", member="Rome", width=1000, height=1000, unit="km", sort="DESC", count=2)),
    ("geosearchstore", lambda r: r.geosearchstore(
        "near", "sicily", member="Rome", radius=500, unit="km", storedist=True)),
    ("stored", lambda r: r.zrange("near", 0, -1, withscores=True)),
    ("georadius", lambda r: r.georadius("sicily", 15, 37, 300, unit="km", withdist=True, sort="ASC")),
    ("georadiusbymember", lambda r: r.georadiusbymember("sicily", "Palermo", 100, unit="km")),
    ("georadius_ro", lambda r: r.execute_command("GEORADIUS_RO", "sicily", 15, 37, 300, "km")),
]  # fmt: skip


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from start_redis_server(tmp_path_factory.mktemp("redis"))


def _run(client: redis.Redis) -> list[object]:
    client.flushall()
    out: list[object] = []
    for _, call in CALLS:
        try:
            out.append(call(client))
        except redis.ResponseError as error:
            out.append(("error", str(error)))
    return out


@pytest.mark.parametrize("protocol", [2, 3])
def test_geo_through_redis_py_as_redis(
    seshat_server: SeshatProcess, redis_port: int, protocol: int
) -> None:
    ours = _run(seshat_server.client(protocol=protocol))
    theirs = _run(redis.Redis(port=redis_port, protocol=protocol, socket_timeout=10))
    for (name, _), mine, real in zip(CALLS, ours, theirs, strict=True):
        assert mine == real, name
    assert ours[2] in (b"zset", "zset")
