"""A follower's plain writes, relayed to the leader in batches: one batch in flight.

A unary gRPC call costs about 400 µs and 300 µs of CPU in Python, so one `Forward` call per
command capped writes through a follower near 1k/s whatever the clients did. Here every
connection's forwarded writes join one queue; a batch takes what is queued (up to
`BATCH_COMMANDS_MAX` commands or `BATCH_BYTES_MAX` bytes of arguments) and travels in one
message on a long-lived forward stream to the leader (a unary call per batch would set up an
HTTP/2 stream each time), and the leader proposes it with one log append. The stream is a
plain TCP connection wherever this node's Raft stream to the leader is one, else gRPC's
`ForwardStream` (`GrpcTransport.forward_stream`): a gRPC frame each way cost more than the rest
of forwarding a write.

Order. Exactly one batch is in flight per node, and the next is sent only once the leader has
answered the previous one, so the leader has proposed every command of batch k before it sees
batch k+1, and runs each batch in order: the commands of one connection keep the order it sent
them in, across batches, without that connection waiting for each reply. While a batch is in
flight the next accumulates; an idle forwarder sends on the next loop turn (`call_soon`), so
every write queued in the same turn joins the first batch.

Blocking pops and a follower's EXEC do not come here: they keep `Cluster.forward` (a blocking
pop holds its call open on the leader; an EXEC carries its own plan), and a connection waits for
its batched writes before sending either.

Failure answers are those of a single `Forward`: no leader within the bounded wait answers
`-CLUSTERDOWN`; a leader that refuses (not leader any more) means nothing ran, also
`-CLUSTERDOWN`; a failed or timed-out call answers every command of the batch with the unknown
outcome error, never success. If this node became leader meanwhile, it runs the batch itself.

Older leaders (a rolling upgrade) answer UNIMPLEMENTED, so nothing of the batch ran. One
without `ForwardStream` gets each batch as a unary `ForwardBatch` call instead (until the leader
changes). One without `ForwardBatch` either gets the batch's commands one `Forward` call at a
time, in order; after a call whose fate is unknown, the commands behind it answer that no
leader ran them (true: they were never sent), as a batch that failed would.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seshat import logs
from seshat.kv import errors as E
from seshat.protocol.replies import ErrorReply, Raw, Reply
from seshat.raft.node import Completion
from seshat.transport import PeerClient, PeerUnimplemented, api
from seshat.transport.client import ForwardStream
from seshat.transport.plain_streams import PlainForwardStream

if TYPE_CHECKING:
    from seshat.cluster import Cluster

BATCH_COMMANDS_MAX = 1024
BATCH_BYTES_MAX = 4 << 20
"""A batch's bounds: well under the transport's message limit, and small enough that one
batch's replies do not wait long behind its slowest command."""


def relayed_reply(reply: api.ForwardReply) -> Reply:
    """What a follower answers for the leader's reply to one forwarded command."""
    if reply.status is api.ReplyStatus.OK:
        return Raw(reply.reply)
    if reply.status is api.ReplyStatus.ERROR:
        return ErrorReply(reply.error or "ERR forwarding failed")
    return E.CLUSTERDOWN_NO_LEADER  # not leader any more, or none: the command never ran there


@dataclass(slots=True)
class _Command:
    argv: list[bytes]
    db: int
    protocol: int
    completion: Completion


