"""Micro-benchmark of the RESP codec: parse pipelined SET/GET, encode typical replies.

Runs alone (`.venv/bin/python bench/bench_protocol.py [N]`), prints commands/s and replies/s.
Not a test: figures move 15-30 % between runs on shared VMs; compare engines within one run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from seshat.protocol import (
    HIREDIS_AVAILABLE,
    RESP2,
    RESP3,
    Parser,
    PythonParser,
    encode_command,
    encode_into,
)
from seshat.protocol.replies import OK, Double, Map, Reply


def best_rate(work: Callable[[], int], repeat: int = 5) -> float:
    """Items per second of the fastest of `repeat` runs (least disturbed by other load)."""
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        items = work()
        best = max(best, items / (time.perf_counter() - start))
    return best


def pipeline(depth: int) -> bytes:
    """`depth` commands as one read: alternating SET key:NNNNNN xxx and GET key:NNNNNN."""
    commands = []
    for i in range(depth):
        key = b"key:%06d" % i
        commands.append([b"SET", key, b"xxx"] if i % 2 == 0 else [b"GET", key])
    return b"".join(encode_command(c) for c in commands)


def parse_rate(make: Callable[[], Parser], depth: int, total: int) -> float:
    data = pipeline(depth)
    reads = max(1, total // depth)

    def work() -> int:
        parser = make()
        count = 0
        for _ in range(reads):
            parser.feed(data)
            count += len(parser.next_commands())
        assert count == reads * depth, count
        return count

    return best_rate(work)


def encode_rate(replies: list[Reply], protocol: int, total: int) -> float:
    rounds = max(1, total // len(replies))

    def work() -> int:
        for _ in range(rounds):
            out = bytearray()
            for reply in replies:
                encode_into(out, reply, protocol)
        return rounds * len(replies)

    return best_rate(work)


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    engines: list[tuple[str, Callable[[], Parser]]] = [("python", PythonParser)]
    if HIREDIS_AVAILABLE:
        engines.insert(0, ("hiredis", lambda: Parser(use_hiredis=True)))
    print(f"parse, {total} commands, SET/GET pipelined in reads of `depth` commands")
    for name, make in engines:
        for depth in (1, 16, 100):
            rate = parse_rate(make, depth, total)
            print(
                f"  {name:8} depth {depth:4}: {rate / 1e6:6.2f} M commands/s "
                f"({1e6 / rate:5.2f} us each)"
            )
    mixes: list[tuple[str, list[Reply]]] = [
        ("OK", [OK]),
        ("bulk 3B", [b"xxx"]),
        ("integer", [42]),
        ("null", [None]),
        ("array of 10 bulks", [[b"value:%d" % i for i in range(10)]]),
        ("map of 5 doubles", [Map([(b"m%d" % i, Double(i / 3)) for i in range(5)])]),
        ("array of 100 bulks", [[b"value:%d" % i for i in range(100)]]),
        ("map of 100 bulks", [Map([(b"field:%d" % i, b"value:%d" % i) for i in range(100)])]),
        ("MGET 10, 2 missing", [[b"v%d" % i if i % 5 else None for i in range(10)]]),
    ]
    print(f"encode, {total} replies into one bytearray per round")
    for label, replies in mixes:
        for protocol in (RESP2, RESP3):
            rate = encode_rate(replies, protocol, total)
            print(
                f"  RESP{protocol} {label:18}: {rate / 1e6:6.2f} M replies/s "
                f"({1e6 / rate:5.2f} us each)"
            )


if __name__ == "__main__":
    main()
