"""BITFIELD and BITFIELD_RO: signed and unsigned integers of 1 to 64 bits at any bit offset
of a string, read, written and incremented with Redis's overflow rules.

Redis 7.0 (`bitops.c`) parses every operation before it runs any, so a bad argument anywhere
answers its error and changes nothing; a write grows the string to the furthest bit any of
its writes reaches before the first one runs (even one that OVERFLOW FAIL then skips); the
width and offset of a field are read most significant bit first, as SETBIT numbers bits.
Python's integers make the overflow checks plain arithmetic: Redis's checks on 64-bit machine
words come to the same answers, which the differential tests hold it to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from seshat.kv import errors as E
from seshat.kv import notify as N
from seshat.kv.bitmaps import BITS_MAX, string_value
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import ErrorReply, Reply

GET, SET, INCRBY = "get", "set", "incrby"
WRAP, SAT, FAIL = "wrap", "sat", "fail"

BAD_TYPE: Final = ErrorReply(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "
    "i64 is."
)
BAD_OVERFLOW: Final = ErrorReply("ERR Invalid OVERFLOW type specified")
RO_ONLY_GET: Final = ErrorReply("ERR BITFIELD_RO only supports the GET subcommand")


@dataclass(frozen=True, slots=True)
class Op:
    kind: str
    signed: bool
    bits: int
    offset: int
    value: int  # SET's value or INCRBY's increment
    overflow: str


def _type(arg: bytes) -> tuple[bool, int] | None:
    if not arg or arg[:1] not in (b"i", b"u"):
        return None
    signed = arg[:1] == b"i"
    bits = parse_int(arg[1:])
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        return None
    return signed, bits


def parse(argv: list[bytes]) -> list[Op] | ErrorReply:
    """Every operation of `BITFIELD key ...`, or the first error in Redis's order."""
    ops: list[Op] = []
    overflow = WRAP
    j, n = 2, len(argv)
    while j < n:
        left = n - j - 1
        name = argv[j].lower()
        if name == b"get" and left >= 2:
            kind = GET
        elif name == b"set" and left >= 3:
            kind = SET
        elif name == b"incrby" and left >= 3:
            kind = INCRBY
        elif name == b"overflow" and left >= 1:
            mode = argv[j + 1].lower()
            if mode not in (b"wrap", b"sat", b"fail"):
                return BAD_OVERFLOW
            overflow = mode.decode()
            j += 2
            continue
        else:
            return E.SYNTAX
        width = _type(argv[j + 1])
        if width is None:
            return BAD_TYPE
        signed, bits = width
        raw = argv[j + 2]
        if raw[:1] == b"#":  # the #n-th field of this width
            nth = parse_int(raw[1:])
            offset = None if nth is None else nth * bits
        else:
            offset = parse_int(raw)
        if offset is None or offset < 0 or offset >= BITS_MAX:
            return E.BIT_OFFSET
        value = 0
        if kind is not GET:
            parsed = parse_int(argv[j + 3])
            if parsed is None:
                return E.NOT_INTEGER
            value = parsed
        ops.append(Op(kind, signed, bits, offset, value, overflow))
        j += 3 if kind is GET else 4
    return ops


def _get(value: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    first, last = offset >> 3, (offset + bits - 1) >> 3
    chunk = bytes(value[first : last + 1]).ljust(last - first + 1, b"\x00")
    word = int.from_bytes(chunk, "big")
    shift = (last - first + 1) * 8 - (offset & 7) - bits
    field = (word >> shift) & ((1 << bits) - 1)
    if signed and field >> (bits - 1):
        field -= 1 << bits
    return field


def _set(buf: bytearray, offset: int, bits: int, field: int) -> None:
    first, last = offset >> 3, (offset + bits - 1) >> 3
    size = last - first + 1
    word = int.from_bytes(buf[first : last + 1], "big")
    shift = size * 8 - (offset & 7) - bits
    mask = ((1 << bits) - 1) << shift
    word = (word & ~mask) | ((field << shift) & mask)
    buf[first : last + 1] = word.to_bytes(size, "big")


def _settle(op: Op, current: int, increment: int) -> int | None:
    """The field's new value under the op's OVERFLOW rule; None when FAIL refuses it."""
    bits = op.bits
    if op.signed:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        low, high = 0, (1 << bits) - 1
        current &= (1 << 64) - 1  # Redis holds an unsigned SET value as a uint64
    target = current + increment
    if low <= current <= high and low <= target <= high:
        return target
    if op.overflow == FAIL:
        return None
    if op.overflow == SAT:
        return high if current > high or target > high else low
    wrapped = target & ((1 << bits) - 1)
    if op.signed and wrapped >> (bits - 1):
        wrapped -= 1 << bits
    return wrapped


def _run(buf: bytearray, ops: list[Op]) -> tuple[list[Reply], int, int]:
    """Run the ops in order on `buf`: the replies, how many writes were done (not failed by
    OVERFLOW FAIL), and how many of those changed a value."""
    replies: list[Reply] = []
    writes = changed = 0
    for op in ops:
        old = _get(buf, op.offset, op.bits, op.signed)
        if op.kind is GET:
            replies.append(old)
            continue
        new = _settle(op, op.value, 0) if op.kind is SET else _settle(op, old, op.value)
        if new is None:
            replies.append(None)
            continue
        _set(buf, op.offset, op.bits, new & ((1 << op.bits) - 1))
        writes += 1
        changed += new != old
        replies.append(old if op.kind is SET else new)
    return replies, writes, changed


def prepare_bitfield(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    ops = parse(argv)
    return ops if isinstance(ops, ErrorReply) else argv


def apply_bitfield(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    ops = parse(argv)
    assert not isinstance(ops, ErrorReply), "prepare_bitfield checked it"
    key = argv[1]
    old = w.lookup(db, key, now_ms)
    value = string_value(old)
    if isinstance(value, ErrorReply):
        return value
    writes = [op for op in ops if op.kind is not GET]
    if not writes:  # only GETs: Redis reads, and creates nothing
        return _run(bytearray(value), ops)[0]
    reach = max(op.offset + op.bits - 1 for op in writes) >> 3
    buf = bytearray(value)
    if len(buf) < reach + 1:
        buf += bytes(reach + 1 - len(buf))
    replies, done, changed = _run(buf, ops)
    grown = old is None or len(buf) != len(value)
    if changed or grown:
        w.put_string(db, key, bytes(buf), old)
    if changed or (done and grown):  # Redis 7.0: a write counts if it changed or grew the value
        w.notify(N.STRING, b"setbit", db, key)
    return replies


def read_bitfield_ro(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    ops = parse(argv)
    if isinstance(ops, ErrorReply):
        return ops
    if any(op.kind is not GET for op in ops):
        return RO_ONLY_GET
    value = string_value(view.record(db, argv[1], now_ms))
    if isinstance(value, ErrorReply):
        return value
    return _run(bytearray(value), ops)[0]
