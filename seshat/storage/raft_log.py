"""The Raft log on RocksDB: `RocksLogStorage`, the durable `LogStorage` of the core.

What it owns: three column families of the node's one RocksDB instance and their encoding.

- `raft_log`: key = entry index as 8-byte big-endian (so key order is index order), value =
  msgpack `[term, type, data]`. It holds exactly `[first_index, last_index]`, no holes.
- `raft_state`: `b"hard_state"` -> msgpack `[term, vote, commit]`.
- `snapshots`: `b"meta"` -> msgpack `[index, term, voters, learners]`: the metadata of the
  snapshot that precedes the log (`first_index == index + 1`). The snapshot *data* is the
  application's business and is not stored here: `snapshot()` asks the optional
  `snapshot_data` callable for it (or returns `b""`).

It answers every read exactly as `seshat.raft.storage.MemoryLogStorage` does for the same
sequence of writes (same values, same `Compacted`/`Unavailable` with the same argument); the
tests check this against `MemoryLogStorage` as an oracle.

**Writes are staged into the caller's `Batch`** (`append`, `set_hard_state`, `apply_snapshot`,
`compact`, `bootstrap`), so that everything one `Ready` asks to persist becomes ONE RocksDB
write and ONE `flush_wal()` (group commit, DESIGN.md "Performance principles"). Several writes
may be staged into one batch; RocksDB applies them in staging order.

**The staging contract.** Each write method updates this object's in-memory view (first/last
index, hard state, snapshot metadata, tail cache) *at once*, when it stages, so reads made after
staging — by the core, or by a later write method such as `compact` — see the staged state even
before the batch is written: entries staged into the current batch are never evicted from the
tail cache (their only copy until the write), and everything below the cache is untouched by
what is staged. In exchange the caller must:
- `engine.write(batch)` before staging into *another* batch: a new batch tells this object the
  previous one is in RocksDB, so its entries may leave the cache and be read back from disk;
- treat a failed `engine.write(batch)` as a crash: this object no longer matches the disk, so
  discard it and reopen the engine and a new `RocksLogStorage`;
- make it durable itself: `engine.flush_wal()` after the write, before acting on anything that
  needs the Ready persisted (`persisted_messages`, acknowledging clients).
The driver does exactly this: it stages a whole Ready into one batch, writes it (unsynced) in
the same synchronous stretch of code on the event loop, then awaits `flush_wal()` off the loop.
Reads made while that fsync runs see written-but-not-yet-durable entries, which is fine: the
core tracks durability itself through `advance()`. We chose this over a `commit_staged()` step:
in that flow there is no moment where deferring the in-memory update would change an answer, so
a second call every caller must remember would buy nothing.

**Tail cache.** The leader reads the entries it just appended to ship them to followers, and the
core asks for terms constantly, so the suffix `[cache_first, last_index]` of the log is kept in
memory as `Entry` objects and `term()`/`entries()` inside it never touch RocksDB; anything below
it (a follower far behind, replay after restart) is read from RocksDB. The cache is charged
`entry.size() + CACHE_ENTRY_OVERHEAD_BYTES` per entry (about what CPython spends on it) against
`cache_bytes_max` (default `CACHE_BYTES_MAX`, 64 MiB). When an append takes it past the budget,
the oldest entries are dropped until it is within 3/4 of the budget (the slack makes the
list's front deletion rare, so append stays amortised O(entries appended)); the newest entry is
always kept so `term(last_index)` stays hot, and entries staged into a batch not yet written
are kept too (so the cache may pass its budget by one batch: one Ready's worth, itself bounded
by the core's `append_bytes_max`/`uncommitted_bytes_max`) until the next batch begins. Opening
an existing database refills the cache from the end of the log up to the same budget.

Not thread-safe: one owner (the event loop's driver task) calls everything.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Final

import msgpack

from seshat.raft.storage import (
    Compacted,
    StorageError,
    Unavailable,
    bootstrap_log,
    limit_size,
)
from seshat.raft.types import (
    ConfState,
    Entry,
    EntryType,
    HardState,
    Snapshot,
    SnapshotMetadata,
)
from seshat.storage.engine import RAFT_LOG, RAFT_STATE, SNAPSHOTS, Batch, Engine

CACHE_BYTES_MAX: Final = 64 << 20
"""Default tail-cache budget. 64 MiB equals the core's default `uncommitted_bytes_max`, so the
whole uncommitted tail a leader is still replicating is always served from memory; only
followers lagging further than that (catching up, not the hot path) read from RocksDB."""

CACHE_ENTRY_OVERHEAD_BYTES: Final = 136
"""What one cached entry costs beyond `Entry.size()` in CPython 3.11 (the slotted `Entry`
object, its `bytes` header, two int objects and a list slot), so the budget bounds real memory
even for tiny entries."""

HARD_STATE_KEY: Final = b"hard_state"
SNAPSHOT_META_KEY: Final = b"meta"

_INDEX = struct.Struct(">Q")
_ENTRY_TYPES: Final = tuple(EntryType)  # indexing a tuple is ~10x cheaper than EntryType(k)
assert all(int(t) == i for i, t in enumerate(_ENTRY_TYPES)), "EntryType values must be 0..n-1"
_CHARGE_FIXED: Final = Entry(term=0, index=0).size() + CACHE_ENTRY_OVERHEAD_BYTES
_NOTHING_STAGED: Final = 1 << 64


def log_key(index: int) -> bytes:
    """The `raft_log` key of `index`: big-endian, so byte order is index order."""
    return _INDEX.pack(index)


def encode_entry(entry: Entry) -> bytes:
    return msgpack.packb([entry.term, int(entry.type), entry.data], use_bin_type=True)


def decode_entry(key: bytes, value: bytes) -> Entry:
    term, kind, data = msgpack.unpackb(value, raw=False)
    return Entry(term, _INDEX.unpack(key)[0], _ENTRY_TYPES[kind], data)


def encode_hard_state(hs: HardState) -> bytes:
    return msgpack.packb([hs.term, hs.vote, hs.commit])


def decode_hard_state(value: bytes) -> HardState:
    term, vote, commit = msgpack.unpackb(value)
    return HardState(term=term, vote=vote, commit=commit)


def encode_snapshot_metadata(meta: SnapshotMetadata) -> bytes:
    cs = meta.conf_state
    return msgpack.packb([meta.index, meta.term, list(cs.voters), list(cs.learners)])


def decode_snapshot_metadata(value: bytes) -> SnapshotMetadata:
    index, term, voters, learners = msgpack.unpackb(value)
    return SnapshotMetadata(
        index=index, term=term, conf_state=ConfState(tuple(voters), tuple(learners))
    )


def _charge(entry: Entry) -> int:
    return len(entry.data) + _CHARGE_FIXED


def _charge_all(entries: Sequence[Entry]) -> int:
    return sum([len(e.data) for e in entries]) + len(entries) * _CHARGE_FIXED


class RocksLogStorage:
    """`LogStorage` over RocksDB with an in-memory tail cache; see the module docstring.

    `snapshot_data`, if given, supplies `Snapshot.data` when the core asks for the snapshot to
    send a follower; it must return the application state as of the stored snapshot metadata
    (or raise `SnapshotTemporarilyUnavailable` while one is being produced).
    """

    __slots__ = (
        "_cache",
        "_cache_bytes",
        "_cache_first",
        "_engine",
        "_hard_state",
        "_last_index",
        "_snap",
        "_snapshot_data",
        "_staged_batch",
        "_staged_lo",
        "cache_bytes_max",
        "disk_reads",
    )

    def __init__(
        self,
        engine: Engine,
        *,
        snapshot_data: Callable[[], bytes] | None = None,
        cache_bytes_max: int = CACHE_BYTES_MAX,
    ) -> None:
        assert cache_bytes_max >= 0, cache_bytes_max
        self._engine = engine
        self._snapshot_data = snapshot_data
        self.cache_bytes_max = cache_bytes_max
        self.disk_reads = 0
        """RocksDB reads made by `term()`/`entries()`: a counter for tests and INFO."""
        self._hard_state, self._snap, self._last_index = self._recover()
        # The cache is the suffix [_cache_first, _last_index]; empty when _cache_first > last.
        self._cache: list[Entry] = []
        self._cache_first = self._last_index + 1
        self._cache_bytes = 0
        # The batch being staged into and the lowest index appended to it: eviction spares
        # those entries, since until the batch is written the cache is their only copy.
        self._staged_batch: Batch | None = None
        self._staged_lo = _NOTHING_STAGED
        self._warm_cache()

    # --- recovery ---

    def _recover(self) -> tuple[HardState, SnapshotMetadata, int]:
        """Read back hard state, snapshot metadata and the log's extent after a (re)open."""
        raw = self._engine.get(RAFT_STATE, HARD_STATE_KEY)
        hard_state = decode_hard_state(raw) if raw is not None else HardState()
        raw = self._engine.get(SNAPSHOTS, SNAPSHOT_META_KEY)
        snap = decode_snapshot_metadata(raw) if raw is not None else SnapshotMetadata()
        last = snap.index
        for key, _ in self._engine.iterate(RAFT_LOG, log_key(0), None):
            first_stored = _INDEX.unpack(key)[0]
            if first_stored != snap.index + 1:
                raise StorageError(f"raft_log starts at {first_stored}, snapshot at {snap.index}")
            break
        for key, _ in self._engine.iterate(RAFT_LOG, log_key(0), None, reverse=True):
            last = _INDEX.unpack(key)[0]
            break
        return hard_state, snap, last

    def _warm_cache(self) -> None:
        """Refill the tail cache from the end of the log, newest first, up to the budget."""
        entries: list[Entry] = []
        total = 0
        lo = log_key(self._snap.index + 1)
        for key, value in self._engine.iterate(RAFT_LOG, lo, None, reverse=True):
            entry = decode_entry(key, value)
            if entries and total + _charge(entry) > self.cache_bytes_max:
                break
            if entry.index != self._last_index - len(entries):
                raise StorageError(f"raft_log has a hole below {entry.index + 1}")
            entries.append(entry)
            total += _charge(entry)
        entries.reverse()
        self._cache = entries
        self._cache_first = self._last_index + 1 - len(entries)
        self._cache_bytes = total

    # --- reads (the LogStorage protocol) ---

    def initial_state(self) -> tuple[HardState, ConfState]:
        return self._hard_state, self._snap.conf_state

    def first_index(self) -> int:
        return self._snap.index + 1

    def last_index(self) -> int:
        return self._last_index

    def hard_state(self) -> HardState:
        return self._hard_state

    def snapshot_metadata(self) -> SnapshotMetadata:
        return self._snap

    def term(self, index: int) -> int:
        if index < self._snap.index:
            raise Compacted(index)
        if index > self._last_index:
            raise Unavailable(index)
        if index >= self._cache_first:
            return self._cache[index - self._cache_first].term
        if index == self._snap.index:
            return self._snap.term
        self.disk_reads += 1
        raw = self._engine.get(RAFT_LOG, log_key(index))
        if raw is None:
            raise StorageError(f"raft_log has no entry {index}")
        term: int = msgpack.unpackb(raw)[0]
        return term

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        if lo <= self._snap.index:
            raise Compacted(lo)
        if hi > self._last_index + 1:
            raise Unavailable(hi)
        if lo >= hi:
            return []
        cf = self._cache_first
        if lo >= cf:
            return limit_size(self._cache[lo - cf : hi - cf], max_bytes)
        out, total, full = self._read_disk(lo, min(hi, cf), max_bytes)
        if full or hi <= cf:
            return out
        for entry in self._cache[: hi - cf]:
            total += entry.size()
            if max_bytes is not None and total > max_bytes:
                break  # `out` is not empty here: the disk part gave at least one entry
            out.append(entry)
        return out

    def _read_disk(self, lo: int, hi: int, max_bytes: int | None) -> tuple[list[Entry], int, bool]:
        """Entries `[lo, hi)` from RocksDB with `limit_size` semantics; also the bytes counted
        and whether the limit stopped the read (so the caller does not go on into the cache)."""
        self.disk_reads += 1
        out: list[Entry] = []
        total = 0
        for key, value in self._engine.iterate(RAFT_LOG, log_key(lo), log_key(hi)):
            entry = decode_entry(key, value)
            if entry.index != lo + len(out):
                raise StorageError(f"raft_log has a hole at {lo + len(out)}")
            total += entry.size()
            if max_bytes is not None and total > max_bytes and out:
                return out, total, True
            out.append(entry)
        if len(out) != hi - lo:
            raise StorageError(f"raft_log has a hole at {lo + len(out)}")
        return out, total, False

    def snapshot(self) -> Snapshot:
        data = self._snapshot_data() if self._snapshot_data is not None else b""
        return Snapshot(metadata=self._snap, data=data)

    # --- writes: staged into the caller's batch (see "The staging contract") ---

    def append(self, batch: Batch, entries: Sequence[Entry]) -> None:
        """Stage `entries`, truncating any conflicting suffix (entries[0] may overwrite).

        Entries at or below the snapshot index are skipped (they are compacted: the snapshot
        covers them). Only the old tail beyond the new last index needs a delete: the puts
        overwrite the rest, so a plain append writes no tombstone at all.
        """
        if not entries:
            return
        self._begin(batch)
        first = self._snap.index + 1
        new_last = entries[0].index + len(entries) - 1
        assert entries[-1].index == new_last, "entries are not contiguous"
        if new_last < first:
            return
        if entries[0].index < first:
            entries = entries[first - entries[0].index :]
        start = entries[0].index
        old_last = self._last_index
        assert start <= old_last + 1, f"gap: appending {start} after {old_last}"
        if old_last > new_last:
            batch.delete_range(RAFT_LOG, log_key(new_last + 1), log_key(old_last + 1))
        for entry in entries:
            batch.put(RAFT_LOG, log_key(entry.index), encode_entry(entry))
        self._last_index = new_last
        self._staged_lo = min(self._staged_lo, start)
        self._cache_append(entries)

    def set_hard_state(self, batch: Batch, hard_state: HardState) -> None:
        self._begin(batch)
        batch.put(RAFT_STATE, HARD_STATE_KEY, encode_hard_state(hard_state))
        self._hard_state = hard_state

    def apply_snapshot(self, batch: Batch, metadata: SnapshotMetadata) -> None:
        """A snapshot received from the leader replaces the whole log, as in `MemoryLogStorage`
        (even entries past its index go: the core only installs one it could not fast-forward)."""
        assert metadata.index >= self._snap.index, (metadata.index, self._snap.index)
        self._begin(batch)
        batch.delete_range(RAFT_LOG, log_key(0), log_key(self._last_index + 1))
        batch.put(SNAPSHOTS, SNAPSHOT_META_KEY, encode_snapshot_metadata(metadata))
        self._snap = metadata
        self._last_index = metadata.index
        self._cache = []
        self._cache_first = metadata.index + 1
        self._cache_bytes = 0

    def compact(self, batch: Batch, index: int, conf_state: ConfState) -> None:
        """Drop entries up to and including `index`, recording the snapshot metadata there.

        The application calls this once its own snapshot covers `index` (at most its applied
        index), passing the membership as of `index`. A no-op when `index` is already covered,
        as `MemoryLogStorage.compact`.
        """
        if index <= self._snap.index:
            return
        assert index <= self._last_index, (index, self._last_index)
        self._begin(batch)
        meta = SnapshotMetadata(index=index, term=self.term(index), conf_state=conf_state)
        batch.delete_range(RAFT_LOG, log_key(0), log_key(index + 1))
        batch.put(SNAPSHOTS, SNAPSHOT_META_KEY, encode_snapshot_metadata(meta))
        self._snap = meta
        if index >= self._cache_first:
            drop = index + 1 - self._cache_first
            self._cache_bytes -= _charge_all(self._cache[:drop])
            del self._cache[:drop]
            self._cache_first = index + 1

    def bootstrap(self, batch: Batch, conf_state: ConfState) -> None:
        """Start a brand-new group with this membership (see `bootstrap_log`)."""
        assert self._last_index == 0, "bootstrap of a storage that has a log"
        entries, hard_state = bootstrap_log(conf_state)
        self.append(batch, entries)
        self.set_hard_state(batch, hard_state)

    # --- the tail cache ---

    def _begin(self, batch: Batch) -> None:
        """Note which batch is being staged; a new one means the last was written (contract),
        so its entries may now leave the cache if it is over budget."""
        if batch is self._staged_batch:
            return
        self._staged_batch = batch
        self._staged_lo = _NOTHING_STAGED
        if self._cache_bytes > self.cache_bytes_max:
            self._evict()

    def _cache_append(self, entries: Sequence[Entry]) -> None:
        """Put `entries` (already the new tail of the log) into the cache and evict if needed."""
        start = entries[0].index
        if start >= self._cache_first:
            cut = start - self._cache_first
            if cut < len(self._cache):
                self._cache_bytes -= _charge_all(self._cache[cut:])
                del self._cache[cut:]
        else:
            self._cache = []
            self._cache_first = start
            self._cache_bytes = 0
        self._cache.extend(entries)
        self._cache_bytes += _charge_all(entries)
        if self._cache_bytes > self.cache_bytes_max:
            self._evict()

    def _evict(self) -> None:
        """Drop the oldest entries down to 3/4 of the budget, always keeping the newest and
        everything staged into the batch being built (it is not in RocksDB yet)."""
        target = self.cache_bytes_max * 3 // 4
        drop = 0
        freed = 0
        keep_max = min(len(self._cache) - 1, self._staged_lo - self._cache_first)
        while drop < keep_max and self._cache_bytes - freed > target:
            freed += _charge(self._cache[drop])
            drop += 1
        del self._cache[:drop]
        self._cache_first += drop
        self._cache_bytes -= freed

    def cache_extent(self) -> tuple[int, int]:
        """`(cache_first, cached bytes)`: what the tail cache holds, for tests and INFO."""
        return self._cache_first, self._cache_bytes


__all__ = [
    "CACHE_BYTES_MAX",
    "CACHE_ENTRY_OVERHEAD_BYTES",
    "RocksLogStorage",
    "decode_entry",
    "encode_entry",
    "log_key",
]
