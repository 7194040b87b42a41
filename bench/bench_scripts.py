"""What a Lua script costs: EVALSHA of a one-SET script, and FCALL of a one-SET function,
against a plain SET, on a Seshat single node and on redis-server (in memory and `appendfsync
always`), in one run.

Seshat runs a script inside apply in a fresh Lua state (docs/scripting.md), so its EVALSHA
costs that state's set-up on top of the SET it makes; Redis keeps one Lua state. The figures
that mean something are the ratios EVALSHA / SET within a target, and Seshat's against Redis's,
in the same run (these machines are noisy).

Run: ``.venv/bin/python bench/bench_scripts.py`` (needs redis-server, redis-benchmark and
.venv/bin/seshat). Results belong in BENCHMARKS.md, never in tests.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_bench import (
    REPO,
    Running,
    Target,
    _redis_argv,
    _seshat_argv,
    cpu_seconds,
    resp_call,
    running,
)

SCRIPT = b"return redis.call('set', KEYS[1], ARGV[1])"
LIBRARY = (
    b"#!lua name=bench\n"
    b"redis.register_function('setter', function(keys, args) "
    b"return redis.call('set', keys[1], args[1]) end)"
)


def measure(server: Running, clients: int, requests: int, words: list[str]) -> dict[str, float]:
    argv = [
        "redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-c", str(clients),
        "-n", str(requests), "--csv", *words,
    ]  # fmt: skip
    cpu0 = cpu_seconds(server.proc.pid)
    out = subprocess.run(argv, capture_output=True, timeout=120, check=True)
    cpu = cpu_seconds(server.proc.pid) - cpu0
    row = next(csv.DictReader(io.StringIO(out.stdout.decode())))
    return {
        "rps": float(row["rps"]),
        "p50_ms": float(row["p50_latency_ms"]),
        "cpu_us": cpu * 1e6 / requests,
    }


def single_node_targets() -> list[Target]:
    """Redis in memory, Redis with `appendfsync always`, and a Seshat single node: the three
    servers a per-command cost is compared across."""
    seshat = REPO / ".venv" / "bin" / "seshat"
    return [
        Target("redis-mem", "redis-server, in memory", _redis_argv("--save", "")),
        Target(
            "redis-aof", "redis-server, appendfsync always",
            _redis_argv("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
        ),
        Target("seshat", "Seshat, single node", _seshat_argv(seshat, [])),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    print("| target | clients | SET req/s | EVALSHA req/s | EVALSHA/SET | FCALL req/s | FCALL/SET "
          "| SET p50 ms | EVALSHA p50 ms | CPU µs/req SET / EVALSHA / FCALL |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-scripts-") as work:
        for target in single_node_targets():
            with running(target, Path(work), 30.0) as server:
                sha = resp_call(server.port, b"SCRIPT", b"LOAD", SCRIPT).decode()
                resp_call(server.port, b"FUNCTION", b"LOAD", b"REPLACE", LIBRARY)
                time.sleep(0.2)
                for clients in (1, 50):
                    plain = measure(server, clients, args.requests, ["set", "k", "v"])
                    script = measure(
                        server, clients, args.requests, ["evalsha", sha, "1", "k", "v"]
                    )
                    function = measure(
                        server, clients, args.requests, ["fcall", "setter", "1", "k", "v"]
                    )
                    print(
                        f"| {target.name} | {clients} | {plain['rps']:,.0f} | "
                        f"{script['rps']:,.0f} | {script['rps'] / plain['rps']:.2f} | "
                        f"{function['rps']:,.0f} | {function['rps'] / plain['rps']:.2f} | "
                        f"{plain['p50_ms']:.3f} | {script['p50_ms']:.3f} | "
                        f"{plain['cpu_us']:.0f} / {script['cpu_us']:.0f} / "
                        f"{function['cpu_us']:.0f} |",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
