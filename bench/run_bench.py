"""Measure Seshat against its peers with redis-benchmark, in one run, on one machine.

Theory of operation. Absolute figures on these shared VMs move 15-30 % between runs
(/work/shared/COSTS.md), so a figure means something only next to a peer measured in the same
run. This script starts each target on a free loopback port, waits until it answers, runs the
same redis-benchmark scenarios against it, reads the server's CPU time from /proc around each
one, stops it (whole process group, also on error or Ctrl-C), and moves on. It prints the
machine, a Markdown table and the ratios the project's targets are stated in, and writes every
number plus the exact commands to JSON (``--out``).

Targets:
  redis-mem   redis-server in memory (--save '' --appendonly no)
  redis-aof   redis-server --appendonly yes --appendfsync always, data in a temp dir
  minimal     bench/minimal_server.py: the ceiling for a Python RESP server
  seshat      .venv/bin/seshat single node (tried when the binary exists; --seshat requires it)

Run alone: ``.venv/bin/python bench/run_bench.py`` (see bench/README.md). Results belong in
BENCHMARKS.md, never in tests.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only, always
VALUE_BYTES = 3  # redis-benchmark's default -d, and COSTS.md's

# Bounded waits. Seshat opens its port before it has elected itself, so readiness means "PING
# answers and a SET succeeds", retried every READY_POLL_S for at most --startup-timeout seconds.
READY_POLL_S = 0.05
STOP_GRACE_S = 10.0  # SIGTERM, then SIGKILL to the process group after this long
PROBE_KEY = b"__seshat_bench_probe__"
MIN_REQUESTS = 1000  # below this a p99 is a handful of samples
BUDGET_S = 15.0  # default wall time one (scenario, test) may take; see sized_requests

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# Scenarios: what redis-benchmark is asked to do. One invocation per (scenario, test) so that
# the server CPU time read around it belongs to that test alone.


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    clients: int
    pipeline: int
    requests: int  # the most to send; fewer when the server is too slow for --budget-s
    keyspace: int | None  # -r; None = every request hits the one key "key:__rand_int__"
    default: bool
    why: str

    def argv(self, port: int, test: str, requests: int) -> list[str]:
        argv = ["-h", HOST, "-p", str(port), "-t", test, "-n", str(requests)]
        argv += ["-c", str(self.clients), "-P", str(self.pipeline), "-d", str(VALUE_BYTES)]
        if self.keyspace is not None:
            argv += ["-r", str(self.keyspace)]
        return argv + ["--csv"]


SCENARIOS = [
    Scenario(
        "c50_P1",
        50,
        1,
        200_000,
        None,
        True,
        "one key; the single-threaded client saturates first, so this hardly separates servers",
    ),
    Scenario(
        "c50_P16",
        50,
        16,
        200_000,
        None,
        True,
        "one key; server-bound: every Python step per command shows here (COSTS.md)",
    ),
    Scenario(
        "c50_P16_r100k",
        50,
        16,
        200_000,
        100_000,
        True,
        "100k random keys; same, with a real keyspace behind the store",
    ),
    Scenario(
        "c1_P1",
        1,
        1,
        20_000,
        None,
        True,
        "one client, one key: latency of a single request, fsync included where there is one",
    ),
    Scenario(
        "c1_P1_r100k",
        1,
        1,
        20_000,
        100_000,
        False,
        "one client, 100k random keys (not run unless named in --scenarios)",
    ),
]
TESTS = ("set", "get")  # SET first, so GET finds values (most of them, with -r)

MEMORY_LOAD = Scenario(
    "load_1M", 50, 16, 1_000_000, 1_000_000, False, "the --memory step: 1M SETs over 1M random keys"
)


# --------------------------------------------------------------------------------------------
# Targets: how to start each server.


@dataclass
class Target:
    name: str
    title: str
    argv: Callable[[int, int, Path], list[str]]  # (port, raft_port, data_dir) -> argv
    required: bool = True  # False: failing to start is a skip with a note, not an error


def _redis_argv(*extra: str) -> Callable[[int, int, Path], list[str]]:
    def argv(port: int, _raft_port: int, data_dir: Path) -> list[str]:
        return [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            HOST,
            "--dir",
            str(data_dir),
            "--daemonize",
            "no",
            "--logfile",
            "",
            "--protected-mode",
            "yes",
            *extra,
        ]

    return argv


def _minimal_argv(port: int, _raft_port: int, _data_dir: Path) -> list[str]:
    return [
        sys.executable,
        str(REPO / "bench" / "minimal_server.py"),
        "--host",
        HOST,
        "--port",
        str(port),
    ]


def _seshat_argv(binary: Path, extra: list[str]) -> Callable[[int, int, Path], list[str]]:
    def argv(port: int, raft_port: int, data_dir: Path) -> list[str]:
        return [
            str(binary),
            "--port",
            str(port),
            "--raft-port",
            str(raft_port),
            "--data-dir",
            str(data_dir),
            *extra,
        ]

    return argv


# --------------------------------------------------------------------------------------------
# A tiny RESP client for probes (readiness, DBSIZE, a correctness spot check). Kept here so the
# script needs nothing but the standard library.


class RespError(Exception):
    pass


def _read_reply(f: io.BufferedReader) -> Any:
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed mid-reply")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        return RespError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise ConnectionError(f"unexpected reply line {line[:64]!r}")


def resp_call(port: int, *args: bytes, timeout_s: float = 2.0) -> Any:
    payload = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection((HOST, port), timeout=timeout_s) as s:
        s.sendall(payload)
        with s.makefile("rb") as f:
            return _read_reply(f)


# --------------------------------------------------------------------------------------------
# Processes.


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _pgid_pids(pgid: int) -> list[int]:
    """Every live process in the group (Seshat may start helpers; RSS and CPU count them all)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid:  # fields[0] is state; ppid, pgrp follow
                pids.append(int(entry))
    return pids


