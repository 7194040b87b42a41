"""LATENCY: latency spikes per event (the latency monitor) and per-command histograms.

Two things Redis 7 keeps (`src/latency.c`, `src/server.c`), both per node and in memory:

- The monitor: with `latency-monitor-threshold` > 0 (ms; 0, the default, disables it), each
  command at least that slow adds a sample to the `command` event (`fast-command` for commands
  flagged fast). An event keeps its last 160 samples, one per second (the slowest of that
  second), and its all-time maximum; LATEST, HISTORY, RESET, GRAPH and DOCTOR read them.
- The histograms (`latency-tracking`, on by default): every command's duration is counted in
  power-of-two buckets of nanoseconds, as Redis's HDR histograms reported by LATENCY
  HISTOGRAM (`calls` and the cumulative `histogram_usec` map).

The histogram count runs for every command, so it is the one part of this module on the hot
path (`CommandTiming.observe` inlines its common case): one dict probe by the command name as
the client spelt it, `bit_length` and a list increment, about 0.25 µs a command in CPython 3.11
with the call; looking the command up (and finding a container's subcommand) happens once per
spelling, in `count`. Measuring is `seshat/command_timing.py`'s job.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING, Final

from seshat.kv import errors as E
from seshat.kv.commands import FLAG_BITS, SUBCOMMANDS, TABLE, lookup, lookup_subcommand
from seshat.protocol.replies import ErrorReply, Map, Reply, SimpleString, Verbatim

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

EVENT_SAMPLES_MAX: Final = 160  # LATENCY_TS_LEN in Redis's src/latency.h
BUCKETS: Final = 64  # buckets of [1024 << (k - 1), 1024 << k) ns; bucket 0: below 1024 ns
SPELLINGS_MAX: Final = 4096
FAILED: Final = BUCKETS  # calls that ran and answered an error (INFO commandstats)
REJECTED: Final = BUCKETS + 1  # calls refused before running (arity, ACL, NOAUTH, MOVED...)
TOTAL_NS: Final = BUCKETS + 2  # a histogram's last slot: the calls' summed ns (commandstats)
"""Distinct command-name spellings remembered for the histograms; past it a new spelling is
still counted, through the slow path (a client sending every case of every name costs it time,
never memory)."""
_F_FAST: Final = FLAG_BITS["fast"]

HELP_LINES: Final = (
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    (
        "    Return a cumulative distribution of latencies in the format of a histogram for the"
        " specified command names."
    ),
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
)
DOCTOR_DISABLED: Final = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
    'You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. '
    "If we weren't in a deep space mission I'd suggest to take a look at "
    "https://redis.io/topics/latency-monitor.\n"
)
DOCTOR_QUIET: Final = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not in "
    "the slightest bit. I honestly think you ought to sleep tonight.\n"
)


def bucket_bound_ns(k: int) -> int:
    """The HDR histogram's highest value equivalent to 1024 << k ns (two significant digits)."""
    ns = 1024 << k
    return ns + (ns >> 7) - 1


def bucket_usec(k: int) -> int:
    """The bound Redis prints for bucket `k`, in whole µs: 1, 2, 4, 8, 16, 33, 66, ... 1056."""
    return bucket_bound_ns(k) // 1000


class Event:
    """One event's samples (unix second, ms), newest last, and its maximum."""

    __slots__ = ("max_ms", "samples")

    def __init__(self) -> None:
        self.samples: deque[tuple[int, int]] = deque(maxlen=EVENT_SAMPLES_MAX)
        self.max_ms = 0

    def add(self, now_s: int, latency_ms: int) -> None:
        if self.samples and self.samples[-1][0] == now_s:  # one sample per second, the max
            if latency_ms > self.samples[-1][1]:
                self.samples[-1] = (now_s, latency_ms)
        else:
            self.samples.append((now_s, latency_ms))
        self.max_ms = max(self.max_ms, latency_ms)


