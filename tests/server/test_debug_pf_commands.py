"""DEBUG, ASKING, PFSELFTEST and PFDEBUG on real Seshat processes, beside a real redis-server.

Every reply and error is compared byte for byte with redis-server 7.0.15's, in RESP2 and RESP3:
DEBUG refused as `enable-debug-command no` refuses it, ASKING without cluster support,
PFSELFTEST's OK, PFDEBUG's four subcommands and its errors (missing key, values that are not
HLLs, corrupt sparse values, unknown subcommands), and the command-table rows. PFDEBUG TODENSE
and GETREG store a sparse HLL dense: GET then answers Redis's bytes, and on a three-node
cluster a follower holds the same bytes (the change is a replicated write). ASKING answers OK
in redirect mode, where Seshat presents itself as a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from tests.cluster.conftest import LocalCluster, start_cluster  # noqa: F401 (a fixture)
from tests.server.conftest import SeshatProcess
from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import Pair, WireClient, parse

HEADER_SPARSE = b"HYLL\x01" + bytes(11)
ELEMENTS = [b"element:%d" % i for i in range(200)]


def same(pair: Pair, line: str | list[bytes]) -> bytes:
    """`pair.same`, with replies cut short in the failure message (GETREG answers 16,384)."""
    theirs, ours = pair.both(line)
    if ours != theirs:
        at = next(i for i, (a, b) in enumerate(zip(ours + b"?", theirs + b"!")) if a != b)
        raise AssertionError(
            f"{line!r}: first difference at byte {at}: redis {theirs[max(0, at - 40) : at + 80]!r}"
            f" seshat {ours[max(0, at - 40) : at + 80]!r}"
        )
    return ours


# ---- errors and fixed replies ------------------------------------------------------------------

SAME = [
    "DEBUG",
    "DEBUG foo",
    "debug SLEEP 0",
    "DEBUG RELOAD",
    "DEBUG OBJECT k",
    "DEBUG HELP",
    "DEBUG set-active-expire 0",
    "ASKING",
    "asking",
    "ASKING x",
    "PFSELFTEST",
    "pfselftest",
    "PFSELFTEST x",
    "PFDEBUG",
    "PFDEBUG getreg",
    "PFDEBUG getreg nokey x",
    "PFDEBUG getreg nokey",
    "PFDEBUG todense nokey",
    "PFDEBUG decode nokey",
    "PFDEBUG encoding nokey",
    "PFDEBUG nosuch nokey",
]


@pytest.mark.parametrize("line", SAME)
def test_errors_and_fixed_replies_as_redis(pair: Pair, line: str) -> None:
    same(pair, "FLUSHALL")
    same(pair, line)


def test_pfselftest_answers_ok(pair: Pair) -> None:
    assert same(pair, "PFSELFTEST") == b"+OK\r\n"


# ---- PFDEBUG on HLLs and on other values --------------------------------------------------------


def test_pfdebug_subcommands_as_redis(pair: Pair) -> None:
    same(pair, "FLUSHALL")
    same(pair, "PFADD h a b c")
    assert same(pair, "PFDEBUG ENCODING h").endswith(b"sparse\r\n")
    same(pair, "pfdebug encoding h")
    same(pair, "PFDEBUG DECODE h")
    same(pair, "PFDEBUG nosuch h")
    same(pair, "GET h")
    assert same(pair, "PFDEBUG TODENSE h") == b":1\r\n"
    dense = same(pair, "GET h")
    assert len(dense) > 12304  # the 12,304-byte dense string, in its bulk frame
    assert same(pair, "PFDEBUG todense h") == b":0\r\n"
    same(pair, "PFDEBUG DECODE h")
    same(pair, "PFDEBUG ENCODING h")
    same(pair, "PFDEBUG GETREG h")
    same(pair, "PFCOUNT h")
    same(pair, "PFADD h d e f")
    same(pair, "GET h")
    same(pair, "PFCOUNT h")


def test_getreg_stores_a_sparse_hll_dense(pair: Pair) -> None:
    same(pair, "FLUSHALL")
    same(pair, [b"PFADD", b"g", *ELEMENTS])
    same(pair, "PFCOUNT g")  # caches the cardinality in the header, which the dense form keeps
    same(pair, "GET g")
    registers = same(pair, "PFDEBUG GETREG g")
    node, _ = parse(registers)
    assert node.marker == b"*" and len(node.children) == 16384
    assert same(pair, "PFDEBUG ENCODING g").endswith(b"dense\r\n")
    same(pair, "GET g")
    same(pair, "PFDEBUG GETREG g")
    same(pair, "PFCOUNT g")


def test_pfdebug_of_values_that_are_not_hlls(pair: Pair) -> None:
    same(pair, "FLUSHALL")
    same(pair, "SET s abc")
    same(pair, "RPUSH l a")
    same(pair, [b"SET", b"short", b"HYLL"])
    same(pair, [b"SET", b"baddense", b"HYLL\x00" + bytes(20)])
    same(pair, [b"SET", b"badenc", b"HYLL\x02" + bytes(20)])
    for key in ("s", "l", "short", "baddense", "badenc"):
        for sub in ("GETREG", "DECODE", "ENCODING", "TODENSE", "nosuch"):
            same(pair, f"PFDEBUG {sub} {key}")
    same(pair, "GET s")


def test_pfdebug_of_corrupt_sparse_values(pair: Pair) -> None:
    """Redis decodes whatever opcodes a sparse value holds, and refuses to convert or merge
    one whose opcodes do not cover exactly 16,384 registers (a VAL past the last one too)."""
    same(pair, "FLUSHALL")
    values = {
        b"empty": HEADER_SPARSE,  # no opcodes: covers no register
        b"short": HEADER_SPARSE + b"\x7f\xfe",  # XZERO of 16,383
        b"long": HEADER_SPARSE + b"\x7f\xff\x00",  # one register too many
        b"cut": HEADER_SPARSE + b"\x7f\xff\x40",  # an XZERO cut after its first byte
        b"valpast": HEADER_SPARSE + b"\x7f\xff\x84",  # a VAL past the last register
        b"mixed": HEADER_SPARSE + b"\x00\x3f\x80\x8f\x7f\xb9",  # z:1 z:64 v:1,1 v:4,4 Z:16314
    }
    for key, value in values.items():
        same(pair, [b"SET", key, value])
    for key in values:
        for sub in (b"ENCODING", b"DECODE", b"GETREG", b"TODENSE", b"ENCODING"):
            same(pair, [b"PFDEBUG", sub, key])
        same(pair, [b"GET", key])
        same(pair, [b"PFMERGE", b"merged", key])
        same(pair, [b"PFCOUNT", key, b"merged"])


def test_unknown_subcommand_echo(pair: Pair) -> None:
    """Redis prints the subcommand with %s: cut at a NUL, CR and LF made spaces, no length cap."""
    same(pair, "FLUSHALL")
    same(pair, "PFADD h a")
    for sub in (b"we\r\nird", b"nul\x00after", b"x" * 300, "é".encode(), b""):
        same(pair, [b"PFDEBUG", sub, b"h"])


def test_pfdebug_in_a_transaction(pair: Pair) -> None:
    same(pair, "FLUSHALL")
    same(pair, "PFADD h a b")
    for line in ("MULTI", "PFDEBUG TODENSE h", "PFDEBUG ENCODING h", "PFDEBUG GETREG nokey",
                 "PFDEBUG TODENSE h", "GET h", "EXEC"):  # fmt: skip
        same(pair, line)


def test_todense_keeps_the_ttl(pair: Pair) -> None:
    same(pair, "FLUSHALL")
    same(pair, "PFADD t a")
    same(pair, "EXPIRE t 1000")
    same(pair, "PFDEBUG TODENSE t")
    _theirs, ours = pair.both("TTL t")
    assert ours.startswith(b":") and 0 < int(ours[1:]) <= 1000
    same(pair, "GET t")


def test_todense_notifies_nothing(seshat_port: int) -> None:  # noqa: F811
    """Redis sends no keyspace event for PFDEBUG (checked on redis-server 7.0.15): the next
    message a subscriber gets is the PFADD after it."""
    client = redis.Redis(port=seshat_port, socket_timeout=10)
    client.flushall()
    client.config_set("notify-keyspace-events", "KEA")
    try:
        pubsub = client.pubsub()
        pubsub.psubscribe("__key*__:*")
        assert pubsub.get_message(timeout=5)["type"] == "psubscribe"  # type: ignore[index]
        client.pfadd("n", "a")
        client.execute_command("PFDEBUG", "TODENSE", "n")
        client.execute_command("PFDEBUG", "GETREG", "n")
        client.set("after", "1")
        channels = []
        while (message := pubsub.get_message(timeout=5)) is not None:
            channels.append(message["channel"])
            if message["channel"] == b"__keyevent@0__:set":
                break
        assert channels == [
            b"__keyspace@0__:n",
            b"__keyevent@0__:pfadd",
            b"__keyspace@0__:after",
            b"__keyevent@0__:set",
        ]
        pubsub.close()
    finally:
        client.config_set("notify-keyspace-events", "")


# ---- PFSELFTEST touches no key -----------------------------------------------------------------


def test_pfselftest_writes_nothing(seshat_port: int) -> None:  # noqa: F811
    client = redis.Redis(port=seshat_port, socket_timeout=30)
    client.flushall()
    client.set("k", "v")
    before = client.info("raft")["last_log_index"]
    assert client.execute_command("PFSELFTEST") in (b"OK", "OK", True)
    assert client.info("raft")["last_log_index"] == before
    assert client.dbsize() == 1
    # Pipelined: the replies keep their order around the one computed in a worker thread.
    pipe = client.pipeline(transaction=False)
    pipe.get("k").execute_command("PFSELFTEST").get("k").execute_command("PFSELFTEST").ping()
    assert pipe.execute() == [b"v", b"OK", b"v", b"OK", True]


def test_debug_and_pfselftest_inside_multi(seshat_port: int) -> None:  # noqa: F811
    """A known difference: Redis refuses DEBUG when queuing it (EXEC then answers EXECABORT)
    and runs PFSELFTEST inside EXEC; Seshat queues both and, as for every admin command it
    answers itself, EXEC answers Seshat's not-in-a-transaction error for each."""
    client = WireClient(seshat_port)
    try:
        assert client.call([b"MULTI"]) == b"+OK\r\n"
        assert client.call([b"DEBUG", b"foo"]) == b"+QUEUED\r\n"
        assert client.call([b"PFSELFTEST"]) == b"+QUEUED\r\n"
        error = b"-ERR this command is not allowed inside a transaction\r\n"
        assert client.call([b"EXEC"]) == b"*2\r\n" + error + error
    finally:
        client.close()


