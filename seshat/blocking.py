"""Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, BLMPOP, BZMPOP) on
the leader.

The state machine only knows the non-blocking core of these commands: applied, they pop if they
can and answer `NullArray` if every key is empty (`seshat/kv/lists.py`). Blocking is this
module's job, on the node that proposed the command (the leader):

1. propose the command; if its apply answers anything but `NullArray`, that is the reply;
2. otherwise park it on its keys until a committed entry modifies one of them
   (`notify`, called by the applier after each batch with the keys the batch modified, as
   `StateMachine.last_touched`; FLUSHDB/FLUSHALL/SWAPDB wake everyone), then propose it again
   with a fresh timestamp;
3. at the timeout, answer `NullArray` (`*-1` in RESP2, `_` in RESP3), as Redis.

Order: waiters woken by one batch are re-proposed in the order they first blocked, so the log
serves the oldest first (Redis serves clients blocked on a key FIFO). A waiter whose attempt is
still in the log when a batch touches its keys is marked and retried as soon as the attempt
comes back empty, so no wake-up is lost between an attempt and its apply. An attempt that finds
nothing modifies nothing, so retries cannot wake each other forever.

A key that changes type under a waiter (`MULTI; LPUSH k a; DEL k; SET k foo; EXEC`) wakes it,
and its retry answers WRONGTYPE. Redis 7.0 serves a woken client only from a key of the type it
waits for, so that is not a reply: the waiter stays parked, as in Redis. Only a BLMOVE or
BRPOPLPUSH whose destination has the wrong type answers it, as Redis does (its apply returns
`lists.DESTINATION_WRONGTYPE`, an object of its own, so the two are told apart). An XREADGROUP
whose stream was deleted, replaced or flushed is unblocked with Redis's `UNBLOCKED the stream
key no longer exists`, and one whose group went away with `NOGROUP the consumer group this
client was blocked on no longer exists`.

What stays unlike Redis: a waiter on several keys of which one changed type is retried with
all of them and answered nothing until that key changes again (Redis would serve it from the
others); another client's LPOP proposed while a woken waiter's retry is in flight
may take the element first (Redis hands it to the blocked client inside the push); and a client
killed while its retry is in the log may lose the element that retry pops (as with any write in
flight when a client goes away). A node that stops being leader fails its waiters with
`-CLUSTERDOWN` so clients retry against the new leader.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

from seshat.kv import layout as L
from seshat.kv import waits
from seshat.kv.lists import DESTINATION_WRONGTYPE
from seshat.kv.operation import CommandOp, decode
from seshat.kv.service import Session, Write
from seshat.protocol.replies import NULL_ARRAY, ErrorReply, NullArray, Reply
from seshat.raft.core import ProposalDropped
from seshat.raft.node import Completion

if TYPE_CHECKING:
    from seshat.server import Server

WAITERS_MAX = 100_000  # parked clients per node; past it a blocking command fails at once
TOO_MANY_WAITERS = ErrorReply("ERR too many blocked clients; retry later")
STREAM_GONE = ErrorReply("UNBLOCKED the stream key no longer exists")
GROUP_GONE = ErrorReply("NOGROUP the consumer group this client was blocked on no longer exists")


class _Waiter:
    __slots__ = (
        "argv", "attempts", "db", "final", "in_flight", "keys", "owner", "rewake", "seq",
        "timed_out", "timeout_reply", "timer",
    )  # fmt: skip

    def __init__(self, seq: int, argv: list[bytes], db: int, owner: object) -> None:
        self.seq = seq
        self.argv = argv
        self.db = db
        self.owner = owner
        self.keys = waits.keys(argv)
        self.final = Completion()
        self.in_flight = False
        self.attempts = 0
        self.rewake = False
        self.timed_out = False
        self.timeout_reply: Reply = NULL_ARRAY  # CLIENT UNBLOCK ... ERROR sets its error
        self.timer: asyncio.TimerHandle | None = None


class Blocking:
    """The blocked clients of one node, indexed by key; see the module docstring."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._seq = itertools.count(1)
        self._by_key: dict[bytes, dict[int, _Waiter]] = {}
        self._waiters: dict[int, _Waiter] = {}

    def __len__(self) -> int:
        return len(self._waiters)

    def parked(self) -> int:
        """Waiters blocked on their keys (not in the middle of an attempt): INFO's
        `blocked_clients`, which tests poll to know a client is really waiting."""
        return sum(1 for waiter in self._waiters.values() if not waiter.in_flight)

    def start(
        self, argv: list[bytes], db: int, owner: object, data: bytes | None = None
    ) -> Completion:
        """Run a blocking pop to its final reply (the returned completion's result)."""
        if data is not None:
            # Retries re-propose the command as first proposed (XREAD's `$` already pinned).
            op = decode(data)
            if isinstance(op, CommandOp):
                argv = op.argv
        waiter = _Waiter(next(self._seq), argv, db, owner)
        if len(self._waiters) >= WAITERS_MAX:
            waiter.final.set_result(TOO_MANY_WAITERS)
            return waiter.final
        timeout_ms = waits.timeout_ms(argv)
        self._waiters[waiter.seq] = waiter
        for key in waiter.keys:
            self._by_key.setdefault(key, {})[waiter.seq] = waiter
        if timeout_ms:
            loop = asyncio.get_running_loop()
            waiter.timer = loop.call_later(timeout_ms / 1000, self._on_timeout, waiter)
        self._attempt(waiter, data)
        return waiter.final

    def notify(self, touched: dict[tuple[int, bytes], Any], flushed: bool) -> None:
        """After an apply batch: retry the waiters whose keys it modified, oldest first."""
        if not self._waiters:
            return
        if flushed:
            woken = list(self._waiters.values())
        else:
            db_map = self.server.state_machine.db_map
            found: dict[int, _Waiter] = {}
            by_key = self._by_key
            for slot, key in touched:
                for waiter in by_key.get(key, {}).values():
                    if db_map[waiter.db] == slot:
                        found[waiter.seq] = waiter
            woken = [found[seq] for seq in sorted(found)]
        for waiter in woken:
            if waiter.in_flight:
                waiter.rewake = True
            else:
                self._attempt(waiter)

    def cancel(self, owner: object) -> None:
        """The client went away: forget its waiters (an attempt in flight still applies)."""
        for waiter in [w for w in self._waiters.values() if w.owner is owner]:
            self._finish(waiter, None)

    def unblock(self, owner: object, error: Reply | None) -> bool:
        """CLIENT UNBLOCK: end `owner`'s wait now, as if its timeout passed (`error` None) or
        with `error`. An attempt still in the log finishes first: what it pops is the reply."""
        waiters = [w for w in self._waiters.values() if w.owner is owner]
        for waiter in waiters:
            if error is not None:
                waiter.timeout_reply = error
            if waiter.timer is not None:
                waiter.timer.cancel()
            self._on_timeout(waiter)
        return bool(waiters)

    def fail_all(self, reply: Reply) -> None:
        """This node stopped being leader: nothing it proposes will run; let clients retry."""
        for waiter in list(self._waiters.values()):
            self._finish(waiter, reply)

    # ------------------------------------------------------------------ internals

    def _attempt(self, waiter: _Waiter, data: bytes | None = None) -> None:
        server = self.server
        if data is None:
            prepared = server.kv.prepare(Session(waiter.db), waiter.argv)  # a fresh timestamp
            if not isinstance(prepared, Write):
                reply = getattr(prepared, "reply", None)
                if waiter.attempts and isinstance(reply, ErrorReply):  # XREAD pins at prepare
                    reply = self._woken_error(waiter, reply)
                if not isinstance(reply, NullArray):
                    self._finish(waiter, reply)
                return
            data = prepared.data
        try:
            completion = server.node.propose(data)
        except ProposalDropped as dropped:
            self._finish(waiter, server.dropped_reply(dropped))
            return
        waiter.in_flight = True
        waiter.attempts += 1
        waiter.rewake = False
        completion.add_callback(lambda c: self._on_result(waiter, c))

    def _on_result(self, waiter: _Waiter, completion: Completion) -> None:
        waiter.in_flight = False
        if waiter.final.done:
            return
        result = completion.result
        if waiter.attempts > 1 and isinstance(result, ErrorReply):
            result = self._woken_error(waiter, result)
        if completion.error is not None:
            self._finish(waiter, self.server.failure_reply(completion.error))
        elif not isinstance(result, NullArray):
            self._finish(waiter, result)
        elif waiter.timed_out:
            self._finish(waiter, waiter.timeout_reply)
        elif waiter.rewake:
            self._attempt(waiter)
        # else: parked until `notify` or the timeout

    def _woken_error(self, waiter: _Waiter, error: ErrorReply) -> Reply:
        """What a retry's error means to the waiter (see the module docstring): its reply,
        or NULL_ARRAY to wait on."""
        name = waiter.argv[0].lower()
        view = self.server.state_machine.view
        now_ms = self.server.kv.clock_ms()
        if name == b"xreadgroup":
            if not error.message.startswith(("WRONGTYPE", "NOGROUP")):
                return error
            records = view.records(waiter.db, waiter.keys, now_ms)
            if all(rec is not None and rec[0] == L.TYPE_STREAM for rec in records):
                return GROUP_GONE
            return STREAM_GONE
        if not error.message.startswith("WRONGTYPE"):
            return error
        if error is DESTINATION_WRONGTYPE:
            return error  # a BLMOVE's destination holds another type: Redis says so too
        return NULL_ARRAY

    def _on_timeout(self, waiter: _Waiter) -> None:
        waiter.timer = None
        waiter.timed_out = True
        if not waiter.in_flight:
            self._finish(waiter, waiter.timeout_reply)

    def _finish(self, waiter: _Waiter, reply: Reply) -> None:
        if self._waiters.pop(waiter.seq, None) is not None:
            for key in waiter.keys:
                bucket = self._by_key.get(key)
                if bucket is not None:
                    bucket.pop(waiter.seq, None)
                    if not bucket:
                        del self._by_key[key]
        if waiter.timer is not None:
            waiter.timer.cancel()
            waiter.timer = None
        waiter.final.set_result(reply)
