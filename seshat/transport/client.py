"""Calling one node's unary RPCs (Forward, ForwardBatch, ChangeMembership, TransferLeader,
Status).

`PeerClient` wraps one gRPC channel. The transport hands out one per peer
(`GrpcTransport.client(peer_id)`) on a channel of its own, apart from the Raft stream's, so a
forwarded command never queues behind a megabyte of AppendEntries on the same TCP connection;
the admin CLI opens one with `PeerClient.connect(address)`. Every call has a deadline
(`timeout_s`, default `CALL_TIMEOUT_S`), and failures come back as three exceptions that say
whose fault they are: `PeerUnavailable` (down, unreachable, too slow: try another node or
later), `PeerRefused` (another cluster), `PeerError` (the peer failed the call; its subclass
`PeerUnimplemented` when the peer has no such call, so nothing ran).
"""

from __future__ import annotations

import asyncio
from typing import Any, Self

import grpc  # type: ignore[import-untyped]
from grpc import aio

from seshat.proto import raft_pb2_grpc
from seshat.transport import api

CALL_TIMEOUT_S = 5.0
"""Default deadline of a unary call: well above a forwarded write's commit latency (a few ms)
and an election (about a second), short enough that a client sees an error, not a hang."""

MESSAGE_BYTES_MAX = 64 << 20
"""Largest gRPC message either side accepts (gRPC's default receive limit is 4 MiB). Raft
frames stay under `batch_bytes_max` except one oversized MsgApp (`append_bytes_max` is 1 MiB),
and snapshots travel in 1 MiB chunks, so this only bounds what a broken peer can make us buffer."""

KEEPALIVE_TIME_MS = 10_000
KEEPALIVE_TIMEOUT_MS = 5_000
"""HTTP/2 pings find a dead peer on an idle connection (a killed host sends no RST) within
about 15 s; a busy stream fails at its next write anyway."""


CONNECT_ATTEMPT_MS = 1_000
"""How long one connection attempt may take, handshake included. gRPC takes it from
`grpc.min_reconnect_backoff_ms`; at 100 ms a peer busy for a tenth of a second on two loaded
cores failed the first call on a new channel (a PUBLISH was lost so in CI); 1 s still finds a
healed partition within about a second."""


def channel_options(reconnect_backoff_max_ms: int = 2_000) -> list[tuple[str, Any]]:
    """Options of every channel we open: message limits, keepalive, and a reconnect backoff
    capped like the stream's (gRPC's own default grows to 120 s, far too long for a restart)."""
    return [
        ("grpc.max_receive_message_length", MESSAGE_BYTES_MAX),
        ("grpc.max_send_message_length", MESSAGE_BYTES_MAX),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", CONNECT_ATTEMPT_MS),
        ("grpc.max_reconnect_backoff_ms", reconnect_backoff_max_ms),
        ("grpc.enable_retries", 0),
    ]


class TransportError(Exception):
    """Base of the errors a call to a peer reports."""


class PeerUnavailable(TransportError):
    """The peer did not answer in time or could not be reached."""


class PeerRefused(TransportError):
    """The peer belongs to another cluster (FAILED_PRECONDITION)."""


class PeerError(TransportError):
    """The peer answered the call with an error (no handler, handler failed, bad request)."""


class PeerUnimplemented(PeerError):
    """The peer has no such call (UNIMPLEMENTED): a node of an older version, or without
    that handler. Nothing ran there, so another call may carry the same request."""


def _translate(error: aio.AioRpcError, address: str) -> TransportError:
    code = error.code()
    text = f"{address}: {code.name}: {error.details()}"
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return PeerUnavailable(text)
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        return PeerRefused(text)
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return PeerUnimplemented(text)
    return PeerError(text)


