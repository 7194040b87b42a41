"""The RocksDB engine against a real database in tmp_path: column families are separate,
batches are atomic and ordered, ranges are half-open both ways, and data survives a reopen."""

from __future__ import annotations

from pathlib import Path

import pytest

from seshat.storage.engine import COLUMN_FAMILIES, KV_DATA, METADATA, Engine, StorageError


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    e = Engine.open(str(tmp_path / "db"))
    yield e
    e.close()


def test_put_get_and_column_families_are_separate(engine: Engine) -> None:
    b = engine.batch()
    b.put(KV_DATA, b"k", b"v")
    b.put(METADATA, b"k", b"m")
    engine.write(b)
    assert engine.get(KV_DATA, b"k") == b"v"
    assert engine.get(METADATA, b"k") == b"m"
    for cf in COLUMN_FAMILIES:
        if cf not in (KV_DATA, METADATA):
            assert engine.get(cf, b"k") is None
    assert engine.multi_get(KV_DATA, [b"k", b"x"]) == [b"v", None]
    assert engine.multi_get(KV_DATA, []) == []


def test_batch_applies_in_order(engine: Engine) -> None:
    b = engine.batch()
    for k in (b"a", b"b", b"c", b"d"):
        b.put(KV_DATA, k, k * 2)
    b.delete_range(KV_DATA, b"b", b"d")
    b.put(KV_DATA, b"c", b"again")
    b.delete(KV_DATA, b"a")
    engine.write(b)
    assert list(engine.iterate(KV_DATA, b"", None)) == [(b"c", b"again"), (b"d", b"dd")]


def test_iterate_half_open_both_directions(engine: Engine) -> None:
    b = engine.batch()
    for k in (b"a", b"b", b"c", b"d", b"e"):
        b.put(KV_DATA, k, b"")
    engine.write(b)
    keys = lambda it: [k for k, _ in it]
    assert keys(engine.iterate(KV_DATA, b"b", b"d")) == [b"b", b"c"]
    assert keys(engine.iterate(KV_DATA, b"b", b"d", reverse=True)) == [b"c", b"b"]
    assert keys(engine.iterate(KV_DATA, b"bb", b"dd", reverse=True)) == [b"d", b"c"]
    assert keys(engine.iterate(KV_DATA, b"c", None, reverse=True)) == [b"e", b"d", b"c"]
    assert keys(engine.iterate(KV_DATA, b"x", None)) == []
    assert keys(engine.iterate(KV_DATA, b"c", b"c")) == []


def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    e = Engine.open(path)
    b = e.batch()
    b.put(KV_DATA, b"key", b"value")
    b.put(METADATA, b"applied", b"7")
    e.write(b)
    e.flush_wal()
    e.close()
    e.close()  # idempotent
    e2 = Engine.open(path)
    try:
        assert e2.get(KV_DATA, b"key") == b"value"
        assert e2.get(METADATA, b"applied") == b"7"
    finally:
        e2.close()


def test_a_checkpoint_is_the_state_when_it_was_taken(engine: Engine, tmp_path: Path) -> None:
    batch = engine.batch()
    batch.put(KV_DATA, b"a", b"1")
    batch.put(METADATA, b"m", b"x")
    engine.write(batch)
    engine.checkpoint(str(tmp_path / "cp"))
    later = engine.batch()
    later.put(KV_DATA, b"a", b"2")
    later.put(KV_DATA, b"b", b"3")
    engine.write(later)
    copy = Engine.open(str(tmp_path / "cp"))
    try:
        assert list(copy.iterate(KV_DATA, b"", None)) == [(b"a", b"1")]
        assert copy.get(METADATA, b"m") == b"x"
    finally:
        copy.close()
    assert engine.get(KV_DATA, b"a") == b"2"  # the database itself goes on


def test_a_checkpoint_that_cannot_be_written_or_a_closed_engine_is_a_storage_error(
    tmp_path: Path,
) -> None:
    engine = Engine.open(str(tmp_path / "db"))
    (tmp_path / "taken").mkdir()  # the target must not exist
    with pytest.raises(StorageError, match="cannot checkpoint"):
        engine.checkpoint(str(tmp_path / "taken"))
    engine.close()
    with pytest.raises(StorageError, match="closed"):
        engine.checkpoint(str(tmp_path / "cp"))


def test_values_from_reads_count_values_in_key_order(engine: Engine) -> None:
    batch = engine.batch()
    for i in range(10):
        batch.put(KV_DATA, b"p" + bytes([i]), b"v%d" % i)
    batch.put(KV_DATA, b"q", b"after")
    batch.put(METADATA, b"p\x03", b"other family")
    engine.write(batch)
    assert engine.values_from(KV_DATA, b"p\x03", 4) == [b"v3", b"v4", b"v5", b"v6"]
    assert engine.values_from(KV_DATA, b"p\x08", 5) == [b"v8", b"v9", b"after"]  # runs on
    assert engine.values_from(KV_DATA, b"p\x05", 0) == []
