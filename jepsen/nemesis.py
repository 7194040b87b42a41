"""Faults: a schedule drawn from a seed, and the thread that applies and heals it.

The schedule is pure (`generate_schedule`, `grudge`): a list of `Fault`s, one at a time,
separated by quiet periods so the cluster can recover and clients can make progress between
faults, all healed by ``time_limit - recovery`` so the end of the run shows the cluster
converging. Which *node* a fault hits ("the leader", "a majority") is decided when it starts,
because only then is the leader known; the choice goes into the history's nemesis events.

Fault kinds (``--nemesis`` names) and their variants:

- ``kill``: SIGKILL then restart, of ``one`` random node, the ``leader``, or a ``majority``.
- ``stop``: SIGTERM (a graceful stop: a leader hands leadership over first) then restart, of
  ``one`` random node or the ``leader``.
- ``pause``: SIGSTOP then SIGCONT, same targets.
- ``partition``: packets dropped between nodes (needs namespaces): ``halves`` (a random
  minority and majority), ``isolate-leader``, ``bridge`` (two sides that only one node hears
  both of), ``random`` (each link cut with probability 1/2).
- ``membership``: ``remove-add`` (RAFT.NODE REMOVE a follower, kill it, wipe its data; at heal,
  restart it empty with --join and RAFT.NODE ADD it back) and ``transfer`` (RAFT.TRANSFER to
  a random other member; instantaneous).
- ``transfer``: only leadership transfers.
"""

from __future__ import annotations

import random
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jepsen.db import Cluster
from jepsen.history import Recorder

VARIANTS: dict[str, tuple[str, ...]] = {
    "kill": ("one", "leader", "majority"),
    "stop": ("one", "leader"),
    "pause": ("one", "leader", "majority"),
    "partition": ("halves", "isolate-leader", "bridge", "random"),
    "membership": ("remove-add", "transfer"),
    "transfer": ("transfer",),
}
INSTANT = {"transfer"}


@dataclass(frozen=True, slots=True)
class Fault:
    start_s: float
    end_s: float  # heal time; equal to start_s for an instantaneous fault
    kind: str
    variant: str

    def describe(self) -> str:
        span = f"{self.start_s:6.1f}s" if self.start_s == self.end_s else (
            f"{self.start_s:6.1f}s - {self.end_s:6.1f}s")
        return f"{span}  {self.kind} {self.variant}"


def parse_nemeses(text: str) -> list[str]:
    names = sorted({n.strip() for n in text.split(",") if n.strip() and n.strip() != "none"})
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown nemesis {unknown}; choose from {sorted(VARIANTS)} or none")
    return names


def generate_schedule(
    kinds: Sequence[str], time_limit_s: float, seed: int, *,
    first_quiet_s: float = 3.0, quiet_s: tuple[float, float] = (2.0, 4.0),
    fault_s: tuple[float, float] = (3.0, 7.0), recovery_s: float | None = None,
) -> list[Fault]:
    """Faults one at a time from ``kinds``, all healed before ``time_limit - recovery``."""
    if not kinds:
        return []
    rng = random.Random(seed)
    recovery = recovery_s if recovery_s is not None else min(8.0, max(3.0, 0.2 * time_limit_s))
    last_heal = time_limit_s - recovery
    schedule: list[Fault] = []
    t = first_quiet_s
    while True:
        kind = rng.choice(sorted(kinds))
        variant = rng.choice(VARIANTS[kind])
        duration = 0.0 if variant in INSTANT else rng.uniform(*fault_s)
        if t + duration > last_heal:
            break
        schedule.append(Fault(round(t, 2), round(t + duration, 2), kind, variant))
        t += duration + rng.uniform(*quiet_s)
    return schedule


