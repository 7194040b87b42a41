"""One Redis client connection: bytes in, commands through kv and Raft, replies out in order.

Redis runs a connection's commands one after another; a pipelined batch must behave as if it
did. We keep that guarantee while letting consecutive *writes* of one batch be proposed
together (so `-P 16` puts sixteen SETs into one log append and one fsync):

- a write is proposed at once, unless an earlier command of this connection is still waiting
  for a read point (a read must not see a write that came after it);
- a read that needs a read point waits until every earlier command of this connection has
  finished (so it sees this connection's own writes), then asks the Raft node for one;
- everything else (errors, SELECT, PING, ...) answers at once, but its reply is queued behind
  earlier unfinished replies, so replies leave in command order.

Replies that are ready are written with one `transport.write` per read or per completion.
When the transport asks us to pause writing, we stop reading from the client (backpressure).

Transactions (`seshat/kv/transactions.py`): after MULTI, commands are checked (unknown command,
arity, argument errors found before proposing) and queued (`+QUEUED`); an error flags the
transaction so EXEC answers `-EXECABORT`. EXEC proposes the queued commands as one log entry,
with the keys WATCH remembered; it is ordered like a write. WATCH is ordered like a read: it
waits for this connection's earlier commands, then for a read point. Connection commands and
SELECT inside MULTI are answered when EXEC is built and spliced into its reply. On a follower
the EXEC entry is built and checked on the leader (`Cluster.execute`); WATCH runs locally.

Blocking pops (`seshat/blocking.py`) run on the leader and hold this connection's later
commands until they answer, as Redis does; inside MULTI they never block.

On a follower, writes are relayed to the leader (`Cluster.forward_write`) without waiting for
each other's replies: the node's forwarder (`seshat/forwarder.py`) sends every connection's
writes in batches, one batch in flight, so the leader sees them in the order they were sent. A
relayed write still waits for this connection's other unfinished commands (a read, an EXEC,
an admin call), and a write proposed here, once this node leads, waits for the relayed ones.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections import deque
from collections.abc import Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, Final, cast

from seshat.admin import DEFERRED
from seshat.kv import errors as E
from seshat.kv import transactions as T
from seshat.kv import waits
from seshat.kv.commands import (
    CONNECTION,
    F_ADMIN,
    F_NO_MULTI,
    LOCAL,
    lookup,
    lookup_subcommand,
)
from seshat.kv.operation import Watched, encode_exec, encode_exec_as
from seshat.kv.script_user import SCRIPT_AS_FORWARD, SCRIPT_WRITES
from seshat.kv.service import Connection, Immediate, Read, Session, Write
from seshat.latency import FAILED, REJECTED
from seshat.protocol.encoder import encode, encode_into
from seshat.protocol.errors import ProtocolError
from seshat.protocol.parser import Parser
from seshat.protocol.replies import OK, QUEUED, ErrorReply, NullArray, Push, Raw, Replies, Reply
from seshat.pubsub import ALLOWED_IN_RESP2_MODE, Subscriptions
from seshat.raft.core import ProposalDropped
from seshat.raft.node import Completion, NodeFailed, OutcomeUnknown, ProposalLost, ReadDropped

if TYPE_CHECKING:
    from seshat.acl.rules import User
    from seshat.server import Server
    from seshat.sync_commands import ReplicaOptions
    from seshat.tracking import TrackingMode

_client_ids = itertools.count(1)

_PRE_AUTH_ALLOWED = frozenset({b"auth", b"hello", b"quit"})
# Not queued after MULTI (Redis `processCommand`): they act on the transaction itself.
_NOT_QUEUED = frozenset({b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"})
_NULL_ARRAYS = (b"*-1\r\n", b"_\r\n")
# Connection commands that read the keyspace (MIGRATE, `seshat/migrate.py`; SYNC and PSYNC,
# `seshat/sync_commands.py`): like a read, they wait for this connection's earlier commands,
# so they see its own writes.
_ORDERED_LIKE_READS = frozenset({b"migrate", b"sync", b"psync"})
_EXEC: Final = [b"exec"]  # what INFO commandstats counts an EXEC reply under
MAX_CLIENTS_REACHED = b"-ERR max number of clients reached\r\n"
"""Sent, as Redis does, to a connection past `maxclients` before it is closed."""
PUBSUB_OUTPUT_LIMIT_BYTES = 32 * 1024 * 1024
"""A subscriber whose unsent output passes this is closed (Redis's default hard limit for
pub/sub clients): a reader that stopped reading must not grow the node's memory without bound."""

PlanItem = tuple[int, list[bytes]] | Reply


REPLY_ENCODING_FAILED: Final = ErrorReply(
    "ERR internal error: the reply could not be encoded; please report it with the server's log"
)


class _Slot:
    """A reply not yet known: a write's apply result, or a read waiting for its read point."""

    __slots__ = (
        "argv", "completion", "db", "is_read", "read_keys", "script_keys", "then", "tracked",
    )  # fmt: skip

    def __init__(
        self,
        completion: Completion | None,
        is_read: bool,
        argv: list[bytes],
        db: int,
        then: Callable[[Any], Reply] | None = None,
    ):
        self.completion = completion  # None: a write whose batch is not proposed yet
        self.is_read = is_read
        self.argv = argv
        self.db = db
        self.then = then  # turns the result into the reply (WATCH, EXEC); None: as is
        self.tracked = False  # a read whose keys CLIENT TRACKING remembers once it ran
        self.read_keys: list[bytes] | None = None  # EXEC: what its reads CLIENT TRACKING keeps
        self.script_keys: list[bytes] | None = None  # EVAL, FCALL: kept if the script read


