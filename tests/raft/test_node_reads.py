"""A linearizable read asked while no leader is known waits for one, for a bounded time.

Before, the core's drop (no leader to send the ReadIndex to: an election, or a node that has
not heard from the leader yet, such as one just added) failed the read at once, and the client
got TRYAGAIN although a leader was a heartbeat away; writes already waited for a leader in the
forwarder. Real core and driver; the transport is `NoTransport` (no peers are needed: a node
with no leader known is the case under test).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from seshat.raft import Config, ConfState, MemoryLogStorage, RawNode
from seshat.raft.node import NoTransport, RaftNode, ReadDropped
from seshat.raft.types import StateRole
from tests.raft.harness import MemoryDurableLog
from tests.raft.test_node_failure import CountingApplier


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait, with a deadline, until `condition` holds (checked once per loop turn)."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0)


def _node(voters: tuple[int, ...]) -> RaftNode:
    storage = MemoryLogStorage()
    storage.bootstrap(ConfState(voters, ()))
    raw = RawNode(Config(id=1, rng=random.Random(1)), storage)
    return RaftNode(
        raw, MemoryDurableLog(storage), CountingApplier(), NoTransport(), tick_interval_ms=10
    )


async def test_a_read_asked_before_any_leader_is_answered_once_one_is_elected() -> None:
    node = _node((1,))
    node.read_leader_wait_s = 60.0  # the bound is not under test here
    node.start()
    try:
        assert node.raw.raft.lead == 0
        barrier = node.read_barrier()
        assert barrier is not None
        await _until(lambda: bool(node._parked_reads))  # the core dropped it: parked
        ticks = node.raw.raft.election_elapsed
        await _until(lambda: node.raw.raft.election_elapsed >= ticks + 3)  # ticks go by
        assert not barrier.done  # no leader yet: still waiting, not failed
        node.raw.campaign()
        await asyncio.wait_for(barrier, 5)  # answered (it raises if it failed)
        assert node.raw.role() is StateRole.LEADER
        assert not node._parked_reads and not node._read_deadlines
    finally:
        await asyncio.wait_for(node.stop(), 5)


async def test_a_read_with_no_leader_in_sight_fails_after_its_bound() -> None:
    node = _node((1, 2))  # node 2 never answers: node 1 can never win an election
    node.read_leader_wait_s = 0.05
    node.start()
    try:
        barrier = node.read_barrier()
        assert barrier is not None
        with pytest.raises(ReadDropped, match="no leader"):
            await asyncio.wait_for(barrier, 5)
        assert not node._parked_reads and not node._read_deadlines
    finally:
        await asyncio.wait_for(node.stop(), 5)


async def test_stopping_fails_a_parked_read() -> None:
    node = _node((1, 2))
    node.read_leader_wait_s = 60.0
    node.start()
    barrier = node.read_barrier()
    assert barrier is not None
    await _until(lambda: bool(node._parked_reads))
    await asyncio.wait_for(node.stop(), 5)
    with pytest.raises(ReadDropped, match="shutting down"):
        await asyncio.wait_for(barrier, 5)
