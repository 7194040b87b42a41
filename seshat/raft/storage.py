"""The log storage the core reads from, and its in-memory twin.

The core never writes to storage: the driver persists what a `Ready` hands it (entries, hard
state, snapshots) and the core reads back through this narrow interface, as etcd-raft's
`Storage` and raft-rs's `Storage` trait. `MemoryLogStorage` backs the tests and the simulator; the
RocksDB implementation lives in `seshat.storage`. The log held here is
`[first_index, last_index]`, preceded by a snapshot whose index is `first_index - 1`.
"""

from __future__ import annotations

from typing import Protocol

from seshat.raft.types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Snapshot,
    SnapshotMetadata,
)


class StorageError(Exception):
    """Base of the errors a log storage reports to the core."""


class Compacted(StorageError):
    """The requested index is before the first index: only a snapshot covers it now."""


class Unavailable(StorageError):
    """The requested index is past the last index."""


class SnapshotTemporarilyUnavailable(StorageError):
    """A snapshot is being produced; the core retries on a later heartbeat."""


class LogStorage(Protocol):
    def initial_state(self) -> tuple[HardState, ConfState]:
        """The hard state and membership to start from (after a restart, the stored ones)."""
        ...

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        """Entries `[lo, hi)`, at least one if any, stopping before `max_bytes` is passed."""
        ...

    def term(self, index: int) -> int:
        """The term of entry `index`; also valid for the snapshot's index (`first_index - 1`)."""
        ...

    def first_index(self) -> int: ...

    def last_index(self) -> int: ...

    def snapshot(self) -> Snapshot:
        """The latest snapshot, to send to a follower that needs compacted entries."""
        ...


def bootstrap_log(conf_state: ConfState) -> tuple[list[Entry], HardState]:
    """The first entries of a new group: one committed conf change per initial member.

    The initial membership lives in the log, not only in local state, so that a node added
    later and replicated from index 1 learns it exactly as the founders did (etcd bootstraps
    the same way). Every founder writes these same entries, so their logs match from the start.
    """
    changes = [ConfChange(ConfChangeType.ADD_NODE, v) for v in sorted(conf_state.voters)]
    changes += [ConfChange(ConfChangeType.ADD_LEARNER, n) for n in sorted(conf_state.learners)]
    entries = [
        Entry(term=1, index=i + 1, type=EntryType.CONF_CHANGE, data=change.encode())
        for i, change in enumerate(changes)
    ]
    return entries, HardState(term=1, vote=0, commit=len(entries))


def limit_size(entries: list[Entry], max_bytes: int | None) -> list[Entry]:
    """The longest prefix within `max_bytes`, but never empty when `entries` is not."""
    if max_bytes is None or not entries:
        return entries
    total = 0
    for i, entry in enumerate(entries):
        total += entry.size()
        if total > max_bytes and i > 0:
            return entries[:i]
    return entries


class MemoryLogStorage:
    """A `LogStorage` held in memory, which the simulator treats as the durable disk.

    `entries_list[0]` is a dummy standing for the snapshot (its index and term), so
    `first_index() == entries_list[0].index + 1`, as etcd's MemoryStorage. Fault switches and
    call counters let tests provoke and observe the core's handling of storage.
    """

    def __init__(self) -> None:
        self.hard_state = HardState()
        self.snap = Snapshot()
        self.entries_list: list[Entry] = [Entry(term=0, index=0)]
        self.snapshot_unavailable = False
        self.calls = {"entries": 0, "term": 0, "snapshot": 0}

    # --- reads (the LogStorage protocol) ---

    def initial_state(self) -> tuple[HardState, ConfState]:
        return self.hard_state, self.snap.metadata.conf_state

    def first_index(self) -> int:
        return self.entries_list[0].index + 1

    def last_index(self) -> int:
        return self.entries_list[0].index + len(self.entries_list) - 1

    def term(self, index: int) -> int:
        self.calls["term"] += 1
        offset = self.entries_list[0].index
        if index < offset:
            raise Compacted(index)
        if index - offset >= len(self.entries_list):
            raise Unavailable(index)
        return self.entries_list[index - offset].term

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        self.calls["entries"] += 1
        offset = self.entries_list[0].index
        if lo <= offset:
            raise Compacted(lo)
        if hi > self.last_index() + 1:
            raise Unavailable(hi)
        return limit_size(self.entries_list[lo - offset : hi - offset], max_bytes)

    def snapshot(self) -> Snapshot:
        self.calls["snapshot"] += 1
        if self.snapshot_unavailable:
            raise SnapshotTemporarilyUnavailable()
        return self.snap

    # --- writes (done by the driver, never by the core) ---

    def bootstrap(self, conf_state: ConfState) -> None:
        """Start a brand-new group with this membership (see `bootstrap_log`)."""
        assert self.last_index() == 0, "bootstrap of a storage that has a log"
        entries, hard_state = bootstrap_log(conf_state)
        self.append(entries)
        self.hard_state = hard_state

    def set_hard_state(self, hard_state: HardState) -> None:
        self.hard_state = hard_state

    def append(self, entries: list[Entry] | tuple[Entry, ...]) -> None:
        """Append, truncating any conflicting suffix first (entries[0] may overwrite)."""
        if not entries:
            return
        first = self.first_index()
        last = entries[0].index + len(entries) - 1
        if last < first:
            return  # all already compacted
        if first > entries[0].index:
            entries = entries[first - entries[0].index :]
        offset = entries[0].index - self.entries_list[0].index
        assert offset <= len(self.entries_list), (offset, len(self.entries_list))
        del self.entries_list[offset:]
        self.entries_list.extend(entries)

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Replace the log with a snapshot received from the leader."""
        meta = snapshot.metadata
        assert meta.index >= self.snap.metadata.index, (meta.index, self.snap.metadata.index)
        self.snap = snapshot
        self.entries_list = [Entry(term=meta.term, index=meta.index)]

    def create_snapshot(self, index: int, conf_state: ConfState, data: bytes) -> Snapshot:
        """Record application state at `index` (at most the applied index) as the snapshot."""
        assert index > self.snap.metadata.index, (index, self.snap.metadata.index)
        assert index <= self.last_index(), (index, self.last_index())
        meta = SnapshotMetadata(index=index, term=self.term(index), conf_state=conf_state)
        self.snap = Snapshot(metadata=meta, data=data)
        return self.snap

    def compact(self, index: int) -> None:
        """Drop entries up to and including `index` (the snapshot must cover them)."""
        offset = self.entries_list[0].index
        if index <= offset:
            return
        assert index <= self.last_index(), (index, self.last_index())
        i = index - offset
        self.entries_list = [Entry(term=self.entries_list[i].term, index=index)] + (
            self.entries_list[i + 1 :]
        )
