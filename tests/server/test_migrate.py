"""MIGRATE against Redis 7.0.15: the same commands, replies and resulting state.

Goal: a client that moves keys with MIGRATE cannot tell Seshat from redis-server. Each case
runs twice: source redis-server -> target redis-server B, and source Seshat -> target
redis-server B' (fresh, the same setup); the MIGRATE replies must be byte for byte equal, and
so must both sources and both targets afterwards (values compared by content: a payload
Seshat built may be encoded differently, not mean something else). Then what only Seshat has:
a Seshat target, the delete that refuses a key modified while the target answered, MIGRATE
inside MULTI and scripts. Real processes on free ports; every server is stopped at the end.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis

from seshat.migrate import KEY_MODIFIED, NOT_IN_MULTI
from tests.server.conftest import SeshatProcess
from tests.server.wire import WireClient, encode_command, free_port, start_redis_server
from tests.waiting import poll_until

PASSWORD = "sekret"
HOST = "127.0.0.1"
DBS = (0, 3)  # the DBs whose state is compared (3: a destination-db other than 0)
TTL_MS = 100_000


@dataclass
class Side:
    """One source and its targets: a plain redis-server and a password-protected one."""

    name: str
    source_port: int
    target_port: int
    locked_port: int  # requirepass PASSWORD
    wire: WireClient  # the connection MIGRATE runs on

    def client(self, port: int, db: int = 0) -> redis.Redis:
        password = PASSWORD if port == self.locked_port else None
        return redis.Redis(port=port, db=db, password=password, socket_timeout=10)

    def flush(self) -> None:
        """Empty every server. On the targets, also drop the connection a redis-server source
        caches per target (its `migrate_cached_sockets`, kept 10 s): a cached connection
        remembers an AUTH and a SELECT, which Seshat's fresh one per MIGRATE does not."""
        for port in (self.source_port, self.target_port, self.locked_port):
            with self.client(port) as c:
                c.flushall()
                if port != self.source_port:
                    c.client_kill_filter(_type="normal", skipme=True)


@dataclass
class Env:
    redis: Side
    seshat: Side

    def sides(self) -> tuple[Side, Side]:
        return self.redis, self.seshat


def _redis(tmp: pytest.TempPathFactory, stack: list[Iterator[int]], name: str) -> int:
    servers = start_redis_server(tmp.mktemp(name))
    stack.append(servers)
    return next(servers)


def _lock(port: int) -> int:
    with redis.Redis(port=port) as c:
        c.config_set("requirepass", PASSWORD)
    return port


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    stack: list[Iterator[int]] = []
    base = tmp_path_factory.mktemp("seshat")
    node = SeshatProcess(port=free_port(), data_dir=base / "data", args=[], log_path=base / "log")
    try:
        ports = [_redis(tmp_path_factory, stack, f"r{i}") for i in range(5)]
        node.start()
        built = Env(
            Side("redis", ports[0], ports[1], _lock(ports[2]), WireClient(ports[0])),
            Side("seshat", node.port, ports[3], _lock(ports[4]), WireClient(node.port)),
        )
        yield built
        for side in built.sides():
            side.wire.close()
    finally:
        node.kill()
        for servers in stack:
            servers.close()  # the generator's finally stops its redis-server


@pytest.fixture
def fresh(env: Env) -> Env:
    for side in env.sides():
        side.flush()
        side.wire.call([b"SELECT", b"0"])
    return env


# ---- running a case on both sides ---------------------------------------------------------------


def _argv(side: Side, line: list[str]) -> list[bytes]:
    """`{port}` is the side's plain target, `{locked}` its protected one."""
    words = (w.format(port=side.target_port, locked=side.locked_port) for w in line)
    return [w.encode() for w in words]


def _run(env: Env, setup: list[str], targets: list[str], line: list[str]) -> bytes:
    """Setup commands on each source (and on each plain target), then the MIGRATE line on
    both sides; the replies must be equal, and so must the resulting states."""
    replies = []
    for side in env.sides():
        for command in setup:
            side.wire.call([w.encode() for w in command.split()])
        with side.client(side.target_port) as target:
            for command in targets:
                target.execute_command(*command.split())
        replies.append(side.wire.call(_argv(side, line)))
    assert replies[0] == replies[1], (line, replies)
    _same_state(env)
    return replies[1]


