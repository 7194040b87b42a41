"""A follower's batched writes reach a leader of an older version (a rolling upgrade).

Real gRPC between two transports; node 2 stands in for a leader of the older version: its
handlers answer `Forward` and have no `ForwardBatch`, so the call answers UNIMPLEMENTED, as a
server without the method does. The `Cluster` around node 1's forwarder is a small stand-in
(no Raft): the forwarder only asks it for the leader and the transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc  # type: ignore[import-untyped]
from grpc import aio

from seshat.forwarder import Forwarder
from seshat.kv import errors as E
from seshat.proto import raft_pb2 as pb
from seshat.protocol.replies import ErrorReply, Raw
from seshat.transport import GrpcTransport, api

from .conftest import MakeTransport, wait_for


@dataclass
class _Config:
    node_id: int = 1


class _FollowerCluster:
    """What `Forwarder` uses of `Cluster`: the leader's id and the transport."""

    def __init__(self, transport: GrpcTransport, leader: int) -> None:
        self.config = _Config()
        self.transport = transport
        self.leader = leader

    async def _wait_for_leader(self) -> int:
        return self.leader


async def _old_leader_and_forwarder(
    make_transport: MakeTransport, seen: list[tuple[bytes, ...]]
) -> Forwarder:
    async def forward(request: api.ForwardRequest) -> api.ForwardReply:
        seen.append(request.argv)
        if request.argv[0] == b"BOOM":
            raise RuntimeError("the old leader failed this call")
        return api.ForwardReply(reply=b"+OK %d\r\n" % len(seen))

    leader = await make_transport(2, handlers=api.Handlers(forward=forward))
    follower = await make_transport(1)
    follower.transport.add_peer(2, leader.address)
    return Forwarder(_FollowerCluster(follower.transport, leader=2), timeout_s=5.0)  # type: ignore[arg-type]


async def test_a_batch_goes_one_forward_at_a_time_in_order(make_transport: MakeTransport) -> None:
    seen: list[tuple[bytes, ...]] = []
    forwarder = await _old_leader_and_forwarder(make_transport, seen)
    completions = [forwarder.submit([b"SET", b"k", b"%d" % i], 0, 2) for i in range(5)]
    await wait_for(lambda: all(c.done for c in completions), "every write answered")
    assert seen == [(b"SET", b"k", b"%d" % i) for i in range(5)]
    assert [c.result for c in completions] == [Raw(b"+OK %d\r\n" % (i + 1)) for i in range(5)]
    assert forwarder.fallbacks == 1
    later = forwarder.submit([b"SET", b"k", b"again"], 0, 2)
    await wait_for(lambda: later.done, "a later write answered")
    assert later.result == Raw(b"+OK 6\r\n")
    assert forwarder.fallbacks == 2
    await forwarder.stop()


async def test_after_an_unknown_outcome_the_rest_say_they_never_ran(
    make_transport: MakeTransport,
) -> None:
    seen: list[tuple[bytes, ...]] = []
    forwarder = await _old_leader_and_forwarder(make_transport, seen)
    argvs = [[b"SET", b"a", b"1"], [b"BOOM"], [b"SET", b"b", b"2"]]
    completions = [forwarder.submit(argv, 0, 2) for argv in argvs]
    await wait_for(lambda: all(c.done for c in completions), "every write answered")
    assert seen == [(b"SET", b"a", b"1"), (b"BOOM",)]  # the third was never sent
    first, failed, never_sent = (c.result for c in completions)
    assert first == Raw(b"+OK 1\r\n")
    assert failed == E.UNKNOWN_OUTCOME
    assert never_sent == E.CLUSTERDOWN_NO_LEADER
    assert isinstance(failed, ErrorReply)
    await forwarder.stop()


async def test_a_leader_without_forward_stream_gets_unary_batches(
    make_transport: MakeTransport,
) -> None:
    """A real gRPC server that has `ForwardBatch` and no `ForwardStream` (the version before
    it): gRPC itself answers the stream UNIMPLEMENTED, and every batch goes as a unary call."""
    seen: list[list[tuple[bytes, ...]]] = []

    async def forward_batch(request: Any, context: Any) -> Any:
        seen.append([tuple(c.argv) for c in request.commands])
        replies = [pb.ForwardReply(reply=b"+OK %d\r\n" % len(seen)) for _ in request.commands]
        return pb.ForwardBatchReply(replies=replies)

    server = aio.server()
    methods = {
        "ForwardBatch": grpc.unary_unary_rpc_method_handler(
            forward_batch,
            request_deserializer=pb.ForwardBatchRequest.FromString,
            response_serializer=pb.ForwardBatchReply.SerializeToString,
        )
    }
    service = grpc.method_handlers_generic_handler("seshat.raft.v1.Raft", methods)
    server.add_generic_rpc_handlers((service,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        follower = await make_transport(1)
        follower.transport.add_peer(2, f"127.0.0.1:{port}")
        cluster = _FollowerCluster(follower.transport, leader=2)
        forwarder = Forwarder(cluster, timeout_s=5.0)  # type: ignore[arg-type]
        first = [forwarder.submit([b"SET", b"k", b"%d" % i], 0, 2) for i in range(3)]
        await wait_for(lambda: all(c.done for c in first), "every write answered")
        assert [c.result for c in first] == [Raw(b"+OK 1\r\n")] * 3
        assert seen == [[(b"SET", b"k", b"%d" % i) for i in range(3)]]
        later = forwarder.submit([b"SET", b"k", b"again"], 0, 2)
        await wait_for(lambda: later.done, "a later write answered")
        assert later.result == Raw(b"+OK 2\r\n")
        assert (forwarder.batches, forwarder.unary, forwarder.fallbacks) == (2, 2, 0)
        await forwarder.stop()
    finally:
        await server.stop(None)
