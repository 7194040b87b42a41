"""CLIENT PAUSE / UNPAUSE / UNBLOCK / REPLY: one client steering the flow of others (or its own).

- CLIENT PAUSE timeout [WRITE|ALL] holds this node's client connections for `timeout` ms, as
  Redis 7's `pauseClients`: ALL holds every command (CLIENT UNPAUSE included: only the timeout
  ends an ALL pause, as in Redis); WRITE holds commands flagged `write` or `may_replicate` (EVAL,
  PUBLISH...) and an EXEC whose queue has one, reads go on. A held command waits in its
  connection's queue, so that connection's later commands wait behind it; unknown commands and
  wrong arities are still answered at once. A second PAUSE keeps the stricter mode and the later
  end. It pauses this node's clients only: writes other nodes relay to a leader, and the
  leader's own expiry, go on. The check costs the hot path one attribute test (`mode`).
- CLIENT UNBLOCK id [TIMEOUT|ERROR] ends a blocking pop or a WAIT of another connection now, as
  if its timeout passed, or with Redis's `-UNBLOCKED` error; 1 if that client was blocked.
- CLIENT REPLY ON|OFF|SKIP stops (or skips the next) replies to this connection, for clients
  that fire and forget; `seshat/client.py` drops the silenced replies when it flushes (pub/sub
  messages too, as Redis). Inside MULTI it is accepted and changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

from seshat.kv import errors as E
from seshat.kv.commands import FLAG_BITS, lookup
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import OK, ErrorReply, Reply
from seshat.roles import TIMEOUT_NEGATIVE, TIMEOUT_NOT_INTEGER, unblock_wait

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

PAUSE_NONE: Final = 0
PAUSE_WRITE: Final = 1
PAUSE_ALL: Final = 2
_F_HELD_BY_WRITE_PAUSE: Final = FLAG_BITS["write"] | FLAG_BITS["may_replicate"]
PAUSE_MODE_ERROR: Final = ErrorReply("ERR CLIENT PAUSE mode must be WRITE or ALL")
UNBLOCK_REASON_ERROR: Final = ErrorReply("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
UNBLOCKED: Final = ErrorReply("UNBLOCKED client unblocked via CLIENT UNBLOCK")


class ClientPause:
    """This node's client pause: its mode, its end, and the connections it holds."""

    __slots__ = ("_held", "_timer", "end_s", "mode")

    def __init__(self) -> None:
        self.mode = PAUSE_NONE
        self.end_s = 0.0  # time.monotonic() when it ends
        self._timer: asyncio.TimerHandle | None = None
        self._held: set[ClientConnection] = set()

    def pause(self, mode: int, timeout_ms: int) -> None:
        end_s = time.monotonic() + timeout_ms / 1000
        self.mode = max(self.mode, mode)
        if end_s > self.end_s or self._timer is None:
            self.end_s = max(self.end_s, end_s)
            if self._timer is not None:
                self._timer.cancel()
            delay_s = max(0.0, self.end_s - time.monotonic())
            self._timer = asyncio.get_running_loop().call_later(delay_s, self.unpause)

    def unpause(self) -> None:
        """End the pause; held connections run their queued commands on the next loop turn."""
        self.mode = PAUSE_NONE
        self.end_s = 0.0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held, self._held = self._held, set()
        loop = asyncio.get_running_loop()
        for conn in held:
            loop.call_soon(conn.resume)

    def holds(
        self, conn: ClientConnection, argv: list[bytes], queued: list[list[bytes]] | None
    ) -> bool:
        """While paused: must `argv` (the head of `conn`'s queue) wait? If so, remember `conn`.
        `queued`: the commands of `conn`'s open MULTI, which decide whether EXEC writes."""
        spec = lookup(argv[0])
        if spec is None or not spec.arity_ok(len(argv)):
            return False  # answered with its error at once, as Redis does
        held = self.mode == PAUSE_ALL or bool(spec.flags & _F_HELD_BY_WRITE_PAUSE)
        if not held and spec.name == b"exec" and queued:
            held = any(_writes(q) for q in queued)
        if held:
            self._held.add(conn)
        return held


def _writes(argv: list[bytes]) -> bool:
    spec = lookup(argv[0])
    return spec is not None and bool(spec.flags & _F_HELD_BY_WRITE_PAUSE)


def _parse_timeout_ms(raw: bytes) -> int | ErrorReply:
    timeout_ms = parse_int(raw)
    if timeout_ms is None:
        return TIMEOUT_NOT_INTEGER
    if timeout_ms < 0:
        return TIMEOUT_NEGATIVE
    return timeout_ms


def client_pause(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    if len(argv) > 4:
        return E.subcommand_syntax(argv[1], "CLIENT")
    timeout_ms = _parse_timeout_ms(argv[2])
    if isinstance(timeout_ms, ErrorReply):
        return timeout_ms
    mode = PAUSE_ALL
    if len(argv) == 4:
        word = argv[3].lower()
        if word not in (b"write", b"all"):
            return PAUSE_MODE_ERROR
        mode = PAUSE_WRITE if word == b"write" else PAUSE_ALL
    admin.server.client_pause.pause(mode, timeout_ms)
    return OK


def client_unpause(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    admin.server.client_pause.unpause()
    return OK


def client_unblock(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    if len(argv) > 4:
        return E.subcommand_syntax(argv[1], "CLIENT")
    client_id = parse_int(argv[2])
    if client_id is None:
        return E.NOT_INTEGER
    error: Reply | None = None
    if len(argv) == 4:
        word = argv[3].lower()
        if word not in (b"timeout", b"error"):
            return UNBLOCK_REASON_ERROR
        error = UNBLOCKED if word == b"error" else None
    server = admin.server
    target = server.clients.get(client_id)
    if target is None:
        return 0
    if unblock_wait(server, client_id, error):
        return 1
    return int(server.blocking.unblock(target, error))


def client_reply(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    word = argv[2].lower()
    if word in (b"on", b"off", b"skip") and conn.in_multi_exec:
        return OK  # inside EXEC it changes nothing: EXEC's reply is one array
    if word == b"on":
        conn.set_reply_mode(on=True, skip_next=False)
        return OK
    if word == b"off":
        conn.set_reply_mode(on=False, skip_next=False)
        return OK  # dropped: the connection is silent from this reply on
    if word == b"skip":
        conn.set_reply_mode(on=True, skip_next=True)
        return OK  # dropped too: SKIP's own reply is never sent
    return E.SYNTAX


CLIENT_HANDLERS = {
    b"pause": client_pause,
    b"unpause": client_unpause,
    b"unblock": client_unblock,
    b"reply": client_reply,
}
"""CLIENT subcommands this module answers, for `Admin.client`."""
