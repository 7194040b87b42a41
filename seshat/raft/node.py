"""The asyncio driver around the pure core: ticks, the Ready loop, group commit, completions.

`RaftNode` owns one `RawNode` and runs the driver loop of `rawnode.py` as one task. It knows
the disk, the network and the state machine only through three small ports (`DurableLog`,
`Transport`, `Applier`), so `seshat.raft` imports neither storage nor kv.

Group commit falls out of the loop's shape: while one Ready's fsync runs in a worker thread,
every proposal that arrives is appended to the core's unstable log, and the next Ready carries
them all to one write and one fsync. Only a leader pays for that thread: a follower has
nothing to overlap with its fsync (its ack must wait for it), so it fsyncs on the loop, and the
MsgApps that arrive meanwhile share its next one. A Ready whose only durable change is the
commit index is written without an fsync: the commit index is recoverable (the core treats the
stored one as a lower bound, and the applied index as another).

Every proposal's fate is reported: `propose()` raises `ProposalDropped` at once when the node
cannot take it, and otherwise returns a `Completion` settled with the state machine's result
when the entry applies, or fails with `ProposalLost` when another entry took its index, or with
`OutcomeUnknown` if leadership was lost and nothing settled it within a bounded time.

A Ready the driver cannot get past (the disk refuses a write, or a bug raises) stops the node
rather than leaving it up with no driver: everything in flight fails with `NodeFailed`, and
`on_failure` tells the server, which exits. Retrying in place would not help: RocksDB refuses
every write after a failed WAL write until the database is opened again, and a restart does
exactly that, replaying the log from what was made durable.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from seshat.raft.core import ProposalDropped
from seshat.raft.rawnode import RawNode, Ready
from seshat.raft.types import (
    NONE,
    ConfChange,
    Entry,
    EntryId,
    Message,
    Snapshot,
    SoftState,
    StateRole,
)

# Off unless set: SESHAT_TRACE_TIMINGS=PATH appends one line per Ready to PATH (monotonic start,
# duration, entry and commit indexes, and the start/end of each stage/sync/send/apply inside it,
# relative to the start, in ns). For bench/run_cluster_bench.py --trace-write only.
_TRACE_PATH = os.environ.get("SESHAT_TRACE_TIMINGS", "")


class _Timed:
    """Forwards every call to `inner`, noting (name, start_ns, end_ns) in `marks`."""

    def __init__(self, inner: Any, marks: list[tuple[str, int, int]]) -> None:
        self._inner, self._marks = inner, marks

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def timed(*args: Any) -> Any:
            t0 = time.monotonic_ns()
            try:
                return attr(*args)
            finally:
                self._marks.append((name, t0, time.monotonic_ns()))

        return timed


class DurableLog(Protocol):
    def stage(self, rd: Ready) -> None:
        """Write the Ready's snapshot, entries and hard state, unsynced, as one atomic batch."""
        ...

    def sync(self) -> None:
        """Make everything staged so far durable (blocking; a leader calls it in a worker
        thread, a follower on the loop)."""
        ...


class Applier(Protocol):
    def apply(self, entries: list[Entry]) -> list[Any]:
        """Apply committed entries in order; one result per entry (None for no-ops)."""
        ...

    def install_snapshot(self, snapshot: Snapshot) -> None: ...


class Transport(Protocol):
    def send(self, messages: list[Message]) -> None: ...


class NoTransport:
    """A single node has nobody to talk to."""

    def send(self, messages: list[Message]) -> None:
        assert not messages, messages


class ProposalLost(Exception):
    """Another entry took this proposal's index: it was definitely not applied."""


class OutcomeUnknown(Exception):
    """Leadership was lost after proposing and nothing settled the entry's fate in time."""


class ReadDropped(Exception):
    """The node could not confirm a read point (no leader, or leadership lost)."""


class NodeFailed(OutcomeUnknown):
    """The driver stopped on an error it cannot get past; what was in flight may or may not
    have committed (it may be durable here, or on a quorum elsewhere)."""


COMPLETION_FAILURES = (ProposalLost, NodeFailed, OutcomeUnknown, ReadDropped, ProposalDropped)
"""What a proposal's or a read point's completion may fail with (the server's
`failure_reply` answers each)."""


