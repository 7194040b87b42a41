"""A disk that refuses a write stops the node with a clear error; it never hangs or loses data.

The disk is filled by a file-size limit on the process (RLIMIT_FSIZE, see
`SeshatProcess.file_size_limit`): RocksDB's WAL append fails with EFBIG exactly where a full
disk fails it with ENOSPC, and no test needs root or a mount for it. Before this was handled,
the Raft driver died quietly: the node still answered PING while every write and
linearizable read hung.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.server.conftest import SeshatProcess

LIMIT = 2 << 20  # bytes: a few hundred KB of log, then the WAL outgrows it
VALUE = b"v" * 100_000


def fill_until_refused(client: redis.Redis, prefix: str) -> tuple[list[str], str]:
    """SET 100 KB values until one is refused; the acknowledged keys and the refusal."""
    acked: list[str] = []
    for i in range(4 * LIMIT // len(VALUE)):
        key = f"{prefix}{i}"
        try:
            client.set(key, VALUE)
        except redis.ResponseError as error:
            return acked, str(error)
        acked.append(key)
    raise AssertionError(f"{len(acked)} writes past a {LIMIT}-byte file size limit")


def test_full_disk_answers_an_error_stops_the_node_and_keeps_acknowledged_writes(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    node = start_seshat(data_dir=data_dir, file_size_limit=LIMIT)
    acked, refusal = fill_until_refused(node.client(), "k")

    assert acked, "the limit left no room for a single write"
    assert "outcome unknown" in refusal and "storage error" in refusal, refusal
    assert node.proc is not None
    assert node.proc.wait(15) == 1, node.log()
    assert "node_failed" in node.log()

    restarted = start_seshat(data_dir=data_dir, port=node.port)
    client = restarted.client()
    assert [k for k in acked if client.get(k) != VALUE] == []
    assert client.set("after", b"1")
    assert client.get("after") == b"1"


def test_a_full_disk_at_startup_is_a_clear_error(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    # A limit below RocksDB's first files: opening the database itself fails.
    with pytest.raises(AssertionError, match="exited with 1") as failed:
        start_seshat(data_dir=tmp_path / "data", file_size_limit=1024)
    assert "startup_failed" in str(failed.value), str(failed.value)
    assert "Traceback" not in str(failed.value), str(failed.value)
