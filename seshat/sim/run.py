"""One simulated run per seed: draw the fault mix, run, heal, require progress, check history.

Phases (after TigerBeetle's VOPR):
1. *Faults*: `steps` events with the seed's mix of message loss, duplication and delay,
   partitions (symmetric, one-way, isolated leader), crashes and restarts, membership changes,
   leadership transfers and log compaction, while clients read and write.
2. *Liveness*: every fault is healed and every node restarted; within `LIVENESS_TICKS` a leader
   must emerge and a fresh write through it must commit.
3. *Checks*: log matching across all nodes, and the client history must be linearizable.
Safety invariants are checked after every step of both phases.
"""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass, field

import msgpack

from seshat.check.linearizability import check_linearizable
from seshat.check.result import format_result
from seshat.raft.core import ProposalDropped
from seshat.raft.types import ConfChange, ConfChangeType, StateRole
from seshat.sim.cluster import ELECTION_TICKS, TICK, SimCluster
from seshat.sim.invariants import Violation
from seshat.sim.network import NetworkFaults
from seshat.sim.workload import RegisterWorkload

LIVENESS_TICKS = 40 * ELECTION_TICKS
FAULT_KINDS = ("drop", "delay", "duplicate", "partition", "crash", "membership", "transfer", "snapshot")


@dataclass(slots=True)
class Params:
    """The seed's draw: which faults, how often. Printed first so a failure is explained."""

    seed: int
    nodes: int
    steps: int
    drop: float
    duplicate: float
    delay_max: int
    crash: float
    partition: float
    membership: float
    transfer: float
    snapshot: float
    fsync_max: int
    crash_before_fsync: float
    pre_vote: bool
    check_quorum: bool
    append_entries_max: int

    @classmethod
    def draw(cls, seed: int, steps: int, nodes: int | None, faults: frozenset[str]) -> Params:
        rng = random.Random(seed ^ 0x5EED)
        pick = rng.choice
        return cls(
            seed=seed,
            nodes=nodes if nodes is not None else pick((1, 3, 3, 5)),
            steps=steps,
            drop=pick((0.0, 0.01, 0.05, 0.2)) if "drop" in faults else 0.0,
            duplicate=pick((0.0, 0.02, 0.1)) if "duplicate" in faults else 0.0,
            delay_max=pick((2, 10, 40)) if "delay" in faults else 2,
            crash=pick((0.0, 0.02, 0.05)) if "crash" in faults else 0.0,
            partition=pick((0.0, 0.02, 0.05)) if "partition" in faults else 0.0,
            membership=pick((0.0, 0.02, 0.05)) if "membership" in faults else 0.0,
            transfer=pick((0.0, 0.02)) if "transfer" in faults else 0.0,
            snapshot=pick((0.0, 0.05, 0.2)) if "snapshot" in faults else 0.0,
            # Slow disks widen the window in which a crash loses a Ready's unpersisted state.
            # (At most 4 ticks: an fsync longer than the election timeout is a broken disk,
            # and elections would never finish; the liveness phase models healthy disks.)
            fsync_max=pick((5, 5, 20, 40)) if "crash" in faults else 5,
            # buggify (decided once per seed): crash right after a Ready's messages left.
            crash_before_fsync=pick((0.0, 0.002, 0.01, 0.05)) if "crash" in faults else 0.0,
            # The core supports running without either; elections contend more without them.
            pre_vote=pick((True, True, False)),
            check_quorum=pick((True, True, False)),
            append_entries_max=pick((1, 2, 64, 64)),
        )

    def describe(self) -> str:
        return " ".join(f"{name}={getattr(self, name)}" for name in self.__slots__)  # type: ignore[attr-defined]


@dataclass(slots=True)
class Outcome:
    seed: int
    ok: bool
    failure: str = ""
    trace_hash: int = 0
    ops: int = 0
    commits: int = 0
    params: Params | None = None
    trace: list[str] = field(default_factory=list)