class Completion:
    """The fate of one proposal: cheaper than an asyncio.Future on the hot path.

    The driver settles it synchronously while applying; the one callback (a connection's)
    runs at once, so a batch of completions costs no event-loop round trips. It is also
    awaitable, for callers that prefer `await node.propose(data)`.
    """

    __slots__ = ("_callback", "done", "error", "index", "result")

    def __init__(self, index: int = 0) -> None:
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self._callback: Callable[[Completion], None] | None = None
        self.index = index  # the proposal's log index (0: not a proposal)

    def add_callback(self, callback: Callable[[Completion], None]) -> None:
        assert self._callback is None, "one callback per completion"
        if self.done:
            callback(self)
        else:
            self._callback = callback

    def set_result(self, result: Any) -> None:
        if self.done:
            return
        self.done = True
        self.result = result
        if self._callback is not None:
            self._callback(self)

    def set_error(self, error: BaseException) -> None:
        if self.done:
            return
        self.done = True
        self.error = error
        if self._callback is not None:
            self._callback(self)

    def __await__(self) -> Any:
        if not self.done:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def wake(_: Completion) -> None:
                if not future.done():
                    future.set_result(None)

            self.add_callback(wake)
            yield from future.__await__()
        if self.error is not None:
            raise self.error
        return self.result


@dataclass(slots=True)
class _Pending:
    entry_id: EntryId
    completion: Completion


