"""Reading and writing user keys in `kv_data`, in terms of (db, key) and records.

`KeyspaceView` is the committed state seen by reads; `KeyspaceWriter` is what apply handlers
write through. The writer keeps an overlay of the writes pending in the current apply batch,
so a later entry in one `apply_batch` call sees what an earlier one did, and it maintains the
bookkeeping that must change in the same `WriteBatch` as the data: the per-slot key counts
(DBSIZE), the expiry index, and the DB map (SWAPDB).

Expiry is decided against a `now_ms` the caller passes: the reader's clock for reads, the
operation's leader timestamp inside apply. Here an expired record is "missing"; the writer also
deletes it, in the batch, when apply touches it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from contextlib import contextmanager

from seshat.kv import layout as L
from seshat.kv import notify as N
from seshat.storage.engine import KV_DATA, METADATA, TOMBSTONES, Engine

VERSIONS_PER_ENTRY_MAX = 1 << 20  # collection incarnations one log entry may create


class KeyspaceView:
    """Committed keyspace, for reads. `db_map` is shared with the state machine that owns it."""

    __slots__ = ("db_map", "engine", "hits", "misses")

    def __init__(self, engine: Engine, db_map: list[int]) -> None:
        self.engine = engine
        self.db_map = db_map
        # INFO keyspace_hits/keyspace_misses: lookups on the read path, one add each (reads
        # inside MULTI and scripts see the writer instead and are not counted).
        self.hits = 0
        self.misses = 0

    def record(self, db: int, key: bytes, now_ms: int) -> bytes | None:
        """The live record of `key` in logical `db`, or None if missing or expired."""
        rec = self.engine.get(KV_DATA, L.meta_key(self.db_map[db], key))
        if rec is None:
            self.misses += 1
            return None
        exp = int.from_bytes(rec[1:9], "big")
        if exp and exp <= now_ms:
            self.misses += 1
            return None
        self.hits += 1
        return rec

    def records(self, db: int, keys: list[bytes], now_ms: int) -> list[bytes | None]:
        slot = self.db_map[db]
        recs = self.engine.multi_get(KV_DATA, [L.meta_key(slot, k) for k in keys])
        out: list[bytes | None] = []
        for rec in recs:
            if rec is not None:
                exp = int.from_bytes(rec[1:9], "big")
                if exp and exp <= now_ms:
                    rec = None
            out.append(rec)
        hits = len(out) - out.count(None)
        self.hits += hits
        self.misses += len(out) - hits
        return out

    def has_tombstones(self) -> bool:
        """True if some deleted collection still has sub-entries awaiting GC."""
        for _ in self.engine.iterate(TOMBSTONES, b"", None):
            return True
        return False

    def sub_get(self, kkey: bytes) -> bytes | None:
        return self.engine.get(KV_DATA, kkey)

    def sub_multi_get(self, kkeys: list[bytes]) -> list[bytes | None]:
        return self.engine.multi_get(KV_DATA, kkeys)

    def iterate_kv(
        self, lo: bytes, hi: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return self.engine.iterate(KV_DATA, lo, hi, reverse)

    def values_from(self, lo: bytes, count: int) -> list[bytes]:
        """The values of the `count` kv_data keys from `lo` on (see `Engine.values_from`)."""
        return self.engine.values_from(KV_DATA, lo, count)

    def db_size(self, db: int) -> int:
        """Keys stored in `db`, counting expired keys not yet deleted (as Redis DBSIZE does)."""
        return L.decode_u64(self.engine.get(METADATA, L.db_size_key(self.db_map[db])))

    def iterate(
        self, db: int, now_ms: int, start_hash: int = 0
    ) -> Iterator[tuple[int, bytes, bytes]]:
        """Yield `(hash32, key, record)` of live keys of `db` in layout order from `start_hash`."""
        slot = self.db_map[db]
        lo, hi = L.meta_slot_range(slot)
        if start_hash:
            lo = L.meta_seek_key(slot, start_hash)
        for mkey, rec in self.engine.iterate(KV_DATA, lo, hi):
            exp = int.from_bytes(rec[1:9], "big")
            if exp and exp <= now_ms:
                continue
            yield L.meta_key_hash(mkey), mkey[L.META_KEY_OFFSET :], rec

    def iterate_all(self, db: int, start_hash: int = 0) -> Iterator[tuple[int, bytes, bytes]]:
        """Like `iterate`, but including expired keys (SCAN counts them as work done)."""
        slot = self.db_map[db]
        lo, hi = L.meta_slot_range(slot)
        if start_hash:
            lo = L.meta_seek_key(slot, start_hash)
        for mkey, rec in self.engine.iterate(KV_DATA, lo, hi):
            yield L.meta_key_hash(mkey), mkey[L.META_KEY_OFFSET :], rec

    def expired(self, now_ms: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to `limit` `(slot, key)` pairs whose expiry is at or before `now_ms`."""
        found: list[tuple[int, bytes]] = []
        for slot in range(L.DB_COUNT):
            lo, _ = L.expiry_slot_range(slot)
            for ikey, _v in self.engine.iterate(KV_DATA, lo, L.expiry_until(slot, now_ms)):
                if len(found) >= limit:
                    return found
                found.append((slot, ikey[L.EXPIRY_KEY_OFFSET :]))
        return found


