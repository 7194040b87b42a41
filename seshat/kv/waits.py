"""Which commands may wait for data, how long, and on which keys.

The blocking pops (BLPOP ... BZMPOP) always may; XREAD and XREADGROUP only when given BLOCK
(in milliseconds, where the pops take seconds). `seshat/blocking.py` parks them on their keys
and retries them when a committed entry modifies one; the client and the forwarder ask here
whether a command is one of them.
"""

from __future__ import annotations

from seshat.kv import mpop
from seshat.kv import streams as S
from seshat.kv.lists import BLOCKING_COMMANDS, parse_timeout, timeout_arg
from seshat.protocol.replies import ErrorReply

_STREAM_READS = (b"xread", b"xreadgroup")


def _stream_block(argv: list[bytes]) -> S.ReadArgs | None:
    if argv[0].lower() not in _STREAM_READS:
        return None
    args = S.parse_read(argv)
    if isinstance(args, ErrorReply) or args.block_ms < 0:
        return None
    return args


def blocks(argv: list[bytes]) -> bool:
    """May this command wait (a blocking pop, or a stream read with BLOCK)?"""
    first = argv[0][:1]
    if first in b"bB":
        return argv[0].lower() in BLOCKING_COMMANDS
    if first in b"xX":
        return _stream_block(argv) is not None
    return False


def timeout_ms(argv: list[bytes]) -> int:
    """How long a command that `blocks` may wait, in ms; 0 is forever."""
    args = _stream_block(argv)
    if args is not None:
        return args.block_ms
    timeout = parse_timeout(timeout_arg(argv))
    assert isinstance(timeout, int), argv  # prepare validated it
    return timeout


def keys(argv: list[bytes]) -> list[bytes]:
    """The keys a waiting command wakes up for."""
    args = _stream_block(argv)
    if args is not None:
        return args.keys
    name = argv[0].lower()
    if name in (b"blpop", b"brpop", b"bzpopmin", b"bzpopmax"):
        return argv[1:-1]
    if name in mpop.BLOCKING:
        return mpop.keys(argv)
    return [argv[1]]
