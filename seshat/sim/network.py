"""The simulated network: a heap of messages in flight, and the faults applied to them.

Time is in simulator units (see `seshat.sim.cluster`: ten per tick). A sent message is either
dropped, or scheduled for delivery after a random delay, and sometimes scheduled twice
(duplicated); different delays reorder messages on the same link. Partitions cut links in one
or both directions. Every decision draws from the run's one seeded generator, and the heap
breaks ties by a sequence number, so no order depends on anything but the seed.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

from seshat.raft.types import Message


@dataclass(slots=True)
class NetworkFaults:
    """Probabilities and delays, drawn per seed ("swarm" testing: each seed its own mix)."""

    drop: float = 0.0
    duplicate: float = 0.0
    delay_min: int = 1
    delay_max: int = 10


class SimNetwork:
    def __init__(self, rng: random.Random, faults: NetworkFaults) -> None:
        self.rng = rng
        self.faults = faults
        self.heap: list[tuple[int, int, Message]] = []
        self.seq = 0
        self.cut: set[tuple[int, int]] = set()  # (from, to) pairs that lose every message
        self.sent = 0
        self.dropped = 0

    def send(self, now: int, message: Message) -> None:
        self.sent += 1
        if (message.frm, message.to) in self.cut:
            self.dropped += 1
            return
        f = self.faults
        if f.drop and self.rng.random() < f.drop:
            self.dropped += 1
            return
        copies = 2 if f.duplicate and self.rng.random() < f.duplicate else 1
        for _ in range(copies):
            delay = self.rng.randint(f.delay_min, f.delay_max)
            self.seq += 1
            heapq.heappush(self.heap, (now + delay, self.seq, message))

    def next_time(self) -> int | None:
        return self.heap[0][0] if self.heap else None

    def pop(self) -> Message:
        return heapq.heappop(self.heap)[2]

    def partition(self, groups: list[list[int]]) -> None:
        """Cut every link between different groups, both directions."""
        self.cut.clear()
        for i, group in enumerate(groups):
            for other in groups[i + 1 :]:
                for a in group:
                    for b in other:
                        self.cut.add((a, b))
                        self.cut.add((b, a))

    def cut_one_way(self, frm: int, to: int) -> None:
        self.cut.add((frm, to))

    def heal(self) -> None:
        self.cut.clear()
