"""SYNC for `redis-cli --rdb`: Seshat's whole state as an RDB file that redis-server 7.0 loads.

The main test fills a Seshat node with the dataset of `dataset.py` (every value type, TTLs,
three databases, a function library), takes its file with the real `redis-cli --rdb`, starts
a redis-server on that file, and compares every key and library in both. The others pin what
a Redis replica gets instead (an error), REPLCONF's replies against redis-server's, PSYNC's
FULLRESYNC header, that a write pipelined before SYNC is in the file, that a follower's file
holds what the leader acknowledged, and that a checkpoint left by a killed export is removed.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from seshat.rdb.export import EXPORT_DIR
from seshat.rdb.reader import FunctionRecord, KeyRecord, parse
from tests.cluster.conftest import LocalCluster
from tests.rdb.dataset import client, fill, functions, snapshot, take_rdb
from tests.server.conftest import SeshatProcess
from tests.server.wire import encode_command


def test_redis_cli_rdb_of_seshat_loads_into_redis(
    tmp_path: Path, start_redis: Callable[..., int], seshat_server: SeshatProcess
) -> None:
    fill(seshat_server.port)
    client(seshat_server.port).set("expired", "x", px=1)  # gone by the time the file is made
    path = tmp_path / "seshat.rdb"
    take_rdb(seshat_server.port, path)
    rdb = parse(path.read_bytes())  # Seshat's own reader checks the checksum and every value
    assert rdb.checksum != 0
    assert {b"expired"} & {r.key for r in rdb.records if isinstance(r, KeyRecord)} == set()
    expected = snapshot(seshat_server.port)
    assert sum(len(keys) for keys in expected.values()) == 36

    redis_port = start_redis(path)
    assert snapshot(redis_port) == expected
    assert functions(redis_port) == functions(seshat_server.port)


def test_functions_rdb_holds_the_libraries_only(
    tmp_path: Path, start_redis: Callable[..., int], seshat_server: SeshatProcess
) -> None:
    fill(seshat_server.port)
    path = tmp_path / "functions.rdb"
    take_rdb(seshat_server.port, path, "--functions-rdb")
    records = parse(path.read_bytes()).records
    assert records and all(isinstance(r, FunctionRecord) for r in records)
    redis_port = start_redis(path)
    assert client(redis_port).dbsize() == 0
    assert functions(redis_port) == functions(seshat_server.port)


def exchange(port: int, *commands: list[bytes], read_until_close: bool = False) -> bytes:
    """Send `commands` in one write and read the answer: until the server closes, or until
    nothing more comes for 0.5 s."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"".join(encode_command(c) for c in commands))
        conn.settimeout(10 if read_until_close else 0.5)
        out = b""
        try:
            while chunk := conn.recv(65536):
                out += chunk
        except TimeoutError:
            assert not read_until_close, "the server did not close the connection"
        return out


REPLCONF_CASES = [
    [[b"REPLCONF"]],
    [[b"REPLCONF", b"capa"]],
    [[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]],
    [[b"REPLCONF", b"listening-port", b"6380", b"ip-address", b"10.0.0.1"]],
    [[b"REPLCONF", b"listening-port", b"x"]],
    [[b"REPLCONF", b"rdb-only", b"2"]],
    [[b"REPLCONF", b"rdb-only", b"x"]],
    [[b"REPLCONF", b"rdb-only", b"0"]],
    [[b"REPLCONF", b"rdb-filter-only", b"foo"]],
    [[b"REPLCONF", b"rdb-filter-only", b"FUNCTIONS"]],
    [[b"REPLCONF", b"rdb-filter-only", b""]],
    [[b"REPLCONF", b"foo", b"bar"]],
    [[b"REPLCONF", b"ack", b"10"]],  # no reply at all: the PING after it answers alone
    [[b"REPLCONF", b"getack", b"*"]],
    [[b"PSYNC", b"a", b"b"]],
    [[b"SYNC", b"x"]],
    [[b"PSYNC", b"a"]],
    [[b"MULTI"], [b"SYNC"], [b"EXEC"]],  # refused while queuing (no_multi): EXECABORT
]


