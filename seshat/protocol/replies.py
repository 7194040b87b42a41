"""Typed replies: what a command handler returns, before any protocol is chosen.

A handler never writes bytes. It returns a value of the types below and the encoder
(`seshat.protocol.encoder`) writes it as RESP2 or RESP3 for the connection's protocol, so no
handler carries an `if resp3:` branch. The shapes follow what Redis 7 answers: the same handler
result becomes `$-1` in RESP2 and `_` in RESP3, a `Map` becomes a flat array in RESP2 and `%` in
RESP3, a `Double` a bulk string in RESP2 and `,` in RESP3.

Plain Python values are replies too, because the hot path (GET, SET, INCR) should not allocate a
wrapper per command:

    bytes      -> bulk string            int  -> integer
    None       -> null bulk string       list -> array (elements encoded recursively)
    bool       -> RESP3 boolean `#t`/`#f`, RESP2 integer 1/0

Everything else is one of the frozen classes here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class SimpleString:
    """`+OK`: a status line, never containing CR or LF."""

    value: bytes


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """`-ERR ...`: `message` starts with the error code word (ERR, WRONGTYPE, NOAUTH, ...)."""

    message: str


@dataclass(frozen=True, slots=True)
class NullArray:
    """RESP2 `*-1` (EXEC aborted by WATCH, BLPOP timed out); RESP3 `_` like every null."""


@dataclass(frozen=True, slots=True)
class Map:
    """RESP3 `%`; RESP2 a flat array k1 v1 k2 v2 (HGETALL, CONFIG GET, HELLO)."""

    items: list[tuple[Reply, Reply]]


@dataclass(frozen=True, slots=True)
class Pairs:
    """RESP3 an array of 2-element arrays; RESP2 a flat array k1 v1 k2 v2 (HRANDFIELD ...
    WITHVALUES, ZRANGE ... WITHSCORES: pairs that may repeat or keep an order, so not a Map)."""

    items: list[tuple[Reply, Reply]]


@dataclass(frozen=True, slots=True)
class KeyedArrays:
    """RESP3 `%`; RESP2 an array of 2-element arrays `[key, value]` (XREAD, XREADGROUP: Redis
    writes one array per stream in RESP2 and one map entry per stream in RESP3)."""

    items: list[tuple[Reply, Reply]]


@dataclass(frozen=True, slots=True)
class Set:
    """RESP3 `~`; RESP2 an array (SMEMBERS, SINTER)."""

    items: list[Reply]


@dataclass(frozen=True, slots=True)
class Double:
    """RESP3 `,`; RESP2 a bulk string with Redis's formatting of the double (ZSCORE)."""

    value: float


@dataclass(frozen=True, slots=True)
class HumanDouble:
    """RESP3 `,<text>`; RESP2 a bulk string of `text`: a double already formatted by the
    command (GEOPOS's coordinates, Redis's addReplyHumanLongDouble)."""

    text: bytes


@dataclass(frozen=True, slots=True)
class Verbatim:
    """RESP3 `=` with a 3-letter format (`txt`); RESP2 a bulk string (INFO, CLIENT INFO)."""

    text: bytes
    format: bytes = b"txt"


@dataclass(frozen=True, slots=True)
class BigNumber:
    """RESP3 `(`; RESP2 a bulk string."""

    value: int


@dataclass(frozen=True, slots=True)
class Push:
    """RESP3 `>` out-of-band data (pub/sub); RESP2 an array."""

    items: list[Reply]


@dataclass(frozen=True, slots=True)
class Replies:
    """Several replies to one command, one after the other (SUBSCRIBE a b confirms each
    channel on its own), as Redis writes them even inside EXEC's array."""

    items: list[Reply]


@dataclass(frozen=True, slots=True)
class Raw:
    """Bytes already encoded for this connection's protocol (a relayed reply from the leader).

    The encoder copies them as they are; only code that knows the connection's protocol may
    build one.
    """

    data: bytes


Reply = Union[
    bytes,
    int,
    bool,
    None,
    list["Reply"],
    SimpleString,
    ErrorReply,
    NullArray,
    Map,
    Pairs,
    KeyedArrays,
    Set,
    Double,
    HumanDouble,
    Verbatim,
    BigNumber,
    Push,
    Replies,
    Raw,
]

OK = SimpleString(b"OK")
PONG = SimpleString(b"PONG")
QUEUED = SimpleString(b"QUEUED")
NULL_ARRAY = NullArray()
