"""Command line: `python -m seshat.sim --seeds N --steps M` (see --help).

Runs seeds in worker processes, prints each failure with the exact command that replays it,
and ends with the line `N passed, M failed`; the exit code is non-zero on any failure.
`--seed S --trace` replays one seed and prints its step-by-step trace.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

from seshat.sim.run import FAULT_KINDS, Outcome, run_seed


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m seshat.sim", description=__doc__)
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    parser.add_argument("--first-seed", type=int, default=1, help="first seed of the range")
    parser.add_argument("--seed", type=int, help="run only this seed")
    parser.add_argument("--steps", type=int, default=2000, help="fault-phase events per seed")
    parser.add_argument("--nodes", type=int, choices=(1, 3, 5), help="node count (default: drawn per seed)")
    parser.add_argument(
        "--faults",
        default=",".join(FAULT_KINDS),
        help=f"comma-separated fault kinds to draw from (default: all of {','.join(FAULT_KINDS)})",
    )
    parser.add_argument("--trace", action="store_true", help="print the step-by-step trace")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    return parser.parse_args(argv)


def _replay_command(outcome: Outcome, args: argparse.Namespace) -> str:
    cmd = f"python -m seshat.sim --seed {outcome.seed} --steps {args.steps}"
    if args.nodes:
        cmd += f" --nodes {args.nodes}"
    if args.faults != ",".join(FAULT_KINDS):
        cmd += f" --faults {args.faults}"
    return cmd + " --trace"


def _run_one(job: tuple[int, int, int | None, frozenset[str], bool]) -> Outcome:
    seed, steps, nodes, faults, trace = job
    return run_seed(seed, steps, nodes, faults, trace)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    faults = frozenset(f for f in args.faults.split(",") if f)
    unknown = faults - set(FAULT_KINDS)
    if unknown:
        print(f"unknown fault kinds: {sorted(unknown)}", file=sys.stderr)
        return 2
    seeds = [args.seed] if args.seed is not None else list(range(args.first_seed, args.first_seed + args.seeds))
    jobs = [(s, args.steps, args.nodes, faults, args.trace) for s in seeds]
    started = time.monotonic()
    if args.jobs > 1 and len(jobs) > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            outcomes = pool.map(_run_one, jobs, chunksize=4)
    else:
        outcomes = [_run_one(job) for job in jobs]
    passed = failed = 0
    for outcome in outcomes:
        if args.trace:
            assert outcome.params is not None
            print(f"seed {outcome.seed}: {outcome.params.describe()}")
            for line in outcome.trace:
                print(line)
            print(f"trace hash {outcome.trace_hash:012x}")
        if outcome.ok:
            passed += 1
            continue
        failed += 1
        assert outcome.params is not None
        print(f"FAIL seed {outcome.seed}: {outcome.failure}")
        print(f"  params: {outcome.params.describe()}")
        print(f"  replay: {_replay_command(outcome, args)}")
    elapsed = time.monotonic() - started
    ops = sum(o.ops for o in outcomes)
    commits = sum(o.commits for o in outcomes)
    print(f"ran {len(outcomes)} seeds of {args.steps} steps in {elapsed:.1f}s: {ops} client ops, {commits} commits")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
