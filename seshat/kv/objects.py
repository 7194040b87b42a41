"""OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP, answered as Redis 7.0 would.

Seshat stores every value the same way (a record, plus one RocksDB entry per member for
collections), so there is no real "encoding". OBJECT ENCODING reports what Redis 7.0.15 with
default settings would hold for the same value, because clients and tests look at it:

- string: `int` for a canonical 64-bit integer of at most 20 bytes, `embstr` up to 44 bytes,
  else `raw` (Redis also answers `raw` for a short string grown by APPEND/SETRANGE; we do not
  track that history).
- hash: `listpack` until it has held more than 128 fields or a field or value longer than 64
  bytes, then `hashtable` for good (a one-way flag in the meta record, set where Redis
  converts: `hashed.py`).
- set: `intset` while every member ever added was a canonical integer and it has held at most
  512, then `hashtable` for good (same flag). Redis 7.0 has no listpack sets.
- list: `quicklist` (Redis 7.0 always). zset: `listpack` up to `zset-max-listpack-entries`
  members (128 unless CONFIG SET changes it), else `skiplist` (by size only: member lengths are
  not tracked).

REFCOUNT is 2147483647 for the integers 0..9999 Redis shares, else 1. IDLETIME is 0 (access
times are not tracked; they would make reads write). FREQ answers Redis's error for the default
(non-LFU) maxmemory policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from seshat.kv import errors as E
from seshat.kv import hashed as X
from seshat.kv import layout as L
from seshat.kv.keyspace import KeyspaceView
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import ErrorReply, Reply, SimpleString

_HELP: Final = [
    SimpleString(line.encode())
    for line in (
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    )
]
NO_LFU: Final = ErrorReply(
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take some time to "
    "adjust."
)
SHARED_REFCOUNT: Final = 2147483647  # OBJ_SHARED_REFCOUNT
SHARED_INTEGERS: Final = 10000  # OBJ_SHARED_INTEGERS
ZSET_LISTPACK_ENTRIES_MAX: Final = 128


def _default_zset_entries() -> int:
    return ZSET_LISTPACK_ENTRIES_MAX


zset_listpack_entries: Callable[[], int] = _default_zset_entries
"""This node's `zset-max-listpack-entries` (the server sets it; CONFIG SET changes it): a sorted
set is reported `listpack` up to that many members, as Redis creates it under that setting
(Redis's tests set it to 0 to see `skiplist`). Only what OBJECT ENCODING answers depends on it."""
EMBSTR_BYTES_MAX: Final = 44

_ARITY: Final = {b"encoding": 3, b"refcount": 3, b"idletime": 3, b"freq": 3, b"help": 2}


def read_object(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    sub = argv[1].lower()
    arity = _ARITY.get(sub)
    if arity is None:
        return E.unknown_subcommand(argv[1], "OBJECT")
    if len(argv) != arity:
        return E.wrong_arity(b"object|" + sub)
    if sub == b"help":
        return list(_HELP)
    rec = view.record(db, argv[2], now_ms)
    if rec is None:
        return None
    if sub == b"encoding":
        return encoding(rec)
    if sub == b"refcount":
        return SHARED_REFCOUNT if _shared_integer(rec) else 1
    if sub == b"idletime":
        return 0
    return NO_LFU


def _string_int(value: bytes) -> int | None:
    if len(value) > 20:
        return None
    n = parse_int(value)
    return n if n is not None and str(n).encode() == value else None


def _shared_integer(rec: bytes) -> bool:
    if rec[0] != L.TYPE_STRING:
        return False
    n = _string_int(rec[L.RECORD_HEADER_BYTES :])
    return n is not None and 0 <= n < SHARED_INTEGERS


def encoding(rec: bytes) -> bytes:
    kind = rec[0]
    if kind == L.TYPE_STRING:
        value = rec[L.RECORD_HEADER_BYTES :]
        if _string_int(value) is not None:
            return b"int"
        return b"embstr" if len(value) <= EMBSTR_BYTES_MAX else b"raw"
    extra = rec[L.COLLECTION_HEADER_BYTES :]
    if kind == L.TYPE_HASH:
        return b"listpack" if extra[:1] == X.COMPACT else b"hashtable"
    if kind == L.TYPE_SET:
        return b"intset" if extra[:1] == X.COMPACT else b"hashtable"
    if kind == L.TYPE_LIST:
        return b"quicklist"
    if kind == L.TYPE_STREAM:
        return b"stream"
    assert kind == L.TYPE_ZSET, kind
    return b"listpack" if L.record_size(rec) <= zset_listpack_entries() else b"skiplist"
