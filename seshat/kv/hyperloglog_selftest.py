"""PFSELFTEST: checks of `hyperloglog.py` that a running node can afford, as Redis's own.

Redis's `pfselftestCommand` checks that dense registers read back what was written, and that
a sparse and a dense HLL fed the same elements agree and estimate within six standard errors
of the truth, up to ten million elements. Pure Python cannot spend that long (Redis takes
seconds in C), so this one checks the same properties on smaller inputs, and adds what Redis's
test leaves to its other tests (the hash against known answers, the promotions to dense):

1. Dense registers: every one of the 16,384 six-bit registers is written with seeded random
   values, then with 63 (every bit set), and each reads back alone and through the
   four-in-three-bytes bulk reader, with the header left alone.
2. Hashing: elements whose register and zero-run were read off redis-server 7.0.15 (one
   element per PFADD, then PFDEBUG GETREG) give the same pair here, so MurmurHash64A, the
   index bits and the run count are Redis's.
3. Sparse against dense: elements go to a sparse and a dense HLL together; at each checkpoint
   the sparse one is still sparse, both have the same registers and cardinality, and the
   sparse one converted to dense is the dense one byte for byte. Then the two ways a sparse
   value turns dense (a register above 32; a string past 3,000 bytes) keep every register.
4. Estimates: at 1, 10, 100, 1,000 and 10,000 distinct elements the dense estimate is within
   six standard errors (1.04 / sqrt(16384) each), and exactly right at 10, as in Redis.

The elements come from a fixed seed, so a pass or a failure is the same every run (Redis seeds
from `rand()`). The whole takes a few tens of milliseconds. Each check returns None or what
failed, which the caller sends after `TESTFAILED`, Redis's word for it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Final

from seshat.kv import hyperloglog as H

SEED: Final = 0x5E5A7_0001
"""Fixed: the self-test feeds the same elements every run."""
REGISTER_ROUNDS_MAX: Final = 2
"""Rounds of check 1 (Redis runs 1,000; each of ours costs ~10 ms)."""
SPARSE_ELEMENTS_MAX: Final = 500
"""Elements fed to the sparse HLL of check 3: a sparse insert scans the string, so the cost
grows with the square of this (500: ~20 ms), while the string stays well under 3,000 bytes."""
ELEMENTS_MAX: Final = 10_000
"""Distinct elements of check 4 (Redis goes to ten million; ~15 ms here)."""
RELATIVE_ERROR: Final = 1.04 / math.sqrt(H.REGISTERS)

# (element, register, zero run plus one), as redis-server 7.0.15 stores them.
KNOWN_PATTERNS: Final[tuple[tuple[bytes, int, int], ...]] = (
    (b"", 5938, 2),
    (b"a", 12711, 2),
    (b"seshat", 618, 1),
    (b"12345678", 10579, 3),
    (b"redis-hyperloglog-selftest", 12311, 1),
    (bytes(range(37)), 12992, 1),
    (b"selftest:9329", 8819, 16),
    (b"selftest:14792", 13263, 15),
)


def selftest() -> str | None:
    """None if every check passes; else what the first failing one found."""
    checks: tuple[Callable[[], str | None], ...] = (
        _check_dense_registers,
        _check_hash,
        _check_sparse_against_dense,
        _check_promotions,
    )
    for check in checks:
        problem = check()
        if problem is not None:
            return problem
    return None


def _element(j: int) -> bytes:
    """The j-th distinct element: j xor the seed as 8 little-endian bytes (Redis's `ele`)."""
    return (j ^ SEED).to_bytes(8, "little")


def _check_dense_registers() -> str | None:
    rng = random.Random(SEED)
    buf = H.sparse_to_dense(H.new_sparse())
    assert buf is not None
    header = bytes(buf[: H.HEADER_BYTES])
    for round_ in range(REGISTER_ROUNDS_MAX + 1):
        if round_ < REGISTER_ROUNDS_MAX:
            expected = [rng.randrange(H.REGISTER_MAX + 1) for _ in range(H.REGISTERS)]
        else:
            expected = [H.REGISTER_MAX] * H.REGISTERS
        for index, value in enumerate(expected):
            H._dense_set(buf, index, value)
        for index, value in enumerate(expected):
            if H._dense_get(buf, index) != value:
                return f"Register error at {index}"
        if H._dense_registers(buf) != expected:
            return "Register error in the bulk read"
        if len(buf) != H.DENSE_BYTES or bytes(buf[: H.HEADER_BYTES]) != header:
            return "Register write outside the registers"
    return None


def _check_hash() -> str | None:
    for element, index, count in KNOWN_PATTERNS:
        found = H.pattern(element)
        if found != (index, count):
            return f"hash of {element!r} gives {found}, not ({index}, {count})"
    return None


def _check_sparse_against_dense() -> str | None:
    """Checks 3 and 4: one pass of `ELEMENTS_MAX` elements, the sparse HLL fed the first
    `SPARSE_ELEMENTS_MAX` of them."""
    sparse = H.new_sparse()
    dense = H.sparse_to_dense(H.new_sparse())
    assert dense is not None
    if H.count(sparse) != 0 or H.count(dense) != 0:
        return "empty HLL counts more than 0"
    checkpoint = 1
    for j in range(1, ELEMENTS_MAX + 1):
        element = _element(j)
        dense, _ = H.add(dense, element)
        if j <= SPARSE_ELEMENTS_MAX:
            sparse, changed = H.add(sparse, element)
            if changed < 0:
                return f"sparse HLL corrupt after {j} elements"
            if j in (checkpoint, SPARSE_ELEMENTS_MAX):
                problem = _compare(sparse, dense)
                if problem is not None:
                    return problem
        if j == checkpoint:
            problem = _check_estimate(j, H.count(dense))
            if problem is not None:
                return problem
            checkpoint *= 10
    return None


def _compare(sparse: bytearray, dense: bytearray) -> str | None:
    if sparse[4] != H.SPARSE:
        return "sparse encoding not used"
    if H.registers(sparse) != H._dense_registers(dense):
        return "dense/sparse disagree"
    if H.count(sparse) != H.count(dense):
        return "dense/sparse disagree"
    converted = H.sparse_to_dense(sparse)
    if converted is None or converted[H.HEADER_BYTES :] != dense[H.HEADER_BYTES :]:
        return "sparse to dense conversion disagrees"
    return None


def _check_estimate(card: int, estimate: int | None) -> str | None:
    if estimate is None:
        return f"no estimate at card:{card}"
    error = abs(card - estimate)
    # Redis allows 1 at 10 (a collision there is rare enough not to fail its random runs).
    error_max = 1 if card == 10 else math.ceil(RELATIVE_ERROR * 6 * card)
    if error > error_max:
        return f"Too big error. card:{card} abserr:{error}"
    return None


def _check_promotions() -> str | None:
    """A register above 32, and a string past `SPARSE_MAX_BYTES`, turn a sparse HLL dense
    with every register kept."""
    buf, changed = H.sparse_set(H.new_sparse(), 100, 7)
    buf, _ = H.sparse_set(buf, 9000, H.SPARSE_VAL_MAX_VALUE + 1)
    expected = [0] * H.REGISTERS
    expected[100], expected[9000] = 7, H.SPARSE_VAL_MAX_VALUE + 1
    if changed != 1 or buf[4] != H.DENSE or H._dense_registers(buf) != expected:
        return "sparse to dense promotion on a large register"
    # Registers in order, three apart, values cycling 1..32: a ZERO and a VAL opcode (two
    # bytes) per register, so the string passes 3,000 bytes before the registers run out.
    buf = H.new_sparse()
    expected = [0] * H.REGISTERS
    cursor = H.SparseCursor()
    for k, index in enumerate(range(1, H.REGISTERS, 3)):
        value = k % H.SPARSE_VAL_MAX_VALUE + 1
        buf, changed = H.sparse_set(buf, index, value, cursor)
        expected[index] = value
        if changed != 1:
            return f"sparse set failed at register {index}"
        if buf[4] == H.DENSE:
            break
        if len(buf) > H.SPARSE_MAX_BYTES:
            return "sparse string past its maximum"
    if buf[4] != H.DENSE:
        return "sparse to dense promotion on size not done"
    if H._dense_registers(buf) != expected:
        return "sparse to dense promotion on size lost registers"
    return None
