"""The Operation codec: the bytes a leader proposes through Raft and every replica applies.

An Operation is a deterministic rewrite of a client command, as Redis propagates to replicas:
relative times become absolute (`SET k v EX 10` -> `SET k v PXAT <abs>`, `EXPIRE k 10` ->
`PEXPIREAT k <abs>`), and the leader's clock reading `now_ms` travels with it, so lazy-expiry
decisions inside apply are the same on every replica. `db` is the client's logical DB index.

A second kind carries the leader's active-expiry deletions: `(slot, key)` pairs the leader found
expired at `now_ms`; apply re-checks each one against `now_ms`, so a key rewritten between the
proposal and the apply is left alone.

A third kind is the leader's collection garbage collection: apply deletes up to `limit`
sub-entries of dead (tombstoned) collection versions, oldest first, and drops each tombstone
whose entries are all gone. It carries no keys: what to delete is read from the replicated
state, so every replica deletes the same entries (see `seshat/kv/gc.py`).

A fourth kind is a MULTI/EXEC transaction: the queued commands (each with the logical DB it was
queued in, so SELECT inside MULTI works) applied in one entry, atomically, after checking the
WATCHed keys; apply answers the array of per-command replies, or `NullArray` when a watched key
changed (see `seshat/kv/transactions.py`).

Wire form (msgpack, bin type for bytes):

    [0, now_ms, db, [argv...]]          a command
    [0, now_ms, db, [argv...], user]    a restricted ACL user's EVAL/EVALSHA/FCALL
    [1, now_ms, [[slot, key], ...]]     active expiry
    [2, now_ms, limit]                  collection GC
    [3, now_ms, [[db, [argv...]], ...], [[db, key, watch_index, existed], ...]]   EXEC
    [3, now_ms, [...], [...], user]     EXEC of a restricted ACL user
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import msgpack

KIND_COMMAND: Final = 0
KIND_EXPIRE: Final = 1
KIND_GC: Final = 2
KIND_EXEC: Final = 3


@dataclass(frozen=True, slots=True)
class CommandOp:
    now_ms: int
    db: int
    argv: list[bytes]


@dataclass(frozen=True, slots=True)
class ExpireOp:
    now_ms: int
    keys: list[tuple[int, bytes]]


@dataclass(frozen=True, slots=True)
class GcOp:
    now_ms: int
    limit: int


@dataclass(frozen=True, slots=True)
class Watched:
    """A WATCHed key: `index` is the applied index when WATCH read it, `existed` whether it was
    live then."""

    db: int
    key: bytes
    index: int
    existed: bool


@dataclass(frozen=True, slots=True)
class ExecOp:
    now_ms: int
    commands: list[tuple[int, list[bytes]]]
    watched: list[Watched]


Operation = CommandOp | ExpireOp | GcOp | ExecOp


def encode_command(now_ms: int, db: int, argv: list[bytes]) -> bytes:
    """The hot path: no dataclass, one packb."""
    data: bytes = msgpack.packb((KIND_COMMAND, now_ms, db, argv), use_bin_type=True)
    return data


def encode_command_as(now_ms: int, db: int, argv: list[bytes], user: bytes) -> bytes:
    """A restricted ACL user's script (EVAL, EVALSHA, FCALL): the command and the user's name,
    as a fifth field, so every replica checks the script's calls for that user
    (`seshat/kv/script_user.py`). Other entries never carry it."""
    data: bytes = msgpack.packb((KIND_COMMAND, now_ms, db, argv, user), use_bin_type=True)
    return data


def encode_expire(now_ms: int, keys: list[tuple[int, bytes]]) -> bytes:
    data: bytes = msgpack.packb(
        (KIND_EXPIRE, now_ms, [[slot, key] for slot, key in keys]), use_bin_type=True
    )
    return data


def encode_gc(now_ms: int, limit: int) -> bytes:
    data: bytes = msgpack.packb((KIND_GC, now_ms, limit), use_bin_type=True)
    return data


def _exec_fields(
    now_ms: int, commands: list[tuple[int, list[bytes]]], watched: list[Watched]
) -> list[Any]:
    return [
        KIND_EXEC,
        now_ms,
        [[db, argv] for db, argv in commands],
        [[w.db, w.key, w.index, w.existed] for w in watched],
    ]


def encode_exec(
    now_ms: int, commands: list[tuple[int, list[bytes]]], watched: list[Watched]
) -> bytes:
    data: bytes = msgpack.packb(_exec_fields(now_ms, commands, watched), use_bin_type=True)
    return data


def encode_exec_as(
    now_ms: int, commands: list[tuple[int, list[bytes]]], watched: list[Watched], user: bytes
) -> bytes:
    """EXEC of a restricted ACL user: the user's name as a fifth field (scripts inside)."""
    fields = _exec_fields(now_ms, commands, watched)
    fields.append(user)
    data: bytes = msgpack.packb(fields, use_bin_type=True)
    return data


def encode(op: Operation) -> bytes:
    if isinstance(op, ExecOp):
        return encode_exec(op.now_ms, op.commands, op.watched)
    if isinstance(op, CommandOp):
        return encode_command(op.now_ms, op.db, op.argv)
    if isinstance(op, GcOp):
        return encode_gc(op.now_ms, op.limit)
    return encode_expire(op.now_ms, op.keys)


def decode(data: bytes) -> Operation:
    """Inverse of `encode`; a malformed entry is a bug (it passed through our own encoder)."""
    fields = msgpack.unpackb(data, raw=False, use_list=True)
    kind = fields[0]
    if kind == KIND_COMMAND:
        _, now_ms, db, argv = fields[:4]  # a fifth field names a restricted ACL user
        return CommandOp(now_ms, db, argv)
    if kind == KIND_GC:
        _, now_ms, limit = fields
        return GcOp(now_ms, limit)
    if kind == KIND_EXEC:
        _, now_ms, commands, watched = fields[:4]
        return ExecOp(
            now_ms,
            [(db, argv) for db, argv in commands],
            [Watched(db, key, index, existed) for db, key, index, existed in watched],
        )
    assert kind == KIND_EXPIRE, fields
    _, now_ms, keys = fields
    return ExpireOp(now_ms, [(slot, key) for slot, key in keys])
