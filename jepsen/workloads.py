"""What clients do, how replies become history outputs, the final reads, and the checker.

- ``register``: GET and SET of unique integers over a few keys at a time, the keys rotating
  every ``ops_per_key`` operations so each key's sub-history stays small enough for the
  linearizability search (Jepsen's "independent" keys). Compare-and-set (WATCH, GET, MULTI,
  SET, EXEC) is added only if the server knows MULTI (``COMMAND INFO multi``). Checked with
  `check_linearizable` (a register per key).
- ``set``: SADD of unique integers to one set, then a final SMEMBERS once the cluster is healed;
  if the server has no SADD, each element is a string key ``<prefix>:<element>`` written with
  SET and the final read is KEYS (``mode`` says which ran). Checked with `check_set`.
- ``counter``: INCRBY with increments 1..5 (the reply, the new value, is recorded as a read at
  its own instant) and GETs, then a final GET. Checked with `check_counter`.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from jepsen.client import Client, CommandFailed
from jepsen.db import Cluster
from jepsen.history import Recorder
from seshat.check import (
    CheckResult,
    Op,
    Record,
    RegisterModel,
    check_counter,
    check_linearizable,
    check_set,
)

FINAL_PROCESS_BASE = 1_000_000  # process numbers of the final reads, apart from the workers


@dataclass
class Invocation:
    kind: str
    key: Any
    value: Any


def _int_or_none(reply: Any) -> int | None:
    return None if reply is None else int(reply)


def server_has(cluster: Cluster, command: str) -> bool:
    """``COMMAND INFO <command>`` answers a nil entry for a command the server lacks."""
    for node_id in sorted(cluster.members):
        # A bare connection: redis-py's COMMAND reply callback chokes on the nil entry.
        client = Client(*cluster.client_address(node_id), timeout_s=2.0)
        try:
            reply = client.call("COMMAND", "INFO", command)
        except CommandFailed:
            continue
        finally:
            client.close()
        return bool(reply) and reply[0] is not None
    raise RuntimeError("no node answered COMMAND INFO")


@dataclass
class Workload:
    name: str = ""
    mode: str = ""  # how the workload ran (shown in the report)
    values: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def prepare(self, cluster: Cluster) -> None: ...
    def invoke(self, rng: random.Random) -> Invocation: raise NotImplementedError
    def perform(self, client: Client, inv: Invocation) -> Any: raise NotImplementedError
    def final_reads(self) -> list[Invocation]: return []
    def check(self, records: list[Record]) -> CheckResult: raise NotImplementedError


@dataclass
class Register(Workload):
    name: str = "register"
    keys_live: int = 3
    ops_per_key: int = 120
    cas: bool = False
    started: int = 0

    def prepare(self, cluster: Cluster) -> None:
        self.cas = server_has(cluster, "multi")
        self.mode = ("read/write/cas (WATCH/MULTI/EXEC)" if self.cas else
                     "read/write only: the server has no MULTI, so no compare-and-set")

    def _key(self, rng: random.Random) -> str:
        with self.lock:
            generation = self.started // (self.keys_live * self.ops_per_key)
            self.started += 1
        return f"jepsen-r{generation * self.keys_live + rng.randrange(self.keys_live)}"

    def invoke(self, rng: random.Random) -> Invocation:
        key = self._key(rng)
        roll = rng.random()
        if self.cas and roll < 0.25:
            return Invocation("cas", key, (rng.randint(1, max(1, self._peek() - 1)), next(self.values)))
        if roll < 0.5:
            return Invocation("read", key, None)
        return Invocation("write", key, next(self.values))

    def _peek(self) -> int:
        with self.lock:
            value = next(self.values)
        return value

    def perform(self, client: Client, inv: Invocation) -> Any:
        if inv.kind == "read":
            return _int_or_none(client.call("GET", inv.key))
        if inv.kind == "write":
            client.call("SET", inv.key, inv.value)
            return None
        expected, new = inv.value
        # Before MULTI nothing was written: a mismatch or error there is a definite fail.
        try:
            client.call("WATCH", inv.key)
            current = _int_or_none(client.call("GET", inv.key))
        except CommandFailed as failed:
            raise CommandFailed("fail", failed.text) from failed
        if current != expected:
            client.call("UNWATCH")
            raise CommandFailed("fail", f"cas mismatch: {current} != {expected}")
        client.call("MULTI")
        client.call("SET", inv.key, new)
        if client.call("EXEC") is None:
            raise CommandFailed("fail", "EXEC aborted: the watched key changed")
        return None

    def check(self, records: list[Record]) -> CheckResult:
        return check_linearizable(records, RegisterModel(), max_visited=5_000_000)


@dataclass
class SetWorkload(Workload):
    name: str = "set"
    key: str = "jepsen-set"
    native: bool = True

    def prepare(self, cluster: Cluster) -> None:
        self.native = server_has(cluster, "sadd")
        self.mode = ("SADD to one set, final SMEMBERS" if self.native else
                     f"emulated: SET {self.key}:<element>, final KEYS {self.key}:* "
                     "(the server has no SADD)")

    def invoke(self, rng: random.Random) -> Invocation:
        return Invocation("add", self.key, next(self.values))

    def perform(self, client: Client, inv: Invocation) -> Any:
        if inv.kind == "add":
            if self.native:
                client.call("SADD", self.key, inv.value)
            else:
                client.call("SET", f"{self.key}:{inv.value}", 1)
            return None
        if self.native:
            members = client.call("SMEMBERS", self.key)
            return frozenset(int(m) for m in members)
        names = client.call("KEYS", f"{self.key}:*")
        return frozenset(int(n.split(b":")[-1]) for n in names)

    def final_reads(self) -> list[Invocation]:
        return [Invocation("read", self.key, None)]

    def check(self, records: list[Record]) -> CheckResult:
        return check_set(records)


@dataclass
class Counter(Workload):
    name: str = "counter"
    key: str = "jepsen-counter"
    mode: str = "INCRBY 1..5 and GET on one key, final GET"

    def invoke(self, rng: random.Random) -> Invocation:
        if rng.random() < 0.3:
            return Invocation("read", self.key, None)
        return Invocation("incr", self.key, rng.randint(1, 5))

    def perform(self, client: Client, inv: Invocation) -> Any:
        if inv.kind == "incr":
            return int(client.call("INCRBY", self.key, inv.value))
        value = client.call("GET", self.key)
        return 0 if value is None else int(value)

    def final_reads(self) -> list[Invocation]:
        return [Invocation("read", self.key, None)]

    def check(self, records: list[Record]) -> CheckResult:
        return check_counter(records)


WORKLOADS = {"register": Register, "set": SetWorkload, "counter": Counter}


def make_workload(name: str) -> Workload:
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}; choose from {sorted(WORKLOADS)}")
    workload: Workload = WORKLOADS[name]()
    return workload


def run_op(recorder: Recorder, client: Client, workload: Workload, process: int,
           inv: Invocation) -> Op:
    """Invoke, perform, record; the recorded op is returned."""
    invoke = recorder.now()
    try:
        output = workload.perform(client, inv)
        status = "ok"
        error = None
    except CommandFailed as failed:
        output, status, error = None, failed.status, failed.text
    complete = recorder.now()
    op = Op(process, inv.kind, inv.key, inv.value, invoke, complete, status,  # type: ignore[arg-type]
            output if status == "ok" else None)
    recorder.op(op)
    if error is not None:
        recorder.count_error(status, error)
    return op


@dataclass
class Worker:
    """One client thread bound to one node; a new process number after every ``info``."""

    index: int
    workers: int
    node_id: int
    cluster: Cluster
    recorder: Recorder
    workload: Workload
    stop: threading.Event
    seed: int
    timeout_s: float = 1.5
    delay_s: float = 0.02
    generation: int = 0

    @property
    def process(self) -> int:
        return self.index + self.workers * self.generation

    def run(self) -> None:
        rng = random.Random(self.seed * 1000 + self.index)
        host, port = self.cluster.client_address(self.node_id)
        client = Client(host, port, self.timeout_s)
        try:
            while not self.stop.is_set():
                op = run_op(self.recorder, client, self.workload, self.process,
                            self.workload.invoke(rng))
                if op.status == "info":
                    self.generation += 1
                    client.close()
                if op.status != "ok":
                    self.stop.wait(0.05 + rng.uniform(0, 0.1))  # do not spin on a dead node
                else:
                    self.stop.wait(rng.uniform(0, self.delay_s))
        finally:
            client.close()


def final_reads(cluster: Cluster, recorder: Recorder, workload: Workload,
                timeout_s: float = 40.0) -> bool:
    """Each final read retried on every node in turn until one is ok; all tries recorded."""
    ok = True
    for i, inv in enumerate(workload.final_reads()):
        deadline = time.monotonic() + timeout_s
        done = False
        attempt = 0
        while not done and time.monotonic() < deadline:
            node_id = sorted(cluster.members)[attempt % len(cluster.members)]
            host, port = cluster.client_address(node_id)
            client = Client(host, port, timeout_s=5.0)
            op = run_op(recorder, client, workload, FINAL_PROCESS_BASE + 1000 * i + attempt, inv)
            client.close()
            done = op.status == "ok"
            attempt += 1
            if not done:
                time.sleep(0.3)
        ok = ok and done
    return ok
