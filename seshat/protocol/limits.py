"""Named maxima of the RESP parser, each with Redis 7.0's default and behaviour at the limit.

Every number here is one Redis 7.0.15 enforces in `src/networking.c` (`processInlineBuffer`,
`processMultibulkBuffer`, `readQueryFromClient`); the differential tests check the defaults
against a real `redis-server`. The parser reads them from one frozen `ParserLimits`, so a config
layer can pass `proto-max-bulk-len` or `client-query-buffer-limit` without touching the parser.
"""

from __future__ import annotations

from dataclasses import dataclass

INT_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class ParserLimits:
    """Limits of one connection's parser. At any limit the parser raises `ProtocolError`.

    - `bulk_bytes_max`: `proto-max-bulk-len`, 512 MB. A larger `$len` header is
      "invalid bulk length" as soon as the header line arrives, before any payload.
    - `multibulk_count_max`: Redis 7.0 accepts `*N` up to INT_MAX (checked against 7.0.15:
      `*2147483647` waits for elements, `*2147483648` is "invalid multibulk length"); Redis 6
      stopped at 1024*1024. Lower it to bound the memory one command can hold.
    - `inline_bytes_max`: `PROTO_INLINE_MAX_SIZE`, 64 KiB. An inline line, or a `*N` / `$len`
      header line, still without its terminator past this many buffered bytes is "too big
      inline request" / "too big mbulk count string" / "too big bulk count string".
    - `query_buffer_bytes_max`: `client-query-buffer-limit`, 1 GiB of unhandled input; Redis
      closes the client without a reply (`QueryBufferLimitError`).
    - `unauthenticated_multibulk_count_max` (10) and `unauthenticated_bulk_bytes_max` (16384):
      the tighter limits Redis applies while the connection still needs AUTH.
    """

    bulk_bytes_max: int = 512 * 1024 * 1024
    multibulk_count_max: int = INT_MAX
    inline_bytes_max: int = 64 * 1024
    query_buffer_bytes_max: int = 1024 * 1024 * 1024
    unauthenticated_multibulk_count_max: int = 10
    unauthenticated_bulk_bytes_max: int = 16384


DEFAULT_LIMITS = ParserLimits()
