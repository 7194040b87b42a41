"""How long each command takes, and who is told: SLOWLOG, the latency monitor, the histograms.

The client connection (`seshat/client.py`) reads `perf_counter_ns()` when it starts a command
and again when the command's reply is ready, and calls `observe` only if the difference passes
`floor_ns`: below it, the hot path costs the two clock reads, a subtraction and a comparison,
and allocates nothing. `floor_ns` is the smallest duration anybody wants to hear about; with
`latency-tracking` on (Redis's default) every command is counted in its histogram, so it is
-1 and `observe` runs each time (one dict probe and one increment when the command is fast).

"Ready" depends on the command: a read or an admin command is timed while it runs; a write
from the moment it is dispatched until its entry is committed and applied (on a follower,
until the leader's answer arrives), because that is the latency a client of a replicated
store sees. Blocking pops and WAIT are not timed: their time is waiting, and Redis leaves
the wait out too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from seshat.kv import errors as E
from seshat.kv.commands import FLAG_BITS, lookup
from seshat.kv.numbers import parse_int
from seshat.latency import LatencyMonitor
from seshat.protocol.replies import ErrorReply
from seshat.slowlog import SlowLog

if TYPE_CHECKING:
    from seshat.client import ClientConnection

_F_FAST = FLAG_BITS["fast"]
_F_SKIP_SLOWLOG = FLAG_BITS["skip_slowlog"]
_NEVER = 1 << 62  # a floor no command reaches: nothing wants to hear


class CommandTiming:
    __slots__ = ("floor_ns", "latency", "notify_ns", "slowlog")

    def __init__(self, slowlog: SlowLog, latency: LatencyMonitor) -> None:
        self.slowlog = slowlog
        self.latency = latency
        self.floor_ns = -1
        self.notify_ns = -1  # the shortest duration SLOWLOG or the latency monitor wants
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

    def observe(self, conn: ClientConnection, argv: list[bytes], duration_ns: int) -> None:
        """One command of `conn` took `duration_ns` from start to reply."""
        latency = self.latency
        if latency.tracking:  # LatencyMonitor.count, inlined for its common case
            buckets = latency.by_spelling.get(argv[0])
            if buckets is not None:
                buckets[(duration_ns >> 10).bit_length()] += 1
            else:
                latency.count(argv, duration_ns)
        if duration_ns < self.notify_ns:
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
