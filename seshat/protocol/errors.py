"""Protocol errors: the client sent bytes that are not RESP Redis would accept.

This module owns the one exception the parser raises. Its message is the exact text Redis 7.0
puts after `-ERR ` (for example `Protocol error: invalid bulk length`), so the server answers
`-ERR <message>` and closes that connection, as `setProtocolError` in Redis's
`src/networking.c` does. Nothing else in `seshat.protocol` raises for bad client input.
"""

from __future__ import annotations

from seshat.protocol.replies import ErrorReply


class ProtocolError(Exception):
    """The peer broke the protocol: reply `-ERR {message}` (if `send_reply`), then close.

    `message` is Redis's text without the `ERR ` prefix; a byte Redis echoes (the `got '%c'` of
    "expected '$'") is decoded with `surrogateescape`, so encoding the message back with
    `surrogateescape` (the encoder does) restores the byte Redis would have sent.
    """

    send_reply: bool = True
    """False when Redis closes the connection without a reply (query buffer overflow)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_reply(self) -> ErrorReply:
        """The `-ERR ...` line Redis sends before it closes the connection."""
        return ErrorReply("ERR " + self.message)


class QueryBufferLimitError(ProtocolError):
    """Unhandled input grew past `client-query-buffer-limit`.

    Redis logs "Closing client that reached max query buffer length" and frees the client
    without writing anything, so the server closes this connection silently.
    """

    send_reply = False
