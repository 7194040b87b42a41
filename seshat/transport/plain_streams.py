"""What travels on the plain TCP streams: the hello, the Raft stream's receiving end, and the
ForwardStream's two ends. `frames.py` is the framing; `grpc_transport.py` finds a peer's
listener (the `StreamEndpoint` RPC) and runs the Raft stream's sending end.

Every plain connection opens with a `StreamHello` (cluster id, opener, target, kind), which the
receiver checks as gRPC calls are checked and answers with one `Ack`; then, for a Raft stream,
`Batch` frames one way, and for a forward stream one `ForwardBatchRequest` at a time, each
answered by its `ForwardBatchReply`. The kinds share one listener, so a node needs one port
beyond its gRPC port.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from google.protobuf.message import DecodeError

from seshat.proto import raft_pb2 as pb
from seshat.transport import api, frames
from seshat.transport.client import MESSAGE_BYTES_MAX, ForwardStream, PeerUnavailable

if TYPE_CHECKING:
    from seshat.transport.grpc_transport import GrpcTransport

log = structlog.get_logger("seshat.transport")

FORWARD_REQUESTS_QUEUED_MAX = 16
"""Requests a forward stream's opener may have sent before their replies: one is what our
forwarder does; more than this is a broken peer, and its connection ends."""


class StreamUnreachable(Exception):
    """The plain listener could not be reached, or did not acknowledge our hello."""


def host_of(address: str) -> str:
    """The host of "host:port" ("[::1]:7379" -> "::1")."""
    return address.rpartition(":")[0].strip("[]")


async def open_stream(
    host: str,
    port: int,
    hello: Any,
    timeout_s: float,
    on_frame: Callable[[bytes], None],
    on_closed: Callable[[], None] = lambda: None,
) -> frames.FrameConnection:
    """A connection to a plain listener that acknowledged `hello` (a `StreamHello`) within
    `timeout_s`; later frames go to `on_frame`. Raises StreamUnreachable, having closed it."""
    loop = asyncio.get_running_loop()
    acked: asyncio.Future[None] = loop.create_future()

    def first_frame(payload: bytes) -> None:
        if not acked.done():
            pb.Ack.FromString(payload)
            acked.set_result(None)
        else:
            on_frame(payload)

    def closed() -> None:
        if not acked.done():
            acked.set_exception(StreamUnreachable("closed before the hello was acknowledged"))
        on_closed()

    connection: frames.FrameConnection | None = None
    try:
        async with asyncio.timeout(timeout_s):
            _, connection = await loop.create_connection(
                lambda: frames.FrameConnection(first_frame, MESSAGE_BYTES_MAX, closed), host, port
            )
            connection.write(hello.SerializeToString())
            await acked
        return connection
    except TimeoutError:
        raise StreamUnreachable(f"no hello acknowledgement from {host}:{port} in time") from None
    except OSError as error:
        raise StreamUnreachable(f"cannot reach {host}:{port}: {error}") from None
    finally:
        # Leave nothing open but an acknowledged connection, and no failed future whose
        # exception asyncio would report as never retrieved.
        failed = acked.cancelled() or not acked.done() or acked.exception() is not None
        acked.cancel()
        if failed and connection is not None:
            connection.close()


class IncomingStream:
    """The receiving end of one plain connection: the hello checked, then a Raft stream's
    messages handed to `on_message` in order (as the Stream RPC does), or a forward stream's
    requests run one at a time by the `forward_batch` handler (as ForwardStream does)."""

    def __init__(self, transport: GrpcTransport) -> None:
        self.t = transport
        self.sender = 0
        self.kind: int | None = None
        self.connection = frames.FrameConnection(self._on_frame, MESSAGE_BYTES_MAX, self._closed)
        self._requests: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._server: asyncio.Task[None] | None = None
        transport._incoming.add(self.connection)

    def _closed(self) -> None:
        t = self.t
        t._incoming.discard(self.connection)
        if isinstance(self.connection.error, frames.FrameError):
            log.warning("peer_sent_garbage", peer=self.sender, reason=str(self.connection.error))
        if self.kind == pb.RAFT:
            t.stats.tcp_streams -= 1
        if self._server is not None:
            self._server.cancel()

    def _on_frame(self, payload: bytes) -> None:
        if self.kind is None:
            self._greet(payload)
        elif self.kind == pb.RAFT:
            self._on_batch(payload)
        else:
            if len(self._requests) >= FORWARD_REQUESTS_QUEUED_MAX:
                raise frames.FrameError(f"more than {FORWARD_REQUESTS_QUEUED_MAX} requests queued")
            self._requests.append(payload)
            self._wake.set()

    def _greet(self, payload: bytes) -> None:
        t = self.t
        hello = _parse(pb.StreamHello, payload, self.sender)
        if t._check_peer(hello.cluster_id, hello.node_id, hello.target_id) is not None:
            self.connection.close()
            return
        if hello.kind == pb.FORWARD:
            if t.handlers.forward_batch is None:  # the opener falls back to gRPC, which says so
                self.connection.close()
                return
            self._server = asyncio.get_running_loop().create_task(
                self._serve_forwards(), name=f"raft-forward-in-{hello.node_id}"
            )
        elif hello.kind != pb.RAFT:
            raise frames.FrameError(f"unknown stream kind {hello.kind}")
        else:
            t.stats.tcp_streams += 1
        self.kind = hello.kind
        self.sender = hello.node_id
        self.connection.write(pb.Ack(node_id=t.node_id, batches=1).SerializeToString())

    def _on_batch(self, payload: bytes) -> None:
        # Any error ends the connection and the peer reconnects, as with the Stream RPC.
        self.t.deliver(_parse(pb.Batch, payload, self.sender), self.sender)

    async def _serve_forwards(self) -> None:
        handler = self.t.handlers.forward_batch
        assert handler is not None
        connection = self.connection
        try:
            while True:
                if not self._requests:
                    self._wake.clear()
                    await self._wake.wait()
                request = _parse(pb.ForwardBatchRequest, self._requests.popleft(), self.sender)
                reply = await handler(api.forward_batch_request_from_pb(request))
                if connection.closed.is_set():
                    return
                connection.write(api.forward_batch_reply_to_pb(reply).SerializeToString())
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the opener answers its batch's fate unknown
            log.exception("forward_stream_failed", peer=self.sender)
            connection.close(error)


def _parse(message_type: Any, payload: bytes, sender: int) -> Any:
    try:
        return message_type.FromString(payload)
    except DecodeError as error:
        reason = f"no {message_type.DESCRIPTOR.name}: {error}"
        log.warning("peer_sent_garbage", peer=sender, reason=reason)
        raise


class PlainForwardStream:
    """A follower's `ForwardBatch` requests to one leader on a plain connection, one in flight:
    what `client.ForwardStream` does on gRPC, with the same `send`/`usable`/`cancel`.

    The connection opens with the first `send`. If it cannot (the listener is unreachable, or
    the leader takes no forwards on it), nothing has been sent yet, so that request and every
    later one go on the gRPC stream `fallback()` opens. Once a request has been written, any
    failure raises PeerUnavailable and the stream is done: the batch's fate is unknown.
    """

    def __init__(
        self,
        host: str,
        port: int,
        hello: Any,
        connect_timeout_s: float,
        fallback: Callable[[], ForwardStream],
    ) -> None:
        self.address = f"{host}:{port}"
        self._host = host
        self._port = port
        self._hello = hello
        self._connect_timeout_s = connect_timeout_s
        self._fallback = fallback
        self._grpc: ForwardStream | None = None
        self._connection: frames.FrameConnection | None = None
        self._reply: asyncio.Future[bytes] | None = None
        self.done = False

    @property
    def on_grpc(self) -> bool:
        """True once this stream gave up on plain TCP (and goes on gRPC's ForwardStream)."""
        return self._grpc is not None

    async def send(
        self, request: api.ForwardBatchRequest, timeout_s: float
    ) -> api.ForwardBatchReply:
        if self._grpc is not None:
            return await self._grpc.send(request, timeout_s)
        if self.done:
            raise PeerUnavailable(f"{self.address}: forward stream already ended")
        if self._connection is None:
            try:
                self._connection = await open_stream(
                    self._host,
                    self._port,
                    self._hello,
                    min(timeout_s, self._connect_timeout_s),
                    self._on_reply,
                    self._on_closed,
                )
            except StreamUnreachable as error:
                log.debug("forward_stream_on_grpc", address=self.address, reason=str(error))
                self._grpc = self._fallback()
                return await self._grpc.send(request, timeout_s)
        connection = self._connection
        if connection.closed.is_set():
            self.cancel()
            raise PeerUnavailable(f"{self.address}: forward stream ended")
        wire = api.forward_batch_request_to_pb(request, self._hello.cluster_id, self._hello.node_id)
        reply = self._reply = asyncio.get_running_loop().create_future()
        connection.write(wire.SerializeToString())
        try:
            async with asyncio.timeout(timeout_s):
                payload = await reply
        except TimeoutError:
            self.cancel()
            raise PeerUnavailable(f"{self.address}: no reply in {timeout_s:g} s") from None
        except BaseException:
            self.cancel()
            raise
        finally:
            self._reply = None
        try:
            return api.forward_batch_reply_from_pb(pb.ForwardBatchReply.FromString(payload))
        except DecodeError:
            self.cancel()
            raise PeerUnavailable(f"{self.address}: a reply that is no ForwardBatchReply") from None

    def _on_reply(self, payload: bytes) -> None:
        reply = self._reply
        if reply is None or reply.done():
            raise frames.FrameError("a reply to no request")
        reply.set_result(payload)

    def _on_closed(self) -> None:
        reply = self._reply
        if reply is not None and not reply.done():
            reply.set_exception(PeerUnavailable(f"{self.address}: forward stream ended"))

    @property
    def usable(self) -> bool:
        """Neither failed nor ended by the other side (checked before each request)."""
        if self._grpc is not None:
            return self._grpc.usable
        connection = self._connection
        return not self.done and (connection is None or not connection.closed.is_set())

    def cancel(self) -> None:
        self.done = True
        if self._grpc is not None:
            self._grpc.cancel()
        if self._connection is not None:
            self._connection.close()
