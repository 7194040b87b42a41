"""Redis glob patterns (KEYS, SCAN MATCH): the same answers as `stringmatchlen` in `util.c`.

`*` any run, `?` any byte, `[abc]` `[^a]` `[a-z]` (reversed ranges swapped) classes, `\\x` a
literal x. Quirks kept on purpose, because clients see them: an unclosed `[` class ends at the
pattern's end, a trailing `\\` matches a backslash, and once a `*` fails to place the rest of
the pattern anywhere the whole match fails early (Redis' `skipLongerMatches`, which bounds the
work on patterns like `a*a*a*a*b`). Case-insensitive matching is not needed by any command yet.
"""

from __future__ import annotations

_STAR = ord("*")
_QUESTION = ord("?")
_OPEN = ord("[")
_CLOSE = ord("]")
_BACKSLASH = ord("\\")
_CARET = ord("^")
_DASH = ord("-")


def match(pattern: bytes, string: bytes) -> bool:
    """Whether `string` matches the Redis glob `pattern`."""
    if pattern == b"*":
        return True
    return _match(pattern, 0, string, 0, [False])


def _at(b: bytes, i: int) -> int:
    """`b[i]`, or 0 past the end (C strings are NUL-terminated; the matcher peeks there)."""
    return b[i] if i < len(b) else 0


def _match(p: bytes, pi: int, s: bytes, si: int, skip_longer: list[bool]) -> bool:
    plen = len(p)
    slen = len(s)
    while pi < plen and si < slen:
        c = p[pi]
        if c == _STAR:
            while pi + 1 < plen and p[pi + 1] == _STAR:
                pi += 1
            if pi + 1 == plen:
                return True
            while si < slen:
                if _match(p, pi + 1, s, si, skip_longer):
                    return True
                if skip_longer[0]:
                    return False
                si += 1
            skip_longer[0] = True
            return False
        if c == _QUESTION:
            si += 1
        elif c == _OPEN:
            pi, matched = _match_class(p, pi + 1, s[si])
            if not matched:
                return False
            si += 1
        else:
            if c == _BACKSLASH and plen - pi >= 2:
                pi += 1
            if p[pi] != s[si]:
                return False
            si += 1
        pi += 1
        if si == slen:
            while pi < plen and p[pi] == _STAR:
                pi += 1
            break
    return pi == plen and si == slen


def _match_class(p: bytes, pi: int, ch: int) -> tuple[int, bool]:
    """Match byte `ch` against the class starting after `[`; returns (index of `]`, matched)."""
    plen = len(p)
    negate = _at(p, pi) == _CARET
    if negate:
        pi += 1
    matched = False
    while True:
        c = _at(p, pi)
        if c == _BACKSLASH and plen - pi >= 2:
            pi += 1
            if p[pi] == ch:
                matched = True
        elif c == _CLOSE and pi < plen:
            break
        elif pi >= plen:
            pi -= 1
            break
        elif plen - pi >= 3 and p[pi + 1] == _DASH:
            lo, hi = p[pi], p[pi + 2]
            if lo > hi:
                lo, hi = hi, lo
            pi += 2
            if lo <= ch <= hi:
                matched = True
        elif c == ch:
            matched = True
        pi += 1
    return pi, matched != negate
