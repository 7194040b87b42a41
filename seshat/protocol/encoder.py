"""Reply encoding: typed replies (`replies.py`) to RESP2 or RESP3 bytes, as Redis 7.0 writes them.

A handler returns a value and never a protocol; the connection knows its protocol (HELLO) and
calls `encode_into(out, reply, protocol)` for each reply of a read, then writes `out` once.
The mapping follows `src/networking.c` of Redis 7.0:

    reply            RESP2                          RESP3
    bytes            $<len> payload                 same
    int              :<n>                           same
    None             $-1                            _
    NullArray        *-1                            _
    bool             :1 / :0                        #t / #f
    list             *<n> elements                  same
    Map              *<2n> k1 v1 k2 v2 ...          %<n> k1 v1 ...
    Pairs            *<2n> k1 v1 k2 v2 ...          *<n> *2 k1 v1 ...
    KeyedArrays      *<n> *2 k1 v1 ...              %<n> k1 v1 ...
    Set              *<n>                           ~<n>
    Push             *<n>                           ><n>
    Double           bulk of %.17g (inf, -inf)      ,<%.17g>
    HumanDouble      bulk of the text               ,<text>
    Verbatim         bulk of the text               =<len> txt:<text>
    BigNumber        bulk of the digits             (<digits>
    SimpleString     +<value>                       same
    ErrorReply       -<message>, CR/LF -> spaces    same
    Raw              copied as is                   same
    Replies          each item in turn              same

Error messages are `str`; they are encoded UTF-8 with `surrogateescape`, so a byte decoded that
way (a protocol error echoing a client byte) goes back on the wire unchanged.
Frequent replies (OK, PONG, small integers and bulk headers, nulls) are precomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from seshat.protocol.numbers import format_double
from seshat.protocol.replies import (
    NULL_ARRAY,
    OK,
    PONG,
    QUEUED,
    BigNumber,
    Double,
    ErrorReply,
    HumanDouble,
    KeyedArrays,
    Map,
    NullArray,
    Pairs,
    Push,
    Raw,
    Replies,
    Reply,
    Set,
    SimpleString,
    Verbatim,
)

RESP2 = 2
RESP3 = 3

_CRLF = b"\r\n"
_PRECOMPUTED_MAX = 1024  # headers and integers 0..1023 cover counters, lengths and small values
_BULK_HEADERS = tuple(b"$%d\r\n" % n for n in range(_PRECOMPUTED_MAX))
_BULK_LENGTHS = tuple(b"$%d" % n for n in range(_PRECOMPUTED_MAX))  # headers without CRLF
_ARRAY_HEADERS = tuple(b"*%d\r\n" % n for n in range(_PRECOMPUTED_MAX))
_INTEGERS = tuple(b":%d\r\n" % n for n in range(_PRECOMPUTED_MAX))
_NULL_BULK = b"$-1\r\n"
_NULL_ARRAY2 = b"*-1\r\n"
_NULL3 = b"_\r\n"
_SIMPLE_CONSTANTS = {id(s): b"+%b\r\n" % s.value for s in (OK, PONG, QUEUED)}
_CONSTANTS_KEEPALIVE = (OK, PONG, QUEUED, NULL_ARRAY)  # the ids above stay valid

Writer = Callable[[bytearray, Reply], None]


def encode(reply: Reply, protocol: int) -> bytes:
    """The bytes of one reply for a connection speaking RESP`protocol` (2 or 3)."""
    out = bytearray()
    encode_into(out, reply, protocol)
    return bytes(out)


def encode_into(out: bytearray, reply: Reply, protocol: int) -> None:
    """Append one reply to `out`, so all replies of a read leave in one transport.write."""
    if protocol == RESP3:
        _write3(out, reply)
    else:
        _write2(out, reply)


def encode_error(message: str) -> bytes:
    """`-<message>\\r\\n` with CR and LF made spaces, as Redis's addReplyErrorFormat does."""
    text = message.replace("\r", " ").replace("\n", " ")
    return b"-" + text.encode("utf-8", "surrogateescape") + _CRLF


# ---- shared leaves --------------------------------------------------------------------------


def _bulk(out: bytearray, payload: bytes) -> None:
    size = len(payload)
    out += _BULK_HEADERS[size] if size < _PRECOMPUTED_MAX else b"$%d\r\n" % size
    out += payload
    out += _CRLF