class Forwarder:
    """The queue of forwarded writes of every connection on this node, and its one sender."""

    def __init__(self, cluster: Cluster, timeout_s: float) -> None:
        self.cluster = cluster
        self.timeout_s = timeout_s
        self.log = logs.get("seshat.forwarder")
        self._queue: deque[_Command] = deque()
        self._active = False  # a send is scheduled or a batch is in flight
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # sent so far (INFO raft `forwarded`)
        self.commands = 0
        self.unary = 0  # batches sent as unary ForwardBatch calls (a leader without the stream)
        self.fallbacks = 0  # batches sent as single Forwards (a leader without ForwardBatch)
        self._stream: ForwardStream | PlainForwardStream | None = None
        self._stream_leader = 0
        self._no_stream_leader = 0  # the current leader answered UNIMPLEMENTED to ForwardStream

    @property
    def stream_kind(self) -> str:
        """How batches travel to the leader now: "tcp", "grpc", or "" with no stream open."""
        stream = self._stream
        if stream is None or not stream.usable:
            return ""
        if isinstance(stream, PlainForwardStream) and not stream.on_grpc:
            return "tcp"
        return "grpc"

    def submit(self, argv: list[bytes], db: int, protocol: int) -> Completion:
        """Queue one write for the leader; the completion's result is the reply to send."""
        completion = Completion()
        self._queue.append(_Command(argv, db, protocol, completion))
        if not self._active:
            self._active = True
            asyncio.get_running_loop().call_soon(self._start)
        return completion

    def _start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Cancel the sender; whatever was never sent answers that no leader ran it."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._settle_all(list(self._queue), E.CLUSTERDOWN_NO_LEADER)
        self._queue.clear()
        self._drop_stream()

    async def _run(self) -> None:
        """Send batches one after another until the queue is empty."""
        try:
            while self._queue:
                batch = self._take()
                try:
                    await self._send(batch)
                except asyncio.CancelledError:
                    self._settle_all(batch, E.UNKNOWN_OUTCOME)  # it may have reached the leader
                    raise
                except Exception:
                    self.log.error("forward_batch_crashed", exc_info=True)
                    self._settle_all(batch, E.UNKNOWN_OUTCOME)
                # Let the connections these replies woke queue their next writes first.
                await asyncio.sleep(0)
        finally:
            self._active = False
            self._task = None

    def _take(self) -> list[_Command]:
        """The oldest queued commands, within the batch bounds (at least one)."""
        queue = self._queue
        batch = [queue.popleft()]
        size = sum(map(len, batch[0].argv))
        while queue and len(batch) < BATCH_COMMANDS_MAX:
            more = sum(map(len, queue[0].argv))
            if size + more > BATCH_BYTES_MAX:
                break
            size += more
            batch.append(queue.popleft())
        return batch

    async def _send(self, batch: list[_Command]) -> None:
        cluster = self.cluster
        leader = await cluster._wait_for_leader()
        if leader == 0:
            self._settle_all(batch, E.CLUSTERDOWN_NO_LEADER)
            return
        if leader == cluster.config.node_id:  # we became leader meanwhile: run it here, in order
            self._drop_stream()  # to the old leader: nothing more goes there from this node
            replies = await cluster.execute_batch([(c.db, c.argv) for c in batch])
            for command, reply in zip(batch, replies):
                command.completion.set_result(reply)
            return
        assert cluster.transport is not None
        request = api.ForwardBatchRequest(
            tuple(api.ForwardRequest(tuple(c.argv), c.db, c.protocol) for c in batch)
        )
        self.batches += 1
        self.commands += len(batch)
        client = cluster.transport.client(leader, self.timeout_s)
        try:
            answer = await self._call_leader(leader, client, request)
        except PeerUnimplemented:
            await self._send_one_by_one(batch, request, client, leader)
            return
        except Exception as error:  # the leader died or the call timed out: fate unknown
            self.log.debug("forward_batch_failed", leader=leader, error=str(error))
            self._drop_stream()
            self._settle_all(batch, E.UNKNOWN_OUTCOME)
            return
        if len(answer.replies) != len(batch):
            got = len(answer.replies)
            self.log.error("forward_batch_reply_mismatch", leader=leader, sent=len(batch), got=got)
            self._drop_stream()
            self._settle_all(batch, E.UNKNOWN_OUTCOME)
            return
        for command, relayed in zip(batch, answer.replies):
            command.completion.set_result(relayed_reply(relayed))

    async def _call_leader(
        self, leader: int, client: PeerClient, request: api.ForwardBatchRequest
    ) -> api.ForwardBatchReply:
        """One batch to `leader`: on the stream, or as a unary call to a leader without it."""
        if leader == self._no_stream_leader:
            self.unary += 1
            return await client.forward_batch(request)
        self._no_stream_leader = 0  # another leader now (maybe upgraded since): try the stream
        try:
            return await self._stream_to(leader).send(request, self.timeout_s)
        except PeerUnimplemented:  # an older leader: nothing ran; unary calls while it leads
            self._no_stream_leader = leader
            self._drop_stream()
            self.unary += 1
            return await client.forward_batch(request)

    def _stream_to(self, leader: int) -> ForwardStream | PlainForwardStream:
        """The open stream to `leader`, opened now if there is none, it went elsewhere, or it
        ended while idle (the leader restarted, say: nothing of the next batch was sent yet)."""
        stream = self._stream
        if stream is None or not stream.usable or self._stream_leader != leader:
            self._drop_stream()
            transport = self.cluster.transport
            assert transport is not None
            stream = self._stream = transport.forward_stream(leader, self.timeout_s)
            self._stream_leader = leader
        return stream

    def _drop_stream(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None

    async def _send_one_by_one(
        self,
        batch: list[_Command],
        request: api.ForwardBatchRequest,
        client: PeerClient,
        leader: int,
    ) -> None:
        """For a leader without ForwardBatch: one `Forward` per command, in order."""
        if not self.fallbacks:
            self.log.warning("forward_batch_unimplemented", leader=leader)
        self.fallbacks += 1
        for i, (command, one) in enumerate(zip(batch, request.commands)):
            try:
                relayed = await client.forward(one)
            except Exception as error:  # fate unknown; the rest were never sent
                self.log.debug("forward_failed", leader=leader, error=str(error))
                command.completion.set_result(E.UNKNOWN_OUTCOME)
                self._settle_all(batch[i + 1 :], E.CLUSTERDOWN_NO_LEADER)
                return
            command.completion.set_result(relayed_reply(relayed))

    @staticmethod
    def _settle_all(batch: list[_Command], reply: Reply) -> None:
        """Answer every command of `batch` with `reply` (a no-op for one already answered)."""
        for command in batch:
            command.completion.set_result(reply)
