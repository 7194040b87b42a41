"""The set and counter checkers name the anomaly a broken store would produce, and only then.

Each case is a small history a person can verify: a lost acknowledged add, an element from
nowhere, a failed add that landed, info adds that did or did not land; for the counter, reads
inside and outside the bounds known at their time, including an INCRBY's own returned value.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from seshat.check.counter_checker import check_counter
from seshat.check.history import NemesisEvent, Op, Status
from seshat.check.result import format_result
from seshat.check.set_checker import check_set


def add(p: int, e: int, t0: float, t1: float | None, status: Status = "ok", key: str = "s") -> Op:
    return Op(p, "add", key, e, t0, t1, status)


def read_set(t0: float, t1: float, elements: Any, key: str = "s") -> Op:
    return Op(99, "read", key, None, t0, t1, "ok", tuple(elements))


# --- set ----------------------------------------------------------------------------------


def test_set_all_present_is_valid_and_reports_info_outcomes() -> None:
    history = [
        add(0, 1, 0, 1), add(1, 2, 0, 2), add(2, 3, 1, None, "info"), add(3, 4, 1, None, "info"),
        add(4, 5, 2, 3, "fail"), read_set(10, 11, [1, 2, 3]),
    ]
    result = check_set(history)
    assert result.valid, format_result(result)
    details = result.details["'s'"]
    assert details["info_landed"] == [3]
    assert details["info_absent"] == [4]
    assert details["ok_adds"] == 2


def test_set_lost_ack() -> None:
    history = [add(0, 1, 0, 1), add(1, 2, 0, 2), NemesisEvent(3, "kill"), read_set(10, 11, [2])]
    result = check_set(history)
    assert not result.valid
    assert result.anomaly == "lost"
    assert result.details["lost"] == [1]
    assert history[0] in result.window and history[3] in result.window


def test_set_add_concurrent_with_final_read_may_be_missing() -> None:
    assert check_set([add(0, 1, 0, 10), read_set(5, 6, [])]).valid


def test_set_unexpected_element() -> None:
    result = check_set([add(0, 1, 0, 1), read_set(10, 11, [1, 42])])
    assert (result.valid, result.anomaly) == (False, "unexpected")
    assert result.details["unexpected"] == [42]


def test_set_failed_add_present() -> None:
    result = check_set([add(0, 1, 0, 1, "fail"), read_set(10, 11, [1])])
    assert (result.valid, result.anomaly) == (False, "failed-present")


def test_set_uses_the_last_read_and_checks_keys_independently() -> None:
    history = [
        add(0, 1, 0, 1), read_set(2, 3, []), read_set(5, 6, [1]),  # early read is not final
        add(1, 7, 0, 1, key="t"), read_set(5, 6, [], key="t"),
    ]
    result = check_set(history)
    assert (result.anomaly, result.key) == ("lost", "t")


def test_set_without_final_read() -> None:
    assert check_set([add(0, 1, 0, 1)]).anomaly == "no-final-read"


def test_set_random_correct_runs_are_valid() -> None:
    rng = random.Random(5)
    history: list[Op] = []
    present: set[int] = set()
    for e in range(500):
        t0 = e * 0.1
        status: Status = rng.choices(["ok", "info", "fail"], [8, 1, 1])[0]
        landed = status == "ok" or (status == "info" and rng.random() < 0.5)
        if landed:
            present.add(e)
        history.append(add(e % 5, e, t0, None if status == "info" else t0 + 0.3, status))
    history.append(read_set(100, 101, sorted(present)))
    assert check_set(history).valid
    broken = [*history[:-1], read_set(100, 101, sorted(present - {min(present)}))]
    assert check_set(broken).anomaly == "lost"


# --- counter ------------------------------------------------------------------------------


def incr(p: int, n: int, t0: float, t1: float | None, status: Status = "ok",
         output: int | None = None) -> Op:
    return Op(p, "incr", "c", n, t0, t1, status, output)


def get(p: int, value: int, t0: float, t1: float) -> Op:
    return Op(p, "read", "c", None, t0, t1, "ok", value)


def test_counter_final_value_between_ok_and_ok_plus_info() -> None:
    base = [
        incr(0, 1, 0, 1), incr(1, 2, 0, 1), incr(2, 4, 0, None, "info"), incr(3, 8, 0, 1, "fail"),
    ]
    assert check_counter([*base, get(0, 3, 5, 6)]).valid
    assert check_counter([*base, get(0, 7, 5, 6)]).valid
    low = check_counter([*base, get(0, 2, 5, 6)])
    assert (low.anomaly, low.details["lower"]) == ("read-too-low", 3)
    high = check_counter([*base, get(0, 11, 5, 6)])
    assert (high.anomaly, high.details["upper"]) == ("read-too-high", 7)


@pytest.mark.parametrize(
    ("value", "valid"),
    [(0, False), (1, True), (3, True), (7, True), (8, False)],
)
def test_counter_read_during_the_run(value: int, valid: bool) -> None:
    history = [
        incr(0, 1, 0, 1),  # completed before the read: lower bound 1
        incr(1, 2, 2, 10),  # concurrent with the read: may or may not count
        incr(2, 4, 2.5, None, "info"),  # invoked before the read completed: may count
        incr(3, 8, 6, 7),  # invoked after the read completed: cannot count
        get(4, value, 3, 5),
    ]
    result = check_counter(history)
    assert result.valid is valid, format_result(result)
    if not valid:
        assert history[4] in result.window


def test_counter_incr_reply_is_a_read_including_itself() -> None:
    assert check_counter([incr(0, 5, 0, 1, output=5)]).valid
    double = check_counter([incr(0, 5, 0, 1, output=5), incr(0, 5, 2, 3, output=15)])
    assert double.anomaly == "read-too-high"
    lost = check_counter([incr(0, 5, 0, 1, output=5), incr(0, 5, 2, 3, output=5)])
    assert lost.anomaly == "read-too-low"


def test_counter_refuses_non_positive_increments() -> None:
    with pytest.raises(ValueError, match="positive"):
        check_counter([incr(0, 0, 0, 1)])


def test_counter_random_correct_runs_are_valid() -> None:
    rng = random.Random(11)
    history: list[Op] = []
    effects: list[tuple[float, int]] = []
    pending_reads: list[tuple[int, float, float, float]] = []
    for i in range(2000):
        t0 = i * 0.05
        t1 = t0 + rng.uniform(0.01, 1.0)
        at = rng.uniform(t0, t1)
        if rng.random() < 0.3:
            pending_reads.append((i % 7, t0, t1, at))
            continue
        n = rng.randint(1, 9)
        status: Status = rng.choices(["ok", "info", "fail"], [8, 1, 1])[0]
        if status == "ok" or (status == "info" and rng.random() < 0.5):
            effects.append((at if status == "ok" else at + rng.uniform(0, 5), n))
        history.append(incr(i % 7, n, t0, None if status == "info" else t1, status))
    for p, t0, t1, at in pending_reads:
        history.append(get(p, sum(n for when, n in effects if when <= at), t0, t1))
    history.append(get(0, sum(n for _, n in effects), 10_000, 10_001))
    result = check_counter(history)
    assert result.valid, format_result(result)
    assert result.details["reads"] == len(pending_reads) + 1
