"""RocksLogStorage against a real RocksDB in a temporary directory.

Goal: the RocksDB log storage is indistinguishable from `MemoryLogStorage` to the core. The
central test drives both with the same random sequences of appends (with overwrites),
compactions, received snapshots, hard states and reopens, several writes staged into one batch,
under tail-cache budgets from "one entry" to "everything", and compares every read, exceptions
included. Hand-written tests pin the boundaries (Compacted/Unavailable, `max_bytes`), recovery
after reopen, cache eviction and the hot path staying off the disk; a small Raft cluster runs on
it and a node restarted from its database recovers term, vote and log.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.raft import (
    ConfState,
    Entry,
    EntryType,
    HardState,
    MemoryLogStorage,
    Snapshot,
    SnapshotMetadata,
    StateRole,
)
from seshat.raft.storage import Compacted, StorageError, Unavailable
from seshat.storage.engine import RAFT_LOG, Engine
from seshat.storage.raft_log import (
    CACHE_ENTRY_OVERHEAD_BYTES,
    RocksLogStorage,
    log_key,
)
from tests.raft.harness import Cluster


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    e = Engine.open(str(tmp_path / "db"))
    yield e
    e.close()


def ents(lo: int, hi: int, term: int = 1, size: int = 10) -> list[Entry]:
    return [Entry(term=term, index=i, data=bytes([i % 256]) * size) for i in range(lo, hi)]


def stage(engine: Engine, fn: Callable[..., None], *args: Any) -> None:
    """Stage one write and write it, as the driver does for a Ready."""
    batch = engine.batch()
    fn(batch, *args)
    engine.write(batch)


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """A read's result, or its exception as (type, args), so two storages compare with ==."""
    try:
        return fn(*args)
    except (Compacted, Unavailable) as exc:
        return (type(exc).__name__, exc.args)


def assert_same(mem: MemoryLogStorage, rocks: RocksLogStorage, exhaustive: bool) -> None:
    assert rocks.first_index() == mem.first_index()
    assert rocks.last_index() == mem.last_index()
    assert rocks.initial_state() == mem.initial_state()
    assert rocks.snapshot() == mem.snapshot()
    first, last = mem.first_index(), mem.last_index()
    for i in range(first - 3, last + 3):
        assert outcome(rocks.term, i) == outcome(mem.term, i), i
    limits = (None, 0, 40, 100) if exhaustive else (None, 40)
    for lo in range(first - 2, last + 3):
        for hi in range(lo - 1, last + 3):
            if not exhaustive and (lo + hi) % 3:
                continue
            for mb in limits:
                got = outcome(rocks.entries, lo, hi, mb)
                assert got == outcome(mem.entries, lo, hi, mb), (lo, hi, mb)


# --- the oracle test ---


def _entries_strategy(data: st.DataObject, start: int) -> list[Entry]:
    n = data.draw(st.integers(0, 8), label="n")
    term = data.draw(st.integers(1, 6), label="term")
    sizes = data.draw(st.lists(st.integers(0, 60), min_size=n, max_size=n), label="sizes")
    return [Entry(term=term, index=start + k, data=b"d" * s) for k, s in enumerate(sizes)]


def _conf(data: st.DataObject) -> ConfState:
    voters = data.draw(st.lists(st.integers(1, 5), unique=True, max_size=3), label="voters")
    learners = data.draw(st.lists(st.integers(6, 8), unique=True, max_size=2), label="learners")
    return ConfState(tuple(voters), tuple(learners))


