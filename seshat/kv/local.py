"""LocalExecutor: KVService and StateMachine in one process with no Raft.

Every write is applied at once with the next log index, so tests (and anyone wiring the server)
can see the whole command path, prepare -> propose -> apply -> reply, in a dozen lines. The
real server replaces "apply at once" with "propose, wait for commit, apply".
"""

from __future__ import annotations

import time
from collections.abc import Callable

from seshat.kv.service import Connection, Immediate, KVService, Read, Session, Write
from seshat.kv.state_machine import StateMachine
from seshat.protocol.replies import PONG, ErrorReply, Reply
from seshat.storage.engine import Engine


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class LocalExecutor:
    """Runs commands against one engine; the single-node, no-consensus reference path."""

    def __init__(self, engine: Engine, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.state_machine = StateMachine(engine)
        self.service = KVService(self.state_machine, clock_ms)
        self.log: list[bytes] = []  # every proposed operation, in order (for replay tests)
        # keyspace notifications recorded by applies, `(event, db, key)`, for tests to drain
        self.events: list[tuple[bytes, int, bytes]] = []

    def execute(self, session: Session, argv: list[bytes]) -> Reply:
        prepared = self.service.prepare(session, argv)
        if isinstance(prepared, Write):
            return self.propose(prepared.data)
        if isinstance(prepared, Read):
            return self.service.execute_read(session, argv)
        if isinstance(prepared, Immediate):
            return prepared.reply
        assert isinstance(prepared, Connection)
        return _connection_command(prepared, argv)

    def propose(self, data: bytes) -> Reply:
        self.log.append(data)
        index = self.state_machine.applied_index() + 1
        reply = self.state_machine.apply_batch([(index, data)])[0]
        self.events += self.state_machine.last_events
        return reply

    def active_expire(self, now_ms: int) -> Reply:
        data = self.service.active_expire_sample(now_ms)
        return None if data is None else self.propose(data)


def _connection_command(prepared: Connection, argv: list[bytes]) -> Reply:
    """The two connection commands tests need; the rest belong to the server layer."""
    name = prepared.spec.name
    if name == b"ping":
        return PONG if len(argv) == 1 else argv[1]
    if name == b"echo":
        return argv[1]
    return ErrorReply(f"ERR '{name.decode()}' is handled by the server layer")
