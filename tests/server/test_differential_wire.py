"""Wire-level differential tests: the same bytes to a real redis-server 7.0 and to a Seshat node.

Each test opens one raw connection to each server, sends the same commands (RESP2 as opened,
and again after `HELLO 3`) and compares the reply *bytes*. Nothing is decoded first, so a
`$-1` against `_`, a `*` against `%` or `~`, a bulk against a verbatim `=` is a failure.

Only what legitimately differs between two servers is normalised, each case named in
`normalise` below:

- connection ids (the `id` field of HELLO, CLIENT ID, and `$ID` in commands is each server's id);
- CLIENT INFO / CLIENT LIST: reduced to their type, field names and the fields that describe
  the connection's state (name, db, flags, cmd, user, resp...), not fds, addresses, memory;
- INFO: reduced to its type and section headers (contents are per-server statistics);
- TIME: the digits (both are the current time);
- KEYS: sorted (Redis leaves the order unspecified); RANDOMKEY: null or not;
- CONFIG GET: pairs sorted (Redis answers in its dict's hash order);
- TTL-like integers: within one second of each other (time passes between the two servers).

`COMMAND`, `COMMAND COUNT`, `COMMAND LIST` and the subcommands of container commands are
compared as "Seshat's rows are Redis's rows": Seshat implements fewer commands, and every
row it has must match Redis's byte for byte.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.kv.commands import SUBCOMMANDS, TABLE
from tests.kv.test_differential import CASES as KV_CASES
from tests.kv.test_differential import COMMAND as KV_COMMAND
from tests.kv.test_scripts_differential import SEQUENCES as SCRIPT_SEQUENCES
from tests.kv.test_streams_differential import SEQUENCES as STREAM_SEQUENCES
from tests.kv.test_streams_differential import lines as stream_lines
from tests.server.conftest import SeshatProcess
from tests.server.wire import Node, WireClient, encode_command, free_port, parse, start_redis_server

PROTOCOLS = [2, 3]
TOLERANCE = {b"ttl": 1, b"pttl": 1500, b"expiretime": 2, b"pexpiretime": 2000}


# ---- servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from start_redis_server(tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="module")
def seshat_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    base = tmp_path_factory.mktemp("seshat")
    node = SeshatProcess(port=free_port(), data_dir=base / "data", args=[], log_path=base / "log")
    node.start()
    try:
        yield node.port
    finally:
        node.kill()


# ---- normalisation ------------------------------------------------------------------------------

# Fields of a CLIENT INFO line that describe the connection's state; the others (id, addresses,
# fd, ages, buffer and memory sizes) are per-server facts.
CLIENT_STATE_FIELDS = frozenset(
    ["name", "db", "flags", "sub", "psub", "ssub", "multi", "events", "cmd", "user", "redir", "resp"]
)


def _blob_text(node: Node) -> tuple[bytes, bytes]:
    """(marker + verbatim format, text) of a bulk or verbatim reply."""
    assert node.value is not None, node.raw
    if node.marker == b"=":
        return b"=" + node.value[:4], node.value[4:]
    return node.marker, node.value


def client_lines_shape(raw: bytes) -> object:
    node, _ = parse(raw)
    if node.marker == b"-":
        return raw
    kind, text = _blob_text(node)
    lines = []
    for line in text.decode().split("\n")[:-1]:
        fields = [f.split("=", 1) for f in line.split(" ")]
        lines.append([(k, v if k in CLIENT_STATE_FIELDS else "*") for k, v in fields])
    assert text.endswith(b"\n") or not text, text
    return kind, sorted(lines)


def info_shape(raw: bytes) -> object:
    node, _ = parse(raw)
    if node.marker == b"-":
        return raw
    kind, text = _blob_text(node)
    lines = text.decode().split("\r\n")
    assert lines[-1] == "", text[-20:]
    for line in lines[:-1]:
        assert line == "" or line.startswith("# ") or re.fullmatch(r"[\w-]+:.*", line), line
    return kind, [line for line in lines if line.startswith("# ")]


def _sorted_children(raw: bytes, pairs: bool) -> object:
    node, _ = parse(raw)
    if not node.children:
        return raw
    items = [c.raw for c in node.children]
    if pairs and node.marker == b"*":
        items = [items[i] + items[i + 1] for i in range(0, len(items), 2)]
    if pairs and node.marker == b"%":
        items = [items[i] + items[i + 1] for i in range(0, len(items), 2)]
    return node.raw[: node.raw.index(b"\r\n") + 2], sorted(items)


def normalise(argv: list[bytes], raw: bytes) -> object:
    name = argv[0].lower()
    sub = argv[1].lower() if len(argv) > 1 else b""
    if raw.startswith(b"-"):
        return raw
    if name == b"hello":
        return re.sub(rb"(\$2\r\nid\r\n):\d+\r\n", rb"\1:<id>\r\n", raw)
    if name == b"client" and sub == b"id":
        return re.sub(rb"^:\d+\r\n$", b":<id>\r\n", raw)
    if name == b"client" and sub in (b"info", b"list"):
        return client_lines_shape(raw)
    if name == b"info":
        return info_shape(raw)
    if name == b"time":
        return re.sub(rb"\r\n\d+\r\n", b"\r\n<digits>\r\n", re.sub(rb"\$\d+", b"$", raw))
    if name == b"keys":
        return _sorted_children(raw, pairs=False)
    if name == b"randomkey":
        return parse(raw)[0].value is None
    if name == b"config" and sub == b"get":
        return _sorted_children(raw, pairs=True)
    if name[:1] in b"xX":
        return _stream_clock_masked(name, raw)
    return raw


def _stream_clock_masked(name: bytes, raw: bytes) -> bytes:
    """Stream replies with wall-clock values masked: IDs generated by `*`, and in XPENDING and
    XINFO the millisecond timestamps and idle times (which differ between the two servers)."""
    raw = re.sub(rb"\$\d+\r\n\d{13}-\d+\r\n", b"$<clock-id>\r\n", raw)
    if name in (b"xpending", b"xinfo"):
        raw = re.sub(rb":\d{13}\r\n", b":<ts>\r\n", raw)
        raw = re.sub(rb"(idle\r\n):\d+\r\n", rb"\1:<idle>\r\n", raw)
        row = rb"(\*4\r\n\$\d+\r\n\d+-\d+\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n"
        raw = re.sub(row, rb"\1:<idle>\r\n", raw)  # an XPENDING row: id, consumer, idle, count
    return raw


def _integer(raw: bytes) -> int | None:
    match = re.fullmatch(rb":(-?\d+)\r\n", raw)
    return int(match.group(1)) if match else None


def same(argv: list[bytes], ours: object, theirs: object) -> bool:
    tolerance = TOLERANCE.get(argv[0].lower())
    if tolerance is not None and isinstance(ours, bytes) and isinstance(theirs, bytes):
        a, b = _integer(ours), _integer(theirs)
        if a is not None and b is not None and a >= 0 and b >= 0:
            return abs(a - b) <= tolerance
    return ours == theirs


def _same_exec(queued: list[list[bytes]] | None, ours: bytes, theirs: bytes) -> bool:
    """An EXEC's replies element by element, each judged as its own command's reply: Redis
    runs the queued commands over wall time, Seshat at the entry's one timestamp, so a PTTL
    inside EXEC may differ by the millisecond that passed on Redis's side."""
    if queued is None or ours[:1] != b"*" or theirs[:1] != b"*":
        return False
    mine, redis_side = parse(ours)[0].children, parse(theirs)[0].children
    if not len(mine) == len(redis_side) == len(queued):
        return False
    return all(
        same(argv, normalise(argv, m.raw), normalise(argv, r.raw))
        for argv, m, r in zip(queued, mine, redis_side, strict=True)
    )


