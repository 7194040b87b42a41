"""The operation record every checker reads, and its JSON-lines file format.

A *history* is what concurrent clients saw: for each operation, when it was invoked, when (and
whether) it completed, and what it returned. The simulator (`seshat/sim/`) and the chaos
harness (`jepsen/`) both write histories in this one shape, so one set of checkers serves both.

Status semantics follow Jepsen, because the checkers are only sound if producers agree on them:

- ``ok``: the operation happened, exactly once, at some instant between ``invoke`` and
  ``complete``.
- ``fail``: the operation definitely did not happen (the server refused it before it could take
  effect, e.g. ``-CLUSTERDOWN``, or a compare-and-set whose comparison failed). Checkers drop it.
- ``info``: we do not know (timeout, connection reset, crashed client). It may have happened at
  any instant after ``invoke`` -- even long after the client gave up -- or never. Its
  ``complete`` is therefore treated as infinity, whatever value it holds. An operation that
  never completed at all (``complete is None``) must be recorded as ``info``.

Time is any non-decreasing number: simulator ticks (ints) or monotonic seconds (floats). An
operation A *precedes* B only if ``A.complete < B.invoke``; equal instants count as concurrent.
That is the conservative choice for coarse clocks (two events in one simulator tick may have
happened in either order), and it can only hide anomalies, never invent them. Producers that
can should use a strictly increasing counter for instants.

File format (one JSON object per line, UTF-8, in any order; readers sort by ``invoke``):

    {"type": "op", "process": 3, "kind": "write", "key": "k1", "value": 4,
     "invoke": 10, "complete": 12, "status": "ok", "output": null}
    {"type": "op", "process": 1, "kind": "cas", "key": "k1", "value": [4, 5],
     "invoke": 11, "complete": null, "status": "info", "output": null}
    {"type": "nemesis", "time": 11.5, "fault": "partition", "phase": "start",
     "detail": {"groups": [[1, 2], [3]]}}

Per kind, ``value`` is the argument and ``output`` the result:

| kind   | value                  | output                                          |
|--------|------------------------|-------------------------------------------------|
| read   | null                   | the value read (null: key missing)              |
| write  | value written          | ignored                                         |
| cas    | [expected, new]        | ignored (ok means the swap happened)            |
| add    | element (set workload) | ignored                                         |
| incr   | increment (positive)   | the new value if the server returned it, else null |

JSON has no tuples, so the reader turns every JSON array inside ``key``, ``value`` and
``output`` back into a tuple: checkers need hashable values (model states are memoised), and a
cas argument read back must equal the ``(expected, new)`` tuple that was written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

Status: TypeAlias = Literal["ok", "fail", "info"]
Time: TypeAlias = float | int

STATUSES: frozenset[str] = frozenset({"ok", "fail", "info"})


@dataclass(frozen=True, slots=True)
class Op:
    """One client operation, from invocation to (maybe) completion.

    ``complete`` is ``None`` for an operation that never returned; such an operation must have
    status ``info``. ``output`` is what the server answered (see the module docstring table).
    """

    process: int
    kind: str
    key: Any
    value: Any
    invoke: Time
    complete: Time | None
    status: Status
    output: Any = None

    def __post_init__(self) -> None:
        # A malformed record would make a checker's verdict meaningless, so refuse it here,
        # where the producer's stack trace still points at the bug.
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}: {self.status!r}")
        if self.complete is None and self.status != "info":
            raise ValueError(f"an op that never completed must be 'info': {self!r}")
        if self.complete is not None and self.complete < self.invoke:
            raise ValueError(f"op completes before it is invoked: {self!r}")

    @property
    def end(self) -> float:
        """Latest instant the op may have taken effect: infinity unless ``ok`` or ``fail``."""
        if self.status == "info" or self.complete is None:
            return math.inf
        return float(self.complete)

    def describe(self) -> str:
        """A one-line, human-readable rendering for anomaly reports."""
        done = "..." if self.complete is None else f"{self.complete}"
        arg = "" if self.value is None else f" {self.value!r}"
        out = f" -> {self.output!r}" if self.kind == "read" or self.output is not None else ""
        return (
            f"p{self.process} {self.kind} {self.key!r}{arg}{out} "
            f"[{self.invoke}, {done}] {self.status}"
        )


@dataclass(frozen=True, slots=True)
class NemesisEvent:
    """A fault injected during the run (partition, kill, pause, clock skew...).

    Checkers ignore these; they are kept in the same file so that a report can show which
    faults were active around an anomaly.
    """

    time: Time
    fault: str
    phase: str = "start"
    detail: Mapping[str, Any] = field(default_factory=dict)


Record: TypeAlias = Op | NemesisEvent


def ops_of(records: Iterable[Record]) -> list[Op]:
    """The operations of a mixed record stream, nemesis events dropped, sorted by invoke."""
    ops = [r for r in records if isinstance(r, Op)]
    ops.sort(key=lambda op: (op.invoke, op.process))
    return ops


def _freeze(value: Any) -> Any:
    """JSON arrays back to tuples (recursively) so values are hashable; see module docstring."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return {k: _freeze(v) for k, v in value.items()}
    return value


def _thaw(value: Any) -> Any:
    """Sets and frozensets have no JSON form: write them as sorted arrays (set reads)."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return value


def to_json_line(record: Record) -> str:
    """One record as one line of JSON (no trailing newline)."""
    if isinstance(record, Op):
        obj: dict[str, Any] = {
            "type": "op",
            "process": record.process,
            "kind": record.kind,
            "key": record.key,
            "value": _thaw(record.value),
            "invoke": record.invoke,
            "complete": record.complete,
            "status": record.status,
            "output": _thaw(record.output),
        }
    else:
        obj = {
            "type": "nemesis",
            "time": record.time,
            "fault": record.fault,
            "phase": record.phase,
            "detail": dict(record.detail),
        }
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def from_json_line(line: str) -> Record:
    """Parse one line written by `to_json_line` (or by hand, following the module docstring)."""
    obj = json.loads(line)
    kind = obj.get("type", "op")
    if kind == "nemesis":
        return NemesisEvent(
            time=obj["time"],
            fault=obj["fault"],
            phase=obj.get("phase", "start"),
            detail=obj.get("detail") or {},
        )
    if kind != "op":
        raise ValueError(f"unknown record type {kind!r} in {line!r}")
    return Op(
        process=obj["process"],
        kind=obj["kind"],
        key=_freeze(obj.get("key")),
        value=_freeze(obj.get("value")),
        invoke=obj["invoke"],
        complete=obj.get("complete"),
        status=obj["status"],
        output=_freeze(obj.get("output")),
    )


def iter_jsonl(lines: Iterable[str]) -> Iterator[Record]:
    """Records from an iterable of lines; blank lines and ``#`` comments are skipped."""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            yield from_json_line(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {number}: {exc}") from exc


def write_jsonl(path: str | Path, records: Iterable[Record]) -> None:
    """Write records one per line; the file is replaced, not appended to."""
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(to_json_line(record))
            f.write("\n")


def read_jsonl(path: str | Path) -> list[Record]:
    """Read a history file: ops and nemesis events, in file order."""
    with open(path, encoding="utf-8") as f:
        return list(iter_jsonl(f))
