"""A whole keyspace as one RDB file, as redis-server 7.0 writes it for `redis-cli --rdb`.

The values are DUMP's encodings (`kv.dump.value_body`), so a file loads wherever a DUMP
payload restores: into redis-server 7.0 (`dbfilename`) and into Seshat (`seshat load-rdb`).
Keys come in Seshat's layout order, not Redis's hash-table order; a loader does not care.

The caller passes a view of a state that does not move while the file is written (a RocksDB
checkpoint, `seshat/rdb/export.py`). Keys already expired at `now_ms` are left out, as a
loading Redis primary would drop them. The file ends with the CRC-64 of everything before it
(Redis's `rdbchecksum yes`); each value carries none of its own, unlike a DUMP payload.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Final

from seshat.kv import layout as L
from seshat.kv.dump import value_body
from seshat.kv.functions import library_codes
from seshat.kv.keyspace import KeyspaceView
from seshat.kv.rdb_codec import RDB_VERSION, crc64, encode_length, encode_string
from seshat.rdb import format as F

REDIS_VERSION: Final = b"7.0.15"  # what INFO says: tools compare it with what they expect


def _aux(name: bytes, value: bytes) -> bytes:
    return bytes([F.OP_AUX]) + encode_string(name) + encode_string(value)


def header(now_ms: int, used_memory: int) -> bytes:
    """`REDIS0010` and the aux fields Redis 7.0 writes for an RDB that is not a replication
    stream's (no `repl-id`: nothing can continue from this file)."""
    return b"".join(
        (
            F.MAGIC + b"%04d" % RDB_VERSION,
            _aux(b"redis-ver", REDIS_VERSION),
            _aux(b"redis-bits", b"64"),
            _aux(b"ctime", b"%d" % (now_ms // 1000)),
            _aux(b"used-mem", b"%d" % used_memory),
            _aux(b"aof-base", b"0"),
        )
    )


def functions(view: KeyspaceView) -> bytes:
    """Every Redis 7 function library, one `FUNCTION2` opcode each."""
    return b"".join(bytes([F.OP_FUNCTION2]) + encode_string(code) for code in library_codes(view))


def _expires_hint(view: KeyspaceView, db: int) -> int:
    """Keys of `db` with a TTL, from the expiry index (expired ones not yet deleted count)."""
    lo, hi = L.expiry_slot_range(view.db_map[db])
    return sum(1 for _ in view.iterate_kv(lo, hi))


def database(view: KeyspaceView, now_ms: int, db: int) -> Iterator[bytes]:
    """`db`'s live keys, one piece each, after `SELECTDB` and `RESIZEDB`; nothing when it has
    no key. RESIZEDB's sizes are what the loader pre-sizes its tables with, a hint: they count
    keys expired but not yet deleted, which the file leaves out."""
    size = view.db_size(db)
    if not size:
        return
    yield b"".join(
        (
            bytes([F.OP_SELECTDB]),
            encode_length(db),
            bytes([F.OP_RESIZEDB]),
            encode_length(size),
            encode_length(_expires_hint(view, db)),
        )
    )
    for _hash, key, record in view.iterate(db, now_ms):
        body = value_body(view, now_ms, db, key, record)
        assert body is not None, key  # iterate yields live keys only
        expire_at_ms = L.record_expire_at(record)
        prefix = b""
        if expire_at_ms:
            prefix = bytes([F.OP_EXPIRETIME_MS]) + expire_at_ms.to_bytes(8, "little")
        yield prefix + body[:1] + encode_string(key) + body[1:]


def sections(
    view: KeyspaceView, now_ms: int, used_memory: int, functions_only: bool
) -> Iterator[bytes]:
    """The file in pieces, up to the `EOF` opcode (the checksum is `write_rdb`'s)."""
    yield header(now_ms, used_memory)
    yield functions(view)
    if not functions_only:  # `REPLCONF rdb-filter-only functions`: no keys at all
        for db in range(L.DB_COUNT):
            yield from database(view, now_ms, db)
    yield bytes([F.OP_EOF])


def write_rdb(
    view: KeyspaceView,
    now_ms: int,
    out: BinaryIO,
    used_memory: int = 0,
    functions_only: bool = False,
) -> int:
    """The whole file into `out`, checksum included, a key at a time (a keyspace larger than
    memory is fine); returns its size in bytes."""
    crc = size = 0
    for piece in sections(view, now_ms, used_memory, functions_only):
        crc = crc64(piece, crc)
        size += len(piece)
        out.write(piece)
    out.write(crc.to_bytes(F.CHECKSUM_BYTES, "little"))
    return size + F.CHECKSUM_BYTES