# ---- one connection to each server -------------------------------------------------------------


class Pair:
    """A connection to redis-server and one to Seshat, driven in lockstep."""

    def __init__(self, redis_port: int, seshat_port: int, protocol: int) -> None:
        self.redis = WireClient(redis_port)
        self.seshat = WireClient(seshat_port)
        self.protocol = protocol
        self.ids = {}
        self.history: list[bytes] = []
        self.queued: list[list[bytes]] | None = None  # the commands since MULTI, for EXEC
        if protocol == 3:
            self.check([b"HELLO", b"3"])
        for side in (self.redis, self.seshat):
            self.ids[id(side)] = _integer(side.call([b"CLIENT", b"ID"]))

    def reset(self) -> None:
        for argv in ([b"SELECT", b"0"], [b"FLUSHALL"]):
            assert self.redis.call(argv) == self.seshat.call(argv) == b"+OK\r\n"

    def _argv_for(self, side: WireClient, argv: list[bytes]) -> list[bytes]:
        subst = {b"$PROTO": b"%d" % self.protocol}
        if id(side) in self.ids:
            subst[b"$ID"] = b"%d" % self.ids[id(side)]
        return [subst.get(a, a) for a in argv]

    def both(self, argv: list[bytes]) -> tuple[bytes, bytes]:
        """The raw replies of (redis, seshat) to one command."""
        self.history.append(b" ".join(argv))
        return (
            self.redis.call(self._argv_for(self.redis, argv)),
            self.seshat.call(self._argv_for(self.seshat, argv)),
        )

    def check(self, argv: list[bytes]) -> bytes:
        name = argv[0].lower()
        if name == b"scanall":
            self.check_scan_all(argv[1:])
            return b""
        theirs, ours = self.both(argv)
        queued, self.queued = self._track_multi(name, argv)
        a, b = normalise(argv, theirs), normalise(argv, ours)
        assert same(argv, b, a) or _same_exec(queued, ours, theirs), (
            f"RESP{self.protocol} {b' '.join(argv)!r}:\n  redis:  {a!r}\n  seshat: {b!r}\n"
            f"  after: {self.history[-12:]!r}"
        )
        return ours

    def _track_multi(
        self, name: bytes, argv: list[bytes]
    ) -> tuple[list[list[bytes]] | None, list[list[bytes]] | None]:
        """(the commands an EXEC ran, or None; what is queued after this command)."""
        if name == b"multi":
            return None, [] if self.queued is None else self.queued
        if self.queued is None:
            return None, None
        if name in (b"exec", b"discard"):
            return (self.queued if name == b"exec" else None), None
        return None, [*self.queued, argv]

    def check_scan_all(self, options: list[bytes]) -> None:
        """A whole SCAN iteration on each side: the same set of keys (cursors are private)."""
        found = []
        for side in (self.redis, self.seshat):
            keys: set[bytes] = set()
            cursor = b"0"
            for _ in range(10_000):
                raw = side.call([b"SCAN", cursor, *options])
                node, _ = parse(raw)
                if node.marker == b"-":
                    keys = {raw}
                    break
                cursor = node.children[0].value or b""
                keys.update(c.raw for c in node.children[1].children)
                if cursor == b"0":
                    break
            found.append(keys)
        assert found[0] == found[1], (options, found)

    def close(self) -> None:
        self.redis.close()
        self.seshat.close()


