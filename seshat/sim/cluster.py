"""A whole cluster of real Raft cores on a simulated clock, disk and network.

Time is an integer; one Raft tick is `TICK` units, so messages (1-10 units) usually arrive
within a tick and fsyncs (1-5 units) are shorter still. The run is a heap of events — node
ticks, message deliveries, fsync completions, client operations — and one *step* is one event,
after which the affected node's `Ready`s are processed and invariants checked.

The disk is each node's `MemoryLogStorage`. A `Ready` is handled in two halves, like the real
driver: its `messages` leave at once, and its persistence completes at a later fsync event, when
the `persisted_messages` leave and the committed entries are applied. A crash between the
halves loses that Ready, exactly what a power cut before fsync loses. The state machine is a
register per key, rebuilt after a restart from the snapshot and the replayed log.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Callable

import msgpack

from seshat.raft.core import Config, ProposalDropped
from seshat.raft.rawnode import RawNode, Ready
from seshat.raft.storage import MemoryLogStorage
from seshat.raft.types import (
    ConfChange,
    ConfState,
    Entry,
    EntryId,
    EntryType,
    Message,
    StateRole,
    apply_conf_change,
)
from seshat.sim.invariants import InvariantChecker
from seshat.sim.network import NetworkFaults, SimNetwork

TICK = 10
ELECTION_TICKS = 10


@dataclass(slots=True)
class RegisterMachine:
    """The simulated application: key -> value registers, deterministic apply."""

    values: dict[str, int] = field(default_factory=dict)
    applied: int = 0
    conf: ConfState = field(default_factory=ConfState)

    def apply(self, entry: Entry) -> None:
        assert entry.index == self.applied + 1, (entry.index, self.applied)
        self.applied = entry.index
        if entry.type is EntryType.CONF_CHANGE:
            self.conf = apply_conf_change(self.conf, ConfChange.decode(entry.data))
        elif entry.data:
            key, value = msgpack.unpackb(entry.data)
            self.values[key] = value

    def snapshot_data(self) -> bytes:
        return msgpack.packb(sorted(self.values.items()))

    def restore(self, data: bytes, index: int, conf: ConfState) -> None:
        self.values = dict(msgpack.unpackb(data)) if data else {}
        self.applied = index
        self.conf = conf


class SimNode:
    """One node: its disk survives crashes; everything else is rebuilt on restart."""

    def __init__(
        self,
        node_id: int,
        storage: MemoryLogStorage,
        rng: random.Random,
        pre_vote: bool = True,
        check_quorum: bool = True,
    ) -> None:
        self.id = node_id
        # One entry per MsgApp lets an old-term entry travel without the new leader's no-op,
        # the precondition of the Raft paper's figure 8.
        self.append_entries_max = 64
        self.pre_vote = pre_vote
        self.check_quorum = check_quorum
        self.storage = storage
        self.rng = rng
        self.raw: RawNode | None = None
        self.machine = RegisterMachine()
        self.pending: Ready | None = None
        self.paused = False
        self.restart()

    @property
    def alive(self) -> bool:
        return self.raw is not None

    def restart(self) -> None:
        config = Config(
            id=self.id,
            rng=self.rng,
            election_ticks=ELECTION_TICKS,
            heartbeat_ticks=1,
            pre_vote=self.pre_vote,
            check_quorum=self.check_quorum,
        )
        config.append_entries_max = self.append_entries_max
        config.inflight_msgs_max = 8
        self.raw = RawNode(config, self.storage)
        snap = self.storage.snap
        self.machine = RegisterMachine()
        self.machine.restore(snap.data, snap.metadata.index, snap.metadata.conf_state)
        self.pending = None

    def crash(self) -> None:
        self.raw = None
        self.pending = None


@dataclass(slots=True)
class Pending:
    """A client write awaiting its fate on the node that proposed it."""

    entry_id: EntryId
    on_done: Callable[[str], None]


class SimCluster:
    def __init__(
        self,
        node_ids: list[int],
        voters: list[int],
        rng: random.Random,
        faults: NetworkFaults,
        trace: Callable[[str], None] | None = None,
        pre_vote: bool = True,
        check_quorum: bool = True,
    ) -> None:
        self.rng = rng
        self.now = 0
        self.net = SimNetwork(rng, faults)
        self.checker = InvariantChecker()
        self.events: list[tuple[int, int, str, int, object]] = []
        self.event_seq = 0
        self.trace = trace
        self.trace_hash = 0
        self.nodes: dict[int, SimNode] = {}
        self.writes: dict[int, list[Pending]] = {}
        self.reads: dict[int, dict[bytes, Callable[[int | None], None]]] = {}
        self.read_waits: dict[int, list[tuple[int, Callable[[int | None], None]]]] = {}
        self.fsync_min, self.fsync_max = 1, 5
        self.crash_before_fsync = 0.0  # probability per persisting Ready (buggify site)
        for node_id in node_ids:
            storage = MemoryLogStorage()
            if node_id in voters:
                storage.bootstrap(ConfState(tuple(voters), ()))
            self.nodes[node_id] = SimNode(node_id, storage, rng, pre_vote, check_quorum)
            self.writes[node_id] = []
            self.reads[node_id] = {}
            self.read_waits[node_id] = []
            self.schedule(self.rng.randint(1, TICK), "tick", node_id)

    # ------------------------------------------------------------------ events

    def schedule(self, at: int, kind: str, node_id: int, payload: object = None) -> None:
        self.event_seq += 1
        heapq.heappush(self.events, (at, self.event_seq, kind, node_id, payload))

    def _mix(self, *values: int) -> None:
        h = self.trace_hash
        for v in values:
            h = (h * 1000003 + v) & 0xFFFFFFFFFFFF
        self.trace_hash = h

    def step(self) -> bool:
        """Run one event (a message delivery or a scheduled event); False if none is left."""
        net_time = self.net.next_time()
        ev_time = self.events[0][0] if self.events else None
        if net_time is None and ev_time is None:
            return False
        if net_time is not None and (ev_time is None or net_time < ev_time):
            self.now = max(self.now, net_time)
            self._deliver(self.net.pop())
            return True
        at, _, kind, node_id, payload = heapq.heappop(self.events)
        self.now = max(self.now, at)
        self._mix(at, node_id, len(kind))
        if kind == "call":
            assert callable(payload)
            payload()
            return True
        node = self.nodes[node_id]
        if kind == "tick":
            self.schedule(self.now + TICK, "tick", node_id)
            if node.raw is not None and not node.paused:
                node.raw.tick()
                self._after_step(node)
        elif kind == "fsync":
            if node.raw is not None and node.pending is payload:
                self._finish_ready(node)
                self._after_step(node)
        return True

    def _deliver(self, m: Message) -> None:
        node = self.nodes.get(m.to)
        self._mix(self.now, m.frm, m.to, int(m.type))
        if node is None or node.raw is None or node.paused:
            return
        if self.trace:
            self.trace(f"{self.now} deliver {m.type.name} {m.frm}->{m.to} t{m.term} i{m.index}")
        node.raw.step(m)
        self._after_step(node)

    # ------------------------------------------------------------------ ready handling

    def _after_step(self, node: SimNode) -> None:
        raw = node.raw
        assert raw is not None
        if node.pending is None and raw.has_ready():
            rd = raw.ready()
            node.pending = rd
            if rd.soft_state is not None:
                self._on_soft_state(node, rd)
            for m in rd.messages:
                self.net.send(self.now, m)
            if rd.must_persist():
                if self.crash_before_fsync and self.rng.random() < self.crash_before_fsync:
                    # buggify: power lost right after the messages left, before the fsync.
                    # A core that let a vote or an ack leave early is caught here.
                    self._crash_and_restart_later(node.id)
                    return
                self.schedule(self.now + self.rng.randint(self.fsync_min, self.fsync_max), "fsync", node.id, rd)
            else:
                self._finish_ready(node)
        raw.check_invariants()
        self.checker.on_commit(raw)

    def _on_soft_state(self, node: SimNode, rd: Ready) -> None:
        assert rd.soft_state is not None and node.raw is not None
        if self.trace:
            self.trace(f"{self.now} node {node.id} {rd.soft_state.role.value} term {node.raw.term()}")
        if rd.soft_state.role is StateRole.LEADER:
            self.checker.on_leader(node.raw)
        else:
            # Writes proposed here while leader now have an unknown fate; they stay pending
            # until applied (ok), overwritten (fail) or the client times out (info).
            pass

    def _finish_ready(self, node: SimNode) -> None:
        raw, rd = node.raw, node.pending
        assert raw is not None and rd is not None
        storage = node.storage
        if rd.snapshot is not None:
            storage.apply_snapshot(rd.snapshot)
            meta = rd.snapshot.metadata
            node.machine.restore(rd.snapshot.data, meta.index, meta.conf_state)
        if rd.entries:
            storage.append(rd.entries)
        if rd.hard_state is not None:
            storage.set_hard_state(rd.hard_state)
        for m in rd.persisted_messages:
            self.net.send(self.now, m)
        for entry in rd.committed_entries:
            node.machine.apply(entry)
            self.checker.on_apply(node.id, entry)
            self._resolve_writes(node, entry)
        for state in rd.read_states:
            callback = self.reads[node.id].pop(state.context, None)
            if callback is not None:
                self.read_waits[node.id].append((state.index, callback))
        for context in rd.dropped_reads:
            callback = self.reads[node.id].pop(context, None)
            if callback is not None:
                callback(None)
        node.pending = None
        raw.advance(rd)
        self._serve_reads(node)

    def _resolve_writes(self, node: SimNode, entry: Entry) -> None:
        still = []
        for pending in self.writes[node.id]:
            if pending.entry_id.index == entry.index:
                # Same index and term: our entry committed. Another term: ours was
                # overwritten before committing, so it never will.
                pending.on_done("ok" if pending.entry_id.term == entry.term else "fail")
            elif pending.entry_id.index > entry.index:
                still.append(pending)
            # Below: a snapshot skipped its index; its fate is unknown here (client times out).
        self.writes[node.id] = still

    def _serve_reads(self, node: SimNode) -> None:
        waits = self.read_waits[node.id]
        if not waits:
            return
        applied = node.machine.applied
        ready = [w for w in waits if w[0] <= applied]
        if ready:
            self.read_waits[node.id] = [w for w in waits if w[0] > applied]
            for _, callback in ready:
                callback(applied)

    # ------------------------------------------------------------------ client API

    def propose(self, node_id: int, data: bytes, on_done: Callable[[str], None]) -> None:
        node = self.nodes[node_id]
        if node.raw is None or node.paused:
            on_done("fail")  # connection refused: definitely not applied
            return
        try:
            (entry_id,) = node.raw.propose([data])
        except ProposalDropped:
            on_done("fail")
            return
        self.writes[node_id].append(Pending(entry_id, on_done))
        self._after_step(node)

    def read(self, node_id: int, context: bytes, on_done: Callable[[int | None], None]) -> None:
        node = self.nodes[node_id]
        if node.raw is None or node.paused:
            on_done(None)
            return
        self.reads[node_id][context] = on_done
        node.raw.read_index(context)
        self._after_step(node)

    def forget_client(self, node_id: int, context: bytes) -> None:
        self.reads[node_id].pop(context, None)

    # ------------------------------------------------------------------ faults

    def _crash_and_restart_later(self, node_id: int) -> None:
        self.crash(node_id)
        self.schedule(self.now + self.rng.randint(1, 3) * TICK, "call", 0, lambda: self.restart(node_id))

    def crash(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.raw is None:
            return
        if self.trace:
            self.trace(f"{self.now} crash {node_id}")
        node.crash()
        self.writes[node_id] = []  # their clients time out: info
        self.reads[node_id] = {}
        self.read_waits[node_id] = []

    def restart(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.raw is not None:
            return
        if self.trace:
            self.trace(f"{self.now} restart {node_id}")
        node.restart()
        assert node.raw is not None
        self._after_step(node)

    def leader(self) -> SimNode | None:
        best = None
        for node in self.nodes.values():
            if node.raw is not None and node.raw.role() is StateRole.LEADER and not node.paused:
                if best is None or node.raw.term() > best.raw.term():  # type: ignore[union-attr]
                    best = node
        return best

    def live_nodes(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.raw is not None]

    def compact(self, node_id: int, keep: int) -> None:
        """The application snapshots its state and drops log entries it no longer needs."""
        node = self.nodes[node_id]
        if node.raw is None or node.pending is not None:
            return
        applied = node.machine.applied
        if applied - node.storage.first_index() < keep:
            return
        if applied > node.storage.last_index():
            return
        node.storage.create_snapshot(applied, node.machine.conf, node.machine.snapshot_data())
        node.storage.compact(applied)
        if self.trace:
            self.trace(f"{self.now} compact {node_id} to {applied}")

    def check_all(self) -> None:
        live = [n.raw for n in self.nodes.values() if n.raw is not None]
        for raw in live:
            self.checker.check_committed_still_present(raw)
        self.checker.check_log_matching(live)  # type: ignore[arg-type]
