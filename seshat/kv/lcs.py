"""LCS: the longest common subsequence of two strings, its length, or where it matches.

Redis 7.0 fills the whole dynamic-programming table and walks back from its corner: on a
match it takes the byte, otherwise it steps up when the cell above holds more, else left.
Which subsequence comes out, and which ranges IDX reports, depend on that walk, so Seshat walks
the same way. The table is not kept as cells, though: a Python loop over n x m cells would hold
the node's event loop for seconds on strings of a few thousand bytes (heartbeats included).
Each row is one integer whose zero bits mark where the row's LCS grows (Hyyrö's bit-parallel
recurrence), so a row costs a few big-integer operations, and any cell is a popcount:
LCS(i, j) = j - popcount(row_i & (2^j - 1)).
"""

from __future__ import annotations

from typing import Final

from seshat.kv import errors as E
from seshat.kv.bitmaps import string_value
from seshat.kv.keyspace import KeyspaceView
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import ErrorReply, Map, Reply

NOT_STRINGS: Final = ErrorReply("ERR The specified keys must contain string values")
LEN_AND_IDX: Final = ErrorReply("ERR If you want both the length and indexes, please just use IDX.")


def _rows(a: bytes, b: bytes) -> list[int]:
    """Row i (0..len(a)) of the table, as bits over b's positions: a zero bit marks a growth."""
    m = len(b)
    ones = (1 << m) - 1
    masks: dict[int, int] = {}
    for j, byte in enumerate(b):
        masks[byte] = masks.get(byte, 0) | (1 << j)
    v = ones
    rows = [v]
    for byte in a:
        u = v & masks.get(byte, 0)
        v = ((v + u) | (v - u)) & ones
        rows.append(v)
    return rows


def _cell(rows: list[int], i: int, j: int) -> int:
    """LCS of a[:i] and b[:j]."""
    return j - (rows[i] & ((1 << j) - 1)).bit_count()


def read_lcs(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    a, b = (string_value(view.record(db, key, now_ms)) for key in argv[1:3])
    if isinstance(a, ErrorReply) or isinstance(b, ErrorReply):
        return NOT_STRINGS
    get_len = get_idx = with_match_len = False
    min_match_len = 0
    j = 3
    while j < len(argv):
        option = argv[j].lower()
        if option == b"idx":
            get_idx = True
        elif option == b"len":
            get_len = True
        elif option == b"withmatchlen":
            with_match_len = True
        elif option == b"minmatchlen" and j + 1 < len(argv):
            parsed = parse_int(argv[j + 1])
            if parsed is None:
                return E.NOT_INTEGER
            min_match_len = max(parsed, 0)
            j += 1
        else:
            return E.SYNTAX
        j += 1
    if get_len and get_idx:
        return LEN_AND_IDX
    rows = _rows(a, b)
    total = _cell(rows, len(a), len(b))
    if get_len and not get_idx:
        return total
    result = bytearray(total)
    matches: list[Reply] = []
    left = total
    i, j = len(a), len(b)
    a_start = a_end = b_start = b_end = -1  # -1: no range open
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[left - 1] = a[i - 1]
            if a_start < 0:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:  # contiguous: grow the range backwards
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            left -= 1
            i -= 1
            j -= 1
        else:
            if _cell(rows, i - 1, j) > _cell(rows, i, j - 1):
                i -= 1
            else:
                j -= 1
            if a_start >= 0:
                emit = True
        if emit:
            length = a_end - a_start + 1
            if get_idx and (min_match_len == 0 or length >= min_match_len):
                match: list[Reply] = [[a_start, a_end], [b_start, b_end]]
                if with_match_len:
                    match.append(length)
                matches.append(match)
            a_start = -1
    if get_idx:
        return Map([(b"matches", matches), (b"len", total)])
    return bytes(result)
