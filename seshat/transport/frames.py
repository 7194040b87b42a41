"""Length-prefixed frames on a plain TCP connection: the Raft and forward streams without gRPC.

Why. At one client, a replicated write crosses four frames (the leader's MsgApp to each
follower, each follower's MsgAppResp back), and on two shared cores their cost is most of the
write's latency. `bench/bench_grpc_pingpong.py` (100-byte frames, one at a time, uvloop) on this
kind of machine: a gRPC aio bidi round trip 81-83 µs at p50 and 160-165 µs of CPU in the two
processes; the same echo as length-prefixed frames on an asyncio connection 23 µs and 29-31 µs.
gRPC's frame goes through HTTP/2 framing, its completion queue and a poller thread that wakes
the loop through a socket pair; here the loop's own epoll reads the socket and `write` sends
inline.

Wire format: every frame is a 4-byte big-endian length, then that many bytes of a serialized
`raft.proto` message, so the contract stays `raft.proto` (its "plain TCP streams" section).
What the frames hold, and how a connection opens, is `plain_streams.py`; how a sender finds
the listener is the `StreamEndpoint` RPC (`grpc_transport.py`). This module is the framing and
the socket's settings.

Dead peers. gRPC found them with HTTP/2 pings; a plain connection uses the kernel: keepalive
probes on an idle connection (`KEEPALIVE_*`, about the pings' 15 s), and `TCP_USER_TIMEOUT`
aborts one whose sent data goes unacknowledged for `USER_TIMEOUT_MS` (a partitioned peer), so
the sender reconnects instead of waiting out TCP's own retransmission backoff.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

HEADER_BYTES = 4
KEEPALIVE_IDLE_S = 10
KEEPALIVE_INTERVAL_S = 2
KEEPALIVE_PROBES = 3
USER_TIMEOUT_MS = 5_000
"""Sent data unacknowledged this long ends the connection: a lost peer is noticed within
seconds while a busy one (its kernel acknowledges for it) is not."""


def frame(payload: bytes) -> bytes:
    """`payload` with its length in front, ready for `transport.write`."""
    return len(payload).to_bytes(HEADER_BYTES, "big") + payload


def tune(transport: asyncio.BaseTransport) -> None:
    """No Nagle delay, keepalive probes and a user timeout on the connection's socket."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE_S),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_S),
        ("TCP_KEEPCNT", KEEPALIVE_PROBES),
        ("TCP_USER_TIMEOUT", USER_TIMEOUT_MS),
    ):
        if hasattr(socket, option):  # Linux has them all; others keep their defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class FrameError(Exception):
    """The peer sent something that is no frame (a length beyond the limit)."""


class FrameConnection(asyncio.Protocol):
    """One connection's frames: each complete one goes to `on_frame`, in order, on the loop.

    `on_frame` may raise: the connection is closed and the error kept in `error`. `on_closed`
    is called once, when the connection has ended for whatever reason. Writes go straight to the transport; `drain()` waits while
    the transport's buffer is over its high-water mark, so a slow peer pushes back on the
    sender's queue instead of growing our memory.
    """

    def __init__(
        self,
        on_frame: Callable[[bytes], None],
        frame_bytes_max: int,
        on_closed: Callable[[], None] = lambda: None,
    ) -> None:
        self.on_frame = on_frame
        self.frame_bytes_max = frame_bytes_max
        self.on_closed = on_closed
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.Event()
        self.error: BaseException | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._buffer = bytearray()
        self._wanted = 0

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tune(transport)
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        # Most reads hold whole frames and are parsed where they lie; only a frame split
        # across reads waits in `_buffer`, joined once when `_wanted` bytes are there.
        buffer = self._buffer
        if buffer:
            buffer += data
            if len(buffer) < self._wanted:
                return
            data = bytes(buffer)
            buffer.clear()
        start = 0
        end = len(data)
        wanted = HEADER_BYTES
        try:
            while end - start >= HEADER_BYTES:
                size = int.from_bytes(data[start : start + HEADER_BYTES], "big")
                if size > self.frame_bytes_max:
                    raise FrameError(f"frame of {size} bytes exceeds {self.frame_bytes_max}")
                stop = start + HEADER_BYTES + size
                if stop > end:
                    wanted = HEADER_BYTES + size
                    break
                payload = data[start + HEADER_BYTES : stop]
                start = stop
                self.on_frame(payload)
                if self.closed.is_set():
                    return
        except Exception as error:  # noqa: BLE001 - whatever the frame's reader raised ends it
            self.close(error)
            return
        if start < end:
            buffer += memoryview(data)[start:]
            self._wanted = wanted

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.error is None:
            self.error = exc
        self._writable.set()
        self.closed.set()
        self.on_closed()

    # ------------------------------------------------------------------ ours

    def write(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(frame(payload))

    async def drain(self) -> None:
        """Wait until the peer has taken enough of what we wrote (or the connection ended)."""
        if not self._writable.is_set():
            await self._writable.wait()

    def close(self, error: BaseException | None = None) -> None:
        """End the connection; `error` says why (None: we chose to)."""
        if self.error is None:
            self.error = error
        self._writable.set()
        self.closed.set()
        if self.transport is not None:
            self.transport.close()