def _state(side: Side, port: int) -> dict[tuple[int, bytes], object]:
    out: dict[tuple[int, bytes], object] = {}
    for db in DBS:
        with side.client(port, db) as client:
            for key in sorted(client.keys("*")):
                out[(db, key)] = _describe(client, key)
    return out


def _describe(client: redis.Redis, key: bytes) -> object:
    """A key's type, content and whether it has a TTL (its value within a tolerance)."""
    kind = client.type(key)
    value: object
    if kind == b"string":
        value = client.get(key)
    elif kind == b"list":
        value = client.lrange(key, 0, -1)
    elif kind == b"set":
        value = sorted(client.smembers(key))
    elif kind == b"hash":
        value = sorted(client.hgetall(key).items())
    elif kind == b"zset":
        value = client.zrange(key, 0, -1, withscores=True)
    else:
        assert kind == b"stream", kind
        groups = client.xinfo_groups(key)
        value = (
            client.xrange(key),
            groups,
            [client.xpending(key, g["name"]) for g in groups],
            sorted(
                (g["name"], c["name"], c["pending"])
                for g in groups
                for c in client.xinfo_consumers(key, g["name"])
            ),
        )
    pttl = client.pttl(key)
    assert pttl == -1 or TTL_MS - 60_000 < pttl <= TTL_MS, (key, pttl)  # kept, not reset
    return kind, value, "ttl" if pttl > 0 else pttl


def _same_state(env: Env) -> None:
    for role in ("source_port", "target_port", "locked_port"):
        states = [_state(side, getattr(side, role)) for side in env.sides()]
        assert states[0] == states[1], (role, states)


# ---- the differential cases ---------------------------------------------------------------------

