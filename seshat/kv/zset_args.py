"""Argument parsing for sorted-set commands, in the order and with the errors of Redis 7.0.

Pure functions over argv: no keyspace access. Each returns a small parsed value or the
`ErrorReply` Redis sends. Where Redis looks a key up *before* finishing its parsing (the
WEIGHTS/AGGREGATE options of ZUNIONSTORE & co. come after the WRONGTYPE check of the inputs),
the caller runs the parts in Redis's order; the split here makes that possible.

Sources: `zaddGenericCommand`, `zrangeGenericCommand`, `zslParseRange`, `zslParseLexRangeItem`
and `zunionInterDiffGenericCommand` in Redis 7.0 `src/t_zset.c`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.kv.score_codec import parse_range_bound, parse_score
from seshat.protocol.replies import ErrorReply

MIN_FLOAT = ErrorReply("ERR min or max is not a float")
MIN_LEX = ErrorReply("ERR min or max not valid string range item")
LIMIT_NEEDS_BY = ErrorReply(
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
)
WITHSCORES_BYLEX = ErrorReply("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
ZADD_XX_NX = ErrorReply("ERR XX and NX options at the same time are not compatible")
ZADD_GT_LT_NX = ErrorReply("ERR GT, LT, and/or NX options at the same time are not compatible")
ZADD_INCR_PAIRS = ErrorReply("ERR INCR option supports a single increment-element pair")
SCORE_NAN = ErrorReply("ERR resulting score is not a number (NaN)")
WEIGHT_NOT_FLOAT = ErrorReply("ERR weight value is not a float")


def numkeys_needed(command: str) -> ErrorReply:
    """`command` is the lowercase name, as Redis prints `c->cmd->fullname`."""
    return ErrorReply(f"ERR at least 1 input key is needed for '{command}' command")


# ---------------------------------------------------------------------------------------------
# ZADD / ZINCRBY


@dataclass(frozen=True, slots=True)
class ZAddArgs:
    nx: bool
    xx: bool
    gt: bool
    lt: bool
    ch: bool
    incr: bool
    pairs: list[tuple[float, bytes]]


_ZADD_FLAGS: Final = (b"nx", b"xx", b"ch", b"incr", b"gt", b"lt")


def parse_zadd(argv: list[bytes], start: int = 2) -> ZAddArgs | ErrorReply:
    """ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]."""
    flags: set[bytes] = set()
    i = start
    while i < len(argv):
        opt = argv[i].lower()
        if opt not in _ZADD_FLAGS:
            break
        flags.add(opt)
        i += 1
    rest = len(argv) - i
    if rest % 2 or not rest:
        return E.SYNTAX
    nx, xx, gt, lt = b"nx" in flags, b"xx" in flags, b"gt" in flags, b"lt" in flags
    incr = b"incr" in flags
    if nx and xx:
        return ZADD_XX_NX
    if (gt and nx) or (lt and nx) or (gt and lt):
        return ZADD_GT_LT_NX
    if incr and rest > 2:
        return ZADD_INCR_PAIRS
    pairs: list[tuple[float, bytes]] = []
    for j in range(i, len(argv), 2):
        score = parse_score(argv[j])
        if score is None:
            return E.NOT_FLOAT
        pairs.append((score, argv[j + 1]))
    return ZAddArgs(nx, xx, gt, lt, b"ch" in flags, incr, pairs)


# ---------------------------------------------------------------------------------------------
# Ranges

LEX_MIN: Final = -1  # `-`: below every string
LEX_MAX: Final = 1  # `+`: above every string


@dataclass(frozen=True, slots=True)
class LexBound:
    """One end of a lex range: `inf` is LEX_MIN/LEX_MAX for `-`/`+`, else 0 with `value`."""

    inf: int
    value: bytes
    exclusive: bool


def parse_lex_bound(arg: bytes) -> LexBound | None:
    """Redis `zslParseLexRangeItem`."""
    first = arg[:1]
    if first == b"+":
        return LexBound(LEX_MAX, b"", False) if len(arg) == 1 else None
    if first == b"-":
        return LexBound(LEX_MIN, b"", False) if len(arg) == 1 else None
    if first == b"(":
        return LexBound(0, arg[1:], True)
    if first == b"[":
        return LexBound(0, arg[1:], False)
    return None


def lex_gte_min(member: bytes, lo: LexBound) -> bool:
    if lo.inf:
        return lo.inf == LEX_MIN
    return member > lo.value if lo.exclusive else member >= lo.value


def lex_lte_max(member: bytes, hi: LexBound) -> bool:
    if hi.inf:
        return hi.inf == LEX_MAX
    return member < hi.value if hi.exclusive else member <= hi.value


def lex_range_empty(lo: LexBound, hi: LexBound) -> bool:
    """Redis `zslIsInLexRange`'s first test: a range no string can be in."""
    if lo.inf == LEX_MAX or hi.inf == LEX_MIN:
        return True
    if lo.inf or hi.inf:
        return False
    if lo.value > hi.value:
        return True
    return lo.value == hi.value and (lo.exclusive or hi.exclusive)