class LatencyMonitor:
    def __init__(self) -> None:
        self.threshold_ms = 0  # latency-monitor-threshold: 0 disables the monitor
        self.tracking = True  # latency-tracking: the per-command histograms
        self.events: dict[bytes, Event] = {}
        self.by_spelling: dict[bytes, list[int] | None] = {}  # None: a container
        self._by_name: dict[bytes, list[int]] = {}  # full name (`config|get`) -> buckets

    # ------------------------------------------------------------------ recording

    def count(self, argv: list[bytes], duration_ns: int) -> None:
        """Count one call in its command's histogram (the hot path: see the module doc)."""
        buckets = self._buckets(argv)
        if buckets is None:
            return
        buckets[(duration_ns >> 10).bit_length()] += 1
        buckets[TOTAL_NS] += duration_ns

    def _buckets(self, argv: list[bytes]) -> list[int] | None:
        """`argv`'s command's buckets (None: an unknown command, never counted)."""
        buckets = self.by_spelling.get(argv[0])
        return buckets if buckets is not None else self._buckets_slow(argv)

    def _buckets_slow(self, argv: list[bytes]) -> list[int] | None:
        spec = lookup(argv[0])
        if spec is None:
            return None  # an unknown command is not counted (nor remembered: no growth)
        name = spec.name
        container = bool(spec.subcommands)
        if container and len(argv) > 1:
            sub = lookup_subcommand(spec.name, argv[1])
            if sub is not None:
                name = sub.name
        if len(self.by_spelling) < SPELLINGS_MAX:
            self.by_spelling[argv[0]] = None if container else self._histogram(name)
        return self._histogram(name)

    def _histogram(self, name: bytes) -> list[int]:
        buckets = self._by_name.get(name)
        if buckets is None:
            buckets = self._by_name[name] = [0] * (TOTAL_NS + 1)  # FAILED, REJECTED, TOTAL_NS
        return buckets

    def count_outcome(self, argv: list[bytes], outcome: int) -> None:
        """One call of `argv`'s command answered an error: FAILED (it ran) or REJECTED (it was
        refused before running, and so is not one of its `calls`). Errors are the rare case,
        so this takes the slow path the first spelling of a command takes."""
        if not self.tracking:
            return  # counted with the histograms, as `calls` are
        buckets = self._buckets(argv)
        if buckets is not None:
            buckets[outcome] += 1

    def add_sample(self, fast: bool, duration_ms: int) -> None:
        """A command at least `threshold_ms` slow: a sample of `command` or `fast-command`."""
        name = b"fast-command" if fast else b"command"
        event = self.events.get(name)
        if event is None:
            event = self.events[name] = Event()
        event.add(int(time.time()), duration_ms)

    # ------------------------------------------------------------------ replies

    def histogram_reply(self, name: bytes) -> Reply:
        buckets = self._by_name[name]
        cumulative = 0
        points: list[tuple[Reply, Reply]] = []
        for k, n in enumerate(buckets[:BUCKETS]):
            if n:
                cumulative += n
                points.append((bucket_usec(k), cumulative))
        return Map([(b"calls", cumulative), (b"histogram_usec", Map(points))])

    def histograms(self, names: list[bytes]) -> Reply:
        """LATENCY HISTOGRAM: the named commands (and a container's subcommands), or all;
        commands never called are left out, as Redis does."""
        wanted: list[bytes] = []
        if not names:
            for row in TABLE:
                wanted.append(row.name)
                wanted.extend(sub.name for sub in SUBCOMMANDS.get(row.name, ()))
        for raw in names:
            container, _, sub_name = raw.lower().partition(b"|")
            spec = lookup(container)
            if spec is None:
                continue
            if sub_name:
                sub = lookup_subcommand(spec.name, sub_name)
                if sub is not None:
                    wanted.append(sub.name)
                continue
            wanted.append(spec.name)
            wanted.extend(sub.name for sub in SUBCOMMANDS.get(spec.name, ()))
        items: list[tuple[Reply, Reply]] = []
        seen: set[bytes] = set()
        for name in wanted:
            buckets = self._by_name.get(name)
            if name in seen or buckets is None or not any(buckets[:BUCKETS]):
                continue
            seen.add(name)
            items.append((name, self.histogram_reply(name)))
        return Map(items)

    def reset_histograms(self) -> None:
        """CONFIG RESETSTAT: every command's calls, time and histogram start again (in place:
        `by_spelling` holds the same lists)."""
        for buckets in self._by_name.values():
            buckets[:] = [0] * len(buckets)

    def command_stats(self) -> list[tuple[bytes, int, int, int, int]]:
        """(name, calls, total ns, rejected, failed) of every command counted so far, in table
        order: INFO commandstats. Counted with the histograms, so only while `latency-tracking`
        is on. A command only ever rejected shows with 0 calls, as in Redis."""
        out = []
        for row in TABLE:
            for name in (row.name, *(sub.name for sub in SUBCOMMANDS.get(row.name, ()))):
                buckets = self._by_name.get(name)
                if buckets is not None:
                    calls = sum(buckets[:BUCKETS])
                    if calls or buckets[REJECTED]:
                        out.append(
                            (name, calls, buckets[TOTAL_NS], buckets[REJECTED], buckets[FAILED])
                        )
        return out

    def percentile_usec(self, name: bytes, percentile: float) -> float:
        """The bound (µs) of the bucket that holds `percentile` % of `name`'s calls: INFO
        latencystats, from the same power-of-two buckets as LATENCY HISTOGRAM, so coarser
        than Redis's HDR histogram (each value is an upper bound within a factor of two)."""
        buckets = self._by_name[name]
        calls = sum(buckets[:BUCKETS])
        wanted = max(1, math.ceil(calls * percentile / 100))
        seen = 0
        for k in range(BUCKETS):
            seen += buckets[k]
            if seen >= wanted:
                return bucket_bound_ns(k) / 1000
        return 0.0

    def doctor(self) -> str:
        if not self.threshold_ms:
            return DOCTOR_DISABLED
        if not self.events:
            return DOCTOR_QUIET
        opening = (
            "Dave, I have observed latency spikes in this Redis instance. "
            "You don't mind talking about it, do you Dave?"
        )
        lines = [opening, ""]
        for i, (name, event) in enumerate(sorted(self.events.items()), 1):
            values = [ms for _, ms in event.samples]
            average = sum(values) // len(values) if values else 0
            lines.append(
                f"{i}. {name.decode()}: {len(values)} latency spikes (average {average}ms, "
                f"worst {event.max_ms}ms)."
            )
        advice = (
            f"- Commands slower than {self.threshold_ms} ms were run on this node: "
            "check SLOWLOG GET and LATENCY HISTOGRAM for which ones."
        )
        lines += ["", "I have a few advices for you:", "", advice]
        return "\n".join(lines) + "\n"

    def graph(self, name: bytes) -> Reply:
        """A plain text graph: one line per sample, a bar as long as its share of the max."""
        event = self.events.get(name)
        if event is None or not event.samples:
            return ErrorReply(
                f"ERR No samples available for event '{name.decode(errors='replace')}'"
            )
        now_s = int(time.time())
        top = max(ms for _, ms in event.samples) or 1
        lines = [f"{name.decode(errors='replace')} - high {top} ms, max {event.max_ms} ms"]
        for at_s, ms in event.samples:
            lines.append(f"{now_s - at_s:>6}s ago {ms:>7} ms " + "#" * max(1, ms * 40 // top))
        return Verbatim(("\n".join(lines) + "\n").encode())


def latency_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    """LATENCY LATEST | HISTORY | RESET | GRAPH | DOCTOR | HISTOGRAM | HELP."""
    monitor = admin.server.latency
    sub = argv[1].lower()
    n = len(argv)
    if sub == b"latest" and n == 2:
        return [
            [name, event.samples[-1][0], event.samples[-1][1], event.max_ms]
            for name, event in monitor.events.items()
            if event.samples
        ]
    if sub == b"history" and n == 3:
        event = monitor.events.get(argv[2])  # event names are case-sensitive
        return [[at_s, ms] for at_s, ms in event.samples] if event is not None else []
    if sub == b"reset":
        names = argv[2:] or list(monitor.events)
        return sum(monitor.events.pop(name, None) is not None for name in set(names))
    if sub == b"graph" and n == 3:
        return monitor.graph(argv[2])
    if sub == b"doctor" and n == 2:
        return Verbatim(monitor.doctor().encode())
    if sub == b"histogram":
        return monitor.histograms(argv[2:])
    if sub == b"help" and n == 2:
        return [SimpleString(line.encode()) for line in HELP_LINES]
    return E.subcommand_syntax(argv[1], "LATENCY")


HANDLERS = {b"latency": latency_command}
