"""Simulated clients: reads (through ReadIndex) and writes of unique values on a few registers.

Each client runs one operation at a time and records it in a history the linearizability
checker reads. A write is `ok` when the entry it proposed is applied on the node that proposed
it, `fail` when the node refused it (not leader, down) or another entry took its index, and
`info` when the client gave up waiting (the node crashed or lost touch: it may still commit).
A read is `ok` with the value the node's state machine held once it had applied the read
index; a refused or timed-out read is `fail`/`info` and tells the checker nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import msgpack

from seshat.check.history import Op
from seshat.sim.cluster import TICK, SimCluster

KEYS = ("k0", "k1", "k2")
OP_TIMEOUT = 40 * TICK


@dataclass(slots=True)
class _Call:
    process: int
    kind: str
    key: str
    value: int | None
    invoke: int
    done: bool = False


class RegisterWorkload:
    def __init__(self, cluster: SimCluster, rng: random.Random, clients: int) -> None:
        self.cluster = cluster
        self.rng = rng
        self.history: list[Op] = []
        self.next_value = 0
        self.next_read = 0
        self.running = True
        self.next_process = clients
        for process in range(clients):
            self._schedule_next(process)

    def _schedule_next(self, process: int) -> None:
        if not self.running:
            return
        at = self.cluster.now + self.rng.randint(1, 3 * TICK)
        self.cluster.schedule(at, "call", 0, lambda: self._invoke(process))

    def _target(self) -> int:
        leader = self.cluster.leader()
        if leader is not None and self.rng.random() < 0.8:
            return leader.id
        return self.rng.choice(sorted(self.cluster.nodes))

    def _invoke(self, process: int) -> None:
        if not self.running:
            return
        key = self.rng.choice(KEYS)
        node_id = self._target()
        now = self.cluster.now
        if self.rng.random() < 0.5:
            self.next_value += 1
            call = _Call(process, "write", key, self.next_value, now)
            data = msgpack.packb([key, self.next_value])
            self._arm_timeout(call, node_id, None)
            self.cluster.propose(node_id, data, lambda status: self._write_done(call, status))
        else:
            self.next_read += 1
            context = b"r%d" % self.next_read
            call = _Call(process, "read", key, None, now)
            self._arm_timeout(call, node_id, context)
            self.cluster.read(
                node_id, context, lambda applied: self._read_done(call, node_id, applied)
            )

    def _arm_timeout(self, call: _Call, node_id: int, context: bytes | None) -> None:
        def expire() -> None:
            if call.done:
                return
            if context is not None:
                self.cluster.forget_client(node_id, context)
            self._complete(call, "info", None)

        self.cluster.schedule(self.cluster.now + OP_TIMEOUT, "call", 0, expire)

    def _write_done(self, call: _Call, status: str) -> None:
        if not call.done:
            self._complete(call, status, None)

    def _read_done(self, call: _Call, node_id: int, applied: int | None) -> None:
        if call.done:
            return
        if applied is None:
            self._complete(call, "fail", None)
            return
        value = self.cluster.nodes[node_id].machine.values.get(call.key)
        self._complete(call, "ok", value)

    def _complete(self, call: _Call, status: str, output: int | None) -> None:
        call.done = True
        self.history.append(
            Op(
                process=call.process,
                kind=call.kind,
                key=call.key,
                value=call.value,
                invoke=call.invoke,
                complete=self.cluster.now,
                status=status,  # type: ignore[arg-type]
                output=output,
            )
        )
        process = call.process
        if status == "info":
            # The op may still take effect at any time: the client that issued it counts as
            # crashed, and a fresh process takes its place (as Jepsen does).
            process = self.next_process
            self.next_process += 1
        self._schedule_next(process)

    def stop(self) -> None:
        self.running = False
