"""CONFIG GET and CONFIG SET of Redis 7.0.15's parameters, against a real redis-server.

Seshat lists every parameter Redis lists, with Redis's defaults, and validates a new value
with Redis's rules and error texts (seshat/config_params.py). The parameters Seshat decides
itself (port, maxmemory, appendfsync...) take only the value they have.
"""

from __future__ import annotations

import pytest

from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import Pair, parse

# Facts about one instance or one machine, or decided by Seshat: compared by name only.
OWN = {
    "port", "dir", "bind", "pidfile", "logfile", "unixsocket", "tcp-backlog", "maxclients",
    "appendonly", "daemonize", "supervised", "syslog-enabled", "dbfilename", "appenddirname",
    "requirepass", "notify-keyspace-events", "slowlog-log-slower-than", "slowlog-max-len",
    "latency-monitor-threshold", "save", "io-threads", "oom-score-adj", "io-threads-do-reads",
    "appendfsync",
}  # fmt: skip


def _pairs(raw: bytes) -> dict[bytes, bytes]:
    node, _ = parse(raw)
    values = [child.value or b"" for child in node.children]
    return dict(zip(values[::2], values[1::2], strict=True))


def test_every_parameter_redis_lists_is_listed_with_its_default(pair: Pair) -> None:
    theirs_raw, ours_raw = pair.both("CONFIG GET *")
    theirs, ours = _pairs(theirs_raw), _pairs(ours_raw)
    assert set(theirs) <= set(ours), sorted(set(theirs) - set(ours))
    differing = {
        name: (theirs[name], ours[name])
        for name in theirs
        if name.decode() not in OWN and theirs[name] != ours[name]
    }
    assert differing == {}


SEQUENCES = [
    # a sorted set's OBJECT ENCODING follows zset-max-listpack-entries (by either name)
    ["DEL z1 z2", "CONFIG SET zset-max-listpack-entries 0", "ZADD z1 1 a", "OBJECT ENCODING z1",
     "CONFIG SET zset-max-ziplist-entries 2", "ZADD z2 1 a 2 b", "OBJECT ENCODING z2",
     "CONFIG SET zset-max-listpack-entries 128", "DEL z1 z2"],
    # integers: valid, negative, out of range, not a number, several at once
    ["CONFIG SET timeout 70", "CONFIG GET timeout", "CONFIG SET timeout -1",
     "CONFIG SET timeout abc", "CONFIG SET timeout 1.5", "CONFIG SET hz 20 timeout 0",
     "CONFIG GET hz", "CONFIG SET hz 10", "CONFIG GET timeout",
     "CONFIG SET hz 20 timeout abc", "CONFIG GET hz", "CONFIG SET timeout 5 timeout 6",
     "CONFIG SET hz 30 nosuch 1", "CONFIG GET hz"],
    # yes/no
    ["CONFIG SET activerehashing no", "CONFIG GET activerehashing",
     "CONFIG SET activerehashing maybe", "CONFIG SET activerehashing YES",
     "CONFIG GET activerehashing"],
    # memory values with units, shown back in bytes
    ["CONFIG SET hash-max-listpack-value 1kb", "CONFIG GET hash-max-listpack-value",
     "CONFIG SET hash-max-listpack-value 2K", "CONFIG GET hash-max-listpack-value",
     "CONFIG SET hash-max-listpack-value -1", "CONFIG SET hash-max-listpack-value 5x",
     "CONFIG SET hash-max-ziplist-value 32", "CONFIG GET hash-max-listpack-value",
     "CONFIG SET hash-max-listpack-value 64", "CONFIG GET hash-max-ziplist-value"],
    # old names are the new ones
    ["CONFIG SET slave-priority 50", "CONFIG GET replica-priority",
     "CONFIG SET replica-priority 100", "CONFIG GET slave-priority"],
    # one of a list
    ["CONFIG SET loglevel warning", "CONFIG GET loglevel", "CONFIG SET loglevel loud",
     "CONFIG SET loglevel NOTICE", "CONFIG GET loglevel"],
    # refused outright
    ["CONFIG SET databases 4", "CONFIG SET dbfilename other.rdb", "CONFIG SET nosuch 1"],
    # what an unknown-to-Seshat tool would read
    ["CONFIG GET maxmemory-policy", "CONFIG GET maxmemory", "CONFIG GET lua-time-limit"],
]  # fmt: skip


def test_a_glob_finds_the_same_parameters(pair: Pair) -> None:
    for pattern in ("hash-max-*", "*slave*", "list-max-*", "*lazy*"):
        theirs, ours = pair.both(f"CONFIG GET {pattern}")
        assert _pairs(theirs) == _pairs(ours), pattern  # Redis's order is its dict's


@pytest.mark.parametrize("lines", SEQUENCES, ids=lambda lines: lines[0])
def test_set_and_get_answer_as_redis(pair: Pair, lines: list[str]) -> None:
    for line in lines:
        pair.same(line)


def test_what_seshat_decides_takes_only_its_value(pair: Pair) -> None:
    for line in ("CONFIG SET maxmemory 0", "CONFIG SET maxmemory-policy noeviction"):
        assert pair.seshat.call([w.encode() for w in line.split()]) == b"+OK\r\n"
    for line in ("CONFIG SET maxmemory 100mb", "CONFIG SET appendfsync everysec"):
        reply = pair.seshat.call([w.encode() for w in line.split()])
        assert reply.startswith(b"-ERR CONFIG SET failed (possibly related to argument"), reply
        assert b"does not change it at run time" in reply
    reply = pair.seshat.call([b"CONFIG", b"SET", b"maxmemory", b"lots"])
    assert b"argument must be a memory value" in reply  # Redis's own check comes first
    assert _pairs(pair.seshat.call([b"CONFIG", b"GET", b"maxmemory"])) == {b"maxmemory": b"0"}


def test_seshat_parameters_shown_by_config_get_are_immutable(pair: Pair) -> None:
    """CONFIG GET lists raft-port and the like; setting one is refused as Redis refuses an
    immutable parameter (Redis's introspection.tcl sets every listed one back to its value)."""
    shown = _pairs(pair.seshat.call([b"CONFIG", b"GET", b"raft-port"]))
    assert list(shown) == [b"raft-port"]
    reply = pair.seshat.call([b"CONFIG", b"SET", b"raft-port", shown[b"raft-port"]])
    assert reply == (
        b"-ERR CONFIG SET failed (possibly related to argument 'raft-port') - "
        b"can't set immutable config\r\n"
    )
