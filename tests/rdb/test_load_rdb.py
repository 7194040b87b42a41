"""`seshat load-rdb`: a real Redis RDB file, loaded into a real Seshat, reads back the same.

The main test fills a redis-server 7.0 with every value encoding it writes (int, raw and LZF
strings; listpack and quicklist lists; intsets, listpack and hashtable sets, hashes and zsets;
streams with deletions, groups, consumers and pending entries; TTLs; dbs 0, 3 and 15; a
function library), takes its RDB with `redis-cli --rdb`, loads it into Seshat and into a second
redis-server with the tool as a subprocess, and compares every key through read commands.
The others check what must not be written (a corrupt or truncated file: exit 2, empty server),
what is reported (BUSYKEY, exit 1), `--replace`, and skipped expired keys; the reader's own
tests run on hand-made files, without servers.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from seshat.kv.rdb_codec import crc64, dump_string, encode_length, encode_string
from seshat.rdb import format as fmt
from seshat.rdb.reader import FunctionRecord, KeyRecord, RdbError, parse
from tests.cluster.conftest import LocalCluster
from tests.rdb.dataset import DBS, client, fill, functions, snapshot, take_rdb
from tests.server.conftest import SeshatProcess, free_port

FAR_FUTURE_MS = 4_000_000_000_000  # year 2096
PAST_MS = 1_000_000_000_000  # year 2001
FUTURE_S = 2_100_000_000  # year 2036: EXPIRETIME holds an int32 of seconds


# ---- hand-made files -------------------------------------------------------------------------


def rdb_file(body: bytes, version: int = 10, checksum: bool = True) -> bytes:
    """`REDIS` + version + body + EOF + CRC-64 (0 when `checksum` is off, as rdbchecksum no)."""
    data = b"REDIS%04d" % version + body + bytes([fmt.OP_EOF])
    if version < 5:
        return data
    return data + (crc64(data) if checksum else 0).to_bytes(8, "little")


def aux(name: bytes, value: bytes) -> bytes:
    return bytes([fmt.OP_AUX]) + encode_string(name) + encode_string(value)


def select(db: int) -> bytes:
    return bytes([fmt.OP_SELECTDB]) + encode_length(db)


def string_key(key: bytes, value: bytes) -> bytes:
    return b"\x00" + encode_string(key) + encode_string(value)


def expire_ms(at_ms: int) -> bytes:
    return bytes([fmt.OP_EXPIRETIME_MS]) + at_ms.to_bytes(8, "little", signed=True)


def expire_s(at_s: int) -> bytes:
    return bytes([fmt.OP_EXPIRETIME]) + at_s.to_bytes(4, "little", signed=True)


def function(code: bytes) -> bytes:
    return bytes([fmt.OP_FUNCTION2]) + encode_string(code)


SMALL_FILE = rdb_file(
    aux(b"redis-ver", b"7.0.15")
    + function(b"#!lua name=small\nredis.register_function('f', function() return 1 end)")
    + select(0)
    + bytes([fmt.OP_RESIZEDB]) + encode_length(3) + encode_length(2)
    + string_key(b"plain", b"hello")
    + expire_ms(FAR_FUTURE_MS) + string_key(b"later", b"12345")
    + expire_ms(PAST_MS) + string_key(b"gone", b"x")
    + select(3)
    + bytes([fmt.OP_IDLE]) + encode_length(42) + string_key(b"k1", b"one")
    + bytes([fmt.OP_FREQ, 7]) + expire_s(FUTURE_S) + string_key(b"k2", b"two")
)  # fmt: skip


def test_reader_returns_every_record_with_dump_payloads() -> None:
    rdb = parse(SMALL_FILE)
    assert rdb.version == 10
    assert rdb.aux == [(b"redis-ver", b"7.0.15")]
    assert rdb.checksum != 0
    code = b"#!lua name=small\nredis.register_function('f', function() return 1 end)"
    assert rdb.records == [
        FunctionRecord(code),
        KeyRecord(0, b"plain", None, dump_string(b"hello")),
        KeyRecord(0, b"later", FAR_FUTURE_MS, dump_string(b"12345")),
        KeyRecord(0, b"gone", PAST_MS, dump_string(b"x")),
        KeyRecord(3, b"k1", None, dump_string(b"one")),
        KeyRecord(3, b"k2", FUTURE_S * 1000, dump_string(b"two")),
    ]


def test_reader_accepts_no_checksum_and_old_versions() -> None:
    body = select(0) + string_key(b"a", b"b")
    assert parse(rdb_file(body, checksum=False)).checksum == 0
    old = parse(rdb_file(body, version=4))  # before version 5 a file ends at EOF
    assert old.records == [KeyRecord(0, b"a", None, dump_string(b"b"))]


def _flip_last_checksum_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an RDB file"),
        (b"RDB0010" + SMALL_FILE[9:], "not an RDB file"),
        (b"REDISxyzw" + SMALL_FILE[9:], "bad version"),
        (rdb_file(b"", version=11), "RDB version 11 is not supported"),
        (rdb_file(b"", version=0), "RDB version 0 is not supported"),
        (_flip_last_checksum_byte(SMALL_FILE), "checksum mismatch"),
        (rdb_file(b"\x08" + encode_string(b"k") + b"\x00"), "unknown opcode or object type 8"),
        (rdb_file(b"\xc8"), "unknown opcode or object type 200"),
        (rdb_file(b"\x07" + encode_string(b"k") + b"\x00"), "module value (type 7)"),
        (rdb_file(b"\x06" + encode_string(b"k") + b"\x00"), "module value (type 6)"),
        (rdb_file(bytes([fmt.OP_MODULE_AUX]) + b"\x00"), "module aux data"),
        (rdb_file(bytes([fmt.OP_FUNCTION]) + b"\x00"), "pre-release function format"),
        (rdb_file(b"\x10" + encode_string(b"h") + encode_string(b"\x01\x02")), "bad value"),
        (rdb_file(b"\x09" + encode_string(b"h") + encode_string(b"zipmap")), "bad value"),
        (SMALL_FILE[:-8], "checksum after EOF"),
    ],
)
def test_reader_refuses_bad_files(data: bytes, message: str) -> None:
    with pytest.raises(RdbError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(data)


def test_reader_refuses_every_truncation() -> None:
    for end in range(len(SMALL_FILE)):
        with pytest.raises(RdbError):
            parse(SMALL_FILE[:end])


def test_a_flipped_type_byte_also_blames_the_checksum() -> None:
    at = SMALL_FILE.index(string_key(b"plain", b"hello"))
    data = SMALL_FILE[:at] + b"\x08" + SMALL_FILE[at + 1 :]
    with pytest.raises(RdbError, match="unknown opcode.*checksum does not match"):
        parse(data)


# ---- the tool, as a process ------------------------------------------------------------------


def load_rdb(path: Path, port: int, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seshat.cli", "load-rdb", str(path), "--port", str(port), *options],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def empty(port: int) -> bool:
    return all(client(port, db).dbsize() == 0 for db in DBS) and not client(port).function_list()


def test_expired_keys_are_skipped_and_counted(tmp_path: Path, seshat_server: SeshatProcess) -> None:
    path = tmp_path / "small.rdb"
    path.write_bytes(SMALL_FILE)
    done = load_rdb(path, seshat_server.port)
    assert done.returncode == 0, done.stderr
    assert "keys loaded: 4 (db0 2, db3 2)" in done.stdout
    assert "expired keys skipped: 1" in done.stdout
    assert "function libraries loaded: 1" in done.stdout
    db0, db3 = client(seshat_server.port), client(seshat_server.port, 3)
    assert sorted(db0.keys()) == [b"later", b"plain"]
    assert db0.pexpiretime("later") == FAR_FUTURE_MS
    assert db0.pexpiretime("plain") == -1
    assert db3.mget("k1", "k2") == [b"one", b"two"]
    assert db3.pexpiretime("k2") == FUTURE_S * 1000


def test_busykey_is_reported_and_replace_overwrites(
    tmp_path: Path, seshat_server: SeshatProcess
) -> None:
    path = tmp_path / "small.rdb"
    path.write_bytes(SMALL_FILE)
    assert load_rdb(path, seshat_server.port).returncode == 0
    db3 = client(seshat_server.port, 3)
    db3.set("k1", "changed")

    again = load_rdb(path, seshat_server.port, "--batch", "2")
    assert again.returncode == 1
    assert "key 'k1' in db 3: BUSYKEY" in again.stderr
    assert "key 'plain' in db 0: BUSYKEY" in again.stderr
    assert "function library 'small'" in again.stderr
    assert "errors: 5" in again.stdout
    assert db3.get("k1") == b"changed"

    replaced = load_rdb(path, seshat_server.port, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "errors: 0" in replaced.stdout
    assert db3.get("k1") == b"one"


def test_a_database_the_server_lacks_is_reported(
    tmp_path: Path, seshat_server: SeshatProcess
) -> None:
    path = tmp_path / "db20.rdb"
    path.write_bytes(
        rdb_file(select(20) + string_key(b"a", b"1") + select(1) + string_key(b"b", b"2"))
    )
    done = load_rdb(path, seshat_server.port)
    assert done.returncode == 1
    assert "key 'a' in db 20: not loaded: SELECT 20 failed" in done.stderr
    assert "keys loaded: 1 (db1 1)" in done.stdout
    assert client(seshat_server.port, 1).get("b") == b"2"


def test_a_corrupt_file_writes_nothing(tmp_path: Path, seshat_server: SeshatProcess) -> None:
    value_at = SMALL_FILE.index(b"hello")
    cases = {
        "trailer.rdb": _flip_last_checksum_byte(SMALL_FILE),
        "value.rdb": SMALL_FILE[:value_at] + b"j" + SMALL_FILE[value_at + 1 :],
        "truncated.rdb": SMALL_FILE[: len(SMALL_FILE) // 2],
        "module.rdb": rdb_file(select(0) + string_key(b"a", b"b") + b"\x07" + b"\x01k\x00"),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        done = load_rdb(path, seshat_server.port)
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert "nothing was loaded" in done.stderr, name
        assert empty(seshat_server.port), name
    missing = load_rdb(tmp_path / "absent.rdb", seshat_server.port)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def test_an_unreachable_server_fails(tmp_path: Path) -> None:
    path = tmp_path / "small.rdb"
    path.write_bytes(SMALL_FILE)
    done = load_rdb(path, free_port())
    assert done.returncode == 1
    assert "refused" in done.stderr.lower()


def test_auth_with_user_and_password(
    tmp_path: Path, start_seshat: Callable[..., SeshatProcess]
) -> None:
    node = start_seshat("--requirepass", "sekret")
    path = tmp_path / "small.rdb"
    path.write_bytes(SMALL_FILE)
    refused = load_rdb(path, node.port, "--password", "wrong")
    assert refused.returncode == 1
    assert "AUTH failed" in refused.stderr
    done = load_rdb(path, node.port, "--user", "default", "--password", "sekret")
    assert done.returncode == 0, done.stderr
    assert node.client(password="sekret").get("plain") == b"hello"


# ---- a real Redis dataset ----------------------------------------------------------------------


def test_a_redis_dump_loads_into_seshat_and_redis(
    tmp_path: Path, start_redis: Callable[[], int], seshat_server: SeshatProcess
) -> None:
    source = start_redis()
    fill(source)
    path = tmp_path / "dump.rdb"
    take_rdb(source, path)
    records = [r for r in parse(path.read_bytes()).records if isinstance(r, KeyRecord)]
    # Every encoding named in the goal really is in the file: strings, sets, hashes (table and
    # listpack), zsets (skiplist and listpack), intsets, quicklists, streams; and LZF strings.
    assert {r.payload[0] for r in records} == {0, 2, 4, 5, 11, 16, 17, 18, 19}
    assert any(r.payload[:2] == b"\x00\xc3" for r in records)
    expected = snapshot(source)
    assert sum(len(keys) for keys in expected.values()) == 36
    assert expected[0][b"str:lzf"][1] == -1 and expected[0][b"ttl:s"][1] == 4_000_000_000_000

    for target in (seshat_server.port, start_redis()):
        done = load_rdb(path, target, "--batch", "7")
        assert done.returncode == 0, done.stderr
        assert "keys loaded: 36 (db0 28, db3 4, db15 4)" in done.stdout
        assert "function libraries loaded: 1" in done.stdout
        assert "errors: 0" in done.stdout
        assert snapshot(target) == expected
        assert functions(target) == functions(source)


def test_a_redis_dump_loaded_through_a_follower_reaches_every_node(
    tmp_path: Path, start_redis: Callable[[], int], start_cluster: Callable[..., LocalCluster]
) -> None:
    """The tool is a plain client: pointed at a follower, its RESTOREs and FUNCTION LOADs are
    relayed to the leader and replicated like any write."""
    source = start_redis()
    fill(source)
    path = tmp_path / "dump.rdb"
    take_rdb(source, path)
    expected = snapshot(source)
    cluster = start_cluster(3)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    done = load_rdb(path, cluster.nodes[follower].port)
    assert done.returncode == 0, done.stderr
    assert "keys loaded: 36 (db0 28, db3 4, db15 4)" in done.stdout
    index = int(cluster.info_raft(leader)["commit_index"])
    for node_id, node in cluster.nodes.items():
        cluster.wait_applied(node_id, index)
        assert snapshot(node.port) == expected, node_id
        assert functions(node.port) == functions(source), node_id
        with node.client(protocol=2) as own:
            own.execute_command("READONLY")  # this node's own applied state
            assert own.dbsize() == len(expected[0]), node_id
