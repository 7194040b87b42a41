"""Per-command cost on a 1M-field hash vs a 10-field hash (LocalExecutor, no Raft, no network).

    .venv/bin/python bench/bench_collections.py [N]

Prints, per command, the mean wall time and the RocksDB entries its apply batch wrote (reads
write nothing). The point is the ratio between the two sizes: single-field commands must not
grow with the hash. Results go to BENCHMARKS.md by hand; nothing here is asserted.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from seshat.kv.local import LocalExecutor
from seshat.kv.service import Session
from seshat.storage.engine import Batch, Engine


class CountingEngine(Engine):
    last_count = 0

    def write(self, batch: Batch) -> None:
        type(self).last_count = batch.count
        super().write(batch)


def build(ex: LocalExecutor, s: Session, key: bytes, n: int) -> None:
    step = 5000
    for lo in range(0, n, step):
        argv = [b"HSET", key]
        for i in range(lo, min(lo + step, n)):
            argv += (b"f%d" % i, b"v%d" % i)
        ex.execute(s, argv)


def measure(ex: LocalExecutor, s: Session, key: bytes, reps: int) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    cmds = {
        "HSET new field": lambda i: [b"HSET", key, b"new%d" % i, b"x"],
        "HSET existing": lambda i: [b"HSET", key, b"f%d" % (i % 10), b"y"],
        "HGET": lambda i: [b"HGET", key, b"f%d" % (i % 10)],
        "HEXISTS": lambda i: [b"HEXISTS", key, b"f%d" % (i % 10)],
        "HLEN": lambda i: [b"HLEN", key],
        "HINCRBY": lambda i: [b"HINCRBY", key, b"counter", b"1"],
        "HDEL": lambda i: [b"HDEL", key, b"new%d" % i],
        "HRANDFIELD": lambda i: [b"HRANDFIELD", key],
        "HSCAN COUNT 10": lambda i: [b"HSCAN", key, str(i * 4000 + 1).encode(), b"COUNT", b"10"],
        "EXPIRE": lambda i: [b"EXPIRE", key, b"100000"],
    }
    for name, make in cmds.items():
        CountingEngine.last_count = 0
        t0 = time.perf_counter()
        for i in range(reps):
            ex.execute(s, make(i))
        dt = (time.perf_counter() - t0) / reps
        out[name] = (dt * 1e6, CountingEngine.last_count)
    # whole-key operations, once each
    for name, argv in (("RENAME", [b"RENAME", key, key + b"2"]), ("DEL", [b"DEL", key + b"2"])):
        t0 = time.perf_counter()
        ex.execute(s, argv)
        out[name] = ((time.perf_counter() - t0) * 1e6, CountingEngine.last_count)
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    d = tempfile.mkdtemp(prefix="seshat-bench-")
    engine = CountingEngine.open(os.path.join(d, "db"))
    ex = LocalExecutor(engine)
    s = Session()
    t0 = time.perf_counter()
    build(ex, s, b"big", n)
    print(f"built {n}-field hash in {time.perf_counter() - t0:.1f} s")
    build(ex, s, b"small", 10)
    small = measure(ex, s, b"small", 1000)
    big = measure(ex, s, b"big", 1000)
    print(f"{'command':<16} {'10 fields us':>13} {'entries':>8} {f'{n} fields us':>16} {'entries':>8}")
    for name in small:
        (ts, cs), (tb, cb) = small[name], big[name]
        print(f"{name:<16} {ts:>13.1f} {cs:>8} {tb:>16.1f} {cb:>8}")
    t0 = time.perf_counter()
    ops = 0
    while (op := ex.service.gc_sample(0)) is not None:
        ex.propose(op)
        ops += 1
    print(f"GC of the deleted {n}-field hash: {ops} operations, {time.perf_counter() - t0:.1f} s")
    engine.close()


if __name__ == "__main__":
    main()