def cpu_seconds(pgid: int) -> float:
    total = 0
    for pid in _pgid_pids(pgid):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat(5))
    return total / CLK_TCK


def rss_kib(pgid: int) -> int:
    total = 0
    for pid in _pgid_pids(pgid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class ServerFailed(Exception):
    pass


@dataclass
class Running:
    target: Target
    proc: subprocess.Popen[bytes]
    port: int
    raft_port: int
    data_dir: Path
    log: Path
    argv: list[str]
    startup_s: float = 0.0


def stop(server: Running) -> None:
    """SIGTERM the whole process group, SIGKILL it after STOP_GRACE_S. Never raises."""
    proc = server.proc
    for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None and not _pgid_pids(proc.pid):
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + wait_s
        while _pgid_pids(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _pgid_pids(proc.pid):
            return
    print(
        f"  warning: process group {proc.pid} of {server.target.name} survived SIGKILL",
        file=sys.stderr,
    )


def _wait_ready(server: Running, timeout_s: float) -> None:
    """PING answers PONG and a SET answers OK, within timeout_s; else ServerFailed."""
    deadline = time.monotonic() + timeout_s
    last = "no attempt"
    tries = 0
    while time.monotonic() < deadline:
        tries += 1
        if server.proc.poll() is not None:
            raise ServerFailed(
                f"{server.target.name} exited with status {server.proc.returncode} before "
                f"answering on {HOST}:{server.port}\n--- log tail ---\n{_tail(server.log)}"
            )
        try:
            if resp_call(server.port, b"PING") == b"PONG":
                reply = resp_call(server.port, b"SET", PROBE_KEY, b"1")
                if reply == b"OK":
                    resp_call(server.port, b"DEL", PROBE_KEY)
                    return
                last = f"SET answered {reply!r}"
            else:
                last = "PING did not answer PONG"
        except (OSError, RespError, ValueError) as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(READY_POLL_S)
    raise ServerFailed(
        f"{server.target.name} did not become ready on {HOST}:{server.port} within {timeout_s}s "
        f"({tries} tries; last: {last})\n--- log tail ---\n{_tail(server.log)}"
    )


@contextmanager
def running(target: Target, work_dir: Path, startup_timeout_s: float) -> Iterator[Running]:
    port, raft_port = free_port(), free_port()
    while raft_port == port:
        raft_port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=work_dir))
    log = data_dir.with_suffix(".log")
    argv = target.argv(port, raft_port, data_dir)
    with open(log, "wb") as log_f:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log_f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Running(target, proc, port, raft_port, data_dir, log, argv)
    try:
        _wait_ready(server, startup_timeout_s)
        server.startup_s = time.monotonic() - t0
        yield server
    finally:
        stop(server)


