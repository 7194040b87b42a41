"""History checkers shared by the deterministic simulator (`seshat/sim/`) and `jepsen/`.

Pure Python, no I/O except reading and writing history files, no imports of the rest of
Seshat. A producer records `Op`s (and `NemesisEvent`s) in the format of `history`; a checker
turns them into a `CheckResult`; `format_result` prints it:

    from seshat.check import Op, check_linearizable, format_result
    history = [Op(0, "write", "k", 1, 0, 2, "ok"), Op(1, "read", "k", None, 3, 4, "ok", 1)]
    result = check_linearizable(history)
    assert result.valid, format_result(result)

- `linearizability`: WGL search for any `Model`; `RegisterModel` (read/write/cas) per key.
- `set_checker`: unique adds against a final read (lost, unexpected, failed-present).
- `counter_checker`: INCRBY reads within the bounds known at their time.
- `synth`: linearizable-by-construction histories for testing checkers.
"""

from seshat.check.counter_checker import check_counter
from seshat.check.history import (
    NemesisEvent,
    Op,
    Record,
    Status,
    from_json_line,
    iter_jsonl,
    ops_of,
    read_jsonl,
    to_json_line,
    write_jsonl,
)
from seshat.check.linearizability import (
    Model,
    RegisterModel,
    SearchBudgetExceeded,
    check_linearizable,
)
from seshat.check.result import CheckResult, format_result
from seshat.check.set_checker import check_set

__all__ = [
    "CheckResult",
    "Model",
    "NemesisEvent",
    "Op",
    "Record",
    "RegisterModel",
    "SearchBudgetExceeded",
    "Status",
    "check_counter",
    "check_linearizable",
    "check_set",
    "format_result",
    "from_json_line",
    "iter_jsonl",
    "ops_of",
    "read_jsonl",
    "to_json_line",
    "write_jsonl",
]
