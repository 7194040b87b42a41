"""Raft streams over plain TCP (seshat/transport/frames.py): the framing on its own, which way
each stream travels, and what the listener does with a stranger or with garbage. The same
transports' batching, reconnects and refusals in both ways are in test_transport.py."""

from __future__ import annotations

import asyncio
import socket

import pytest
from structlog.testing import capture_logs

from seshat.proto import raft_pb2 as pb
from seshat.raft.types import Message, MessageType
from seshat.transport import PeerState, PeerUnavailable, PeerUnimplemented, api
from seshat.transport.frames import FrameConnection, FrameError, frame
from seshat.transport.plain_streams import PlainForwardStream
from tests.transport.conftest import CLUSTER, MakeTransport, Node, connect_all, wait_for


def heartbeat(frm: int, to: int) -> Message:
    return Message(MessageType.MsgHeartbeat, to=to, frm=frm, term=3)


class _Recorded:
    """What a FrameConnection handed on, with no socket behind it."""

    def __init__(self, limit: int = 1 << 20) -> None:
        self.frames: list[bytes] = []
        self.closes = 0
        self.connection = FrameConnection(self.frames.append, limit, self._closed)

    def _closed(self) -> None:
        self.closes += 1


async def test_frames_split_anywhere_arrive_whole_and_in_order() -> None:
    payloads = [b"", b"a", b"hello", bytes(range(256)) * 40, b"z" * 3]
    wire = b"".join(frame(p) for p in payloads)
    for cut in range(1, 40):  # every read size, down to one byte at a time
        rec = _Recorded()
        for start in range(0, len(wire), cut):
            rec.connection.data_received(wire[start : start + cut])
        assert rec.frames == payloads, cut
        assert not rec.connection.closed.is_set()
    rec = _Recorded()
    rec.connection.data_received(wire)  # all in one read
    assert rec.frames == payloads


async def test_a_frame_beyond_the_limit_ends_the_connection() -> None:
    rec = _Recorded(limit=10)
    rec.connection.data_received(frame(b"0123456789") + (11).to_bytes(4, "big") + b"x")
    assert rec.frames == [b"0123456789"]
    assert rec.connection.closed.is_set()
    assert isinstance(rec.connection.error, FrameError)


async def test_a_receiver_that_raises_ends_the_connection_with_its_error() -> None:
    def refuse(_payload: bytes) -> None:
        raise ValueError("not for me")

    connection = FrameConnection(refuse, 1 << 20)
    connection.data_received(frame(b"x") + frame(b"y"))
    assert connection.closed.is_set()
    assert isinstance(connection.error, ValueError)


async def test_streams_travel_on_tcp_where_the_receiver_listens(
    make_transport: MakeTransport,
) -> None:
    a = await make_transport(1)
    b = await make_transport(2)
    c = await make_transport(3, stream_port=None)  # no listener: the Stream RPC
    assert b.transport.stream_port > 0 and c.transport.stream_port == 0
    await connect_all([a, b, c])
    assert a.transport.peer_stats(2).stream == "tcp"  # type: ignore[union-attr]
    assert a.transport.peer_stats(3).stream == "grpc"  # type: ignore[union-attr]
    assert c.transport.peer_stats(1).stream == "tcp"  # type: ignore[union-attr]
    assert b.transport.stats.tcp_streams == 2 and c.transport.stats.tcp_streams == 0
    a.transport.send([heartbeat(1, 2), heartbeat(1, 3)])
    await wait_for(
        lambda: len(b.rec.messages) == 1 and len(c.rec.messages) == 1, "one heartbeat each"
    )
    assert b.rec.messages == [heartbeat(1, 2)] and c.rec.messages == [heartbeat(1, 3)]


async def _raw_stream(node: Node) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", node.transport.stream_port)


async def test_a_hello_from_another_cluster_gets_no_ack(make_transport: MakeTransport) -> None:
    node = await make_transport(1)
    reader, writer = await _raw_stream(node)
    with capture_logs() as logs:
        hello = pb.StreamHello(cluster_id="someone-else", node_id=7, target_id=1, kind=pb.RAFT)
        writer.write(frame(hello.SerializeToString()))
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, nothing sent back
    writer.close()
    assert node.transport.stats.refused == 1 and node.transport.stats.tcp_streams == 0
    assert [e["peer"] for e in logs if e["event"] == "peer_refused"] == [7]


