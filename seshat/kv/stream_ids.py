"""Stream entry IDs: `<ms>-<seq>`, two unsigned 64-bit numbers, parsed as Redis 7.0 parses them.

An ID is a `(ms, seq)` tuple; tuples compare as IDs do. On disk an ID is 16 bytes, both halves
big-endian, so RocksDB's byte order is ID order (Redis's radix tree keys the same way).
"""

from __future__ import annotations

import re
from typing import Final

from seshat.kv.numbers import parse_int
from seshat.protocol.replies import ErrorReply

StreamID = tuple[int, int]

U64_MAX: Final = (1 << 64) - 1
MIN_ID: Final[StreamID] = (0, 0)
MAX_ID: Final[StreamID] = (U64_MAX, U64_MAX)

INVALID_ID: Final = ErrorReply("ERR Invalid stream ID specified as stream command argument")
INVALID_START: Final = ErrorReply("ERR invalid start ID for the interval")
INVALID_END: Final = ErrorReply("ERR invalid end ID for the interval")

# strtoull's grammar, which Redis falls back to for numbers beyond int64: optional leading
# space and plus sign, then decimal digits.
_ULL_RE: Final = re.compile(rb"[ \t\n\v\f\r]*\+?[0-9]+")


def encode(sid: StreamID) -> bytes:
    return sid[0].to_bytes(8, "big") + sid[1].to_bytes(8, "big")


def decode(raw: bytes) -> StreamID:
    return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:16], "big")


def text(sid: StreamID) -> bytes:
    return b"%d-%d" % sid


def _u64(arg: bytes) -> int | None:
    """Redis `string2ull`: int64 syntax when it fits and is not negative, else strtoull's."""
    n = parse_int(arg)
    if n is not None:
        return n if n >= 0 else None
    if _ULL_RE.fullmatch(arg) is None:
        return None
    n = int(arg)
    return n if n <= U64_MAX else None


def parse(arg: bytes, missing_seq: int, strict: bool = False) -> StreamID | None:
    """`streamGenericParseIDOrReply`: `-`, `+` (unless `strict`), `<ms>` or `<ms>-<seq>`."""
    if len(arg) > 127:
        return None
    if arg == b"-" or arg == b"+":
        if strict:
            return None
        return MIN_ID if arg == b"-" else MAX_ID
    ms_part, dash, seq_part = arg.partition(b"-")
    ms = _u64(ms_part)
    if ms is None:
        return None
    if not dash:
        return ms, missing_seq
    seq = _u64(seq_part)
    return None if seq is None else (ms, seq)


def parse_for_xadd(arg: bytes) -> tuple[StreamID, bool] | None:
    """XADD's explicit ID: `(id, seq_given)`; `<ms>-*` leaves the sequence to the stream."""
    ms_part, dash, seq_part = arg.partition(b"-")
    if dash and seq_part == b"*":
        ms = _u64(ms_part) if len(arg) <= 127 else None
        return None if ms is None else ((ms, 0), False)
    sid = parse(arg, 0, strict=True)
    return None if sid is None else (sid, True)


def parse_strict(arg: bytes) -> StreamID | ErrorReply:
    sid = parse(arg, 0, strict=True)
    return INVALID_ID if sid is None else sid


def increment(sid: StreamID) -> StreamID | None:
    """The next ID, or None after the last possible one (`streamIncrID`)."""
    ms, seq = sid
    if seq < U64_MAX:
        return ms, seq + 1
    if ms < U64_MAX:
        return ms + 1, 0
    return None


def decrement(sid: StreamID) -> StreamID | None:
    """The previous ID, or None before 0-0 (`streamDecrID`)."""
    ms, seq = sid
    if seq > 0:
        return ms, seq - 1
    if ms > 0:
        return ms - 1, U64_MAX
    return None


def parse_interval(arg: bytes, missing_seq: int, start: bool) -> StreamID | ErrorReply:
    """A range bound of XRANGE, XREVRANGE, XPENDING and XAUTOCLAIM, as an inclusive bound.

    `(` makes it exclusive (`(-` and `(+` are invalid); an exclusive bound with nothing beyond
    it (`(` of the last possible ID as a start, of 0-0 as an end) is Redis's interval error."""
    if len(arg) > 1 and arg[:1] == b"(":
        sid = parse(arg[1:], missing_seq, strict=True)
        if sid is None:
            return INVALID_ID
        moved = increment(sid) if start else decrement(sid)
        if moved is None:
            return INVALID_START if start else INVALID_END
        return moved
    sid = parse(arg, missing_seq)
    return INVALID_ID if sid is None else sid
