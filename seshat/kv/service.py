"""KVService: what the server layer calls for every client command.

`prepare(session, argv)` decides how a command runs and returns one of:

- `Immediate(reply)`: answered now, nothing proposed (unknown command, wrong arity, syntax and
  argument errors found before proposing, SELECT).
- `Read(spec)`: call `execute_read(session, argv)` once the server has a linearizable read point
  (ReadIndex confirmed and applied up to it).
- `Write(data)`: propose `data` (Operation bytes) through Raft; the reply is what
  `StateMachine.apply_batch` returns for that entry.
- `Connection(spec)`: a server-layer command (PING, HELLO, AUTH, CLIENT, COMMAND, INFO, ...).

Validation Redis does before touching the keyspace happens in prepare, so bad input never reaches
the log; value-dependent errors happen at apply. Time-dependent arguments are made absolute
here with `clock_ms()`, the leader's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from seshat.kv import errors as E
from seshat.kv import script_user
from seshat.kv.commands import (
    CONNECTION,
    LOCAL,
    READ,
    TABLE,
    WRITE,
    CommandSpec,
    lookup,
    lookup_subcommand,
)
from seshat.kv.gc import GC_ENTRIES_MAX
from seshat.kv.operation import encode_command, encode_command_as, encode_expire, encode_gc
from seshat.kv.sort import has_store
from seshat.kv.state_machine import StateMachine
from seshat.kv.streams import pin_blocking_read
from seshat.kv.writes import parse_db_index
from seshat.protocol.replies import OK, ErrorReply, Reply

ACTIVE_EXPIRE_KEYS_MAX: Final = 200  # keys per proposed expiry batch; bounds one entry's size


class Session:
    """Per-connection state the command layer owns: the selected logical DB."""

    __slots__ = ("db", "script_user")

    def __init__(self, db: int = 0) -> None:
        self.db = db
        # A restricted ACL user's name (None for any other): its scripts' entries carry it.
        self.script_user: bytes | None = None


@dataclass(frozen=True, slots=True)
class Immediate:
    """A reply decided without running the command against the keyspace. INFO commandstats
    counts an error here as Redis does: `rejected` (wrong arity: refused before it ran, not
    one of its calls), not at all when not `counted` (an unknown command or subcommand: Redis
    never resolved one), else as a failed call."""

    reply: Reply
    rejected: bool = False
    counted: bool = True


@dataclass(frozen=True, slots=True)
class Read:
    spec: CommandSpec


@dataclass(frozen=True, slots=True)
class Write:
    data: bytes


@dataclass(frozen=True, slots=True)
class Connection:
    spec: CommandSpec


Prepared = Immediate | Read | Write | Connection

# One instance per command, so the hot path allocates nothing for reads.
_READS: Final = {spec.name: Read(spec) for spec in TABLE if spec.kind is READ}
_CONNECTIONS: Final = {spec.name: Connection(spec) for spec in TABLE if spec.kind is CONNECTION}


class KVService:
    """Command meaning on the leader's side of the log; see the module docstring."""

    __slots__ = ("after_script_read", "clock_ms", "state_machine")

    def __init__(self, state_machine: StateMachine, clock_ms: Callable[[], int]) -> None:
        self.state_machine = state_machine
        self.clock_ms = clock_ms
        # MONITOR's `[db lua]` lines of a read-only script, which runs here rather than in
        # apply (where the server shows the calls of the others): the server's to set.
        self.after_script_read: Callable[[], None] | None = None

    def prepare(self, session: Session, argv: list[bytes]) -> Prepared:
        spec = lookup(argv[0])
        if spec is None:
            return Immediate(E.unknown_command(argv), counted=False)
        arity = spec.arity
        if (len(argv) != arity) if arity >= 0 else (len(argv) < -arity):
            return Immediate(E.wrong_arity(spec.name), rejected=True)
        kind = spec.kind
        if kind is READ:
            if spec.apply is None:
                return _READS[spec.name]
            # XREAD: with BLOCK, a write whose apply reads, which `seshat/blocking.py` retries
            # until it finds entries. `$` is pinned now, to the last ID the client could see.
            pinned = pin_blocking_read(self.state_machine.view, self.clock_ms(), session.db, argv)
            if pinned is None:
                return _READS[spec.name]
            if isinstance(pinned, ErrorReply):
                return Immediate(pinned)
            return Write(encode_command(self.clock_ms(), session.db, pinned))
        if kind is WRITE and spec.read is not None and not has_store(argv):
            # SORT: a write (it may STORE), but without STORE it only reads, so it proposes
            # nothing and runs its `read` at a read point, as SORT_RO does.
            return Read(spec)
        if spec.subcommands and kind is WRITE:  # SCRIPT: some subcommands only read
            sub = lookup_subcommand(spec.name, argv[1])
            if sub is not None and sub.kind is READ and sub.arity_ok(len(argv)):
                return Read(sub)
            if sub is not None and sub.kind is CONNECTION and sub.arity_ok(len(argv)):
                return Connection(spec)  # ACL WHOAMI, LIST ...: the node answers (seshat/acl)
        if kind is CONNECTION:
            if spec.subcommands and len(argv) > 1:  # CLIENT, CONFIG, COMMAND: the sub's row
                sub = lookup_subcommand(spec.name, argv[1])
                if sub is None:
                    unknown = E.unknown_subcommand(argv[1], spec.name.upper().decode())
                    return Immediate(unknown, counted=False)
                if not sub.arity_ok(len(argv)):
                    return Immediate(E.wrong_arity(sub.name), rejected=True)
            return _CONNECTIONS[spec.name]
        if kind is LOCAL:
            return Immediate(_select(session, argv))
        now_ms = self.clock_ms()
        prepare = spec.prepare
        if prepare is not None:
            rewritten = prepare(argv, now_ms)
            if isinstance(rewritten, ErrorReply):
                return Immediate(rewritten)
            argv = rewritten
        user = session.script_user
        if user is not None and spec.name in script_user.SCRIPT_WRITES:
            return Write(encode_command_as(now_ms, session.db, argv, user))
        return Write(encode_command(now_ms, session.db, argv))

    def execute_read(self, session: Session, argv: list[bytes]) -> Reply:
        """Run a command `prepare` classified as `Read`, against the applied state."""
        spec = lookup(argv[0])
        assert spec is not None, argv[:1]
        if spec.read is None:  # a container routed by its subcommand (SCRIPT EXISTS)
            spec = lookup_subcommand(spec.name, argv[1])
            assert spec is not None and spec.read is not None, argv[:2]
        if spec.name not in script_user.SCRIPT_READS:  # the hot path
            return spec.read(self.state_machine.view, self.clock_ms(), session.db, argv)
        script_user.set_running(session.script_user)  # a restricted ACL user: checked calls
        try:
            return spec.read(self.state_machine.view, self.clock_ms(), session.db, argv)
        finally:
            script_user.set_running(None)
            if self.after_script_read is not None:
                self.after_script_read()  # MONITOR: its calls, after its own line

    def active_expire_sample(
        self, now_ms: int, limit: int = ACTIVE_EXPIRE_KEYS_MAX
    ) -> bytes | None:
        """An Operation deleting up to `limit` keys expired at `now_ms`, or None if there are none.

        For the leader's periodic cycle only; followers never expire keys on their own.
        """
        found = self.state_machine.view.expired(now_ms, limit)
        if not found:
            return None
        return encode_expire(now_ms, found)

    def gc_sample(self, now_ms: int, limit: int = GC_ENTRIES_MAX) -> bytes | None:
        """An Operation collecting up to `limit` sub-entries of deleted collections, or None
        when nothing awaits collection (`seshat/kv/gc.py`). Leader's periodic cycle only."""
        if not self.state_machine.view.has_tombstones():
            return None
        return encode_gc(now_ms, limit)


def _select(session: Session, argv: list[bytes]) -> Reply:
    db = parse_db_index(argv[1])
    if isinstance(db, ErrorReply):
        return db
    session.db = db
    return OK
