"""Data types and RESP3 against redis-server, in one run (never a test).

Two questions, each answered beside a real redis-server started by this script:

1. Data types: `redis-benchmark -t lpush,lpop,sadd,hset,zadd,lrange_100 -c 50 -P 16`.
2. RESP3: does speaking RESP3 cost the common path anything? `-t set,get` with and without
   `-3`, and a RESP3 client's HGETALL of a 10-field hash (a map reply), against both servers.

Run alone: `.venv/bin/python bench/run_types_bench.py [--requests N]`. It reuses the server
lifecycle of `bench/run_bench.py` (free ports, process groups, stop in `finally`).
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_bench as rb  # noqa: E402

TYPES = "lpush,lpop,sadd,hset,zadd,lrange_100"


def _bench(port: int, args: list[str]) -> dict[str, tuple[float, float]]:
    """{test: (req/s, p50 ms)} from one redis-benchmark invocation in CSV mode."""
    argv = ["redis-benchmark", "-h", rb.HOST, "-p", str(port), "--csv", *args]
    out = subprocess.run(argv, capture_output=True, timeout=600, check=False)
    rows = csv.DictReader(io.StringIO(out.stdout.decode(errors="replace")))
    return {r["test"]: (float(r["rps"]), float(r["p50_latency_ms"])) for r in rows if "test" in r}


def _targets() -> list[rb.Target]:
    seshat = rb.REPO / ".venv" / "bin" / "seshat"
    return [
        rb.Target("redis-mem", "redis-server, in memory", rb._redis_argv("--save", "", "--appendonly", "no")),
        rb.Target(
            "redis-aof",
            "redis-server, appendfsync always",
            rb._redis_argv("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
        ),
        rb.Target("seshat", "Seshat, single node", rb._seshat_argv(seshat, [])),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50_000)
    args = parser.parse_args()
    n = str(args.requests)
    results: dict[str, dict[str, tuple[float, float]]] = {}
    work = Path(tempfile.mkdtemp(prefix="seshat-types-"))
    for target in _targets():
        with rb.running(target, work, 30.0) as server:
            port = server.port
            row = _bench(port, ["-t", TYPES, "-n", n, "-c", "50", "-P", "16", "-r", "100000"])
            row.update({f"RESP2 {k}": v for k, v in _bench(port, ["-t", "set,get", "-n", n, "-c", "50", "-P", "16"]).items()})
            row.update({f"RESP3 {k}": v for k, v in _bench(port, ["-3", "-t", "set,get", "-n", n, "-c", "50", "-P", "16"]).items()})
            fields = [x for i in range(10) for x in (f"f{i}", f"value{i}")]
            rb.resp_call(port, b"HSET", b"h", *[f.encode() for f in fields])
            hgetall = _bench(port, ["-3", "-n", n, "-c", "50", "-P", "16", "HGETALL", "h"])
            row.update({f"RESP3 HGETALL (10 fields)": v for v in hgetall.values()})
            results[target.name] = row
    tests = list(results["redis-mem"])
    print(f"machine: nproc={rb.machine_facts(work)['nproc']} load at end={open('/proc/loadavg').read().split()[:3]}")
    print("| test (-c 50 -P 16) | " + " | ".join(results) + " | Seshat / redis-aof |")
    print("|---|" + "---:|" * (len(results) + 1))
    for test in tests:
        cells = [f"{results[t].get(test, (0.0, 0.0))[0]:,.0f}" for t in results]
        aof = results["redis-aof"].get(test, (0.0, 0.0))[0]
        ours = results["seshat"].get(test, (0.0, 0.0))[0]
        ratio = f"{ours / aof:.2f}" if aof else "n/a"
        print(f"| {test} | " + " | ".join(cells) + f" | {ratio} |")
    for name in results:
        r2 = results[name].get("RESP2 GET", (0.0, 0.0))[0]
        r3 = results[name].get("RESP3 GET", (0.0, 0.0))[0]
        if r2:
            print(f"{name}: GET RESP3/RESP2 = {r3 / r2:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
