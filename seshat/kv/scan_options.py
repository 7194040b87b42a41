"""The options of SCAN, HSCAN, SSCAN and ZSCAN: `[MATCH pattern] [COUNT n] [TYPE t]`.

One parser for all four, so they reject the same input with the same Redis errors: a missing
value or unknown option is `ERR syntax error`, a non-integer COUNT is `ERR value is not an
integer or out of range`, and COUNT below 1 is a syntax error. TYPE exists only for SCAN.
"""

from __future__ import annotations

from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import ErrorReply

COUNT_DEFAULT = 10  # Redis's default COUNT


def parse_scan_options(
    argv: list[bytes], first: int, allow_type: bool = False
) -> tuple[int, bytes | None, bytes | None] | ErrorReply:
    """`(count, pattern, type_name)` from `argv[first:]`, or the error Redis answers."""
    count = COUNT_DEFAULT
    pattern: bytes | None = None
    type_name: bytes | None = None
    j = first
    while j < len(argv):
        if j + 1 >= len(argv):
            return E.SYNTAX
        opt = argv[j].lower()
        arg = argv[j + 1]
        if opt == b"count":
            n = parse_int(arg)
            if n is None:
                return E.NOT_INTEGER
            if n < 1:
                return E.SYNTAX
            count = n
        elif opt == b"match":
            pattern = arg
        elif opt == b"type" and allow_type:
            type_name = arg.lower()
        else:
            return E.SYNTAX
        j += 2
    return count, pattern, type_name
