"""Random members are drawn evenly: HRANDFIELD, SRANDMEMBER and SPOP, small and large.

Each test seeds the command layer's generator (`chance.seeded`), so it draws the same numbers
on every run and cannot flake. The measure is Pearson's chi-square over the counts, as Redis's
own `hash.tcl` and `set.tcl` check it; the gap-weighted draw these replace gave 700-1000 on the
ten-member case, where an even draw stays under 40 (df 9, p = 0.00001).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from seshat.kv import chance
from seshat.kv.local import LocalExecutor
from seshat.kv.operation import encode_command
from seshat.kv.service import Session
from seshat.kv.state_machine import StateMachine
from seshat.storage.engine import Engine


def chi_square(counts: Counter[bytes], members: int, draws: int) -> float:
    expected = draws / members
    assert len(counts) <= members
    missing = members - len(counts)
    return missing * expected + sum((n - expected) ** 2 / expected for n in counts.values())


def test_hrandfield_draws_a_small_hash_evenly(executor: LocalExecutor) -> None:
    s = Session()
    fields = [b"a", b"b", b"c", b"d", b"e", b"6", b"7", b"8", b"9", b"10"]
    executor.execute(s, [b"HSET", b"h", *(w for f in fields for w in (f, b"v"))])
    with chance.seeded(1):
        drawn = executor.execute(s, [b"HRANDFIELD", b"h", b"-1000"])
    assert isinstance(drawn, list) and len(drawn) == 1000
    assert chi_square(Counter(drawn), 10, 1000) < 40  # type: ignore[arg-type]
    with chance.seeded(2):
        one_at_a_time = Counter(executor.execute(s, [b"HRANDFIELD", b"h"]) for _ in range(1000))
    assert chi_square(one_at_a_time, 10, 1000) < 40  # type: ignore[arg-type]


def test_srandmember_draws_a_large_set_about_evenly(executor: LocalExecutor) -> None:
    """2,000 members: past the whole-read limit, so each draw is one seek and a window. Its
    chi-square over 40,000 draws stays near the 1,999 of a perfectly even draw (the window's
    unevenness adds a few hundred); first-after-a-point draws score about ten times that."""
    s = Session()
    members = [b"m%d" % i for i in range(2000)]
    executor.execute(s, [b"SADD", b"s", *members])
    with chance.seeded(3):
        drawn = executor.execute(s, [b"SRANDMEMBER", b"s", b"-40000"])
    assert isinstance(drawn, list) and len(drawn) == 40000
    assert chi_square(Counter(drawn), 2000, 40000) < 3000  # type: ignore[arg-type]
    with chance.seeded(4):
        distinct = executor.execute(s, [b"SRANDMEMBER", b"s", b"300"])
    assert isinstance(distinct, list) and len(set(distinct)) == 300  # type: ignore[arg-type]
    assert set(distinct) <= set(members)  # type: ignore[arg-type]


def test_spop_pops_evenly(executor: LocalExecutor) -> None:
    s = Session()
    popped: Counter[bytes] = Counter()
    with chance.seeded(5):
        for _ in range(1000):
            executor.execute(s, [b"SADD", b"s", *(b"%d" % i for i in range(10))])
            popped[executor.execute(s, [b"SPOP", b"s"])] += 1  # type: ignore[index]
    assert chi_square(popped, 10, 1000) < 40


def test_an_spop_entry_of_an_older_node_still_applies_alike_everywhere(tmp_path: Path) -> None:
    """Entries without the draw version keep the draw they were first applied with."""
    members = [b"%d" % i for i in range(600)]  # past the whole-read limit: the draws differ
    entries = [
        (1, encode_command(1, 0, [b"SADD", b"t", *members])),
        (2, encode_command(1, 0, [b"SPOP", b"t", b"-", b"12345"])),
        (3, encode_command(1, 0, [b"SPOP", b"t", b"5", b"678"])),
    ]
    engines = [Engine.open(os.fspath(tmp_path / name)) for name in ("a", "b")]
    try:
        a, b = (StateMachine(engine) for engine in engines)
        replies = a.apply_batch(entries)
        assert [b.apply_batch([entry])[0] for entry in entries] == replies
        assert replies[0] == 600 and replies[1] in members
        popped = replies[2].items  # type: ignore[union-attr]
        assert len(popped) == 5 and set(popped) <= set(members)  # type: ignore[arg-type]
        assert a.checksum() == b.checksum()
    finally:
        for engine in engines:
            engine.close()