@dataclass(frozen=True, slots=True)
class ScoreRange:
    min: float
    max: float
    minex: bool
    maxex: bool

    def gte_min(self, score: float) -> bool:
        return score > self.min if self.minex else score >= self.min

    def lte_max(self, score: float) -> bool:
        return score < self.max if self.maxex else score <= self.max

    def empty(self) -> bool:
        """Redis `zslIsInRange`'s first test."""
        return self.min > self.max or (self.min == self.max and (self.minex or self.maxex))


def parse_score_range(lo: bytes, hi: bytes) -> ScoreRange | ErrorReply:
    a = parse_range_bound(lo)
    b = parse_range_bound(hi)
    if a is None or b is None:
        return MIN_FLOAT
    return ScoreRange(a[0], b[0], a[1], b[1])


def parse_lex_range(lo: bytes, hi: bytes) -> tuple[LexBound, LexBound] | ErrorReply:
    a = parse_lex_bound(lo)
    b = parse_lex_bound(hi)
    if a is None or b is None:
        return MIN_LEX
    return a, b


# ---------------------------------------------------------------------------------------------
# ZRANGE and its older spellings

BY_RANK: Final = "rank"
BY_SCORE: Final = "score"
BY_LEX: Final = "lex"


@dataclass(frozen=True, slots=True)
class RangeQuery:
    """A parsed Z[REV]RANGE[BYSCORE|BYLEX] / ZRANGESTORE.

    `rev` walks from the high end. For BY_RANK `start`/`stop` are the raw indexes; for BY_SCORE
    and BY_LEX `score`/`lex` hold the range as (min, max) whatever the direction (REV forms take
    max first on the command line; this is already swapped back). `offset`/`limit` are
    Redis's `opt_offset`/`opt_limit` (limit -1 = none).
    """

    by: str
    rev: bool
    withscores: bool
    start: int = 0
    stop: int = 0
    score: ScoreRange | None = None
    lex: tuple[LexBound, LexBound] | None = None
    offset: int = 0
    limit: int = -1


