"""Collections on the Kvrocks-style layout: deleting is O(1) writes plus a tombstone, the
leader's GC operations remove the orphaned sub-entries in bounded batches, replicas fed the
same log (GC and seeded SPOP included) end byte-identical, and single-member commands write
O(1) RocksDB entries whatever the collection's size."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.kv import layout as L
from seshat.kv.gc import GC_ENTRIES_MAX
from seshat.kv.local import LocalExecutor
from seshat.kv.service import Session
from seshat.kv.state_machine import StateMachine
from seshat.storage.engine import KV_DATA, TOMBSTONES, Batch, Engine
from tests.kv.test_differential_collections import COMMAND as COLLECTION_COMMAND
from tests.kv.test_state_machine import FakeClock

MEMBERS = 20_000


def _sub_entries(engine: Engine) -> int:
    return sum(1 for _ in engine.iterate(KV_DATA, L.SUB_PREFIX, b"t"))


def _tombstones(engine: Engine) -> int:
    return sum(1 for _ in engine.iterate(TOMBSTONES, b"", None))


def _fill_set(ex: LocalExecutor, session: Session, key: bytes, n: int) -> None:
    for lo in range(0, n, 1000):
        members = [str(i).encode() for i in range(lo, min(lo + 1000, n))]
        assert ex.execute(session, [b"SADD", key, *members]) == len(members)


def test_delete_is_o1_and_gc_collects_everything(tmp_path: Path) -> None:
    engines = [CountingEngine.open(os.fspath(tmp_path / n)) for n in ("leader", "replica")]
    try:
        clock = FakeClock()
        leader = LocalExecutor(engines[0], clock)
        s = Session()
        _fill_set(leader, s, b"big", MEMBERS)
        assert leader.execute(s, [b"HSET", b"h", b"f", b"v"]) == 1
        assert _sub_entries(engines[0]) == MEMBERS + 1
        writes = _count_writes(engines[0])
        assert leader.execute(s, [b"DEL", b"big"]) == 1
        # meta record, tombstone, db size, WATCH version, applied index: nothing proportional
        # to the set
        assert writes[-1] <= 5, writes
        assert _tombstones(engines[0]) == 1
        assert leader.execute(s, [b"EXISTS", b"big"]) == 0
        assert leader.execute(s, [b"SCARD", b"big"]) == 0
        ops = 0
        while (op := leader.service.gc_sample(clock())) is not None:
            deleted = leader.propose(op)
            assert isinstance(deleted, int) and deleted <= GC_ENTRIES_MAX
            assert writes[-1] <= GC_ENTRIES_MAX + 2, writes[-1]  # bounded batches
            ops += 1
            assert ops <= MEMBERS // GC_ENTRIES_MAX + 2, ops
        assert _sub_entries(engines[0]) == 1  # only the live hash's field is left
        assert _tombstones(engines[0]) == 0
        assert leader.execute(s, [b"HGET", b"h", b"f"]) == b"v"
        replica = StateMachine(engines[1])
        for index, data in enumerate(leader.log, start=1):
            replica.apply_batch([(index, data)])
        assert replica.checksum() == leader.state_machine.checksum()
    finally:
        for e in engines:
            e.close()


class CountingEngine(Engine):
    """An engine that records the entry count of every batch it writes."""

    writes: list[int]

    def write(self, batch: Batch) -> None:
        self.__dict__.setdefault("writes", []).append(batch.count)
        super().write(batch)


def _count_writes(engine: Engine) -> list[int]:
    assert isinstance(engine, CountingEngine)
    engine.__dict__["writes"] = []
    return engine.__dict__["writes"]  # type: ignore[no-any-return]


def test_single_member_commands_write_o1_entries(tmp_path: Path) -> None:
    engine = CountingEngine.open(os.fspath(tmp_path / "db"))
    try:
        ex = LocalExecutor(engine)
        s = Session()
        _fill_set(ex, s, b"s", MEMBERS)
        fields = [w for i in range(MEMBERS) for w in (b"f%d" % i, b"v")]
        for lo in range(0, len(fields), 2000):
            ex.execute(s, [b"HSET", b"h", *fields[lo : lo + 2000]])
        writes = _count_writes(engine)
        for argv in (
            [b"HSET", b"h", b"new", b"1"],
            [b"HSET", b"h", b"f1", b"2"],
            [b"HDEL", b"h", b"f2"],
            [b"HINCRBY", b"h", b"n", b"1"],
            [b"SADD", b"s", b"new"],
            [b"SREM", b"s", b"3"],
            [b"SPOP", b"s"],
            [b"SMOVE", b"s", b"t", b"4"],
            [b"EXPIRE", b"h", b"100"],
            [b"RENAME", b"h", b"h2"],
            [b"DEL", b"h2"],
            [b"SET", b"s", b"string now"],
        ):
            ex.execute(s, argv)
            assert writes[-1] <= 8, (argv, writes[-1])  # 2 WATCH versions (SMOVE, RENAME)
    finally:
        engine.close()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.one_of(
                COLLECTION_COMMAND,
                st.sampled_from([[b"SPOP", b"a"], [b"SPOP", b"b", b"2"], [b"SPOP", b"c", b"1"]]),
            ),
            st.integers(0, 400_000),
        ),
        min_size=1,
        max_size=30,
    ),
    cuts=st.lists(st.integers(1, 5), min_size=1, max_size=10),
)
def test_replicas_equal_with_gc_and_random_pops(
    tmp_path_factory: object, steps: list[tuple[list[bytes], int]], cuts: list[int]
) -> None:
    base = Path(tmp_path_factory.mktemp("gcdet"))  # type: ignore[attr-defined]
    clock = FakeClock()
    engines = [Engine.open(os.fspath(base / n)) for n in ("leader", "r1", "r2")]
    try:
        leader = LocalExecutor(engines[0], clock)
        session = Session()
        for argv, advance_ms in steps:
            if argv[0] in (b"SCANALL", b"HSCANALL", b"SSCANALL"):
                continue
            leader.execute(session, argv)
            clock.now_ms += advance_ms
            leader.active_expire(clock.now_ms)
            op = leader.service.gc_sample(clock.now_ms, limit=3)  # small: GC spans entries
            if op is not None:
                leader.propose(op)
        log = list(enumerate(leader.log, start=1))
        r1 = StateMachine(engines[1])
        replies1 = [r1.apply_batch([entry])[0] for entry in log]
        r2 = StateMachine(engines[2])
        replies2 = []
        i = k = 0
        while i < len(log):
            n = cuts[k % len(cuts)]
            replies2 += r2.apply_batch(log[i : i + n])
            i, k = i + n, k + 1
        assert r1.checksum() == r2.checksum() == leader.state_machine.checksum()
        assert replies1 == replies2
    finally:
        for e in engines:
            e.close()