@pytest.fixture
def pair_factory(redis_port: int, seshat_port: int) -> Iterator[Callable[[int], Pair]]:
    pairs: list[Pair] = []

    def make(protocol: int) -> Pair:
        pair = Pair(redis_port, seshat_port, protocol)
        pairs.append(pair)
        return pair

    yield make
    for pair in pairs:
        pair.close()


def script(text: str) -> list[list[bytes]]:
    return [[w.encode() for w in shlex.split(line)] for line in text.strip().splitlines()]


# ---- hand-written sequences --------------------------------------------------------------------

CASES: dict[str, str] = {
    "ping echo": """
        PING
        ping hello
        PING a b
        ECHO x
        ECHO ""
        ECHO
        ECHO a b
    """,
    "hello": """
        HELLO
        HELLO $PROTO
        HELLO 4
        HELLO 1
        HELLO 0
        HELLO -1
        HELLO abc
        HELLO 3.0
        HELLO 99999999999999999999
        HELLO $PROTO foo
        HELLO $PROTO SETNAME
        HELLO $PROTO AUTH default
        HELLO $PROTO AUTH
        HELLO $PROTO SETNAME "a b"
        HELLO $PROTO SETNAME hello-name
        CLIENT GETNAME
        HELLO $PROTO AUTH default anything SETNAME other
        CLIENT GETNAME
        HELLO $PROTO AUTH nobody pass
        HELLO $PROTO setname x setname y
        CLIENT GETNAME
    """,
    "auth": """
        AUTH
        AUTH x
        AUTH a b c
        AUTH default x
        AUTH nobody x
    """,
    "client": """
        CLIENT
        CLIENT FOO
        CLIENT FOO bar
        CLIENT ID
        CLIENT ID x
        CLIENT GETNAME
        CLIENT GETNAME x
        CLIENT SETNAME
        CLIENT SETNAME a b
        CLIENT SETNAME "a b"
        CLIENT SETNAME foo
        CLIENT GETNAME
        CLIENT SETNAME ""
        CLIENT GETNAME
        CLIENT SETNAME mine
        CLIENT INFO
        CLIENT INFO x
        CLIENT LIST ID $ID
        CLIENT LIST ID abc
        CLIENT LIST ID 999999999
        CLIENT LIST TYPE pubsub
        CLIENT LIST TYPE foo
        CLIENT LIST foo
        CLIENT LIST ID
        CLIENT KILL
        CLIENT KILL ID abc
        CLIENT KILL ID -1
        CLIENT KILL ID 0
        CLIENT KILL ID 1x
        CLIENT KILL ID 999999999
        CLIENT KILL ID $ID
        CLIENT KILL 1.2.3.4:5
        CLIENT KILL a b c
        CLIENT KILL SKIPME maybe
        CLIENT KILL TYPE pubsub
        CLIENT KILL USER nobody
        CLIENT NO-EVICT on
        CLIENT NO-EVICT OFF
        CLIENT NO-EVICT maybe
        CLIENT NO-EVICT
        SELECT 3
        CLIENT INFO
    """,
    "command": """
        COMMAND FOO
        COMMAND COUNT x
        COMMAND GETKEYS
        COMMAND GETKEYS get
        COMMAND GETKEYS nosuch a
        COMMAND GETKEYS ping
        COMMAND GETKEYS set k v
        COMMAND GETKEYS SET k v EX 10
        COMMAND GETKEYS mset a 1 b 2
        COMMAND GETKEYS mset a 1 b
        COMMAND GETKEYS rename a b
        COMMAND GETKEYS get a b
        COMMAND INFO get set mget nosuch
        COMMAND INFO GET
        COMMAND INFO nosuch
        COMMAND INFO client|id CONFIG|GET get|x client|nosuch
        COMMAND DOCS nosuch
        COMMAND DOCS client|id
        COMMAND DOCS get|x object|encoding
        COMMAND LIST FOO
    """,
    "config": """
        CONFIG
        CONFIG FOO
        CONFIG GET
        CONFIG GET save
        CONFIG GET SAVE
        CONFIG GET save appendonly
        CONFIG GET nosuch
        CONFIG GET databases maxmemory requirepass
        CONFIG GET proto-max-bulk-len client-query-buffer-limit
        CONFIG SET
        CONFIG SET save
        CONFIG SET foo bar
        CONFIG SET a b c
        CONFIG SET foo bar baz
        CONFIG RESETSTAT x
        CONFIG REWRITE
        CONFIG REWRITE x
    """,
    "server": """
        DBSIZE
        DBSIZE x
        SET a 1
        DBSIZE
        FLUSHDB
        DBSIZE
        SET a 1
        FLUSHALL ASYNC
        FLUSHALL SYNC
        FLUSHDB ASYNC
        FLUSHDB SYNC
        FLUSHDB foo
        FLUSHALL foo
        FLUSHALL a b
        TIME
        TIME x
        INFO keyspace
        INFO server
        INFO nosuchsection
        SELECT 1
        SET b 2
        INFO keyspace
        SWAPDB 0 1
        INFO keyspace
    """,
    "unknown commands and arity": """
        nosuch
        NoSuch a "b c"
        GET
        get a b
        SET k
        SeT k
        MSET a
        SELECT
        SELECT x
        SELECT -1
        SELECT 16
        MOVE a
        SWAPDB 0
        SWAPDB 0 x
        SWAPDB 0 16
    """,
    "types, overflow and non-integers": """
        SET s hello
        INCR s
        INCRBY s 1
        INCRBY n x
        INCRBY n 1.5
        INCRBY n 99999999999999999999
        SET big 9223372036854775807
        INCR big
        DECRBY big -1
        SET small -9223372036854775808
        DECR small
        INCRBYFLOAT s 1
        INCRBYFLOAT n abc
        INCRBYFLOAT n 1.5
        INCRBYFLOAT n 1e3
        GET n
        EXPIRE s x
        EXPIRE s 99999999999999999999
        SETRANGE s -1 x
        GETRANGE s a b
        SETEX s 0 v
        SET s v EX 0
        SET s v PX 9223372036854775807
    """,
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_written(name: str, protocol: int, pair_factory: Callable[[int], Pair]) -> None:
    pair = pair_factory(protocol)
    pair.reset()
    for argv in script(CASES[name]):
        pair.check(argv)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(KV_CASES))