def parse_range(
    argv: list[bytes], key_at: int, store: bool, by: str | None, rev: bool | None
) -> RangeQuery | ErrorReply:
    """Redis `zrangeGenericCommand` steps 1-2. `by`/`rev` None mean "from the options" (ZRANGE,
    ZRANGESTORE); the legacy commands fix them (ZRANGEBYSCORE: BY_SCORE, False)."""
    withscores = False
    offset, limit = 0, -1
    j = key_at + 3
    while j < len(argv):
        opt = argv[j].lower()
        left = len(argv) - j - 1
        if not store and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and left >= 2:
            o = parse_int(argv[j + 1])
            n = parse_int(argv[j + 2]) if o is not None else None
            if o is None or n is None:
                return E.NOT_INTEGER
            offset, limit = o, n
            j += 2
        elif rev is None and opt == b"rev":
            rev = True
        elif by is None and opt == b"bylex":
            by = BY_LEX
        elif by is None and opt == b"byscore":
            by = BY_SCORE
        else:
            return E.SYNTAX
        j += 1
    rev = bool(rev)
    by = by or BY_RANK
    if limit != -1 and by == BY_RANK:
        return LIMIT_NEEDS_BY
    if withscores and by == BY_LEX:
        return WITHSCORES_BYLEX
    lo, hi = argv[key_at + 1], argv[key_at + 2]
    if rev and by != BY_RANK:
        lo, hi = hi, lo
    if by == BY_RANK:
        start, stop = parse_int(lo), parse_int(hi)
        if start is None or stop is None:
            return E.NOT_INTEGER
        return RangeQuery(BY_RANK, rev, withscores, start=start, stop=stop)
    if by == BY_SCORE:
        score = parse_score_range(lo, hi)
        if isinstance(score, ErrorReply):
            return score
        return RangeQuery(BY_SCORE, rev, withscores, score=score, offset=offset, limit=limit)
    lex = parse_lex_range(lo, hi)
    if isinstance(lex, ErrorReply):
        return lex
    return RangeQuery(BY_LEX, rev, False, lex=lex, offset=offset, limit=limit)


def rank_window(start: int, stop: int, size: int) -> tuple[int, int] | None:
    """Redis's rank clamping (ZRANGE, ZREMRANGEBYRANK): inclusive `(start, stop)` or None."""
    if start < 0:
        start += size
    if stop < 0:
        stop += size
    start = max(start, 0)
    if start > stop or start >= size:
        return None
    return start, min(stop, size - 1)


# ---------------------------------------------------------------------------------------------
# ZUNION / ZINTER / ZDIFF [STORE]

AGG_SUM: Final = "sum"
AGG_MIN: Final = "min"
AGG_MAX: Final = "max"


def parse_numkeys(argv: list[bytes], at: int, command: str) -> int | ErrorReply:
    """`numkeys` and the check that that many keys follow (before any key lookup)."""
    n = parse_int(argv[at])
    if n is None:
        return E.NOT_INTEGER
    if n < 1:
        return numkeys_needed(command)
    if n > len(argv) - (at + 1):
        return E.SYNTAX
    return n


@dataclass(frozen=True, slots=True)
class SetOpOptions:
    weights: list[float]
    aggregate: str
    withscores: bool


def parse_setop_options(
    argv: list[bytes], at: int, numkeys: int, diff: bool, store: bool
) -> SetOpOptions | ErrorReply:
    """The options after the input keys (Redis parses them after the WRONGTYPE checks)."""
    weights = [1.0] * numkeys
    aggregate = AGG_SUM
    withscores = False
    j = at
    while j < len(argv):
        remaining = len(argv) - j
        opt = argv[j].lower()
        if not diff and remaining >= numkeys + 1 and opt == b"weights":
            for i in range(numkeys):
                w = parse_score(argv[j + 1 + i])
                if w is None:
                    return WEIGHT_NOT_FLOAT
                weights[i] = w
            j += 1 + numkeys
        elif not diff and remaining >= 2 and opt == b"aggregate":
            agg = argv[j + 1].lower()
            if agg not in (b"sum", b"min", b"max"):
                return E.SYNTAX
            aggregate = agg.decode()
            j += 2
        elif not store and opt == b"withscores":
            withscores = True
            j += 1
        else:
            return E.SYNTAX
    return SetOpOptions(weights, aggregate, withscores)


def aggregate(agg: str, target: float, value: float) -> float:
    """Redis `zunionInterAggregate` (a NaN sum becomes 0; min/max keep the target on NaN)."""
    if agg == AGG_SUM:
        total = target + value
        return 0.0 if total != total else total  # noqa: PLR0124
    if agg == AGG_MIN:
        return value if value < target else target  # noqa: FURB136  (NaN keeps the target)
    return value if value > target else target  # noqa: FURB136
