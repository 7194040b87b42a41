"""MULTI/EXEC/WATCH: what a transaction means on the kv side of the log.

A transaction is one log entry (`operation.KIND_EXEC`): the queued commands, each with the
logical DB it was queued in (SELECT inside MULTI changes the DB of the commands after it), and
the WATCHed keys. Applying it is atomic like every entry: no other entry interleaves, and all its
effects go to the same `WriteBatch`. Writes run their usual apply handler; reads run their read
handler over `WriterView`, so they see the state as of that point in the transaction. A runtime
error (WRONGTYPE, not an integer) is that command's reply and the others still run, as Redis.

WATCH, deterministically. Every apply records, per modified key, the log index of the entry that
modified it (`KeyspaceWriter.touch`, stored as `b"v" + slot + key` in `metadata`, beside the data
in the same batch, so restarts and snapshots keep it). WATCH runs after a linearizable read point
and remembers `(db, key, index, existed)`: `index` is the applied index then (every modification
it could see has an index <= it), `existed` whether the key was live. The EXEC entry carries that
list; apply aborts (`NullArray`) when, at that point of the log:

- the key's version is above `index`: some entry modified it after WATCH (SET, DEL, a push, a
  RENAME onto it, a FLUSHDB/FLUSHALL that found it: these go through `put`/`delete`, or a flush
  that deleted it, which the existence test below catches);
- it is live now but was not then, or the reverse: created, deleted (FLUSH included) or expired
  since WATCH. Expiry is not a modification by itself (Redis 7.0: deleting a key that was already
  expired when WATCHed does not abort), but a key that was live at WATCH and is expired at the
  EXEC's timestamp aborts, as Redis 7.0's `isWatchedKeyExpired`;
- its DB took part in a SWAPDB after `index` and the key exists on either side (Redis's
  `touchAllWatchedKeysInDb`).

Because the check runs inside apply against replicated state, every replica decides the same,
and an EXEC relayed from a follower (which watched on its own state, at its own read point:
log indexes are the same on every replica) is checked on the leader like a local one.
"""

from __future__ import annotations

from typing import Any, Final, cast

from seshat.kv.commands import WRITE, lookup
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter, WriterView
from seshat.kv.operation import Watched
from seshat.protocol.replies import NULL_ARRAY, ErrorReply, Reply

EXECABORT: Final = ErrorReply("EXECABORT Transaction discarded because of previous errors.")
MULTI_NESTED: Final = ErrorReply("ERR MULTI calls can not be nested")
EXEC_WITHOUT_MULTI: Final = ErrorReply("ERR EXEC without MULTI")
DISCARD_WITHOUT_MULTI: Final = ErrorReply("ERR DISCARD without MULTI")
WATCH_INSIDE_MULTI: Final = ErrorReply("ERR WATCH inside MULTI is not allowed")
NOT_IN_TRANSACTION: Final = ErrorReply("ERR this command is not allowed inside a transaction")
QUEUED_COMMANDS_MAX: Final = 100_000  # bounds one EXEC entry; Redis has no limit but memory

_NULL_BULK_IN_MULTI: Final = frozenset({b"blmove", b"brpoplpush"})
# The commands a connection handles itself around MULTI (never queued).
TRANSACTION_COMMANDS: Final = frozenset({b"multi", b"exec", b"discard", b"watch", b"unwatch"})


def watch_keys(
    view: KeyspaceView, applied_index: int, now_ms: int, db: int, keys: list[bytes]
) -> list[Watched]:
    """What WATCH remembers; call at a linearizable read point, with the applied index then."""
    return [
        Watched(db, key, applied_index, rec is not None)
        for key, rec in zip(keys, view.records(db, keys, now_ms), strict=True)
    ]


def rewrite(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    """A queued command as it goes into the EXEC entry: writes get their `prepare` rewrite
    (relative times made absolute with the EXEC's timestamp, as Redis runs them at EXEC)."""
    spec = lookup(argv[0])
    assert spec is not None, argv[:1]
    if spec.kind is WRITE and spec.prepare is not None:
        return spec.prepare(argv, now_ms)
    return argv


def build(
    now_ms: int, plan: list[tuple[int, list[bytes]] | Reply]
) -> tuple[list[tuple[int, list[bytes]]], list[Reply | None]]:
    """Split a transaction plan into the commands of the EXEC entry and the replies known
    before it (connection commands, SELECT, and writes whose rewrite failed): `fixed[i]` is
    the reply of plan item `i`, or None when it comes from the entry, in order."""
    commands: list[tuple[int, list[bytes]]] = []
    fixed: list[Reply | None] = []
    for item in plan:
        if isinstance(item, tuple):
            db, argv = item
            rewritten = rewrite(argv, now_ms)
            if isinstance(rewritten, ErrorReply):
                fixed.append(rewritten)
                continue
            commands.append((db, rewritten))
            fixed.append(None)
        else:
            fixed.append(item)
    return commands, fixed


def splice(result: Reply, fixed: list[Reply | None]) -> Reply:
    """The EXEC reply: the entry's per-command replies merged with the fixed ones."""
    if not isinstance(result, list):
        return result  # NullArray (a watched key changed) or an error from the log
    replies = iter(result)
    return [next(replies) if r is None else r for r in fixed]


def apply_exec(
    w: KeyspaceWriter, now_ms: int, commands: list[list[Any]], watched: list[list[Any]]
) -> Reply:
    """Apply one EXEC entry (see the module docstring)."""
    for db, key, index, existed in watched:
        if _changed(w, now_ms, db, key, index, existed):
            return NULL_ARRAY
    view: KeyspaceView | None = None
    out: list[Reply] = []
    for db, argv in commands:
        spec = lookup(argv[0])
        assert spec is not None, argv[:1]
        if spec.apply is not None:
            reply = spec.apply(w, now_ms, db, argv)
            if reply is NULL_ARRAY and spec.name in _NULL_BULK_IN_MULTI:
                reply = None  # run as LMOVE/RPOPLPUSH inside MULTI (Redis), not timed out
            out.append(reply)
            continue
        assert spec.read is not None, argv[:1]
        if view is None:
            view = cast(KeyspaceView, WriterView(w))
        out.append(spec.read(view, now_ms, db, argv))
    return out


def _changed(
    w: KeyspaceWriter, now_ms: int, db: int, key: bytes, index: int, existed: bool
) -> bool:
    if w.version(db, key) > index:
        return True
    live = w.peek(db, key, now_ms) is not None
    if live != existed:
        return True
    return live and w.swapped_at(db) > index
