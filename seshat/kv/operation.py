"""The Operation codec: the bytes a leader proposes through Raft and every replica applies.

An Operation is a deterministic rewrite of a client command, as Redis propagates to replicas:
relative times become absolute (`SET k v EX 10` -> `SET k v PXAT <abs>`, `EXPIRE k 10` ->
`PEXPIREAT k <abs>`), and the leader's clock reading `now_ms` travels with it, so lazy-expiry
decisions inside apply are the same on every replica. `db` is the client's logical DB index.

A second kind carries the leader's active-expiry deletions: `(slot, key)` pairs the leader found
expired at `now_ms`; apply re-checks each one against `now_ms`, so a key rewritten between the
proposal and the apply is left alone.

Wire form (msgpack, bin type for bytes):

    [0, now_ms, db, [argv...]]          a command
    [1, now_ms, [[slot, key], ...]]     active expiry
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import msgpack

KIND_COMMAND: Final = 0
KIND_EXPIRE: Final = 1


@dataclass(frozen=True, slots=True)
class CommandOp:
    now_ms: int
    db: int
    argv: list[bytes]


@dataclass(frozen=True, slots=True)
class ExpireOp:
    now_ms: int
    keys: list[tuple[int, bytes]]


Operation = CommandOp | ExpireOp


def encode_command(now_ms: int, db: int, argv: list[bytes]) -> bytes:
    """The hot path: no dataclass, one packb."""
    data: bytes = msgpack.packb((KIND_COMMAND, now_ms, db, argv), use_bin_type=True)
    return data


def encode_expire(now_ms: int, keys: list[tuple[int, bytes]]) -> bytes:
    data: bytes = msgpack.packb(
        (KIND_EXPIRE, now_ms, [[slot, key] for slot, key in keys]), use_bin_type=True
    )
    return data


def encode(op: Operation) -> bytes:
    if isinstance(op, CommandOp):
        return encode_command(op.now_ms, op.db, op.argv)
    return encode_expire(op.now_ms, op.keys)


def decode(data: bytes) -> Operation:
    """Inverse of `encode`; a malformed entry is a bug (it passed through our own encoder)."""
    fields = msgpack.unpackb(data, raw=False, use_list=True)
    kind = fields[0]
    if kind == KIND_COMMAND:
        _, now_ms, db, argv = fields
        return CommandOp(now_ms, db, argv)
    assert kind == KIND_EXPIRE, fields
    _, now_ms, keys = fields
    return ExpireOp(now_ms, [(slot, key) for slot, key in keys])
