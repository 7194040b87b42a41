"""What a node needs to be one of several: transport, forwarding, membership, snapshots.

`Cluster` owns the gRPC transport and answers the node-to-node RPCs: `Forward` and
`ForwardBatch` (a follower relays clients' commands, plain writes batched by
`seshat/forwarder.py`; the leader runs them as its own and returns the encoded replies),
`ChangeMembership` and `TransferLeader` (admin), `Status`. It keeps the directory of member
addresses, learned from `--peers`, from conf-change entries (their context carries a joining
node's addresses, so every replica learns them from the log) and from peers' `Status`.

Snapshots: the Raft log is truncated once long (`Server._maybe_compact`), so a follower that
is far behind gets a snapshot: the whole state machine (kv_data, tombstones and kv's metadata)
as of the applied index, taken on the loop so nothing applies between reading the index and
reading the data, streamed in chunks by the transport and installed atomically in one batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgpack

from seshat import logs
from seshat.broadcaster import Broadcaster
from seshat.forwarder import Forwarder, relayed_reply
from seshat.kv import errors as E
from seshat.kv import transactions, waits
from seshat.kv.operation import Watched, encode_exec, encode_exec_as
from seshat.kv.script_user import SCRIPT_AS_FORWARD
from seshat.kv.service import Connection, Immediate, Read, Session, Write
from seshat.protocol.encoder import encode
from seshat.protocol.replies import ErrorReply, Raw, Reply
from seshat.raft.core import ProposalDropped
from seshat.raft.node import Completion
from seshat.raft.storage import SnapshotTemporarilyUnavailable
from seshat.raft.types import (
    ConfChange,
    ConfChangeType,
    Entry,
    Message,
    Snapshot,
    SnapshotMetadata,
)
from seshat.storage.engine import KV_DATA, METADATA, TOMBSTONES, Engine
from seshat.storage.raft_log import RocksLogStorage
from seshat.transport import api
from seshat.transport.grpc_transport import GrpcTransport, PeerState

if TYPE_CHECKING:
    from seshat.server import Server

FORWARD_TIMEOUT_S = 10.0
FOREVER_S = 1e8  # a forwarded BLPOP with timeout 0 waits as long as its client does
# Internal forwarded command: a follower's EXEC (plan and watched keys, msgpack); a client cannot
# send it (the first byte makes it no command name the follower's parser would dispatch to us).
EXEC_FORWARD = b"\x00exec"
PROMOTE_LAG_ENTRIES_MAX = 100  # a learner this close to the leader's log is caught up
_NODE_LOCAL_METADATA = (b"node_id", b"cluster_id")


def node_name(cluster_id: str, node_id: int) -> str:
    """A stable 40-hex id per node, as Redis Cluster node ids look (CLUSTER NODES, MYID)."""
    return hashlib.sha1(f"{cluster_id}:{node_id}".encode()).hexdigest()


def encode_member_context(raft_address: str, client_address: str) -> bytes:
    return msgpack.packb({"raft": raft_address, "client": client_address})


def decode_member_context(context: bytes) -> tuple[str, str]:
    if not context:
        return "", ""
    fields = msgpack.unpackb(context)
    return str(fields.get("raft", "")), str(fields.get("client", ""))


def export_state(engine: Engine) -> bytes:
    """The state machine's column families as one msgpack blob (node identity excluded)."""
    rows: list[tuple[str, bytes, bytes]] = []
    for cf in (KV_DATA, TOMBSTONES, METADATA):
        for key, value in engine.iterate(cf, b"", None):
            if cf == METADATA and key in _NODE_LOCAL_METADATA:
                continue
            rows.append((cf, key, value))
    return msgpack.packb(rows, use_bin_type=True)


def import_state(engine: Engine, data: bytes) -> None:
    """Replace the state machine with a snapshot's, atomically (one batch)."""
    rows = msgpack.unpackb(data, raw=False) if data else []
    batch = engine.batch()
    batch.delete_range(KV_DATA, b"", b"\xff" * 16)
    batch.delete_range(TOMBSTONES, b"", b"\xff" * 16)
    for key, _ in list(engine.iterate(METADATA, b"", None)):
        if key not in _NODE_LOCAL_METADATA:
            batch.delete(METADATA, key)
    for cf, key, value in rows:
        batch.put(cf, key, value)
    engine.write(batch)