def test_kv_cases_on_the_wire(
    name: str, protocol: int, pair_factory: Callable[[int], Pair]
) -> None:
    """kv's hand-written differential cases (strings, keys, databases), now as bytes."""
    pair = pair_factory(protocol)
    pair.reset()
    for argv in script(KV_CASES[name]):
        pair.check(argv)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(SCRIPT_SEQUENCES))
def test_script_sequences_on_the_wire(
    name: str, protocol: int, pair_factory: Callable[[int], Pair]
) -> None:
    """Lua scripts' replies as bytes: in RESP3 a script's doubles, maps, sets and booleans are
    `,` `%` `~` `#` frames, and its nulls `_`, as Redis writes them."""
    pair = pair_factory(protocol)
    pair.reset()
    pair.check([b"SCRIPT", b"FLUSH"])
    for argv in SCRIPT_SEQUENCES[name]:
        pair.check(argv)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(STREAM_SEQUENCES))
def test_stream_sequences_on_the_wire(
    name: str, protocol: int, pair_factory: Callable[[int], Pair]
) -> None:
    """Stream replies as bytes: XREAD and XREADGROUP answer a `%` map per stream in RESP3 and
    2-element arrays in RESP2; XINFO answers maps; the nulls of XPENDING, XRANGE ... COUNT 0 and
    a deleted pending entry are `$-1` or `*-1` in RESP2, as Redis chooses them."""
    pair = pair_factory(protocol)
    pair.reset()
    for argv in stream_lines(STREAM_SEQUENCES[name]):
        pair.check(argv)


