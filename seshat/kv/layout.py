"""How the keyspace is laid out in RocksDB: key encodings and the value record format.

This module owns the bytes; `keyspace.py` owns reading and writing them.

kv_data (all user data; every prefix is one ASCII byte so `FLUSHALL` is one range delete):

    b"m" + slot + hash32(key) + key                  -> record (one per user key, any type)
    b"x" + slot + expire_at_ms(8, BE) + key          -> b""    (expiry index, volatile keys only)
    b"s" + slot + hash32(key) + len(key)(4) + key + version(8) + sub
                                                     -> value  (collection sub-entries; reserved)

`slot` is the physical keyspace (one byte, 0..15). A client's logical DB index maps to a slot
through the `db_map` table in `metadata`, so SWAPDB swaps two bytes instead of rewriting keys.
`hash32` is CRC-32 of the key: keys of one database sort by (hash, key), which is what lets a
SCAN cursor be a plain integer that survives writes (cursor = hash of the next key + 1, see
`keyspace.scan`). The expiry index sorts by time within a slot, so the leader's active-expiry
cycle reads exactly the expired keys, and FLUSHDB range-deletes it with the slot.

Record: type(1) + expire_at_ms(8, BE, 0 = no expiry) + payload. A string's payload is its value.
Collections (next) will carry version(8) + size(8) as payload, Kvrocks-style, their fields under
the `s` prefix with that version, so deleting a collection is O(1) plus a `tombstones` record.

metadata:

    b"applied_index"        -> index(8, BE)
    b"db_map"               -> 16 bytes: db_map[logical] = slot
    b"db_size" + slot       -> key count(8, BE), kept in the same batch as the writes (O(1) DBSIZE)
"""

from __future__ import annotations

from typing import Final
from zlib import crc32

DB_COUNT: Final = 16

TYPE_STRING: Final = 0
TYPE_NAMES: Final[dict[int, bytes]] = {TYPE_STRING: b"string"}

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