def _elements(out: bytearray, items: Iterable[Reply], write: Writer) -> None:
    """Write `items` in turn with `write`, except that runs of bulk strings (most aggregate
    replies are nothing else: LRANGE, SMEMBERS, KEYS, MGET...) are joined in one step: `$<len>`
    and payload alternate in a list that one `CRLF.join` closes, about twice as fast as three
    `+=` per element (`bench/bench_protocol.py`, "array of 100 bulks")."""
    parts: list[bytes] = []
    add = parts.extend
    for item in items:
        if item.__class__ is bytes:
            size = len(item)
            add((_BULK_LENGTHS[size] if size < _PRECOMPUTED_MAX else b"$%d" % size, item))
            continue
        if parts:
            _flush_bulks(out, parts)
        write(out, item)
    if parts:
        _flush_bulks(out, parts)


def _pair_elements(out: bytearray, pairs: Iterable[tuple[Reply, Reply]], write: Writer) -> None:
    """`_elements` over key/value pairs, flattened (maps: HGETALL, CONFIG GET...)."""
    parts: list[bytes] = []
    add = parts.extend
    for key, value in pairs:
        if key.__class__ is bytes and value.__class__ is bytes:
            k, v = len(key), len(value)
            add((
                _BULK_LENGTHS[k] if k < _PRECOMPUTED_MAX else b"$%d" % k, key,
                _BULK_LENGTHS[v] if v < _PRECOMPUTED_MAX else b"$%d" % v, value,
            ))  # fmt: skip
            continue
        if parts:
            _flush_bulks(out, parts)
        write(out, key)
        write(out, value)
    if parts:
        _flush_bulks(out, parts)


def _flush_bulks(out: bytearray, parts: list[bytes]) -> None:
    """Headers and payloads alternate in `parts`; each is followed by CRLF. Empties `parts`."""
    parts.append(b"")
    out += _CRLF.join(parts)
    parts.clear()


def _integer(out: bytearray, value: int) -> None:
    out += _INTEGERS[value] if 0 <= value < _PRECOMPUTED_MAX else b":%d\r\n" % value


def _aggregate_header(out: bytearray, marker: bytes, count: int) -> None:
    if marker == b"*" and count < _PRECOMPUTED_MAX:
        out += _ARRAY_HEADERS[count]
    else:
        out += b"%b%d\r\n" % (marker, count)


def _simple(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, SimpleString), reply
    constant = _SIMPLE_CONSTANTS.get(id(reply))
    out += constant if constant is not None else b"+%b\r\n" % reply.value


error_observer: Callable[[str], None] | None = None
"""Told the message of every error reply encoded (INFO `errorstats`: the server installs it,
`seshat/info_sections.py`). Only the error writer calls it, so other replies pay nothing."""


def _error(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, ErrorReply), reply
    out += encode_error(reply.message)
    if error_observer is not None:
        error_observer(reply.message)


def _raw(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Raw), reply
    out += reply.data


def _int(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, int), reply
    _integer(out, reply)


def _bytes(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, bytes), reply
    _bulk(out, reply)


# ---- RESP2 ----------------------------------------------------------------------------------


def _write2(out: bytearray, reply: Reply) -> None:
    """RESP2: bulk strings are the hot case, so they skip the table."""
    if reply.__class__ is bytes:
        _bulk(out, reply)  # type: ignore[arg-type]
        return
    writer = _WRITERS2.get(reply.__class__)
    if writer is None:
        raise TypeError(f"not a reply: {reply!r}")
    writer(out, reply)


def _list2(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, list), reply
    _aggregate_header(out, b"*", len(reply))
    _elements(out, reply, _write2)


def _items2(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, (Set, Push)), reply
    _list2(out, reply.items)


def _map2(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Map), reply
    _aggregate_header(out, b"*", 2 * len(reply.items))
    _pair_elements(out, reply.items, _write2)


def _pairs2(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Pairs), reply
    _aggregate_header(out, b"*", 2 * len(reply.items))
    for key, value in reply.items:
        if key.__class__ is bytes and value.__class__ is Double:  # member, score: WITHSCORES
            text = format_double(value.value)
            out += b"$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(key), key, len(text), text)
        else:
            _write2(out, key)
            _write2(out, value)


def _keyed2(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, KeyedArrays), reply
    _aggregate_header(out, b"*", len(reply.items))
    for key, value in reply.items:
        _aggregate_header(out, b"*", 2)
        _write2(out, key)
        _write2(out, value)


