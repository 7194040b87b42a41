"""A tiny lock-step network of RawNodes for the core's scenario tests.

Unlike the simulator, nothing here is random but the election jitter: tests call
`stabilize()` to deliver every message and process every Ready until the cluster is quiet, and
`isolate()`/`heal()` to cut links. Persistence is immediate (MemoryLogStorage is the disk).
"""

from __future__ import annotations

import random

from seshat.raft import (
    Config,
    ConfState,
    Entry,
    EntryType,
    MemoryLogStorage,
    Message,
    RawNode,
    Ready,
    StateRole,
)


class MemoryDurableLog:
    """The asyncio driver's `DurableLog` over a `MemoryLogStorage`, which is the disk here: for
    tests of the driver or the transport, not of persistence. `sync` has nothing to do."""

    def __init__(self, storage: MemoryLogStorage) -> None:
        self.storage = storage

    def stage(self, rd: Ready) -> None:
        if rd.snapshot is not None:
            self.storage.apply_snapshot(rd.snapshot)
        if rd.entries:
            self.storage.append(rd.entries)
        if rd.hard_state is not None:
            self.storage.set_hard_state(rd.hard_state)

    def sync(self) -> None:
        pass


class Cluster:
    def __init__(self, ids: list[int], seed: int = 0, **config: object) -> None:
        self.storages: dict[int, MemoryLogStorage] = {}
        self.nodes: dict[int, RawNode] = {}
        self.applied: dict[int, list[Entry]] = {i: [] for i in ids}
        self.read_states: dict[int, list[tuple[int, bytes]]] = {i: [] for i in ids}
        self.dropped_reads: dict[int, list[bytes]] = {i: [] for i in ids}
        self.inbox: list[Message] = []
        self.cut: set[tuple[int, int]] = set()
        self.config = config
        self.seed = seed
        for i in ids:
            storage = MemoryLogStorage()
            storage.bootstrap(ConfState(tuple(ids), ()))
            self.storages[i] = storage
            self.nodes[i] = self._make(i)

    def _make(self, node_id: int) -> RawNode:
        cfg = Config(id=node_id, rng=random.Random(self.seed * 1000 + node_id), **self.config)  # type: ignore[arg-type]
        return RawNode(cfg, self.storages[node_id])

    def add_node(self, node_id: int) -> None:
        """A fresh node that knows nothing; it joins when the leader adds it."""
        self.storages[node_id] = MemoryLogStorage()
        self.nodes[node_id] = self._make(node_id)
        self.applied[node_id] = []
        self.read_states[node_id] = []
        self.dropped_reads[node_id] = []

    def restart(self, node_id: int) -> None:
        self.nodes[node_id] = self._make(node_id)
        self.applied[node_id] = []

    def process(self, node_id: int) -> bool:
        node = self.nodes[node_id]
        if not node.has_ready():
            return False
        rd = node.ready()
        storage = self.storages[node_id]
        self.inbox.extend(rd.messages)
        if rd.snapshot is not None:
            storage.apply_snapshot(rd.snapshot)
        if rd.entries:
            storage.append(rd.entries)
        if rd.hard_state is not None:
            storage.set_hard_state(rd.hard_state)
        self.inbox.extend(rd.persisted_messages)
        self.applied[node_id].extend(rd.committed_entries)
        self.read_states[node_id].extend((r.index, r.context) for r in rd.read_states)
        self.dropped_reads[node_id].extend(rd.dropped_reads)
        node.advance(rd)
        node.check_invariants()
        return True

    def stabilize(self, max_rounds: int = 1000) -> None:
        for _ in range(max_rounds):
            progressed = False
            for node_id in list(self.nodes):
                progressed |= self.process(node_id)
            messages, self.inbox = self.inbox, []
            for m in messages:
                if (m.frm, m.to) in self.cut or m.to not in self.nodes:
                    continue
                self.nodes[m.to].step(m)
                progressed = True
            if not progressed:
                return
        raise AssertionError("cluster did not stabilize")

    def tick_all(self, ticks: int) -> None:
        for _ in range(ticks):
            for node in self.nodes.values():
                node.tick()
            self.stabilize()

    def isolate(self, node_id: int) -> None:
        for other in self.nodes:
            if other != node_id:
                self.cut.add((node_id, other))
                self.cut.add((other, node_id))

    def heal(self) -> None:
        self.cut.clear()

    def leader(self) -> int | None:
        leaders = [i for i, n in self.nodes.items() if n.role() is StateRole.LEADER]
        return leaders[0] if len(leaders) == 1 else None

    def elect(self, node_id: int) -> None:
        self.nodes[node_id].campaign()
        self.stabilize()
        assert self.nodes[node_id].role() is StateRole.LEADER, self.nodes[node_id].role()

    def data(self, node_id: int) -> list[bytes]:
        return [e.data for e in self.applied[node_id] if e.data and e.type is EntryType.NORMAL]
