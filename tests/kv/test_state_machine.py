"""The state machine: apply is deterministic (one log, two RocksDB directories, any batching,
equal checksums), state and applied index survive a restart, no-op entries only advance the
index, entries in one batch see each other, and active expiry goes through the log."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.kv.local import LocalExecutor
from seshat.kv.operation import encode_command, encode_expire
from seshat.kv.service import Read, Session, Write
from seshat.kv.state_machine import StateMachine
from seshat.protocol.replies import OK
from seshat.storage.engine import Engine
from tests.kv.test_differential import COMMAND


class FakeClock:
    """A clock tests move by hand: no test depends on the wall clock."""

    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def _open(path: Path) -> Engine:
    return Engine.open(os.fspath(path))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(st.tuples(COMMAND, st.integers(0, 400_000)), min_size=1, max_size=30),
    cuts=st.lists(st.integers(1, 5), min_size=1, max_size=10),
)
def test_one_log_two_replicas_equal_checksums(
    tmp_path_factory: object, steps: list[tuple[list[bytes], int]], cuts: list[int]
) -> None:
    base = Path(tmp_path_factory.mktemp("det"))  # type: ignore[attr-defined]
    clock = FakeClock()
    engines = [_open(base / name) for name in ("leader", "r1", "r2")]
    try:
        leader = LocalExecutor(engines[0], clock)
        session = Session()
        for argv, advance_ms in steps:
            if argv[0] == b"SCANALL":
                argv = [b"SCAN", b"0"]
            leader.execute(session, argv)
            clock.now_ms += advance_ms  # far enough, now and then, for keys to expire
            leader.active_expire(clock.now_ms)
        log = list(enumerate(leader.log, start=1))
        # replica 1 applies entry by entry, replica 2 in batches of varying size
        r1 = StateMachine(engines[1])
        replies1 = [r1.apply_batch([entry])[0] for entry in log]
        r2 = StateMachine(engines[2])
        replies2 = []
        i = 0
        k = 0
        while i < len(log):
            n = cuts[k % len(cuts)]
            replies2 += r2.apply_batch(log[i : i + n])
            i += n
            k += 1
        assert r1.checksum() == r2.checksum() == leader.state_machine.checksum()
        assert replies1 == replies2
        assert r1.applied_index() == r2.applied_index() == len(log)
    finally:
        for e in engines:
            e.close()


def test_restart_keeps_data_and_applied_index(tmp_path: Path) -> None:
    clock = FakeClock()
    engine = _open(tmp_path / "db")
    ex = LocalExecutor(engine, clock)
    s = Session()
    assert ex.execute(s, [b"SET", b"k", b"v", b"EX", b"100"]) == OK
    assert ex.execute(s, [b"SWAPDB", b"0", b"3"]) == OK
    before = ex.state_machine.checksum()
    engine.close()

    engine = _open(tmp_path / "db")
    try:
        ex = LocalExecutor(engine, clock)
        assert ex.state_machine.applied_index() == 2
        assert ex.state_machine.checksum() == before
        s = Session(3)
        assert ex.execute(s, [b"GET", b"k"]) == b"v"
        assert ex.execute(s, [b"TTL", b"k"]) == 100
        assert ex.execute(Session(0), [b"DBSIZE"]) == 0
        # replaying entries at or below the applied index changes nothing
        data = encode_command(clock.now_ms, 3, [b"SET", b"k", b"other"])
        assert ex.state_machine.apply_batch([(2, data)]) == [None]
        assert ex.execute(s, [b"GET", b"k"]) == b"v"
    finally:
        engine.close()


def test_noop_entries_only_advance_the_index(executor: LocalExecutor) -> None:
    sm = executor.state_machine
    before = sm.checksum()
    assert sm.apply_batch([(1, b""), (2, b"")]) == [None, None]
    assert sm.applied_index() == 2
    assert sm.checksum() == before


def test_entries_in_one_batch_see_each_other(executor: LocalExecutor) -> None:
    sm = executor.state_machine
    now = 1_000
    entries = [
        (1, encode_command(now, 0, [b"SET", b"k", b"1"])),
        (2, encode_command(now, 0, [b"INCRBY", b"k", b"5"])),
        (3, encode_command(now, 0, [b"FLUSHDB"])),
        (4, encode_command(now, 0, [b"APPEND", b"k", b"x"])),
        (5, encode_command(now, 0, [b"RENAME", b"k", b"j"])),
        (6, encode_command(now, 0, [b"SWAPDB", b"0", b"1"])),
        (7, encode_command(now, 1, [b"GETDEL", b"j"])),
    ]
    assert sm.apply_batch(entries) == [OK, 6, OK, 1, OK, OK, b"x"]
    assert executor.execute(Session(), [b"DBSIZE"]) == 0
    assert executor.execute(Session(1), [b"DBSIZE"]) == 0


def test_expired_keys_read_missing_and_leader_expires_them_through_the_log(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    engine = _open(tmp_path / "db")
    try:
        ex = LocalExecutor(engine, clock)
        s = Session()
        ex.execute(s, [b"SET", b"a", b"1", b"PX", b"100"])
        ex.execute(s, [b"SET", b"b", b"2", b"PX", b"300"])
        ex.execute(s, [b"SET", b"c", b"3"])
        assert ex.service.active_expire_sample(clock.now_ms) is None
        clock.now_ms += 200
        assert ex.execute(s, [b"GET", b"a"]) is None  # lazily missing on read
        assert ex.execute(s, [b"DBSIZE"]) == 3  # but still stored, as in Redis
        applied = ex.state_machine.applied_index()
        assert ex.active_expire(clock.now_ms) == 1
        assert ex.state_machine.applied_index() == applied + 1
        assert ex.execute(s, [b"DBSIZE"]) == 2
        assert sorted(ex.execute(s, [b"KEYS", b"*"])) == [b"b", b"c"]  # type: ignore[type-var]
        # an expiry proposal is re-checked at apply: a key rewritten meanwhile survives
        stale = encode_expire(clock.now_ms + 1000, [(0, b"c")])
        assert ex.propose(stale) == 1
        assert ex.execute(s, [b"GET", b"c"]) == b"3"
    finally:
        engine.close()


def test_prepare_routes_commands(executor: LocalExecutor) -> None:
    svc = executor.service
    s = Session()
    assert isinstance(svc.prepare(s, [b"get", b"k"]), Read)
    assert isinstance(svc.prepare(s, [b"SET", b"k", b"v"]), Write)
    assert svc.prepare(s, [b"SELECT", b"2"]).reply == OK  # type: ignore[union-attr]
    assert s.db == 2
    bad = svc.prepare(s, [b"SET", b"k", b"v", b"NX", b"XX"])
    assert bad.reply.message == "ERR syntax error"  # type: ignore[union-attr]


def test_scan_cursor_survives_writes_between_calls(executor: LocalExecutor) -> None:
    """Every key present for the whole iteration comes back exactly once, whatever is written
    between calls (the cursor is a position in hash order, not an index into a snapshot)."""
    s = Session()
    stable = {b"key:%d" % i for i in range(300)}
    for key in stable:
        executor.execute(s, [b"SET", key, b"v"])
    seen: list[bytes] = []
    cursor = b"0"
    for step in range(10_000):
        reply = executor.execute(s, [b"SCAN", cursor, b"COUNT", b"7"])
        assert isinstance(reply, list)
        cursor, batch = reply  # type: ignore[assignment]
        assert isinstance(batch, list)
        seen += batch  # type: ignore[arg-type]
        executor.execute(s, [b"SET", b"churn:%d" % step, b"v"])
        executor.execute(s, [b"DEL", b"churn:%d" % (step // 2)])
        if cursor == b"0":
            break
    mine = [k for k in seen if k in stable]
    assert sorted(mine) == sorted(stable)
    assert len(mine) == len(set(mine))


def test_an_entry_whose_apply_fails_on_a_logic_error_is_refused_whole_on_every_replica(
    tmp_path: Path,
) -> None:
    """`MSETNX x 1 y` (odd arguments) is refused before the log now, but an entry like it
    reached the log before that check existed, and then failed inside apply after writing `x`,
    which stopped every node at once. A refused entry now answers an error, writes nothing,
    and the entries around it apply, the same in a batch of one or of many."""
    now = 1_000
    entries = [
        (1, encode_command(now, 0, [b"SET", b"k", b"1"])),
        (2, encode_command(now, 0, [b"MSETNX", b"x", b"1", b"y"])),
        (3, encode_command(now, 0, [b"SET", b"z", b"2"])),
    ]
    engines = [_open(tmp_path / name) for name in ("batched", "one_by_one")]
    try:
        batched, one_by_one = (StateMachine(engine) for engine in engines)
        replies = batched.apply_batch(entries)
        assert [r for i, r in enumerate(replies) if i != 1] == [OK, OK]
        assert replies[1].message.startswith(  # type: ignore[union-attr]
            "ERR internal error in 'msetnx' (IndexError): the command was refused"
        )
        assert [one_by_one.apply_batch([entry])[0] for entry in entries] == replies
        assert batched.checksum() == one_by_one.checksum()
        assert batched.applied_index() == one_by_one.applied_index() == 3
        read = LocalExecutor(engines[0], FakeClock(now))
        got = read.execute(Session(), [b"MGET", b"k", b"x", b"y", b"z"])
        assert got == [b"1", None, None, b"2"]
    finally:
        for engine in engines:
            engine.close()
