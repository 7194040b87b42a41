"""The foundation every collection type (hash, set, list, zset) builds on.

Layout (see `layout.py`): one meta record per key, `type + expire_at_ms + version + size
[+ extra]`, and one kv_data entry per field/member/element under `s + slot + version + sub`.
`sub` is chosen by each type (hashes and sets use `crc32(member) + member`, so HSCAN/SSCAN
cursors work like SCAN's); the value is the type's payload (a hash field's value, b"" for a set
member, ...).

Two handles, one per side of the log:

- `WColl` inside apply (`open_write`): point get/put/delete of sub-entries through the apply
  batch's overlay, ordered iteration that sees the batch's own writes, and `save()`, which
  writes the meta record with the new size (or removes the key when the size reaches 0; nothing
  is left to collect then, so no tombstone). A new collection gets a fresh version, allocated
  deterministically from the log index (`KeyspaceWriter.new_version`).
- `RColl` for reads (`open_read`): point and multi gets, ordered iteration from a position.

Both apply lazy expiry (an expired collection is missing; in apply it is also deleted, O(1),
with a tombstone) and the type check: `open_*` returns `E.WRONGTYPE` for a key of another type,
exactly where Redis's `lookupKey*` + `checkType` would.

Whole-collection work is O(1) writes: overwriting or deleting the key (any command, DEL, SET,
RENAME onto it, expiry) tombstones its version in `KeyspaceWriter`; `gc.py` collects the rest.
COPY and cross-DB MOVE copy sub-entries (`clone`), O(N) like Redis's COPY.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final
from zlib import crc32

from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv import notify as N
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.protocol.replies import ErrorReply

HASH_SPACE: Final = 1 << 32


def hashed_sub(member: bytes) -> bytes:
    """`crc32(member)(4) + member`: the sub key of a hash field or set member."""
    return crc32(member).to_bytes(4, "big") + member


def hashed_sub_member(sub: bytes) -> bytes:
    return sub[4:]


def hashed_sub_hash(sub: bytes) -> int:
    return int.from_bytes(sub[:4], "big")


class _WholeReads:
    """Reading a whole hash or set, for `RColl` (committed state) and `WColl` (a batch's):
    one comprehension straight over the storage iterator of the collection's sub-entries
    (`prefix + crc32 + member`). HGETALL and SMEMBERS of 100 members spent a third of their
    time reading, and `iterate` adds a generator per element."""

    __slots__ = ()
    prefix: bytes

    def _all_pairs(self) -> Iterator[tuple[bytes, bytes]]:
        raise NotImplementedError

    def hashed_items(self) -> list[tuple[bytes, bytes]]:
        """Every `(member, value)`, in layout order."""
        skip = len(self.prefix) + 4
        return [(k[skip:], v) for k, v in self._all_pairs()]

    def hashed_members(self) -> list[bytes]:
        """Every member (HKEYS, SMEMBERS, SUNION), in layout order."""
        skip = len(self.prefix) + 4
        return [k[skip:] for k, _v in self._all_pairs()]


class WColl(_WholeReads):
    """One collection as an apply handler sees it; see the module docstring."""

    __slots__ = ("_w", "db", "key", "old", "prefix", "rec", "size", "slot")

    def __init__(
        self, w: KeyspaceWriter, db: int, key: bytes, old: bytes | None, rec: bytes
    ) -> None:
        self._w = w
        self.db = db
        self.key = key
        self.old = old  # the live meta record at open (None: the key did not exist)
        self.rec = rec  # the meta record to save (size is applied by `save`)
        self.slot = w.db_map[db]
        self.prefix = L.sub_prefix(self.slot, L.record_version(rec))
        self.size = L.record_size(rec)

    @property
    def version(self) -> int:
        return L.record_version(self.rec)

    @property
    def extra(self) -> bytes:
        """Type-specific meta bytes after version and size (list head/tail, ...)."""
        return self.rec[L.COLLECTION_HEADER_BYTES :]

    @extra.setter
    def extra(self, value: bytes) -> None:
        self.rec = self.rec[: L.COLLECTION_HEADER_BYTES] + value

    @property
    def exists(self) -> bool:
        return self.old is not None

    def get(self, sub: bytes) -> bytes | None:
        return self._w.sub_get(self.prefix + sub)

    def put(self, sub: bytes, value: bytes) -> None:
        """Store a sub-entry; the caller keeps `size` right."""
        self._w.sub_put(self.prefix + sub, value)
        self._w.touch(self.db, self.key)  # HSET of an existing field changes no meta record

    def delete(self, sub: bytes) -> None:
        self._w.sub_delete(self.prefix + sub)
        self._w.touch(self.db, self.key)

    def iterate(
        self, start: bytes = b"", end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """`(sub, value)` with `start <= sub < end`, in sub order (descending if `reverse`)."""
        lo = self.prefix + start
        hi = self.prefix + end if end is not None else L.sub_prefix_end(self.slot, self.version)
        n = len(self.prefix)
        for kkey, value in self._w.iterate_kv(lo, hi, reverse):
            yield kkey[n:], value

    def _all_pairs(self) -> Iterator[tuple[bytes, bytes]]:
        return self._w.iterate_kv(self.prefix, L.sub_prefix_end(self.slot, self.version))

    def notify(self, cls: int, event: bytes) -> None:
        """A keyspace event about this collection (seshat/kv/notify.py)."""
        self._w.notify(cls, event, self.db, self.key)

    def notify_removed(self, cls: int, event: bytes) -> None:
        """The event of a removal, then "del" if it left the collection empty (Redis's order)."""
        self._w.notify(cls, event, self.db, self.key)
        if self.size == 0:
            self._w.notify(N.GENERIC, b"del", self.db, self.key)

    def save(self, keep_empty: bool = False) -> None:
        """Write the meta record with `size`; a collection left empty is removed, unless it is
        one that outlives its elements (a stream)."""
        assert self.size >= 0, (self.key, self.size)
        if self.size == 0 and not keep_empty:
            if self.old is not None:
                self._w.detach(self.db, self.key, self.old)
                self.old = None
            return
        rec = L.with_size(self.rec, self.size)
        if rec != self.old:
            self._w.put(self.db, self.key, rec, self.old)
        self.old = self.rec = rec


def open_write(
    w: KeyspaceWriter, now_ms: int, db: int, key: bytes, type_tag: int, create: bool
) -> WColl | ErrorReply | None:
    """The collection at `key` for an apply handler.

    WRONGTYPE if the key holds another type; None if it is missing and not `create`; else a
    handle (a new, empty collection with a fresh version when it was missing: it is stored on
    the first `save()` with a non-zero size).
    """
    old = w.lookup(db, key, now_ms)
    if old is None:
        if not create:
            return None
        return WColl(w, db, key, None, L.collection_record(type_tag, 0, w.new_version(), 0))
    if old[0] != type_tag:
        return E.WRONGTYPE
    return WColl(w, db, key, old, old)


def new_write(w: KeyspaceWriter, now_ms: int, db: int, key: bytes, type_tag: int) -> WColl:
    """A fresh, empty incarnation for `key` that replaces whatever is there (any type) on
    `replace_with()`: the STORE commands (SINTERSTORE, ...)."""
    old = w.lookup(db, key, now_ms)
    coll = WColl(w, db, key, None, L.collection_record(type_tag, 0, w.new_version(), 0))
    coll.old = old
    return coll


def replace_with(coll: WColl, cls: int, event: bytes) -> None:
    """Save `coll` (from `new_write`) over the key: an empty result deletes the key. `event`
    is the STORE command's keyspace event (a deletion's is "del")."""
    if coll.size == 0:
        if coll.old is not None:
            coll._w.delete(coll.db, coll.key, coll.old)  # tombstones a collection it replaces
            coll.old = None
            coll.notify(N.GENERIC, b"del")
        return
    rec = L.with_size(coll.rec, coll.size)
    coll._w.put(coll.db, coll.key, rec, coll.old)
    coll.old = coll.rec = rec
    coll.notify(cls, event)


def clone(w: KeyspaceWriter, src_db: int, rec: bytes, dst_db: int) -> bytes:
    """COPY / cross-DB MOVE of a collection: its sub-entries copied under a fresh version in
    `dst_db`'s slot. Returns the meta record for the copy (same type, expiry, size, extra)."""
    src_slot, dst_slot = w.db_map[src_db], w.db_map[dst_db]
    version = L.record_version(rec)
    new_version = w.new_version()
    src_prefix = L.sub_prefix(src_slot, version)
    dst_prefix = L.sub_prefix(dst_slot, new_version)
    n = len(src_prefix)
    items = list(w.iterate_kv(src_prefix, L.sub_prefix_end(src_slot, version)))
    for kkey, value in items:
        w.sub_put(dst_prefix + kkey[n:], value)
    return L.with_version(rec, new_version)


class RColl(_WholeReads):
    """One collection as a read handler sees it (committed state)."""

    __slots__ = ("_view", "prefix", "rec", "size", "slot", "version")

    def __init__(self, view: KeyspaceView, db: int, rec: bytes) -> None:
        self._view = view
        self.rec = rec
        self.slot = view.db_map[db]
        self.version = L.record_version(rec)
        self.size = L.record_size(rec)
        self.prefix = L.sub_prefix(self.slot, self.version)

    @property
    def extra(self) -> bytes:
        return self.rec[L.COLLECTION_HEADER_BYTES :]

    def get(self, sub: bytes) -> bytes | None:
        return self._view.sub_get(self.prefix + sub)

    def multi_get(self, subs: list[bytes]) -> list[bytes | None]:
        p = self.prefix
        return self._view.sub_multi_get([p + s for s in subs])

    def iterate(
        self, start: bytes = b"", end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        lo = self.prefix + start
        hi = self.prefix + end if end is not None else L.sub_prefix_end(self.slot, self.version)
        n = len(self.prefix)
        for kkey, value in self._view.iterate_kv(lo, hi, reverse):
            yield kkey[n:], value

    def _all_pairs(self) -> Iterator[tuple[bytes, bytes]]:
        return self._view.iterate_kv(self.prefix, L.sub_prefix_end(self.slot, self.version))


def open_read(
    view: KeyspaceView, now_ms: int, db: int, key: bytes, type_tag: int
) -> RColl | ErrorReply | None:
    """The live collection at `key`, None if missing or expired, WRONGTYPE if another type."""
    rec = view.record(db, key, now_ms)
    if rec is None:
        return None
    if rec[0] != type_tag:
        return E.WRONGTYPE
    return RColl(view, db, rec)
