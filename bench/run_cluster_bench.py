"""Seshat's three-node cluster against its peers, in one run, on one machine.

Theory of operation. Figures on these shared VMs move 15-30 % between runs (and far more when
neighbours load the CPU or the disk), so each one means something only next to its peers
measured in the same run. This script measures, one after the other:

  seshat-leader    the LEADER of a three-node Seshat cluster (Raft over gRPC, RocksDB)
  seshat-follower  a FOLLOWER of the same cluster, default forwarding mode: writes relayed to
                   the leader, reads through ReadIndex
  seshat-single    a single Seshat node
  redis-aof        redis-server --appendonly yes --appendfsync always
  etcd             a three-node etcd cluster (Debian's etcd-server), its leader measured with a
                   small load generator of this script (puts and linearizable range gets over
                   the v3 JSON gateway, one keep-alive HTTP/1.1 connection per client thread)

The RESP targets run the scenarios of bench/run_bench.py (c50_P1, c50_P16, c1_P1; SET then GET,
3-byte values, one key), sized by the same time budget and measured by the same functions,
imported from there. etcd runs at the same client concurrency (50 and 1, no pipelining: its API
has none). Every server runs in a process group of its own (a cluster's three nodes share one,
so "server CPU" of a cluster is the CPU of all three nodes); every group is stopped in `finally`
(SIGTERM, then SIGKILL) and the temp dirs are removed.

`--trace-write` then starts a fresh three-node cluster with SESHAT_TRACE_TIMINGS set (see
seshat/raft/node.py: one line per Ready with the timing of stage/sync/send/apply), sends
sequential SETs to the leader from a Python client that stamps each request with the same
CLOCK_MONOTONIC, and splits one write's time into client -> leader -> (leader fsync ||
replicate -> follower fsync -> ack) -> commit -> apply -> reply.

Run alone: ``.venv/bin/python bench/run_cluster_bench.py`` (see bench/README.md). Never a test.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_bench as rb  # bench/run_bench.py: scenarios, redis-benchmark, /proc

REPO = rb.REPO
HOST = rb.HOST  # loopback only, always
SCENARIO_NAMES = ("c50_P1", "c50_P16", "c1_P1")
BUDGET_S = 6.0  # per (scenario, test); the whole run stays near 5 minutes
ETCD_WARMUP_S = 0.5
STOP_GRACE_S = 10.0


# --------------------------------------------------------------------------------------------
# Process groups of several servers (a cluster). The first node starts a new process group
# (in this session: a process can only join a group of its own session); the others join it, so rb.cpu_seconds(pgid) counts the whole cluster and one
# killpg stops it.


@dataclass
class Group:
    name: str
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    argvs: dict[int, list[str]] = field(default_factory=dict)
    logs: dict[int, Path] = field(default_factory=dict)

    @property
    def pgid(self) -> int:
        return next(iter(self.procs.values())).pid

    def spawn(self, node: int, argv: list[str], log: Path, env: dict[str, str] | None) -> None:
        kwargs: dict[str, Any] = (
            {"process_group": 0} if not self.procs else {"process_group": self.pgid}
        )
        with open(log, "wb") as log_f:
            self.procs[node] = subprocess.Popen(
                argv,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log_f,
                stderr=subprocess.STDOUT,
                env=env,
                **kwargs,
            )
        self.argvs[node], self.logs[node] = argv, log

    def check_alive(self) -> None:
        for node, proc in self.procs.items():
            if proc.poll() is not None:
                raise rb.ServerFailed(
                    f"{self.name} node {node} exited with status {proc.returncode}\n"
                    f"--- log tail ---\n{rb._tail(self.logs[node])}"
                )

    def stop(self) -> None:
        """SIGTERM the group, SIGKILL it after STOP_GRACE_S, reap every child. Never raises."""
        if not self.procs:
            return
        pgid = self.pgid
        for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + grace
            for proc in self.procs.values():
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            if all(p.poll() is not None for p in self.procs.values()) and not rb._pgid_pids(pgid):
                return
        print(f"  warning: process group {pgid} of {self.name} survived SIGKILL", file=sys.stderr)


@contextmanager
def group(name: str) -> Iterator[Group]:
    g = Group(name)
    try:
        yield g
    finally:
        g.stop()


def as_running(g: Group, node: int, port: int, name: str, title: str, data_dir: Path) -> rb.Running:
    """A rb.Running for redis-benchmark at `port`, with the CPU of the whole group."""
    target = rb.Target(name, title, lambda *_: g.argvs[node])
    return rb.Running(
        target, g.procs[next(iter(g.procs))], port, 0, data_dir, g.logs[node], g.argvs[node]
    )


# --------------------------------------------------------------------------------------------
# Seshat cluster.


def info(port: int, section: bytes) -> dict[str, str]:
    reply = rb.resp_call(port, b"INFO", section)
    if not isinstance(reply, bytes):
        return {}
    rows = (ln.split(":", 1) for ln in reply.decode().splitlines() if ":" in ln)
    return {k: v for k, v in rows}


@dataclass
class SeshatCluster:
    group: Group
    ports: dict[int, int]  # node id -> RESP port
    data_dirs: dict[int, Path]
    startup_s: float = 0.0

    def leader(self, timeout_s: float) -> int:
        """The node every node names as leader, and that says role:leader; bounded polling."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            self.group.check_alive()
            infos = {}
            for node, port in self.ports.items():
                try:
                    infos[node] = info(port, b"raft")
                except (OSError, rb.RespError, ValueError) as e:
                    last = f"node {node}: {type(e).__name__}: {e}"
            leaders = [n for n, i in infos.items() if i.get("role") == "leader"]
            if len(infos) == len(self.ports) and len(leaders) == 1:
                lid = leaders[0]
                if all(i.get("leader_id") == str(lid) for i in infos.values()):
                    return lid
                last = "not every node knows the leader yet"
            elif infos:
                last = f"roles {[i.get('role') for i in infos.values()]}"
            time.sleep(rb.READY_POLL_S)
        raise rb.ServerFailed(f"no Seshat leader within {timeout_s}s (last: {last})")

    def term(self, node: int) -> str:
        try:
            return info(self.ports[node], b"raft").get("term", "?")
        except (OSError, rb.RespError, ValueError):
            return "?"