class PeerClient:
    def __init__(
        self,
        channel: aio.Channel,
        address: str,
        cluster_id: str = "",
        node_id: int = 0,
        timeout_s: float = CALL_TIMEOUT_S,
        owns_channel: bool = False,
    ) -> None:
        self.address = address
        self.cluster_id = cluster_id
        self.node_id = node_id
        self.timeout_s = timeout_s
        self._channel = channel
        self._stub = raft_pb2_grpc.RaftStub(channel)
        self._owns_channel = owns_channel

    @classmethod
    def connect(
        cls,
        address: str,
        cluster_id: str = "",
        node_id: int = 0,
        timeout_s: float = CALL_TIMEOUT_S,
    ) -> PeerClient:
        """A client on a channel of its own (closed by `close()`); call inside a running loop."""
        channel = aio.insecure_channel(address, options=channel_options())
        return cls(channel, address, cluster_id, node_id, timeout_s, owns_channel=True)

    async def close(self) -> None:
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(
        self, method: Any, request: Any, timeout_s: float | None, wait_for_ready: bool = False
    ) -> Any:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            return await method(request, timeout=timeout, wait_for_ready=wait_for_ready)
        except aio.AioRpcError as error:
            raise _translate(error, self.address) from None

    async def forward(
        self, request: api.ForwardRequest, timeout_s: float | None = None
    ) -> api.ForwardReply:
        wire = api.forward_request_to_pb(request, self.cluster_id, self.node_id)
        return api.forward_reply_from_pb(await self._call(self._stub.Forward, wire, timeout_s))

    async def forward_batch(
        self, request: api.ForwardBatchRequest, timeout_s: float | None = None
    ) -> api.ForwardBatchReply:
        wire = api.forward_batch_request_to_pb(request, self.cluster_id, self.node_id)
        reply = await self._call(self._stub.ForwardBatch, wire, timeout_s)
        return api.forward_batch_reply_from_pb(reply)

    def forward_stream(self) -> ForwardStream:
        """A stream for `ForwardBatch` requests, one in flight; see `ForwardStream`."""
        call = self._stub.ForwardStream()
        return ForwardStream(call, self.address, self.cluster_id, self.node_id)

    async def change_membership(
        self, request: api.ChangeMembershipRequest, timeout_s: float | None = None
    ) -> api.ChangeMembershipReply:
        wire = api.change_membership_request_to_pb(request, self.cluster_id, self.node_id)
        reply = await self._call(self._stub.ChangeMembership, wire, timeout_s)
        return api.change_membership_reply_from_pb(reply)

    async def transfer_leader(
        self, request: api.TransferLeaderRequest, timeout_s: float | None = None
    ) -> api.TransferLeaderReply:
        wire = api.transfer_leader_request_to_pb(request, self.cluster_id, self.node_id)
        reply = await self._call(self._stub.TransferLeader, wire, timeout_s)
        return api.transfer_leader_reply_from_pb(reply)

    async def publish(
        self, request: api.PublishRequest, timeout_s: float | None = None
    ) -> api.PublishReply:
        """Waits for a channel that is (re)connecting, up to the deadline, where other calls
        fail at once: a peer that just restarted gets the messages instead of losing them."""
        wire = api.publish_request_to_pb(request, self.cluster_id, self.node_id)
        reply = await self._call(self._stub.Publish, wire, timeout_s, wait_for_ready=True)
        return api.publish_reply_from_pb(reply)

    async def status(self, timeout_s: float | None = None) -> api.StatusReply:
        wire = api.status_request_to_pb(api.StatusRequest(), self.cluster_id, self.node_id)
        return api.status_reply_from_pb(await self._call(self._stub.Status, wire, timeout_s))


class ForwardStream:
    """A follower's `ForwardBatch` requests to one leader on one long-lived `ForwardStream`.

    One request in flight: `send` writes it and waits for its reply. Any failure (the leader
    went away, the deadline passed, the stream ended) cancels the stream and raises, and the
    stream is then done: the caller opens a new one for its next batch. UNIMPLEMENTED (a
    leader of an older version) raises `PeerUnimplemented`: nothing ran there.
    """

    def __init__(self, call: Any, address: str, cluster_id: str, node_id: int) -> None:
        self._call = call
        self.address = address
        self._cluster_id = cluster_id
        self._node_id = node_id
        self.done = False

    async def send(
        self, request: api.ForwardBatchRequest, timeout_s: float
    ) -> api.ForwardBatchReply:
        if self.done:
            raise PeerUnavailable(f"{self.address}: forward stream already ended")
        wire = api.forward_batch_request_to_pb(request, self._cluster_id, self._node_id)
        try:
            async with asyncio.timeout(timeout_s):
                await self._call.write(wire)
                reply = await self._call.read()
        except aio.AioRpcError as error:
            self.cancel()
            raise _translate(error, self.address) from None
        except TimeoutError:
            self.cancel()
            raise PeerUnavailable(f"{self.address}: no reply in {timeout_s:g} s") from None
        except asyncio.InvalidStateError:  # the call had already ended: its status says why
            reply = aio.EOF
        except BaseException:
            self.cancel()
            raise
        if reply is aio.EOF:
            code = await self._call.code()
            self.cancel()
            if code is grpc.StatusCode.UNIMPLEMENTED:
                raise PeerUnimplemented(f"{self.address}: UNIMPLEMENTED: ForwardStream")
            raise PeerUnavailable(f"{self.address}: forward stream ended ({code.name})")
        return api.forward_batch_reply_from_pb(reply)

    @property
    def usable(self) -> bool:
        """Neither failed nor ended by the other side (checked before each request)."""
        return not self.done and not self._call.done()

    def cancel(self) -> None:
        self.done = True
        self._call.cancel()
