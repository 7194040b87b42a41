"""GrpcTransports in one process on loopback: batching, reconnects, drops, refusal, snapshots
and the unary RPCs. Every wait polls a condition with a bound; nothing asserts a duration."""

from __future__ import annotations

import asyncio
import os

import pytest
from structlog.testing import capture_logs

from seshat.raft.types import (
    ConfState,
    Entry,
    Message,
    MessageType,
    Snapshot,
    SnapshotMetadata,
)
from seshat.transport import (
    PeerError,
    PeerRefused,
    PeerState,
    PeerUnavailable,
    TransportLimits,
    api,
)
from tests.transport.conftest import (
    FAST_LIMITS,
    STREAMS,
    MakeTransport,
    connect_all,
    free_port,
    wait_for,
)

pytestmark = pytest.mark.parametrize("make_transport", list(STREAMS), indirect=True)


def app(frm: int, to: int, index: int, data: bytes = b"x" * 100) -> Message:
    return Message(
        MessageType.MsgApp,
        to=to,
        frm=frm,
        term=2,
        log_term=2,
        index=index,
        entries=(Entry(2, index + 1, data=data),),
        commit=index,
    )


async def test_three_transports_exchange_batches_in_order(make_transport: MakeTransport) -> None:
    nodes = [await make_transport(i) for i in (1, 2, 3)]
    await connect_all(nodes)
    for node in nodes:
        me = node.transport.node_id
        node.transport.send([app(me, to, i) for i in range(300) for to in (1, 2, 3) if to != me])
    await wait_for(lambda: all(len(n.rec.messages) == 600 for n in nodes), "600 messages each")
    for node in nodes:
        me = node.transport.node_id
        for frm in (1, 2, 3):
            if frm != me:
                got = [m for m in node.rec.messages if m.frm == frm]
                assert got == [app(frm, me, i) for i in range(300)]
        # One send() of 300 messages per peer before the sender ran: a frame or a few, not 300.
        assert node.transport.stats.received_batches < 20, node.transport.stats
        assert not node.rec.unreachable


async def test_a_peer_that_starts_late_gets_later_messages(make_transport: MakeTransport) -> None:
    port = free_port()
    a = await make_transport(1, peers={2: f"127.0.0.1:{port}"})
    a.transport.send([app(1, 2, 1)])
    await wait_for(lambda: a.rec.unreachable == [2], "peer 2 reported unreachable")
    assert a.transport.peer_stats(2).failures >= 1  # type: ignore[union-attr]
    b = await make_transport(2, port=port)
    await wait_for(lambda: a.transport.peer_state(2) is PeerState.CONNECTED, "1 -> 2 up")
    a.transport.send([app(1, 2, 2), app(1, 2, 3)])
    await wait_for(lambda: len(b.rec.messages) == 2, "two messages at 2")
    assert b.rec.messages == [app(1, 2, 2), app(1, 2, 3)]


