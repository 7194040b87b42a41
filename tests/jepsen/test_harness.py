"""Unit tests of the chaos harness's pieces that need no cluster.

The harness is only as trustworthy as three things checked here: the fault schedule (seeded,
one fault at a time, everything healed before the end), the recorder (strictly increasing
instants, a history that round-trips through JSON lines), and the rule that files each client
error as ``fail`` (definitely not applied) or ``info`` (unknown). A wrong ``fail`` would let the
checkers call a real anomaly valid, so the classification is tested against a fake server
speaking RESP, including the server's own error strings.
"""

from __future__ import annotations

import itertools
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.exceptions import ClusterDownError, TryAgainError

from jepsen.client import Client, CommandFailed, classify
from jepsen.history import Recorder
from jepsen.nemesis import (
    INSTANT,
    VARIANTS,
    components,
    generate_schedule,
    grudge,
    parse_nemeses,
    shaded_windows,
)
from jepsen.report import RunSummary, write_report
from jepsen.workloads import Counter, Invocation, Register, SetWorkload, run_op
from seshat.check import NemesisEvent, Op, read_jsonl
from seshat.kv import errors as E

# ---------------------------------------------------------------------------- schedule


@pytest.mark.parametrize("seed", range(20))
def test_schedule_is_sequential_and_healed_before_the_end(seed: int) -> None:
    kinds = ["kill", "pause", "partition", "membership"]
    schedule = generate_schedule(kinds, 60, seed, recovery_s=8)
    assert schedule, "a 60 s run has room for faults"
    for fault in schedule:
        assert fault.kind in kinds
        assert fault.variant in VARIANTS[fault.kind]
        assert fault.end_s <= 60 - 8
        assert (fault.end_s == fault.start_s) == (fault.variant in INSTANT)
    for before, after in itertools.pairwise(schedule):
        assert before.end_s < after.start_s, (before, after)


def test_schedule_is_a_function_of_the_seed() -> None:
    assert generate_schedule(["kill", "partition"], 120, 7) == generate_schedule(
        ["kill", "partition"], 120, 7)
    assert generate_schedule(["kill", "partition"], 120, 7) != generate_schedule(
        ["kill", "partition"], 120, 8)
    assert generate_schedule([], 120, 7) == []


def test_short_run_has_no_fault_past_its_recovery_window() -> None:
    assert generate_schedule(["kill"], 5, 1) == []


def test_parse_nemeses() -> None:
    assert parse_nemeses("kill, partition,kill") == ["kill", "partition"]
    assert parse_nemeses("none") == []
    with pytest.raises(ValueError, match="unknown nemesis"):
        parse_nemeses("kill,flood")


# ---------------------------------------------------------------------------- partitions


def _symmetric(g: dict[int, set[int]]) -> bool:
    return all(a in g[b] for a in g for b in g[a])


@pytest.mark.parametrize("seed", range(10))
def test_halves_cut_a_minority_from_a_majority(seed: int) -> None:
    g = grudge("halves", [1, 2, 3, 4, 5], random.Random(seed))
    assert _symmetric(g)
    groups = sorted(components(g), key=len)
    assert [len(x) for x in groups] == [2, 3]


def test_isolate_leader() -> None:
    g = grudge("isolate-leader", [1, 2, 3], random.Random(0), leader=2)
    assert g == {1: {2}, 2: {1, 3}, 3: {2}}
    assert components(g) == [[1, 3], [2]]


@pytest.mark.parametrize("seed", range(10))
def test_bridge_leaves_one_node_hearing_both_sides(seed: int) -> None:
    g = grudge("bridge", [1, 2, 3], random.Random(seed))
    assert _symmetric(g)
    bridges = [n for n, enemies in g.items() if not enemies]
    assert len(bridges) == 1
    assert sum(len(e) for e in g.values()) == 2  # exactly one link cut, seen from both ends


