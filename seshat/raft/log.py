"""The Raft log as the core sees it: stable storage plus the unstable tail, and the cursors.

`RaftLog` owns the commit and apply cursors and the rules that move them: `committed` only
grows, `applied <= committed`, and committed entries are handed out for applying only once they
are persisted locally. It answers `term(i)` and `entries(lo, hi)` across the storage/unstable
boundary, and implements the follower side of AppendEntries (`maybe_append`) and the
fast-backtracking hint (`find_conflict_by_term`). It knows nothing of roles or messages.
"""

from __future__ import annotations

from seshat.raft.storage import Compacted, LogStorage, Unavailable, limit_size
from seshat.raft.types import Entry, EntryId, Snapshot
from seshat.raft.unstable import Unstable


class RaftLog:
    def __init__(self, storage: LogStorage) -> None:
        self.storage = storage
        first = storage.first_index()
        last = storage.last_index()
        self.unstable = Unstable(last + 1)
        self.committed = first - 1
        self.applied = first - 1
        # Highest index known persisted locally: entries above it may not be applied yet.
        self.persisted = last

    # --- indexes and terms ---

    def first_index(self) -> int:
        index = self.unstable.maybe_first_index()
        return index if index is not None else self.storage.first_index()

    def last_index(self) -> int:
        index = self.unstable.maybe_last_index()
        return index if index is not None else self.storage.last_index()

    def last_term(self) -> int:
        return self.term(self.last_index())

    def last_entry_id(self) -> EntryId:
        last = self.last_index()
        return EntryId(self.term(last), last)

    def term(self, index: int) -> int:
        """The term of `index`; raises Compacted or Unavailable outside the log."""
        dummy = self.first_index() - 1
        if index < dummy:
            raise Compacted(index)
        if index > self.last_index():
            raise Unavailable(index)
        term = self.unstable.maybe_term(index)
        if term is not None:
            return term
        return self.storage.term(index)

    def term_or_zero(self, index: int) -> int:
        try:
            return self.term(index)
        except (Compacted, Unavailable):
            return 0

    def match_term(self, index: int, term: int) -> bool:
        try:
            return self.term(index) == term
        except (Compacted, Unavailable):
            return False

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Whether a candidate whose log ends at (last_term, last_index) may get our vote."""
        our_term = self.last_term()
        return last_term > our_term or (last_term == our_term and last_index >= self.last_index())

    # --- appending ---

    def append(self, entries: list[Entry]) -> int:
        if not entries:
            return self.last_index()
        after = entries[0].index - 1
        assert after >= self.committed, ("append would overwrite committed", after, self.committed)
        self.unstable.truncate_and_append(entries)
        if entries[0].index <= self.persisted:
            self.persisted = entries[0].index - 1
        return self.last_index()

    def find_conflict(self, entries: tuple[Entry, ...] | list[Entry]) -> int:
        """The first index whose entry differs from ours, or 0 if all are present and equal."""
        for entry in entries:
            if not self.match_term(entry.index, entry.term):
                return entry.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """The largest index <= `index` whose term is <= `term`, with that term.

        A follower rejecting MsgApp(index, term) sends this as its hint; a leader receiving a
        hint uses it against its own log. Either way it skips whole terms that cannot match.
        """
        last = self.last_index()
        if index > last:
            return last, self.term_or_zero(last)
        while True:
            try:
                our_term = self.term(index)
            except Compacted:
                return index, 0
            if our_term <= term:
                return index, our_term
            index -= 1

    def maybe_append(
        self, index: int, log_term: int, committed: int, entries: tuple[Entry, ...]
    ) -> int | None:
        """Follower side of MsgApp: the last new index if (index, log_term) matches, else None."""
        if not self.match_term(index, log_term):
            return None
        last_new = index + len(entries)
        conflict = self.find_conflict(entries)
        if conflict:
            assert conflict > self.committed, ("conflict with committed entry", conflict)
            self.append(list(entries[conflict - index - 1 :]))
        self.commit_to(min(committed, last_new))
        return last_new

    # --- reading entries ---

    def entries(self, lo: int, max_bytes: int | None = None, hi: int | None = None) -> list[Entry]:
        """Entries `[lo, hi)` (to the end by default) within `max_bytes`, at least one."""
        last = self.last_index()
        if hi is None:
            hi = last + 1
        if lo > last:
            return []
        first = self.first_index()
        if lo < first:
            raise Compacted(lo)
        assert hi <= last + 1, (hi, last)
        result: list[Entry] = []
        if lo < self.unstable.offset:
            stored = self.storage.entries(lo, min(hi, self.unstable.offset), max_bytes)
            result.extend(stored)
            if len(stored) < min(hi, self.unstable.offset) - lo:
                return result  # cut by max_bytes
        if hi > self.unstable.offset:
            result.extend(self.unstable.slice(max(lo, self.unstable.offset), hi))
        return limit_size(result, max_bytes)

    def all_entries(self) -> list[Entry]:
        """Every entry in the log (tests and invariant checks only)."""
        return self.entries(self.first_index())

    # --- cursors ---

    def commit_to(self, index: int) -> None:
        if index > self.committed:
            assert index <= self.last_index(), ("commit beyond log", index, self.last_index())
            self.committed = index

    def maybe_commit(self, index: int, term: int) -> bool:
        """Commit up to `index` if its entry is of `term` (only current-term entries count)."""
        if index > self.committed and self.term_or_zero(index) == term:
            self.commit_to(index)
            return True
        return False

    def applied_to(self, index: int) -> None:
        assert self.applied <= index <= self.committed, (self.applied, index, self.committed)
        self.applied = index

    def has_next_committed_entries(self) -> bool:
        return min(self.committed, self.persisted) > self.applied

    def next_committed_entries(self, max_bytes: int | None) -> list[Entry]:
        hi = min(self.committed, self.persisted)
        if hi <= self.applied:
            return []
        return self.entries(self.applied + 1, max_bytes, hi + 1)

    def stable_to(self, entry_id: EntryId) -> None:
        self.unstable.stable_to(entry_id)
        if self.match_term(entry_id.index, entry_id.term):
            self.persisted = max(self.persisted, entry_id.index)

    def stable_snap_to(self, index: int) -> None:
        self.unstable.stable_snap_to(index)
        self.persisted = max(self.persisted, index)

    def restore(self, snapshot: Snapshot) -> None:
        """Replace everything with a snapshot received from the leader."""
        self.unstable.restore(snapshot)
        self.committed = snapshot.metadata.index
        self.persisted = min(self.persisted, snapshot.metadata.index - 1)

    def snapshot(self) -> Snapshot:
        if self.unstable.snapshot is not None:
            return self.unstable.snapshot
        return self.storage.snapshot()

    def check_invariants(self) -> None:
        assert self.applied <= self.committed, (self.applied, self.committed)
        assert self.committed <= self.last_index(), (self.committed, self.last_index())
        assert self.first_index() - 1 <= self.applied or self.unstable.snapshot is not None, (
            self.first_index(),
            self.applied,
        )


def is_empty_snapshot(snapshot: Snapshot | None) -> bool:
    return snapshot is None or snapshot.is_empty()


__all__ = ["RaftLog", "Compacted", "Unavailable", "is_empty_snapshot"]