def start_seshat_cluster(
    g: Group, binary: Path, work_dir: Path, timeout_s: float, env: Callable[[int], dict[str, str]]
) -> SeshatCluster:
    raft_ports = {n: rb.free_port() for n in (1, 2, 3)}
    ports = {n: rb.free_port() for n in (1, 2, 3)}
    peers = ",".join(f"{n}={HOST}:{p}" for n, p in raft_ports.items())
    data_dirs = {n: Path(tempfile.mkdtemp(prefix=f"{g.name}-n{n}-", dir=work_dir)) for n in ports}
    t0 = time.monotonic()
    for n in (1, 2, 3):
        argv = [
            str(binary),
            "--node-id", str(n),
            "--bind", HOST,
            "--port", str(ports[n]),
            "--raft-port", str(raft_ports[n]),
            "--data-dir", str(data_dirs[n]),
            "--peers", peers,
        ]  # fmt: skip
        g.spawn(n, argv, data_dirs[n].with_suffix(".log"), env(n))
    cluster = SeshatCluster(g, ports, data_dirs)
    leader = cluster.leader(timeout_s)
    # Ready = a SET through the leader and one through a follower (forwarding) answer OK.
    follower = min(n for n in ports if n != leader)
    for node in (leader, follower):
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if rb.resp_call(ports[node], b"SET", rb.PROBE_KEY, b"1") == b"OK":
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise rb.ServerFailed(f"{g.name}: SET through node {node} never answered OK")
            time.sleep(rb.READY_POLL_S)
    rb.resp_call(ports[leader], b"DEL", rb.PROBE_KEY)
    cluster.startup_s = time.monotonic() - t0
    return cluster


# --------------------------------------------------------------------------------------------
# etcd: three nodes on loopback, and a load generator (threads, one persistent HTTP/1.1
# connection each, to the v3 JSON gateway; requests pre-encoded, responses parsed by hand so the
# client spends as little CPU per request as Python allows; its CPU is reported).


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def etcd_post(port: int, path: str, body: dict[str, Any], timeout_s: float = 2.0) -> Any:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise rb.ServerFailed(f"etcd {path} answered {resp.status}: {data[:200]!r}")
        return json.loads(data)
    finally:
        conn.close()


