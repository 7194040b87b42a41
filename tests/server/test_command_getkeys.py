"""COMMAND GETKEYS and GETKEYSANDFLAGS against a real redis-server: keys found by Redis 7's key
specs, SET's and BITFIELD's flags from their arguments, SORT's STORE key, and Redis's errors
(seshat/kv/key_specs.py, which ACL's key checks use too)."""

from __future__ import annotations

import pytest

from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import Pair

COMMANDS = [
    "SET k v", "SET k v GET", "SET k v NX get", "GET k", "MSET a 1 b 2 c 3", "LMOVE a b LEFT RIGHT",
    "ZUNIONSTORE d 2 a b", "ZUNIONSTORE d x a b", "ZUNIONSTORE d 5 a b", "ZUNIONSTORE d 0 a",
    "EVAL x 2 a b c", "EVAL x 0", "EVAL x -1 a", "EVALSHA x 1 a", "FCALL f 1 a b",
    "XREAD COUNT 2 STREAMS a b 0 0", "XREAD STREAMS a 0", "XREADGROUP GROUP g c STREAMS a >",
    "SORT a", "SORT a STORE d", "SORT a BY store GET store STORE d", "SORT a LIMIT 0 1 STORE d",
    "SORT a STORE d STORE e", "SORT_RO a BY x", "BITFIELD k GET u8 0", "BITFIELD k SET u8 0 1",
    "BITFIELD k GET u8 0 OVERFLOW SAT INCRBY u8 0 1", "BITFIELD k GET u8", "BITFIELD_RO k GET u8 0",
    "GEORADIUS a 1 2 3 m STORE d", "GEOSEARCHSTORE d s FROMLONLAT 1 2 BYRADIUS 1 m",
    "BLMPOP 0 2 a b LEFT", "LMPOP 1 a LEFT", "ZMPOP 2 a b MIN", "RENAME a b", "DEL a b c",
    "OBJECT ENCODING k", "MEMORY USAGE k", "CONFIG GET x", "CONFIG bogus", "PING",
    "NOSUCH a", "GET", "SET k", "PUBLISH ch m",
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("sub", ["GETKEYS", "GETKEYSANDFLAGS"])
def test_keys_and_flags_as_redis(pair: Pair, sub: str, command: str) -> None:
    pair.same(f"COMMAND {sub} {command}")
