"""PFSELFTEST's checks (`seshat/kv/hyperloglog_selftest.py`): they pass on Seshat's HLL code, and
each catches the kind of bug it is there for, planted by replacing one piece of
`seshat/kv/hyperloglog.py` (the self-test and the code it checks call each other through the
module, so a replaced function is the one both use)."""

from __future__ import annotations

import asyncio

import pytest

from seshat import debug_commands
from seshat.kv import hyperloglog as H
from seshat.kv.hyperloglog_selftest import selftest


def test_passes_on_the_real_code() -> None:
    assert selftest() is None


def test_catches_a_register_write_that_loses_the_spilled_bits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def set_first_byte_only(buf: bytearray, index: int, value: int) -> None:
        bit = index * 6
        byte = H.HEADER_BYTES + (bit >> 3)
        shift = bit & 7
        buf[byte] = (buf[byte] & ~(H.REGISTER_MAX << shift) & 0xFF) | ((value << shift) & 0xFF)

    monkeypatch.setattr(H, "_dense_set", set_first_byte_only)
    problem = selftest()
    assert problem is not None and problem.startswith("Register error at "), problem


def test_catches_a_hash_that_is_not_redis_s(monkeypatch: pytest.MonkeyPatch) -> None:
    real = H.murmur64a
    monkeypatch.setattr(H, "murmur64a", lambda data, seed=0: real(data, 0xADC83B18))
    problem = selftest()
    assert problem is not None and problem.startswith("hash of b''"), problem


def test_catches_an_estimate_off_by_ten_percent(monkeypatch: pytest.MonkeyPatch) -> None:
    real = H.estimate
    monkeypatch.setattr(H, "estimate", lambda histogram: int(real(histogram) * 0.9))
    # 1 and 10 stay within their bounds (0 and 9 for 1 and 10); 90 for 100 is off by 10 > 5.
    assert selftest() == "Too big error. card:100 abserr:10"


def test_catches_a_sparse_hll_turning_dense_too_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(H, "SPARSE_MAX_BYTES", 200)
    assert selftest() == "sparse encoding not used"


def test_catches_a_conversion_to_dense_that_drops_a_register(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = H.sparse_to_dense

    def lossy(buf: bytes | bytearray) -> bytearray | None:
        dense = real(buf)
        if dense is not None and buf[4] == H.SPARSE:
            first = next((i for i, r in enumerate(H._dense_registers(dense)) if r), None)
            if first is not None:
                H._dense_set(dense, first, 0)
        return dense

    monkeypatch.setattr(H, "sparse_to_dense", lossy)
    assert selftest() == "sparse to dense conversion disagrees"


def test_catches_sparse_and_dense_registers_that_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    real = H.registers

    def one_lost(buf: bytes | bytearray) -> list[int] | None:
        regs = real(buf)
        if regs is not None and any(regs):
            regs[max(i for i, r in enumerate(regs) if r)] = 0
        return regs

    monkeypatch.setattr(H, "registers", one_lost)
    assert selftest() == "dense/sparse disagree"


def test_the_reply_text() -> None:
    """The handler answers "ERR " and this text when a check fails (`ClientConnection.await_admin`),
    as Redis answers `-ERR TESTFAILED ...`; an empty text means OK."""
    assert asyncio.run(debug_commands._run_selftest()) == ""


def test_the_reply_text_of_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(debug_commands, "selftest", lambda: "Register error at 7")
    assert asyncio.run(debug_commands._run_selftest()) == "TESTFAILED Register error at 7"


def test_decode_reads_every_byte_as_redis_does() -> None:
    header = b"HYLL\x01" + bytes(11)
    assert H.decode_sparse(header) == b""
    assert H.decode_sparse(header + b"\x00\x3f\x80\x8f\x7f\xb9") == (
        b"z:1 z:64 v:1,1 v:4,4 Z:16314"
    )
    assert H.decode_sparse(header + b"\x7f\xff\x40") == b"Z:16384 Z:1"  # cut short: a NUL follows
