"""The linearizability checker accepts what a correct register produces and rejects the rest.

Three kinds of evidence: hand-written histories whose verdict a person can verify on paper
(including the tricky ones: late info writes, stale reads, impossible read orders, cas); a
brute-force oracle that tries every order on thousands of tiny random histories, with and
without the register's quick refutation; and synthetic histories from a real sequential
register, valid by construction, then corrupted. The 10,000-op case guards performance only
through the test timeout: no test asserts a duration.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Hashable
from typing import Any

import pytest

from seshat.check.history import NemesisEvent, Op, Status
from seshat.check.linearizability import (
    RegisterModel,
    SearchBudgetExceeded,
    check_linearizable,
)
from seshat.check.result import format_result
from seshat.check.synth import corrupt_read, register_history


def w(p: int, value: Any, t0: float, t1: float | None, status: Status = "ok",
      key: str = "x") -> Op:
    return Op(p, "write", key, value, t0, t1, status)


def r(p: int, output: Any, t0: float, t1: float | None, status: Status = "ok",
      key: str = "x") -> Op:
    return Op(p, "read", key, None, t0, t1, status, output)


def cas(p: int, old: Any, new: Any, t0: float, t1: float | None, status: Status = "ok",
        key: str = "x") -> Op:
    return Op(p, "cas", key, (old, new), t0, t1, status)


class SearchOnly(RegisterModel):
    """The register without its quick refutation, so the WGL search itself is exercised."""

    refute = None  # type: ignore[assignment]


MODELS = [RegisterModel(), SearchOnly()]


def verdict(ops: list[Op]) -> list[bool]:
    return [check_linearizable(ops, m).valid for m in MODELS]


# --- hand-written histories -------------------------------------------------------------

VALID: dict[str, list[Op]] = {
    "empty": [],
    "read initial nil": [r(0, None, 0, 1)],
    "sequential write then read": [w(0, 1, 0, 1), r(1, 1, 2, 3)],
    "concurrent read may see old or new (old)": [w(0, 1, 0, 1), w(0, 2, 2, 5), r(1, 1, 3, 4)],
    "concurrent read may see old or new (new)": [w(0, 1, 0, 1), w(0, 2, 2, 5), r(1, 2, 3, 4)],
    "info write placed late explains a later read": [
        w(0, 1, 0, None, "info"),
        w(1, 2, 1, 2),
        r(2, 2, 3, 4),
        r(2, 1, 10, 11),  # only possible if the info write took effect after write 2
    ],
    "info write that never happened": [w(0, 1, 0, None, "info"), r(1, None, 5, 6)],
    "failed write ignored": [w(0, 1, 0, 1, "fail"), r(1, None, 2, 3)],
    "info read carries no information": [w(0, 1, 0, 1), r(1, 7, 2, None, "info")],
    "equal instants are concurrent": [w(0, 1, 0, 5), r(1, None, 5, 6)],
    "cas chain": [w(0, 0, 0, 1), cas(1, 0, 1, 2, 3), cas(2, 1, 2, 4, 5), r(0, 2, 6, 7)],
    "concurrent cas in either order": [
        w(0, 0, 0, 1), cas(1, 0, 1, 2, 6), cas(2, 1, 2, 3, 5), r(0, 2, 7, 8),
    ],
    "info cas that happened": [w(0, 0, 0, 1), cas(1, 0, 5, 2, None, "info"), r(2, 5, 9, 10)],
    "two keys are independent": [
        w(0, 1, 0, 1, key="a"), w(1, 2, 0, 1, key="b"), r(2, 1, 2, 3, key="a"),
        r(3, 2, 2, 3, key="b"),
    ],
    "nemesis events ignored": [
        w(0, 1, 0, 1), NemesisEvent(1.5, "partition"), r(1, 1, 2, 3),  # type: ignore[list-item]
    ],
}

INVALID: dict[str, list[Op]] = {
    "stale read after a completed write": [w(0, 1, 0, 1), w(0, 2, 2, 3), r(1, 1, 4, 5)],
    "read of a never-written value": [w(0, 1, 0, 1), r(1, 3, 2, 3)],
    "read nil after a write": [w(0, 1, 0, 1), r(1, None, 2, 3)],
    "two readers see two writes in opposite orders": [
        # Both writes span the reads, so each read alone is fine; but p2 sees 1 then 2 and p3
        # sees 2 then 1, with all four reads overlapping in time order that forbids both.
        w(0, 1, 0, 10), w(1, 2, 0, 10),
        r(2, 1, 1, 2), r(2, 2, 3, 4),
        r(3, 2, 1, 2), r(3, 1, 3, 4),
    ],
    "value seen then unseen": [w(0, 1, 0, 10), r(1, 1, 1, 2), r(2, None, 3, 4)],
    "failed write became visible": [w(0, 1, 0, 1, "fail"), r(1, 1, 2, 3)],
    "info write used twice": [
        w(0, 1, 0, None, "info"), r(1, 1, 1, 2), w(2, 2, 3, 4), r(1, 1, 5, 6), w(2, 2, 7, 8),
        r(1, 1, 9, 10),
    ],
    "cas from a value not there": [w(0, 0, 0, 1), cas(1, 5, 1, 2, 3), r(0, 1, 4, 5)],
    "cas succeeded twice from the same value": [
        w(0, 0, 0, 1), cas(1, 0, 1, 2, 3), cas(2, 0, 2, 4, 5),
    ],
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_histories(name: str) -> None:
    for model in MODELS:
        result = check_linearizable(VALID[name], model)
        assert result.valid, format_result(result)
        assert result.anomaly is None


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_histories(name: str) -> None:
    for model in MODELS:
        result = check_linearizable(INVALID[name], model)
        assert not result.valid, name
        assert result.anomaly == "nonlinearizable"
        assert result.key == "x"
        assert result.window, format_result(result)
        assert set(result.window) <= set(INVALID[name])
        assert "INVALID" in format_result(result)


def test_stale_read_window_names_the_overwriting_write() -> None:
    history = [w(0, 1, 0, 1), w(0, 2, 2, 3), r(1, 1, 4, 5)]
    for model in MODELS:
        result = check_linearizable(history, model)
        assert history[2] in result.window, format_result(result)
        assert history[1] in result.window, format_result(result)


def test_search_reports_the_blocking_op() -> None:
    history = INVALID["two readers see two writes in opposite orders"]
    result = check_linearizable(history, SearchOnly())
    assert result.details["blocked_op"] in history
    assert result.details["blocked_op"].kind == "read"
    assert "got furthest" in result.explanation


def test_single_partition_mode_treats_all_keys_as_one_object() -> None:
    history = [w(0, 1, 0, 1, key="a"), r(1, 1, 2, 3, key="b")]
    assert not check_linearizable(history).valid  # b was never written
    assert check_linearizable(history, partition=None).valid  # one register named a and b


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot apply"):
        check_linearizable([Op(0, "frobnicate", "x", 1, 0, 1, "ok")])


def test_budget_raises_rather_than_guessing() -> None:
    history = INVALID["two readers see two writes in opposite orders"]
    with pytest.raises(SearchBudgetExceeded):
        check_linearizable(history, SearchOnly(), max_visited=0)


class CounterModel:
    """A second model through the generic protocol: an integer with add and read."""

    def init(self) -> Hashable:
        return 0

    def step(self, state: Any, op: Op) -> tuple[bool, Any]:
        if op.kind == "add":
            return True, state + op.value
        return (op.status == "info" or op.output == state), state

    def is_read_only(self, op: Op) -> bool:
        return op.kind == "read"


def test_generic_model_protocol() -> None:
    add = lambda p, n, t0, t1, s="ok": Op(p, "add", "c", n, t0, t1, s)  # noqa: E731
    rd = lambda p, v, t0, t1: Op(p, "read", "c", None, t0, t1, "ok", v)  # noqa: E731
    ok = [add(0, 1, 0, 5), add(1, 2, 0, 5), rd(2, 2, 1, 2), rd(2, 3, 6, 7)]
    assert check_linearizable(ok, CounterModel()).valid
    bad = [add(0, 1, 0, 1), add(1, 2, 2, 3), rd(2, 2, 4, 5)]  # 2 is not 1+2
    assert not check_linearizable(bad, CounterModel()).valid
    maybe = [add(0, 1, 0, 1), add(1, 2, 2, None, "info"), rd(2, 3, 4, 5)]
    assert check_linearizable(maybe, CounterModel()).valid


# --- brute-force oracle -----------------------------------------------------------------


def brute_force(ops: list[Op]) -> bool:
    """Try every real-time-respecting order of every subset of info ops: slow but obvious."""
    ops = [o for o in ops if o.status != "fail" and not (o.status == "info" and o.kind == "read")]
    sure = [o for o in ops if o.status == "ok"]
    maybe = [o for o in ops if o.status == "info"]
    model = RegisterModel()
    for n in range(len(maybe) + 1):
        for chosen in itertools.combinations(maybe, n):
            for order in itertools.permutations(sure + list(chosen)):
                if _respects_real_time(order) and _replays(order, model):
                    return True
    return False


def _respects_real_time(order: tuple[Op, ...]) -> bool:
    return all(not (b.end < a.invoke) for i, a in enumerate(order) for b in order[i + 1 :])


def _replays(order: tuple[Op, ...], model: RegisterModel) -> bool:
    state = model.init()
    for op in order:
        ok, state = model.step(state, op)
        if not ok:
            return False
    return True


def tiny_history(rng: random.Random) -> list[Op]:
    ops = []
    for p in range(rng.randint(1, 6)):
        t0 = rng.randint(0, 8)
        t1: int | None = t0 + rng.randint(0, 4)
        status: Status = rng.choices(["ok", "info", "fail"], [8, 2, 1])[0]
        if status == "info" and rng.random() < 0.5:
            t1 = None
        kind = rng.choices(["read", "write", "cas"], [4, 3, 2])[0]
        if kind == "read":
            ops.append(r(p, rng.choice([None, 0, 1, 2]), t0, t1, status))
        elif kind == "write":
            ops.append(w(p, rng.randint(0, 2), t0, t1, status))
        else:
            ops.append(cas(p, rng.randint(0, 2), rng.randint(0, 2), t0, t1, status))
    return ops


def test_agrees_with_brute_force_on_tiny_random_histories() -> None:
    rng = random.Random(20240611)
    seen = {True: 0, False: 0}
    for case in range(3000):
        ops = tiny_history(rng)
        expected = brute_force(ops)
        seen[expected] += 1
        got = verdict(ops)
        assert got == [expected, expected], (case, expected, got, [o.describe() for o in ops])
    assert min(seen.values()) > 300, seen  # both verdicts well represented


# --- synthetic histories from a real register -------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_generated_histories_are_valid_and_corruption_is_caught(seed: int) -> None:
    rng = random.Random(seed)
    history = register_history(rng, ops=400, processes=rng.randint(2, 6), keys=rng.randint(1, 3),
                               values=rng.randint(2, 6), info_rate=rng.choice([0.0, 0.05, 0.2]))
    for model in MODELS:
        result = check_linearizable(history, model)
        assert result.valid, format_result(result)
    corrupted = corrupt_read(rng, history)
    result = check_linearizable(corrupted, RegisterModel())
    assert not result.valid
    assert any(op.output == -1 for op in result.window), format_result(result)


@pytest.mark.parametrize("seed", range(10))
def test_search_alone_catches_corruption_in_short_histories(seed: int) -> None:
    rng = random.Random(1000 + seed)
    history = register_history(rng, ops=60, processes=4, keys=1, values=3, info_rate=0.1)
    result = check_linearizable(corrupt_read(rng, history), SearchOnly(), max_visited=2_000_000)
    assert not result.valid
    assert result.window, format_result(result)


def test_ten_thousand_ops_five_processes_five_keys() -> None:
    """The performance case the simulator depends on; guarded by the pytest timeout only."""
    history = register_history(random.Random(7), ops=10_000, processes=5, keys=5, values=5,
                               info_rate=0.02)
    assert sum(op.status == "info" for op in history) > 20
    result = check_linearizable(history)
    assert result.valid, format_result(result)
    assert result.details["ops"] == 10_000