def test_replconf_and_sync_errors_answer_as_redis(
    start_redis: Callable[..., int], seshat_server: SeshatProcess
) -> None:
    redis_port = start_redis()
    for commands in REPLCONF_CASES:  # one connection each, on one pair of servers
        theirs = exchange(redis_port, *commands, [b"PING"])
        ours = exchange(seshat_server.port, *commands, [b"PING"])
        assert ours == theirs, commands


def test_a_redis_replica_is_told_to_use_raft(seshat_server: SeshatProcess) -> None:
    """SYNC or PSYNC without `rdb-only`: a replica would expect a write stream after the file."""
    for command in ([b"SYNC"], [b"PSYNC", b"?", b"-1"]):
        reply = exchange(seshat_server.port, [b"REPLCONF", b"capa", b"eof"], command)
        assert reply.startswith(b"+OK\r\n-ERR Seshat does not stream writes to Redis replicas")


def test_psync_answers_fullresync_then_the_file_then_closes(seshat_server: SeshatProcess) -> None:
    reply = exchange(
        seshat_server.port,
        [b"REPLCONF", b"rdb-only", b"1"],
        [b"SET", b"k", b"written just before"],  # pipelined: PSYNC waits for it
        [b"PSYNC", b"?", b"-1"],
        read_until_close=True,
    )
    ok, set_ok, fullresync, rest = reply.split(b"\r\n", 3)
    assert (ok, set_ok) == (b"+OK", b"+OK")
    word, replid, offset = fullresync.split(b" ")
    assert word == b"+FULLRESYNC" and len(replid) == 40 and int(offset) > 0
    size, body = rest.split(b"\r\n", 1)
    assert size.startswith(b"$") and int(size[1:]) == len(body)
    records = parse(body).records
    assert KeyRecord(0, b"k", None, records[0].payload) in records  # type: ignore[union-attr]


def test_a_followers_file_holds_what_the_leader_acknowledged(
    tmp_path: Path, start_cluster: Callable[..., LocalCluster]
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    with cluster.client(leader, protocol=2) as c:
        c.mset({f"k{i}": i for i in range(50)})
    path = tmp_path / "follower.rdb"
    take_rdb(cluster.nodes[follower].port, path)  # its read point covers the leader's writes
    keys = {r.key for r in parse(path.read_bytes()).records if isinstance(r, KeyRecord)}
    assert keys == {f"k{i}".encode() for i in range(50)}


def test_a_killed_exports_checkpoint_is_removed_at_start(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "node"
    leftover = data_dir / EXPORT_DIR / "tmp123"
    leftover.mkdir(parents=True)
    (leftover / "000009.sst").write_bytes(b"x" * 100)
    node = start_seshat(data_dir=data_dir)
    assert node.client().ping()
    assert not (data_dir / EXPORT_DIR).exists()


def test_a_large_file_reaches_a_slow_reader_whole_and_leaves_nothing_behind(
    seshat_server: SeshatProcess,
) -> None:
    """More than the socket buffers hold, to a reader slow at first: the node's writes wait on
    asyncio's flow control (`conn.drain`) and the file still arrives whole; the checkpoint and
    the file are removed once it is sent."""
    r = client(seshat_server.port)
    values = {f"big{i}".encode(): os.urandom(200_000) for i in range(40)}  # 8 MB, incompressible
    r.mset(values)
    with socket.create_connection(("127.0.0.1", seshat_server.port), timeout=30) as conn:
        conn.sendall(encode_command([b"REPLCONF", b"rdb-only", b"1"]) + encode_command([b"SYNC"]))
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
            if len(received) < 1_000_000:
                time.sleep(0.01)  # slow at first: the node's writes must wait for the reader
    ok, size, body = received.split(b"\r\n", 2)
    assert ok == b"+OK" and int(size[1:]) == len(body) > 8_000_000
    keys = {rec.key for rec in parse(body).records if isinstance(rec, KeyRecord)}
    assert keys == set(values)
    leftovers = seshat_server.data_dir / EXPORT_DIR
    assert not leftovers.exists() or not any(leftovers.iterdir())
