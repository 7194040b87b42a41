"""Garbage collection of dead collection incarnations, through the log.

Deleting, overwriting or expiring a collection removes only its meta record and writes a
`tombstones` record `(slot, version) -> key` in the same batch (`KeyspaceWriter._tombstone`), so
the user-visible operation costs O(1) RocksDB writes whatever the collection's size. The
sub-entries `s + slot + version + *` are then unreachable: no live meta record carries that
version, and versions are never reused (`KeyspaceWriter.new_version`).

The leader's maintenance cycle (`Server._maintain`, next to active expiry) calls
`KVService.gc_sample()`, which proposes a `[KIND_GC, now_ms, limit]` operation whenever a
tombstone exists. Applying it is deterministic: it walks the tombstones oldest version first and
deletes up to `limit` sub-entries in total, dropping each tombstone whose range it emptied. The
entry names no keys, so every replica, reading the same replicated state, deletes the same
entries; one entry writes at most `limit + tombstones visited` deletions, which bounds the size
of each apply batch (`GC_ENTRIES_MAX`). The reply (for tests and logs) is the number of
sub-entries deleted.
"""

from __future__ import annotations

from typing import Final

from seshat.kv import layout as L
from seshat.kv.keyspace import KeyspaceWriter

GC_ENTRIES_MAX: Final = 1000  # sub-entries deleted per proposed GC entry; bounds its batch
GC_TOMBSTONES_MAX: Final = 1000  # tombstones visited per GC entry (empty ones cost a delete too)


def apply_gc(w: KeyspaceWriter, limit: int) -> int:
    """Delete up to `limit` orphaned sub-entries, oldest tombstone first; returns how many."""
    assert limit > 0, limit
    deleted = 0
    visited = 0
    for tkey, _key in list(_first_tombstones(w, GC_TOMBSTONES_MAX)):
        visited += 1
        slot, version = L.decode_tombstone_key(tkey)
        lo, hi = L.sub_prefix(slot, version), L.sub_prefix_end(slot, version)
        finished = True
        doomed: list[bytes] = []
        for kkey, _v in w.iterate_kv(lo, hi):
            if deleted + len(doomed) >= limit:
                finished = False
                break
            doomed.append(kkey)
        for kkey in doomed:
            w.sub_delete(kkey)
        deleted += len(doomed)
        if finished:
            w.drop_tombstone(tkey)
        if deleted >= limit:
            break
    assert visited <= GC_TOMBSTONES_MAX, visited
    return deleted


def _first_tombstones(w: KeyspaceWriter, n: int) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    for item in w.tombstones():
        if len(out) >= n:
            break
        out.append(item)
    return out