# ---- the command table -------------------------------------------------------------------------

TABLE_SAME = [
    "COMMAND INFO debug",
    "COMMAND INFO asking",
    "COMMAND INFO pfselftest",
    "COMMAND INFO pfdebug",
    "COMMAND INFO PFDEBUG asking DEBUG pfselftest",
    "COMMAND DOCS debug",
    "COMMAND DOCS asking",
    "COMMAND DOCS pfselftest",
    "COMMAND DOCS pfdebug",
    "COMMAND GETKEYS PFDEBUG GETREG k",
    "COMMAND GETKEYSANDFLAGS PFDEBUG TODENSE k",
    "COMMAND GETKEYS PFDEBUG GETREG",
    "COMMAND GETKEYS PFSELFTEST",
    "COMMAND GETKEYS DEBUG foo",
    "COMMAND GETKEYS ASKING",
]


@pytest.mark.parametrize("line", TABLE_SAME)
def test_command_table_rows_as_redis(pair: Pair, line: str) -> None:
    same(pair, line)


# ---- ASKING in redirect mode (Seshat as a Redis Cluster) ----------------------------------------


@pytest.mark.parametrize("protocol", [2, 3])
def test_asking_in_redirect_mode(start_seshat: Callable[..., SeshatProcess], protocol: int) -> None:
    node = start_seshat("--redirect")
    client = node.client(protocol=protocol)
    assert client.info("cluster")["cluster_enabled"] == 1
    assert client.execute_command("ASKING") in (b"OK", "OK", True)
    wire = WireClient(node.port)
    try:
        if protocol == 3:
            wire.call([b"HELLO", b"3"])
        assert wire.call([b"ASKING"]) == b"+OK\r\n"
        assert wire.call([b"asking", b"x"]) == (
            b"-ERR wrong number of arguments for 'asking' command\r\n"
        )
        assert wire.call([b"DEBUG", b"foo"]).startswith(b"-ERR DEBUG command not allowed.")
    finally:
        wire.close()


# ---- PFDEBUG TODENSE is a replicated write ------------------------------------------------------


@pytest.fixture
def redis_client(redis_port: int) -> Iterator[redis.Redis]:  # noqa: F811
    client = redis.Redis(port=redis_port, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


def test_todense_replicates_to_followers(
    start_cluster: Callable[..., LocalCluster],  # noqa: F811
    redis_client: redis.Redis,
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    followers = [n for n in cluster.nodes if n != leader]
    via = cluster.client(followers[0], protocol=2)  # relayed to the leader
    for client in (via, redis_client):
        assert client.pfadd("h", *ELEMENTS) == 1
        assert client.execute_command("PFDEBUG", "ENCODING", "h") in (b"sparse", "sparse")
        assert client.execute_command("PFDEBUG", "TODENSE", "h") == 1
    expected = redis_client.get("h")
    assert expected is not None and len(expected) == 12304 and expected[4] == 0
    assert via.get("h") == expected
    commit = int(cluster.info_raft(leader)["commit_index"])
    for n in cluster.nodes:
        cluster.wait_applied(n, commit)
        local = cluster.client(n, protocol=2)
        local.execute_command("READONLY")  # a follower answers from its own state
        assert local.get("h") == expected, n
