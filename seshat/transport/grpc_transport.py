"""Raft messages between nodes: one batched stream per peer, snapshots in chunks over gRPC.

Theory of operation. The driver calls `send(messages)` from its Ready loop; `send` never
blocks and never awaits: it appends each message to its peer's bounded queue and wakes that
peer's sender task. Each peer has one sender task that owns one long-lived stream: a plain TCP
connection to the peer's frame listener (`frames.py`, `plain_streams.py`), found through the
`StreamEndpoint` RPC, or, where the peer has none or it cannot be reached, a `Raft.Stream`
call. Either way it drains *everything* queued into one `Batch` frame (up to `batch_msgs_max` /
`batch_bytes_max`) and writes it, so the number of frames follows the number of wake-ups, not
the number of messages (COSTS.md "Between nodes": a frame per message caps a stream near 15k
messages/s, 64 per frame reaches 500k). HTTP/2 flow control pushes back on `write()`; while the
writer waits, the queue fills; a full queue drops (Raft retransmits what matters) and reports the
peer unreachable, so memory stays bounded (CONVENTIONS.md section 4, "Backpressure").

A peer's sender moves between three states:

    CONNECTING --hello acked--> CONNECTED --stream error--> BACKOFF --delay over--> CONNECTING
    CONNECTING --error/timeout------------------------------^

Messages queue in CONNECTING and CONNECTED. Entering BACKOFF drops the queue and reports the
peer unreachable; in BACKOFF `send` drops at once (a stale heartbeat or append is worth nothing
after a reconnect: the leader probes again). The delay doubles from `backoff_initial_s` up to
`backoff_max_s`, with equal jitter, and resets once a hello is acknowledged. Each attempt opens
a fresh channel, so gRPC's own reconnect backoff (up to 120 s by default) never hides a peer
that has come back.

A MsgSnap leaves the stream: a task per peer (at most one at a time) sends it over
`InstallSnapshot` in `snapshot_chunk_bytes` chunks read through the injectable
`snapshot_reader`, then reports `on_snapshot_status(peer, failed)`. The receiver assembles the
chunks in memory (bounded by `snapshot_bytes_max`, at most `snapshot_receives_max` at once),
checks size and CRC-32, and hands one MsgSnap with the data to `on_message`.

Receiving: each incoming stream is checked once (first frame, the hello) for the cluster id; a
mismatch aborts the RPC with FAILED_PRECONDITION (a plain connection is closed unacknowledged)
and logs `peer_refused` once per (cluster, node). Then every message of every frame goes to
`on_message` synchronously, in order.

Callbacks (`on_message`, `on_unreachable`, `on_snapshot_status`) are plain synchronous calls
on the loop (RaftNode's `step`, `report_unreachable`, `report_snapshot`). `on_unreachable` and
`on_snapshot_status` are deferred with `call_soon`, never called from inside `send`, because
`send` runs inside the driver's Ready handling.
"""

from __future__ import annotations

import asyncio
import enum
import random
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import grpc  # type: ignore[import-untyped]
import structlog
from grpc import aio

from seshat.proto import raft_pb2 as pb
from seshat.proto import raft_pb2_grpc
from seshat.raft.types import Message, MessageType
from seshat.transport import api, codec, frames, plain_streams
from seshat.transport.client import (
    KEEPALIVE_TIME_MS,
    KEEPALIVE_TIMEOUT_MS,
    MESSAGE_BYTES_MAX,
    ForwardStream,
    PeerClient,
    channel_options,
)

log = structlog.get_logger("seshat.transport")

SnapshotReader = Callable[[Message, int], tuple[int, AsyncIterator[bytes]]]
"""`reader(msg_snap, chunk_bytes) -> (total_bytes, chunks)`: the data of the snapshot in a
MsgSnap, as `total_bytes` bytes yielded in chunks of at most `chunk_bytes`."""

_MSG_SNAP = MessageType.MsgSnap
_MESSAGE_OVERHEAD_BYTES = 64
"""What a message costs in a queue and a frame beyond its entries' data and context (the
fixed fields); a rough figure, used only to bound memory."""


def memory_snapshot_reader(message: Message, chunk_bytes: int) -> tuple[int, AsyncIterator[bytes]]:
    """The default reader: the data is in `message.snapshot.data`."""
    assert message.snapshot is not None, message
    data = message.snapshot.data

    async def chunks() -> AsyncIterator[bytes]:
        view = memoryview(data)
        for offset in range(0, len(data), chunk_bytes):
            yield bytes(view[offset : offset + chunk_bytes])

    return len(data), chunks()


