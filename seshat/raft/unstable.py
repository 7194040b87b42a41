"""The tail of the log not yet on disk: entries (and maybe a snapshot) awaiting persistence.

Entries `[offset, offset + len(entries))` have been accepted by the core but not confirmed
persisted. Those before `offset_in_progress` have been handed to the driver in a `Ready` and are
being written; a later conflicting append may rewind past them, in which case they are handed out
again. Once the driver confirms, `stable_to` drops the confirmed prefix, but only if the entry at
that index still has the confirmed term: an entry overwritten meanwhile is not stable.
"""

from __future__ import annotations

from seshat.raft.types import Entry, EntryId, Snapshot


class Unstable:
    def __init__(self, offset: int) -> None:
        self.snapshot: Snapshot | None = None
        self.snapshot_in_progress = False
        self.entries: list[Entry] = []
        self.offset = offset
        self.offset_in_progress = offset

    def maybe_first_index(self) -> int | None:
        if self.snapshot is not None:
            return self.snapshot.metadata.index + 1
        return None

    def maybe_last_index(self) -> int | None:
        if self.entries:
            return self.offset + len(self.entries) - 1
        if self.snapshot is not None:
            return self.snapshot.metadata.index
        return None

    def maybe_term(self, index: int) -> int | None:
        if index < self.offset:
            if self.snapshot is not None and self.snapshot.metadata.index == index:
                return self.snapshot.metadata.term
            return None
        last = self.maybe_last_index()
        if last is None or index > last:
            return None
        return self.entries[index - self.offset].term

    def next_entries(self) -> list[Entry]:
        """Entries not yet handed to the driver."""
        start = self.offset_in_progress - self.offset
        return self.entries[start:] if start < len(self.entries) else []

    def next_snapshot(self) -> Snapshot | None:
        if self.snapshot is None or self.snapshot_in_progress:
            return None
        return self.snapshot

    def accept_in_progress(self) -> None:
        """Everything pending has now been handed out in a Ready."""
        if self.entries:
            self.offset_in_progress = self.offset + len(self.entries)
        if self.snapshot is not None:
            self.snapshot_in_progress = True

    def stable_to(self, entry_id: EntryId) -> None:
        term = self.maybe_term(entry_id.index)
        if term is None or term != entry_id.term or entry_id.index < self.offset:
            return  # overwritten or already stable: nothing to drop
        drop = entry_id.index + 1 - self.offset
        del self.entries[:drop]
        self.offset = entry_id.index + 1
        self.offset_in_progress = max(self.offset_in_progress, self.offset)

    def stable_snap_to(self, index: int) -> None:
        if self.snapshot is not None and self.snapshot.metadata.index == index:
            self.snapshot = None
            self.snapshot_in_progress = False

    def restore(self, snapshot: Snapshot) -> None:
        self.offset = snapshot.metadata.index + 1
        self.offset_in_progress = self.offset
        self.entries = []
        self.snapshot = snapshot
        self.snapshot_in_progress = False

    def truncate_and_append(self, entries: list[Entry]) -> None:
        first = entries[0].index
        if first == self.offset + len(self.entries):
            self.entries.extend(entries)
        elif first <= self.offset:
            # Replaces the whole unstable tail (and some stable entries, overwritten on disk).
            self.offset = first
            self.offset_in_progress = first
            self.entries = list(entries)
        else:
            del self.entries[first - self.offset :]
            self.entries.extend(entries)
            self.offset_in_progress = min(self.offset_in_progress, first)

    def slice(self, lo: int, hi: int) -> list[Entry]:
        assert self.offset <= lo <= hi <= self.offset + len(self.entries), (
            lo,
            hi,
            self.offset,
            len(self.entries),
        )
        return self.entries[lo - self.offset : hi - self.offset]
