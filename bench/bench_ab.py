#!/usr/bin/env python3
"""Two commits' single node, side by side in one run: did a change cost the hot path?

Starts the working tree's Seshat and an older commit's (checked out with `git worktree` in a
temporary directory), then runs `redis-benchmark` against them in alternation, several rounds,
and prints each target's median rate and server CPU time per request, and the new/old ratios.
CPU per request is the steadier of the two on a shared machine. Alternating rounds on one
machine is what makes a few per cent visible here (see BENCHMARKS.md on noise).

    .venv/bin/python bench/bench_ab.py --old 6ab484b
    .venv/bin/python bench/bench_ab.py --old HEAD~3 --rounds 7 --requests 200000
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {  # name -> redis-benchmark arguments
    "SET c50 P16": ["-t", "set", "-c", "50", "-P", "16"],
    "GET c50 P16": ["-t", "get", "-c", "50", "-P", "16"],
    "SET c50": ["-t", "set", "-c", "50"],
    "GET c50": ["-t", "get", "-c", "50"],
}
# Scripts cost more than commands (a fresh Lua state per run: docs/scripting.md), so they are
# compared on their own: `--only "EVALSHA c50"`, with fewer `--requests`.
SCRIPT = "return redis.call('set', KEYS[1], ARGV[1])"
LIBRARY = "#!lua name=ab\nredis.register_function('setter', function(k, a) return redis.call('set', k[1], a[1]) end)"
SCRIPT_SCENARIOS = {
    "EVALSHA c50": ["-c", "50", "EVALSHA", hashlib.sha1(SCRIPT.encode()).hexdigest(), "1",
                    "key:__rand_int__", "x"],
    "FCALL c50": ["-c", "50", "FCALL", "setter", "1", "key:__rand_int__", "x"],
}  # fmt: skip
# Whole-collection reads of 100 elements (`--only collections`, or one of them by name): the
# read path's per-element costs (storage iteration, reply encoding), beside GET's fixed ones.
COLLECTION_SIZE = 100
COLLECTION_SCENARIOS = {
    "GET c50 (beside collections)": ["-c", "50", "GET", "k"],
    "HGETALL 100 c50": ["-c", "50", "HGETALL", "h"],
    "HKEYS 100 c50": ["-c", "50", "HKEYS", "h"],
    "SMEMBERS 100 c50": ["-c", "50", "SMEMBERS", "s"],
    "ZRANGE 100 c50": ["-c", "50", "ZRANGE", "z", "0", "-1"],
    "ZRANGE WITHSCORES 100 c50": ["-c", "50", "ZRANGE", "z", "0", "-1", "WITHSCORES"],
    "LRANGE 100 c50": ["-c", "50", "LRANGE", "l", "0", "-1"],
}
_FILL = [
    ["SET", "k", "v"],
    ["HSET", "h", *[x for i in range(COLLECTION_SIZE) for x in (f"field:{i}", f"value-{i}")]],
    ["SADD", "s", *[f"member:{i}" for i in range(COLLECTION_SIZE)]],
    ["ZADD", "z", *[x for i in range(COLLECTION_SIZE) for x in (str(i * 1.5), f"member:{i}")]],
    ["RPUSH", "l", *[f"value-{i}" for i in range(COLLECTION_SIZE)]],
]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _checkout(rev: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), rev],
                   check=True, capture_output=True)  # fmt: skip
    for generated in (ROOT / "seshat" / "proto").glob("raft_pb2*.py"):
        shutil.copy(generated, into / "seshat" / "proto" / generated.name)
    return into


def _start(tree: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "seshat.cli", "--port", str(port), "--raft-port",
         str(_free_port()), "--data-dir", str(workdir), "--log-level", "warning"],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(200):
        ping = ["redis-cli", "-p", str(port), "ping"]
        if subprocess.run(ping, check=False, capture_output=True).stdout:
            for load in (
                ["SCRIPT", "LOAD", SCRIPT],
                ["FUNCTION", "LOAD", "REPLACE", LIBRARY],
                *_FILL,
            ):
                subprocess.run(["redis-cli", "-p", str(port), *load], check=True,
                               capture_output=True)  # fmt: skip
            return proc, port
        time.sleep(0.05)
    raise SystemExit(f"the server in {tree} did not start")


def _cpu_s(pid: int) -> float:
    """The process's user + system CPU time so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(pid: int, port: int, args: list[str], requests: int) -> tuple[float, float]:
    """(requests per second, server CPU µs per request) of one redis-benchmark run."""
    before = _cpu_s(pid)
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-n", str(requests), "--csv", *args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cpu_us = (_cpu_s(pid) - before) * 1e6 / requests
    rows = list(csv.reader(io.StringIO(out)))
    return float(rows[1][1]), cpu_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the commit to compare the working tree with")
    parser.add_argument("--new", help="a commit to measure instead of the working tree")
    parser.add_argument(
        "--only",
        help="'collections', or one test of "
        + ", ".join([*SCENARIOS, *SCRIPT_SCENARIOS, *COLLECTION_SCENARIOS]),
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="seshat-ab-"))
    old_tree = _checkout(args.old, base / "old")
    new_tree = _checkout(args.new, base / "new") if args.new else ROOT
    every = {**SCENARIOS, **SCRIPT_SCENARIOS, **COLLECTION_SCENARIOS}
    if args.only == "collections":
        scenarios = COLLECTION_SCENARIOS
    else:
        scenarios = {args.only: every[args.only]} if args.only else SCENARIOS
    procs = []
    try:
        targets = {}
        for name, tree in (("old", old_tree), ("new", new_tree)):
            proc, port = _start(tree, base / f"data-{name}")
            procs.append(proc)
            targets[name] = (proc.pid, port)
        rates: dict[tuple[str, str], list[float]] = {}
        cpus: dict[tuple[str, str], list[float]] = {}
        for round_number in range(args.rounds):
            order = list(targets.items())
            if round_number % 2:
                order.reverse()  # neither side always goes first
            for scenario, bench_args in scenarios.items():
                for name, (pid, port) in order:
                    rate, cpu_us = _run(pid, port, bench_args, args.requests)
                    rates.setdefault((scenario, name), []).append(rate)
                    cpus.setdefault((scenario, name), []).append(cpu_us)
        new_name = args.new or "working tree"
        print(f"old = {args.old}, new = {new_name}; median req/s of {args.rounds} rounds")
        print(
            "| test | old req/s | new req/s | new/old | old CPU µs/req | new CPU µs/req | new/old |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for scenario in scenarios:
            old, new = (statistics.median(rates[(scenario, n)]) for n in ("old", "new"))
            old_cpu, new_cpu = (statistics.median(cpus[(scenario, n)]) for n in ("old", "new"))
            print(
                f"| {scenario} | {old:,.0f} | {new:,.0f} | {new / old:.3f} | {old_cpu:.1f} | "
                f"{new_cpu:.1f} | {new_cpu / old_cpu:.3f} |"
            )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        for tree in {old_tree, new_tree} - {ROOT}:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