@dataclass(frozen=True, slots=True)
class TransportLimits:
    """Every queue, frame and wait of the transport, with where its default comes from."""

    queue_msgs_max: int = 4096
    """Messages queued per peer; etcd's rafthttp keeps 4096 (`streamBufSize`)."""
    queue_bytes_max: int = 64 << 20
    """Bytes queued per peer: 64 appends at Raft's 1 MiB `append_bytes_max`."""
    batch_msgs_max: int = 1024
    """Messages per frame: bounds the time one frame's encoding holds the loop (~2 ms)."""
    batch_bytes_max: int = 4 << 20
    """Bytes per frame (one larger message still goes alone; MESSAGE_BYTES_MAX is the cap)."""
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 2.0
    """Reconnect delays: the first retry is quick (a restart takes well under a second), the
    cap keeps a long-dead peer cheap while finding it again within two seconds."""
    connect_timeout_s: float = 2.0
    """How long a new stream waits for the peer's hello Ack before giving up."""
    snapshot_chunk_bytes: int = 1 << 20
    snapshot_bytes_max: int = 1 << 30
    """Largest snapshot the receiver assembles in memory (Snapshot.data is bytes)."""
    snapshot_receives_max: int = 2
    """Snapshots assembled at once; more are refused (RESOURCE_EXHAUSTED) and retried."""
    shutdown_grace_s: float = 0.5
    """How long `stop()` lets running RPCs finish before cancelling them."""


class PeerState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKOFF = "backoff"


@dataclass(slots=True)
class PeerStats:
    """Plain counters for INFO and tests (the hot path bumps them)."""

    sent_msgs: int = 0
    sent_batches: int = 0
    dropped_msgs: int = 0
    connects: int = 0
    failures: int = 0
    snapshots_sent: int = 0
    snapshots_failed: int = 0
    stream: str = ""
    """How our Raft stream to the peer travels: "tcp", "grpc", or "" while not connected."""


@dataclass(slots=True)
class TransportStats:
    received_msgs: int = 0
    received_batches: int = 0
    unknown_peer_drops: int = 0
    snapshots_received: int = 0
    refused: int = 0
    tcp_streams: int = 0
    """Peers' Raft streams reaching us over plain TCP right now (the rest use the Stream RPC)."""


class _StreamBroken(Exception):
    """The peer's stream ended or failed; the sender backs off and reconnects."""


@dataclass(eq=False)
class _Peer:
    id: int
    address: str
    queue: deque[Message] = field(default_factory=deque)
    sizes: deque[int] = field(default_factory=deque)
    """`_message_bytes` of each queued message, so taking a batch need not recompute it."""
    queued_bytes: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    state: PeerState = PeerState.CONNECTING
    task: asyncio.Task[None] | None = None
    snapshot_task: asyncio.Task[None] | None = None
    client_channel: aio.Channel | None = None
    unreachable_reported: bool = False
    refused_logged: bool = False
    down_logged: bool = False
    fallback_logged: bool = False
    stream_port: int = 0
    """The peer's plain listener while our Raft stream to it runs there (0: not on one)."""
    stats: PeerStats = field(default_factory=PeerStats)


def _message_bytes(m: Message) -> int:
    size = _MESSAGE_OVERHEAD_BYTES + len(m.context)
    for e in m.entries:
        size += len(e.data)
    return size