class RaftNode:
    def __init__(
        self,
        raw: RawNode,
        log: DurableLog,
        applier: Applier,
        transport: Transport,
        tick_interval_ms: int = 100,
        unknown_outcome_timeout_ms: int = 5000,
        on_role_change: Callable[[SoftState, int], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.raw = raw
        self.log = log
        self.applier = applier
        self.transport = transport
        self.tick_interval_s = tick_interval_ms / 1000
        self.unknown_outcome_timeout_s = unknown_outcome_timeout_ms / 1000
        self.on_role_change = on_role_change
        self.on_failure = on_failure
        self.failure: BaseException | None = None
        self._pending: dict[int, _Pending] = {}
        self._reads: dict[bytes, Completion] = {}
        self._read_waits: list[tuple[int, Completion]] = []
        # Reads the core dropped for want of a leader (an election; a node that has not heard
        # from the leader yet), asked again once one is known, until their deadline (monotonic
        # s): the wait the forwarder gives writes (two election timeouts), then ReadDropped.
        self._parked_reads: dict[bytes, Completion] = {}
        self._read_deadlines: dict[bytes, float] = {}
        self.read_leader_wait_s = 2 * raw.raft.config.election_ticks * self.tick_interval_s
        self._read_ids = itertools.count(1)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._stopping = False
        self.applied = raw.applied()
        self.fsyncs = 0
        self.readies = 0
        self._synced_term_vote = (raw.raft.term, raw.raft.vote)
        if _TRACE_PATH:
            self._marks: list[tuple[str, int, int]] = []
            self._trace = open(_TRACE_PATH, "a", buffering=1)  # noqa: SIM115 (lives with the node)
            self.log, self.applier, self.transport = (
                _Timed(port, self._marks) for port in (log, applier, transport)
            )
            self._handle_ready = self._traced_handle_ready  # type: ignore[method-assign]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="raft-driver")
        self._schedule_tick()
        self._wake.set()

    async def stop(self) -> None:
        """Finish the Ready in progress, then stop; pending proposals fail as unknown."""
        self._stopping = True
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        self._wake.set()
        if self._task is not None:
            await self._task
        self._fail_in_flight(
            OutcomeUnknown("node shutting down"), ReadDropped("node shutting down")
        )

    def _schedule_tick(self) -> None:
        loop = asyncio.get_running_loop()
        self._tick_handle = loop.call_later(self.tick_interval_s, self._on_tick)

    def _on_tick(self) -> None:
        if self._stopping:
            return
        self.raw.tick()
        if self._parked_reads:
            self._retry_parked_reads()
        self._wake.set()
        self._schedule_tick()

    # ------------------------------------------------------------------ inputs

    def is_leader(self) -> bool:
        return self.raw.role() is StateRole.LEADER

    def leader_id(self) -> int:
        return self.raw.leader_id()

    def propose(self, data: bytes) -> Completion:
        """Propose one entry; raises ProposalDropped if this node cannot take it now."""
        return self.propose_batch([data])[0]

    def propose_batch(self, datas: list[bytes]) -> list[Completion]:
        """Propose entries in order, in one call into the core (one append, one broadcast)."""
        if self._stopping:
            raise ProposalDropped("node_failed" if self.failure else "not_leader", 0)
        ids = self.raw.propose(datas)
        completions = [Completion(entry_id.index) for entry_id in ids]
        pending = self._pending
        for entry_id, completion in zip(ids, completions):
            pending[entry_id.index] = _Pending(entry_id, completion)
        self._wake.set()
        return completions

    def propose_conf_change(self, change: ConfChange) -> Completion:
        entry_id = self.raw.propose_conf_change(change)
        completion = Completion()
        self._pending[entry_id.index] = _Pending(entry_id, completion)
        self._wake.set()
        return completion

    def read_barrier(self) -> Completion | None:
        """Wait until a linearizable read may be served; None means "serve it now".

        A leader that is the only voter cannot be deposed without a membership change that
        it would itself apply first, and every acknowledged write has been applied here: its
        local state is the latest, so no heartbeat round is needed.
        """
        raw = self.raw
        if (
            raw.role() is StateRole.LEADER
            and raw.conf_state().voters == (raw.id,)
            and self.applied >= raw.committed()
        ):
            return None
        completion = Completion()
        if self._stopping:
            completion.set_error(ReadDropped("node stopping"))
            return completion
        context = next(self._read_ids).to_bytes(8, "big")
        self._reads[context] = completion
        raw.read_index(context)
        self._wake.set()
        return completion

    def step(self, message: Message) -> None:
        self.raw.step(message)
        self._wake.set()

    def transfer_leader(self, target: int) -> None:
        self.raw.transfer_leader(target)
        self._wake.set()

    def report_unreachable(self, node: int) -> None:
        self.raw.report_unreachable(node)
        self._wake.set()

    def report_snapshot(self, node: int, failed: bool) -> None:
        self.raw.report_snapshot(node, failed)
        self._wake.set()

    # ------------------------------------------------------------------ the Ready loop

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self.raw.has_ready():
                    await self._handle_ready(self.raw.ready())
                if self._stopping:
                    return
        except Exception as error:  # noqa: BLE001 (reported, then the node stops)
            self._fail(error)

    def _fail(self, error: Exception) -> None:
        """Stop for good: fail everything in flight, then let the server shut the node down."""
        self.failure = error
        self._stopping = True
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        self._fail_in_flight(NodeFailed(str(error)), ReadDropped(f"node stopped: {error}"))
        if self.on_failure is not None:
            self.on_failure(error)

    async def _handle_ready(self, rd: Ready) -> None:
        self.readies += 1
        if rd.soft_state is not None:
            self._on_soft_state(rd.soft_state)
        if rd.messages:
            self.transport.send(rd.messages)
            # Let the peers' sender tasks (woken by send) write their frames now, before this
            # Ready's write, fsync and apply: the appends and acks are on every write's
            # critical path, the local work is not (about 100 us at -c 1, +8 % at -c 50).
            await asyncio.sleep(0)
        # A Ready whose only durable change is the commit index writes nothing: the commit
        # index is volatile state in Raft, and a restart takes the applied index (stored with
        # every apply) as its lower bound. That saves a RocksDB write per Ready on every node.
        if rd.entries or rd.snapshot is not None or self._term_or_vote_changed(rd):
            self.log.stage(rd)
            self.fsyncs += 1
            if self.raw.role() is StateRole.LEADER:
                # Acks and proposals keep arriving while the leader's fsync runs.
                await asyncio.to_thread(self.log.sync)
            else:
                # A follower's ack waits for this fsync anyway: the thread hop would only
                # add its cost (about 200 us of CPU per Ready here).
                self.log.sync()
        if rd.persisted_messages:
            self.transport.send(rd.persisted_messages)
            await asyncio.sleep(0)
        if rd.snapshot is not None:
            self.applier.install_snapshot(rd.snapshot)
            self.applied = rd.snapshot.metadata.index
        if rd.committed_entries:
            self._apply(rd.committed_entries)
        for state in rd.read_states:
            waiter = self._reads.pop(state.context, None)
            if waiter is not None:
                if self._read_deadlines:  # it was parked once: it has its answer now
                    self._read_deadlines.pop(state.context, None)
                self._read_waits.append((state.index, waiter))
        for context in rd.dropped_reads:
            waiter = self._reads.pop(context, None)
            if waiter is not None:
                self._park_read(context, waiter)
        self.raw.advance(rd)
        self._release_reads()

    async def _traced_handle_ready(self, rd: Ready) -> None:
        t0 = time.monotonic_ns()
        await RaftNode._handle_ready(self, rd)
        e, c = rd.entries, rd.committed_entries
        marks = " ".join(f"{name}:{a - t0}:{b - t0}" for name, a, b in self._marks)
        self._marks.clear()
        self._trace.write(
            f"{t0} {time.monotonic_ns() - t0} e={e[0].index if e else 0}-{e[-1].index if e else 0}"
            f" c={c[0].index if c else 0}-{c[-1].index if c else 0} {marks}\n"
        )

    def _apply(self, entries: list[Entry]) -> None:
        results = self.applier.apply(entries)
        self.applied = entries[-1].index
        pending = self._pending
        if not pending:
            return
        for entry, result in zip(entries, results):
            waiter = pending.pop(entry.index, None)
            if waiter is None:
                continue
            if waiter.entry_id.term == entry.term:
                waiter.completion.set_result(result)
            else:
                waiter.completion.set_error(ProposalLost("another entry took its index"))

    def _release_reads(self) -> None:
        if not self._read_waits:
            return
        applied = self.applied
        still = []
        for index, waiter in self._read_waits:
            if index <= applied:
                waiter.set_result(None)
            else:
                still.append((index, waiter))
        self._read_waits = still

    def _on_soft_state(self, soft: SoftState) -> None:
        if self.on_role_change is not None:
            self.on_role_change(soft, self.raw.term())
        if soft.role is not StateRole.LEADER and self._pending:
            # Entries proposed as leader may still commit under the next leader: wait a
            # bounded time for their fate, then say it is unknown (never "failed").
            loop = asyncio.get_running_loop()
            loop.call_later(
                self.unknown_outcome_timeout_s, self._expire_unknown, dict(self._pending)
            )

    def _expire_unknown(self, snapshot: dict[int, _Pending]) -> None:
        for index, waiter in snapshot.items():
            if self._pending.get(index) is waiter:
                del self._pending[index]
                waiter.completion.set_error(OutcomeUnknown("leadership lost after proposing"))

    def _fail_in_flight(self, proposal_error: OutcomeUnknown, read_error: ReadDropped) -> None:
        for pending in self._pending.values():
            pending.completion.set_error(proposal_error)
        self._pending.clear()
        self._fail_reads(read_error)

    def _fail_reads(self, error: Exception) -> None:
        waiters = [*self._reads.values(), *self._parked_reads.values()]
        for waiter in waiters + [w for _, w in self._read_waits]:
            waiter.set_error(error)
        self._reads.clear()
        self._parked_reads.clear()
        self._read_deadlines.clear()
        self._read_waits.clear()

    def _park_read(self, context: bytes, waiter: Completion) -> None:
        """A read with no leader to confirm it: keep it until one is known or its deadline."""
        deadline = self._read_deadlines.setdefault(
            context, time.monotonic() + self.read_leader_wait_s
        )
        if self._stopping or time.monotonic() >= deadline:
            self._read_deadlines.pop(context, None)
            waiter.set_error(ReadDropped("no leader to confirm the read"))
            return
        self._parked_reads[context] = waiter

    def _retry_parked_reads(self) -> None:
        """Once a tick: ask again for the parked reads if a leader is known; fail the ones
        whose deadline passed."""
        leader_known = self.raw.raft.lead != NONE
        now = time.monotonic()
        for context, waiter in list(self._parked_reads.items()):
            if leader_known:
                del self._parked_reads[context]
                self._reads[context] = waiter
                self.raw.read_index(context)  # dropped again: parked again, same deadline
            elif now >= self._read_deadlines.get(context, now):
                del self._parked_reads[context]
                self._read_deadlines.pop(context, None)
                waiter.set_error(ReadDropped("no leader to confirm the read"))

    def _term_or_vote_changed(self, rd: Ready) -> bool:
        """Term and vote must be durable before anything depends on them; commit need not."""
        hs = rd.hard_state
        if hs is None or (hs.term, hs.vote) == self._synced_term_vote:
            return False
        self._synced_term_vote = (hs.term, hs.vote)
        return True