class ClientConnection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.id = next(_client_ids)
        self.session = Session()
        self.protocol = 2
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.readonly = False  # READONLY: serve possibly stale reads on a follower
        self.authenticated = not server.acl.default_needs_auth()
        # ACL (seshat/acl/state.py): the user's name, and the user when it is restricted
        # (None: nothing to check, the common case, tested once per command in `_drain`).
        self.user_name = b"default"
        self.acl_user: User | None = server.acl.default_restriction()
        if self.acl_user is not None:  # a restricted default user: its scripts are checked
            self.session.script_user = b"default"
        self.parser = Parser(authenticated=self.authenticated)
        self.transport: asyncio.Transport | None = None
        self.addr = "?"
        self.laddr = "?"
        self.created_s = time.monotonic()
        self.last_command = b"NULL"
        self.last_interaction_s = self.created_s
        self._queue: deque[list[bytes]] = deque()
        self._slots: deque[_Slot | Reply] = deque()
        self._pending = 0  # unfinished slots in _slots
        self._pending_reads = 0
        self._forwarded = 0  # unfinished slots that are writes in the node's forwarder
        self._batch: list[bytes] = []  # writes of this drain, proposed together at its end
        self._batch_slots: list[_Slot] = []
        self._flush_scheduled = False
        self._blocked = False
        self._close_after_flush = False
        self._input_error: ProtocolError | None = None  # bad input: answer what came before
        self._closed = False
        self._reading_paused = False  # paused while the transport's write buffer is full
        self._writable: asyncio.Event | None = None  # made by `drain`, for output past replies
        self._multi: list[list[bytes]] | None = None  # commands queued since MULTI
        self._multi_dirty = False  # an error while queuing: EXEC answers EXECABORT
        self._watched: list[Watched] = []
        self._waiting: Completion | None = None  # a blocking pop or EXEC later commands wait for
        self.subscriptions: Subscriptions | None = None  # set while subscribed to anything
        self.tracking: TrackingMode | None = None  # CLIENT TRACKING (seshat/tracking.py)
        self.replica_options: ReplicaOptions | None = None  # REPLCONF (seshat/sync_commands.py)
        # The command the dispatch loop last started: one that waited (a read behind a write,
        # a held client) starts again, and the hooks that count commands must not count it twice.
        self._current: list[bytes] | None = None
        # When the running command started (seshat/command_timing.py): what is timed is this
        # node's own work on it, never a wait (for the quorum, a read point, a blocking pop).
        self._started_ns = 0
        self.in_multi_exec = False  # a connection command runs as part of EXEC (WAIT)
        # CLIENT REPLY OFF|SKIP (seshat/client_controls.py): the replies at these absolute
        # positions of `_slots` (`_flushed` counts the entries already written) are dropped.
        self._reply_ctl = False  # OFF, a pending SKIP or an open range: take the slow path
        self._reply_off = False
        self._skip_pending = False
        self._silent_from: int | None = None  # the open range: the running command's replies
        self._silent_argv: list[bytes] | None = None  # the command the open range silences
        self._silenced: list[tuple[int, int]] = []  # closed ranges [lo, hi) not yet flushed
        self._flushed = 0

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        server = self.server
        if len(server.clients) >= server.config.maxclients:
            # As Redis: say why, then close; the client was never one of ours.
            server.stats.rejected_connections += 1
            self._closed = self._close_after_flush = True
            self.transport.write(MAX_CLIENTS_REACHED)  # type: ignore[union-attr]
            transport.close()
            return
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.addr = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.laddr = f"{sock[0]}:{sock[1]}" if sock else "?"
        self.server.clients[self.id] = self
        self.server.stats.connections_received += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._writable is not None:
            self._writable.set()  # a `drain` in progress sees `closed` and stops
        self.server.clients.pop(self.id, None)
        if self.subscriptions is not None:
            self.server.pubsub.forget(self)
        if self._waiting is not None:
            self.server.blocking.cancel(self)
        if self.tracking is not None:
            self.server.tracking.stop(self)
        self.server.monitors.forget(self)

    def pause_writing(self) -> None:
        if self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
            if self._writable is not None:
                self._writable.clear()

    def resume_writing(self) -> None:
        if self.transport is not None and self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()
            if self._writable is not None:
                self._writable.set()

    def write_raw(self, data: bytes) -> None:
        """Bytes straight to the socket, after the replies already flushed: for output that is
        not a reply (SYNC's file, in pieces; `seshat/sync_commands.py`)."""
        if self.transport is not None and not self._closed:
            self.transport.write(data)
            self.server.stats.net_output_bytes += len(data)

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high-water mark (asyncio's flow
        control), or return at once once the connection is closed."""
        if self._writable is None:
            self._writable = asyncio.Event()
            if not self._reading_paused:
                self._writable.set()
        await self._writable.wait()

    def data_received(self, data: bytes) -> None:
        if self._close_after_flush:
            return
        stats = self.server.stats  # INFO: per read, never per command
        stats.net_input_bytes += len(data)
        stats.reads_processed += 1
        try:
            self.parser.feed(data)
            commands = self.parser.next_commands()
        except ProtocolError as error:
            self._protocol_error(error)
            return
        self.last_interaction_s = time.monotonic()
        self._queue.extend(commands)
        self._drain()

    def _protocol_error(self, error: ProtocolError) -> None:
        # Commands parsed before the bad bytes still run, as in Redis; `_drain` sends the
        # error (unless Redis closes silently) after their replies, then closes.
        self._input_error = error
        while True:
            try:
                more = self.parser.next_commands()
            except ProtocolError:
                break
            if not more:
                break
            self._queue.extend(more)
        self._drain()

    # ------------------------------------------------------------------ dispatch

    def _drain(self) -> None:
        """Run queued commands until one must wait; then flush what is ready."""
        queue = self._queue
        server = self.server
        kv = server.kv
        # Looked up once per call: the per-command hooks below cost a test each when unused.
        pause = server.client_pause
        monitors = server.monitors.conns
        timing = server.timing
        histograms = timing.latency.by_spelling
        clock = perf_counter_ns
        while not self._blocked and self._waiting is None and not self._close_after_flush:
            if not queue:
                # Before AUTH the parser hands out one command at a time (so AUTH takes effect
                # before the next one is checked): fetch the rest of the read here.
                if (
                    self._input_error is not None
                    or self.parser.buffered_bytes() == 0
                    or not self._parse_more()
                ):
                    break
            argv = queue[0]
            if not argv:
                queue.popleft()
                continue
            if self._reply_ctl:
                self._silence_boundary(argv)
            self.last_command = argv[0]
            if not self.authenticated and argv[0].lower() not in _PRE_AUTH_ALLOWED:
                queue.popleft()
                self._reject(argv, E.NOAUTH)
                continue
            if self.acl_user is not None:  # a restricted ACL user: seshat/acl/check.py
                refusal = server.acl.refuse(self, argv, self._multi is not None)
                if refusal is not None:
                    queue.popleft()
                    if self._multi is not None:
                        self._multi_dirty = True  # as Redis: EXEC then answers EXECABORT
                    self._reject(argv, refusal)
                    continue
            if self.subscriptions is not None and self.protocol == 2:
                refusal = _refused_while_subscribed(argv)
                if refusal is not None:
                    queue.popleft()
                    self._reject(argv, refusal)
                    continue
            if pause.mode and pause.holds(self, argv, self._multi):
                break  # CLIENT PAUSE: `resume` runs it when the pause ends
            if self._multi is not None and self._queue_in_multi(argv):
                queue.popleft()
                server.stats.commands_processed += 1
                continue
            again = argv is self._current
            self._current = argv
            if self.tracking is not None and not again:
                self.tracking.next_command()
            self._started_ns = clock()
            prepared = kv.prepare(self.session, argv)
            kind = prepared.__class__
            if monitors and kind is not Connection and not again:
                server.monitors.feed(self, self.session.db, argv)
            if kind is Write:
                if self._pending_reads:
                    self._blocked = True
                    break
                if argv[0][:1] in b"bBxX" and waits.blocks(argv):
                    if self._forwarded or (self._pending and not server.node.is_leader()):
                        self._blocked = True
                        break
                    queue.popleft()
                    self._block(argv, prepared.data)  # type: ignore[union-attr]
                    server.stats.commands_processed += 1
                    break
                if not server.node.is_leader():
                    # A follower: relay to the leader (or redirect). Relayed writes need not
                    # wait for each other (the forwarder keeps their order), only for the rest.
                    if self._pending != self._forwarded:
                        self._blocked = True
                        break
                    queue.popleft()
                    self._not_leader(argv, batched=True)
                    server.stats.commands_processed += 1
                    continue
                if self._forwarded:
                    self._blocked = True  # leader now: earlier relayed writes go first
                    break
                queue.popleft()
                slot = _Slot(None, False, argv, 0)
                if self.tracking is not None and self.tracking.remembers():
                    slot.script_keys = server.tracking.script_keys(argv)
                self._batch.append(prepared.data)  # type: ignore[union-attr]
                self._batch_slots.append(slot)
                self._slots.append(slot)
                self._pending += 1
            elif kind is Read:
                if self._pending:
                    self._blocked = True
                    break
                queue.popleft()
                self._read(argv)
            elif kind is Immediate:
                queue.popleft()
                reply = prepared.reply  # type: ignore[union-attr]
                if reply.__class__ is ErrorReply:
                    self._count_refusal(argv, prepared)  # type: ignore[arg-type]
                self._emit(reply)
            else:
                assert kind is Connection, prepared
                name = prepared.spec.name  # type: ignore[union-attr]
                if name in T.TRANSACTION_COMMANDS:
                    if not self._transaction(name, argv):
                        self._blocked = True
                        break
                    if monitors and name != b"exec":  # EXEC feeds its own
                        server.monitors.feed(self, self.session.db, argv)
                    server.stats.commands_processed += 1
                    self._time_transaction_command(argv)
                    continue
                if name in _ORDERED_LIKE_READS and self._pending:
                    self._blocked = True  # it reads the keyspace: after this client's writes
                    break
                queue.popleft()
                reply = server.admin.execute(self, argv)
                if reply is not DEFERRED:
                    self._emit_result(argv, reply)
                if monitors:  # after it ran: SELECT shows the new DB, as Redis
                    server.monitors.feed(self, self.session.db, argv)
            server.stats.commands_processed += 1
            started = self._started_ns
            if started:  # answered now: timed to here (the hot path: see command_timing.py)
                elapsed = clock() - started
                if elapsed > timing.floor_ns:
                    buckets = histograms.get(argv[0]) if elapsed < timing.notify_ns else None
                    if buckets is not None:  # latency-tracking's common case, inlined
                        buckets[(elapsed >> 10).bit_length()] += 1
                        buckets[-1] += elapsed  # INFO commandstats (latency.TOTAL_NS)
                    else:
                        timing.observe(self, argv, elapsed)
        error = self._input_error
        if error is not None and not queue and not self._close_after_flush:
            if error.send_reply:
                self._emit(error.to_reply())
            self._close_after_flush = True
        if self._batch:
            self._propose_batch()
        self._flush()

    def _parse_more(self) -> bool:
        try:
            more = self.parser.next_commands()
        except ProtocolError as error:
            self._input_error = error
            return False
        self._queue.extend(more)
        return bool(more)

    def _propose_batch(self) -> None:
        """Propose this drain's writes in one call: one log append for the whole pipeline."""
        datas, slots = self._batch, self._batch_slots
        self._batch, self._batch_slots = [], []
        try:
            completions = self.server.node.propose_batch(datas)
        except ProposalDropped as dropped:
            error = Completion()
            error.set_error(dropped)
            completions = [error] * len(slots)
        else:
            if self.tracking is not None and self.tracking.noloop:
                self.server.tracking.note_origins(completions, self.id)
        for slot, completion in zip(slots, completions):
            slot.completion = completion
            if slot.read_keys is None and slot.script_keys is None:
                completion.add_callback(self._on_slot_done)
            else:
                completion.add_callback(functools.partial(self._on_tracked_write_done, slot))

    # ------------------------------------------------------------------ transactions

    def _queue_in_multi(self, argv: list[bytes]) -> bool:
        """Inside MULTI: queue `argv` (or answer its error and flag the transaction); False for
        the commands that act on the transaction itself."""
        spec = lookup(argv[0])
        if spec is not None and spec.name in _NOT_QUEUED:
            return False
        # As Redis `processCommand`: only an unknown command (or subcommand) and a wrong arity
        # are queuing errors; argument errors are that command's reply inside EXEC's array.
        error: Reply = None
        rejected = True  # a queuing error is a rejected call of that command, as in Redis
        if spec is None:
            error, rejected = E.unknown_command(argv), False
        elif not spec.arity_ok(len(argv)):
            error = E.wrong_arity(spec.name)
        elif spec.flags & F_NO_MULTI:
            error = E.NOT_ALLOWED_IN_MULTI
        elif spec.kind is CONNECTION:
            prepared = self.server.kv.prepare(Session(self.session.db), argv)
            if isinstance(prepared, Immediate):
                error, rejected = prepared.reply, prepared.rejected
        if error is not None:
            self._multi_dirty = True
            if rejected:
                self._reject(argv, error)
            else:
                self._emit(error)
            return True
        assert self._multi is not None
        if len(self._multi) >= T.QUEUED_COMMANDS_MAX:
            self._multi_dirty = True
            self._emit(ErrorReply("ERR too many commands queued in this transaction"))
            return True
        self._multi.append(argv)
        self._emit(QUEUED)
        return True

    def _transaction(self, name: bytes, argv: list[bytes]) -> bool:
        """MULTI EXEC DISCARD WATCH UNWATCH; False: wait for earlier commands first."""
        if name == b"exec":
            return self._exec()
        if name == b"watch":
            if self._multi is not None:
                self._queue.popleft()
                self._emit_result(argv, T.WATCH_INSIDE_MULTI)
                return True
            if self._pending:
                return False  # WATCH must see this connection's earlier writes
            self._queue.popleft()
            self._watch(argv)
            return True
        self._queue.popleft()
        if name == b"multi":
            if self._multi is not None:
                self._emit_result(argv, T.MULTI_NESTED)
                return True
            self._multi = []
            self._multi_dirty = False
            self._emit(OK)
        elif name == b"discard":
            if self._multi is None:
                self._emit_result(argv, T.DISCARD_WITHOUT_MULTI)
                return True
            self._multi = None
            self._watched = []
            self._emit(OK)
        else:
            assert name == b"unwatch", name
            self._watched = []
            self._emit(OK)
        return True

    def _time_transaction_command(self, argv: list[bytes]) -> None:
        """MULTI, EXEC, DISCARD, WATCH, UNWATCH are calls too (INFO commandstats, LATENCY
        HISTOGRAM), timed as the hot loop times the others: EXEC to its proposal."""
        if self._started_ns:
            self.server.timing.observe_since(self, argv, self._started_ns)

    def _watch(self, argv: list[bytes]) -> None:
        server = self.server
        db = self.session.db
        keys = argv[1:]

        def then(_: Any) -> Reply:
            sm = server.state_machine
            watched = T.watch_keys(sm.view, sm.applied_index(), server.kv.clock_ms(), db, keys)
            self._watched.extend(watched)
            return OK

        try:
            barrier = server.node.read_barrier()
        except ProposalDropped as dropped:
            self._emit(server.dropped_reply(dropped))
            return
        if barrier is None:
            self._emit(then(None))
            return
        self._pending_reads += 1
        self._add_slot(_Slot(barrier, True, argv, db, then))

    def _exec(self) -> bool:
        server = self.server
        queued = self._multi
        if queued is None:
            self._queue.popleft()
            self._emit_result(_EXEC, T.EXEC_WITHOUT_MULTI)
            return True
        leader = server.node.is_leader()
        if self._pending_reads or self._forwarded or (not leader and self._pending):
            return False  # ordered like a write (see the module docstring)
        exec_argv = self._queue.popleft()
        if server.monitors.conns:  # the queued commands as EXEC runs them, then EXEC as sent
            for queued_argv in [*queued, exec_argv]:
                server.monitors.feed(self, self.session.db, queued_argv)
        watched = self._watched
        self._multi = None
        self._watched = []
        if self._multi_dirty:
            self._emit_result(_EXEC, T.EXECABORT)
            return True
        plan, final_db = self._plan(queued)
        tracking = self.tracking
        read_keys = None
        if tracking is not None and tracking.remembers():
            read_keys = server.tracking.keys_read(queued) or None
        before_db = self.session.db
        after = self._after_exec(final_db) if final_db != before_db else None
        if leader:
            now_ms = server.kv.clock_ms()
            commands, fixed = T.build(now_ms, plan)

            def then(result: Any) -> Reply:
                reply = T.splice(result, fixed)
                if after is not None:
                    after(isinstance(reply, list))
                return reply

            slot = _Slot(None, False, [b"exec"], 0, then)
            slot.read_keys = read_keys
            user = self.session.script_user  # a restricted ACL user: its scripts are checked
            self._batch.append(
                encode_exec(now_ms, commands, watched)
                if user is None
                else encode_exec_as(now_ms, commands, watched, user)
            )
            self._batch_slots.append(slot)
            self._slots.append(slot)
            self._pending += 1
            if after is not None:
                self._propose_batch()
                self._waiting = slot.completion
            return True
        cluster = server.cluster
        if cluster is None:
            self._emit(E.CLUSTERDOWN_NO_LEADER)
            return True
        if server.config.redirect:
            self._reject([b"exec"], server.moved_reply([b"exec"]))
            return True
        encoded: list[PlanItem] = [
            item if isinstance(item, tuple) else Raw(encode(item, self.protocol)) for item in plan
        ]
        completion = cluster.forward_exec(
            encoded, watched, self.session.db, self.protocol, self.session.script_user
        )

        def relayed(result: Any) -> Reply:
            ran = not (isinstance(result, Raw) and result.data in _NULL_ARRAYS)
            if after is not None:
                after(ran)
            reply: Reply = result
            if read_keys is not None and ran:
                pushes = self.server.tracking.after_transaction(self, read_keys, None)
                if pushes:
                    reply = Replies([reply, *pushes])
            return reply

        slot = _Slot(completion, False, [b"exec"], 0, relayed)
        self._add_slot(slot)
        if after is not None:
            self._waiting = completion
        return True

    def _plan(self, queued: list[list[bytes]]) -> tuple[list[PlanItem], int]:
        """The queued commands with the DB each runs in; SELECT and connection commands
        answered now (they touch only this connection). Also the DB selected at the end."""
        session = Session(self.session.db)
        plan: list[PlanItem] = []
        users_written = False  # an ACL SETUSER/DELUSER earlier in this transaction
        for argv in queued:
            spec = lookup(argv[0])
            assert spec is not None, argv[:1]
            kind = spec.kind
            if spec.subcommands and kind is not CONNECTION and len(argv) > 1:
                sub = lookup_subcommand(spec.name, argv[1])
                if sub is not None and sub.kind is CONNECTION:  # ACL WHOAMI, LIST ...
                    if users_written:  # it would read the users before that write applies
                        plan.append(T.NOT_IN_TRANSACTION)
                        continue
                    kind = CONNECTION
                elif spec.name == b"acl":
                    users_written = True
            if kind is LOCAL:
                prepared = self.server.kv.prepare(session, argv)  # SELECT: changes `session`
                assert isinstance(prepared, Immediate), prepared
                plan.append(prepared.reply)
            elif kind is CONNECTION:
                if spec.name == b"unwatch":
                    plan.append(OK)
                elif spec.flags & F_ADMIN:
                    plan.append(T.NOT_IN_TRANSACTION)
                else:
                    self.in_multi_exec = True
                    try:
                        reply = self.server.admin.execute(self, argv)
                    finally:
                        self.in_multi_exec = False
                    plan.append(T.NOT_IN_TRANSACTION if reply is DEFERRED else reply)
            else:
                plan.append((session.db, argv))
        return plan, session.db

    def _after_exec(self, final_db: int) -> Callable[[bool], None]:
        """A transaction that SELECTs: the later commands wait for it, then use its DB (only
        if it ran: an EXEC aborted by WATCH ran nothing)."""

        def after(ran: bool) -> None:
            if ran:
                self.session.db = final_db

        return after

    # ------------------------------------------------------------------ blocking pops

    def _block(self, argv: list[bytes], data: bytes) -> None:
        """A blocking pop: later commands wait for its answer (Redis blocks the client)."""
        self._started_ns = 0  # not timed: its time is waiting
        if self._batch:
            self._propose_batch()  # earlier writes of this read go first
        server = self.server
        if not server.node.is_leader():
            self._not_leader(argv)
            slot = self._slots[-1]
            if isinstance(slot, _Slot):
                self._waiting = slot.completion
            return
        completion = server.blocking.start(argv, self.session.db, self, data)
        counted = functools.partial(self._count_unblocked, argv)
        self._add_slot(_Slot(completion, False, argv, 0, counted))
        self._waiting = completion

    def _count_unblocked(self, argv: list[bytes], result: Reply) -> Reply:
        """A blocking command has its answer (served or timed out): counted then, as Redis's
        `updateStatsOnUnblock` does, in commandstats, latency and SLOWLOG, with no time of
        its own (its time was spent waiting). One that timed out is counted, not logged."""
        self.server.timing.observe(self, argv, 0, logged=result.__class__ is not NullArray)
        return result

    def _not_leader(self, argv: list[bytes], batched: bool = False) -> None:
        """A data command on a follower: relay it to the leader, or redirect the client there.
        `batched`: a plain write, relayed in the forwarder's next batch."""
        server = self.server
        cluster = server.cluster
        if cluster is None:
            self._emit(E.CLUSTERDOWN_NO_LEADER)
            return
        if server.config.redirect:
            self._reject(argv, server.moved_reply(argv))
            return
        relay = cluster.forward_write if batched else cluster.forward
        relayed = argv
        user = self.session.script_user  # a restricted ACL user's script: the leader checks it
        if user is not None and argv[0].lower() in SCRIPT_WRITES:
            relayed = [SCRIPT_AS_FORWARD, user, *argv]
        completion = relay(relayed, self.session.db, self.protocol)
        self._add_slot(_Slot(completion, False, argv, 0), forwarded=batched)

    def await_admin(self, coroutine: Any) -> None:
        """Reply to an admin command when its coroutine ends: OK, or its error text."""

        async def outcome() -> Reply:
            error = await coroutine
            return ErrorReply(f"ERR {error}") if error else OK

        self._reply_from_task(outcome(), hold=False)

    def reply_from(self, coroutine: Any) -> None:
        """Answer with the reply `coroutine` returns (MIGRATE, SYNC: network or disk work in a
        task of the node's), holding this connection's later commands until then."""
        self._reply_from_task(coroutine, hold=True)

    def _reply_from_task(self, coroutine: Any, hold: bool) -> None:
        completion = Completion()

        def done(task: asyncio.Task[Reply]) -> None:
            if task.cancelled():  # the node is stopping
                completion.set_result(ErrorReply("ERR cancelled"))
            elif (error := task.exception()) is not None:
                completion.set_result(ErrorReply(f"ERR {error}"))
            else:
                completion.set_result(task.result())

        task = asyncio.get_running_loop().create_task(coroutine)
        self.server.background.add(task)
        task.add_done_callback(self.server.background.discard)
        task.add_done_callback(done)
        if hold:
            self.await_reply(completion)
        else:
            self._add_slot(_Slot(completion, False, self._current or [], 0))

    def await_reply(self, completion: Completion) -> None:
        """Answer with `completion`'s result when it is set, holding this connection's later
        commands until then, as Redis holds a client blocked in WAIT."""
        self._add_slot(_Slot(completion, False, self._current or [], 0))  # the command waiting
        self._waiting = completion

    def unfinished(self) -> tuple[int, int]:
        """(replies not ready yet, writes of this read not proposed yet): WAIT's horizon."""
        return self._pending, len(self._batch)

    @property
    def closed(self) -> bool:
        return self._closed

    def _read(self, argv: list[bytes]) -> None:
        server = self.server
        tracking = self.tracking
        tracked = tracking is not None and tracking.remembers()
        if server.cluster is not None and not server.node.is_leader():
            if self.readonly:
                self._emit_result(argv, self._execute_read(argv, tracked))  # stale reads allowed
                return
            if server.config.redirect:
                self._reject(argv, server.moved_reply(argv))
                return
        try:
            barrier = server.node.read_barrier()
        except ProposalDropped as dropped:
            self._emit(server.dropped_reply(dropped))
            return
        if barrier is None:
            reply = (
                self._execute_read(argv, tracked)
                if tracked
                else server.kv.execute_read(self.session, argv)  # the hot path
            )
            if reply.__class__ is ErrorReply:
                self._count_failed(argv)
            self._emit(reply)
            return
        self._pending_reads += 1
        slot = _Slot(barrier, True, argv, self.session.db)
        slot.tracked = tracked
        self._add_slot(slot)

    def _execute_read(self, argv: list[bytes], tracked: bool) -> Reply:
        """Run a read now; CLIENT TRACKING remembers its keys after it ran (a change applied
        from then on invalidates what it returned)."""
        reply = self.server.kv.execute_read(self.session, argv)
        if tracked:
            self.server.tracking.remember(self, argv)
        return reply

    def _add_slot(self, slot: _Slot, forwarded: bool = False) -> None:
        """Queue an unfinished reply; `forwarded`: a write in the node's forwarder."""
        assert slot.completion is not None
        self._slots.append(slot)
        self._pending += 1
        if forwarded:
            self._forwarded += 1
            slot.completion.add_callback(self._on_forwarded_done)
        else:
            slot.completion.add_callback(self._on_slot_done)

    def _emit(self, reply: Reply) -> None:
        self._slots.append(reply)

    def _emit_result(self, argv: list[bytes], reply: Reply) -> None:
        """Answer `reply` to `argv`, which ran: an error is one of its failed calls."""
        if reply.__class__ is ErrorReply:
            self._count_failed(argv)
        self._slots.append(reply)

    def _reject(self, argv: list[bytes], error: Reply) -> None:
        """Answer `error` to `argv`, refused before it ran (NOAUTH, ACL, a subscribed RESP2
        client, a wrong arity, MOVED): INFO commandstats' rejected_calls, as Redis counts them."""
        self.server.timing.latency.count_outcome(argv, REJECTED)
        self._slots.append(error)

    def _count_failed(self, argv: list[bytes]) -> None:
        self.server.timing.latency.count_outcome(argv, FAILED)

    def _count_refusal(self, argv: list[bytes], prepared: Immediate) -> None:
        """An error `prepare` decided: rejected, failed, or not counted (see Immediate). A
        call rejected or never resolved is not timed either: its time is not a call's."""
        if prepared.rejected:
            self.server.timing.latency.count_outcome(argv, REJECTED)
            self._started_ns = 0
        elif prepared.counted:
            self._count_failed(argv)
        else:
            self._started_ns = 0

    def _on_slot_done(self, completion: Completion) -> None:
        # Called synchronously as entries apply: coalesce into one flush per loop turn.
        self._pending -= 1
        if not self._flush_scheduled and not self._closed:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._after_completions)

    def _on_tracked_write_done(self, slot: _Slot, completion: Completion) -> None:
        """A tracked EXEC or script applied on this node: settle what it read with CLIENT
        TRACKING now, while the state machine's last batch is the one that held it (an EXEC
        that ran: its reads; a script: its declared keys, if it called a read-only command)."""
        state_machine = self.server.state_machine
        keys: list[bytes] | None
        if slot.script_keys is not None:
            keys, ran = slot.script_keys, completion.index in state_machine.last_script_reads
        else:
            keys, ran = slot.read_keys, isinstance(completion.result, list)
        if completion.error is None and ran and keys:
            pushes = self.server.tracking.after_transaction(
                self, keys, state_machine, completion.index
            )
            if pushes:
                slot.then = _followed_by(slot.then or _as_is, pushes)
        self._on_slot_done(completion)

    def _on_forwarded_done(self, completion: Completion) -> None:
        self._forwarded -= 1
        self._on_slot_done(completion)

    def _after_completions(self) -> None:
        self._flush_scheduled = False
        if self._closed:
            return
        self._flush()
        resume = False
        if self._waiting is not None and self._waiting.done:
            self._waiting = None
            resume = True
        if self._blocked and (not self._pending or not self._pending_reads):
            self._blocked = False
            resume = True
        if resume and self._waiting is None:
            self._drain()

    # ------------------------------------------------------------------ output

    def _flush(self) -> None:
        """Encode every finished reply at the head of the queue, in order; write them at once."""
        slots = self._slots
        if not slots:
            if self._close_after_flush:
                self._close()
            return
        out = bytearray()
        protocol = self.protocol
        queued = len(slots)
        silencing = self._reply_ctl or bool(self._silenced)  # CLIENT REPLY OFF|SKIP
        while slots:
            head = slots[0]
            if head.__class__ is _Slot:
                slot: _Slot = head
                if slot.completion is None or not slot.completion.done:
                    break
                slots.popleft()
                reply = self._slot_reply(slot)
                if reply.__class__ is ErrorReply and slot.argv:
                    self._count_failed(slot.argv)
            else:
                slots.popleft()
                reply = head  # type: ignore[assignment]
            if silencing and self._is_silenced(self._flushed + queued - len(slots) - 1):
                reply = _pushes_of(reply)  # Redis writes pushes whatever CLIENT REPLY says
                if reply is None:
                    continue
            mark = len(out)
            try:
                encode_into(out, reply, protocol)
            except Exception:  # a bug: the client gets an error, not a reply that never comes
                del out[mark:]
                self.server.log.exception("reply_encoding_failed", client=self.addr)
                encode_into(out, REPLY_ENCODING_FAILED, protocol)
        self._flushed += queued - len(slots)
        if silencing:
            self._silenced = [r for r in self._silenced if r[1] > self._flushed]
        if out and self.transport is not None and not self._closed:
            self.transport.write(out)
            stats = self.server.stats  # INFO: per write, never per reply
            stats.net_output_bytes += len(out)
            stats.writes_processed += 1
        if self._close_after_flush and not slots:
            self._close()

    # ------------------------------------------------------------------ CLIENT REPLY

    def _silence_boundary(self, argv: list[bytes]) -> None:
        """A command starts while replies are controlled: close the previous command's silenced
        range; open one for this command if replies are OFF or a SKIP is pending."""
        if self._silent_argv is argv and argv is not None:
            return  # the same command again (it waited): its range is still open
        position = self._flushed + len(self._slots)
        if self._silent_from is not None:
            if position > self._silent_from:
                self._silenced.append((self._silent_from, position))
            self._silent_from = self._silent_argv = None
        if self._reply_off or self._skip_pending:
            self._skip_pending = False
            self._silent_from, self._silent_argv = position, argv
        self._reply_ctl = self._reply_off or self._silent_from is not None

    def _is_silenced(self, position: int) -> bool:
        if self._silent_from is not None and position >= self._silent_from:
            return True
        return any(lo <= position < hi for lo, hi in self._silenced)

    def set_reply_mode(self, on: bool, skip_next: bool) -> None:
        """CLIENT REPLY ON / OFF / SKIP. OFF and SKIP silence their own reply too; ON is
        answered (its command's open range, if OFF was on, is dropped)."""
        if on and not skip_next:
            self._reply_off = self._skip_pending = False
            self._silent_from = self._silent_argv = None
        elif self._reply_off:
            return  # SKIP while OFF: already silent
        else:
            self._reply_off = not on
            self._skip_pending = skip_next
            self._silent_from = self._flushed + len(self._slots)
            self._silent_argv = None
        self._reply_ctl = self._reply_off or self._skip_pending or self._silent_from is not None

    def resume(self) -> None:
        """The client pause ended: run the commands it held."""
        if not self._closed:
            self._drain()

    def _slot_reply(self, slot: _Slot) -> Reply:
        completion = slot.completion
        assert completion is not None
        if slot.is_read:
            self._pending_reads -= 1
        if completion.error is not None:
            return self.server.failure_reply(completion.error)
        if slot.then is not None:
            return slot.then(completion.result)
        if slot.is_read:
            session = self.session
            db = session.db
            session.db = slot.db
            started = perf_counter_ns()
            try:
                return self._execute_read(slot.argv, slot.tracked)
            finally:
                session.db = db
                self.server.timing.observe_since(self, slot.argv, started)  # its run, not its wait
        result: Reply = completion.result
        return result

    def _close(self) -> None:
        if self.transport is not None and not self._closed:
            self._closed = True
            self.transport.close()

    # ------------------------------------------------------------------ used by admin commands

    def close_after_reply(self) -> None:
        self._close_after_flush = True

    def set_authenticated(self) -> None:
        self.authenticated = True
        self.parser.authenticated = True

    def close_soon(self) -> None:
        """ACL DELUSER of this connection's user: close once the replies already queued are
        written (Redis frees such clients; the one that ran DELUSER still gets its reply)."""
        self._close_after_flush = True
        if not self._flush_scheduled and not self._closed:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._after_completions)

    def kill(self) -> None:
        """CLIENT KILL: close now, dropping unsent replies, as Redis does."""
        self._close()

    def reset(self) -> None:
        """RESET: the state of a new connection (Redis's `clearClientConnectionState`)."""
        self.server.pubsub.forget(self)
        self._multi = None
        self._multi_dirty = False
        self._watched = []
        self.session.db = 0
        self.protocol = 2
        self.name = b""
        self.readonly = False
        self.set_reply_mode(on=True, skip_next=False)
        self.server.tracking.stop(self)
        self.server.monitors.forget(self)
        self.server.acl.bind(self, b"default", self.server.acl.user(b"default"))
        if self.server.acl.default_needs_auth():
            self.authenticated = self.parser.authenticated = False

    def deliver(self, reply: Reply) -> None:
        """A pub/sub message: written after the replies queued before it, this loop turn."""
        if self._closed or self._close_after_flush:
            return
        transport = self.transport
        if transport is not None and transport.get_write_buffer_size() > PUBSUB_OUTPUT_LIMIT_BYTES:
            # As Redis: drop the client and what it has not read (a close would wait for
            # the reader to drain it), and with it its subscriptions.
            self.server.log.warning(
                "pubsub_client_closed", client=self.addr, reason="output buffer limit"
            )
            self.server.pubsub.forget(self)
            self._closed = True
            transport.abort()
            return
        self._slots.append(reply)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._after_completions)