def _null2(out: bytearray, reply: Reply) -> None:
    out += _NULL_BULK


def _null_array2(out: bytearray, reply: Reply) -> None:
    out += _NULL_ARRAY2


def _bool2(out: bytearray, reply: Reply) -> None:
    out += _INTEGERS[1] if reply else _INTEGERS[0]


def _double2(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Double), reply
    _bulk(out, format_double(reply.value))


def _text2(out: bytearray, reply: Reply) -> None:
    """Verbatim and HumanDouble in RESP2: a bulk string of their text."""
    assert isinstance(reply, (HumanDouble, Verbatim)), reply
    _bulk(out, reply.text)


def _big_number2(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, BigNumber), reply
    _bulk(out, b"%d" % reply.value)


def _replies2(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Replies), reply
    for item in reply.items:
        _write2(out, item)


_WRITERS2: dict[type, Writer] = {
    bytes: _bytes,
    int: _int,
    bool: _bool2,
    type(None): _null2,
    list: _list2,
    SimpleString: _simple,
    ErrorReply: _error,
    NullArray: _null_array2,
    Map: _map2,
    Pairs: _pairs2,
    KeyedArrays: _keyed2,
    Set: _items2,
    Push: _items2,
    Double: _double2,
    HumanDouble: _text2,
    Verbatim: _text2,
    BigNumber: _big_number2,
    Raw: _raw,
    Replies: _replies2,
}


# ---- RESP3 ----------------------------------------------------------------------------------


def _write3(out: bytearray, reply: Reply) -> None:
    """RESP3: same shape as `_write2`, with RESP3's own writers for the typed replies."""
    if reply.__class__ is bytes:
        _bulk(out, reply)  # type: ignore[arg-type]
        return
    writer = _WRITERS3.get(reply.__class__)
    if writer is None:
        raise TypeError(f"not a reply: {reply!r}")
    writer(out, reply)


def _items3(out: bytearray, marker: bytes, items: list[Reply]) -> None:
    _aggregate_header(out, marker, len(items))
    _elements(out, items, _write3)


def _list3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, list), reply
    _items3(out, b"*", reply)


def _set3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Set), reply
    _items3(out, b"~", reply.items)


def _push3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Push), reply
    _items3(out, b">", reply.items)


def _map3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Map), reply
    _aggregate_header(out, b"%", len(reply.items))
    _pair_elements(out, reply.items, _write3)


def _pairs3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Pairs), reply
    _aggregate_header(out, b"*", len(reply.items))
    for key, value in reply.items:
        if key.__class__ is bytes and value.__class__ is Double:  # member, score: WITHSCORES
            text = format_double(value.value)
            out += b"*2\r\n$%d\r\n%b\r\n,%b\r\n" % (len(key), key, text)
        else:
            _aggregate_header(out, b"*", 2)
            _write3(out, key)
            _write3(out, value)


def _keyed3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, KeyedArrays), reply
    _aggregate_header(out, b"%", len(reply.items))
    _pair_elements(out, reply.items, _write3)


def _null3(out: bytearray, reply: Reply) -> None:
    out += _NULL3


def _bool3(out: bytearray, reply: Reply) -> None:
    out += b"#t\r\n" if reply else b"#f\r\n"


def _double3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Double), reply
    out += b",%b\r\n" % format_double(reply.value)


def _human_double3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, HumanDouble), reply
    out += b",%b\r\n" % reply.text


def _verbatim3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Verbatim), reply
    assert len(reply.format) == 3, reply.format
    out += b"=%d\r\n%b:%b\r\n" % (len(reply.text) + 4, reply.format, reply.text)


def _big_number3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, BigNumber), reply
    out += b"(%d\r\n" % reply.value


def _replies3(out: bytearray, reply: Reply) -> None:
    assert isinstance(reply, Replies), reply
    for item in reply.items:
        _write3(out, item)


_WRITERS3: dict[type, Writer] = {
    bytes: _bytes,
    int: _int,
    bool: _bool3,
    type(None): _null3,
    list: _list3,
    SimpleString: _simple,
    ErrorReply: _error,
    NullArray: _null3,
    Map: _map3,
    Pairs: _pairs3,
    KeyedArrays: _keyed3,
    Set: _set3,
    Push: _push3,
    Double: _double3,
    HumanDouble: _human_double3,
    Verbatim: _verbatim3,
    BigNumber: _big_number3,
    Raw: _raw,
    Replies: _replies3,
}
