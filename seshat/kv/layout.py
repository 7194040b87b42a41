"""How the keyspace is laid out in RocksDB: key encodings and the value record format.

This module owns the bytes; `keyspace.py` owns reading and writing them.

kv_data (all user data; every prefix is one ASCII byte so `FLUSHALL` is one range delete):

    b"m" + slot + hash32(key) + key                  -> record (one per user key, any type)
    b"x" + slot + expire_at_ms(8, BE) + key          -> b""    (expiry index, volatile keys only)
    b"s" + slot + version(8) + sub                   -> value  (collection sub-entries)

`slot` is the physical keyspace (one byte, 0..15). A client's logical DB index maps to a slot
through the `db_map` table in `metadata`, so SWAPDB swaps two bytes instead of rewriting keys.
`hash32` is CRC-32 of the key: keys of one database sort by (hash, key), which is what lets a
SCAN cursor be a plain integer that survives writes (cursor = hash of the next key + 1, see
`keyspace.scan`). The expiry index sorts by time within a slot, so the leader's active-expiry
cycle reads exactly the expired keys, and FLUSHDB range-deletes it with the slot.

Record: type(1) + expire_at_ms(8, BE, 0 = no expiry) + payload. A string's payload is its value.
A collection's (hash, set, list, zset) payload is version(8) + size(8) (+ type-specific extra
bytes, e.g. list head/tail), Kvrocks-style: its fields/members live under the `s` prefix with
that version, one RocksDB entry each, so HSET touches O(1) entries and deleting, overwriting or
expiring a collection is O(1): the meta record goes and a `tombstones` record (below) lets the
leader's GC cycle remove the orphaned sub-entries in bounded batches through the log.

Why the sub-entry prefix is `slot + version` and not `slot + hash32(key) + key + version`
(Kvrocks): the version is an identity allocated once per collection incarnation, unique for the
life of the database (`(log index << 20) | n`, see `KeyspaceWriter.new_version`), so the user key
is not needed to tell collections apart. Leaving it out makes RENAME O(1) (the meta record moves
to the new key, the sub-entries stay where they are) and keeps the prefix short. The slot stays
in the prefix so FLUSHDB is still one range deletion per slot; the price is that MOVE (which
changes the slot) copies the sub-entries to a new version, O(N), like COPY. SWAPDB swaps logical
DBs, not slots, so it moves nothing.

tombstones (column family): version(8) + slot(1) -> key. One per dead collection incarnation,
ordered by version (oldest first); GC deletes `s + slot + version + *` and then the tombstone.

metadata:

    b"applied_index"        -> index(8, BE)
    b"db_map"               -> 16 bytes: db_map[logical] = slot
    b"db_size" + slot       -> key count(8, BE), kept in the same batch as the writes (O(1) DBSIZE)
    b"v" + slot + key       -> index(8, BE): the log index of the entry that last modified the key
                               (WATCH; see `seshat/kv/transactions.py`). Not in kv_data, so FLUSHDB
                               and FLUSHALL leave it: a flush is a modification, never a reset.
    b"db_swap" + db         -> index(8, BE): the last SWAPDB involving logical `db` (WATCH)
"""

from __future__ import annotations

from typing import Final
from zlib import crc32

DB_COUNT: Final = 16

# Type tags, numbered as Redis numbers its OBJ_* types.
TYPE_STRING: Final = 0
TYPE_LIST: Final = 1
TYPE_SET: Final = 2
TYPE_ZSET: Final = 3
TYPE_HASH: Final = 4
TYPE_STREAM: Final = 6
TYPE_NAMES: Final[dict[int, bytes]] = {
    TYPE_STRING: b"string",
    TYPE_LIST: b"list",
    TYPE_SET: b"set",
    TYPE_ZSET: b"zset",
    TYPE_HASH: b"hash",
    TYPE_STREAM: b"stream",
}
# A collection's payload starts with version(8) + size(8).
COLLECTION_VERSION_OFFSET: Final = 9
COLLECTION_SIZE_OFFSET: Final = 17
COLLECTION_HEADER_BYTES: Final = 25

RECORD_HEADER_BYTES: Final = 9
NO_EXPIRY: Final = 0

META_PREFIX: Final = b"m"
EXPIRY_PREFIX: Final = b"x"
SUB_PREFIX: Final = b"s"
KV_DATA_END: Final = b"\xff"  # above every prefix: [b"", KV_DATA_END) is the whole keyspace

APPLIED_INDEX_KEY: Final = b"applied_index"
DB_MAP_KEY: Final = b"db_map"
DB_SIZE_PREFIX: Final = b"db_size"

