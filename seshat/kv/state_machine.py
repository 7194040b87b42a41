"""The deterministic state machine every replica runs over the committed log.

`apply_batch` turns committed entries into keyspace changes and client replies. It is a pure
function of the stored state and the entries: no wall clock (lazy expiry inside apply uses each
operation's leader timestamp), no randomness, nothing that depends on dict order. All effects of
one call and the new applied index go to RocksDB in one unsynced `WriteBatch`, so a crash never
separates data from the applied index; after a restart the driver replays from
`applied_index() + 1` (entries at or below it are skipped, so replaying more is harmless).

A command whose apply raises one of Python's errors of logic (an IndexError on arguments a
prepare step should have refused, say) is refused, not fatal: every replica runs the same
code over the same state and entry, so every replica refuses it alike, and the batch is
applied again without it so nothing it half-wrote stays. Anything else (RocksDB's I/O
errors, MemoryError) may differ from one replica to the next and still stops the node.

The state machine also owns the DB map (logical DB -> slot, changed by SWAPDB) and hands the
committed view to reads.
"""

from __future__ import annotations

import hashlib
import struct
from time import perf_counter_ns
from typing import Any, Final

import msgpack
from lupa.lua51 import LuaError  # type: ignore[import-untyped]

from seshat import logs
from seshat.kv import layout as L
from seshat.kv import script_user
from seshat.kv.commands import lookup
from seshat.kv.gc import apply_gc
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.operation import KIND_COMMAND, KIND_EXEC, KIND_GC
from seshat.kv.transactions import apply_exec
from seshat.protocol.replies import ErrorReply, Reply
from seshat.storage.engine import KV_DATA, METADATA, TOMBSTONES, Engine

_IDENTITY_MAP: Final = list(range(L.DB_COUNT))

LOGIC_ERRORS: Final = (
    ArithmeticError, AssertionError, AttributeError, LookupError, TypeError, ValueError,
    struct.error, LuaError,
)  # fmt: skip
"""What a bug in a command's apply raises, the same on every replica (see the docstring):
a Lua error that escaped the script layer included (its memory limit is Lua's own count,
the same everywhere, and the script layer answers it). rocksdict raises a plain `Exception`
for I/O failures, which is none of these."""

log = logs.get("seshat.kv")


class _EntryRefused(Exception):
    def __init__(self, index: int, reply: ErrorReply) -> None:
        super().__init__(index)
        self.index = index
        self.reply = reply


def stored_db_map(engine: Engine) -> list[int]:
    """Which storage slot holds each logical DB (SWAPDB swaps entries), as last committed."""
    raw_map = engine.get(METADATA, L.DB_MAP_KEY)
    db_map = list(raw_map) if raw_map is not None else list(_IDENTITY_MAP)
    assert sorted(db_map) == _IDENTITY_MAP, db_map
    return db_map