CASES: dict[str, tuple[list[str], list[str], list[str]]] = {
    # name: (setup on each source, setup on each plain target, the MIGRATE line)
    "single_key": (["SET k v"], [], [HOST, "{port}", "k", "0", "5000"]),
    "keys_some_missing": (
        ["SET a 1", "SET b 2", "RPUSH c x y"],
        [],
        [HOST, "{port}", "", "0", "5000", "KEYS", "a", "missing", "b", "c"],
    ),
    "keys_duplicated": (["SET a 1"], [], [HOST, "{port}", "", "0", "5000", "KEYS", "a", "a"]),
    "keys_duplicated_replace": (
        ["SET a 1"],
        [],
        [HOST, "{port}", "", "0", "5000", "REPLACE", "KEYS", "a", "a"],
    ),
    "copy": (["SET k v"], [], [HOST, "{port}", "k", "0", "5000", "COPY"]),
    "replace": (["SET k new"], ["SET k old"], [HOST, "{port}", "k", "0", "5000", "REPLACE"]),
    "copy_replace": (
        ["SET k new"],
        ["SET k old"],
        [HOST, "{port}", "k", "0", "5000", "copy", "replace"],
    ),
    "busykey": (["SET k new"], ["SET k old"], [HOST, "{port}", "k", "0", "5000"]),
    "busykey_one_of_many": (  # Redis still moves (and deletes) the keys the target took
        ["SET a 1", "SET b 2", "SET c 3"],
        ["SET b old"],
        [HOST, "{port}", "", "0", "5000", "KEYS", "a", "b", "c"],
    ),
    "nokey": ([], [], [HOST, "{port}", "missing", "0", "5000"]),
    "nokey_empty_keys": (["SET k v"], [], [HOST, "{port}", "", "0", "5000", "KEYS"]),
    "nokey_empty_key": (["SET k v"], [], [HOST, "{port}", "", "0", "5000"]),
    "destination_db": (["SET k v"], [], [HOST, "{port}", "k", "3", "5000"]),
    "source_db": (["SELECT 3", "SET k v"], [], [HOST, "{port}", "k", "0", "5000"]),
    "db_out_of_range": (["SET k v"], [], [HOST, "{port}", "k", "99", "5000"]),
    "timeout_zero_means_1000": (["SET k v"], [], [HOST, "{port}", "k", "0", "0"]),
    "timeout_negative": (["SET k v"], [], [HOST, "{port}", "k", "0", "-5"]),
    "port_atoi_suffix": (["SET k v"], [], [HOST, "{port}xyz", "k", "0", "5000"]),
    "port_atoi_spaces_sign": (["SET k v"], [], [HOST, " +{port}", "k", "0", "5000"]),
    "port_negative": (["SET k v"], [], [HOST, "-1", "k", "0", "5000"]),
    "port_not_a_number": (["SET k v"], [], [HOST, "abc", "k", "0", "5000"]),
    "host_unknown": (["SET k v"], [], ["nosuchhost.invalid", "{port}", "k", "0", "5000"]),
    "ttl_kept": (["SET k v PX 100000"], [], [HOST, "{port}", "k", "0", "5000"]),
    "no_auth_to_locked": (["SET k v"], [], [HOST, "{locked}", "k", "0", "5000"]),
    "auth": (["SET k v"], [], [HOST, "{locked}", "k", "0", "5000", "AUTH", PASSWORD]),
    "auth_wrong": (["SET k v"], [], [HOST, "{locked}", "k", "0", "5000", "AUTH", "nope"]),
    "auth2": (
        ["SET a 1", "SET b 2"],
        [],
        [HOST, "{locked}", "", "0", "5000", "AUTH2", "default", PASSWORD, "KEYS", "a", "b"],
    ),
    "auth2_wrong_user": (
        ["SET k v"],
        [],
        [HOST, "{locked}", "k", "0", "5000", "AUTH2", "someone", PASSWORD],
    ),
    "auth_unprotected": (["SET k v"], [], [HOST, "{port}", "k", "0", "5000", "AUTH", "x"]),
    "all_types": (
        [
            "SET s v",
            "RPUSH l a b c",
            "SADD st x y 1 2",
            "HSET h f1 v1 f2 v2",
            "ZADD z 1 a 2.5 b -3 c",
            "XADD x 1-1 f v",
            "XADD x 2-1 g w",
            "XADD x 3-1 h u",
            "XGROUP CREATE x grp 0",
            "XGROUP CREATE x idle $",
            "XREADGROUP GROUP grp alice COUNT 2 STREAMS x >",
            "XGROUP CREATECONSUMER x grp bob",
            "XDEL x 2-1",
        ],
        [],
        [HOST, "{port}", "", "0", "5000", "KEYS", "s", "l", "st", "h", "z", "x"],
    ),
    "big_values": (
        ["SET big " + "x" * 200_000, *[f"RPUSH bl {i}" for i in range(300)]],
        [],
        [HOST, "{port}", "", "0", "5000", "KEYS", "big", "bl"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_migrate_answers_and_moves_as_redis(fresh: Env, name: str) -> None:
    setup, targets, line = CASES[name]
    _run(fresh, setup, targets, ["MIGRATE", *line])


def test_an_expired_key_is_not_migrated(fresh: Env) -> None:
    for side in fresh.sides():
        side.wire.call([b"SET", b"k", b"v", b"PX", b"1"])
        with side.client(side.source_port) as c:
            assert poll_until(lambda c=c: c.pttl("k") == -2, timeout_s=10), "k did not expire"
    reply = _run(fresh, [], [], ["MIGRATE", HOST, "{port}", "k", "0", "5000"])
    assert reply == b"+NOKEY\r\n"


def test_a_refused_port_is_a_write_error(fresh: Env) -> None:
    with socket.socket() as held:  # bound, never listening: connections are refused
        held.bind((HOST, 0))
        port = str(held.getsockname()[1])
        reply = _run(fresh, ["SET k v"], [], ["MIGRATE", HOST, port, "k", "0", "5000"])
    assert reply == b"-IOERR error or timeout writing to target instance\r\n"


def test_a_silent_target_is_a_read_error_and_nothing_is_deleted(fresh: Env) -> None:
    with socket.socket() as silent:  # listening, never accepting: connects, never answers
        silent.bind((HOST, 0))
        silent.listen(16)
        port = str(silent.getsockname()[1])
        reply = _run(fresh, ["SET k v"], [], ["MIGRATE", HOST, port, "k", "0", "200"])
    assert reply == b"-IOERR error or timeout reading to target instance\r\n"
    with fresh.seshat.client(fresh.seshat.source_port) as c:
        assert c.get("k") == b"v"


def test_a_target_that_never_reads_is_a_write_error(fresh: Env) -> None:
    """More bytes than the loopback buffers hold, to a target that never reads them (random
    bytes: Redis compresses a DUMP payload with LZF, Seshat does not)."""
    big = os.urandom(32_000_000)
    for side in fresh.sides():
        with side.client(side.source_port) as c:
            c.set("big", big)
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen(16)
        port = str(silent.getsockname()[1])
        reply = _run(fresh, [], [], ["MIGRATE", HOST, port, "big", "0", "300"])
    assert reply == b"-IOERR error or timeout writing to target instance\r\n"


ARGUMENT_ERRORS = [
    ["k", "0", "1000", "bogus"],
    ["k", "0", "1000", "auth"],
    ["k", "0", "1000", "auth2", "u"],
    ["k", "0", "1000", "copy", "auth2"],
    ["k", "0", "1000", "keys", "a"],
    ["k", "0", "1000", "auth", "a", "auth2", "b", "c", "keys"],
    ["k", "0", "abc"],
    ["k", "0", " 1000"],
    ["k", "0", "1000.5"],
    ["k", "abc", "1000"],
    ["k", "0x1", "1000"],
    ["k", "99999999999999999999", "1000"],
    ["missing", "0", "abc"],
    ["missing", "abc", "1000", "bogus"],
    ["k", "0"],
    [],
]


@pytest.mark.parametrize("args", ARGUMENT_ERRORS, ids=lambda a: "_".join(a) or "none")
def test_argument_errors_as_redis(fresh: Env, args: list[str]) -> None:
    reply = _run(fresh, ["SET k v"], [], ["MIGRATE", HOST, "{port}", *args])
    assert reply[:1] == b"-", reply


@pytest.mark.parametrize(
    "line",
    [
        "COMMAND INFO migrate",
        "COMMAND DOCS migrate",
        "COMMAND GETKEYS migrate h 1 k 0 1",
        "COMMAND GETKEYSANDFLAGS migrate h 1 k 0 1",
        "COMMAND GETKEYSANDFLAGS migrate h 1 '' 0 1 KEYS a b",
        "COMMAND GETKEYS migrate h 1 '' 0 1 auth keys keys a",
        "COMMAND GETKEYS migrate h 1 '' 0 1 auth2 keys keys copy keys b",
        "COMMAND GETKEYS migrate h 1 k 0 1 keys a",
    ],
)
def test_command_table_row_as_redis(fresh: Env, line: str) -> None:
    argv = [b"" if w == "''" else w.encode() for w in line.split()]
    replies = [side.wire.call(argv) for side in fresh.sides()]
    assert replies[0] == replies[1], replies


def test_acl_key_patterns_apply_to_migrate(fresh: Env) -> None:
    """A user limited to keys a*: MIGRATE of another key is refused, as in Redis (with KEYS,
    the empty key argument is not a key)."""
    lines = [
        ["ACL", "SETUSER", "mover", "on", ">pw", "~a*", "+@all"],
        ["AUTH", "mover", "pw"],
        ["MIGRATE", HOST, "{port}", "b", "0", "5000"],
        ["MIGRATE", HOST, "{port}", "", "0", "5000", "KEYS", "a1", "b"],
        ["MIGRATE", HOST, "{port}", "", "0", "5000", "KEYS", "a1", "a2"],
    ]
    for side in fresh.sides():
        side.wire.call([b"MSET", b"a1", b"1", b"a2", b"2", b"b", b"3"])
    for line in lines:
        replies = [side.wire.call(_argv(side, line)) for side in fresh.sides()]
        assert replies[0] == replies[1], (line, replies)
    for side in fresh.sides():
        side.wire.call([b"AUTH", b"default", b"x"])  # back to the default user (nopass)
        side.wire.call([b"ACL", b"DELUSER", b"mover"])
    _same_state(fresh)


# ---- what only Seshat has -----------------------------------------------------------------------


def test_migrate_sees_the_writes_pipelined_before_it(fresh: Env) -> None:
    side = fresh.seshat
    argv = _argv(side, ["MIGRATE", HOST, "{port}", "k", "0", "5000"])
    side.wire.send(encode_command([b"SET", b"k", b"v"]) + encode_command(argv))
    side.wire.send(encode_command([b"EXISTS", b"k"]))
    assert [side.wire.reply() for _ in range(3)] == [b"+OK\r\n", b"+OK\r\n", b":0\r\n"]
    with side.client(side.target_port) as target:
        assert target.get("k") == b"v"


def test_seshat_to_seshat(fresh: Env, start_seshat: Callable[..., SeshatProcess]) -> None:
    target = start_seshat()
    setup, _, _ = CASES["all_types"]
    side = fresh.seshat
    for command in setup + ["SET t v PX 100000"]:
        side.wire.call([w.encode() for w in command.split()])
    before = _state(side, side.source_port)
    keys = [b"s", b"l", b"st", b"h", b"z", b"x", b"t", b"missing"]
    argv = [b"MIGRATE", HOST.encode(), str(target.port).encode(), b"", b"0", b"5000"]
    assert side.wire.call([*argv, b"KEYS", *keys]) == b"+OK\r\n"
    assert _state(Side("target", target.port, 0, 0, side.wire), target.port) == before
    assert _state(side, side.source_port) == {}
    side.wire.call([b"SET", b"s", b"again"])
    busy = side.wire.call([b"MIGRATE", HOST.encode(), str(target.port).encode(), b"s", b"0", b"0"])
    assert (
        busy
        == b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    )


class _HeldTarget:
    """A fake target that reads MIGRATE's whole request, then answers `+OK` to each command
    only when the test says so: the test changes the source meanwhile."""

    def __init__(self, commands: int) -> None:
        self.commands = commands
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.received = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            data = b""
            while data.count(b"RESTORE") < self.commands - 1:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.received.set()
            self.release.wait(30)
            conn.sendall(b"+OK\r\n" * self.commands)

    def close(self) -> None:
        self.release.set()
        self.thread.join(10)
        self.listener.close()


def test_a_key_modified_during_migrate_is_not_deleted(fresh: Env) -> None:
    side = fresh.seshat
    side.wire.call([b"MSET", b"a", b"1", b"b", b"2"])
    held = _HeldTarget(commands=3)  # SELECT, RESTORE a, RESTORE b
    try:
        argv = [b"MIGRATE", HOST.encode(), str(held.port).encode(), b"", b"0", b"5000"]
        side.wire.send(encode_command([*argv, b"KEYS", b"a", b"b"]))
        assert held.received.wait(30), "the target never got the RESTOREs"
        with side.client(side.source_port) as other:
            other.set("b", "changed")
        held.release.set()
        assert side.wire.reply() == f"-{KEY_MODIFIED.message}\r\n".encode()
    finally:
        held.close()
    with side.client(side.source_port) as c:  # the delete was all or nothing: none deleted
        assert c.mget("a", "b") == [b"1", b"changed"]


def test_migrate_inside_multi_and_scripts_is_refused(fresh: Env) -> None:
    side = fresh.seshat
    side.wire.call([b"SET", b"k", b"v"])
    argv = _argv(side, ["MIGRATE", HOST, "{port}", "k", "0", "5000"])
    assert side.wire.call([b"MULTI"]) == b"+OK\r\n"
    assert side.wire.call(argv) == b"+QUEUED\r\n"
    assert side.wire.call([b"SET", b"x", b"1"]) == b"+QUEUED\r\n"
    assert side.wire.call([b"EXEC"]) == f"*2\r\n-{NOT_IN_MULTI.message}\r\n+OK\r\n".encode()
    script = b"return redis.call('MIGRATE', ARGV[1], ARGV[2], 'k', '0', '5000')"
    reply = side.wire.call([b"EVAL", script, b"0", HOST.encode(), argv[2]])
    assert reply.startswith(b"-ERR This Redis command is not allowed from script"), reply
    with side.client(side.source_port) as c:
        assert c.get("k") == b"v"


def test_seshat_target_with_a_password(
    fresh: Env, start_seshat: Callable[..., SeshatProcess]
) -> None:
    target = start_seshat("--requirepass", PASSWORD)
    side = fresh.seshat
    side.wire.call([b"SET", b"k", b"v"])
    base = [b"MIGRATE", HOST.encode(), str(target.port).encode(), b"k", b"0", b"5000"]
    assert side.wire.call(base) == (
        b"-ERR Target instance replied with error: NOAUTH Authentication required.\r\n"
    )
    assert side.wire.call([*base, b"AUTH", b"nope"]) == (
        b"-ERR Target instance replied with error: WRONGPASS invalid username-password pair "
        b"or user is disabled.\r\n"
    )
    assert side.wire.call([*base, b"AUTH2", b"default", PASSWORD.encode()]) == b"+OK\r\n"
    with target.client(password=PASSWORD) as moved:
        assert moved.get("k") == b"v"