_META_SLOT: Final = tuple(META_PREFIX + bytes([s]) for s in range(DB_COUNT))
_EXPIRY_SLOT: Final = tuple(EXPIRY_PREFIX + bytes([s]) for s in range(DB_COUNT))
_SUB_SLOT: Final = tuple(SUB_PREFIX + bytes([s]) for s in range(DB_COUNT))

# Offset of the user key inside a meta key: prefix(1) + slot(1) + hash(4).
META_KEY_OFFSET: Final = 6
EXPIRY_KEY_OFFSET: Final = 10


def meta_key(slot: int, key: bytes) -> bytes:
    return _META_SLOT[slot] + crc32(key).to_bytes(4, "big") + key


def meta_slot_range(slot: int) -> tuple[bytes, bytes]:
    """`[lo, hi)` of all meta keys of one slot."""
    return _META_SLOT[slot], META_PREFIX + bytes([slot + 1])


def meta_seek_key(slot: int, hash32: int) -> bytes:
    """The first possible meta key whose key hash is `hash32` (where a SCAN resumes)."""
    return _META_SLOT[slot] + hash32.to_bytes(4, "big")


def meta_key_hash(mkey: bytes) -> int:
    return int.from_bytes(mkey[2:6], "big")


def expiry_key(slot: int, expire_at_ms: int, key: bytes) -> bytes:
    return _EXPIRY_SLOT[slot] + expire_at_ms.to_bytes(8, "big") + key


def expiry_slot_range(slot: int) -> tuple[bytes, bytes]:
    return _EXPIRY_SLOT[slot], EXPIRY_PREFIX + bytes([slot + 1])


def expiry_until(slot: int, now_ms: int) -> bytes:
    """Upper bound (exclusive) of index entries expired at `now_ms` (expire_at <= now)."""
    return _EXPIRY_SLOT[slot] + (now_ms + 1).to_bytes(8, "big")


def sub_slot_range(slot: int) -> tuple[bytes, bytes]:
    return _SUB_SLOT[slot], SUB_PREFIX + bytes([slot + 1])


def sub_prefix(slot: int, version: int) -> bytes:
    """The prefix of every sub-entry of one collection incarnation."""
    return _SUB_SLOT[slot] + version.to_bytes(8, "big")


def sub_prefix_end(slot: int, version: int) -> bytes:
    """Exclusive upper bound of `sub_prefix(slot, version)` keys."""
    return _SUB_SLOT[slot] + (version + 1).to_bytes(8, "big")


SUB_KEY_OFFSET: Final = 10  # prefix(1) + slot(1) + version(8): where `sub` starts


def tombstone_key(slot: int, version: int) -> bytes:
    return version.to_bytes(8, "big") + bytes([slot])


def decode_tombstone_key(tkey: bytes) -> tuple[int, int]:
    """`(slot, version)` of a tombstone key."""
    return tkey[8], int.from_bytes(tkey[:8], "big")


def is_collection(record: bytes) -> bool:
    return record[0] != TYPE_STRING


def record_version(record: bytes) -> int:
    return int.from_bytes(record[9:17], "big")


def record_size(record: bytes) -> int:
    return int.from_bytes(record[17:25], "big")


def collection_record(
    type_tag: int, expire_at_ms: int, version: int, size: int, extra: bytes = b""
) -> bytes:
    return (
        bytes([type_tag])
        + expire_at_ms.to_bytes(8, "big")
        + version.to_bytes(8, "big")
        + size.to_bytes(8, "big")
        + extra
    )


def with_size(record: bytes, size: int) -> bytes:
    return record[:17] + size.to_bytes(8, "big") + record[25:]


def with_version(record: bytes, version: int) -> bytes:
    return record[:9] + version.to_bytes(8, "big") + record[17:]


VERSION_PREFIX: Final = b"v"
DB_SWAP_PREFIX: Final = b"db_swap"


def version_key(slot: int, key: bytes) -> bytes:
    return VERSION_PREFIX + bytes([slot]) + key


def db_swap_key(db: int) -> bytes:
    return DB_SWAP_PREFIX + bytes([db])


def db_size_key(slot: int) -> bytes:
    return DB_SIZE_PREFIX + bytes([slot])


def string_record(value: bytes, expire_at_ms: int) -> bytes:
    return b"\x00" + expire_at_ms.to_bytes(8, "big") + value


def record_expire_at(record: bytes) -> int:
    return int.from_bytes(record[1:9], "big")


def with_expire_at(record: bytes, expire_at_ms: int) -> bytes:
    """The same record with a new expiry (a TTL change never touches the payload's meaning)."""
    return record[:1] + expire_at_ms.to_bytes(8, "big") + record[9:]


def encode_u64(n: int) -> bytes:
    return n.to_bytes(8, "big")


def decode_u64(b: bytes | None) -> int:
    return 0 if b is None else int.from_bytes(b, "big")
