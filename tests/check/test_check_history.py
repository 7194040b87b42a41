"""The history record refuses malformed ops and survives a JSON-lines round trip unchanged."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from seshat.check.history import NemesisEvent, Op, iter_jsonl, ops_of, read_jsonl, write_jsonl
from seshat.check.synth import register_history


def test_round_trip_preserves_ops_and_nemesis_events(tmp_path: Path) -> None:
    records = [
        Op(1, "write", "k", 3, 0, 2, "ok"),
        Op(2, "cas", "k", (3, 4), 1, None, "info"),
        NemesisEvent(1.5, "partition", "start", {"groups": [[1, 2], [3]]}),
        Op(3, "read", "k", None, 2.5, 3.25, "ok", 4),
        Op(4, "add", "s", 17, 4, 5, "fail"),
        Op(5, "read", "s", None, 6, 7, "ok", frozenset({1, 2})),
    ]
    path = tmp_path / "history.jsonl"
    write_jsonl(path, records)
    back = read_jsonl(path)
    assert back[:5] == records[:5]
    assert isinstance(back[5], Op) and back[5].output == (1, 2)  # sets come back as tuples
    assert len(path.read_text().splitlines()) == len(records)


def test_generated_history_round_trips(tmp_path: Path) -> None:
    history = register_history(random.Random(3), ops=300)
    write_jsonl(tmp_path / "h.jsonl", history)
    assert read_jsonl(tmp_path / "h.jsonl") == history


def test_blank_lines_and_comments_are_skipped() -> None:
    lines = ["# a comment", "", '{"type":"op","process":0,"kind":"read","key":"k","value":null,'
             '"invoke":0,"complete":1,"status":"ok","output":null}']
    assert list(iter_jsonl(lines)) == [Op(0, "read", "k", None, 0, 1, "ok")]


def test_bad_line_names_its_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        list(iter_jsonl(["", '{"type":"op","process":0}']))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": "maybe"},
        {"complete": None, "status": "ok"},
        {"invoke": 5, "complete": 4},
    ],
)
def test_malformed_ops_are_refused(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"process": 0, "kind": "read", "key": "k", "value": None,
                                 "invoke": 0, "complete": 1, "status": "ok"}
    fields.update(kwargs)
    with pytest.raises(ValueError):
        Op(**fields)  # type: ignore[arg-type]


def test_info_ops_never_end() -> None:
    assert Op(0, "write", "k", 1, 0, 5, "info").end == math.inf
    assert Op(0, "write", "k", 1, 0, 5, "ok").end == 5


def test_ops_of_drops_events_and_sorts_by_invoke() -> None:
    late = Op(0, "read", "k", None, 5, 6, "ok")
    early = Op(1, "read", "k", None, 1, 2, "ok")
    assert ops_of([late, NemesisEvent(0, "kill"), early]) == [early, late]
