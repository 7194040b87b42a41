"""How long each command takes, and who is told: SLOWLOG, the latency monitor, the histograms.

The client connection (`seshat/client.py`) reads `perf_counter_ns()` when it starts a command
and again when this node's work on it is done, and passes the difference on only if it passes
`floor_ns`: below it, the hot path costs the two clock reads, a subtraction and a comparison,
and allocates nothing. `floor_ns` is the smallest duration anybody wants to hear about; with
`latency-tracking` on (Redis's default) every command is counted in its histogram, so it is
-1, and the client counts a fast command in its histogram itself (one dict probe, one
increment) and calls `observe` only for the rest.

What is timed is this node's work, as Redis times a command's execution and not its I/O (its
AOF fsync, its replicas): a read or a server command while it runs (a read that waited for its
ReadIndex point, from when it finally runs), a write while the node prepares and proposes it.
The wait for the quorum's fsyncs is not counted: under load every write would wait more than
SLOWLOG's 10 ms and fill it (a first version did, at 4 % of the CPU of a pipelined SET). The
apply of a write is not counted either; a slow script shows in the client's latency, not here.
Blocking pops and WAIT are not timed: their time is waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING

from seshat.kv import errors as E
from seshat.kv.commands import FLAG_BITS, lookup
from seshat.kv.numbers import parse_int
from seshat.kv.operation import CommandOp, ExecOp, decode
from seshat.latency import LatencyMonitor
from seshat.protocol.replies import ErrorReply
from seshat.slowlog import SlowLog

if TYPE_CHECKING:
    from seshat.client import ClientConnection

_F_FAST = FLAG_BITS["fast"]
_F_SKIP_SLOWLOG = FLAG_BITS["skip_slowlog"]
_NEVER = 1 << 62  # a floor no command reaches: nothing wants to hear


class CommandTiming:
    __slots__ = ("apply_floor_ns", "floor_ns", "latency", "notify_ns", "slowlog")

    def __init__(self, slowlog: SlowLog, latency: LatencyMonitor) -> None:
        self.slowlog = slowlog
        self.latency = latency
        self.floor_ns = -1
        self.notify_ns = -1  # the shortest duration SLOWLOG or the latency monitor wants
        self.apply_floor_ns = 0  # the state machine times applies from this long (0: none)
        self.refresh()

    def refresh(self) -> None:
        """Recompute `floor_ns` and `notify_ns`; call after any of the four settings changes."""
        notify = _NEVER
        if self.slowlog.log_slower_than_us >= 0:
            notify = min(notify, self.slowlog.log_slower_than_us * 1000)
        if self.latency.threshold_ms > 0:
            notify = min(notify, self.latency.threshold_ms * 1_000_000)
        self.notify_ns = notify
        self.floor_ns = -1 if self.latency.tracking else notify - 1
        self.apply_floor_ns = notify if notify < _NEVER else 0

    def observe_since(self, conn: ClientConnection, argv: list[bytes], started_ns: int) -> None:
        """`observe` a command that started at `started_ns` (perf_counter_ns) and ends now, if
        anybody wants to hear of that long: the client's off-loop paths (a deferred read, a
        transaction command); its main loop inlines this."""
        elapsed = perf_counter_ns() - started_ns
        if elapsed > self.floor_ns:
            self.observe(conn, argv, elapsed)

    def observe(
        self, conn: ClientConnection, argv: list[bytes], duration_ns: int, logged: bool = True
    ) -> None:
        """One command of `conn` took `duration_ns` from start to reply; `logged`: it may
        reach SLOWLOG and LATENCY (a blocking command that timed out does not, as in Redis)."""
        latency = self.latency
        if latency.tracking:  # the client counts the common case itself (seshat/client.py)
            latency.count(argv, duration_ns)
        if not logged or duration_ns < self.notify_ns:
            return
        duration_us = duration_ns // 1000
        slower_than_us = self.slowlog.log_slower_than_us
        slow = slower_than_us >= 0 and duration_us >= slower_than_us
        threshold_ms = latency.threshold_ms
        spike = threshold_ms > 0 and duration_us // 1000 >= threshold_ms
        if not (slow or spike):
            return
        spec = lookup(argv[0])
        if spec is None:
            return  # Redis logs only commands it ran: an unknown one never did
        if slow and not spec.flags & _F_SKIP_SLOWLOG:
            self.slowlog.push(argv, duration_us, conn.addr, conn.name)
        if spike:
            latency.add_sample(bool(spec.flags & _F_FAST), duration_us // 1000)

    def observe_applied(self, slow: list[tuple[bytes, int]]) -> None:
        """Log entries whose apply was slow (a long script, a big SORT ... STORE, a DEL of a
        huge key): by the command, with no client (apply does not know which one sent it;
        on a follower, none of its clients did)."""
        for data, duration_ns in slow:
            op = decode(data)
            if isinstance(op, CommandOp):
                argv = op.argv
            elif isinstance(op, ExecOp):
                argv = [b"EXEC"]
            else:
                continue  # expiry and GC are the node's own work, not a command
            spec = lookup(argv[0])
            if spec is None:
                continue
            duration_us = duration_ns // 1000
            slower_than_us = self.slowlog.log_slower_than_us
            if 0 <= slower_than_us <= duration_us and not spec.flags & _F_SKIP_SLOWLOG:
                self.slowlog.push(argv, duration_us, "", b"")
            threshold_ms = self.latency.threshold_ms
            if 0 < threshold_ms <= duration_us // 1000:
                self.latency.add_sample(bool(spec.flags & _F_FAST), duration_us // 1000)


# ---------------------------------------------------------------------- CONFIG parameters
# `Server.config_params` and `settable_params` merge these; names, ranges and refusals as
# Redis 7.0.15's `src/config.c` (slowlog-max-len is unsigned, latency thresholds in ms).

_INT64_MAX = (1 << 63) - 1


def config_params(timing: CommandTiming) -> dict[str, Callable[[], str]]:
    return {
        "slowlog-log-slower-than": lambda: str(timing.slowlog.log_slower_than_us),
        "slowlog-max-len": lambda: str(timing.slowlog.len_max),
        "latency-monitor-threshold": lambda: str(timing.latency.threshold_ms),
        "latency-tracking": lambda: "yes" if timing.latency.tracking else "no",
    }


def _parse_ranged(name: str, value: bytes, low: int) -> int | ErrorReply:
    number = parse_int(value)
    if number is None:
        return E.config_set_failed(name, "argument couldn't be parsed into an integer")
    if number < low:
        return E.config_set_failed(
            name, f"argument must be between {low} and {_INT64_MAX} inclusive"
        )
    return number


def settable_params(timing: CommandTiming) -> dict[str, Callable[[bytes], ErrorReply | None]]:
    def slower_than(value: bytes) -> ErrorReply | None:
        number = _parse_ranged("slowlog-log-slower-than", value, -1)
        if isinstance(number, ErrorReply):
            return number
        timing.slowlog.log_slower_than_us = number
        timing.refresh()
        return None

    def max_len(value: bytes) -> ErrorReply | None:
        number = _parse_ranged("slowlog-max-len", value, 0)
        if isinstance(number, ErrorReply):
            return number
        timing.slowlog.set_len_max(number)
        return None

    def monitor_threshold(value: bytes) -> ErrorReply | None:
        number = _parse_ranged("latency-monitor-threshold", value, 0)
        if isinstance(number, ErrorReply):
            return number
        timing.latency.threshold_ms = number
        timing.refresh()
        return None

    def tracking(value: bytes) -> ErrorReply | None:
        word = value.lower()
        if word not in (b"yes", b"no"):
            return E.config_set_failed("latency-tracking", "argument must be 'yes' or 'no'")
        timing.latency.tracking = word == b"yes"
        timing.refresh()
        return None

    return {
        "slowlog-log-slower-than": slower_than,
        "slowlog-max-len": max_len,
        "latency-monitor-threshold": monitor_threshold,
        "latency-tracking": tracking,
    }