class GrpcTransport:
    def __init__(
        self,
        node_id: int,
        cluster_id: str,
        peers: dict[int, str],
        bind: str,
        port: int,
        on_message: Callable[[Message], None],
        on_unreachable: Callable[[int], None] = lambda _peer: None,
        on_snapshot_status: Callable[[int, bool], None] = lambda _peer, _failed: None,
        handlers: api.Handlers | None = None,
        snapshot_reader: SnapshotReader = memory_snapshot_reader,
        limits: TransportLimits | None = None,
        rng: random.Random | None = None,
        stream_port: int | None = 0,
    ) -> None:
        """`peers` maps node id to "host:port" of its Raft listener (our own id is ignored).

        `bind`/`port` is where we listen (port 0: any free port, see `.port` after start).
        `stream_port` is where peers' Raft and forward streams reach us over plain TCP (0: any
        free port, see `.stream_port`; None: no listener, peers send on gRPC's streams).
        """
        assert node_id > 0, node_id
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.bind = bind
        self.on_message = on_message
        self.on_unreachable = on_unreachable
        self.on_snapshot_status = on_snapshot_status
        self.handlers = handlers if handlers is not None else api.Handlers()
        self.snapshot_reader = snapshot_reader
        self.limits = limits if limits is not None else TransportLimits()
        self.rng = rng if rng is not None else random.Random()
        self.stats = TransportStats()
        self._requested_port = port
        self._port = port
        self._requested_stream_port = stream_port
        self._stream_port = 0
        self._frame_server: asyncio.AbstractServer | None = None
        self._incoming: set[frames.FrameConnection] = set()
        self._initial_peers = {i: a for i, a in peers.items() if i != node_id}
        self._peers: dict[int, _Peer] = {}
        self._server: aio.Server | None = None
        self._running = False
        self._closing: set[asyncio.Task[None]] = set()
        self._refused_logged: set[tuple[str, int]] = set()
        self._snapshot_receives = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        """The port we listen on (the real one once started with port 0)."""
        return self._port

    @property
    def stream_port(self) -> int:
        """The port of our plain listener for Raft and forward streams (0: none, peers use
        gRPC's Stream and ForwardStream)."""
        return self._stream_port

    async def start(self) -> None:
        assert not self._running, "started twice"
        if self._requested_stream_port is not None:
            await self._listen_for_frames(self._requested_stream_port)
        server = aio.server(options=self._server_options())
        raft_pb2_grpc.add_RaftServicer_to_server(_Servicer(self), server)
        address = f"{self.bind}:{self._requested_port}"
        try:
            port = server.add_insecure_port(address)
        except RuntimeError as error:
            await self._stop_frame_listener()
            raise OSError(f"cannot listen for Raft on {address}: {error}") from error
        if port == 0:
            await self._stop_frame_listener()
            raise OSError(f"cannot listen for Raft on {address}")
        self._port = port
        await server.start()
        self._server = server
        self._running = True
        for peer_id, address in self._initial_peers.items():
            self.add_peer(peer_id, address)
        log.info(
            "transport_started",
            node_id=self.node_id,
            address=f"{self.bind}:{port}",
            stream_port=self._stream_port,
            peers={p.id: p.address for p in self._peers.values()},
        )

    async def _listen_for_frames(self, port: int) -> None:
        host = self.bind.strip("[]")
        try:
            server = await asyncio.get_running_loop().create_server(
                self._accept_frames, host, port, reuse_address=True
            )
        except OSError as error:
            raise OSError(f"cannot listen for Raft streams on {host}:{port}: {error}") from error
        self._frame_server = server
        self._stream_port = server.sockets[0].getsockname()[1]

    def _accept_frames(self) -> frames.FrameConnection:
        return plain_streams.IncomingStream(self).connection

    async def _stop_frame_listener(self) -> None:
        server, self._frame_server = self._frame_server, None
        if server is None:
            return
        server.close()
        for connection in list(self._incoming):
            connection.close()
        await server.wait_closed()
        self._stream_port = 0

    async def stop(self) -> None:
        """Stop listening, cancel every task we started, close every channel."""
        if not self._running:
            return
        self._initial_peers = self.peers()  # a later start() talks to the same peers
        self._running = False
        server, self._server = self._server, None
        if server is not None:
            await server.stop(self.limits.shutdown_grace_s)
        await self._stop_frame_listener()
        for peer_id in list(self._peers):
            self._remove_running_peer(peer_id)
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)
        log.info("transport_stopped", node_id=self.node_id)

    def _server_options(self) -> list[tuple[str, Any]]:
        return [
            ("grpc.max_receive_message_length", MESSAGE_BYTES_MAX),
            ("grpc.max_send_message_length", MESSAGE_BYTES_MAX),
            # gRPC on Linux lets a second server bind the same port by default: a second
            # node started on our port must fail, not share our traffic.
            ("grpc.so_reuseport", 0),
            ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
            ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
            ("grpc.keepalive_permit_without_calls", 1),
            # Accept the clients' keepalive pings (the default answers them with GOAWAY).
            ("grpc.http2.min_recv_ping_interval_without_data_ms", KEEPALIVE_TIME_MS // 2),
            ("grpc.http2.max_ping_strikes", 0),
        ]

    # ------------------------------------------------------------------ membership

    def add_peer(self, peer_id: int, address: str) -> None:
        """Start talking to `peer_id` at `address` (a changed address restarts its sender)."""
        if peer_id == self.node_id:
            return
        if not self._running:
            self._initial_peers[peer_id] = address  # senders start with the transport
            return
        current = self._peers.get(peer_id)
        if current is not None:
            if current.address == address:
                return
            self.remove_peer(peer_id)
        peer = _Peer(peer_id, address)
        self._peers[peer_id] = peer
        peer.task = asyncio.get_running_loop().create_task(
            self._run_sender(peer), name=f"raft-send-{peer_id}"
        )
        peer.task.add_done_callback(self._sender_done)

    def _sender_done(self, task: asyncio.Task[None]) -> None:
        """A sender only ends by cancellation; anything else is a bug, said loudly."""
        if not task.cancelled() and task.exception() is not None:
            log.critical("sender_crashed", task=task.get_name(), exc_info=task.exception())

    def remove_peer(self, peer_id: int) -> None:
        """Stop talking to `peer_id`: its queue is dropped, its tasks cancelled, channels closed."""
        self._initial_peers.pop(peer_id, None)
        self._remove_running_peer(peer_id)

    def _remove_running_peer(self, peer_id: int) -> None:
        peer = self._peers.pop(peer_id, None)
        if peer is None:
            return
        peer.queue.clear()
        peer.sizes.clear()
        peer.queued_bytes = 0
        tasks = [t for t in (peer.task, peer.snapshot_task) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks or peer.client_channel is not None:
            closing = asyncio.get_running_loop().create_task(
                self._close_peer(peer, tasks), name=f"raft-close-{peer_id}"
            )
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def _close_peer(self, peer: _Peer, tasks: list[asyncio.Task[None]]) -> None:
        await asyncio.gather(*tasks, return_exceptions=True)
        channel, peer.client_channel = peer.client_channel, None
        if channel is not None:
            await channel.close()

    def peers(self) -> dict[int, str]:
        """The peers we send to (before `start()`, those we will send to)."""
        if not self._running:
            return dict(self._initial_peers)
        return {p.id: p.address for p in self._peers.values()}

    def peer_state(self, peer_id: int) -> PeerState | None:
        peer = self._peers.get(peer_id)
        return None if peer is None else peer.state

    def queued(self, peer_id: int) -> int:
        """Messages waiting in `peer_id`'s queue (0 for an unknown peer)."""
        peer = self._peers.get(peer_id)
        return 0 if peer is None else len(peer.queue)

    def peer_stats(self, peer_id: int) -> PeerStats | None:
        peer = self._peers.get(peer_id)
        return None if peer is None else peer.stats

    def client(self, peer_id: int, timeout_s: float | None = None) -> PeerClient:
        """A client for `peer_id`'s unary RPCs on the transport's channel to it (do not close)."""
        peer = self._peers[peer_id]
        if peer.client_channel is None:
            peer.client_channel = aio.insecure_channel(
                peer.address, options=self._channel_options()
            )
        client = PeerClient(peer.client_channel, peer.address, self.cluster_id, self.node_id)
        if timeout_s is not None:
            client.timeout_s = timeout_s
        return client

    def _channel_options(self) -> list[tuple[str, Any]]:
        return channel_options(int(self.limits.backoff_max_s * 1000))

    # ------------------------------------------------------------------ sending

    def send(self, messages: list[Message]) -> None:
        """Queue `messages` for their peers; never blocks. Full or broken peers drop."""
        peers = self._peers
        limits = self.limits
        for m in messages:
            peer = peers.get(m.to)
            if peer is None or not self._running:
                self.stats.unknown_peer_drops += 1
                continue
            if m.type is _MSG_SNAP:
                self._start_snapshot(peer, m)
                continue
            size = _message_bytes(m)
            if (
                peer.state is PeerState.BACKOFF
                or len(peer.queue) >= limits.queue_msgs_max
                or peer.queued_bytes + size > limits.queue_bytes_max
            ):
                peer.stats.dropped_msgs += 1
                self._report_unreachable(peer)
                continue
            peer.queue.append(m)
            peer.sizes.append(size)
            peer.queued_bytes += size
            peer.wake.set()

    def _report_unreachable(self, peer: _Peer) -> None:
        """Tell Raft once per episode (cleared when a frame goes out or on the next failure)."""
        if peer.unreachable_reported:
            return
        peer.unreachable_reported = True
        asyncio.get_running_loop().call_soon(self._fire_unreachable, peer)

    def _fire_unreachable(self, peer: _Peer) -> None:
        if self._running and self._peers.get(peer.id) is peer:
            self.on_unreachable(peer.id)

    def _take_batch(self, peer: _Peer) -> list[Message]:
        queue = peer.queue
        limits = self.limits
        sizes = peer.sizes
        if len(queue) <= limits.batch_msgs_max and peer.queued_bytes <= limits.batch_bytes_max:
            batch = list(queue)
            queue.clear()
            sizes.clear()
            peer.queued_bytes = 0
            return batch
        batch = []
        taken = 0
        while queue and len(batch) < limits.batch_msgs_max:
            size = sizes[0]
            if batch and taken + size > limits.batch_bytes_max:
                break
            batch.append(queue.popleft())
            sizes.popleft()
            taken += size
        peer.queued_bytes -= taken
        return batch

    async def _run_sender(self, peer: _Peer) -> None:
        backoff_s = self.limits.backoff_initial_s
        while True:
            peer.state = PeerState.CONNECTING
            channel = aio.insecure_channel(peer.address, options=self._channel_options())
            try:
                await self._stream(peer, channel)
            except _StreamBroken as error:
                self._on_stream_failure(peer, str(error))
            except aio.AioRpcError as error:
                self._on_stream_failure(peer, f"{error.code().name}: {error.details()}", error)
            finally:
                await channel.close()
            if peer.state is PeerState.CONNECTED:  # this attempt got through: start over
                backoff_s = self.limits.backoff_initial_s
            peer.state = PeerState.BACKOFF
            peer.stats.stream = ""
            self._drop_queue(peer)
            peer.unreachable_reported = False
            self._report_unreachable(peer)
            delay_s = backoff_s / 2 + self.rng.uniform(0, backoff_s / 2)
            backoff_s = min(backoff_s * 2, self.limits.backoff_max_s)
            await asyncio.sleep(delay_s)

    async def _stream(self, peer: _Peer, channel: aio.Channel) -> None:
        """Find the peer's stream listener, then write frames until the stream breaks (raises).

        A listener we cannot reach although its gRPC server answered is most likely behind a
        firewall that lets only the gRPC port through: the stream goes on the Stream RPC, and
        the next reconnect tries plain TCP again.
        """
        request = pb.StreamEndpointRequest(
            cluster_id=self.cluster_id, node_id=self.node_id, target_id=peer.id
        )
        try:
            endpoint = await raft_pb2_grpc.RaftStub(channel).StreamEndpoint(
                request, timeout=self.limits.connect_timeout_s
            )
        except aio.AioRpcError as error:
            if error.code() is not grpc.StatusCode.UNIMPLEMENTED:
                raise
            endpoint = pb.StreamEndpointReply(port=0)  # a node from before plain streams
        if endpoint.port:
            try:
                connection = await plain_streams.open_stream(
                    plain_streams.host_of(peer.address),
                    endpoint.port,
                    self._hello(peer.id, pb.RAFT),
                    self.limits.connect_timeout_s,
                    _no_frame_expected,
                    peer.wake.set,  # the writer may be idle: let it notice
                )
            except plain_streams.StreamUnreachable as error:
                if not peer.fallback_logged:
                    peer.fallback_logged = True
                    log.warning("peer_stream_port_unreachable", peer=peer.id, reason=str(error))
            else:
                peer.fallback_logged = False
                peer.stream_port = endpoint.port
                try:
                    await self._frame_stream(peer, connection)
                finally:
                    peer.stream_port = 0
        await self._grpc_stream(peer, channel)

    def _hello(self, peer_id: int, kind: int) -> Any:
        return pb.StreamHello(
            cluster_id=self.cluster_id, node_id=self.node_id, target_id=peer_id, kind=kind
        )

    def forward_stream(
        self, peer_id: int, timeout_s: float | None = None
    ) -> ForwardStream | plain_streams.PlainForwardStream:
        """A stream for `ForwardBatch` requests to `peer_id`, one in flight: on plain TCP when
        our Raft stream to it is (its listener is known and reachable), else on gRPC."""
        client = self.client(peer_id, timeout_s)
        peer = self._peers[peer_id]
        if not peer.stream_port:
            return client.forward_stream()
        return plain_streams.PlainForwardStream(
            plain_streams.host_of(peer.address),
            peer.stream_port,
            self._hello(peer_id, pb.FORWARD),
            self.limits.connect_timeout_s,
            client.forward_stream,
        )

    async def _frame_stream(self, peer: _Peer, connection: frames.FrameConnection) -> None:
        """Our Raft stream to `peer` on a plain TCP connection (always raises)."""
        self._on_connected(peer, "tcp")

        def check_open() -> None:
            if connection.closed.is_set():
                why = f": {connection.error}" if connection.error is not None else ""
                raise _StreamBroken(f"peer closed the stream{why}")

        async def write(frame: Any) -> None:
            connection.write(frame.SerializeToString())
            await connection.drain()

        try:
            await self._pump(peer, check_open, write)
        finally:
            connection.close()

    async def _pump(
        self, peer: _Peer, check_open: Callable[[], None], write: Callable[[Any], Awaitable[None]]
    ) -> NoReturn:
        """Write what is queued for `peer`, everything queued at a wake-up in one `Batch`
        frame, until `check_open` raises (the stream ended) or a write fails."""
        while True:
            if not peer.queue:
                peer.wake.clear()
                await peer.wake.wait()
            check_open()
            batch = self._take_batch(peer)
            if not batch:
                continue
            await write(codec.encode_batch(self.cluster_id, self.node_id, peer.id, batch))
            stats = peer.stats
            stats.sent_msgs += len(batch)
            stats.sent_batches += 1
            peer.unreachable_reported = False

    async def _grpc_stream(self, peer: _Peer, channel: aio.Channel) -> None:
        """Our Raft stream to `peer` on the Stream RPC (always raises)."""
        stub = raft_pb2_grpc.RaftStub(channel)
        call = stub.Stream()
        reader: asyncio.Task[None] | None = None
        try:
            hello = pb.Batch(cluster_id=self.cluster_id, node_id=self.node_id, target_id=peer.id)
            async with asyncio.timeout(self.limits.connect_timeout_s):
                await call.write(hello)
                ack = await call.read()
            if ack is aio.EOF:
                raise _StreamBroken("stream closed before the hello was acknowledged")
            self._on_connected(peer, "grpc")
            acks = asyncio.get_running_loop().create_task(
                self._read_acks(call, peer), name=f"raft-acks-{peer.id}"
            )
            reader = acks

            def check_open() -> None:
                if acks.done():
                    acks.result()  # raises what ended the stream
                    raise _StreamBroken("peer closed the stream")

            await self._pump(peer, check_open, call.write)
        except TimeoutError:
            raise _StreamBroken("no hello acknowledgement in time") from None
        except asyncio.InvalidStateError:
            raise _StreamBroken("stream already finished") from None
        finally:
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            call.cancel()

    async def _read_acks(self, call: Any, peer: _Peer) -> None:
        """Consume the peer's Acks; returning (EOF) or raising ends the stream."""
        try:
            while True:
                ack = await call.read()
                if ack is aio.EOF:
                    return
        finally:
            peer.wake.set()  # the writer may be idle: let it notice

    def _on_connected(self, peer: _Peer, stream: str) -> None:
        peer.state = PeerState.CONNECTED
        peer.stats.stream = stream
        peer.stats.connects += 1
        peer.unreachable_reported = False
        peer.refused_logged = False
        if peer.down_logged or peer.stats.connects == 1:
            log.info("peer_connected", peer=peer.id, address=peer.address)
        peer.down_logged = False

    def _on_stream_failure(
        self, peer: _Peer, reason: str, error: aio.AioRpcError | None = None
    ) -> None:
        peer.stats.failures += 1
        if error is not None and error.code() is grpc.StatusCode.FAILED_PRECONDITION:
            if not peer.refused_logged:
                peer.refused_logged = True
                log.error("peer_refused", peer=peer.id, address=peer.address, reason=reason)
            return
        if peer.state is PeerState.CONNECTED or not peer.down_logged:
            peer.down_logged = True
            log.warning("peer_unreachable", peer=peer.id, address=peer.address, reason=reason)
        else:
            log.debug("peer_connect_failed", peer=peer.id, reason=reason)

    def _drop_queue(self, peer: _Peer) -> None:
        peer.stats.dropped_msgs += len(peer.queue)
        peer.queue.clear()
        peer.sizes.clear()
        peer.queued_bytes = 0

    # ------------------------------------------------------------------ snapshots

    def _start_snapshot(self, peer: _Peer, m: Message) -> None:
        if peer.snapshot_task is not None and not peer.snapshot_task.done():
            # The core sends one MsgSnap and waits for its report; a second while the first
            # runs is a retry the running one will answer.
            log.debug("snapshot_already_sending", peer=peer.id, index=m.snapshot and
                      m.snapshot.metadata.index)  # fmt: skip
            return
        peer.snapshot_task = asyncio.get_running_loop().create_task(
            self._send_snapshot(peer, m), name=f"raft-snap-{peer.id}"
        )

    async def _send_snapshot(self, peer: _Peer, m: Message) -> None:
        assert m.snapshot is not None, m
        index = m.snapshot.metadata.index
        failed = True
        reason = ""
        try:
            result = await self._stream_snapshot(peer, m)
            failed = not result.accepted
            reason = result.error
        except aio.AioRpcError as error:
            reason = f"{error.code().name}: {error.details()}"
        except (OSError, ValueError) as error:  # the reader failed
            reason = f"{type(error).__name__}: {error}"
        if failed:
            peer.stats.snapshots_failed += 1
            log.warning("snapshot_send_failed", peer=peer.id, index=index, reason=reason)
        else:
            peer.stats.snapshots_sent += 1
            log.info("snapshot_sent", peer=peer.id, index=index)
        if self._running and self._peers.get(peer.id) is peer:
            self.on_snapshot_status(peer.id, failed)

    async def _stream_snapshot(self, peer: _Peer, m: Message) -> Any:
        total, chunks = self.snapshot_reader(m, self.limits.snapshot_chunk_bytes)
        if peer.client_channel is None:
            peer.client_channel = aio.insecure_channel(
                peer.address, options=self._channel_options()
            )
        call = raft_pb2_grpc.RaftStub(peer.client_channel).InstallSnapshot()
        try:
            header = pb.SnapshotHeader(
                cluster_id=self.cluster_id,
                node_id=self.node_id,
                target_id=peer.id,
                message=codec.message_to_pb(m, snapshot_data=False),
                total_bytes=total,
            )
            await call.write(pb.SnapshotChunk(header=header))
            crc = 0
            sent = 0
            async for data in chunks:
                crc = zlib.crc32(data, crc)
                sent += len(data)
                await call.write(pb.SnapshotChunk(data=data))
            if sent != total:
                raise ValueError(f"snapshot reader gave {sent} bytes, announced {total}")
            await call.write(pb.SnapshotChunk(last=True, crc32=crc))
            await call.done_writing()
            return await call
        finally:
            if not call.done():
                call.cancel()

    # ------------------------------------------------------------------ receiving

    def deliver(self, batch: Any, sender: int) -> None:
        """Every message of a received `Batch` to `on_message`, in order, whichever stream it
        came on. Raises CodecError for a message that does not decode (logged), and whatever
        `on_message` raised (a bug on our side: logged loudly here, since the stream would
        only turn it into an error for the peer)."""
        decode = codec.message_from_pb
        on_message = self.on_message
        for pm in batch.messages:
            try:
                m = decode(pm)
            except codec.CodecError as error:
                log.warning("peer_sent_garbage", peer=sender, reason=str(error))
                raise
            try:
                on_message(m)
            except Exception:
                log.critical("on_message_failed", message=repr(m), exc_info=True)
                raise
        stats = self.stats
        stats.received_msgs += len(batch.messages)
        stats.received_batches += 1

    def _check_peer(self, cluster_id: str, node_id: int, target_id: int = 0) -> str | None:
        """Why a request from another node must be refused, or None to accept it."""
        if cluster_id != self.cluster_id:
            reason = f"cluster id {cluster_id!r} is not ours ({self.cluster_id!r})"
        elif target_id and target_id != self.node_id:
            reason = f"sent to node {target_id}, but this is node {self.node_id}"
        else:
            return None
        self.stats.refused += 1
        key = (cluster_id, node_id)
        if key not in self._refused_logged:
            self._refused_logged.add(key)
            log.error("peer_refused", peer=node_id, cluster_id=cluster_id, reason=reason)
        return reason


def _no_frame_expected(_payload: bytes) -> None:
    raise frames.FrameError("a frame from the receiver of a Raft stream")


async def _abort(context: Any, code: Any, details: str) -> NoReturn:
    """End the RPC with `code`; `context.abort` raises, this says so to the type checker."""
    await context.abort(code, details)
    raise AssertionError("context.abort returned")


class _Servicer(raft_pb2_grpc.RaftServicer):  # type: ignore[misc]
    def __init__(self, transport: GrpcTransport) -> None:
        self.t = transport

    async def _refuse_unless_ours(
        self, context: Any, cluster_id: str, node_id: int, target_id: int = 0
    ) -> None:
        reason = self.t._check_peer(cluster_id, node_id, target_id)
        if reason is not None:
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION, reason)

    async def Stream(self, request_iterator: Any, context: Any) -> None:
        t = self.t
        hello = await context.read()
        if hello is aio.EOF:
            return
        await self._refuse_unless_ours(context, hello.cluster_id, hello.node_id, hello.target_id)
        batches = 1
        messages = len(hello.messages)
        await context.write(pb.Ack(node_id=t.node_id, batches=batches, messages=messages))
        frame = hello
        while True:
            try:
                t.deliver(frame, hello.node_id)
            except codec.CodecError as error:
                await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
            frame = await context.read()
            if frame is aio.EOF:
                return

    async def StreamEndpoint(self, request: Any, context: Any) -> Any:
        await self._refuse_unless_ours(
            context, request.cluster_id, request.node_id, request.target_id
        )
        return pb.StreamEndpointReply(port=self.t.stream_port)

    async def InstallSnapshot(self, request_iterator: Any, context: Any) -> Any:
        t = self.t
        first = await context.read()
        if first is aio.EOF:
            return pb.SnapshotResult(accepted=False, error="no header")
        if not first.HasField("header"):
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "first chunk has no header")
        header = first.header
        await self._refuse_unless_ours(context, header.cluster_id, header.node_id, header.target_id)
        total = header.total_bytes
        if total > t.limits.snapshot_bytes_max:
            await _abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"snapshot of {total} bytes exceeds {t.limits.snapshot_bytes_max}",
            )
        if t._snapshot_receives >= t.limits.snapshot_receives_max:
            await _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, "too many snapshots at once")
        t._snapshot_receives += 1
        try:
            data = await self._assemble(context, first, total)
        finally:
            t._snapshot_receives -= 1
        if isinstance(data, str):
            log.warning("snapshot_receive_failed", peer=header.node_id, reason=data)
            return pb.SnapshotResult(accepted=False, error=data)
        try:
            message = codec.message_from_pb(header.message, snapshot_data=data)
        except codec.CodecError as error:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        if message.type is not _MSG_SNAP or message.snapshot is None:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "header message is no MsgSnap")
        t.stats.snapshots_received += 1
        log.info(
            "snapshot_received",
            peer=header.node_id,
            index=message.snapshot.metadata.index,
            bytes=len(data),
        )
        t.on_message(message)
        return pb.SnapshotResult(accepted=True, received_bytes=len(data))

    async def _assemble(self, context: Any, chunk: Any, total: int) -> bytes | str:
        """The snapshot's data, or why it is incomplete or corrupt."""
        buffer = bytearray()
        crc = 0
        while True:
            data = chunk.data
            if data:
                if len(buffer) + len(data) > total:
                    return f"more than the announced {total} bytes"
                buffer += data
                crc = zlib.crc32(data, crc)
            if chunk.last:
                if len(buffer) != total:
                    return f"got {len(buffer)} of {total} bytes"
                if chunk.crc32 != crc:
                    return f"CRC-32 mismatch ({crc:#x}, sender says {chunk.crc32:#x})"
                return bytes(buffer)
            chunk = await context.read()
            if chunk is aio.EOF:
                return f"stream ended after {len(buffer)} of {total} bytes"

    async def _unary(
        self,
        context: Any,
        request: Any,
        handler: Callable[[Any], Any] | None,
        from_pb: Callable[[Any], Any],
        to_pb: Callable[[Any], Any],
        allow_anonymous: bool = False,
    ) -> Any:
        if not (allow_anonymous and request.cluster_id == ""):
            await self._refuse_unless_ours(context, request.cluster_id, request.node_id)
        if handler is None:
            await _abort(context, grpc.StatusCode.UNIMPLEMENTED, "no handler on this node")
        return to_pb(await handler(from_pb(request)))

    async def Forward(self, request: Any, context: Any) -> Any:
        return await self._unary(
            context,
            request,
            self.t.handlers.forward,
            api.forward_request_from_pb,
            api.forward_reply_to_pb,
        )

    async def ForwardBatch(self, request: Any, context: Any) -> Any:
        return await self._unary(
            context,
            request,
            self.t.handlers.forward_batch,
            api.forward_batch_request_from_pb,
            api.forward_batch_reply_to_pb,
        )

    async def ForwardStream(self, request_iterator: Any, context: Any) -> None:
        first = await context.read()
        if first is aio.EOF:
            return
        await self._refuse_unless_ours(context, first.cluster_id, first.node_id)
        handler = self.t.handlers.forward_batch
        if handler is None:
            await _abort(context, grpc.StatusCode.UNIMPLEMENTED, "no handler on this node")
        request = first
        while True:  # one batch at a time: its replies go out before the next is read
            reply = await handler(api.forward_batch_request_from_pb(request))
            await context.write(api.forward_batch_reply_to_pb(reply))
            request = await context.read()
            if request is aio.EOF:
                return

    async def ChangeMembership(self, request: Any, context: Any) -> Any:
        return await self._unary(
            context,
            request,
            self.t.handlers.change_membership,
            api.change_membership_request_from_pb,
            api.change_membership_reply_to_pb,
        )

    async def TransferLeader(self, request: Any, context: Any) -> Any:
        return await self._unary(
            context,
            request,
            self.t.handlers.transfer_leader,
            api.transfer_leader_request_from_pb,
            api.transfer_leader_reply_to_pb,
        )

    async def Status(self, request: Any, context: Any) -> Any:
        return await self._unary(
            context,
            request,
            self.t.handlers.status,
            api.status_request_from_pb,
            api.status_reply_to_pb,
            allow_anonymous=True,
        )

    async def Publish(self, request: Any, context: Any) -> Any:
        return await self._unary(
            context,
            request,
            self.t.handlers.publish,
            api.publish_request_from_pb,
            api.publish_reply_to_pb,
        )
