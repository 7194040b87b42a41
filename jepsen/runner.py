"""One run: set up the network and cluster, run clients under the nemesis, check, report.

Exit codes: 0 the history is valid, 1 the checker found an anomaly, 2 the run itself failed
(the cluster did not start or never recovered for the final read, no operation succeeded, the
check ran out of budget, an unexpected error). Whatever happens, every process we started is
killed and every namespace and veth we made is deleted before returning.
"""

from __future__ import annotations

import os
import random
import shlex
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from jepsen.db import Cluster
from jepsen.history import Recorder
from jepsen.nemesis import Nemesis, generate_schedule, parse_nemeses
from jepsen.net import LoopbackNet, make_net
from jepsen.report import RunSummary, write_report
from jepsen.workloads import Worker, final_reads, make_workload
from seshat.check import SearchBudgetExceeded

STORE = Path(__file__).resolve().parent / "store"

EXIT_VALID, EXIT_ANOMALY, EXIT_FAILED = 0, 1, 2


@dataclass
class Options:
    workload: str = "register"
    nemesis: str = "kill,partition"
    nodes: int = 3
    time_limit_s: float = 30.0
    concurrency: int = 0  # 0: two clients per node
    seed: int | None = None
    use_namespaces: bool = True
    server_root: Path | None = None
    store: Path = STORE
    timeout_s: float = 1.5
    run_id: str = ""
    quiet_s: tuple[float, float] = (2.0, 4.0)
    fault_s: tuple[float, float] = (3.0, 7.0)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(opts: Options, command: str = "") -> tuple[int, Path]:
    """Run once; returns (exit code, store directory)."""
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(2**31)
    run_id = opts.run_id or (time.strftime("%Y%m%dT%H%M%S") + f"-{opts.workload}-{os.getpid()}")
    store = opts.store / run_id
    store.mkdir(parents=True, exist_ok=True)
    kinds = parse_nemeses(opts.nemesis)
    workload = make_workload(opts.workload)
    net = make_net(opts.use_namespaces)
    skipped: list[str] = []
    notes: list[str] = []
    if "partition" in kinds and not net.can_partition:
        kinds.remove("partition")
        skipped.append("partition")
        notes.append(net.why_no_partition)
        print(f"jepsen: {net.why_no_partition}; skipping the partition nemesis", file=sys.stderr)
    schedule = generate_schedule(kinds, opts.time_limit_s, seed, quiet_s=opts.quiet_s,
                                 fault_s=opts.fault_s)
    node_ids = list(range(1, opts.nodes + 1))
    recorder = Recorder()
    cluster = Cluster(net, node_ids, store, opts.server_root)
    nemesis: Nemesis | None = None
    verdict, result, exit_code = "run failed", None, EXIT_FAILED
    check_s = 0.0
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    else:
        previous = None
    try:
        try:
            net.setup(node_ids)
            for n in node_ids:
                cluster.start(n, wait=False)
            for n in node_ids:
                cluster.wait_serving(n)
            cluster.wait_leader(timeout_s=30, agreed=True)
            workload.prepare(cluster)
            print(f"jepsen: {run_id}: {opts.workload} ({workload.mode}), nemesis "
                  f"{','.join(kinds) or 'none'}, {len(schedule)} faults planned, "
                  f"{opts.time_limit_s:.0f} s, seed {seed}, {net.describe()}", file=sys.stderr)
            recorder = Recorder()  # time 0 = clients start
            nemesis = Nemesis(cluster, recorder, schedule, seed)
            stop = threading.Event()
            concurrency = opts.concurrency or 2 * opts.nodes
            workers = [Worker(i, concurrency, node_ids[i % len(node_ids)], cluster, recorder,
                              workload, stop, seed, timeout_s=opts.timeout_s)
                       for i in range(concurrency)]
            threads = [threading.Thread(target=w.run, name=f"client-{w.index}", daemon=True)
                       for w in workers]
            for t in threads:
                t.start()
            nemesis.start()
            while recorder.seconds() < opts.time_limit_s:
                time.sleep(0.2)
            nemesis.stop()  # heals whatever is still broken
            stop.set()
            for t in threads:
                t.join(timeout=30)
            cluster.wait_leader(timeout_s=30)
            final_ok = final_reads(cluster, recorder, workload)
            notes.extend(f"nemesis error: {e}" for e in nemesis.errors)
            records = recorder.snapshot()
            if not final_ok:
                raise RuntimeError("the final read never succeeded: the cluster did not recover")
            if not any(getattr(r, "status", None) == "ok" for r in records):
                raise RuntimeError("no operation succeeded: nothing to check")
            began = time.monotonic()
            try:
                result = workload.check(records)
            finally:
                check_s = time.monotonic() - began
            verdict = "valid" if result.valid else "INVALID"
            exit_code = EXIT_VALID if result.valid else EXIT_ANOMALY
        except SearchBudgetExceeded as error:
            verdict = "unknown"
            notes.append(f"the linearizability search ran out of budget: {error}")
        except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 -- any failure is exit 2
            notes.append(f"run failed: {type(error).__name__}: {error}")
            traceback.print_exc()
        finally:
            if nemesis is not None:
                try:
                    nemesis.stop()
                except Exception as error:  # noqa: BLE001 -- reported; cleanup goes on
                    notes.append(f"heal failed: {error}")
            cluster.stop_all()
            net.teardown()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    records = recorder.snapshot()
    recorder.write(store / "history.jsonl")
    if isinstance(net, LoopbackNet) and not skipped:
        notes.append("nodes ran as loopback processes: " + net.why_no_partition)
    summary = RunSummary(
        run_id=run_id, command=command, seed=seed, nodes=opts.nodes, net=net.describe(),
        workload=opts.workload, workload_mode=workload.mode, nemeses=kinds, skipped=skipped,
        time_limit_s=opts.time_limit_s, schedule=schedule, verdict=verdict, result=result,
        exit_code=exit_code, duration_s=recorder.seconds(), check_s=check_s, notes=notes,
        errors=dict(recorder.errors), error_examples=dict(recorder.error_examples),
    )
    print(write_report(summary, records, store))
    return exit_code, store


def command_line(argv: list[str]) -> str:
    return "python -m jepsen " + shlex.join(argv)
