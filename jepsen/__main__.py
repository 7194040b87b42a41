"""`python -m jepsen run|check|cleanup` (see jepsen/README.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jepsen.runner import EXIT_FAILED, STORE, Options, command_line, run


def _pair(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition(",")
    return float(lo), float(hi or lo)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m jepsen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="start a cluster, run a workload under faults, check it")
    r.add_argument("--workload", choices=["register", "set", "counter"], default="register")
    r.add_argument("--nemesis", default="kill,partition",
                   help="comma-separated: kill,pause,partition,membership,transfer (or none)")
    r.add_argument("--nodes", type=int, default=3)
    r.add_argument("--time-limit", type=float, default=30.0, help="seconds of client load")
    r.add_argument("--concurrency", type=int, default=0, help="clients (default 2 per node)")
    r.add_argument("--seed", type=int, default=None, help="schedule and op seed (default random)")
    r.add_argument("--no-netns", action="store_true",
                   help="plain loopback processes even when namespaces are available")
    r.add_argument("--server-root", type=Path, default=None,
                   help="run the nodes from this source tree (PYTHONPATH and cwd)")
    r.add_argument("--store", type=Path, default=STORE)
    r.add_argument("--client-timeout", type=float, default=1.5, help="socket timeout (s)")
    r.add_argument("--quiet", type=_pair, default=(2.0, 4.0), help="MIN,MAX s between faults")
    r.add_argument("--fault-duration", type=_pair, default=(3.0, 7.0), help="MIN,MAX s per fault")
    c = sub.add_parser("check", help="re-check a stored history.jsonl")
    c.add_argument("history", type=Path)
    c.add_argument("--workload", choices=["register", "set", "counter"], required=True)
    sub.add_parser("cleanup", help="delete namespaces/veths left by dead harness runs")
    args = parser.parse_args(argv)
    if args.command == "cleanup":
        from jepsen.net import cleanup_stale

        removed = cleanup_stale()
        print("removed: " + (", ".join(removed) or "nothing"))
        return 0
    if args.command == "check":
        from jepsen.workloads import make_workload
        from seshat.check import format_result, read_jsonl

        result = make_workload(args.workload).check(read_jsonl(args.history))
        print(format_result(result))
        return 0 if result.valid else 1
    opts = Options(
        workload=args.workload, nemesis=args.nemesis, nodes=args.nodes,
        time_limit_s=args.time_limit, concurrency=args.concurrency, seed=args.seed,
        use_namespaces=not args.no_netns, server_root=args.server_root, store=args.store,
        timeout_s=args.client_timeout, quiet_s=args.quiet, fault_s=args.fault_duration,
    )
    try:
        code, _ = run(opts, command_line(argv))
    except Exception as error:  # noqa: BLE001 -- any setup error is exit 2, not a traceback
        print(f"jepsen: run failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