class KeyspaceWriter:
    """Pending writes of one apply batch, over the committed state.

    Everything written goes to `commit()` as one engine batch: range deletions first (in order),
    then the overlay's final value of every touched key. That order is right because a range
    deletion also drops the overlay entries inside it, so an overlay entry that survives was
    written after every range deletion that covers it.
    """

    __slots__ = (
        "_map_dirty", "_overlay", "_ranges", "_sizes", "_swaps", "_tombs", "_version_seq",
        "acl_changed", "db_map", "engine", "entry_index", "events", "expired", "flushed",
        "notify_classes", "script_reads", "touched",
    )  # fmt: skip

    def __init__(self, engine: Engine, db_map: list[int], notify_classes: int = 0) -> None:
        self.engine = engine
        self.db_map = list(db_map)  # private copy; published on commit
        self._overlay: dict[bytes, bytes | None] = {}
        self._ranges: list[tuple[bytes, bytes]] = []
        self._sizes: dict[int, int] = {}
        self._tombs: dict[bytes, bytes | None] = {}  # tombstones CF overlay
        self._map_dirty = False
        self.entry_index = 0
        self._version_seq = 0
        # WATCH bookkeeping (seshat/kv/transactions.py): (slot, key) -> index of the entry that
        # last modified it in this batch; logical db -> index of its last SWAPDB. `flushed`:
        # some FLUSHDB/FLUSHALL/SWAPDB ran (blocked clients then re-check every key).
        self.touched: dict[tuple[int, bytes], int] = {}
        self._swaps: dict[int, int] = {}
        self.flushed = False
        self.acl_changed: list[bytes] = []  # users ACL SETUSER/DELUSER wrote (seshat/acl)
        # Keyspace notifications (seshat/kv/notify.py): the classes this node's config asks
        # for, and `(event, db, key)` of what the batch did, in order.
        self.notify_classes = notify_classes
        self.events: list[tuple[bytes, int, bytes]] = []
        # Keys deleted because they expired, (slot, key): not modifications for WATCH, but
        # CLIENT TRACKING invalidates them (seshat/tracking.py).
        self.expired: list[tuple[int, bytes]] = []
        # Entries whose script called a read-only command: CLIENT TRACKING remembers their
        # declared keys (seshat/tracking.py), as Redis does for a script's caller.
        self.script_reads: list[int] = []

    # -- collection identities ------------------------------------------------------------------

    def begin_entry(self, index: int) -> None:
        """The state machine calls this before applying log entry `index`."""
        self.entry_index = index
        self._version_seq = 0

    def new_version(self) -> int:
        """A collection version never used before in this database: derived from the log index
        of the entry being applied, so every replica allocates the same one."""
        assert self.entry_index > 0, self.entry_index
        assert self._version_seq < VERSIONS_PER_ENTRY_MAX, self._version_seq
        self._version_seq += 1
        return self.entry_index * VERSIONS_PER_ENTRY_MAX + self._version_seq

    def _tombstone(self, slot: int, key: bytes, rec: bytes) -> None:
        """Mark a dead collection incarnation for GC (O(1), whatever its size)."""
        self._tombs[L.tombstone_key(slot, L.record_version(rec))] = key

    def notify(self, cls: int, event: bytes, db: int, key: bytes) -> None:
        """Record a keyspace event (Redis's `notifyKeyspaceEvent`) if its class is wanted."""
        if self.notify_classes & cls:
            self.events.append((event, db, key))

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Writes made through other commands' applies that Redis announces under one event
        of their own (SORT ... STORE's "sortstore", RESTORE's "restore"): record none."""
        classes, self.notify_classes = self.notify_classes, 0
        try:
            yield
        finally:
            self.notify_classes = classes

    # -- modification versions (WATCH) ----------------------------------------------------------

    def touch(self, db: int, key: bytes) -> None:
        """Record that the entry being applied modified `key` (a WATCH on it is now stale)."""
        self.touched[(self.db_map[db], key)] = self.entry_index

    def version(self, db: int, key: bytes) -> int:
        """The log index of the last entry that modified `key` (0: never, as far as we know)."""
        slot = self.db_map[db]
        index = self.touched.get((slot, key))
        if index is not None:
            return index
        return L.decode_u64(self.engine.get(METADATA, L.version_key(slot, key)))

    def swapped_at(self, db: int) -> int:
        """The log index of the last SWAPDB that involved logical `db` (0: never)."""
        index = self._swaps.get(db)
        if index is not None:
            return index
        return L.decode_u64(self.engine.get(METADATA, L.db_swap_key(db)))

    def peek(self, db: int, key: bytes, now_ms: int) -> bytes | None:
        """Like `lookup`, but never deletes: the live record or None."""
        rec = self._get(L.meta_key(self.db_map[db], key))
        if rec is None:
            return None
        exp = int.from_bytes(rec[1:9], "big")
        if exp and exp <= now_ms:
            return None
        return rec

    # -- raw access ---------------------------------------------------------------------------

    def _get(self, kkey: bytes) -> bytes | None:
        if kkey in self._overlay:
            return self._overlay[kkey]
        for lo, hi in self._ranges:
            if lo <= kkey < hi:
                return None
        return self.engine.get(KV_DATA, kkey)

    def _size(self, slot: int) -> int:
        size = self._sizes.get(slot)
        if size is None:
            size = L.decode_u64(self.engine.get(METADATA, L.db_size_key(slot)))
        return size

    def _add_size(self, slot: int, delta: int) -> None:
        size = self._size(slot) + delta
        assert size >= 0, (slot, size, delta)
        self._sizes[slot] = size

    # -- records ------------------------------------------------------------------------------

    def lookup(self, db: int, key: bytes, now_ms: int) -> bytes | None:
        """The live record of `key`; an expired one is deleted here, in this batch."""
        slot = self.db_map[db]
        mkey = L.meta_key(slot, key)
        rec = self._get(mkey)
        if rec is None:
            return None
        exp = int.from_bytes(rec[1:9], "big")
        if exp and exp <= now_ms:
            self._remove(slot, mkey, key, rec, expired=True)
            self.notify(N.EXPIRED, b"expired", db, key)
            return None
        return rec

    def put(self, db: int, key: bytes, rec: bytes, old: bytes | None) -> None:
        """Store `rec` for `key`; `old` is what `lookup` returned for it in this entry."""
        slot = self.db_map[db]
        mkey = L.meta_key(slot, key)
        if old is None:
            self._add_size(slot, 1)
            self.notify(N.NEW, b"new", db, key)
            old_exp = 0
        else:
            old_exp = int.from_bytes(old[1:9], "big")
        new_exp = int.from_bytes(rec[1:9], "big")
        if old_exp != new_exp:
            if old_exp:
                self._overlay[L.expiry_key(slot, old_exp, key)] = None
            if new_exp:
                self._overlay[L.expiry_key(slot, new_exp, key)] = b""
        if (
            old is not None
            and old[0] != L.TYPE_STRING
            and (rec[0] == L.TYPE_STRING or L.record_version(rec) != L.record_version(old))
        ):
            self._tombstone(slot, key, old)  # overwritten by another value: its fields are dead
        self._overlay[mkey] = rec
        self.touched[(slot, key)] = self.entry_index

    def put_string(self, db: int, key: bytes, value: bytes, old: bytes | None) -> None:
        """Give a string key new bytes and keep its TTL (SETRANGE, SETBIT, BITFIELD, PFADD):
        a new key has none."""
        expire_at = 0 if old is None else L.record_expire_at(old)
        self.put(db, key, L.string_record(value, expire_at), old)

    def delete(self, db: int, key: bytes, old: bytes) -> None:
        """Delete `key`, whose live record (from `lookup`) is `old`."""
        slot = self.db_map[db]
        self._remove(slot, L.meta_key(slot, key), key, old)

    def detach(self, db: int, key: bytes, old: bytes) -> None:
        """Delete `key`'s meta record but not its sub-entries: RENAME (the record lives on under
        another key) and a collection emptied member by member (nothing left to collect)."""
        slot = self.db_map[db]
        self._remove(slot, L.meta_key(slot, key), key, old, tombstone=False)

    def _remove(
        self,
        slot: int,
        mkey: bytes,
        key: bytes,
        old: bytes,
        tombstone: bool = True,
        expired: bool = False,
    ) -> None:
        # Removing an expired key is not a modification for WATCH (Redis 7.0 `wk->expired`): a
        # watched key that expired after WATCH aborts EXEC through its existence check instead.
        if not expired:
            self.touched[(slot, key)] = self.entry_index
        else:
            self.expired.append((slot, key))
        if tombstone and old[0] != L.TYPE_STRING:
            self._tombstone(slot, key, old)
        old_exp = int.from_bytes(old[1:9], "big")
        if old_exp:
            self._overlay[L.expiry_key(slot, old_exp, key)] = None
        self._overlay[mkey] = None
        self._add_size(slot, -1)

    def expire_slot_key(self, slot: int, key: bytes, now_ms: int) -> None:
        """Active expiry: delete `key` in `slot` if it is (still) expired at `now_ms`."""
        mkey = L.meta_key(slot, key)
        rec = self._get(mkey)
        if rec is None:
            return
        exp = int.from_bytes(rec[1:9], "big")
        if exp and exp <= now_ms:
            self._remove(slot, mkey, key, rec, expired=True)
            if self.notify_classes & N.EXPIRED:
                self.notify(N.EXPIRED, b"expired", self.db_map.index(slot), key)

    # -- collection sub-entries and tombstones --------------------------------------------------

    def sub_get(self, kkey: bytes) -> bytes | None:
        return self._get(kkey)

    def sub_put(self, kkey: bytes, value: bytes) -> None:
        self._overlay[kkey] = value

    def sub_delete(self, kkey: bytes) -> None:
        self._overlay[kkey] = None

    def iterate_kv(
        self, lo: bytes, hi: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """`(kkey, value)` in `[lo, hi)` of kv_data as this batch sees it (committed state
        merged with the overlay), in key order. Lazy over RocksDB; the overlay part costs
        O(overlay) per call. Do not write inside `[lo, hi)` while iterating."""
        return _merge(
            self.engine.iterate(KV_DATA, lo, hi, reverse), self._overlay, self._ranges, lo, hi,
            reverse,
        )  # fmt: skip

    def tombstones(self) -> Iterator[tuple[bytes, bytes]]:
        """Pending tombstones `(tkey, key)`, oldest version first, as this batch sees them."""
        return _merge(self.engine.iterate(TOMBSTONES, b"", None), self._tombs, [], b"", None)

    def drop_tombstone(self, tkey: bytes) -> None:
        self._tombs[tkey] = None

    # -- whole databases ----------------------------------------------------------------------

    def flush_db(self, db: int) -> None:
        self.flushed = True
        self._flush_slot(self.db_map[db])

    def flush_all(self) -> None:
        self.flushed = True
        self._delete_range(b"", L.KV_DATA_END)
        for slot in range(L.DB_COUNT):
            self._sizes[slot] = 0

    def _flush_slot(self, slot: int) -> None:
        for lo, hi in (L.meta_slot_range(slot), L.expiry_slot_range(slot), L.sub_slot_range(slot)):
            self._delete_range(lo, hi)
        self._sizes[slot] = 0

    def _delete_range(self, lo: bytes, hi: bytes) -> None:
        self._ranges.append((lo, hi))
        for k in [k for k in self._overlay if lo <= k < hi]:
            del self._overlay[k]

    def swap_db(self, a: int, b: int) -> None:
        self.db_map[a], self.db_map[b] = self.db_map[b], self.db_map[a]
        self._map_dirty = True
        self.flushed = True
        self._swaps[a] = self._swaps[b] = self.entry_index

    def size(self, db: int) -> int:
        return self._size(self.db_map[db])

    # -- commit -------------------------------------------------------------------------------

    def commit(self, applied_index: int, published_map: list[int]) -> None:
        """Write everything and the applied index in one unsynced batch; publish the DB map."""
        batch = self.engine.batch()
        for lo, hi in self._ranges:
            batch.delete_range(KV_DATA, lo, hi)
        for kkey in sorted(self._overlay):  # sorted: the batch bytes do not depend on dict order
            value = self._overlay[kkey]
            if value is None:
                batch.delete(KV_DATA, kkey)
            else:
                batch.put(KV_DATA, kkey, value)
        for tkey in sorted(self._tombs):
            tvalue = self._tombs[tkey]
            if tvalue is None:
                batch.delete(TOMBSTONES, tkey)
            else:
                batch.put(TOMBSTONES, tkey, tvalue)
        for slot in sorted(self._sizes):
            batch.put(METADATA, L.db_size_key(slot), L.encode_u64(self._sizes[slot]))
        if self._map_dirty:
            batch.put(METADATA, L.DB_MAP_KEY, bytes(self.db_map))
        for (slot, key), index in sorted(self.touched.items()):
            batch.put(METADATA, L.version_key(slot, key), L.encode_u64(index))
        for db in sorted(self._swaps):
            batch.put(METADATA, L.db_swap_key(db), L.encode_u64(self._swaps[db]))
        batch.put(METADATA, L.APPLIED_INDEX_KEY, L.encode_u64(applied_index))
        self.engine.write(batch)
        published_map[:] = self.db_map


def _merge(
    base: Iterator[tuple[bytes, bytes]],
    overlay: dict[bytes, bytes | None],
    ranges: list[tuple[bytes, bytes]],
    lo: bytes,
    hi: bytes | None,
    reverse: bool = False,
) -> Iterator[tuple[bytes, bytes]]:
    """Committed `base` (sorted) overridden by `overlay` and with `ranges` deleted."""
    pending = sorted(
        ((k, v) for k, v in overlay.items() if lo <= k and (hi is None or k < hi)),
        reverse=reverse,
    )

    def committed() -> Iterator[tuple[bytes, bytes]]:
        for k, v in base:
            if k in overlay:
                continue  # the overlay's version (or deletion) wins
            if ranges and any(rlo <= k < rhi for rlo, rhi in ranges):
                continue
            yield k, v

    if not pending:
        yield from committed()
        return
    merged = heapq.merge(
        committed(),
        ((k, v) for k, v in pending if v is not None),
        key=lambda kv: kv[0],
        reverse=reverse,
    )
    yield from merged


class WriterView:
    """The keyspace as an apply batch sees it, shaped like `KeyspaceView`: the reads queued in
    a MULTI run at apply time and must see the transaction's own earlier writes."""

    __slots__ = ("_w",)

    def __init__(self, writer: KeyspaceWriter) -> None:
        self._w = writer

    @property
    def db_map(self) -> list[int]:
        return self._w.db_map

    def record(self, db: int, key: bytes, now_ms: int) -> bytes | None:
        return self._w.peek(db, key, now_ms)

    def records(self, db: int, keys: list[bytes], now_ms: int) -> list[bytes | None]:
        return [self._w.peek(db, key, now_ms) for key in keys]

    def has_tombstones(self) -> bool:
        for _ in self._w.tombstones():
            return True
        return False

    def sub_get(self, kkey: bytes) -> bytes | None:
        return self._w.sub_get(kkey)

    def sub_multi_get(self, kkeys: list[bytes]) -> list[bytes | None]:
        return [self._w.sub_get(k) for k in kkeys]

    def iterate_kv(
        self, lo: bytes, hi: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return self._w.iterate_kv(lo, hi, reverse)

    def db_size(self, db: int) -> int:
        return self._w.size(db)

    def iterate(
        self, db: int, now_ms: int, start_hash: int = 0
    ) -> Iterator[tuple[int, bytes, bytes]]:
        for h, key, rec in self.iterate_all(db, start_hash):
            exp = int.from_bytes(rec[1:9], "big")
            if exp and exp <= now_ms:
                continue
            yield h, key, rec

    def iterate_all(self, db: int, start_hash: int = 0) -> Iterator[tuple[int, bytes, bytes]]:
        slot = self._w.db_map[db]
        lo, hi = L.meta_slot_range(slot)
        if start_hash:
            lo = L.meta_seek_key(slot, start_hash)
        for mkey, rec in list(self._w.iterate_kv(lo, hi)):
            yield L.meta_key_hash(mkey), mkey[L.META_KEY_OFFSET :], rec