# --------------------------------------------------------------------------------------------
# Measuring.


@dataclass
class Result:
    rps: float
    avg_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_us_per_req: float
    wall_s: float
    requests: int
    command: str
    runs: list[dict[str, float]] = field(default_factory=list)  # each repeat, when --repeat > 1


def run_benchmark(
    server: Running, scenario: Scenario, test: str, requests: int, timeout_s: float | None = None
) -> Result:
    argv = ["redis-benchmark", *scenario.argv(server.port, test, requests)]
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    if timeout_s is None:
        timeout_s = 30 + requests / 1000  # a hung server fails the step, not the whole run
    try:
        out = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as e:
        raise ServerFailed(f"{shlex.join(argv)} timed out after {timeout_s:.0f}s") from e
    wall_s = time.monotonic() - t0
    cpu_s = cpu_seconds(server.proc.pid) - cpu0
    text = out.stdout.decode(errors="replace")
    err = out.stderr.decode(errors="replace").strip()
    rows = {r["test"]: r for r in csv.DictReader(io.StringIO(text)) if "test" in r}
    row = rows.get(test.upper())
    if out.returncode != 0 or row is None:
        raise ServerFailed(
            f"{shlex.join(argv)} exited {out.returncode} with no {test.upper()} result"
            f"\n--- stderr ---\n{err[-2000:]}\n--- server log tail ---\n{_tail(server.log)}"
        )
    return Result(
        rps=float(row["rps"]),
        avg_ms=float(row["avg_latency_ms"]),
        p50_ms=float(row["p50_latency_ms"]),
        p95_ms=float(row["p95_latency_ms"]),
        p99_ms=float(row["p99_latency_ms"]),
        max_ms=float(row["max_latency_ms"]),
        server_cpu_us_per_req=cpu_s * 1e6 / requests,
        wall_s=wall_s,
        requests=requests,
        command=shlex.join(argv),
    )


