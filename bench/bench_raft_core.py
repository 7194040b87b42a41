"""The Raft core alone: proposals committed per second of CPU time, three nodes, no I/O.

Three `RawNode`s exchange messages in memory (persistence is a `MemoryLogStorage` append, so
what is measured is the core's own work: stepping messages, building Readies, commit math).
Run it alone: `python bench/bench_raft_core.py [--proposals N]`. It compares proposing one
entry per Ready cycle with proposing batches, which is what the server does with every
proposal that arrives in one event-loop turn. Results go to BENCHMARKS.md, never to a test.
"""

from __future__ import annotations

import argparse
import random
import time

from seshat.raft import Config, ConfState, MemoryLogStorage, Message, RawNode, StateRole


class LockstepCluster:
    def __init__(self, size: int = 3) -> None:
        ids = list(range(1, size + 1))
        self.storages = {}
        self.nodes: dict[int, RawNode] = {}
        for i in ids:
            storage = MemoryLogStorage()
            storage.bootstrap(ConfState(tuple(ids), ()))
            self.storages[i] = storage
            self.nodes[i] = RawNode(Config(id=i, rng=random.Random(i)), storage)
        self.applied = 0

    def stabilize(self) -> None:
        inbox: list[Message] = []
        while True:
            progressed = False
            for node_id, node in self.nodes.items():
                if not node.has_ready():
                    continue
                progressed = True
                rd = node.ready()
                inbox.extend(rd.messages)
                storage = self.storages[node_id]
                if rd.entries:
                    storage.append(rd.entries)
                if rd.hard_state is not None:
                    storage.set_hard_state(rd.hard_state)
                inbox.extend(rd.persisted_messages)
                if node_id == 1:
                    self.applied += sum(1 for e in rd.committed_entries if e.data)
                node.advance(rd)
            messages, inbox = inbox, []
            for m in messages:
                self.nodes[m.to].step(m)
                progressed = True
            if not progressed:
                return


def run(proposals: int, batch: int) -> tuple[float, int]:
    cluster = LockstepCluster()
    cluster.nodes[1].campaign()
    cluster.stabilize()
    assert cluster.nodes[1].role() is StateRole.LEADER
    payload = b"x" * 100
    cluster.applied = 0  # the bootstrap membership entries are not proposals
    start = time.process_time()
    sent = 0
    while sent < proposals:
        n = min(batch, proposals - sent)
        cluster.nodes[1].propose([payload] * n)
        sent += n
        cluster.stabilize()
    elapsed = time.process_time() - start
    return elapsed, cluster.applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proposals", type=int, default=20_000)
    args = parser.parse_args()
    print("| batch | proposals | CPU s | committed proposals per CPU second |")
    print("|---:|---:|---:|---:|")
    for batch in (1, 16, 64, 256):
        elapsed, applied = run(args.proposals, batch)
        assert applied == args.proposals, (applied, args.proposals)
        print(f"| {batch} | {args.proposals} | {elapsed:.2f} | {applied / elapsed:,.0f} |")


if __name__ == "__main__":
    main()
