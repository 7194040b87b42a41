"""Synthetic histories produced by a real sequential object, for testing the checkers.

A checker can only be trusted if it accepts what a correct system produces and rejects what a
broken one does. These generators play a correct system: each op is given a hidden instant of
effect inside its [invoke, complete] interval, ops are applied to a plain dict in that order,
and the outputs are recorded. By construction the result is linearizable, whatever the
concurrency; tests then corrupt it to get histories that are not.

The shape mimics a Jepsen run: a fixed number of client slots, each issuing one op at a time;
an op that times out (``info``) retires its process id and the slot continues as a fresh
process (``p + processes``), as Jepsen does; an info op may take effect long after the client
gave up, or never. Everything is drawn from the ``random.Random`` passed in, so a seed replays.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, replace
from typing import Any

from seshat.check.history import Op, Status


@dataclass(slots=True)
class _Draft:
    """An op before its output is known: the generator's private bookkeeping."""

    process: int
    kind: str
    key: Any
    value: Any
    invoke: float
    complete: float | None
    status: Status
    effect_at: float | None  # None: never takes effect


def _schedule(
    rng: random.Random,
    ops: int,
    processes: int,
    info_rate: float,
    draw: Any,
) -> list[_Draft]:
    """Place ``ops`` ops on ``processes`` client slots with overlapping intervals.

    ``draw()`` returns (kind, key, value, may_be_info) for the next op. Durations are long
    against the gaps between ops, so most ops overlap several others (the hard case).
    """
    slots = [(0.0, slot) for slot in range(processes)]
    heapq.heapify(slots)
    pids = list(range(processes))
    drafts: list[_Draft] = []
    for _ in range(ops):
        free_at, slot = heapq.heappop(slots)
        invoke = free_at + rng.uniform(0.0, 0.5)
        duration = rng.uniform(0.2, 3.0)
        kind, key, value, may_be_info = draw()
        if may_be_info and rng.random() < info_rate:
            # Timed out: maybe applied, possibly long after the client gave up.
            lands = rng.random() < 0.5
            effect = invoke + rng.uniform(0.0, 4.0 * duration) if lands else None
            drafts.append(_Draft(pids[slot], kind, key, value, invoke, None, "info", effect))
            pids[slot] += processes
        else:
            effect = invoke + rng.uniform(0.0, duration)
            complete = invoke + duration
            drafts.append(_Draft(pids[slot], kind, key, value, invoke, complete, "ok", effect))
        heapq.heappush(slots, (invoke + duration, slot))
    return drafts


def register_history(
    rng: random.Random,
    *,
    ops: int = 1000,
    processes: int = 5,
    keys: int = 5,
    values: int = 5,
    info_rate: float = 0.02,
    read_ratio: float = 0.5,
    cas_ratio: float = 0.2,
) -> list[Op]:
    """A linearizable read/write/cas history over ``keys`` registers (see module docstring).

    Written values are drawn from ``range(values)``: few distinct values, as in Jepsen's
    cas-register test, make many orders plausible and so stress the search. A cas whose
    comparison fails at its instant of effect is recorded ``fail``; writes and cas may be
    ``info``; reads never are (an info read carries no information).
    """
    key_names = [f"k{i}" for i in range(keys)]

    def draw() -> tuple[str, Any, Any, bool]:
        key = rng.choice(key_names)
        roll = rng.random()
        if roll < read_ratio:
            return "read", key, None, False
        if roll < read_ratio + cas_ratio:
            return "cas", key, (rng.randrange(values), rng.randrange(values)), True
        return "write", key, rng.randrange(values), True

    drafts = _schedule(rng, ops, processes, info_rate, draw)
    register: dict[Any, Any] = {}
    outputs: dict[int, Any] = {}
    statuses: dict[int, Status] = {}
    landed = sorted(
        (d.effect_at, i) for i, d in enumerate(drafts) if d.effect_at is not None
    )
    for _, i in landed:
        d = drafts[i]
        current = register.get(d.key)
        if d.kind == "read":
            outputs[i] = current
        elif d.kind == "write":
            register[d.key] = d.value
        elif d.kind == "cas":
            expected, new = d.value
            if current == expected:
                register[d.key] = new
            elif d.status == "ok":
                statuses[i] = "fail"  # the server said no; nothing happened
    return [
        Op(d.process, d.kind, d.key, d.value, d.invoke, d.complete,
           statuses.get(i, d.status), outputs.get(i))
        for i, d in enumerate(drafts)
    ]


def corrupt_read(rng: random.Random, history: list[Op], impossible: Any = -1) -> list[Op]:
    """Copy of ``history`` with one ok read's output replaced by a value never written."""
    reads = [i for i, op in enumerate(history) if op.kind == "read" and op.status == "ok"]
    if not reads:
        raise ValueError("history has no ok read to corrupt")
    i = rng.choice(reads)
    mutated = list(history)
    mutated[i] = replace(history[i], output=impossible)
    return mutated
