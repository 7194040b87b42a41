"""LMPOP, BLMPOP, ZMPOP and BZMPOP: the argument layout they share, parsed as Redis 7.0 does.

`<numkeys> <key>... <side> [COUNT <count>]`, after the command name (and after BLMPOP's and
BZMPOP's timeout). Redis's order of checks: numkeys, then whether the side is where numkeys
says, then the side word, then the options; key types are checked later, by the pop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import ErrorReply

NUMKEYS_NOT_POSITIVE: Final = ErrorReply("ERR numkeys should be greater than 0")
COUNT_NOT_POSITIVE: Final = ErrorReply("ERR count should be greater than 0")

BLOCKING: Final = frozenset({b"blmpop", b"bzmpop"})


@dataclass(frozen=True, slots=True)
class MultiPop:
    keys: list[bytes]
    side: bytes
    """The side word, lowercased: b"left"/b"right" or b"min"/b"max"."""
    count: int


def numkeys_index(argv: list[bytes]) -> int:
    """Where numkeys is: after the timeout for the blocking forms."""
    return 2 if argv[0].lower() in BLOCKING else 1


def keys(argv: list[bytes]) -> list[bytes]:
    """The keys of an already checked (proposed) command."""
    at = numkeys_index(argv)
    return argv[at + 1 : at + 1 + int(argv[at])]


def parse(argv: list[bytes], sides: tuple[bytes, bytes]) -> MultiPop | ErrorReply:
    at = numkeys_index(argv)
    numkeys = parse_int(argv[at])
    if numkeys is None or numkeys < 1:
        return NUMKEYS_NOT_POSITIVE
    side_at = at + numkeys + 1
    if side_at >= len(argv):
        return E.SYNTAX
    side = argv[side_at].lower()
    if side not in sides:
        return E.SYNTAX
    count: int | None = None
    j = side_at + 1
    while j < len(argv):
        if count is None and argv[j].lower() == b"count" and j + 1 < len(argv):
            count = parse_int(argv[j + 1])
            if count is None or count < 1:
                return COUNT_NOT_POSITIVE
            j += 2
        else:
            return E.SYNTAX
    return MultiPop(argv[at + 1 : side_at], side, 1 if count is None else count)
