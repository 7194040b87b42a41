"""MONITOR: every command this node's clients send, as Redis 7.0 shows it to its monitors.

A line is `<unix time with µs> [<db> <client address>] "arg" "arg" ...`, each argument quoted
as Redis's `sdscatrepr` quotes it, sent as a status reply. Which commands appear follows Redis:
those that reach execution (known, right arity), whatever their outcome, except the ones
flagged admin (CONFIG, SLOWLOG, MONITOR ...); AUTH's and HELLO ... AUTH's secrets show as
"(redacted)"; a transaction shows MULTI, then its queued commands when EXEC runs them, then
EXEC. A monitor on a node sees the commands of that node's clients: a write a follower relays
shows on the follower, where its client sent it, not on the leader. The commands a script runs
show as Redis's `[<db> lua]` lines, when the script runs: scripts run in apply, on every
replica, so a node's monitors see the calls of every replicated script (as a Redis replica's
monitors see what its master sends), whichever node's client sent it. A read-only script
(EVAL_RO, EVALSHA_RO, FCALL_RO) runs at a read point on the node that serves it, outside apply:
that node shows its calls right after it runs (`KVService.after_script_read`); for a read a
follower relays to the leader, that is the leader.

Cost when nobody monitors: one truth test of an empty dict per command.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from seshat.kv import scripts
from seshat.kv.commands import F_ADMIN, lookup, lookup_subcommand
from seshat.protocol.replies import OK, Reply, SimpleString

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

REDACTED: Final = b"(redacted)"
_ESCAPES: Final = {
    ord("\\"): b"\\\\", ord('"'): b'\\"', ord("\n"): b"\\n", ord("\r"): b"\\r",
    ord("\t"): b"\\t", 7: b"\\a", 8: b"\\b",
}  # fmt: skip


def quote(arg: bytes) -> bytes:
    """Redis's `sdscatrepr`: printable bytes as they are, the rest escaped, in double quotes."""
    out = bytearray(b'"')
    for byte in arg:
        escaped = _ESCAPES.get(byte)
        if escaped is not None:
            out += escaped
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    out += b'"'
    return bytes(out)


def shown(argv: list[bytes]) -> bool:
    """Whether Redis shows this command to monitors: known, right arity, not admin."""
    spec = lookup(argv[0])
    if spec is None or not spec.arity_ok(len(argv)):
        return False
    if spec.subcommands and len(argv) > 1:
        sub = lookup_subcommand(spec.name, argv[1])
        if sub is None or not sub.arity_ok(len(argv)):
            return False
        spec = sub
    return not spec.flags & F_ADMIN


def redacted(argv: list[bytes]) -> list[bytes]:
    """AUTH's arguments, and HELLO's after AUTH, as "(redacted)"."""
    name = argv[0].lower()
    if name == b"auth":
        return [argv[0]] + [REDACTED] * (len(argv) - 1)
    if name == b"hello":
        out = list(argv)
        for i in range(2, len(argv) - 2):
            if argv[i].lower() == b"auth":
                out[i + 1] = out[i + 2] = REDACTED
        return out
    return argv


def line(now_s: float, db: int, source: str, argv: list[bytes]) -> bytes:
    head = b"%.6f [%d %s]" % (now_s, db, source.encode())
    return b" ".join([head, *(quote(a) for a in redacted(argv))])


class Monitors:
    """This node's connections in MONITOR mode."""

    def __init__(self) -> None:
        self.conns: dict[int, ClientConnection] = {}

    def feed(self, conn: ClientConnection, db: int, argv: list[bytes]) -> None:
        """Show `conn`'s command (if Redis would) to every monitor."""
        if not shown(argv):
            return
        reply = SimpleString(line(time.time(), db, conn.addr, argv))
        for monitor in list(self.conns.values()):
            monitor.deliver(reply)

    def feed_script_calls(self) -> None:
        """Show the calls the scripts of the last apply made (`scripts.call_log`)."""
        calls = scripts.call_log
        if not calls:
            return
        now = time.time()
        replies = [SimpleString(line(now, db, "lua", argv)) for db, argv in calls if shown(argv)]
        calls.clear()
        for monitor in list(self.conns.values()):
            for reply in replies:
                monitor.deliver(reply)

    def add(self, conn: ClientConnection) -> None:
        self.conns[conn.id] = conn
        if scripts.call_log is None:
            scripts.call_log = []  # scripts now record their calls for us

    def forget(self, conn: ClientConnection) -> None:
        self.conns.pop(conn.id, None)
        if not self.conns:
            scripts.call_log = None


def monitor_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    admin.server.monitors.add(conn)
    return OK


HANDLERS = {b"monitor": monitor_command}
