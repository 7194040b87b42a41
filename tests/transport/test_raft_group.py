"""A real three-node Raft group talking through GrpcTransport on loopback.

Real: the Raft core (`RawNode`), its asyncio driver (`RaftNode`, ticking on its own timer),
the transport, gRPC, sockets. Fakes, and why:

- `MemoryDurableLog` stages each Ready into a `MemoryLogStorage` and syncs nothing: the
  transport is under test, not the disk, and the core's tests already treat MemoryLogStorage
  as the disk (tests/raft/harness.py does the same).
- `ListApplier` records the applied entries in a list instead of running the kv state machine:
  replicated bytes are what the test compares, and `seshat.raft` carries opaque bytes anyway.

The group must elect one leader on its own (no campaign forced), replicate 100 proposals, and
every node must apply the same 100 entries in the same order.
"""

from __future__ import annotations

import random
from typing import Any

from seshat.raft import Config, ConfState, MemoryLogStorage, RawNode
from seshat.raft.node import RaftNode
from seshat.raft.types import Entry, EntryType, Snapshot, StateRole
from seshat.transport import GrpcTransport
from tests.raft.harness import MemoryDurableLog
from tests.transport.conftest import CLUSTER, FAST_LIMITS, wait_for


class ListApplier:
    def __init__(self) -> None:
        self.data: list[bytes] = []

    def apply(self, entries: list[Entry]) -> list[Any]:
        self.data.extend(e.data for e in entries if e.type is EntryType.NORMAL and e.data)
        return [None] * len(entries)

    def install_snapshot(self, snapshot: Snapshot) -> None:
        raise AssertionError("no snapshot expected in this test")


async def test_three_raft_nodes_elect_replicate_and_apply() -> None:
    ids = [1, 2, 3]
    nodes: dict[int, RaftNode] = {}
    appliers = {i: ListApplier() for i in ids}
    transports: dict[int, GrpcTransport] = {}

    def make_transport(i: int) -> GrpcTransport:
        return GrpcTransport(
            i,
            CLUSTER,
            {},
            "127.0.0.1",
            0,
            on_message=lambda m: nodes[i].step(m),
            on_unreachable=lambda peer: nodes[i].report_unreachable(peer),
            on_snapshot_status=lambda peer, failed: nodes[i].report_snapshot(peer, failed),
            limits=FAST_LIMITS,
        )

    try:
        for i in ids:
            transports[i] = make_transport(i)
            await transports[i].start()
        for i in ids:
            for j in ids:
                transports[i].add_peer(j, f"127.0.0.1:{transports[j].port}")
        for i in ids:
            storage = MemoryLogStorage()
            storage.bootstrap(ConfState(tuple(ids), ()))
            raw = RawNode(Config(id=i, rng=random.Random(i)), storage)
            nodes[i] = RaftNode(
                raw, MemoryDurableLog(storage), appliers[i], transports[i], tick_interval_ms=20
            )
            nodes[i].start()

        def one_leader() -> bool:
            leaders = [i for i in ids if nodes[i].raw.role() is StateRole.LEADER]
            return len(leaders) == 1 and all(nodes[i].leader_id() == leaders[0] for i in ids)

        await wait_for(one_leader, "one leader known to all", tries=3000)
        leader = next(nodes[i] for i in ids if nodes[i].is_leader())
        values = [b"value-%03d" % n for n in range(100)]
        pending = [leader.propose(v) for v in values]
        for proposal in pending:
            await proposal
        await wait_for(
            lambda: all(appliers[i].data == values for i in ids), "100 entries applied on all"
        )
        sent = sum(t.peer_stats(p).sent_msgs for t in transports.values() for p in t.peers())  # type: ignore[union-attr]
        assert sent > 0
    finally:
        for node in nodes.values():
            await node.stop()
        for transport in transports.values():
            await transport.stop()
