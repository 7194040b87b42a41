"""Cost of single-member list and sorted-set commands on a 10-element vs a 1M-element key.

Runs the full command path (prepare -> Operation -> apply -> one RocksDB WriteBatch) through
`LocalExecutor` on a real RocksDB in a temp dir, and prints microseconds per command. A
single-member command must cost about the same at both sizes (O(1) / O(log n) RocksDB work).

    .venv/bin/python bench/bench_list_zset_costs.py [big_size]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from seshat.kv.local import LocalExecutor
from seshat.kv.service import Session
from seshat.storage.engine import Engine

CHUNK = 1000
OPS = 300


def fill(ex: LocalExecutor, s: Session, size: int) -> None:
    for base in range(0, size, CHUNK):
        n = min(CHUNK, size - base)
        ex.execute(s, [b"RPUSH", b"l"] + [b"e%d" % (base + i) for i in range(n)])
        pairs: list[bytes] = []
        for i in range(base, base + n):
            pairs += [b"%d" % i, b"m%d" % i]
        ex.execute(s, [b"ZADD", b"z"] + pairs)


def per_op_us(ex: LocalExecutor, s: Session, make: object) -> float:
    t0 = time.perf_counter()
    for i in range(OPS):
        ex.execute(s, make(i))  # type: ignore[operator]
    return (time.perf_counter() - t0) / OPS * 1e6


def main() -> None:
    big = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    cases = {
        "LPUSH": lambda i: [b"LPUSH", b"l", b"x"],
        "RPOP": lambda i: [b"RPOP", b"l"],
        "LINDEX middle": lambda i: [b"LINDEX", b"l", b"%d" % 5],
        "LSET": lambda i: [b"LSET", b"l", b"3", b"y"],
        "LRANGE 0 9": lambda i: [b"LRANGE", b"l", b"0", b"9"],
        "ZADD new": lambda i: [b"ZADD", b"z", b"%d.5" % i, b"new%d" % i],
        "ZADD update": lambda i: [b"ZADD", b"z", b"%d.25" % i, b"m3"],
        "ZSCORE": lambda i: [b"ZSCORE", b"z", b"m3"],
        "ZINCRBY": lambda i: [b"ZINCRBY", b"z", b"1", b"m4"],
        "ZREM": lambda i: [b"ZREM", b"z", b"new%d" % i],
        "ZRANGE 0 9": lambda i: [b"ZRANGE", b"z", b"0", b"9", b"WITHSCORES"],
        "ZRANGEBYSCORE 10": lambda i: [b"ZRANGEBYSCORE", b"z", b"5", b"14"],
        "ZPOPMIN": lambda i: [b"ZPOPMIN", b"z"],
    }
    results: dict[int, dict[str, float]] = {}
    for size in (10, big):
        with tempfile.TemporaryDirectory() as d:
            engine = Engine.open(os.path.join(d, "db"))
            ex = LocalExecutor(engine)
            s = Session()
            t0 = time.perf_counter()
            fill(ex, s, size)
            print(f"filled {size} list elements + zset members in {time.perf_counter() - t0:.1f} s")
            results[size] = {name: per_op_us(ex, s, make) for name, make in cases.items()}
            engine.close()
    print(f"{'command':20} {'10 (us/op)':>12} {big:>10} (us/op)")
    for name in cases:
        print(f"{name:20} {results[10][name]:12.1f} {results[big][name]:12.1f}")


if __name__ == "__main__":
    main()
