"""The asyncio driver stops for good when a Ready cannot be persisted, and says so.

Real: the core (`RawNode`) and its driver (`RaftNode`). Stand-in, and why: `FailingLog` is the
harness's in-memory log whose `stage` raises once told to, in place of a disk that refuses a write
(the same failure on a real RocksDB, in a real process, is tests/server/test_storage_failure.py;
here the driver's side of it is checked without a process).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from seshat.raft import Config, ConfState, MemoryLogStorage, ProposalDropped, RawNode, Ready
from seshat.raft.node import NodeFailed, NoTransport, OutcomeUnknown, RaftNode
from seshat.raft.types import Entry, Snapshot, StateRole
from tests.raft.harness import MemoryDurableLog


class FailingLog(MemoryDurableLog):
    def __init__(self, storage: MemoryLogStorage) -> None:
        super().__init__(storage)
        self.error: OSError | None = None

    def stage(self, rd: Ready) -> None:
        if self.error is not None:
            raise self.error
        super().stage(rd)


class CountingApplier:
    def __init__(self) -> None:
        self.applied = 0

    def apply(self, entries: list[Entry]) -> list[Any]:
        self.applied += len(entries)
        return [None] * len(entries)

    def install_snapshot(self, snapshot: Snapshot) -> None:
        raise AssertionError("no snapshot in this test")


async def test_a_ready_that_cannot_be_persisted_fails_what_is_in_flight_and_stops() -> None:
    storage = MemoryLogStorage()
    storage.bootstrap(ConfState((1,), ()))
    raw = RawNode(Config(id=1, rng=random.Random(1)), storage)
    log = FailingLog(storage)
    failures: list[BaseException] = []
    node = RaftNode(
        raw, log, CountingApplier(), NoTransport(), tick_interval_ms=10,
        on_failure=failures.append,
    )
    node.start()
    raw.campaign()
    try:
        for _ in range(500):
            if node.raw.role() is StateRole.LEADER and node.applied >= node.raw.committed() > 0:
                break
            await asyncio.sleep(0.01)
        assert node.is_leader()
        assert await node.propose(b"before") is None

        log.error = OSError(28, "No space left on device")
        in_flight = node.propose(b"refused")
        with pytest.raises(NodeFailed, match="No space left") as failed:
            await asyncio.wait_for(in_flight, 5)
        assert isinstance(failed.value, OutcomeUnknown)  # it may be durable: never "failed"
        assert failures == [log.error]
        with pytest.raises(ProposalDropped) as dropped:
            node.propose(b"after")
        assert dropped.value.reason == "node_failed"
    finally:
        await asyncio.wait_for(node.stop(), 5)
