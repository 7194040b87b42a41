"""Goal: every typed reply encodes to the bytes Redis 7.0 writes, in RESP2 and in RESP3.

Tables cover each reply type and the nesting rules; float text is checked in
test_resp_numbers.py and against a real server in test_resp_against_redis.py.
"""

from __future__ import annotations

import hiredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seshat.protocol import RESP2, RESP3, encode, encode_into
from seshat.protocol.replies import (
    NULL_ARRAY,
    OK,
    PONG,
    QUEUED,
    BigNumber,
    Double,
    ErrorReply,
    Map,
    Push,
    Raw,
    Reply,
    Set,
    SimpleString,
    Verbatim,
)

INF = float("inf")
CASES: list[tuple[Reply, bytes, bytes]] = [
    # reply, RESP2, RESP3
    (b"bar", b"$3\r\nbar\r\n", b"$3\r\nbar\r\n"),
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (b"x" * 2000, b"$2000\r\n" + b"x" * 2000 + b"\r\n", b"$2000\r\n" + b"x" * 2000 + b"\r\n"),
    (0, b":0\r\n", b":0\r\n"),
    (-1, b":-1\r\n", b":-1\r\n"),
    (2**63 - 1, b":9223372036854775807\r\n", b":9223372036854775807\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (False, b":0\r\n", b"#f\r\n"),
    ([], b"*0\r\n", b"*0\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
    ([[b"a"], []], b"*2\r\n*1\r\n$1\r\na\r\n*0\r\n", b"*2\r\n*1\r\n$1\r\na\r\n*0\r\n"),
    (Map([(b"k", b"v"), (b"n", 1)]),
     b"*4\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:1\r\n",
     b"%2\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:1\r\n"),
    (Map([]), b"*0\r\n", b"%0\r\n"),
    (Set([b"a", b"b"]), b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", b"~2\r\n$1\r\na\r\n$1\r\nb\r\n"),
    (Push([b"message", b"ch", b"hi"]),
     b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
     b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
    (Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (Double(0.1), b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
    (Double(INF), b"$3\r\ninf\r\n", b",inf\r\n"),
    (Double(-INF), b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (Verbatim(b"# Server\r\n"), b"$10\r\n# Server\r\n\r\n", b"=14\r\ntxt:# Server\r\n\r\n"),
    (Verbatim(b"x", b"mkd"), b"$1\r\nx\r\n", b"=5\r\nmkd:x\r\n"),
    (BigNumber(-(10**30)), b"$32\r\n-1000000000000000000000000000000\r\n",
     b"(-1000000000000000000000000000000\r\n"),
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (PONG, b"+PONG\r\n", b"+PONG\r\n"),
    (QUEUED, b"+QUEUED\r\n", b"+QUEUED\r\n"),
    (SimpleString(b"FULLRESYNC"), b"+FULLRESYNC\r\n", b"+FULLRESYNC\r\n"),
    (ErrorReply("ERR unknown"), b"-ERR unknown\r\n", b"-ERR unknown\r\n"),
    (ErrorReply("ERR a\r\nb\nc"), b"-ERR a  b c\r\n", b"-ERR a  b c\r\n"),
    (ErrorReply("ERR got '\udcff'"), b"-ERR got '\xff'\r\n", b"-ERR got '\xff'\r\n"),
    (ErrorReply("ERR caf\u00e9"), b"-ERR caf\xc3\xa9\r\n", b"-ERR caf\xc3\xa9\r\n"),
    (Raw(b"+relayed\r\n"), b"+relayed\r\n", b"+relayed\r\n"),
    ([Map([(b"d", Double(2.0))]), Set([True])],
     b"*2\r\n*2\r\n$1\r\nd\r\n$1\r\n2\r\n*1\r\n:1\r\n",
     b"*2\r\n%1\r\n$1\r\nd\r\n,2\r\n~1\r\n#t\r\n"),
]


@pytest.mark.parametrize(("reply", "resp2", "resp3"), CASES)
def test_encoding(reply: Reply, resp2: bytes, resp3: bytes) -> None:
    assert encode(reply, RESP2) == resp2
    assert encode(reply, RESP3) == resp3


def test_encode_into_appends_replies_of_one_read() -> None:
    out = bytearray(b"+OK\r\n")
    encode_into(out, b"v", RESP3)
    encode_into(out, None, RESP3)
    assert out == b"+OK\r\n$1\r\nv\r\n_\r\n"


def test_unknown_reply_type_is_a_bug() -> None:
    with pytest.raises(TypeError):
        encode(("tuple",), RESP2)  # type: ignore[arg-type]


replies: st.SearchStrategy[Reply] = st.recursive(
    st.binary(max_size=20) | st.integers(-(2**63), 2**63 - 1) | st.none(),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=12,
)


@given(reply=replies)
def test_resp2_round_trips_through_hiredis(reply: Reply) -> None:
    reader = hiredis.Reader()
    reader.feed(encode(reply, RESP2))
    assert reader.gets() == reply