async def test_a_peer_that_stops_and_restarts(make_transport: MakeTransport) -> None:
    a = await make_transport(1)
    b = await make_transport(2)
    await connect_all([a, b])
    a.transport.send([app(1, 2, 1)])
    await wait_for(lambda: len(b.rec.messages) == 1, "first message")
    port = b.transport.port
    await b.transport.stop()
    await wait_for(lambda: a.rec.unreachable == [2], "2 reported unreachable after its stop")
    assert a.transport.peer_state(2) is not PeerState.CONNECTED
    a.transport.send([app(1, 2, 2)])  # into the void: dropped or queued, never an error
    b2 = await make_transport(2, port=port)
    await wait_for(lambda: a.transport.peer_state(2) is PeerState.CONNECTED, "1 -> 2 again")
    a.transport.send([app(1, 2, 3)])
    await wait_for(lambda: app(1, 2, 3) in b2.rec.messages, "message after restart")
    assert a.transport.peer_stats(2).connects == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "limits",
    [
        TransportLimits(queue_msgs_max=10, connect_timeout_s=60.0),
        TransportLimits(queue_bytes_max=10 * (64 + 100), connect_timeout_s=60.0),
    ],
    ids=["message-bound", "byte-bound"],
)
async def test_a_full_queue_drops_and_reports_unreachable(
    make_transport: MakeTransport, limits: TransportLimits
) -> None:
    # A TCP listener that accepts and never answers: the stream hangs in CONNECTING, so
    # messages queue and nothing drains them.
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    a = await make_transport(1, peers={2: f"127.0.0.1:{port}"}, limits=limits)
    try:
        await wait_for(lambda: bool(accepted), "a connection attempt")
        a.transport.send([app(1, 2, i) for i in range(100)])
        a.transport.send([app(1, 2, i) for i in range(100, 150)])
        stats = a.transport.peer_stats(2)
        assert stats is not None
        assert stats.dropped_msgs == 140
        assert a.transport.peer_state(2) is PeerState.CONNECTING
        await wait_for(lambda: a.rec.unreachable == [2], "unreachable reported")
        for _ in range(5):  # reports go through call_soon: let any further (wrong) one run
            await asyncio.sleep(0)
        assert a.rec.unreachable == [2], "one report per episode, not one per dropped message"
    finally:
        for writer in accepted:
            writer.close()
        server.close()


async def test_send_before_start_drops(make_transport: MakeTransport) -> None:
    a = await make_transport(1, peers={2: "127.0.0.1:1"}, start=False)
    a.transport.send([app(1, 2, 1)])
    assert a.transport.stats.unknown_peer_drops == 1


async def test_another_cluster_is_refused_and_logged_once(make_transport: MakeTransport) -> None:
    with capture_logs() as logs:
        b = await make_transport(2, cluster_id="cluster-b")
        a = await make_transport(1, peers={2: b.address}, cluster_id="cluster-a")
        a.transport.send([app(1, 2, 1)])
        await wait_for(
            lambda: a.transport.peer_stats(2).failures >= 4,  # type: ignore[union-attr]
            "several refused attempts",
        )
        with pytest.raises(PeerRefused):
            await a.transport.client(2).forward(api.ForwardRequest((b"GET", b"k")))
    assert b.rec.messages == []
    assert b.transport.stats.refused >= 4
    refused = [e for e in logs if e["event"] == "peer_refused"]
    on_b = [e for e in refused if e.get("cluster_id") == "cluster-a"]
    on_a = [e for e in refused if e.get("address") == b.address]
    assert len(on_b) == 1, refused
    assert len(on_a) == 1, refused
    assert "cluster-a" in on_b[0]["reason"] and "cluster-b" in on_b[0]["reason"]


def snap_message(frm: int, to: int, data: bytes) -> Message:
    meta = SnapshotMetadata(index=1234, term=7, conf_state=ConfState((1, 2, 3), (4,)))
    return Message(MessageType.MsgSnap, to=to, frm=frm, term=7, snapshot=Snapshot(meta, data))


async def test_a_5mib_snapshot_arrives_in_chunks_intact(make_transport: MakeTransport) -> None:
    a = await make_transport(1)
    b = await make_transport(2)
    await connect_all([a, b])
    data = os.urandom(5 << 20)
    m = snap_message(1, 2, data)
    a.transport.send([app(1, 2, 1), m, app(1, 2, 2)])
    await wait_for(lambda: a.rec.snapshot_status == [(2, False)], "snapshot reported sent")
    snaps = [x for x in b.rec.messages if x.type is MessageType.MsgSnap]
    assert len(snaps) == 1
    assert snaps[0] == m  # metadata, conf state and all 5 MiB of data
    assert b.transport.stats.snapshots_received == 1
    await wait_for(lambda: len(b.rec.messages) == 3, "the appends around it")


