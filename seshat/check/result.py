"""The verdict every checker returns, and its printed form.

One result type for all checkers so the simulator and `jepsen/` can print, log and fail on any
of them the same way. ``window`` is the part of the history a person needs to see to believe
the verdict: a handful of ops, not the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seshat.check.history import Op


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of one check.

    - ``valid``: no anomaly was found (for linearizability: the history is linearizable).
    - ``anomaly``: a short, stable name for what went wrong (``"nonlinearizable"``, ``"lost"``,
      ``"unexpected"``, ``"read-too-low"``...), ``None`` when valid.
    - ``key``: the key whose sub-history is at fault, if the check partitions by key.
    - ``window``: the ops that show the problem, sorted by invoke.
    - ``explanation``: one or a few sentences saying why those ops are a problem.
    - ``details``: checker-specific facts (counts, lost elements, states...), for reports.
    """

    valid: bool
    anomaly: str | None = None
    key: Any = None
    window: list[Op] = field(default_factory=list)
    explanation: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


def format_result(result: CheckResult) -> str:
    """Render a result for a terminal or a test failure message."""
    if result.valid:
        head = "valid"
        if result.explanation:
            head += f": {result.explanation}"
        return head
    where = f" on key {result.key!r}" if result.key is not None else ""
    lines = [f"INVALID: {result.anomaly}{where}"]
    if result.explanation:
        lines.append(f"  {result.explanation}")
    if result.window:
        lines.append("  window:")
        lines.extend(f"    {op.describe()}" for op in result.window)
    for name, value in result.details.items():
        shown = value.describe() if isinstance(value, Op) else repr(value)
        lines.append(f"  {name}: {shown}")
    return "\n".join(lines)
