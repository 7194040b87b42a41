"""HyperLogLog internals that the differential tests against Redis reach only by chance.

`sparse_set` may resume its scan from a cursor when registers are set in increasing order
(PFMERGE into a sparse target). Resuming must give the very bytes a scan from the start
gives, since those are what Redis writes (`test_differential.py` checks the scan from the
start against redis-server).
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from seshat.kv import hyperloglog as H

ELEMENTS = st.lists(st.integers(0, 20_000).map(lambda n: b"x%d" % n), max_size=1500)
UPDATES = st.dictionaries(
    st.integers(0, H.REGISTERS - 1), st.integers(1, H.SPARSE_VAL_MAX_VALUE + 2), max_size=400
)


@settings(max_examples=60, deadline=None)
@given(elements=ELEMENTS, updates=UPDATES)
def test_a_resumed_scan_writes_what_a_scan_from_the_start_writes(
    elements: list[bytes], updates: dict[int, int]
) -> None:
    start = H.new_sparse()
    for element in elements:
        start, _ = H.add(start, element)
    _check_resumed(start, updates)


def test_a_resumed_scan_among_merging_neighbours() -> None:
    """Runs of neighbouring registers with small values, updated with small values: VAL
    opcodes split and merge most there, and the scan may start inside a run merged by the
    previous update. Seeded, so every run checks the same 1,500 cases (which do reach those
    rare states: a cursor that forgets the opcode before it fails dozens of them)."""
    rng = random.Random(5)
    for _ in range(1500):
        start = H.new_sparse()
        for _ in range(rng.randint(0, 40)):
            first = rng.randint(0, 120)
            for index in range(first, first + rng.randint(1, 8)):
                start, _ = H.sparse_set(start, index, rng.randint(1, 3))
        updates = {}
        for _ in range(rng.randint(0, 40)):
            first = rng.randint(0, 120)
            for index in range(first, first + rng.randint(1, 3)):
                updates[index] = rng.randint(1, 3)
        _check_resumed(start, updates)


def _check_resumed(start: bytearray, updates: dict[int, int]) -> None:
    plain, resumed = bytearray(start), bytearray(start)
    cursor = H.SparseCursor()
    for index in sorted(updates):
        count = updates[index]
        if plain[4] == H.SPARSE:
            plain, a = H.sparse_set(plain, index, count)
        else:
            a = int(H.registers(plain)[index] < count)  # type: ignore[index]
            plain = H.sparse_to_dense(plain) or plain
        if resumed[4] == H.SPARSE:
            resumed, b = H.sparse_set(resumed, index, count, cursor)
        else:
            b = a
        assert a == b and plain == resumed, index
        if plain[4] == H.DENSE:
            break


def test_the_bytes_of_small_hlls_are_redis_s() -> None:
    """Values GET answered on redis-server 7.0.15 after `PFADD h a` and `PFADD h2 hello world
    foo`: the hash, the register index, the zero run and the sparse opcodes all show here."""
    for elements, redis_bytes in (
        ([b"a"], b"HYLL\x01" + bytes(10) + b"\x80q\xa6\x84NW"),
        (
            [b"hello", b"world", b"foo"],
            b"HYLL\x01" + bytes(10) + b"\x80J\xb5\x88Q\xfc\x90GJ\x80[\xfe",
        ),
    ):
        buf = H.new_sparse()
        for element in elements:
            buf, _ = H.add(buf, element)
        H.invalidate_cache(buf)
        assert bytes(buf) == redis_bytes
    assert H.count(buf) == 3
