"""RESP: bytes from clients into commands, typed replies into RESP2/RESP3 bytes. Sans-I/O.

Knows nothing of keys, Raft or storage and imports nothing else of Seshat. Modules:
`parser` (requests, both multibulk and inline, with Redis's limits), `inline` (sdssplitargs),
`limits` (named maxima), `errors` (ProtocolError), `replies` (typed replies), `encoder`
(RESP2/RESP3 writing), `numbers` (Redis's float formatting).
"""

from seshat.protocol.encoder import RESP2, RESP3, encode, encode_error, encode_into
from seshat.protocol.errors import ProtocolError, QueryBufferLimitError
from seshat.protocol.limits import DEFAULT_LIMITS, ParserLimits
from seshat.protocol.numbers import (
    format_double,
    format_long_double,
    parse_long_double,
    to_long_double,
)
from seshat.protocol.parser import (
    HIREDIS_AVAILABLE,
    NEED_MORE,
    Command,
    Parser,
    PythonParser,
    encode_command,
)

__all__ = [
    "DEFAULT_LIMITS",
    "HIREDIS_AVAILABLE",
    "NEED_MORE",
    "RESP2",
    "RESP3",
    "Command",
    "Parser",
    "ParserLimits",
    "ProtocolError",
    "PythonParser",
    "QueryBufferLimitError",
    "encode",
    "encode_command",
    "encode_error",
    "encode_into",
    "format_double",
    "format_long_double",
    "parse_long_double",
    "to_long_double",
]