def start_etcd(g: Group, work_dir: Path, timeout_s: float) -> tuple[int, dict[int, int]]:
    """Start three etcd members; return (leader's node number, client ports)."""
    client = {n: rb.free_port() for n in (1, 2, 3)}
    peer = {n: rb.free_port() for n in (1, 2, 3)}
    initial = ",".join(f"e{n}=http://{HOST}:{p}" for n, p in peer.items())
    for n in (1, 2, 3):
        d = Path(tempfile.mkdtemp(prefix=f"etcd-n{n}-", dir=work_dir))
        argv = [
            "etcd",
            "--name", f"e{n}",
            "--data-dir", str(d),
            "--listen-client-urls", f"http://{HOST}:{client[n]}",
            "--advertise-client-urls", f"http://{HOST}:{client[n]}",
            "--listen-peer-urls", f"http://{HOST}:{peer[n]}",
            "--initial-advertise-peer-urls", f"http://{HOST}:{peer[n]}",
            "--initial-cluster", initial,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", f"seshat-bench-{os.getpid()}",
        ]  # fmt: skip
        g.spawn(n, argv, d.with_suffix(".log"), None)
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        g.check_alive()
        try:
            status = {n: etcd_post(p, "/v3/maintenance/status", {}) for n, p in client.items()}
            leaders = {s.get("leader") for s in status.values()}
            if len(leaders) == 1 and leaders != {None} and leaders != {"0"}:
                (lid,) = leaders
                node = next(n for n, s in status.items() if s["header"]["member_id"] == lid)
                key = _b64(rb.PROBE_KEY)
                etcd_post(client[node], "/v3/kv/put", {"key": key, "value": _b64(b"1")})
                etcd_post(client[node], "/v3/kv/deleterange", {"key": key})
                return node, client
            last = f"leaders {leaders}"
        except (OSError, ValueError, KeyError, StopIteration, http.client.HTTPException) as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(0.1)
    raise rb.ServerFailed(f"etcd: no leader within {timeout_s}s (last: {last})")