class StateMachine:
    """Applies committed entries to the keyspace in `engine`; see the module docstring."""

    __slots__ = (
        "_applied", "db_map", "engine", "last_acl_changed", "last_events", "last_expired",
        "last_flushed", "last_script_reads", "last_slow", "last_touched", "notify_classes",
        "slow_ns", "view",
    )  # fmt: skip

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db_map: list[int] = stored_db_map(engine)
        self._applied = L.decode_u64(engine.get(METADATA, L.APPLIED_INDEX_KEY))
        self.view = KeyspaceView(engine, self.db_map)
        # What the last `apply_batch` modified, for waking blocked clients (BLPOP):
        # (slot, key) pairs, and whether a FLUSHDB/FLUSHALL/SWAPDB ran.
        self.last_touched: dict[tuple[int, bytes], int] = {}
        self.last_flushed = False
        self.last_acl_changed: list[bytes] = []  # users the last batch changed (seshat/acl)
        # Keyspace notifications: the classes to record (`notify.emitted_classes` of this
        # node's config; 0 records none) and what the last batch recorded, `(event, db, key)`.
        self.notify_classes = 0
        self.last_events: list[tuple[bytes, int, bytes]] = []
        self.last_expired: list[tuple[int, bytes]] = []  # keys the last batch expired
        self.last_script_reads: list[int] = []  # its entries whose script read (tracking)
        # SLOWLOG and LATENCY (seshat/command_timing.py): entries whose apply took at least
        # `slow_ns` (0: none is timed), as `(data, duration_ns)`. Timing is not state.
        self.slow_ns = 0
        self.last_slow: list[tuple[bytes, int]] = []

    def applied_index(self) -> int:
        return self._applied

    def apply_batch(self, entries: list[tuple[int, bytes]]) -> list[Reply]:
        """Apply `(index, data)` entries in index order; one reply per entry.

        Empty `data` is a Raft no-op: it only advances the applied index (reply None).
        """
        if not entries:
            return []
        refused: dict[int, ErrorReply] = {}
        while True:  # once more per refused entry, which is rare: a bug, logged
            try:
                return self._apply_batch(entries, refused)
            except _EntryRefused as refusal:
                refused[refusal.index] = refusal.reply

    def _apply_batch(
        self, entries: list[tuple[int, bytes]], refused: dict[int, ErrorReply]
    ) -> list[Reply]:
        writer = KeyspaceWriter(self.engine, self.db_map, self.notify_classes)
        replies: list[Reply] = []
        slow_ns = self.slow_ns
        slow: list[tuple[bytes, int]] = []
        applied = self._applied
        for index, data in entries:
            if index <= applied:
                replies.append(None)  # already applied before a restart
                continue
            assert index == applied + 1, (applied, index)
            applied = index
            writer.begin_entry(index)
            if not data:
                replies.append(None)
            elif refused and index in refused:
                replies.append(refused[index])
            elif slow_ns:
                started = perf_counter_ns()
                replies.append(_apply_guarded(writer, index, data))
                took = perf_counter_ns() - started
                if took >= slow_ns:
                    slow.append((data, took))
            else:
                replies.append(_apply_guarded(writer, index, data))
        if applied != self._applied:
            writer.commit(applied, self.db_map)
            self._applied = applied
        self.last_touched = writer.touched
        self.last_flushed = writer.flushed
        self.last_acl_changed = writer.acl_changed
        self.last_events = writer.events
        self.last_expired = writer.expired
        self.last_script_reads = writer.script_reads
        self.last_slow = slow
        return replies

    def checksum(self) -> int:
        """A digest of the whole keyspace and its bookkeeping, for replica convergence tests."""
        h = hashlib.blake2b(digest_size=8)
        for key, value in self.engine.iterate(KV_DATA, b"", None):
            h.update(len(key).to_bytes(4, "big") + key + len(value).to_bytes(4, "big") + value)
        for key, value in self.engine.iterate(TOMBSTONES, b"", None):
            h.update(len(key).to_bytes(4, "big") + key + len(value).to_bytes(4, "big") + value)
        h.update(bytes(self.db_map))
        for slot in range(L.DB_COUNT):
            h.update(
                L.decode_u64(self.engine.get(METADATA, L.db_size_key(slot))).to_bytes(8, "big")
            )
        return int.from_bytes(h.digest(), "big")


def _apply_guarded(writer: KeyspaceWriter, index: int, data: bytes) -> Reply:
    try:
        return _apply_one(writer, data)
    except LOGIC_ERRORS as error:
        name = _command_name(data)
        log.error("apply_refused", index=index, command=name, exc_info=error)
        raise _EntryRefused(
            index,
            ErrorReply(
                f"ERR internal error in '{name}' ({type(error).__name__}): the command was "
                "refused and changed nothing; please report it with the server's log"
            ),
        ) from error


def _command_name(data: bytes) -> str:
    """The refused entry's command name, for its error reply and log line."""
    try:
        fields = msgpack.unpackb(data, raw=False, use_list=True)
        if fields[0] == KIND_COMMAND:
            return bytes(fields[3][0]).decode("utf-8", "replace").lower()
        return {KIND_EXEC: "exec", KIND_GC: "gc"}.get(fields[0], "expire")
    except Exception:  # noqa: BLE001 (only a name for a message)
        return "?"


def _apply_one(writer: KeyspaceWriter, data: bytes) -> Reply:
    fields = msgpack.unpackb(data, raw=False, use_list=True)
    if len(fields) == 5:  # a restricted ACL user's script or EXEC (seshat/kv/script_user.py)
        script_user.set_running(fields.pop())
        try:
            return _apply_one_fields(writer, fields)
        finally:
            script_user.set_running(None)
    return _apply_one_fields(writer, fields)


def _apply_one_fields(writer: KeyspaceWriter, fields: list[Any]) -> Reply:
    if fields[0] == KIND_COMMAND:
        _, now_ms, db, argv = fields
        spec = lookup(argv[0])
        assert spec is not None and spec.apply is not None, argv[0]
        return spec.apply(writer, now_ms, db, argv)
    if fields[0] == KIND_GC:
        return apply_gc(writer, fields[2])
    if fields[0] == KIND_EXEC:
        _, now_ms, commands, watched = fields
        return apply_exec(writer, now_ms, commands, watched)
    _, now_ms, keys = fields
    for slot, key in keys:
        writer.expire_slot_key(slot, key, now_ms)
    return len(keys)
