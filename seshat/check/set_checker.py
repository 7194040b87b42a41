"""Set workload: did every acknowledged add survive, and did nothing appear from nowhere?

Clients add unique elements to one set per key (``kind="add"``, ``value=element``) and, at the
end, read the whole set (``kind="read"``, ``output`` = the elements). This is Jepsen's set test,
the cheapest way to catch lost acknowledged writes (a leader acking before commit, a snapshot
or log truncation dropping entries), which is the failure Raft exists to prevent.

For each key, the final read is the ok read that completed last. Against it:

- ``lost``: an ``ok`` add that completed before the final read began, yet is absent. An ok add
  still running when the read began may legitimately be missing, so it is not judged.
- ``unexpected``: a present element that no add attempted before the read completed.
- ``failed-present``: a present element whose only add attempts ``fail``ed. ``fail`` means
  definitely not done; Jepsen files these under "recovered", but our servers promise fail is
  final (``-CLUSTERDOWN`` is sent only for commands never proposed), so it is an anomaly.
- reported, not anomalies: ``info`` adds that landed (present) and that did not (absent).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from seshat.check.history import Op, Record, ops_of
from seshat.check.result import CheckResult

_WINDOW_MAX = 12


def check_set(history: Iterable[Record]) -> CheckResult:
    """Check every key's adds against that key's final read (module docstring)."""
    ops = ops_of(history)
    groups: dict[Hashable, list[Op]] = {}
    for op in ops:
        groups.setdefault(op.key, []).append(op)
    summary: dict[str, Any] = {}
    for key in sorted(groups, key=repr):
        result = _check_key(key, groups[key])
        if not result.valid:
            return result
        summary[repr(key)] = dict(result.details)
    return CheckResult(valid=True, explanation=f"{len(groups)} sets checked", details=summary)


def _check_key(key: Hashable, ops: list[Op]) -> CheckResult:
    adds = [op for op in ops if op.kind == "add"]
    reads = [op for op in ops if op.kind == "read" and op.status == "ok"]
    unknown = {op.kind for op in ops} - {"add", "read"}
    if unknown:
        raise ValueError(f"set checker cannot judge kinds {sorted(unknown)} on key {key!r}")
    if not reads:
        return CheckResult(valid=False, anomaly="no-final-read", key=key,
                           window=adds[-_WINDOW_MAX:],
                           explanation=f"no ok read of set {key!r}: nothing can be judged")
    final = max(reads, key=lambda op: (op.end, op.invoke))
    present = set(final.output or ())
    attempted: dict[Any, list[Op]] = {}
    for op in adds:
        if op.invoke <= final.end:
            attempted.setdefault(op.value, []).append(op)

    def statuses(element: Any) -> set[str]:
        return {op.status for op in attempted.get(element, [])}

    lost = sorted(
        (op for op in adds if op.status == "ok" and op.end < final.invoke
         and op.value not in present),
        key=lambda op: op.invoke,
    )
    unexpected = sorted((e for e in present if e not in attempted), key=repr)
    failed_present = sorted((e for e in present if statuses(e) == {"fail"}), key=repr)
    infos = {op.value for op in adds if op.status == "info"} - {
        op.value for op in adds if op.status == "ok"
    }
    details: dict[str, Any] = {
        "ok_adds": sum(op.status == "ok" for op in adds),
        "info_adds": len(infos),
        "info_landed": sorted((e for e in infos if e in present), key=repr),
        "info_absent": sorted((e for e in infos if e not in present), key=repr),
        "final_read_size": len(present),
        "lost": [op.value for op in lost],
        "unexpected": unexpected,
        "failed_present": failed_present,
    }
    if lost:
        why = (f"{len(lost)} acknowledged add(s) completed before the final read began but "
               f"are missing from it: {[op.value for op in lost][:10]!r}")
        return _invalid("lost", key, [*lost[:_WINDOW_MAX - 1], final], why, details)
    if unexpected:
        why = f"the final read holds element(s) no client tried to add: {unexpected[:10]!r}"
        return _invalid("unexpected", key, [final], why, details)
    if failed_present:
        failed = [op for e in failed_present for op in attempted[e]]
        why = f"element(s) whose add failed are present: {failed_present[:10]!r}"
        return _invalid("failed-present", key, [*failed[:_WINDOW_MAX - 1], final], why, details)
    return CheckResult(valid=True, key=key, details=details)


def _invalid(anomaly: str, key: Hashable, window: list[Op], why: str,
             details: dict[str, Any]) -> CheckResult:
    return CheckResult(
        valid=False,
        anomaly=anomaly,
        key=key,
        window=sorted(window, key=lambda op: (op.invoke, op.process)),
        explanation=why,
        details=details,
    )