async def test_a_snapshot_to_a_dead_peer_reports_failure(make_transport: MakeTransport) -> None:
    a = await make_transport(1, peers={2: f"127.0.0.1:{free_port()}"})
    a.transport.send([snap_message(1, 2, b"abc")])
    await wait_for(lambda: a.rec.snapshot_status == [(2, True)], "snapshot reported failed")


async def test_a_short_snapshot_reader_fails_the_snapshot(make_transport: MakeTransport) -> None:
    def short_reader(m: Message, chunk_bytes: int) -> tuple[int, object]:
        async def chunks():  # type: ignore[no-untyped-def]
            yield b"only this"

        return 1000, chunks()

    b = await make_transport(2)
    a = await make_transport(1, peers={2: b.address}, snapshot_reader=short_reader)
    a.transport.send([snap_message(1, 2, b"")])
    await wait_for(lambda: a.rec.snapshot_status == [(2, True)], "snapshot reported failed")
    assert b.rec.messages == []


async def test_snapshot_chunks_come_from_the_reader(make_transport: MakeTransport) -> None:
    pieces = [b"a" * 10, b"b" * 20, b"c" * 5]

    def reader(m: Message, chunk_bytes: int) -> tuple[int, object]:
        async def chunks():  # type: ignore[no-untyped-def]
            for piece in pieces:
                yield piece

        return 35, chunks()

    b = await make_transport(2)
    a = await make_transport(1, peers={2: b.address}, snapshot_reader=reader)
    a.transport.send([snap_message(1, 2, b"")])
    await wait_for(lambda: a.rec.snapshot_status == [(2, False)], "snapshot sent")
    assert b.rec.messages[0].snapshot.data == b"".join(pieces)  # type: ignore[union-attr]


async def test_forward_round_trip(make_transport: MakeTransport) -> None:
    seen: list[api.ForwardRequest] = []

    async def forward(request: api.ForwardRequest) -> api.ForwardReply:
        seen.append(request)
        if request.argv[0] == b"REDIRECT":
            return api.ForwardReply(api.ReplyStatus.NOT_LEADER, leader_id=3, leader_address="h:1")
        body = b"".join(request.argv)
        return api.ForwardReply(reply=b"$%d\r\n%s\r\n" % (len(body), body))

    b = await make_transport(2, handlers=api.Handlers(forward=forward))
    a = await make_transport(1, peers={2: b.address})
    client = a.transport.client(2)
    reply = await client.forward(api.ForwardRequest((b"GET", b"\x00k"), db=5, protocol=3))
    assert reply == api.ForwardReply(reply=b"$5\r\nGET\x00k\r\n")
    assert seen == [api.ForwardRequest((b"GET", b"\x00k"), db=5, protocol=3, sender_id=1)]
    redirect = await client.forward(api.ForwardRequest((b"REDIRECT",)))
    assert redirect.status is api.ReplyStatus.NOT_LEADER
    assert (redirect.leader_id, redirect.leader_address) == (3, "h:1")


async def test_forward_batch_round_trip_keeps_order(make_transport: MakeTransport) -> None:
    seen: list[api.ForwardBatchRequest] = []

    async def forward_batch(request: api.ForwardBatchRequest) -> api.ForwardBatchReply:
        seen.append(request)
        replies = []
        for command in request.commands:
            if command.argv[0] == b"REDIRECT":
                replies.append(api.ForwardReply(api.ReplyStatus.NOT_LEADER, leader_id=3))
            else:
                body = b"".join(command.argv)
                replies.append(api.ForwardReply(reply=b"$%d\r\n%s\r\n" % (len(body), body)))
        return api.ForwardBatchReply(tuple(replies))

    b = await make_transport(2, handlers=api.Handlers(forward_batch=forward_batch))
    a = await make_transport(1, peers={2: b.address})
    commands = (
        api.ForwardRequest((b"SET", b"\x00k", b"1"), db=5, protocol=3),
        api.ForwardRequest((b"REDIRECT",)),
        api.ForwardRequest((b"INCR", b"n"), db=0, protocol=2),
    )
    reply = await a.transport.client(2).forward_batch(api.ForwardBatchRequest(commands))
    assert reply.replies == (
        api.ForwardReply(reply=b"$6\r\nSET\x00k1\r\n"),
        api.ForwardReply(api.ReplyStatus.NOT_LEADER, leader_id=3),
        api.ForwardReply(reply=b"$5\r\nINCRn\r\n"),
    )
    # Every command names the batch's sender; db and protocol travel per command.
    assert seen == [
        api.ForwardBatchRequest(
            tuple(
                api.ForwardRequest(c.argv, c.db, c.protocol, sender_id=1) for c in commands
            ),
            sender_id=1,
        )
    ]


