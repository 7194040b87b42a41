"""A follower's batched writes on one long-lived forward stream: plain TCP where the follower's
Raft stream to the leader is, gRPC's ForwardStream where it is not (every way of `STREAMS`).

Node 2 is a leader stand-in: a real transport whose `forward_batch` handler records what it
ran. The `Cluster` around node 1's forwarder is the small stand-in of
test_forward_fallback.py (the forwarder only asks it for the leader and the transport).
"""

from __future__ import annotations

import pytest

from seshat.forwarder import Forwarder
from seshat.protocol.replies import Raw
from seshat.transport import PeerState, api
from seshat.transport.client import ForwardStream
from seshat.transport.plain_streams import PlainForwardStream

from .conftest import STREAMS, MakeTransport, Node, free_port, wait_for
from .test_forward_fallback import _FollowerCluster

pytestmark = pytest.mark.parametrize("make_transport", list(STREAMS), indirect=True)


async def _follow(follower: Node, leader: Node) -> None:
    """Node 1 learns of node 2 and waits for its Raft stream there: the forward stream takes
    the way the Raft stream took."""
    follower.transport.add_peer(2, leader.address)
    await wait_for(
        lambda: follower.transport.peer_state(2) is PeerState.CONNECTED, "the Raft stream up"
    )


def _expected_kind(leader: Node) -> type:
    return PlainForwardStream if leader.transport.stream_port else ForwardStream


def _recording_leader(ran: list[tuple[bytes, ...]]) -> api.Handlers:
    async def forward_batch(request: api.ForwardBatchRequest) -> api.ForwardBatchReply:
        replies = []
        for command in request.commands:
            ran.append(command.argv)
            replies.append(api.ForwardReply(reply=b":%d\r\n" % len(ran)))
        return api.ForwardBatchReply(tuple(replies))

    return api.Handlers(forward_batch=forward_batch)


async def _submit_all(forwarder: Forwarder, values: range) -> list[object]:
    completions = [forwarder.submit([b"RPUSH", b"l", b"%d" % v], 0, 2) for v in values]
    await wait_for(lambda: all(c.done for c in completions), "every write answered")
    return [c.result for c in completions]


async def test_batches_share_one_stream_in_order(make_transport: MakeTransport) -> None:
    ran: list[tuple[bytes, ...]] = []
    leader = await make_transport(2, handlers=_recording_leader(ran))
    follower = await make_transport(1)
    await _follow(follower, leader)
    cluster = _FollowerCluster(follower.transport, leader=2)
    forwarder = Forwarder(cluster, timeout_s=5.0)  # type: ignore[arg-type]
    results = []
    for start in range(0, 30, 10):  # three rounds: three batches, one after another
        results += await _submit_all(forwarder, range(start, start + 10))
    assert ran == [(b"RPUSH", b"l", b"%d" % v) for v in range(30)]
    assert results == [Raw(b":%d\r\n" % (v + 1)) for v in range(30)]
    assert (forwarder.batches, forwarder.unary, forwarder.fallbacks) == (3, 0, 0)
    stream = forwarder._stream
    assert stream is not None and stream.usable  # still open for the next batch
    assert type(stream) is _expected_kind(leader)
    assert not getattr(stream, "on_grpc", False)
    await forwarder.stop()
    assert forwarder._stream is None


async def test_a_stream_the_leader_ended_while_idle_is_replaced(
    make_transport: MakeTransport,
) -> None:
    """The leader restarts between two batches: the next batch opens a new stream and runs;
    it is not answered with the unknown-outcome error (nothing of it had been sent)."""
    ran: list[tuple[bytes, ...]] = []
    port = free_port()
    leader = await make_transport(2, port=port, handlers=_recording_leader(ran))
    follower = await make_transport(1)
    await _follow(follower, leader)
    cluster = _FollowerCluster(follower.transport, leader=2)
    forwarder = Forwarder(cluster, timeout_s=5.0)  # type: ignore[arg-type]
    assert await _submit_all(forwarder, range(3)) == [Raw(b":%d\r\n" % n) for n in (1, 2, 3)]
    first = forwarder._stream
    assert first is not None
    await leader.transport.stop()
    await wait_for(lambda: not first.usable, "the follower to see its stream end")
    back = await make_transport(2, port=port, handlers=_recording_leader(ran))
    await wait_for(
        lambda: follower.transport.peer_state(2) is PeerState.CONNECTED, "the Raft stream back"
    )
    assert await _submit_all(forwarder, range(3, 5)) == [Raw(b":4\r\n"), Raw(b":5\r\n")]
    assert forwarder._stream is not first
    assert type(forwarder._stream) is _expected_kind(back)
    await forwarder.stop()
