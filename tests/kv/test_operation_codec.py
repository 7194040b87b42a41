"""The Operation codec round-trips, and leader-side rewrites make every time absolute."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seshat.kv import operation as op
from seshat.kv.local import LocalExecutor
from seshat.kv.service import KVService, Session, Write

INT64 = st.integers(-(1 << 63), (1 << 63) - 1)


@given(now_ms=INT64, db=st.integers(0, 15), argv=st.lists(st.binary(max_size=40), min_size=1))
def test_command_round_trip(now_ms: int, db: int, argv: list[bytes]) -> None:
    o = op.CommandOp(now_ms, db, argv)
    assert op.decode(op.encode(o)) == o


@given(now_ms=INT64, keys=st.lists(st.tuples(st.integers(0, 15), st.binary(max_size=40))))
def test_expire_round_trip(now_ms: int, keys: list[tuple[int, bytes]]) -> None:
    o = op.ExpireOp(now_ms, keys)
    assert op.decode(op.encode(o)) == o


def _proposed(executor: LocalExecutor, argv: list[bytes]) -> list[bytes]:
    svc = KVService(executor.state_machine, lambda: 1_000_000)
    prepared = svc.prepare(Session(), argv)
    assert isinstance(prepared, Write), prepared
    decoded = op.decode(prepared.data)
    assert isinstance(decoded, op.CommandOp) and decoded.now_ms == 1_000_000
    return decoded.argv


def test_relative_times_become_absolute(executor: LocalExecutor) -> None:
    assert _proposed(executor, [b"SET", b"k", b"v", b"EX", b"10"]) == [
        b"SET",
        b"k",
        b"v",
        b"PXAT",
        b"1010000",
    ]
    assert _proposed(executor, [b"set", b"k", b"v", b"px", b"5", b"get"]) == [
        b"set",
        b"k",
        b"v",
        b"GET",
        b"PXAT",
        b"1000005",
    ]
    assert _proposed(executor, [b"SETEX", b"k", b"10", b"v"]) == [
        b"SET",
        b"k",
        b"v",
        b"PXAT",
        b"1010000",
    ]
    assert _proposed(executor, [b"PSETEX", b"k", b"10", b"v"]) == [
        b"SET",
        b"k",
        b"v",
        b"PXAT",
        b"1000010",
    ]
    assert _proposed(executor, [b"EXPIRE", b"k", b"10", b"gt"]) == [
        b"PEXPIREAT",
        b"k",
        b"1010000",
        b"GT",
    ]
    assert _proposed(executor, [b"EXPIREAT", b"k", b"10"]) == [b"PEXPIREAT", b"k", b"10000"]
    assert _proposed(executor, [b"GETEX", b"k", b"EX", b"5"]) == [
        b"GETEX",
        b"k",
        b"PXAT",
        b"1005000",
    ]
    assert _proposed(executor, [b"DECRBY", b"k", b"5"]) == [b"INCRBY", b"k", b"-5"]
    assert _proposed(executor, [b"SET", b"k", b"v"]) == [b"SET", b"k", b"v"]