def _http_worker(
    port: int, request: bytes, t_begin: float, t_end: float, lats: list[float], errors: list[str]
) -> None:
    pc = time.perf_counter
    try:
        s = socket.create_connection((HOST, port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as e:
        errors.append(f"connect: {e}")
        return
    buf = b""
    try:
        while True:
            t0 = pc()
            if t0 >= t_end:
                return
            s.sendall(request)
            while (i := buf.find(b"\r\n\r\n")) < 0:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                buf += chunk
            head = buf[:i].lower()
            if not head.startswith(b"http/1.1 200"):
                errors.append(head[:100].decode(errors="replace"))
            j = head.find(b"content-length:")
            if j < 0:
                raise ConnectionError("response without Content-Length")
            k = head.find(b"\r\n", j)
            need = i + 4 + int(head[j + 15 : k if k >= 0 else len(head)])
            while len(buf) < need:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                buf += chunk
            buf = buf[need:]
            if t0 >= t_begin:
                lats.append(pc() - t0)
    except (OSError, ValueError) as e:
        errors.append(f"{type(e).__name__}: {e}")
    finally:
        s.close()


def etcd_load(
    g: Group, port: int, path: str, body: dict[str, Any], clients: int, seconds: float
) -> tuple[rb.Result, dict[str, Any]]:
    payload = json.dumps(body).encode()
    request = (
        b"POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (path.encode(), HOST.encode(), port, len(payload))
    ) + payload
    lats: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    now = time.perf_counter()
    t_begin, t_end = now + ETCD_WARMUP_S, now + ETCD_WARMUP_S + seconds
    threads = [
        threading.Thread(
            target=_http_worker, args=(port, request, t_begin, t_end, lats[i], errors), daemon=True
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    time.sleep(max(0.0, t_begin - time.perf_counter()))
    cpu0, ccpu0, w0 = rb.cpu_seconds(g.pgid), time.process_time(), time.monotonic()
    for t in threads:
        t.join(timeout=seconds + 30)
    cpu_s = rb.cpu_seconds(g.pgid) - cpu0
    ccpu_s = time.process_time() - ccpu0
    wall = time.monotonic() - w0
    if any(t.is_alive() for t in threads):
        raise rb.ServerFailed(f"etcd {path}: clients still waiting {seconds + 30:.0f}s later")
    all_ms = sorted(x * 1e3 for per in lats for x in per)
    if errors or not all_ms:
        raise rb.ServerFailed(f"etcd {path}: {len(errors)} errors, first: {errors[:3]}")
    n = len(all_ms)
    result = rb.Result(
        rps=n / seconds,
        avg_ms=statistics.fmean(all_ms),
        p50_ms=all_ms[n // 2],
        p95_ms=all_ms[min(n - 1, int(n * 0.95))],
        p99_ms=all_ms[min(n - 1, int(n * 0.99))],
        max_ms=all_ms[-1],
        server_cpu_us_per_req=cpu_s * 1e6 / n,
        wall_s=wall,
        requests=n,
        command=f"POST {path} {payload.decode()} x {clients} keep-alive connections, {seconds:g}s"
        f" after {ETCD_WARMUP_S:g}s warm-up (this script's load generator)",
    )
    return result, {"client_cpu_us_per_req": round(ccpu_s * 1e6 / n, 1)}


# --------------------------------------------------------------------------------------------
# --trace-write: one write's time, from the leader's and followers' per-Ready trace lines.


@dataclass
class Ready:
    t0: int  # CLOCK_MONOTONIC ns
    dur: int
    entries: tuple[int, int]
    committed: tuple[int, int]
    marks: list[tuple[str, int, int]]  # (stage|sync|send|apply, start, end) relative to t0

    def mark(self, name: str, after: int = -1) -> tuple[int, int] | None:
        for m, a, b in self.marks:
            if m == name and a >= after:
                return a, b
        return None


def parse_trace(path: Path) -> list[Ready]:
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        e = tuple(int(x) for x in parts[2][2:].split("-"))
        c = tuple(int(x) for x in parts[3][2:].split("-"))
        marks = []
        for m in parts[4:]:
            name, a, b = m.split(":")
            marks.append((name, int(a), int(b)))
        out.append(Ready(int(parts[0]), int(parts[1]), e, c, marks))  # type: ignore[arg-type]
    return out


def sequential_client(port: int, args: list[bytes], seconds: float) -> list[tuple[int, int]]:
    """(send, receive) CLOCK_MONOTONIC ns of each request, one at a time, after 0.5 s warm-up."""
    payload = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    stamps = []
    with socket.create_connection((HOST, port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        now = time.monotonic_ns
        begin = now() + 500_000_000
        end = begin + int(seconds * 1e9)
        while (t0 := now()) < end:
            s.sendall(payload)
            reply = s.recv(4096)
            while not reply.endswith(b"\r\n"):
                reply += s.recv(4096)
            t1 = now()
            if reply[:1] == b"-":
                raise rb.ServerFailed(f"trace client: {reply[:200]!r}")
            if t0 >= begin:
                stamps.append((t0, t1))
    return stamps


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))] if v else float("nan")


def analyse_trace(
    stamps: list[tuple[int, int]], traces: dict[int, list[Ready]], leader: int
) -> dict[str, Any]:
    """Split each traced write into additive stages; return medians and p90s in µs."""
    lead = traces[leader]
    by_entry = {r.entries[0]: r for r in lead if r.entries[0] and r.entries[0] == r.entries[1]}
    by_commit: dict[int, Ready] = {}
    for r in lead:
        if r.committed[0]:
            for i in range(r.committed[0], r.committed[1] + 1):
                by_commit.setdefault(i, r)
    followers = {
        n: {i: r for r in t if r.entries[0] for i in range(r.entries[0], r.entries[1] + 1)}
        for n, t in traces.items()
        if n != leader
    }
    starts = sorted(by_entry.items(), key=lambda kv: kv[1].t0)
    rows: dict[str, list[float]] = {}

    def add(name: str, ns: float) -> None:
        rows.setdefault(name, []).append(ns / 1e3)

    j = 0
    matched = 0
    for ts, tr in stamps:
        while j < len(starts) and starts[j][1].t0 < ts:
            j += 1
        if j >= len(starts) or starts[j][1].t0 > tr:
            continue
        idx, l1 = starts[j]
        l2 = by_commit.get(idx)
        send, stage, sync = l1.mark("send"), l1.mark("stage"), l1.mark("sync")
        if l2 is None or send is None or sync is None or l2.mark("apply") is None:
            continue
        apply_ = l2.mark("apply")
        assert apply_ is not None
        acks, transits, f_syncs, f_to_ack = [], [], [], []
        for per in followers.values():
            f = per.get(idx)
            if f is None or (fs := f.mark("sync")) is None:
                continue
            ack = f.mark("send", after=fs[1])
            if ack is None:
                continue
            acks.append(f.t0 + ack[1])
            transits.append(f.t0 - (l1.t0 + send[0]))
            f_syncs.append(fs[1] - fs[0])
            f_to_ack.append(ack[1])
        if not acks:
            continue
        matched += 1
        l1_end = l1.t0 + l1.dur
        quorum = max(l1_end, min(acks))  # leader + the first follower = 2 of 3
        add("1 client -> leader Ready start (RESP in, parse, propose, wake)", l1.t0 - ts)
        add("2 leader Ready start -> quorum durable", quorum - l1.t0)
        add("3 quorum durable -> leader commit Ready start (ack in, step, wake)", l2.t0 - quorum)
        add("4 commit Ready start -> apply done", apply_[1])
        add("5 apply done -> client has the reply (complete, RESP out)", tr - (l2.t0 + apply_[1]))
        add("= total, client round trip", tr - ts)
        add("   in 2: leader send AppendEntries (transport.send)", send[1] - send[0])
        if stage is not None:
            add("   in 2: leader stage (unsynced RocksDB write)", stage[1] - stage[0])
        add("   in 2: leader fsync (flush_wal, in the worker thread)", sync[1] - sync[0])
        add("   in 2: leader Ready start -> its Ready done (fsync + thread hop + rest)", l1.dur)
        add("   in 2: leader send -> follower Ready start (transit, fastest)", min(transits))
        add("   in 2: follower Ready start -> ack sent (fsync incl.)", min(f_to_ack))
        add("   in 2: follower fsync", min(f_syncs))
        add("   in 5: rest of the commit Ready after apply (advance, release, trace line)",
            l2.dur - apply_[1])  # fmt: skip
        add("   in 2: leader's own Ready done later than first follower ack (1=yes)",
            1e3 if l1_end > min(acks) else 0.0)  # fmt: skip
    stages = {
        name: {"p50_us": round(_pct(v, 0.5), 1), "p90_us": round(_pct(v, 0.9), 1)}
        for name, v in rows.items()
    }
    leader_only = [name for name in rows if name.endswith("(1=yes)")]
    for name in leader_only:  # a share, not a duration
        stages[name] = {"share": round(statistics.fmean(rows[name]), 3)}
    return {"writes": len(stamps), "matched": matched, "stages": stages}


def trace_write(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    trace_dir = Path(tempfile.mkdtemp(prefix="trace-", dir=work_dir))
    paths = {n: trace_dir / f"ready-n{n}.txt" for n in (1, 2, 3)}

    def env(n: int) -> dict[str, str]:
        return {**os.environ, "SESHAT_TRACE_TIMINGS": str(paths[n])}

    with group("seshat-trace") as g:
        cluster = start_seshat_cluster(g, args.seshat_bin, work_dir, args.startup_timeout, env)
        leader = cluster.leader(args.startup_timeout)
        port = cluster.ports[leader]
        pings = sequential_client(port, [b"PING"], 1.0)
        stamps = sequential_client(port, [b"SET", b"trace:key", b"xyz"], args.trace_seconds)
        leader_after = cluster.leader(args.startup_timeout)
    if leader_after != leader:
        raise rb.ServerFailed(f"leadership moved from {leader} to {leader_after} during the trace")
    out = analyse_trace(stamps, {n: parse_trace(p) for n, p in paths.items()}, leader)
    out["ping_rtt_p50_us"] = round(_pct([(b - a) / 1e3 for a, b in pings], 0.5), 1)
    out["set_rtt_p50_us"] = round(_pct([(b - a) / 1e3 for a, b in stamps], 0.5), 1)
    return out


def trace_table(t: dict[str, Any]) -> str:
    lines = ["| stage of one SET at -c 1 (leader of 3) | p50 µs | p90 µs |", "|---|---:|---:|"]
    for name, v in t["stages"].items():
        if "share" in v:
            lines.append(f"| {name[:-8].strip()} | {100 * v['share']:.0f} % of writes | |")
        else:
            lines.append(f"| {name} | {v['p50_us']:.0f} | {v['p90_us']:.0f} |")
    lines.append(f"| (same client: PING round trip, no Raft) | {t['ping_rtt_p50_us']:.0f} | |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Report.

# (name, numerator (target, scenario, test, field), denominator or a constant, cmp, goal)
Key = tuple[str, str, str, str]
CHECKS: list[tuple[str, Key, Key | float, str | None, float | None]] = [
    ("Seshat 3-node SET c50 / etcd 3-node put c50 (req/s)",
     ("seshat-leader", "c50_P1", "set", "rps"), ("etcd", "c50_P1", "set", "rps"), ">=", 1.0),
    ("Seshat 3-node SET -c 1 p50 (ms)", ("seshat-leader", "c1_P1", "set", "p50_ms"), 1.0, "<=", 1.0),
    ("Seshat 3-node SET -c 1 p99 (ms)", ("seshat-leader", "c1_P1", "set", "p99_ms"), 1.0, "<=", 5.0),
    ("Seshat 3-node SET c1 / etcd 3-node put c1 (req/s)",
     ("seshat-leader", "c1_P1", "set", "rps"), ("etcd", "c1_P1", "set", "rps"), None, None),
    ("Seshat follower SET c50 / etcd put c50 (req/s)",
     ("seshat-follower", "c50_P1", "set", "rps"), ("etcd", "c50_P1", "set", "rps"), None, None),
    ("Seshat 3-node GET c50 / etcd range c50 (req/s)",
     ("seshat-leader", "c50_P1", "get", "rps"), ("etcd", "c50_P1", "get", "rps"), None, None),
    ("Seshat 3-node SET -P16 / single node SET -P16 (req/s)",
     ("seshat-leader", "c50_P16", "set", "rps"), ("seshat-single", "c50_P16", "set", "rps"),
     None, None),
    ("Seshat 3-node SET -c 1 p50 / redis appendfsync-always SET -c 1 p50",
     ("seshat-leader", "c1_P1", "set", "p50_ms"), ("redis-aof", "c1_P1", "set", "p50_ms"),
     None, None),
    ("Seshat follower GET c50 / leader GET c50 (req/s; ReadIndex via the leader)",
     ("seshat-follower", "c50_P1", "get", "rps"), ("seshat-leader", "c50_P1", "get", "rps"),
     None, None),
]  # fmt: skip


def compute_checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, num_key, den, cmp, goal in CHECKS:
        num = rb._lookup(report, num_key)
        d = den if isinstance(den, float) else rb._lookup(report, den)
        value = num / d if num is not None and d else None
        met = None
        if value is not None and goal is not None:
            met = value >= goal if cmp == ">=" else value <= goal
        out.append(
            {
                "name": name,
                "ratio": value,
                "goal": f"{cmp} {goal:g}" if goal is not None else None,
                "met": met,
                "numerator": num,
                "denominator": d,
            }
        )
    return out


def loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


# --------------------------------------------------------------------------------------------
# Main.

TARGETS = ("cluster", "single", "redis-aof", "etcd")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cluster.json")
    p.add_argument(
        "--budget-s",
        type=float,
        default=BUDGET_S,
        help=f"wall seconds per (target, scenario, test) (default {BUDGET_S:g})",
    )
    p.add_argument("--scale", type=float, default=1.0, help="multiply every maximum -n")
    p.add_argument(
        "--only", default="", help=f"comma-separated subset of {','.join(TARGETS)} (default: all)"
    )
    p.add_argument(
        "--trace-write",
        action="store_true",
        help="also trace where one write's time goes (a fresh traced cluster)",
    )
    p.add_argument("--trace-seconds", type=float, default=4.0)
    p.add_argument("--seshat-bin", type=Path, default=REPO / ".venv" / "bin" / "seshat")
    p.add_argument("--startup-timeout", type=float, default=60.0)
    p.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="parent of the temp data dirs; must be a real disk for fsync figures",
    )
    p.add_argument("--keep-work-dir", action="store_true")
    return p.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, rb._on_sigterm)
    only = {s.strip() for s in args.only.split(",") if s.strip()} or set(TARGETS)
    if only - set(TARGETS):
        raise SystemExit(f"unknown in --only: {', '.join(sorted(only - set(TARGETS)))}")
    for tool in ("redis-benchmark", "redis-server"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found on PATH")
    scenarios = [s for s in rb.SCENARIOS if s.name in SCENARIO_NAMES]
    work_dir = Path(tempfile.mkdtemp(prefix="seshat-cluster-bench-", dir=args.work_dir))
    facts = rb.machine_facts(work_dir)
    facts["etcd"] = (
        rb._cmd_out(["etcd", "--version"]).splitlines()[0]
        if shutil.which("etcd")
        else "not installed"
    )
    facts["grpcio"] = rb._pkg_version("grpcio")
    notes = [
        (
            "shared, noisy VM: neighbours load CPU and disk; compare rows of this run only, and "
            "read the load average at start and end"
        ),
        "server CPU of seshat-leader, seshat-follower and etcd is the sum of all three nodes",
        (
            "etcd: this script's Python load generator (threads, keep-alive HTTP/1.1 to the v3 "
            "JSON gateway, linearizable range); its own CPU per request is in the JSON"
        ),
    ]
    if rb._fs_type(work_dir) in ("tmpfs", "ramfs"):
        notes.append(f"warning: {work_dir} is on tmpfs: fsync costs nothing there")
    print("# Seshat cluster benchmark\n")
    for k, v in facts.items():
        print(f"- {k}: {v}")
    print(f"- budget: {args.budget_s:g}s per test, scale {args.scale:g}\n")
    for n in notes:
        print(f"note: {n}")

    report: dict[str, Any] = {
        "machine": facts,
        "notes": notes,
        "value_bytes": rb.VALUE_BYTES,
        "scenarios": [dataclasses.asdict(s) for s in scenarios],
        "targets": {},
    }
    failed = False
    t_start = time.monotonic()

    def progress(line: str) -> None:
        print(line, flush=True)

    def bench(entry: dict[str, Any], server: rb.Running) -> None:
        results = rb.bench_target(server, scenarios, args.scale, 1, args.budget_s, progress)
        entry["results"] = {
            s: {t: dataclasses.asdict(r) for t, r in tests.items()} for s, tests in results.items()
        }
        entry["status"] = "ok"

    def target(name: str, title: str, header: bool = True) -> dict[str, Any]:
        entry: dict[str, Any] = {"title": title, "status": "error"}
        report["targets"][name] = entry
        if header:
            print(f"\n## {name}: {title}", flush=True)
        return entry

    try:
        if "cluster" in only:
            lead = target("seshat-leader", "Seshat 3-node cluster, its leader", False)
            foll = target(
                "seshat-follower", "Seshat 3-node cluster, a follower (forwarding)", False
            )
            try:
                with group("seshat-cluster") as g:
                    c = start_seshat_cluster(
                        g, args.seshat_bin, work_dir, args.startup_timeout, lambda n: None
                    )
                    for entry, role in ((lead, "leader"), (foll, "follower")):
                        leader = c.leader(args.startup_timeout)
                        node = (
                            leader if role == "leader" else min(n for n in c.ports if n != leader)
                        )
                        entry["node"], entry["term_before"] = node, c.term(node)
                        entry["command"] = shlex.join(g.argvs[node])
                        print(f"\n## seshat-{role}: {entry['title']}", flush=True)
                        print(f"  node {node} ({role}), started in {c.startup_s:.1f}s", flush=True)
                        server = as_running(g, node, c.ports[node], f"seshat-{role}", role,
                                            c.data_dirs[node])  # fmt: skip
                        try:
                            bench(entry, server)
                        except rb.ServerFailed as e:
                            entry["note"], failed = str(e), True
                            print(f"  ERROR: {e}", flush=True)
                        entry["term_after"] = c.term(node)
                        entry["leader_after"] = c.leader(args.startup_timeout)
                        if entry["leader_after"] != leader:
                            notes.append(f"leadership moved during {role} run: {leader} -> "
                                         f"{entry['leader_after']}")  # fmt: skip
            except rb.ServerFailed as e:
                for entry in (lead, foll):
                    entry.setdefault("note", str(e))
                failed = True
                print(f"  ERROR: {e}", flush=True)

        if "single" in only:
            entry = target("seshat-single", "Seshat single node")
            t = rb.Target("seshat-single", "Seshat single node",
                          rb._seshat_argv(args.seshat_bin, []))  # fmt: skip
            try:
                with rb.running(t, work_dir, args.startup_timeout) as server:
                    entry["command"] = shlex.join(server.argv)
                    bench(entry, server)
            except rb.ServerFailed as e:
                entry["note"], failed = str(e), True
                print(f"  ERROR: {e}", flush=True)

        if "redis-aof" in only:
            entry = target("redis-aof", "redis-server, appendfsync always")
            t = rb.Target(
                "redis-aof",
                "redis-server, appendfsync always",
                rb._redis_argv("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
            )
            try:
                with rb.running(t, work_dir, args.startup_timeout) as server:
                    entry["command"] = shlex.join(server.argv)
                    bench(entry, server)
            except rb.ServerFailed as e:
                entry["note"], failed = str(e), True
                print(f"  ERROR: {e}", flush=True)

        if "etcd" in only:
            entry = target("etcd", "etcd 3-node cluster, its leader (put / range)")
            if shutil.which("etcd") is None:
                entry["status"] = "skipped"
                entry["note"] = "etcd not on PATH (apt-get install etcd-server)"
                print(f"  SKIPPED: {entry['note']}")
            else:
                try:
                    with group("etcd") as g:
                        node, ports = start_etcd(g, work_dir, args.startup_timeout)
                        entry["node"], entry["command"] = node, shlex.join(g.argvs[node])
                        print(f"  leader e{node} on {HOST}:{ports[node]}", flush=True)
                        key, val = _b64(b"key:__rand_int__"), _b64(b"x" * rb.VALUE_BYTES)
                        entry["results"], entry["client"] = {}, {}
                        for scen, clients in (("c50_P1", 50), ("c1_P1", 1)):
                            entry["results"][scen], entry["client"][scen] = {}, {}
                            for test, path, body in (
                                ("set", "/v3/kv/put", {"key": key, "value": val}),
                                ("get", "/v3/kv/range", {"key": key}),
                            ):
                                r, client = etcd_load(g, ports[node], path, body, clients,
                                                      args.budget_s)  # fmt: skip
                                entry["results"][scen][test] = dataclasses.asdict(r)
                                entry["client"][scen][test] = client
                                progress(
                                    f"  {scen:<14} {test.upper():<3} {r.rps:>10,.0f} req/s  "
                                    f"p50 {r.p50_ms:.3f} ms  p99 {r.p99_ms:.3f} ms  "
                                    f"cpu {r.server_cpu_us_per_req:.2f} us/req (client "
                                    f"{client['client_cpu_us_per_req']:.0f})  n={r.requests}"
                                )
                        got = etcd_post(ports[node], "/v3/kv/range", {"key": key})
                        if base64.b64decode(got["kvs"][0]["value"]) != b"x" * rb.VALUE_BYTES:
                            raise rb.ServerFailed(f"etcd spot check: range answered {got}")
                        entry["status"] = "ok"
                except rb.ServerFailed as e:
                    entry["note"], failed = str(e), True
                    print(f"  ERROR: {e}", flush=True)

        if args.trace_write:
            print("\n## trace: where one write's time goes (leader of 3, -c 1)", flush=True)
            try:
                report["trace"] = trace_write(args, work_dir)
            except rb.ServerFailed as e:
                report["trace"] = {"error": str(e)}
                failed = True
                print(f"  ERROR: {e}", flush=True)
    finally:
        if args.keep_work_dir:
            print(f"\nwork dir kept: {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)

    facts["loadavg_at_end"] = loadavg()
    report["checks"] = compute_checks(report)
    report["elapsed_s"] = round(time.monotonic() - t_start, 1)
    print(f"\n- load average at start {' '.join(facts['loadavg_at_start'])}, at end "
          f"{' '.join(facts['loadavg_at_end'])} ({facts['nproc']} CPUs; shared, noisy machine)")  # fmt: skip
    print("\n## Results (req/s; latency as the client sees it; CPU = server user+sys / requests)\n")
    for name, t in report["targets"].items():
        print(f"- {name}: {t['title']}")
    print()
    print(rb.markdown_table(report))
    print("\n## Targets and ratios\n")
    print(rb.ratio_table(report["checks"]))
    tr = report.get("trace")
    if tr and "stages" in tr:
        print(f"\n## Where one write's time goes ({tr['matched']} of {tr['writes']} SETs "
              "matched to trace lines; traced cluster, Python client)\n")  # fmt: skip
        print(trace_table(tr))
    elif tr:
        print(f"\ntrace: {tr.get('error')}")
    rb.write_report(report, args.out)
    return 1 if failed else 0


if __name__ == "__main__":
    rb.run_main(main)