async def test_forward_batch_from_another_cluster_is_refused(make_transport: MakeTransport) -> None:
    calls: list[api.ForwardBatchRequest] = []

    async def forward_batch(request: api.ForwardBatchRequest) -> api.ForwardBatchReply:
        calls.append(request)
        return api.ForwardBatchReply()

    b = await make_transport(
        2, cluster_id="cluster-b", handlers=api.Handlers(forward_batch=forward_batch)
    )
    a = await make_transport(1, peers={2: b.address}, cluster_id="cluster-a")
    request = api.ForwardBatchRequest((api.ForwardRequest((b"SET", b"k", b"v")),))
    with pytest.raises(PeerRefused):
        await a.transport.client(2).forward_batch(request)
    assert calls == []


async def test_unary_errors_say_whose_fault(make_transport: MakeTransport) -> None:
    never = asyncio.Event()

    async def hang(request: api.TransferLeaderRequest) -> api.TransferLeaderReply:
        await never.wait()
        raise AssertionError("unreachable")

    b = await make_transport(2, handlers=api.Handlers(transfer_leader=hang))
    a = await make_transport(1, peers={2: b.address, 3: f"127.0.0.1:{free_port()}"})
    with pytest.raises(PeerError, match="UNIMPLEMENTED"):
        await a.transport.client(2).forward(api.ForwardRequest((b"PING",)))
    with pytest.raises(PeerUnavailable):
        await a.transport.client(2, timeout_s=0.2).transfer_leader(api.TransferLeaderRequest(3))
    with pytest.raises(PeerUnavailable):
        await a.transport.client(3).status(timeout_s=0.5)


async def test_admin_calls_from_a_standalone_client(make_transport: MakeTransport) -> None:
    calls: list[object] = []

    async def status(request: api.StatusRequest) -> api.StatusReply:
        return api.StatusReply(
            cluster_id="test-cluster",
            node_id=2,
            role="leader",
            term=4,
            leader_id=2,
            members=(api.Member(2, "a:7379", "a:6379"), api.Member(5, "b:7379", "", False)),
        )

    async def change(request: api.ChangeMembershipRequest) -> api.ChangeMembershipReply:
        calls.append(request)
        return api.ChangeMembershipReply(index=42)

    async def transfer(request: api.TransferLeaderRequest) -> api.TransferLeaderReply:
        calls.append(request)
        return api.TransferLeaderReply(api.ReplyStatus.ERROR, error="no such node")

    b = await make_transport(
        2,
        handlers=api.Handlers(status=status, change_membership=change, transfer_leader=transfer),
    )
    from seshat.transport import PeerClient

    async with PeerClient.connect(b.address) as anonymous:
        reply = await anonymous.status()  # no cluster id yet: Status alone accepts that
        assert reply.role == "leader" and reply.members[1] == api.Member(5, "b:7379", "", False)
        with pytest.raises(PeerRefused):
            await anonymous.transfer_leader(api.TransferLeaderRequest(1))
    async with PeerClient.connect(b.address, cluster_id=reply.cluster_id) as admin:
        added = await admin.change_membership(
            api.ChangeMembershipRequest(api.MembershipAction.ADD_LEARNER, 5, "b:7379", "b:6379")
        )
        assert added == api.ChangeMembershipReply(index=42)
        moved = await admin.transfer_leader(api.TransferLeaderRequest(9))
        assert moved.status is api.ReplyStatus.ERROR and moved.error == "no such node"
    assert calls == [
        api.ChangeMembershipRequest(api.MembershipAction.ADD_LEARNER, 5, "b:7379", "b:6379"),
        api.TransferLeaderRequest(9),
    ]