@pytest.mark.parametrize("seed", range(10))
def test_random_partition_cuts_something(seed: int) -> None:
    g = grudge("random", [1, 2, 3], random.Random(seed))
    assert _symmetric(g)
    assert any(g.values())


def test_shaded_windows_pair_starts_and_ends() -> None:
    events = [
        NemesisEvent(1_000_000, "kill", "start"), NemesisEvent(3_000_000, "kill", "end"),
        NemesisEvent(4_000_000, "partition", "start"),
        NemesisEvent(6_000_000, "heal-all", "end"),
        NemesisEvent(6_500_000, "membership", "start"),
        NemesisEvent(6_700_000, "membership", "error"),
        NemesisEvent(7_000_000, "pause", "start"),
    ]
    assert shaded_windows(events, 9.0) == [(1.0, 3.0, "kill"), (4.0, 6.0, "partition"),
                                           (6.5, 6.7, "membership"), (7.0, 9.0, "pause")]


# ---------------------------------------------------------------------------- recorder


def test_recorder_instants_strictly_increase_across_threads() -> None:
    rec = Recorder()
    seen: list[list[int]] = [[] for _ in range(4)]

    def work(i: int) -> None:
        for _ in range(2000):
            seen[i].append(rec.now())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [t for s in seen for t in s]
    assert len(set(everything)) == len(everything), "two events shared an instant"
    assert all(s == sorted(s) for s in seen)


def test_history_round_trips_with_nemesis_events(tmp_path: Path) -> None:
    rec = Recorder()
    rec.op(Op(0, "write", "k", 1, rec.now(), rec.now(), "ok"))
    rec.nemesis("partition", "start", {"groups": [[1, 2], [3]]})
    rec.op(Op(1, "read", "k", None, rec.now(), rec.now(), "info"))
    rec.op(Op(2, "read", "s", None, rec.now(), rec.now(), "ok", frozenset({3, 1})))
    rec.write(tmp_path / "history.jsonl")
    back = read_jsonl(tmp_path / "history.jsonl")
    assert [type(r).__name__ for r in back] == ["Op", "NemesisEvent", "Op", "Op"]
    assert back[1].detail == {"groups": [[1, 2], [3]]}  # type: ignore[union-attr]
    assert back[3].output == (1, 3)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- classification


def test_classify_rules() -> None:
    assert classify(redis.ConnectionError("refused"), sent=False) == "fail"
    assert classify(ClusterDownError("no Raft leader"), sent=True) == "fail"
    assert classify(TryAgainError("the write was not committed"), sent=True) == "fail"
    assert classify(redis.ResponseError("TRYAGAIN retry"), sent=True) == "fail"
    assert classify(redis.ResponseError(E.UNKNOWN_OUTCOME.message[4:]), sent=True) == "info"
    assert classify(redis.ResponseError("something new"), sent=True) == "info"
    assert classify(redis.TimeoutError("Timeout reading from socket"), sent=True) == "info"
    assert classify(redis.ConnectionError("Connection closed by server."), sent=True) == "info"