@settings(
    max_examples=int(os.environ.get("SESHAT_RAFT_LOG_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_matches_memory_storage_on_random_histories(data: st.DataObject) -> None:
    budget = data.draw(
        st.sampled_from([0, 3 * (24 + CACHE_ENTRY_OVERHEAD_BYTES + 30), 64 << 20]), label="budget"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "db")
        engine = Engine.open(path)
        rocks = RocksLogStorage(engine, cache_bytes_max=budget)
        mem = MemoryLogStorage()
        try:
            if data.draw(st.booleans(), label="bootstrap"):
                conf = _conf(data)
                mem.bootstrap(conf)
                stage(engine, rocks.bootstrap, conf)
            for _ in range(data.draw(st.integers(1, 12), label="batches")):
                if data.draw(st.integers(0, 9), label="reopen?") == 0:
                    engine.close()
                    engine = Engine.open(path)
                    rocks = RocksLogStorage(engine, cache_bytes_max=budget)
                else:
                    batch = engine.batch()
                    for _ in range(data.draw(st.integers(1, 3), label="ops")):
                        _random_write(data, mem, rocks, batch)
                    engine.write(batch)
                assert_same(mem, rocks, exhaustive=False)
            engine.close()
            engine = Engine.open(path)
            rocks = RocksLogStorage(engine, cache_bytes_max=budget)
            assert_same(mem, rocks, exhaustive=True)
        finally:
            engine.close()


def _random_write(
    data: st.DataObject, mem: MemoryLogStorage, rocks: RocksLogStorage, batch: Any
) -> None:
    """One write, applied to the oracle at once and staged for RocksDB into `batch`."""
    kind = data.draw(st.sampled_from(["append"] * 5 + ["compact", "snapshot", "hard"]))
    first, last = mem.first_index(), mem.last_index()
    if kind == "append":
        start = data.draw(st.integers(max(1, first - 3), last + 1), label="start")
        entries = _entries_strategy(data, start)
        mem.append(entries)
        rocks.append(batch, entries)
    elif kind == "compact":
        index = data.draw(st.integers(first - 2, last), label="compact")
        conf = _conf(data)
        if index > mem.snap.metadata.index:
            mem.create_snapshot(index, conf, b"")
        mem.compact(index)
        rocks.compact(batch, index, conf)
    elif kind == "snapshot":
        index = data.draw(st.integers(first - 1, last + 5), label="snap_index")
        term = data.draw(st.integers(0, 7), label="snap_term")
        meta = SnapshotMetadata(index=index, term=term, conf_state=_conf(data))
        mem.apply_snapshot(Snapshot(metadata=meta))
        rocks.apply_snapshot(batch, meta)
    else:
        hs = HardState(*data.draw(st.tuples(*[st.integers(0, 9)] * 3), label="hs"))
        mem.set_hard_state(hs)
        rocks.set_hard_state(batch, hs)


# --- boundaries, limits, recovery ---


def test_empty_storage_answers_like_memory(engine: Engine) -> None:
    rocks, mem = RocksLogStorage(engine), MemoryLogStorage()
    assert_same(mem, rocks, exhaustive=True)
    assert rocks.term(0) == 0
    with pytest.raises(Unavailable):
        rocks.term(1)
    with pytest.raises(Compacted):
        rocks.entries(0, 1)
    assert rocks.entries(1, 1) == []


def test_compacted_and_unavailable_boundaries(engine: Engine) -> None:
    rocks = RocksLogStorage(engine)
    stage(engine, rocks.append, ents(1, 11, term=2))
    stage(engine, rocks.compact, 4, ConfState((1,), ()))
    assert (rocks.first_index(), rocks.last_index()) == (5, 10)
    assert rocks.term(4) == 2  # the snapshot's index still has a term
    with pytest.raises(Compacted) as compacted:
        rocks.term(3)
    assert compacted.value.args == (3,)
    with pytest.raises(Unavailable) as unavailable:
        rocks.term(11)
    assert unavailable.value.args == (11,)
    with pytest.raises(Compacted):
        rocks.entries(4, 6)
    with pytest.raises(Unavailable):
        rocks.entries(5, 12)
    assert [e.index for e in rocks.entries(5, 11)] == list(range(5, 11))
    assert rocks.snapshot() == Snapshot(SnapshotMetadata(4, 2, ConfState((1,), ())), b"")


def test_max_bytes_gives_longest_prefix_but_never_nothing(engine: Engine) -> None:
    # Budget 0 forces the disk path for all but the newest entry: both paths obey one rule.
    for budget in (0, 64 << 20):
        rocks = RocksLogStorage(engine, cache_bytes_max=budget)
        if rocks.last_index() == 0:
            stage(engine, rocks.append, ents(1, 11, size=16))  # 40 bytes each
        assert len(rocks.entries(1, 11, 0)) == 1
        assert len(rocks.entries(1, 11, 39)) == 1
        assert len(rocks.entries(1, 11, 80)) == 2
        assert len(rocks.entries(1, 11, 119)) == 2
        assert len(rocks.entries(1, 11, 400)) == 10
        assert len(rocks.entries(1, 11, None)) == 10
        assert len(rocks.entries(9, 11, 41)) == 1  # spans disk and cache with budget 0


def test_reopen_recovers_indexes_hard_state_snapshot_and_log(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    engine = Engine.open(path)
    rocks = RocksLogStorage(engine)
    conf = ConfState((1, 2, 3), (4,))
    stage(engine, rocks.bootstrap, conf)
    stage(engine, rocks.append, ents(4, 30, term=3))
    stage(engine, rocks.append, ents(20, 25, term=4))  # overwrite: the log ends at 24
    stage(engine, rocks.compact, 9, conf)
    stage(engine, rocks.set_hard_state, HardState(term=4, vote=2, commit=22))
    before = (rocks.first_index(), rocks.last_index(), rocks.initial_state(), rocks.snapshot())
    log = rocks.entries(10, 25)
    engine.close()

    engine = Engine.open(path)
    again = RocksLogStorage(engine, snapshot_data=lambda: b"state")
    assert (again.first_index(), again.last_index()) == (10, 24)
    assert (again.first_index(), again.last_index(), again.initial_state()) == before[:3]
    assert again.snapshot() == Snapshot(before[3].metadata, b"state")
    assert again.entries(10, 25) == log
    assert again.term(9) == 3 and again.term(24) == 4
    engine.close()


def test_reopen_after_apply_snapshot_and_bootstrap_only(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    engine = Engine.open(path)
    rocks = RocksLogStorage(engine)
    stage(engine, rocks.bootstrap, ConfState((1,), ()))
    engine.close()
    engine = Engine.open(path)
    rocks = RocksLogStorage(engine)
    assert rocks.last_index() == 1 and rocks.initial_state()[0] == HardState(1, 0, 1)
    entry = rocks.entries(1, 2)[0]
    assert entry.type is EntryType.CONF_CHANGE
    meta = SnapshotMetadata(50, 7, ConfState((1, 2), ()))
    stage(engine, rocks.apply_snapshot, meta)
    engine.close()
    engine = Engine.open(path)
    rocks = RocksLogStorage(engine)
    assert (rocks.first_index(), rocks.last_index(), rocks.term(50)) == (51, 50, 7)
    assert rocks.initial_state()[1] == ConfState((1, 2), ())
    assert list(engine.iterate(RAFT_LOG, log_key(0), None)) == []
    engine.close()


def test_hole_in_the_log_is_reported_not_hidden(engine: Engine) -> None:
    rocks = RocksLogStorage(engine, cache_bytes_max=0)
    stage(engine, rocks.append, ents(1, 6))
    stage(engine, rocks.set_hard_state, HardState(1, 0, 0))  # next batch: evicts to 1 entry
    batch = engine.batch()
    batch.delete(RAFT_LOG, log_key(3))  # corrupt behind its back
    engine.write(batch)
    with pytest.raises(StorageError):
        rocks.entries(1, 5)
    with pytest.raises(StorageError):
        RocksLogStorage(engine)


# --- the tail cache ---


def test_hot_path_reads_never_touch_rocksdb(engine: Engine) -> None:
    rocks = RocksLogStorage(engine)
    stage(engine, rocks.append, ents(1, 1001))
    stage(engine, rocks.append, ents(990, 1010, term=2))
    reads = rocks.disk_reads
    for i in range(1, 1010):
        rocks.term(i)
    assert rocks.entries(900, 1010, 1 << 20) == rocks.entries(900, 1010)
    assert rocks.disk_reads == reads


def test_cache_eviction_keeps_the_newest_within_budget(engine: Engine) -> None:
    per_entry = 24 + 100 + CACHE_ENTRY_OVERHEAD_BYTES
    budget = 10 * per_entry
    rocks = RocksLogStorage(engine, cache_bytes_max=budget)
    for lo in range(1, 200, 7):
        stage(engine, rocks.append, ents(lo, lo + 7, term=lo, size=100))
        cache_first, cached = rocks.cache_extent()
        assert cached <= budget
        assert cached == (rocks.last_index() + 1 - cache_first) * per_entry
    # Evicted entries come back from RocksDB, identical; cached ones without a disk read.
    reads = rocks.disk_reads
    cache_first, _ = rocks.cache_extent()
    assert rocks.term(rocks.last_index()) == 197
    assert rocks.disk_reads == reads
    assert rocks.entries(1, 204) == [
        Entry(term=lo, index=i, data=bytes([i % 256]) * 100)
        for lo in range(1, 200, 7)
        for i in range(lo, lo + 7)
    ]
    assert rocks.term(1) == 1 and rocks.disk_reads > reads
    # An overwrite below the cache replaces it. While its batch is the one being staged, all of
    # it stays cached (not in RocksDB yet), even past the budget; the next batch evicts.
    batch = engine.batch()
    rocks.append(batch, ents(5, 60, term=300, size=100))
    rocks.compact(batch, 6, ConfState((1,), ()))  # reads the staged term of 6
    assert rocks.cache_extent() == (7, 53 * per_entry)
    assert rocks.entries(7, 60) == ents(7, 60, term=300, size=100)
    engine.write(batch)
    stage(engine, rocks.set_hard_state, HardState(300, 1, 50))
    assert rocks.cache_extent()[1] <= budget and rocks.term(59) == 300
    assert rocks.entries(7, 60) == ents(7, 60, term=300, size=100)
    assert rocks.snapshot().metadata.term == 300
    # An entry larger than the whole budget is still cached: the newest always is.
    huge = [Entry(term=301, index=60, data=b"x" * (2 * budget))]
    stage(engine, rocks.append, huge)
    stage(engine, rocks.set_hard_state, HardState(301, 1, 50))
    assert rocks.cache_extent()[0] == 60 and rocks.entries(60, 61) == huge


def test_reopen_warms_the_cache_up_to_the_budget(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    engine = Engine.open(path)
    rocks = RocksLogStorage(engine)
    stage(engine, rocks.append, ents(1, 101, size=100))
    engine.close()
    engine = Engine.open(path)
    per_entry = 24 + 100 + CACHE_ENTRY_OVERHEAD_BYTES
    rocks = RocksLogStorage(engine, cache_bytes_max=30 * per_entry)
    assert rocks.cache_extent() == (71, 30 * per_entry)
    reads = rocks.disk_reads
    assert rocks.entries(71, 101) == ents(71, 101, size=100)
    assert rocks.disk_reads == reads
    engine.close()


# --- a Raft cluster on RocksDB ---


class RocksCluster(Cluster):
    """The lock-step harness with each node's log in its own RocksDB; each Ready's writes go
    into one batch written before `advance()`, as the driver does."""

    def __init__(self, ids: list[int], root: Path, seed: int = 0) -> None:
        self.root = root
        self.engines: dict[int, Engine] = {}
        super().__init__(ids, seed=seed)
        conf = ConfState(tuple(ids), ())
        for i in ids:
            self.engines[i] = Engine.open(str(root / f"n{i}"))
            storage = RocksLogStorage(self.engines[i])
            stage(self.engines[i], storage.bootstrap, conf)
            self.storages[i] = storage  # type: ignore[assignment]
            self.nodes[i] = self._make(i)

    def process(self, node_id: int) -> bool:
        node = self.nodes[node_id]
        if not node.has_ready():
            return False
        rd = node.ready()
        storage: RocksLogStorage = self.storages[node_id]  # type: ignore[assignment]
        engine = self.engines[node_id]
        self.inbox.extend(rd.messages)
        batch = engine.batch()
        if rd.snapshot is not None:
            storage.apply_snapshot(batch, rd.snapshot.metadata)
        if rd.entries:
            storage.append(batch, rd.entries)
        if rd.hard_state is not None:
            storage.set_hard_state(batch, rd.hard_state)
        engine.write(batch)
        engine.flush_wal()
        self.inbox.extend(rd.persisted_messages)
        self.applied[node_id].extend(rd.committed_entries)
        node.advance(rd)
        node.check_invariants()
        return True

    def restart(self, node_id: int) -> None:
        """Crash-free restart: close the database, reopen it, rebuild the node from disk."""
        self.engines[node_id].close()
        self.engines[node_id] = Engine.open(str(self.root / f"n{node_id}"))
        self.storages[node_id] = RocksLogStorage(self.engines[node_id])  # type: ignore[assignment]
        super().restart(node_id)

    def close(self) -> None:
        for e in self.engines.values():
            e.close()


def _log(storage: Any) -> list[Entry]:
    result: list[Entry] = storage.entries(storage.first_index(), storage.last_index() + 1)
    return result


def test_raft_cluster_on_rocksdb_commits_and_a_restarted_node_recovers(tmp_path: Path) -> None:
    c = RocksCluster([1, 2, 3], tmp_path)
    try:
        c.elect(1)
        for k in range(20):
            c.nodes[1].propose([b"v%d" % k])
        c.stabilize()
        c.tick_all(1)  # followers learn the last commit index with the next heartbeat
        assert c.data(1) == c.data(2) == c.data(3) == [b"v%d" % k for k in range(20)]
        hs_before = c.storages[2].initial_state()[0]
        log_before = _log(c.storages[2])
        assert hs_before.term == c.nodes[1].term() and hs_before.vote == 1
        c.restart(2)
        assert c.storages[2].initial_state()[0] == hs_before
        assert _log(c.storages[2]) == log_before
        assert c.nodes[2].term() == hs_before.term and c.nodes[2].role() is StateRole.FOLLOWER
        # The restarted node re-applies its committed log and keeps following.
        for k in range(20, 25):
            c.nodes[1].propose([b"v%d" % k])
        c.stabilize()
        c.tick_all(1)
        assert c.data(2) == [b"v%d" % k for k in range(25)]
        assert _log(c.storages[2]) == _log(c.storages[1])
    finally:
        c.close()


def test_lagging_node_gets_a_snapshot_and_keeps_it_across_restart(tmp_path: Path) -> None:
    c = RocksCluster([1, 2, 3], tmp_path)
    try:
        c.elect(1)
        c.isolate(3)
        for k in range(10):
            c.nodes[1].propose([b"w%d" % k])
        c.stabilize()
        leader: RocksLogStorage = c.storages[1]  # type: ignore[assignment]
        committed = c.nodes[1].committed()
        stage(c.engines[1], leader.compact, committed, c.nodes[1].conf_state())
        c.heal()
        c.tick_all(3)  # heartbeats find node 3 behind the leader's first index
        follower: RocksLogStorage = c.storages[3]  # type: ignore[assignment]
        assert follower.first_index() == committed + 1
        assert follower.snapshot().metadata == leader.snapshot().metadata
        c.restart(3)
        assert c.storages[3].first_index() == committed + 1
        assert c.storages[3].initial_state()[1] == ConfState((1, 2, 3), ())
        c.nodes[1].propose([b"after"])
        c.stabilize()
        assert _log(c.storages[3])[-1].data == b"after"
    finally:
        c.close()


def test_random_cluster_history_survives_restarts(tmp_path: Path) -> None:
    """Proposals, elections and restarts in a seeded order; every node's log matches the
    committed prefix of the others' after each restart."""
    rng = random.Random(7)
    c = RocksCluster([1, 2, 3], tmp_path, seed=7)
    try:
        c.elect(1)
        for step in range(30):
            leader = c.leader()
            if leader is not None:
                c.nodes[leader].propose([b"s%d" % step])
            if rng.random() < 0.2:
                victim = rng.choice([1, 2, 3])
                before = (c.storages[victim].initial_state(), _log(c.storages[victim]))
                c.restart(victim)
                assert (c.storages[victim].initial_state(), _log(c.storages[victim])) == before
            c.tick_all(1)
        c.tick_all(30)
        assert c.leader() is not None
        logs = [_log(c.storages[i]) for i in (1, 2, 3)]
        assert logs[0] == logs[1] == logs[2]
    finally:
        c.close()