@pytest.mark.parametrize(
    "junk",
    [b"\x00\x00\x00\x03abc", (1 << 31).to_bytes(4, "big")],
    ids=["no-batch", "too-long"],
)
async def test_garbage_ends_only_its_own_connection(
    make_transport: MakeTransport, junk: bytes
) -> None:
    a = await make_transport(1)
    b = await make_transport(2)
    await connect_all([a, b])
    reader, writer = await _raw_stream(b)
    hello = pb.StreamHello(cluster_id=CLUSTER, node_id=1, target_id=2, kind=pb.RAFT)
    writer.write(frame(hello.SerializeToString()))
    ack = await asyncio.wait_for(reader.readexactly(4), 10)
    pb.Ack.FromString(await reader.readexactly(int.from_bytes(ack, "big")))
    assert b.transport.stats.tcp_streams == 2
    with capture_logs() as logs:
        writer.write(junk)
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        await wait_for(lambda: b.transport.stats.tcp_streams == 1, "the junk connection gone")
    assert [e["peer"] for e in logs if e["event"] == "peer_sent_garbage"] == [1]
    a.transport.send([heartbeat(1, 2)])  # the real stream still works
    await wait_for(lambda: b.rec.messages == [heartbeat(1, 2)], "the heartbeat")
    assert a.transport.peer_state(2) is PeerState.CONNECTED


async def test_a_stream_port_in_use_is_an_error(make_transport: MakeTransport) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="Raft streams"):
            await make_transport(1, stream_port=port)


async def test_an_unreachable_stream_port_falls_back_to_the_grpc_stream(
    make_transport: MakeTransport,
) -> None:
    a = await make_transport(1)
    b = await make_transport(2)
    listener = b.transport._frame_server
    assert listener is not None
    listener.close()  # as a firewall that lets only the gRPC port through would be
    with capture_logs() as logs:
        await connect_all([a, b])
    assert a.transport.peer_stats(2).stream == "grpc"  # type: ignore[union-attr]
    assert b.transport.peer_stats(1).stream == "tcp"  # type: ignore[union-attr]
    assert [e["peer"] for e in logs if e["event"] == "peer_stream_port_unreachable"] == [2]
    a.transport.send([heartbeat(1, 2)])
    await wait_for(lambda: b.rec.messages == [heartbeat(1, 2)], "the heartbeat")


async def _connected(follower: Node, leader: Node) -> None:
    follower.transport.add_peer(2, leader.address)
    await wait_for(
        lambda: follower.transport.peer_state(2) is PeerState.CONNECTED, "the Raft stream up"
    )


REQUEST = api.ForwardBatchRequest((api.ForwardRequest((b"SET", b"k", b"v")),))


async def test_a_leader_that_takes_no_forwards_is_asked_on_grpc(
    make_transport: MakeTransport,
) -> None:
    """No `forward_batch` handler: the plain hello is closed, nothing was sent, so the stream
    goes to gRPC, whose UNIMPLEMENTED tells the forwarder that nothing ran."""
    leader = await make_transport(2)
    follower = await make_transport(1)
    await _connected(follower, leader)
    stream = follower.transport.forward_stream(2)
    assert isinstance(stream, PlainForwardStream)
    with pytest.raises(PeerUnimplemented):
        await stream.send(REQUEST, 5.0)
    assert stream.on_grpc


async def test_a_leader_gone_mid_request_is_an_unknown_outcome(
    make_transport: MakeTransport,
) -> None:
    """The request was written, then the connection ended: PeerUnavailable (the forwarder
    answers the batch's fate unknown), promptly, not at the deadline."""
    started = asyncio.Event()

    async def never_answers(_request: api.ForwardBatchRequest) -> api.ForwardBatchReply:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    leader = await make_transport(2, handlers=api.Handlers(forward_batch=never_answers))
    follower = await make_transport(1)
    await _connected(follower, leader)
    stream = follower.transport.forward_stream(2)
    sending = asyncio.create_task(stream.send(REQUEST, 60.0))
    await asyncio.wait_for(started.wait(), 10)
    await leader.transport.stop()
    with pytest.raises(PeerUnavailable, match="forward stream ended"):
        await asyncio.wait_for(sending, 10)
    assert not stream.usable and not stream.on_grpc  # type: ignore[union-attr]
