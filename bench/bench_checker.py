"""How long the history checkers take on the 10,000-op case the simulator depends on.

Runs alone (`.venv/bin/python bench/bench_checker.py [--ops N] [--seeds K]`), prints seconds
per check. Not a test: shared VMs move figures a lot, so the best of several runs is shown.
Cases: a valid 10,000-op register history (5 processes, 5 keys, values 0-4, ~1 % info ops);
the same with one read corrupted (caught by the register's quick refutation); the corrupted one
checked by the WGL search alone (slower: it must exhaust the prefix; a node budget bounds it);
a 10,000-op counter history.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from seshat.check.counter_checker import check_counter
from seshat.check.history import Op
from seshat.check.linearizability import RegisterModel, SearchBudgetExceeded, check_linearizable
from seshat.check.result import CheckResult
from seshat.check.synth import corrupt_read, register_history


class SearchOnly(RegisterModel):
    """The register without quick refutation: measures the search itself."""

    refute = None  # type: ignore[assignment]


def best_seconds(work: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def counter_history(rng: random.Random, ops: int) -> list[Op]:
    history: list[Op] = []
    total = 0
    for i in range(ops):
        t0 = i * 0.2
        if i % 3 == 0:
            history.append(Op(i % 5, "read", "c", None, t0, t0 + 0.1, "ok", total))
        else:
            n = rng.randint(1, 9)
            total += n
            history.append(Op(i % 5, "incr", "c", n, t0, t0 + 0.1, "ok", total))
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=int, default=500_000, help="search-only node budget")
    args = parser.parse_args()
    print(f"{args.ops} ops, 5 processes, 5 keys; best of {args.repeat} runs per seed")
    for seed in range(args.seeds):
        rng = random.Random(seed)
        history = register_history(rng, ops=args.ops)
        corrupted = corrupt_read(rng, history)
        infos = sum(op.status == "info" for op in history)
        result: CheckResult = check_linearizable(history)
        assert result.valid
        valid_s = best_seconds(lambda: check_linearizable(history), args.repeat)
        refuted_s = best_seconds(lambda: check_linearizable(corrupted), args.repeat)
        start = time.perf_counter()
        try:
            found = check_linearizable(corrupted, SearchOnly(), max_visited=args.budget)
            search = f"{time.perf_counter() - start:6.2f} s ({found.details['visited']} nodes)"
        except SearchBudgetExceeded:
            search = f"budget of {args.budget} nodes hit after {time.perf_counter() - start:.2f} s"
        print(f"seed {seed}: {infos} info ops | valid {valid_s:.3f} s "
              f"({result.details['visited']} nodes) | corrupted {refuted_s:.3f} s | "
              f"corrupted, search only {search}")
    counters = counter_history(random.Random(0), args.ops)
    counter_s = best_seconds(lambda: check_counter(counters), args.repeat)
    print(f"counter, {args.ops} ops: {counter_s:.3f} s")


if __name__ == "__main__":
    main()
