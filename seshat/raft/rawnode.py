"""The driver's handle on the core: inputs in, numbered `Ready`s out, `advance()` to confirm.

The driver loop, in order (etcd-raft rawnode.go, raft-rs raw_node.rs):

    rd = node.ready()                   # only when node.has_ready()
    send(rd.messages)                   # may leave at once, even before the fsync below
    persist(rd.snapshot, rd.entries, rd.hard_state)   # durable before the next two steps
    send(rd.persisted_messages)         # votes and append acknowledgements
    apply(rd.snapshot); apply(rd.committed_entries); answer(rd.read_states)
    node.advance(rd)

Only one Ready is outstanding at a time: `has_ready()` is False until it is advanced. Inputs
(`step`, `tick`, `propose`, `read_index`) may arrive while it is outstanding (the driver is
waiting on an fsync); what they produce goes into the next Ready, which is how every proposal
that arrives during one fsync shares the next one (group commit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seshat.raft.core import Config, ProposalDropped, Raft
from seshat.raft.storage import LogStorage
from seshat.raft.types import (
    ConfChange,
    ConfState,
    Entry,
    EntryId,
    HardState,
    Message,
    MessageType,
    ReadState,
    Snapshot,
    SoftState,
    StateRole,
)


@dataclass(slots=True)
class Ready:
    """Everything the driver must act on, with the order that makes it safe.

    - `soft_state`: set when leader or role changed; observe only (not persisted).
    - `hard_state`: set when term, vote or commit changed; persist before `persisted_messages`.
    - `entries`: append to stable storage (overwriting any conflicting suffix) before
      `persisted_messages`.
    - `snapshot`: persist and install into the state machine before `committed_entries`.
    - `committed_entries`: apply in order; they are already persisted locally.
    - `messages`: send now; they do not depend on this Ready's persistence.
    - `persisted_messages`: send only after `hard_state`, `entries`, `snapshot` are durable.
    - `read_states`: a read for `context` may be served once applied >= `index`.
    - `dropped_reads`: contexts of read requests that will never be answered (leadership lost,
      no leader known): fail them fast.
    """

    number: int
    soft_state: SoftState | None = None
    hard_state: HardState | None = None
    entries: list[Entry] = field(default_factory=list)
    snapshot: Snapshot | None = None
    committed_entries: list[Entry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    persisted_messages: list[Message] = field(default_factory=list)
    read_states: list[ReadState] = field(default_factory=list)
    dropped_reads: list[bytes] = field(default_factory=list)

    def must_persist(self) -> bool:
        return bool(self.hard_state or self.entries or self.snapshot)


class RawNode:
    def __init__(self, config: Config, storage: LogStorage) -> None:
        self.raft = Raft(config, storage)
        self._prev_soft = self.raft.soft_state()
        self._prev_hard = self.raft.hard_state()
        self._ready_number = 0
        self._outstanding: Ready | None = None

    # --- inputs ---

    def tick(self) -> None:
        self.raft.tick()

    def campaign(self) -> None:
        self.raft.step(Message(MessageType.MsgHup, frm=self.raft.id))

    def step(self, message: Message) -> None:
        assert message.type not in (MessageType.MsgHup, MessageType.MsgBeat), message.type
        if message.to != self.raft.id:
            return  # misrouted: not for us
        self.raft.step(message)

    def propose(self, datas: list[bytes]) -> list[EntryId]:
        """Append proposals; raises ProposalDropped when this node cannot take them."""
        return self.raft.propose(datas)

    def propose_conf_change(self, change: ConfChange) -> EntryId:
        return self.raft.propose_conf_change(change)

    def read_index(self, context: bytes) -> None:
        self.raft.read_index(context)

    def transfer_leader(self, target: int) -> None:
        self.raft.transfer_leader(target)

    def report_unreachable(self, node: int) -> None:
        self.raft.report_unreachable(node)

    def report_snapshot(self, node: int, failed: bool) -> None:
        self.raft.report_snapshot(node, failed)

    # --- views ---

    @property
    def id(self) -> int:
        return self.raft.id

    def role(self) -> StateRole:
        return self.raft.role

    def leader_id(self) -> int:
        return self.raft.lead

    def term(self) -> int:
        return self.raft.term

    def conf_state(self) -> ConfState:
        return self.raft.conf

    def committed(self) -> int:
        return self.raft.log.committed

    def applied(self) -> int:
        return self.raft.log.applied

    def last_index(self) -> int:
        return self.raft.log.last_index()

    # --- the Ready cycle ---

    def has_ready(self) -> bool:
        if self._outstanding is not None:
            return False
        r = self.raft
        r.flush_appends()
        hard, soft = self._prev_hard, self._prev_soft
        return bool(
            r.msgs
            or r.term != hard.term
            or r.vote != hard.vote
            or r.log.committed != hard.commit
            or r.lead != soft.leader_id
            or r.role is not soft.role
            or r.log.unstable.next_entries()
            or r.log.unstable.next_snapshot() is not None
            or r.msgs
            or r.msgs_after_persist
            or r.log.has_next_committed_entries()
            or r.read_states
            or r.dropped_reads
        )

    def ready(self) -> Ready:
        assert self._outstanding is None, "ready() twice without advance()"
        r = self.raft
        r.flush_appends()
        self._ready_number += 1
        rd = Ready(number=self._ready_number)
        soft = r.soft_state()
        if soft != self._prev_soft:
            rd.soft_state = soft
        hard = r.hard_state()
        if hard != self._prev_hard:
            rd.hard_state = hard
        rd.entries = r.log.unstable.next_entries()
        rd.snapshot = r.log.unstable.next_snapshot()
        r.log.unstable.accept_in_progress()
        if rd.snapshot is None:
            # A snapshot being installed replaces the log: nothing else applies until it has.
            rd.committed_entries = r.log.next_committed_entries(
                r.config.committed_bytes_per_ready_max
            )
        rd.messages, r.msgs = r.msgs, []
        rd.persisted_messages, r.msgs_after_persist = r.msgs_after_persist, []
        rd.read_states, r.read_states = r.read_states, []
        rd.dropped_reads, r.dropped_reads = r.dropped_reads, []
        if not rd.must_persist() and rd.persisted_messages:
            # Nothing to wait for: these may leave with the rest.
            rd.messages.extend(rd.persisted_messages)
            rd.persisted_messages = []
        self._outstanding = rd
        return rd

    def advance(self, rd: Ready) -> None:
        """The driver persisted, sent and applied everything in `rd`."""
        assert rd is self._outstanding, "advance() of a Ready that is not outstanding"
        self._outstanding = None
        r = self.raft
        if rd.soft_state is not None:
            self._prev_soft = rd.soft_state
        if rd.hard_state is not None:
            self._prev_hard = rd.hard_state
        if rd.snapshot is not None:
            r.log.stable_snap_to(rd.snapshot.metadata.index)
            if rd.snapshot.metadata.index > r.log.applied:
                r.log.applied = rd.snapshot.metadata.index
        if rd.entries:
            last = rd.entries[-1]
            r.log.stable_to(EntryId(last.term, last.index))
        if rd.committed_entries:
            r.log.applied_to(rd.committed_entries[-1].index)
        r.on_persisted()

    def check_invariants(self) -> None:
        self.raft.check_invariants()


__all__ = ["RawNode", "Ready", "Config", "ProposalDropped"]
