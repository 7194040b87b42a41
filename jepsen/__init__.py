"""Seshat's chaos harness: real nodes, concurrent clients, injected faults, checked histories.

`python -m jepsen run --workload register --nemesis kill,partition --time-limit 60` starts its
own cluster (each node in a network namespace when we are root, plain loopback processes
otherwise), runs clients against it while a nemesis kills, pauses, partitions and reconfigures
nodes, then checks the recorded history with `seshat.check`. See `jepsen/README.md`.

Modules, in the order a run uses them:

- `net`: where nodes live and how they are cut apart (namespaces + iptables, or loopback).
- `db`: the node processes (start, kill -9, SIGSTOP, wipe and rejoin, leader lookup).
- `history`: the recorder (strictly increasing microsecond clock, thread-safe append).
- `client`: one connection per worker; every error classified as ``fail`` or ``info``.
- `workloads`: register, set and counter: what clients do, the final reads, which checker.
- `nemesis`: the fault schedule (a pure function of a seed) and its executor.
- `report`: report.md and the latency plot with fault windows shaded.
- `runner`: the run itself and its exit code (0 valid, 1 anomaly, 2 the run failed).
"""