def _as_is(result: Any) -> Reply:
    return cast(Reply, result)


def _pushes_of(reply: Reply) -> Reply | None:
    """What of a silenced reply is written anyway: pub/sub confirmations and messages and
    tracking invalidations, which Redis sends with CLIENT_PUSHING past CLIENT REPLY OFF|SKIP."""
    if reply.__class__ is Push:
        return reply
    if reply.__class__ is Replies:
        pushes: list[Reply] = [item for item in reply.items if item.__class__ is Push]
        return Replies(pushes) if pushes else None
    return None


def _followed_by(then: Callable[[Any], Reply], pushes: list[Reply]) -> Callable[[Any], Reply]:
    """`then`, with `pushes` written right after the reply it makes."""
    return lambda result: Replies([then(result), *pushes])


def _refused_while_subscribed(argv: list[bytes]) -> ErrorReply | None:
    """RESP2 in pub/sub mode: the error for a command it may not run; None for one it may,
    or for one that fails anyway (unknown, wrong arity), whose own error Redis answers first."""
    spec = lookup(argv[0])
    if spec is None or not spec.arity_ok(len(argv)):
        return None
    if spec.name in ALLOWED_IN_RESP2_MODE:
        return None
    name = spec.name
    if spec.subcommands and len(argv) > 1:
        sub = lookup_subcommand(spec.name, argv[1])
        if sub is None or not sub.arity_ok(len(argv)):
            return None
        name = sub.name
    return E.only_pubsub_allowed(name)


def failure_reply(error: BaseException) -> ErrorReply:
    """The reply for a write or read whose future failed."""
    if isinstance(error, ProposalLost):
        return E.WRITE_NOT_COMMITTED
    if isinstance(error, NodeFailed):
        return E.NODE_FAILED
    if isinstance(error, OutcomeUnknown):
        return E.UNKNOWN_OUTCOME
    if isinstance(error, ReadDropped):
        return E.TRYAGAIN_NO_LEADER
    if isinstance(error, ProposalDropped):
        return dropped_reply(error)
    raise error


def dropped_reply(dropped: ProposalDropped) -> ErrorReply:
    """The reply for a proposal the Raft core refused outright (it never entered the log)."""
    if dropped.reason == "uncommitted_limit":
        return E.TRYAGAIN_UNCOMMITTED_LIMIT
    if dropped.reason == "node_failed":
        return E.NODE_FAILED
    return E.CLUSTERDOWN_NO_LEADER
