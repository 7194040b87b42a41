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
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from seshat.kv import errors as E
from seshat.kv.service import Connection, Immediate, Read, Session, Write
from seshat.protocol.encoder import encode_into
from seshat.protocol.errors import ProtocolError
from seshat.protocol.parser import Parser
from seshat.protocol.replies import ErrorReply, Reply
from seshat.raft.core import ProposalDropped
from seshat.raft.node import OutcomeUnknown, ProposalLost, ReadDropped

if TYPE_CHECKING:
    from seshat.server import Server

_client_ids = itertools.count(1)

_PRE_AUTH_ALLOWED = frozenset({b"auth", b"hello", b"quit"})


class _Slot:
    """A reply not yet known: a write's apply result, or a read waiting for its read point."""

    __slots__ = ("argv", "db", "future", "is_read")

    def __init__(self, future: asyncio.Future[Any], is_read: bool, argv: list[bytes], db: int):
        self.future = future
        self.is_read = is_read
        self.argv = argv
        self.db = db


class ClientConnection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.id = next(_client_ids)
        self.session = Session()
        self.protocol = 2
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.authenticated = not server.config.requirepass
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
        self._blocked = False
        self._close_after_flush = False
        self._input_error: ProtocolError | None = None  # bad input: answer what came before
        self._closed = False
        self._reading_paused = False

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.addr = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.laddr = f"{sock[0]}:{sock[1]}" if sock else "?"
        self.server.clients[self.id] = self
        self.server.stats.connections_received += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.server.clients.pop(self.id, None)

    def pause_writing(self) -> None:
        if self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self._close_after_flush:
            return
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
        while not self._blocked and not self._close_after_flush:
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
            self.last_command = argv[0]
            if not self.authenticated and argv[0].lower() not in _PRE_AUTH_ALLOWED:
                queue.popleft()
                self._emit(E.NOAUTH)
                continue
            prepared = kv.prepare(self.session, argv)
            kind = prepared.__class__
            if kind is Write:
                if self._pending_reads:
                    self._blocked = True
                    break
                queue.popleft()
                self._propose(prepared.data)  # type: ignore[union-attr]
            elif kind is Read:
                if self._pending:
                    self._blocked = True
                    break
                queue.popleft()
                self._read(argv)
            elif kind is Immediate:
                queue.popleft()
                self._emit(prepared.reply)  # type: ignore[union-attr]
            else:
                assert kind is Connection, prepared
                queue.popleft()
                self._emit(server.admin.execute(self, argv))
            server.stats.commands_processed += 1
        error = self._input_error
        if error is not None and not queue and not self._close_after_flush:
            if error.send_reply:
                self._emit(error.to_reply())
            self._close_after_flush = True
        self._flush()

    def _parse_more(self) -> bool:
        try:
            more = self.parser.next_commands()
        except ProtocolError as error:
            self._input_error = error
            return False
        self._queue.extend(more)
        return bool(more)

    def _propose(self, data: bytes) -> None:
        try:
            future = self.server.node.propose(data)
        except ProposalDropped as dropped:
            self._emit(self.server.dropped_reply(dropped))
            return
        self._add_slot(_Slot(future, False, [], self.session.db))

    def _read(self, argv: list[bytes]) -> None:
        server = self.server
        try:
            barrier = server.node.read_barrier()
        except ProposalDropped as dropped:
            self._emit(server.dropped_reply(dropped))
            return
        if barrier is None:
            self._emit(server.kv.execute_read(self.session, argv))
            return
        self._pending_reads += 1
        self._add_slot(_Slot(barrier, True, argv, self.session.db))

    def _add_slot(self, slot: _Slot) -> None:
        self._slots.append(slot)
        self._pending += 1
        slot.future.add_done_callback(self._on_slot_done)

    def _emit(self, reply: Reply) -> None:
        self._slots.append(reply)  # type: ignore[arg-type]

    def _on_slot_done(self, future: asyncio.Future[Any]) -> None:
        self._pending -= 1
        if self._closed:
            return
        self._flush()
        if self._blocked and (not self._pending or not self._pending_reads):
            self._blocked = False
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
        while slots:
            head = slots[0]
            if head.__class__ is _Slot:
                slot: _Slot = head  # type: ignore[assignment]
                if not slot.future.done():
                    break
                slots.popleft()
                reply = self._slot_reply(slot)
            else:
                slots.popleft()
                reply = head  # type: ignore[assignment]
            encode_into(out, reply, protocol)
        if out and self.transport is not None and not self._closed:
            self.transport.write(out)
        if self._close_after_flush and not slots:
            self._close()

    def _slot_reply(self, slot: _Slot) -> Reply:
        future = slot.future
        if slot.is_read:
            self._pending_reads -= 1
        if future.cancelled():
            return E.UNKNOWN_OUTCOME
        error = future.exception()
        if error is not None:
            return self.server.failure_reply(error)
        if slot.is_read:
            session = self.session
            db = session.db
            session.db = slot.db
            try:
                return self.server.kv.execute_read(session, slot.argv)
            finally:
                session.db = db
        result: Reply = future.result()
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

    def kill(self) -> None:
        """CLIENT KILL: close now, dropping unsent replies, as Redis does."""
        self._close()


def failure_reply(error: BaseException) -> ErrorReply:
    """The reply for a write or read whose future failed."""
    if isinstance(error, ProposalLost):
        return E.WRITE_NOT_COMMITTED
    if isinstance(error, OutcomeUnknown):
        return E.UNKNOWN_OUTCOME
    if isinstance(error, ReadDropped):
        return E.TRYAGAIN_NO_LEADER
    if isinstance(error, ProposalDropped):
        return E.TRYAGAIN_NO_LEADER
    raise error