class SnapshottingLogStorage(RocksLogStorage):
    """`snapshot()` describes the state machine as of *now* (the applied index), not the
    last compaction point, so the data and the metadata always agree."""

    def __init__(self, engine: Engine, describe: Callable[[], Snapshot]) -> None:
        super().__init__(engine)
        self._describe = describe

    def snapshot(self) -> Snapshot:
        return self._describe()


class Cluster:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.config = server.config
        self.log = logs.get("seshat.cluster")
        self.raft_addresses: dict[int, str] = dict(self.config.peers)
        self.client_addresses: dict[int, str] = {self.config.node_id: self.own_client_address()}
        self.transport: GrpcTransport | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.forwarder = Forwarder(self, FORWARD_TIMEOUT_S)
        self.broadcaster = Broadcaster(lambda: self.transport)

    def own_client_address(self) -> str:
        if self.config.advertise:
            return self.config.advertise
        return f"{self.config.bind}:{self.server.port}"

    # ------------------------------------------------------------------ lifecycle

    def make_transport(self) -> GrpcTransport:
        config = self.config
        server = self.server
        self.transport = GrpcTransport(
            node_id=config.node_id,
            cluster_id=server.cluster_id,
            peers={n: a for n, a in self.raft_addresses.items() if n != config.node_id},
            bind=config.bind,
            port=config.raft_port,
            stream_port=None if config.raft_stream_port < 0 else config.raft_stream_port,
            on_message=self._on_message,
            on_unreachable=lambda peer: server.node.report_unreachable(peer),
            on_snapshot_status=lambda peer, failed: server.node.report_snapshot(peer, failed),
            handlers=api.Handlers(
                forward=self.handle_forward,
                forward_batch=self.handle_forward_batch,
                change_membership=self.handle_change_membership,
                transfer_leader=self.handle_transfer,
                status=self.handle_status,
                publish=self.handle_publish,
            ),
        )
        return self.transport

    def _on_message(self, message: Message) -> None:
        self.server.node.step(message)

    async def stop(self) -> None:
        await self.forwarder.stop()
        await self.broadcaster.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.transport is not None:
            await self.transport.stop()

    def live_followers(self) -> list[int]:
        """The leader's other voters that answered lately over a connected stream: those a
        leadership transfer can reach (FAILOVER, and a stopping leader's hand-off)."""
        raw, transport = self.server.node.raw, self.transport
        if transport is None or not self.server.node.is_leader():
            return []
        progress = raw.raft.progress
        return [
            n
            for n in raw.conf_state().voters
            if n != raw.id
            and n in progress
            and progress[n].recent_active
            and transport.peer_state(n) is PeerState.CONNECTED
        ]

    async def hand_off_leadership(self) -> None:
        """A leader that stops hands leadership to its most caught-up live voter first.

        The others then go on after one round trip instead of an election timeout: a rolling
        restart or `docker compose stop` pauses writes for a transfer, not for an election.
        Bounded by one election timeout, and given up early if the target's stream breaks
        (the whole cluster stopping at once); the others then elect a leader as after a crash.
        """
        node, raw, transport = self.server.node, self.server.node.raw, self.transport
        if not node.is_leader() or node.failure is not None or transport is None:
            return
        live = self.live_followers()
        if not live:
            return
        progress = raw.raft.progress
        target = max(live, key=lambda n: progress[n].match)
        config = self.config
        deadline = time.monotonic() + config.election_ticks * config.tick_interval_ms / 1000
        node.transfer_leader(target)
        while (
            node.is_leader()
            and time.monotonic() < deadline
            and transport.peer_state(target) is PeerState.CONNECTED
        ):
            await asyncio.sleep(0.005)
        handed = not node.is_leader()
        event = "leadership_handed_off" if handed else "leadership_hand_off_failed"
        self.log.info(event, target=target, term=raw.term(), node_id=config.node_id)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ snapshots

    def describe_snapshot(self) -> Snapshot:
        server = self.server
        raw = server.node.raw
        applied = server.state_machine.applied_index()
        if raw.committed() != applied:
            # The core's membership may include a committed change not yet applied here.
            raise SnapshotTemporarilyUnavailable()
        assert server.engine is not None
        term = server.log_storage.term(applied)
        meta = SnapshotMetadata(index=applied, term=term, conf_state=raw.conf_state())
        return Snapshot(metadata=meta, data=export_state(server.engine))

    # ------------------------------------------------------------------ applied conf changes

    def on_conf_change(self, entry: Entry) -> None:
        """Every replica: learn the member's addresses and (dis)connect the transport."""
        change = ConfChange.decode(entry.data)
        raft_address, client_address = decode_member_context(change.context)
        node = change.node_id
        transport = self.transport
        if change.type is ConfChangeType.REMOVE_NODE:
            self.raft_addresses.pop(node, None)
            self.client_addresses.pop(node, None)
            if transport is not None and node != self.config.node_id and node in transport.peers():
                transport.remove_peer(node)
            return
        if raft_address:
            self.raft_addresses[node] = raft_address
        if client_address:
            self.client_addresses[node] = client_address
        address = self.raft_addresses.get(node)
        if transport is not None and node != self.config.node_id and address:
            if node not in transport.peers():
                transport.add_peer(node, address)

    # ------------------------------------------------------------------ forwarding (follower)

    def forward_write(self, argv: list[bytes], db: int, protocol: int) -> Completion:
        """Relay a plain write to the leader in the next `ForwardBatch`; the completion's
        result is its reply. Writes keep the order they were submitted in."""
        return self.forwarder.submit(argv, db, protocol)

    def forward(self, argv: list[bytes], db: int, protocol: int) -> Completion:
        """Relay a command to the leader in a call of its own (`Forward`); the completion's
        result is its encoded reply. For what cannot join a batch: blocking pops and EXEC.

        A blocking pop blocks on the leader (`seshat/blocking.py`): the call's deadline is its
        timeout plus the usual forwarding time."""
        completion = Completion()
        timeout_s = FORWARD_TIMEOUT_S
        if waits.blocks(argv):
            timeout_ms = waits.timeout_ms(argv)
            timeout_s = FOREVER_S if timeout_ms == 0 else timeout_ms / 1000 + FORWARD_TIMEOUT_S
        self._spawn(self._forward(argv, db, protocol, completion, timeout_s))
        return completion

    def forward_exec(
        self,
        plan: list[Any],
        watched: list[Watched],
        db: int,
        protocol: int,
        user: bytes | None = None,
    ) -> Completion:
        """Relay a follower client's EXEC: the leader builds, proposes and checks it.
        `plan` items are `(db, argv)` commands or `Raw` replies already known here; `user`, a
        restricted ACL user's name, whose scripts inside the leader's entry then checks."""
        items = [[0, item[0], item[1]] if isinstance(item, tuple) else [1, item.data] for item in plan]
        fields = [items, [[w.db, w.key, w.index, w.existed] for w in watched]]
        if user is not None:
            fields.append(user)
        payload = msgpack.packb(fields, use_bin_type=True)
        return self.forward([EXEC_FORWARD, payload], db, protocol)

    async def _wait_for_leader(self) -> int:
        """The leader's id, waiting up to two election timeouts for one; 0 if none."""
        node = self.server.node
        config = self.config
        deadline_s = 2 * config.election_ticks * config.tick_interval_ms / 1000
        waited = 0.0
        while True:
            leader = node.leader_id()
            if leader and (leader == config.node_id or (
                self.transport is not None and leader in self.transport.peers()
            )):
                return leader
            if waited >= deadline_s:
                return 0
            await asyncio.sleep(0.02)
            waited += 0.02

    async def _forward(
        self,
        argv: list[bytes],
        db: int,
        protocol: int,
        completion: Completion,
        timeout_s: float = FORWARD_TIMEOUT_S,
    ) -> None:
        leader = await self._wait_for_leader()
        if leader == 0:
            completion.set_result(E.CLUSTERDOWN_NO_LEADER)
            return
        if leader == self.config.node_id:  # we became leader meanwhile
            completion.set_result(await self.execute(Session(db), argv))
            return
        assert self.transport is not None
        request = api.ForwardRequest(argv=tuple(argv), db=db, protocol=protocol)
        try:
            reply = await self.transport.client(leader, timeout_s).forward(request)
        except asyncio.CancelledError:
            completion.set_result(E.UNKNOWN_OUTCOME)
            raise
        except Exception as error:  # the leader died or the call timed out: fate unknown
            self.log.debug("forward_failed", leader=leader, error=str(error))
            completion.set_result(E.UNKNOWN_OUTCOME)
            return
        completion.set_result(relayed_reply(reply))

    # ------------------------------------------------------------------ RPC handlers (leader)

    def _refusal(self) -> api.ForwardReply | None:
        """None on the leader; otherwise the reply saying the command never ran here."""
        node = self.server.node
        if node.is_leader():
            return None
        return api.ForwardReply(
            status=api.ReplyStatus.NOT_LEADER if node.leader_id() else api.ReplyStatus.NO_LEADER,
            leader_id=node.leader_id(),
        )

    async def handle_forward(self, request: api.ForwardRequest) -> api.ForwardReply:
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        reply = await self.execute(Session(request.db), list(request.argv))
        return api.ForwardReply(reply=encode(reply, request.protocol))

    async def handle_forward_batch(self, request: api.ForwardBatchRequest) -> api.ForwardBatchReply:
        commands = request.commands
        refusal = self._refusal()
        if refusal is not None:
            return api.ForwardBatchReply((refusal,) * len(commands))
        replies = await self.execute_batch([(c.db, list(c.argv)) for c in commands])
        return api.ForwardBatchReply(
            tuple(
                api.ForwardReply(reply=encode(reply, c.protocol))
                for reply, c in zip(replies, commands)
            )
        )

    async def execute_batch(self, commands: list[tuple[int, list[bytes]]]) -> list[Reply]:
        """Run a follower's forwarded `(db, argv)` commands in order on this node (the leader).

        Consecutive writes are proposed with one `propose_batch`, as a pipelined connection's
        are: one log append for the run instead of one per command. Anything else (a read, a
        blocking pop, an EXEC) first waits for the writes before it, then runs alone through
        `execute`, so it sees them as it would have one command at a time.
        """
        server = self.server
        replies: list[Reply] = [None] * len(commands)
        indexes: list[int] = []  # the run of writes not proposed yet
        datas: list[bytes] = []
        proposed: list[tuple[int, Completion]] = []
        for i, (db, argv) in enumerate(commands):
            session = Session(db)
            if argv[0] == SCRIPT_AS_FORWARD:  # a restricted ACL user's script (seshat/acl)
                session.script_user, argv = argv[1], argv[2:]
            prepared = None if argv[0] == EXEC_FORWARD else server.kv.prepare(session, argv)
            if isinstance(prepared, Write) and not waits.blocks(argv):
                indexes.append(i)
                datas.append(prepared.data)
            elif isinstance(prepared, Immediate):
                replies[i] = prepared.reply
            else:
                proposed += self._propose_run(indexes, datas, replies)
                indexes, datas = [], []
                await self._settle(proposed, replies)
                proposed = []
                if prepared is None:
                    replies[i] = await self.execute(session, argv)
                else:
                    replies[i] = await self._run_prepared(session, argv, prepared)
        proposed += self._propose_run(indexes, datas, replies)
        await self._settle(proposed, replies)
        return replies

    def _propose_run(
        self, indexes: list[int], datas: list[bytes], replies: list[Reply]
    ) -> list[tuple[int, Completion]]:
        """Propose a run of writes in one call; a refusal answers all of them at once."""
        if not datas:
            return []
        server = self.server
        try:
            completions = server.node.propose_batch(datas)
        except ProposalDropped as dropped:
            reply = server.dropped_reply(dropped)
            for i in indexes:
                replies[i] = reply
            return []
        return list(zip(indexes, completions))

    async def _settle(self, proposed: list[tuple[int, Completion]], replies: list[Reply]) -> None:
        """Wait for every proposed write to apply (one wake-up, not one per write); store each
        result, or the reply for its failure, in `replies`."""
        await _all_settled([completion for _, completion in proposed])
        server = self.server
        for i, completion in proposed:
            error = completion.error
            replies[i] = completion.result if error is None else server.failure_reply(error)

    async def execute(self, session: Session, argv: list[bytes]) -> Reply:
        """Run one data command to completion on this node (the leader)."""
        server = self.server
        if argv[0] == EXEC_FORWARD:
            return await self._execute_exec(argv[1])
        if argv[0] == SCRIPT_AS_FORWARD:  # a restricted ACL user's script (seshat/acl)
            session.script_user, argv = argv[1], argv[2:]
        return await self._run_prepared(session, argv, server.kv.prepare(session, argv))

    async def _run_prepared(self, session: Session, argv: list[bytes], prepared: Any) -> Reply:
        """`execute` once the command is prepared (execute_batch has prepared it already)."""
        server = self.server
        if isinstance(prepared, Immediate):
            return prepared.reply
        if isinstance(prepared, Connection):
            return ErrorReply("ERR this command cannot be forwarded")
        try:
            if isinstance(prepared, Write):
                if waits.blocks(argv):
                    return await self._execute_blocking(session, argv, prepared.data)
                result: Reply = await server.node.propose(prepared.data)
                return result
            assert isinstance(prepared, Read)
            barrier = server.node.read_barrier()
            if barrier is not None:
                await barrier
            return server.kv.execute_read(session, argv)
        except ProposalDropped as dropped:
            return server.dropped_reply(dropped)
        except Exception as error:
            return server.failure_reply(error)

    async def _execute_blocking(self, session: Session, argv: list[bytes], data: bytes) -> Reply:
        """A follower's blocking pop, blocked here; forgotten if the follower gives up."""
        owner = object()
        completion = self.server.blocking.start(argv, session.db, owner, data)
        try:
            result: Reply = await completion
        except asyncio.CancelledError:
            self.server.blocking.cancel(owner)
            raise
        return result

    async def _execute_exec(self, payload: bytes) -> Reply:
        """A follower's EXEC (see `forward_exec`), built with this leader's clock."""
        server = self.server
        fields = msgpack.unpackb(payload, raw=False)
        items, watched = fields[0], fields[1]
        user: bytes | None = fields[2] if len(fields) > 2 else None
        plan: list[Any] = [
            (item[1], item[2]) if item[0] == 0 else Raw(item[1]) for item in items
        ]
        now_ms = server.kv.clock_ms()
        commands, fixed = transactions.build(now_ms, plan)
        watches = [Watched(db, key, index, existed) for db, key, index, existed in watched]
        data = (
            encode_exec(now_ms, commands, watches)
            if user is None
            else encode_exec_as(now_ms, commands, watches, user)
        )
        try:
            result: Reply = await server.node.propose(data)
        except ProposalDropped as dropped:
            return server.dropped_reply(dropped)
        except Exception as error:
            return server.failure_reply(error)
        return transactions.splice(result, fixed)

    async def handle_change_membership(
        self, request: api.ChangeMembershipRequest
    ) -> api.ChangeMembershipReply:
        node = self.server.node
        if not node.is_leader():
            return api.ChangeMembershipReply(
                status=api.ReplyStatus.NOT_LEADER, leader_id=node.leader_id()
            )
        action = {
            api.MembershipAction.ADD_LEARNER: ConfChangeType.ADD_LEARNER,
            api.MembershipAction.PROMOTE: ConfChangeType.ADD_NODE,
            api.MembershipAction.REMOVE: ConfChangeType.REMOVE_NODE,
        }[request.action]
        context = encode_member_context(request.raft_address, request.client_address)
        try:
            completion = node.propose_conf_change(ConfChange(action, request.target_id, context))
        except ProposalDropped as dropped:
            return api.ChangeMembershipReply(status=api.ReplyStatus.ERROR, error=dropped.reason)
        try:
            await asyncio.wait_for(_settled(completion), FORWARD_TIMEOUT_S)
        except Exception as error:
            return api.ChangeMembershipReply(status=api.ReplyStatus.ERROR, error=str(error))
        return api.ChangeMembershipReply(index=node.raw.committed())

    async def handle_transfer(self, request: api.TransferLeaderRequest) -> api.TransferLeaderReply:
        node = self.server.node
        if not node.is_leader():
            return api.TransferLeaderReply(
                status=api.ReplyStatus.NOT_LEADER, leader_id=node.leader_id()
            )
        node.transfer_leader(request.target_id)
        return api.TransferLeaderReply(leader_id=node.leader_id())

    # ------------------------------------------------------------------ pub/sub

    async def handle_publish(self, request: api.PublishRequest) -> api.PublishReply:
        pubsub = self.server.pubsub
        for m in request.messages:
            pubsub.deliver(m.channel, m.message, m.shard)
        return api.PublishReply()

    async def handle_status(self, request: api.StatusRequest) -> api.StatusReply:
        raw = self.server.node.raw
        conf = raw.conf_state()
        members = tuple(
            api.Member(
                node_id=n,
                raft_address=self.raft_addresses.get(n, ""),
                client_address=self.client_addresses.get(n, ""),
                voter=n in conf.voters,
            )
            for n in conf.all_nodes()
        )
        return api.StatusReply(
            cluster_id=self.server.cluster_id,
            node_id=raw.id,
            role=raw.role().value,
            term=raw.term(),
            leader_id=raw.leader_id(),
            commit_index=raw.committed(),
            applied_index=self.server.node.applied,
            last_log_index=raw.last_index(),
            members=members,
            raft_address=self.raft_addresses.get(raw.id, ""),
            client_address=self.own_client_address(),
        )

    # ------------------------------------------------------------------ admin helpers

    async def add_node(self, node_id: int, raft_address: str, client_address: str) -> str:
        """Add as learner, wait until caught up, promote. Returns "" or an error text."""
        reply = await self.handle_change_membership(
            api.ChangeMembershipRequest(
                api.MembershipAction.ADD_LEARNER, node_id, raft_address, client_address
            )
        )
        if reply.status is not api.ReplyStatus.OK:
            return reply.error or "not leader"
        return ""  # promotion: `maybe_promote_learners`, run by whichever node leads

    def maybe_promote_learners(self) -> None:
        """Leader only, from the maintenance timer: promote one learner that has caught up.

        Promotion is the leader's periodic duty rather than a task of the node that took the
        RAFT.NODE ADD: that leader may lose office a moment later (a chaos run saw a learner
        stay one for minutes, leaving two voters), and the next leader must finish the job.
        """
        node = self.server.node
        raw = node.raw
        if not node.is_leader():
            return
        for learner in raw.conf_state().learners:
            progress = raw.raft.progress.get(learner)
            if progress is None or progress.match + PROMOTE_LAG_ENTRIES_MAX < raw.last_index():
                continue
            try:
                node.propose_conf_change(ConfChange(ConfChangeType.ADD_NODE, learner))
            except ProposalDropped:
                return  # another change is pending: the next cycle tries again
            self.log.info("learner_promoted", node_id=learner)
            return

    async def refresh_client_addresses(self) -> None:
        """Ask each member we lack a client address for (for MOVED and CLUSTER SLOTS)."""
        if self.transport is None:
            return
        for node in list(self.transport.peers()):
            if node in self.client_addresses:
                continue
            try:
                status = await self.transport.client(node, 1.0).status()
            except Exception:
                continue
            if status.client_address:
                self.client_addresses[node] = status.client_address

    def node_name(self, node_id: int) -> str:
        return node_name(self.server.cluster_id, node_id)

    def leader_client_address(self) -> str:
        leader = self.server.node.leader_id()
        return self.client_addresses.get(leader, "")



async def _settled(completion: Completion) -> Any:
    """A coroutine for `asyncio.wait_for`, which takes awaitables but not Completions."""
    return await completion


async def _all_settled(completions: list[Completion]) -> None:
    """Return once every completion is settled; one future for all of them (awaiting each
    would cost a future and a loop callback per completion)."""
    remaining = sum(1 for completion in completions if not completion.done)
    if not remaining:
        return
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def one_settled(_: Completion) -> None:
        nonlocal remaining
        remaining -= 1
        if not remaining and not future.done():
            future.set_result(None)

    for completion in completions:
        if not completion.done:
            completion.add_callback(one_settled)
    await future