class FakeServer:
    """Accepts connections and answers every command with ``reply`` (None: close at once,
    b"": say nothing)."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is None:
                conn.close()
                continue
            try:
                conn.recv(65536)
                if self.reply:
                    conn.sendall(self.reply)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def fake() -> Iterator[type[FakeServer]]:
    servers: list[FakeServer] = []

    def make(reply: bytes | None) -> FakeServer:
        server = FakeServer(reply)
        servers.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in servers:
        server.close()


def _status(client: Client) -> str:
    with pytest.raises(CommandFailed) as caught:
        client.call("SET", "k", "1")
    client.close()
    return caught.value.status


def _err(reply: object) -> bytes:
    return b"-" + str(reply).encode() + b"\r\n"


def test_connection_refused_is_fail() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    assert _status(Client("127.0.0.1", port, 0.5)) == "fail"


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        (_err(E.CLUSTERDOWN_NO_LEADER.message), "fail"),
        (_err(E.TRYAGAIN_NO_LEADER.message), "fail"),
        (_err(E.WRITE_NOT_COMMITTED.message), "fail"),
        (_err(E.UNKNOWN_OUTCOME.message), "info"),
        (None, "info"),  # the server hung up after we connected
        (b"", "info"),  # the server never answered: timeout
    ],
)
def test_server_replies_classified(fake: type[FakeServer], reply: bytes | None,
                                   status: str) -> None:
    server = fake(reply)
    assert _status(Client("127.0.0.1", server.port, 0.3)) == status


def test_ok_reply_is_returned(fake: type[FakeServer]) -> None:
    server = fake(b":42\r\n")
    client = Client("127.0.0.1", server.port, 0.5)
    assert client.call("INCRBY", "c", 2) == 42
    client.close()


# ---------------------------------------------------------------------------- recording ops


class ScriptedClient(Client):
    def __init__(self, outcomes: list[object]) -> None:
        super().__init__("127.0.0.1", 1)
        self.outcomes = outcomes

    def call(self, *argv: object) -> object:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, CommandFailed):
            raise outcome
        return outcome


def test_run_op_records_status_and_output() -> None:
    rec = Recorder()
    client = ScriptedClient([b"7", CommandFailed("fail", "ClusterDownError: x"),
                             CommandFailed("info", "TimeoutError: y"), 12])
    reg = Register()
    ok = run_op(rec, client, reg, 0, Invocation("read", "k", None))
    failed = run_op(rec, client, reg, 0, Invocation("write", "k", 3))
    info = run_op(rec, client, reg, 0, Invocation("write", "k", 4))
    incr = run_op(rec, client, Counter(), 1, Invocation("incr", "c", 2))
    assert (ok.status, ok.output) == ("ok", 7)
    assert (failed.status, failed.output) == ("fail", None)
    assert (info.status, info.complete is not None) == ("info", True)
    assert (incr.status, incr.output) == ("ok", 12)
    assert ok.invoke < ok.complete < failed.invoke  # type: ignore[operator]
    assert rec.records == [ok, failed, info, incr]
    assert sum(rec.errors.values()) == 2


def test_workload_invocations_use_unique_values() -> None:
    rng = random.Random(3)
    reg = Register()
    writes = [inv.value for inv in (reg.invoke(rng) for _ in range(2000)) if inv.kind == "write"]
    assert len(writes) == len(set(writes)) > 500
    keys = {reg.invoke(rng).key for _ in range(2000)}
    assert len(keys) > reg.keys_live, "keys rotate so each key's history stays small"
    s = SetWorkload()
    adds = [s.invoke(rng).value for _ in range(100)]
    assert len(set(adds)) == 100
    c = Counter()
    assert all(1 <= inv.value <= 5 for inv in (c.invoke(rng) for _ in range(200))
               if inv.kind == "incr")


# ---------------------------------------------------------------------------- report


def test_report_written_with_plot(tmp_path: Path) -> None:
    rec = Recorder()
    records = [
        Op(0, "write", "k", 1, 100_000, 120_000, "ok"),
        Op(1, "read", "k", None, 130_000, 1_300_000, "info"),
        NemesisEvent(500_000, "kill", "start", {"nodes": [1]}),
        NemesisEvent(2_500_000, "kill", "end", {"nodes": [1]}),
        Op(2, "read", "k", None, 3_000_000, 3_010_000, "ok", 1),
    ]
    from seshat.check import check_linearizable

    summary = RunSummary(
        run_id="unit", command="python -m jepsen run", seed=1, nodes=3, net="loopback",
        workload="register", workload_mode="read/write", nemeses=["kill"], skipped=[],
        time_limit_s=4, schedule=generate_schedule(["kill"], 20, 1), verdict="valid",
        result=check_linearizable(records), exit_code=0, duration_s=4.0,
    )
    del rec
    text = write_report(summary, records, tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert "verdict: **valid**" in report and "| kill | start |" in report
    assert (tmp_path / "latency.png").stat().st_size > 10_000
    assert "2 ok, 1 info, 0 fail" in text