async def test_peers_come_and_go_at_runtime(make_transport: MakeTransport) -> None:
    a = await make_transport(1)
    b = await make_transport(2)
    c = await make_transport(3)
    await connect_all([a, b])
    a.transport.add_peer(3, c.address)
    await wait_for(lambda: a.transport.peer_state(3) is PeerState.CONNECTED, "1 -> 3")
    a.transport.send([app(1, 3, 1)])
    await wait_for(lambda: len(c.rec.messages) == 1, "message to the added peer")
    a.transport.remove_peer(3)
    assert a.transport.peers() == {2: b.address}
    a.transport.send([app(1, 3, 2), app(1, 2, 2)])
    assert a.transport.stats.unknown_peer_drops == 1
    await wait_for(lambda: len(b.rec.messages) == 1, "2 still served")
    # A changed address restarts the sender toward the new one; an address that turns out to
    # be another node's is refused, not served.
    a.transport.add_peer(2, c.address)
    await wait_for(lambda: c.transport.stats.refused >= 1, "3 refuses traffic meant for 2")
    b2 = await make_transport(2)
    a.transport.add_peer(2, b2.address)
    await wait_for(lambda: a.transport.peer_state(2) is PeerState.CONNECTED, "1 -> new 2")
    a.transport.send([app(1, 2, 3)])
    await wait_for(lambda: b2.rec.messages == [app(1, 2, 3)], "message at the new 2")
    assert c.rec.messages == [app(1, 3, 1)]


async def test_port_in_use_is_an_error(make_transport: MakeTransport) -> None:
    a = await make_transport(1)
    with pytest.raises(OSError):
        await make_transport(2, port=a.transport.port, limits=FAST_LIMITS)


@pytest.mark.parametrize(
    "limits",
    [
        TransportLimits(batch_msgs_max=10),
        TransportLimits(batch_bytes_max=5 * (64 + 100)),
    ],
    ids=["message-bound", "byte-bound"],
)
async def test_frames_are_split_at_the_batch_limits(
    make_transport: MakeTransport, limits: TransportLimits
) -> None:
    b = await make_transport(2)
    a = await make_transport(1, peers={2: b.address}, limits=limits)
    await wait_for(lambda: a.transport.peer_state(2) is PeerState.CONNECTED, "1 -> 2")
    sent = [app(1, 2, i) for i in range(95)]
    a.transport.send(sent)
    await wait_for(lambda: len(b.rec.messages) == 95, "95 messages")
    assert b.rec.messages == sent
    stats = a.transport.peer_stats(2)
    assert stats is not None
    assert stats.sent_batches >= 10 if limits.batch_msgs_max == 10 else stats.sent_batches >= 19
    assert a.transport.queued(2) == 0


async def test_peers_added_before_start_and_a_restart_of_the_same_object(
    make_transport: MakeTransport,
) -> None:
    b = await make_transport(2)
    a = await make_transport(1, start=False)
    a.transport.add_peer(2, b.address)
    a.transport.add_peer(1, "ignored:1")  # ourselves
    assert a.transport.peers() == {2: b.address}
    await a.transport.start()
    await wait_for(lambda: a.transport.peer_state(2) is PeerState.CONNECTED, "1 -> 2")
    await a.transport.stop()
    assert a.transport.peers() == {2: b.address}
    await a.transport.start()
    a.transport.send([app(1, 2, 7)])
    await wait_for(lambda: b.rec.messages == [app(1, 2, 7)], "message after a second start")
