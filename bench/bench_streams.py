"""What stream commands cost beside a plain SET: XADD (generated IDs, and with MAXLEN ~),
XREADGROUP delivering one entry to a consumer group, and XRANGE of 10 entries, on a Seshat
single node and on redis-server (in memory and `appendfsync always`), in one run.

The figures that mean something are each command's rate over SET's within a target, and
Seshat's ratios against Redis's, in the same run (these machines are noisy).

Run: ``.venv/bin/python bench/bench_streams.py`` (needs redis-server, redis-benchmark and
.venv/bin/seshat). Results belong in BENCHMARKS.md, never in tests.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scripts import measure, single_node_targets
from run_bench import resp_call, running

COMMANDS = {
    "SET": ["set", "k", "v"],
    "XADD": ["xadd", "s", "*", "field", "value"],
    "XADD MAXLEN ~": ["xadd", "t", "maxlen", "~", "1000", "*", "field", "value"],
    "XREADGROUP": ["xreadgroup", "group", "g", "c", "count", "1", "streams", "s", ">"],
    "XRANGE 10": ["xrange", "s", "-", "+", "count", "10"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    names = list(COMMANDS)
    print("| target | clients | " + " | ".join(f"{n} req/s (/SET)" for n in names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    cpu_rows = []
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as work:
        for target in single_node_targets():
            with running(target, Path(work), 30.0) as server:
                for clients in (1, 50):
                    resp_call(server.port, b"DEL", b"s", b"t")
                    resp_call(server.port, b"XGROUP", b"CREATE", b"s", b"g", b"$", b"MKSTREAM")
                    time.sleep(0.2)
                    got = {n: measure(server, clients, args.requests, COMMANDS[n]) for n in names}
                    base = got["SET"]["rps"]
                    cells = [f"{got[n]['rps']:,.0f} ({got[n]['rps'] / base:.2f})" for n in names]
                    print(f"| {target.name} | {clients} | " + " | ".join(cells) + " |", flush=True)
                    cpu = " / ".join(f"{got[n]['cpu_us']:.0f}" for n in names)
                    cpu_rows.append(f"| {target.name} | {clients} | {cpu} |")
    print()
    print("| target | clients | server CPU µs/req " + " / ".join(names) + " |")
    print("|---|---:|---|")
    print("\n".join(cpu_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