def grudge(variant: str, nodes: Sequence[int], rng: random.Random,
           leader: int | None = None) -> dict[int, set[int]]:
    """Who must not hear from whom (symmetric) for a partition variant."""
    nodes = sorted(nodes)
    cut: set[tuple[int, int]] = set()
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    if variant == "halves":
        side = set(shuffled[: len(nodes) // 2])
        cut = {(a, b) for a in side for b in nodes if b not in side}
    elif variant == "isolate-leader":
        alone = leader if leader in nodes else shuffled[0]
        cut = {(alone, b) for b in nodes if b != alone}
    elif variant == "bridge":
        half = len(nodes) // 2
        left, right = shuffled[:half], shuffled[half + 1:]  # shuffled[half] hears both sides
        cut = {(a, b) for a in left for b in right}
    elif variant == "random":
        pairs = [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:]]
        cut = {p for p in pairs if rng.random() < 0.5} or {rng.choice(pairs)}
    else:
        raise ValueError(f"unknown partition variant {variant!r}")
    result: dict[int, set[int]] = {n: set() for n in nodes}
    for a, b in cut:
        result[a].add(b)
        result[b].add(a)
    return result


def components(grudges: dict[int, set[int]]) -> list[list[int]]:
    """The groups of nodes that can still reach each other (for the report)."""
    seen: set[int] = set()
    groups: list[list[int]] = []
    for start in sorted(grudges):
        if start in seen:
            continue
        group, todo = set(), [start]
        while todo:
            n = todo.pop()
            if n in group:
                continue
            group.add(n)
            todo.extend(m for m in grudges if m not in grudges[n] and n not in grudges[m])
        seen |= group
        groups.append(sorted(group))
    return groups


@dataclass
class Nemesis:
    """Applies a schedule to a live cluster from its own thread; `heal_all` undoes anything."""

    cluster: Cluster
    recorder: Recorder
    schedule: list[Fault]
    seed: int
    errors: list[str] = field(default_factory=list)
    _killed: set[int] = field(default_factory=set)
    _paused: set[int] = field(default_factory=set)
    _removed: set[int] = field(default_factory=set)
    _partitioned: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._rng = random.Random(self.seed ^ 0x5E5A7)
        self._thread = threading.Thread(target=self._main, name="nemesis", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)
        self.heal_all()

    def _sleep_until(self, t_s: float) -> bool:
        while not self._stop.is_set():
            left = t_s - self.recorder.seconds()
            if left <= 0:
                return True
            self._stop.wait(min(left, 0.2))
        return False

    def _main(self) -> None:
        for fault in self.schedule:
            if not self._sleep_until(fault.start_s):
                return
            self._guard(fault, "start", self._start)
            if fault.variant in INSTANT:
                continue
            if not self._sleep_until(fault.end_s):
                return
            self._guard(fault, "end", self._heal)

    def _guard(self, fault: Fault, phase: str, action: Any) -> None:
        try:
            action(fault)
        except Exception as error:  # noqa: BLE001 -- a fault that fails to apply is reported
            text = f"{fault.kind} {fault.variant} {phase}: {error}"
            self.errors.append(text)
            self.recorder.nemesis(fault.kind, "error", {"variant": fault.variant,
                                                        "phase": phase, "error": str(error)})
            traceback.print_exc()

    def _live_members(self) -> list[int]:
        return sorted(n for n in self.cluster.members if n not in self._removed)

    def _targets(self, variant: str) -> list[int]:
        nodes = [n for n in self._live_members() if self.cluster.nodes[n].running()]
        if variant == "leader":
            leader = self.cluster.leader()
            return [leader] if leader is not None else [self._rng.choice(nodes)]
        if variant == "majority":
            return sorted(self._rng.sample(nodes, min(len(nodes), len(self.cluster.members) // 2 + 1)))
        return [self._rng.choice(nodes)]

    def _start(self, fault: Fault) -> None:
        cluster, rec = self.cluster, self.recorder
        if fault.kind == "kill":
            targets = self._targets(fault.variant)
            for n in targets:
                cluster.kill(n)
                self._killed.add(n)
            rec.nemesis("kill", "start", {"variant": fault.variant, "nodes": targets})
        elif fault.kind == "stop":
            targets = self._targets(fault.variant)
            rec.nemesis("stop", "start", {"variant": fault.variant, "nodes": targets})
            for n in targets:
                cluster.stop(n)
                self._killed.add(n)  # restarted at heal exactly as a killed node
        elif fault.kind == "pause":
            targets = self._targets(fault.variant)
            for n in targets:
                cluster.pause(n)
                self._paused.add(n)
            rec.nemesis("pause", "start", {"variant": fault.variant, "nodes": targets})
        elif fault.kind == "partition":
            leader = cluster.leader() if fault.variant == "isolate-leader" else None
            cut = grudge(fault.variant, sorted(cluster.nodes), self._rng, leader)
            cluster.net.partition(cut)
            self._partitioned = True
            detail: dict[str, Any] = {"variant": fault.variant, "groups": components(cut)}
            if leader is not None:
                detail["leader"] = leader
            rec.nemesis("partition", "start", detail)
        elif fault.variant == "transfer":
            self._transfer(fault)
        elif fault.variant == "remove-add":
            self._remove(fault)
        else:
            raise ValueError(f"unknown fault {fault}")

    def _transfer(self, fault: Fault) -> None:
        leader = self.cluster.leader()
        if leader is None:
            raise RuntimeError("no leader to transfer from")
        voters = self.cluster.voters() or set(self._live_members())
        others = [n for n in self._live_members() if n != leader and n in voters]
        target = self._rng.choice(others)
        self.recorder.nemesis(fault.kind, "start", {"variant": "transfer", "from": leader,
                                                    "to": target})
        self.cluster.admin("RAFT.TRANSFER", str(target))
        self.recorder.nemesis(fault.kind, "end", {"variant": "transfer", "from": leader,
                                                  "to": target})

    def _remove(self, fault: Fault) -> None:
        cluster = self.cluster
        leader = cluster.wait_leader(timeout_s=10)
        followers = [n for n in self._live_members() if n != leader]
        victim = self._rng.choice(followers)
        self.recorder.nemesis(fault.kind, "start", {"variant": "remove-add", "node": victim})
        self._removed.add(victim)
        cluster.admin("RAFT.NODE", "REMOVE", str(victim))
        cluster.members.discard(victim)
        cluster.resume(victim)
        cluster.kill(victim)
        cluster.wipe(victim)

    def _heal(self, fault: Fault) -> None:
        cluster, rec = self.cluster, self.recorder
        if fault.kind in ("kill", "stop"):
            nodes = sorted(self._killed)
            self._restart_killed()
            rec.nemesis(fault.kind, "end", {"variant": fault.variant, "nodes": nodes})
        elif fault.kind == "pause":
            nodes = sorted(self._paused)
            for n in nodes:
                cluster.resume(n)
            self._paused.clear()
            rec.nemesis("pause", "end", {"variant": fault.variant, "nodes": nodes})
        elif fault.kind == "partition":
            cluster.net.heal()
            self._partitioned = False
            rec.nemesis("partition", "end", {"variant": fault.variant})
        elif fault.variant == "remove-add":
            nodes = sorted(self._removed)
            self._readd_removed()
            rec.nemesis(fault.kind, "end", {"variant": "remove-add", "nodes": nodes})

    def _restart_killed(self) -> None:
        dead = [n for n in sorted(self._killed) if not self.cluster.nodes[n].running()]
        for n in dead:  # all at once: a killed majority comes back as fast as one node
            self.cluster.start(n, wait=False)
        for n in dead:
            self.cluster.wait_serving(n)
        self._killed.clear()

    def _readd_removed(self) -> None:
        cluster = self.cluster
        for n in sorted(self._removed):
            if not cluster.nodes[n].running():
                cluster.start(n, join=True)
            host, port = cluster.client_address(n)
            cluster.admin("RAFT.NODE", "ADD", str(n), cluster.raft_address(n), f"{host}:{port}",
                          timeout_s=30)
            cluster.members.add(n)
            self._removed.discard(n)
            cluster.wait_voter(n)

    def heal_all(self) -> None:
        """Undo whatever is still in effect (end of run, or after an error); recorded."""
        undone: dict[str, Any] = {}
        if self._paused:
            undone["resumed"] = sorted(self._paused)
            for n in sorted(self._paused):
                self.cluster.resume(n)
            self._paused.clear()
        if self._partitioned:
            self.cluster.net.heal()
            self._partitioned = False
            undone["partition"] = "healed"
        if self._killed:
            undone["restarted"] = sorted(self._killed)
            self._restart_killed()
        if self._removed:
            undone["re-added"] = sorted(self._removed)
            try:
                self._readd_removed()
            except Exception as error:  # noqa: BLE001 -- recorded in the report
                self.errors.append(f"heal_all re-add: {error}")
        if undone:
            self.recorder.nemesis("heal-all", "end", undone)


def shaded_windows(events: Sequence[Any], end_s: float) -> list[tuple[float, float, str]]:
    """(start_s, end_s, fault) spans from nemesis events, for the plot and the report."""
    open_at: dict[str, float] = {}
    spans: list[tuple[float, float, str]] = []
    for ev in sorted(events, key=lambda e: e.time):
        t = ev.time / 1e6
        if ev.phase == "start":
            open_at.setdefault(ev.fault, t)
        elif ev.phase in ("end", "error"):  # a fault that failed to apply is over too
            if ev.fault == "heal-all":
                for fault, began in open_at.items():
                    spans.append((began, t, fault))
                open_at.clear()
            elif ev.fault in open_at:
                spans.append((open_at.pop(ev.fault), t, ev.fault))
    for fault, began in open_at.items():
        spans.append((began, end_s, fault))
    return sorted(spans)