class Nemesis:
    """Injects the seed's faults every few ticks during the fault phase."""

    def __init__(self, cluster: SimCluster, params: Params, rng: random.Random) -> None:
        self.cluster = cluster
        self.params = params
        self.rng = rng
        self.active = True
        self.partitioned_until = 0
        self.node_ids = sorted(cluster.nodes)
        cluster.schedule(TICK, "call", 0, self._act)

    def _act(self) -> None:
        if not self.active:
            return
        c, p, rng = self.cluster, self.params, self.rng
        if c.now >= self.partitioned_until and c.net.cut:
            c.net.heal()
            c.trace and c.trace(f"{c.now} heal")
        if rng.random() < p.crash:
            victim = rng.choice(self.node_ids)
            c.crash(victim)
            c.schedule(c.now + rng.randint(1, 4 * ELECTION_TICKS) * TICK, "call", 0, lambda: c.restart(victim))
        if rng.random() < p.partition and len(self.node_ids) > 1:
            self._partition()
        if rng.random() < p.membership:
            self._change_membership()
        if rng.random() < p.transfer:
            leader = c.leader()
            if leader is not None and leader.raw is not None:
                target = rng.choice(leader.raw.conf_state().voters)
                leader.raw.transfer_leader(target)
                c._after_step(leader)
        if rng.random() < p.snapshot:
            c.compact(rng.choice(self.node_ids), keep=rng.choice((5, 20)))
        c.schedule(c.now + rng.randint(1, 5) * TICK, "call", 0, self._act)

    def _partition(self) -> None:
        c, rng = self.cluster, self.rng
        ids = list(self.node_ids)
        rng.shuffle(ids)
        kind = rng.choice(("halves", "isolate_leader", "one_way"))
        if kind == "halves":
            cut = rng.randint(1, len(ids) - 1)
            c.net.partition([ids[:cut], ids[cut:]])
        elif kind == "isolate_leader":
            leader = c.leader()
            lone = leader.id if leader is not None else ids[0]
            c.net.partition([[lone], [i for i in ids if i != lone]])
        else:
            c.net.cut_one_way(ids[0], ids[1])
        self.partitioned_until = c.now + rng.randint(2, 6 * ELECTION_TICKS) * TICK
        c.trace and c.trace(f"{c.now} partition {kind} {sorted(c.net.cut)}")

    def _change_membership(self) -> None:
        c, rng = self.cluster, self.rng
        leader = c.leader()
        if leader is None or leader.raw is None:
            return
        raw = leader.raw
        conf = raw.conf_state()
        outsiders = [n for n in self.node_ids if n not in conf.voters and n not in conf.learners]
        change: ConfChange | None = None
        if conf.learners:
            learner = conf.learners[0]
            pr = raw.raft.progress.get(learner)
            if pr is not None and pr.match + 5 >= raw.last_index():
                change = ConfChange(ConfChangeType.ADD_NODE, learner)  # caught up: promote
        elif outsiders and rng.random() < 0.6:
            change = ConfChange(ConfChangeType.ADD_LEARNER, rng.choice(outsiders))
        elif len(conf.voters) > 2:
            change = ConfChange(ConfChangeType.REMOVE_NODE, rng.choice(conf.voters))
        if change is None:
            return
        try:
            raw.propose_conf_change(change)
        except ProposalDropped:
            return
        c.trace and c.trace(f"{c.now} conf {change.type.name} {change.node_id} at {leader.id}")
        c._after_step(leader)

    def heal_all(self) -> None:
        self.active = False
        c = self.cluster
        c.net.heal()
        c.net.faults.drop = 0.0
        c.net.faults.duplicate = 0.0
        for node_id in self.node_ids:
            c.restart(node_id)


def run_seed(
    seed: int,
    steps: int,
    nodes: int | None = None,
    faults: frozenset[str] = frozenset(FAULT_KINDS),
    trace: bool = False,
) -> Outcome:
    params = Params.draw(seed, steps, nodes, faults)
    rng = random.Random(seed)
    lines: list[str] = []
    net_faults = NetworkFaults(drop=params.drop, duplicate=params.duplicate, delay_max=params.delay_max)
    # Spare nodes (outside the initial configuration) let membership changes add new members.
    spare = 1 if params.nodes > 1 and params.membership > 0 else 0
    node_ids = list(range(1, params.nodes + spare + 1))
    voters = list(range(1, params.nodes + 1))
    cluster = SimCluster(
        node_ids,
        voters,
        rng,
        net_faults,
        trace=lines.append if trace else None,
        pre_vote=params.pre_vote,
        check_quorum=params.check_quorum,
    )
    cluster.fsync_max = params.fsync_max
    for sim_node in cluster.nodes.values():
        sim_node.append_entries_max = params.append_entries_max
        sim_node.restart()  # pick the setting up (nothing has happened yet)
    cluster.crash_before_fsync = params.crash_before_fsync
    workload = RegisterWorkload(cluster, rng, clients=3)
    nemesis = Nemesis(cluster, params, rng)
    outcome = Outcome(seed=seed, ok=True, params=params, trace=lines)
    try:
        for i in range(steps):
            if not cluster.step():
                break
            if i % 250 == 249:
                cluster.check_all()
        cluster.crash_before_fsync = 0.0
        cluster.fsync_max = 5  # faults are over: healthy disks too
        nemesis.heal_all()
        _require_liveness(cluster)
        workload.stop()
        _drain(cluster)
        cluster.check_all()
        result = check_linearizable(workload.history)
        if not result.valid:
            raise Violation("linearizability", format_result(result))
    except Violation as violation:
        outcome.ok = False
        outcome.failure = str(violation)
    except AssertionError as error:  # a core assertion: a broken invariant inside a node
        outcome.ok = False
        outcome.failure = "core assertion: " + "".join(
            traceback.format_exception_only(type(error), error)
        ).strip() + "\n" + "".join(traceback.format_tb(error.__traceback__)[-3:])
    except Exception:  # a crash in the core or the simulator is a failure of this seed too
        outcome.ok = False
        outcome.failure = "exception:\n" + traceback.format_exc(limit=-4)
    outcome.trace_hash = cluster.trace_hash
    outcome.ops = len(workload.history)
    outcome.commits = len(cluster.checker.committed)
    return outcome


def _require_liveness(cluster: SimCluster) -> None:
    """After healing, a leader must emerge and commit a fresh write within LIVENESS_TICKS."""
    deadline = cluster.now + LIVENESS_TICKS * TICK
    marker = msgpack.packb(["liveness", cluster.now])
    committed: list[str] = []
    proposed_at: int | None = None
    while cluster.now < deadline:
        if not committed and (proposed_at is None or cluster.now - proposed_at > 20 * TICK):
            leader = cluster.leader()
            if leader is not None and leader.raw is not None and leader.raw.role() is StateRole.LEADER:
                proposed_at = cluster.now
                cluster.propose(leader.id, marker, committed.append)
        if committed and committed[-1] == "ok":
            return
        if committed and committed[-1] != "ok":
            committed.clear()
        if not cluster.step():
            break
    leaders = [(n.id, n.raw.term()) for n in cluster.live_nodes() if n.raw and n.raw.role() is StateRole.LEADER]
    raise Violation(
        "liveness",
        f"no write committed within {LIVENESS_TICKS} ticks after healing (leaders: {leaders})",
    )


def _drain(cluster: SimCluster) -> None:
    """Let in-flight operations finish or time out so the history is complete."""
    deadline = cluster.now + 50 * TICK
    while cluster.now < deadline and cluster.step():
        pass