@settings(
    max_examples=int(os.environ.get("SESHAT_WIRE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(commands=st.lists(KV_COMMAND, min_size=1, max_size=20), protocol=st.sampled_from(PROTOCOLS))
def test_generated_sequences(
    commands: list[list[bytes]], protocol: int, redis_port: int, seshat_port: int
) -> None:
    pair = Pair(redis_port, seshat_port, protocol)
    try:
        pair.reset()
        for argv in commands:
            pair.check(argv)
    finally:
        pair.close()


# ---- the command table -------------------------------------------------------------------------

def _is_extension(name: bytes) -> bool:
    """Seshat's own commands (`raft.status`...) are named like module commands, with a dot,
    so they can never collide with a Redis command; Redis has no row for them."""
    return b"." in name


def _split_info_row(raw: bytes) -> tuple[bytes, set[bytes]]:
    """A COMMAND INFO row without its subcommands element, and that element's rows."""
    node, _ = parse(raw)
    assert len(node.children) == 10, raw
    subs = node.children[9]
    assert raw.endswith(subs.raw), raw
    return raw[: len(raw) - len(subs.raw)], {c.raw for c in subs.children}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_command_info_rows_match(protocol: int, pair_factory: Callable[[int], Pair]) -> None:
    """Every row of Seshat's table answers COMMAND INFO exactly as Redis does; subcommands
    of a container are Seshat's subset of Redis's (it implements fewer)."""
    pair = pair_factory(protocol)
    for spec in TABLE:
        theirs, ours = pair.both([b"COMMAND", b"INFO", spec.name])
        if _is_extension(spec.name):
            row = parse(theirs)[0].children[0]
            assert row.marker == b"_" or row.value is None, spec.name  # Redis has no such row
            continue
        assert ours[:4] == theirs[:4] == b"*1\r\n", (spec.name, theirs, ours)
        row_theirs, subs_theirs = _split_info_row(theirs[4:])
        row_ours, subs_ours = _split_info_row(ours[4:])
        assert row_ours == row_theirs, f"RESP{protocol} {spec.name!r}:\n{theirs!r}\n{ours!r}"
        extra = {s for s in subs_ours if b"setinfo" not in s}  # 7.2's, kept for redis-py 8
        assert extra <= subs_theirs, f"RESP{protocol} {spec.name!r}: {extra - subs_theirs}"


def _docs_entries(raw: bytes) -> dict[bytes, Node]:
    node, _ = parse(raw)
    assert node.marker in (b"%", b"*"), raw[:40]
    kids = node.children
    return {kids[i].value or b"": kids[i + 1] for i in range(0, len(kids), 2)}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_command_docs_match(protocol: int, pair_factory: Callable[[int], Pair]) -> None:
    """COMMAND DOCS of every row: Redis's map, byte for byte (subcommands: Seshat's subset)."""
    pair = pair_factory(protocol)
    hint = "(the row differs from Redis 7.0.15; for a new row's arguments/history run "
    hint += "scripts/gen_command_docs.py against redis-server 7.0.15)"
    for spec in TABLE:
        if _is_extension(spec.name):
            continue
        theirs, ours = pair.both([b"COMMAND", b"DOCS", spec.name])
        doc_theirs = _docs_entries(_docs_entries(theirs)[spec.name].raw)
        doc_ours = _docs_entries(_docs_entries(ours)[spec.name].raw)
        assert list(doc_ours) == [k for k in doc_theirs if k in doc_ours], (spec.name, hint)
        assert doc_theirs.keys() - doc_ours.keys() <= {b"subcommands"}, (spec.name, hint)
        for key, value in doc_ours.items():
            if key != b"subcommands":
                assert value.raw == doc_theirs[key].raw, (spec.name, key, hint)
                continue
            subs_theirs = _docs_entries(doc_theirs[key].raw)
            for sub, sub_doc in _docs_entries(value.raw).items():
                if sub.endswith(b"|setinfo"):
                    continue
                assert sub_doc.raw == subs_theirs[sub].raw, (sub, sub_doc.raw)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_command_list_count_and_all(protocol: int, pair_factory: Callable[[int], Pair]) -> None:
    """COMMAND, COMMAND COUNT and COMMAND LIST: Seshat's are shaped as Redis's, and a subset."""
    pair = pair_factory(protocol)
    theirs, ours = pair.both([b"COMMAND", b"COUNT"])
    # Redis counts every command it has; Seshat's rows are a subset of them plus its own
    # (RAFT.*), so Redis's count is at least that of the rows Seshat shares with it.
    shared = sum(not _is_extension(spec.name) for spec in TABLE)
    assert _integer(ours) == len(TABLE) and (_integer(theirs) or 0) >= shared
    theirs, ours = pair.both([b"COMMAND", b"LIST"])
    names_theirs, names_ours = parse(theirs)[0], parse(ours)[0]
    assert names_ours.marker == names_theirs.marker == b"*"
    ours_redis_named = {
        c.raw
        for c in names_ours.children
        if not _is_extension(c.value or b"") and c.value != b"client|setinfo"  # 7.2's
    }
    listed_by_redis = {c.raw for c in names_theirs.children}
    assert ours_redis_named <= listed_by_redis
    # Every row Seshat has that Redis lists (subcommands such as client|list included).
    rows = [row.name for spec in TABLE for row in (spec, *SUBCOMMANDS.get(spec.name, ()))]
    implemented = {b"$%d\r\n%b\r\n" % (len(name), name) for name in rows}
    assert implemented & listed_by_redis == ours_redis_named
    theirs, ours = pair.both([b"COMMAND"])
    rows_theirs = {c.children[0].value: c.raw for c in parse(theirs)[0].children}
    for row in parse(ours)[0].children:
        name = row.children[0].value or b""
        if _is_extension(name):
            continue
        row_ours, _ = _split_info_row(row.raw)
        assert row_ours == _split_info_row(rows_theirs[name])[0], name


# ---- inline commands, pipelining, QUIT, protocol errors -----------------------------------------

INLINE = [
    b"PING\r\n",
    b"ping\n",
    b"SET a b\r\nGET a\r\n",
    b"  set   'x y'   \"a\\tb\\x41\"  \r\nget 'x y'\r\n",
    b"\r\n\r\nPING\r\n",
    b"ECHO \"\"\r\n",
    b"GET a\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nGET a\n",
    b"nosuch 'a b' c\r\n",
    b"get\r\n",
]


def _replies(side: WireClient, data: bytes) -> list[bytes]:
    """Send `data` then a PING sentinel; the replies before the sentinel's PONG."""
    side.send(data + b"PING sentinel\r\n")
    out = []
    while (frame := side.reply()) != b"$8\r\nsentinel\r\n":
        assert frame, f"closed after {out!r}"
        out.append(frame)
    return out


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("data", INLINE, ids=[repr(d)[2:30] for d in INLINE])
def test_inline_commands(data: bytes, protocol: int, pair_factory: Callable[[int], Pair]) -> None:
    pair = pair_factory(protocol)
    pair.reset()
    assert _replies(pair.seshat, data) == _replies(pair.redis, data)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pipelined_batch(protocol: int, pair_factory: Callable[[int], Pair]) -> None:
    """Hundreds of mixed commands in one write: the same replies, in order."""
    pair = pair_factory(protocol)
    pair.reset()
    commands: list[list[bytes]] = []
    for i in range(300):
        key = b"k%d" % (i % 7)
        commands += [
            [b"SET", key, b"%d" % i],
            [b"INCR", key],
            [b"GET", key],
            [b"GET", b"missing"],
            [b"APPEND", key, b"x"],
            [b"INCR", key],
            [b"MGET", key, b"missing"],
            [b"SELECT", b"%d" % (i % 2)],
            [b"DBSIZE"],
            [b"PING"],
            [b"CLIENT", b"GETNAME"],
            [b"nosuch"],
        ]
    data = b"".join(encode_command(c) for c in commands)
    assert _replies(pair.seshat, data) == _replies(pair.redis, data)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_quit_replies_then_closes(protocol: int, pair_factory: Callable[[int], Pair]) -> None:
    pair = pair_factory(protocol)
    data = b"PING\r\nSET q 1\r\nQUIT\r\nPING\r\n"
    pair.redis.send(data)
    pair.seshat.send(data)
    assert pair.seshat.until_closed() == pair.redis.until_closed() == b"+PONG\r\n+OK\r\n+OK\r\n"


PROTOCOL_ERRORS = [
    b"*1\r\n$3\r\nPING\r\n*x\r\n",
    b"PING\r\n*1\r\nfoo\r\n",
    b"*1\r\n$-5\r\n",
    b"*1\r\n$abc\r\n",
    b"*3000000000\r\n",
    b"*1\r\n$600000000\r\n",
    b"SET a \"b\r\n",
    b"x" * 70000,
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("data", PROTOCOL_ERRORS, ids=[repr(d)[2:24] for d in PROTOCOL_ERRORS])
def test_protocol_errors_reply_then_close(
    data: bytes, protocol: int, pair_factory: Callable[[int], Pair]
) -> None:
    pair = pair_factory(protocol)
    pair.redis.send(data)
    pair.seshat.send(data)
    assert pair.seshat.until_closed() == pair.redis.until_closed()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_client_kill_closes_the_other_connection(
    protocol: int, pair_factory: Callable[[int], Pair]
) -> None:
    killer, victim = pair_factory(protocol), pair_factory(protocol)
    for k, v in ((killer.redis, victim.redis), (killer.seshat, victim.seshat)):
        victim_id = victim.ids[id(v)]
        assert k.call([b"CLIENT", b"KILL", b"ID", b"%d" % victim_id]) == b":1\r\n"
        assert k.call([b"CLIENT", b"KILL", b"ID", b"%d" % victim_id]) == b":0\r\n"
        v.send(b"PING\r\n")
        try:
            assert v.until_closed() == b""
        except ConnectionResetError:
            pass
        assert k.call([b"CLIENT", b"KILL", b"ID", b"%d" % killer.ids[id(k)], b"SKIPME", b"no"]) \
            == b":1\r\n"


def test_hello_3_then_2_switches_back(pair_factory: Callable[[int], Pair]) -> None:
    pair = pair_factory(3)
    for argv in ([b"GET", b"missing"], [b"HELLO", b"2"], [b"GET", b"missing"], [b"HELLO"],
                 [b"HELLO", b"3"], [b"CONFIG", b"GET", b"save"]):  # fmt: skip
        pair.check(argv)



# ---- redis-cli -3: the same screen ---------------------------------------------------------------

CLI_SEQUENCE = [
    ["SET", "cli", "v"],
    ["GET", "cli"],
    ["GET", "nosuch"],
    ["MGET", "cli", "nosuch"],
    ["INCR", "cli"],
    ["INCRBYFLOAT", "f", "1.5"],
    ["EXISTS", "cli", "nosuch"],
    ["CONFIG", "GET", "save"],
    ["COMMAND", "INFO", "get"],
    ["COMMAND", "DOCS", "set"],
    ["CLIENT", "GETNAME"],
    ["KEYS", "nosuch*"],
    ["HELLO", "3", "SETNAME"],
    ["nosuch", "a"],
    ["PING"],
    ["ECHO", "a\nb"],
    ["TYPE", "cli"],
    ["TTL", "cli"],
]


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
@pytest.mark.parametrize("extra", [["-3"], ["-3", "--no-raw"]], ids=["tty-less", "no-raw"])
def test_redis_cli_resp3_screen(extra: list[str], redis_port: int, seshat_port: int) -> None:
    """`redis-cli -3 <cmd>` prints the same text for both servers."""
    for port in (redis_port, seshat_port):
        subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True, check=True)
    for argv in CLI_SEQUENCE:
        screens = [
            subprocess.run(
                ["redis-cli", *extra, "-p", str(port), *argv],
                capture_output=True, timeout=10, check=False,
            ).stdout
            for port in (redis_port, seshat_port)
        ]  # fmt: skip
        assert screens[1] == screens[0], (argv, screens)
