"""Counter workload: is every read of an INCRBY counter within what could have been added?

Clients send ``INCRBY key n`` with known positive ``n`` (``kind="incr"``, ``value=n``; the
reply, the new value, in ``output`` when known) and ``GET`` (``kind="read"``, ``output`` an int).
Checking full linearizability of a counter is needless here: with positive increments, bounds
suffice to catch lost or duplicated increments (a retried proposal applied twice, a
truncated log) and stale reads, in O(n log n) however long the run.

For an ok read ``r`` on a key starting at ``initial``:

- lower bound: ``initial`` + the ok increments that completed before ``r`` was invoked (they
  certainly took effect before ``r``);
- upper bound: ``initial`` + every ok or info increment invoked no later than ``r`` completed
  (any of them may have taken effect before it; fails never do).

An ok INCRBY that returned its new value is also a read, taken at its own instant: its own
increment counts in both bounds. The final read, after all clients stopped, thus lies in
[sum of ok increments, sum of ok and info increments]. Anomalies: ``read-too-low`` (an
acknowledged increment was lost, or a read was stale) and ``read-too-high`` (an increment
applied twice, or a failed one applied).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable
from itertools import accumulate
from typing import Any

from seshat.check.history import Op, Record, ops_of
from seshat.check.result import CheckResult

_WINDOW_MAX = 12


def check_counter(history: Iterable[Record], initial: int = 0) -> CheckResult:
    """Check every ok read (and ok incr with a returned value) of every key (module docstring)."""
    ops = ops_of(history)
    groups: dict[Hashable, list[Op]] = {}
    for op in ops:
        groups.setdefault(op.key, []).append(op)
    reads_checked = 0
    for key in sorted(groups, key=repr):
        result, checked = _check_key(key, groups[key], initial)
        reads_checked += checked
        if not result.valid:
            return result
    return CheckResult(
        valid=True,
        explanation=f"{reads_checked} reads of {len(groups)} counters within bounds",
        details={"reads": reads_checked, "keys": len(groups)},
    )


class _Bounds:
    """Prefix sums over increments sorted by completion and by invocation."""

    def __init__(self, incrs: list[Op]) -> None:
        done = sorted((op for op in incrs if op.status == "ok"), key=lambda op: op.end)
        self.done = done
        self.done_ends = [op.end for op in done]
        self.done_sums = [0, *accumulate(op.value for op in done)]
        maybe = sorted((op for op in incrs if op.status != "fail"), key=lambda op: op.invoke)
        self.maybe = maybe
        self.maybe_invokes = [float(op.invoke) for op in maybe]
        self.maybe_sums = [0, *accumulate(op.value for op in maybe)]

    def lower(self, invoke: float) -> tuple[int, int]:
        """(sum of ok increments completed strictly before ``invoke``, how many)."""
        n = bisect_left(self.done_ends, invoke)
        return self.done_sums[n], n

    def upper(self, end: float) -> tuple[int, int]:
        """(sum of ok/info increments invoked no later than ``end``, how many)."""
        n = bisect_right(self.maybe_invokes, end)
        return self.maybe_sums[n], n


def _check_key(key: Hashable, ops: list[Op], initial: int) -> tuple[CheckResult, int]:
    unknown = {op.kind for op in ops} - {"incr", "read"}
    if unknown:
        raise ValueError(f"counter checker cannot judge kinds {sorted(unknown)} on key {key!r}")
    incrs = [op for op in ops if op.kind == "incr"]
    for op in incrs:
        if not (isinstance(op.value, int) and op.value > 0):
            raise ValueError(f"counter increments must be positive ints: {op.describe()}")
    bounds = _Bounds(incrs)
    observations = [
        op for op in ops
        if op.status == "ok" and op.output is not None and op.kind in ("read", "incr")
    ]
    for obs in observations:
        own = obs.value if obs.kind == "incr" else 0
        low, n_low = bounds.lower(float(obs.invoke))
        high, n_high = bounds.upper(obs.end)
        low, high = initial + low + own, initial + high
        value = obs.output
        if value < low:
            window = [*bounds.done[max(0, n_low - _WINDOW_MAX + 1):n_low], obs]
            why = (f"{obs.describe()} saw {value}, but the {n_low} ok increments completed "
                   f"before it began already sum to {low}: an acknowledged increment was lost "
                   f"or the read was stale")
            return _invalid("read-too-low", key, window, why, value, low, high), len(observations)
        if value > high:
            window = [*bounds.maybe[max(0, n_high - _WINDOW_MAX + 1):n_high], obs]
            why = (f"{obs.describe()} saw {value}, but all {n_high} increments that may have "
                   f"taken effect by its completion sum to at most {high}: an increment was "
                   f"applied twice, or a failed one was applied")
            return _invalid("read-too-high", key, window, why, value, low, high), len(observations)
    return CheckResult(valid=True, key=key), len(observations)


def _invalid(anomaly: str, key: Hashable, window: list[Op], why: str, value: Any, low: int,
             high: int) -> CheckResult:
    return CheckResult(
        valid=False,
        anomaly=anomaly,
        key=key,
        window=sorted({id(op): op for op in window}.values(),
                      key=lambda op: (op.invoke, op.process)),
        explanation=why,
        details={"observed": value, "lower": low, "upper": high},
    )