def sized_requests(
    server: Running, scenario: Scenario, test: str, requests_max: int, budget_s: float
) -> tuple[int, float]:
    """How many requests fit in budget_s, from a short warm-up run (1/40 of the maximum).

    A durable SET at -c 1 costs one fsync, which is 0.2 ms on a quiet disk and 4 ms on a busy
    one: a fixed -n would make the run's length depend on the neighbours. Returns (requests,
    measured req/s of the warm-up).
    """
    probe_n = min(requests_max, max(MIN_REQUESTS // 2, requests_max // 40))
    probe = run_benchmark(server, scenario, test, probe_n)
    fit = int(probe.rps * budget_s)
    return max(MIN_REQUESTS, min(requests_max, fit)), probe.rps


def median_result(results: list[Result]) -> Result:
    if len(results) == 1:
        return results[0]
    med = {
        f: statistics.median(getattr(r, f) for r in results)
        for f in (
            "rps",
            "avg_ms",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "server_cpu_us_per_req",
            "wall_s",
        )
    }
    runs = [{k: getattr(r, k) for k in med} for r in results]
    return Result(**med, requests=results[0].requests, command=results[0].command, runs=runs)


def spot_check(server: Running) -> None:
    """After the one-key SET runs, the key holds a VALUE_BYTES value: replies were not faked."""
    value = resp_call(server.port, b"GET", b"key:__rand_int__")
    if not (isinstance(value, bytes) and len(value) == VALUE_BYTES):
        raise ServerFailed(
            f"spot check: GET key:__rand_int__ answered {value!r}, expected "
            f"a {VALUE_BYTES}-byte value after the SET benchmark"
        )


def bench_target(
    server: Running,
    scenarios: list[Scenario],
    scale: float,
    repeat: int,
    budget_s: float,
    progress: Callable[[str], None],
) -> dict[str, dict[str, Result]]:
    results: dict[str, dict[str, Result]] = {}
    for scenario in scenarios:
        requests_max = max(MIN_REQUESTS, int(scenario.requests * scale))
        results[scenario.name] = {}
        for test in TESTS:
            requests, probe_rps = sized_requests(server, scenario, test, requests_max, budget_s)
            timeout_s = 30 + 3 * requests / max(probe_rps, 1.0)
            runs = [
                run_benchmark(server, scenario, test, requests, timeout_s) for _ in range(repeat)
            ]
            r = median_result(runs)
            results[scenario.name][test] = r
            capped = f" of {requests_max}" if requests < requests_max else ""
            progress(
                f"  {scenario.name:<14} {test.upper():<3} {r.rps:>10,.0f} req/s  "
                f"p50 {r.p50_ms:.3f} ms  p99 {r.p99_ms:.3f} ms  "
                f"cpu {r.server_cpu_us_per_req:.2f} us/req  "
                f"n={requests}{capped} ({r.wall_s:.1f}s)"
            )
            if test == "set" and scenario.keyspace is None:
                spot_check(server)
    return results


def measure_memory(server: Running, scale: float) -> dict[str, Any]:
    idle = rss_kib(server.proc.pid)
    requests = max(MIN_REQUESTS, int(MEMORY_LOAD.requests * scale))
    load = run_benchmark(server, MEMORY_LOAD, "set", requests)
    time.sleep(1.0)  # let allocator and background work settle before reading RSS
    loaded = rss_kib(server.proc.pid)
    keys = resp_call(server.port, b"DBSIZE", timeout_s=30)
    keys = keys if isinstance(keys, int) else None
    return {
        "rss_idle_kib": idle,
        "rss_loaded_kib": loaded,
        "keys": keys,
        "bytes_per_key": (loaded - idle) * 1024 / keys if keys else None,
        "load_rps": load.rps,
        "command": load.command,
    }


# --------------------------------------------------------------------------------------------
# Machine facts.


def _cmd_out(argv: list[str]) -> str:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"


def _pkg_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _fs_type(path: Path) -> str:
    best, fs = "", "unknown"
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        mnt = parts[1]
        if str(path.resolve()).startswith(mnt) and len(mnt) > len(best):
            best, fs = mnt, parts[2]
    return fs


def machine_facts(work_dir: Path) -> dict[str, Any]:
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "mem_total": next(
            (
                ln.split(":")[1].strip()
                for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")
            ),
            "unknown",
        ),
        "redis_server": _cmd_out(["redis-server", "--version"]),
        "redis_benchmark": _cmd_out(["redis-benchmark", "--version"]),
        "python": f"{platform.python_version()} ({sys.executable})",
        "rocksdict": _pkg_version("rocksdict"),
        "uvloop": _pkg_version("uvloop"),
        "hiredis": _pkg_version("hiredis"),
        "git_commit": _cmd_out(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "data_dir_fs": f"{work_dir} ({_fs_type(work_dir)})",
    }


# --------------------------------------------------------------------------------------------
# Report.


def _k(rps: float) -> str:
    return f"{rps / 1e6:.2f}M" if rps >= 1e6 else f"{rps / 1e3:.1f}k"


def _n(requests: int) -> str:
    return f"{requests // 1000}k" if requests % 1000 == 0 else str(requests)


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        (
            "| target | scenario | SET req/s | SET p50 / p99 ms | GET req/s | GET p50 / p99 ms "
            "| server CPU µs/req SET / GET | n SET / GET |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, t in report["targets"].items():
        if t.get("status") != "ok":
            note = t.get("note", "").splitlines()[0][:100] if t.get("note") else ""
            lines.append(f"| {name} | — | {t.get('status')}: {note} | | | | | |")
            continue
        for scen, tests in t["results"].items():
            s, g = tests["set"], tests["get"]
            lines.append(
                f"| {name} | {scen} | {_k(s['rps'])} | {s['p50_ms']:.3f} / {s['p99_ms']:.3f} "
                f"| {_k(g['rps'])} | {g['p50_ms']:.3f} / {g['p99_ms']:.3f} "
                f"| {s['server_cpu_us_per_req']:.2f} / {g['server_cpu_us_per_req']:.2f} "
                f"| {_n(s['requests'])} / {_n(g['requests'])} |"
            )
    return "\n".join(lines)


def memory_table(report: dict[str, Any]) -> str:
    lines = [
        "| target | RSS idle MiB | RSS loaded MiB | keys (DBSIZE) | bytes/key | load req/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, t in report["targets"].items():
        m = t.get("memory")
        if not m:
            continue
        if "error" in m:
            lines.append(f"| {name} | error: {m['error'].splitlines()[0][:100]} | | | | |")
            continue
        bpk = f"{m['bytes_per_key']:.0f}" if m["bytes_per_key"] else "—"
        lines.append(
            f"| {name} | {m['rss_idle_kib'] / 1024:.1f} | "
            f"{m['rss_loaded_kib'] / 1024:.1f} | {m['keys']} | {bpk} | "
            f"{_k(m['load_rps'])} |"
        )
    return "\n".join(lines)


# (name, numerator (target, scenario, test, field), denominator, comparison, goal)
RATIOS = [
    (
        "Seshat SET -P16 / Python ceiling SET -P16 (req/s)",
        ("seshat", "c50_P16", "set", "rps"),
        ("minimal", "c50_P16", "set", "rps"),
        ">=",
        0.60,
    ),
    (
        "Seshat GET -P16 / Python ceiling GET -P16 (req/s)",
        ("seshat", "c50_P16", "get", "rps"),
        ("minimal", "c50_P16", "get", "rps"),
        ">=",
        0.70,
    ),
    (
        "Seshat SET -c1 p50 / redis appendfsync-always SET -c1 p50",
        ("seshat", "c1_P1", "set", "p50_ms"),
        ("redis-aof", "c1_P1", "set", "p50_ms"),
        "<=",
        2.0,
    ),
    (
        "Seshat SET -P16 r100k / Python ceiling SET -P16 r100k (req/s)",
        ("seshat", "c50_P16_r100k", "set", "rps"),
        ("minimal", "c50_P16_r100k", "set", "rps"),
        ">=",
        0.60,
    ),
    (
        "Seshat GET -P16 r100k / Python ceiling GET -P16 r100k (req/s)",
        ("seshat", "c50_P16_r100k", "get", "rps"),
        ("minimal", "c50_P16_r100k", "get", "rps"),
        ">=",
        0.70,
    ),
    (
        "Seshat SET -c1 r100k p50 / redis appendfsync-always SET -c1 r100k p50",
        ("seshat", "c1_P1_r100k", "set", "p50_ms"),
        ("redis-aof", "c1_P1_r100k", "set", "p50_ms"),
        "<=",
        2.0,
    ),
    # Context, no goal: how close the Python ceiling is to Redis itself in this run.
    (
        "Python ceiling SET -P16 / redis in-memory SET -P16 (req/s)",
        ("minimal", "c50_P16", "set", "rps"),
        ("redis-mem", "c50_P16", "set", "rps"),
        None,
        None,
    ),
    (
        "Python ceiling GET -P16 / redis in-memory GET -P16 (req/s)",
        ("minimal", "c50_P16", "get", "rps"),
        ("redis-mem", "c50_P16", "get", "rps"),
        None,
        None,
    ),
]


def _lookup(report: dict[str, Any], key: tuple[str, str, str, str]) -> float | None:
    target, scen, test, fld = key
    t = report["targets"].get(target, {})
    try:
        return float(t["results"][scen][test][fld])
    except (KeyError, TypeError):
        return None


def compute_ratios(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, num_key, den_key, cmp, goal in RATIOS:
        num, den = _lookup(report, num_key), _lookup(report, den_key)
        ratio = num / den if num is not None and den else None
        met = None
        if ratio is not None and goal is not None:
            met = ratio >= goal if cmp == ">=" else ratio <= goal
        out.append(
            {
                "name": name,
                "ratio": ratio,
                "goal": f"{cmp} {goal}" if goal else None,
                "met": met,
                "numerator": num,
                "denominator": den,
            }
        )
    return out


def ratio_table(ratios: list[dict[str, Any]]) -> str:
    lines = ["| ratio | value | goal | met |", "|---|---:|---:|---|"]
    for r in ratios:
        value = f"{r['ratio']:.2f}" if r["ratio"] is not None else "n/a (target not measured)"
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        lines.append(f"| {r['name']} | {value} | {r['goal'] or '—'} | {met} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Main.


def _on_sigterm(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through every finally: servers stop


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Targets: redis-mem, redis-aof, minimal, seshat",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench" / "results" / "latest.json",
        help="JSON results (default bench/results/latest.json, git-ignored)",
    )
    p.add_argument("--quick", action="store_true", help="1/10 of the requests: a smoke run")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every -n (default 1)")
    p.add_argument("--only", default="", help="comma-separated targets to run")
    p.add_argument(
        "--scenarios",
        default="",
        help="comma-separated scenario names, or 'all' (default: "
        + ", ".join(s.name for s in SCENARIOS if s.default)
        + ")",
    )
    p.add_argument(
        "--memory",
        action="store_true",
        help="also load 1M SETs into a fresh instance of each target and read RSS",
    )
    p.add_argument(
        "--budget-s",
        type=float,
        default=BUDGET_S,
        help="wall seconds one (scenario, test) may take; -n shrinks to fit, never "
        f"below {MIN_REQUESTS} (default {BUDGET_S:.0f})",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per (scenario, test); the median is reported (default 1)",
    )
    seshat = p.add_mutually_exclusive_group()
    seshat.add_argument(
        "--seshat",
        action="store_true",
        help="require Seshat: a failure to start is an error (exit 1)",
    )
    seshat.add_argument("--no-seshat", action="store_true", help="never try Seshat")
    p.add_argument("--seshat-bin", type=Path, default=REPO / ".venv" / "bin" / "seshat")
    p.add_argument("--seshat-args", default="", help="extra arguments for seshat (one string)")
    p.add_argument(
        "--startup-timeout",
        type=float,
        default=30.0,
        help="seconds a server gets to answer PING and a SET (default 30)",
    )
    p.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="parent of the temp data dirs; must be a real disk for fsync figures",
    )
    p.add_argument("--keep-work-dir", action="store_true", help="keep data dirs and server logs")
    return p.parse_args(argv)


def select_targets(args: argparse.Namespace) -> tuple[list[Target], list[str]]:
    notes = []
    targets = [
        Target(
            "redis-mem", "redis-server, in memory", _redis_argv("--save", "", "--appendonly", "no")
        ),
        Target(
            "redis-aof",
            "redis-server, appendfsync always",
            _redis_argv("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
        ),
        Target("minimal", "minimal Python RESP server (ceiling)", _minimal_argv),
    ]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    want_seshat = args.seshat or "seshat" in only
    if args.no_seshat:
        notes.append("seshat: skipped (--no-seshat)")
    elif want_seshat or args.seshat_bin.exists():
        targets.append(
            Target(
                "seshat",
                "Seshat, single node",
                _seshat_argv(args.seshat_bin, shlex.split(args.seshat_args)),
                required=want_seshat,
            )
        )
    else:
        notes.append(f"seshat: skipped ({args.seshat_bin} does not exist)")
    if only:
        unknown = only - {t.name for t in targets} - {"seshat"}
        if unknown:
            raise SystemExit(f"unknown target(s) in --only: {', '.join(sorted(unknown))}")
        targets = [t for t in targets if t.name in only]
    return targets, notes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    for tool in ("redis-benchmark", "redis-server"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found on PATH")
    targets, notes = select_targets(args)
    scenarios = [s for s in SCENARIOS if s.default]
    if args.scenarios == "all":
        scenarios = SCENARIOS
    elif args.scenarios:
        wanted = {s.strip() for s in args.scenarios.split(",")}
        scenarios = [s for s in SCENARIOS if s.name in wanted]
        if len(scenarios) != len(wanted):
            raise SystemExit(f"unknown scenario; known: {', '.join(s.name for s in SCENARIOS)}")
    scale = args.scale * (0.1 if args.quick else 1.0)
    work_dir = Path(tempfile.mkdtemp(prefix="seshat-bench-", dir=args.work_dir))
    facts = machine_facts(work_dir)
    if _fs_type(work_dir) in ("tmpfs", "ramfs"):
        notes.append(
            f"warning: {work_dir} is on {_fs_type(work_dir)}; fsync costs nothing there,"
            " so redis-aof and Seshat latencies are not disk figures (use --work-dir)"
        )
    print("# Seshat benchmark\n")
    for k, v in facts.items():
        print(f"- {k}: {v}")
    print(f"- scale: {scale:g} x requests, repeat: {args.repeat}, budget: {args.budget_s:g}s/test")
    print()
    for n in notes:
        print(f"note: {n}")

    report: dict[str, Any] = {
        "machine": facts,
        "notes": notes,
        "quick": args.quick,
        "repeat": args.repeat,
        "value_bytes": VALUE_BYTES,
        "scenarios": [dataclasses.asdict(s) for s in scenarios],
        "targets": {},
    }
    failed_required = False
    t_start = time.monotonic()
    try:
        for target in targets:
            entry: dict[str, Any] = {"title": target.title}
            report["targets"][target.name] = entry
            print(f"\n## {target.name}: {target.title}", flush=True)
            try:
                with running(target, work_dir, args.startup_timeout) as server:
                    entry["command"] = shlex.join(server.argv)
                    entry["startup_s"] = round(server.startup_s, 3)
                    print(
                        f"  started on {HOST}:{server.port} in {server.startup_s:.2f}s: "
                        f"{entry['command']}",
                        flush=True,
                    )
                    results = bench_target(
                        server,
                        scenarios,
                        scale,
                        args.repeat,
                        args.budget_s,
                        lambda line: print(line, flush=True),
                    )
                    entry["results"] = {
                        s: {t: dataclasses.asdict(r) for t, r in tests.items()}
                        for s, tests in results.items()
                    }
                    entry["rss_after_bench_kib"] = rss_kib(server.proc.pid)
                entry["status"] = "ok"
            except ServerFailed as e:
                entry["status"] = "error" if target.required else "skipped"
                entry["note"] = str(e)
                failed_required |= target.required
                print(f"  {entry['status'].upper()}: {e}", flush=True)
                continue
            if args.memory:
                print("  memory: fresh instance, 1M SETs over 1M random keys ...", flush=True)
                try:
                    with running(target, work_dir, args.startup_timeout) as server:
                        # 1M keys is the point of this step: only --quick shrinks it.
                        entry["memory"] = measure_memory(server, 0.1 if args.quick else 1.0)
                    m = entry["memory"]
                    print(
                        f"  memory: RSS {m['rss_idle_kib'] / 1024:.1f} -> "
                        f"{m['rss_loaded_kib'] / 1024:.1f} MiB, {m['keys']} keys",
                        flush=True,
                    )
                except ServerFailed as e:
                    entry["memory"] = {"error": str(e)}
                    failed_required |= target.required
                    print(f"  memory ERROR: {e}", flush=True)
    finally:
        if not args.keep_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
        else:
            print(f"\nwork dir kept: {work_dir}")

    report["ratios"] = compute_ratios(report)
    report["elapsed_s"] = round(time.monotonic() - t_start, 1)
    print(
        "\n## Results (req/s; latency as seen by redis-benchmark; CPU = server user+sys "
        "time / requests)\n"
    )
    print(markdown_table(report))
    if args.memory:
        print("\n## Memory after `redis-benchmark -t set -n 1000000 -r 1000000 -P 16 -c 50 -d 3`\n")
        print(memory_table(report))
    print("\n## Ratios\n")
    print(ratio_table(report["ratios"]))
    write_report(report, args.out)
    return 1 if failed_required else 0


def write_report(report: dict[str, Any], out: Path) -> None:
    """The closing lines every bench script prints, and its JSON results."""
    print(f"\nelapsed: {report['elapsed_s']}s")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"JSON: {out}")


def run_main(main: Callable[[], int]) -> None:
    """Exit with main()'s code; Ctrl-C after the `finally` blocks stopped every server."""
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        print(f"\ninterrupted ({e or 'Ctrl-C'}); every server started was stopped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    run_main(main)
