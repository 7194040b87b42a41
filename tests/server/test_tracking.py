"""CLIENT TRACKING against redis-server 7.0, frame for frame on the wire: what a tracking
connection receives (RESP3 `invalidate` pushes, or `__redis__:invalidate` messages on the
connection it redirects to) when another connection changes what it read, in the default,
OPTIN, OPTOUT and BCAST modes, on flushes, and the CLIENT TRACKING/CACHING/GETREDIR/
TRACKINGINFO replies and errors.

Each step is `(who, command)`. After every step every connection sends `PING`, the one that
ran the step first, and everything it received before PING's answer is that step's output for
it: an invalidation is queued on the tracking connection before the write that caused it is
answered, so it comes before the PING sent after that answer.
`$ID:x` in a command is replaced by connection x's own client id on each server.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterator

import pytest

from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import WireClient, encode_command

Step = tuple[str, str]
TGET_LIBRARY = "#!lua name=tlib\nredis.register_function('tget', function(k) return redis.call('get', k[1]) end)"

SCENARIOS: dict[str, tuple[dict[str, int], list[Step]]] = {
    "default mode": (
        {"a": 3, "b": 3},
        [
            ("a", "CLIENT TRACKING on"),
            ("b", "SET k 1"),
            ("a", "GET k"),
            ("b", "SET k 2"),
            ("b", "SET k 3"),
            ("a", "MGET k j"),
            ("a", "EXISTS k"),
            ("b", "MSET k 4 j 5"),
            ("a", "HGET h f"),
            ("b", "HSET h f v"),
            ("a", "STRLEN k"),
            ("b", "DEL k"),
            ("a", "GET k"),
            ("b", "APPEND other x"),
            ("a", "CLIENT TRACKING off"),
            ("a", "GET k"),
            ("b", "SET k 5"),
        ],
    ),
    "reads inside a transaction": (
        {"a": 3, "b": 3},
        [
            ("a", "CLIENT TRACKING on"),
            ("b", "SET k 1"),
            ("a", "MULTI; GET k; HGET h f; SET other 1; EXEC"),
            ("b", "SET k 2"),
            ("b", "HSET h f v"),
            ("b", "SET k 3"),
            ("a", "MULTI; GET k; SET k 5; EXEC"),  # its own write after its read
            ("b", "SET k 6"),
            ("a", "WATCH k"),
            ("b", "SET k 7"),
            ("a", "MULTI; GET k; EXEC"),  # aborted: nothing read, nothing remembered
            ("b", "SET k 8"),
            ("a", "MULTI; MGET k j; EXEC"),
            ("b", "MSET k 9 j 10"),
        ],
    ),
    "a client's own writes": (
        {"a": 3},
        [
            ("a", "CLIENT TRACKING on"),
            ("a", "GET k"),
            ("a", "SET k 1"),
            ("a", "GET k"),
            ("a", "INCR k"),
        ],
    ),
    "optin and optout": (
        {"a": 3, "b": 3},
        [
            ("a", "CLIENT TRACKING on optin"),
            ("a", "GET x"),
            ("a", "CLIENT CACHING yes"),
            ("a", "GET y"),
            ("a", "GET z"),
            ("b", "MSET x 1 y 2 z 3"),
            ("a", "CLIENT TRACKINGINFO"),
            ("a", "CLIENT CACHING no"),
            ("a", "CLIENT TRACKING off"),
            ("a", "CLIENT TRACKING on optout"),
            ("a", "CLIENT CACHING no"),
            ("a", "GET x"),
            ("a", "GET y"),
            ("b", "MSET x 1 y 2"),
            ("a", "CLIENT CACHING yes"),
            ("a", "CLIENT TRACKING on optin"),
        ],
    ),
    "broadcast": (
        {"a": 3, "b": 3},
        [
            ("a", "CLIENT TRACKING on bcast prefix user: prefix cart:"),
            ("a", "CLIENT TRACKINGINFO"),
            ("b", "SET user:1 x"),
            ("b", "SET other x"),
            ("b", "MSET cart:9 1 user:2 2"),
            ("a", "CLIENT TRACKING on bcast prefix user:1"),
            ("a", "CLIENT TRACKING on bcast prefix session:"),
            ("b", "SET session:a 1"),
            ("a", "CLIENT TRACKING on"),
            ("a", "CLIENT TRACKING off"),
            ("a", "CLIENT TRACKING on bcast"),
            ("b", "SET anything 1"),
            ("b", "DEL anything nothing"),
        ],
    ),
    "keys read before switching to broadcast": (
        {"a": 3, "b": 3},
        [
            ("a", "CLIENT TRACKING on"),
            ("a", "MGET x y z"),
            ("a", "CLIENT TRACKING off"),
            ("a", "CLIENT TRACKING on bcast"),
            ("b", "MSET x 1 y 2 z 3"),
            ("a", "CLIENT TRACKING off"),
            ("a", "CLIENT TRACKING on"),
            ("a", "GET w"),
            ("b", "MSET w 1 x 2"),
        ],
    ),
    "noloop": (
        {"a": 3, "b": 3, "c": 2, "d": 2},
        [
            ("a", "CLIENT TRACKING on noloop"),
            ("a", "MGET k j"),
            ("a", "SET k 1"),
            ("b", "SET j 1"),
            ("a", "GET k"),
            ("b", "SET k 2"),
            ("a", "MULTI; GET j; SET j 3; EXEC"),
            ("b", "SET j 4"),
            ("a", "CLIENT TRACKING off"),
            ("a", "CLIENT TRACKING on bcast noloop prefix k"),
            ("a", "MSET k1 1 k2 2"),
            ("b", "MSET k1 1 k3 3"),
            ("a", "SET k4 4"),
            ("d", "SUBSCRIBE __redis__:invalidate"),
            ("c", "CLIENT TRACKING on bcast noloop redirect $ID:d"),
            ("c", "MSET a 1 b 2"),
            ("b", "SET a 3"),
        ],
    ),
    "scripts": (
        {"a": 3, "b": 3},
        [
            ("a", "CLIENT TRACKING on"),
            ("a", "EVAL \"redis.call('set', 'k3', 'bar')\" 2 k1 k2"),
            ("b", "MSET k2 1 k1 1"),
            ("a", "EVAL \"redis.call('get', 'k3')\" 2 k1 k2"),
            ("b", "MSET k2 2 k1 2"),
            ("a", "EVAL_RO \"redis.call('ping')\" 2 k1 k2"),
            ("b", "MSET k2 3 k1 3"),
            ("a", "EVAL_RO \"redis.call('get', 'k1')\" 2 k1 k2"),
            ("b", "MSET k2 4 k1 4"),
            ("a", f'FUNCTION LOAD REPLACE "{TGET_LIBRARY}"'),
            ("a", "FCALL tget 1 k1"),
            ("b", "SET k1 5"),
            ("a", "EVAL \"redis.call('get', KEYS[1]) redis.call('set', KEYS[1], 'x')\" 1 k4"),
            ("b", "SET k4 y"),
            ("a", "FUNCTION DELETE tlib"),
        ],
    ),
    "expiry": (
        {"a": 3, "b": 3},
        [
            ("a", "CLIENT TRACKING on"),
            ("b", "SET k 1 PX 100"),
            ("a", "GET k"),
            ("b", "SLEEPMS 600"),
            ("a", "GET k"),
        ],
    ),
    "flushes": (
        {"a": 3, "b": 3},
        [
            ("a", "CLIENT TRACKING on"),
            ("a", "GET k"),
            ("b", "FLUSHALL"),
            ("a", "GET k"),
            ("b", "FLUSHDB"),
            ("b", "SET k 1"),
        ],
    ),
    "redirect to a RESP2 subscriber": (
        {"a": 2, "b": 2, "c": 2},
        [
            ("c", "SUBSCRIBE __redis__:invalidate"),
            ("a", "CLIENT TRACKING on redirect $ID:c"),
            ("a", "CLIENT GETREDIR"),
            ("a", "GET k"),
            ("b", "SET k 1"),
            ("a", "MGET k j"),
            ("b", "FLUSHALL"),
        ],
    ),
    "redirect to a RESP3 client": (
        {"a": 3, "b": 3, "c": 3},
        [
            ("a", "CLIENT TRACKING on redirect $ID:c"),
            ("a", "GET k"),
            ("b", "SET k 1"),
        ],
    ),
    "errors": (
        {"a": 3},
        [
            ("a", "CLIENT TRACKING"),
            ("a", "CLIENT TRACKING maybe"),
            ("a", "CLIENT TRACKING on bogus"),
            ("a", "CLIENT TRACKING on redirect x"),
            ("a", "CLIENT TRACKING on redirect 999999"),
            ("a", "CLIENT TRACKING on prefix p"),
            ("a", "CLIENT TRACKING on bcast optin"),
            ("a", "CLIENT TRACKING on optin optout"),
            ("a", "CLIENT TRACKING on bcast prefix a prefix ab"),
            ("a", "CLIENT CACHING yes"),
            ("a", "CLIENT CACHING"),
            ("a", "CLIENT GETREDIR"),
            ("a", "CLIENT TRACKINGINFO"),
            ("a", "CLIENT TRACKING on optin"),
            ("a", "CLIENT GETREDIR"),
            ("a", "CLIENT CACHING no"),
            ("a", "CLIENT CACHING maybe"),
            ("a", "CLIENT TRACKING on optout"),
            ("a", "CLIENT TRACKING on bcast"),
            ("a", "CLIENT TRACKING off"),
            ("a", "CLIENT TRACKING on bcast prefix ab"),
            ("a", "CLIENT TRACKING on bcast prefix a"),
            ("a", "CLIENT TRACKINGINFO"),
            ("a", "CLIENT TRACKING on bcast prefix ac"),
            ("a", "CLIENT TRACKINGINFO"),
        ],
    ),
}


class Side:
    """One server's connections for a scenario."""

    def __init__(self, port: int, protocols: dict[str, int]) -> None:
        self.conns = {name: WireClient(port) for name in protocols}
        self.ids: dict[str, bytes] = {}
        for name, protocol in protocols.items():
            conn = self.conns[name]
            conn.call([b"HELLO", str(protocol).encode()])
            self.ids[name] = conn.call([b"CLIENT", b"ID"])[1:-2]
        self.conns[next(iter(protocols))].call([b"FLUSHALL"])
        self.drain()

    def step(self, who: str, command: str) -> dict[str, list[bytes]]:
        if command.startswith("SLEEPMS "):  # let a TTL pass; both servers expire it by then
            time.sleep(int(command.split()[1]) / 1000)
            return self.drain()
        ids = False
        for part in command.split(";"):  # `MULTI; GET k; EXEC`: sent at once (PING would queue)
            argv = []
            for word in shlex.split(part):
                if word.startswith("$ID:"):
                    argv.append(self.ids[word[4:]])
                else:
                    argv.append(word.encode())
            self.conns[who].send(encode_command(argv))
            ids = ids or b"GETREDIR" in argv[1:2] or b"TRACKINGINFO" in argv
        return self.drain(first=who, ids=ids)

    def drain(self, first: str = "", ids: bool = False) -> dict[str, list[bytes]]:
        """Each connection's frames up to its PING's answer; `first` (the one that ran the
        step) first, so that its command has been answered (and applied) before the others
        are asked; `ids`: client ids in the answers are shown as `$ID:name`."""
        out = {}
        order = sorted(self.conns, key=lambda name: name != first)
        for name in order:
            conn = self.conns[name]
            conn.send(encode_command([b"PING", b"--end--"]))
            frames = []
            while True:
                frame = conn.reply()
                if b"--end--" in frame:
                    break
                for other, cid in self.ids.items() if ids else ():  # ids differ by server
                    frame = frame.replace(b":%s\r\n" % cid, b":$ID:%s\r\n" % other.encode())
                frames.append(frame)
            out[name] = frames
        return out

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()


@pytest.fixture
def sides(redis_port: int, seshat_port: int) -> Iterator[list[int]]:  # noqa: F811
    yield [redis_port, seshat_port]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_tracking_as_in_redis(name: str, sides: list[int]) -> None:
    protocols, steps = SCENARIOS[name]
    redis_side, seshat_side = (Side(port, protocols) for port in sides)
    try:
        for i, (who, command) in enumerate(steps):
            theirs = redis_side.step(who, command)
            ours = seshat_side.step(who, command)
            assert ours == theirs, f"{name}: step #{i} {who}: {command}"
    finally:
        redis_side.close()
        seshat_side.close()
