"""`seshat cluster` (a local N-node cluster) and the admin subcommands `node`, `transfer`, `status`.

`seshat cluster --nodes 3` starts nodes 1..N on 127.0.0.1 (client ports `--base-port`..,
Raft ports `--base-raft-port`..), each with its own data dir and log under `--data-dir`
(default ./seshat-cluster), prints where each one listens, waits until they agree on a leader,
then keeps them running. SIGINT/SIGTERM are forwarded to every node (each stops gracefully);
whatever is still running after `--stop-timeout-s` is killed, and the launcher exits only when
no node is left. A node that dies meanwhile (say you killed it to watch a failover) is reported
and the others go on. Arguments the launcher does not know go to every node unchanged
(`seshat cluster --redirect --log-level debug`).

The admin subcommands talk RESP to a running node (with hiredis's reader, a dependency already):

    seshat node add ID RAFT_ADDR CLIENT_ADDR --leader HOST:PORT   # RAFT.NODE ADD
    seshat node remove ID --leader HOST:PORT                      # RAFT.NODE REMOVE
    seshat transfer ID --leader HOST:PORT                         # RAFT.TRANSFER, then waits
    seshat status --node HOST:PORT [--json]                       # RAFT.STATUS + INFO raft

`--leader` may name any member: a node that answers "not the leader; run it on node N" is
followed to node N's client address (taken from its RAFT.STATUS) once.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hiredis

SUBCOMMANDS = ("cluster", "node", "transfer", "status")
DEFAULT_ADDRESS = os.environ.get("SESHAT_ADDRESS", "127.0.0.1:6379")


# ---------------------------------------------------------------------- RESP


class CommandError(Exception):
    """The node answered an error reply (the text is Redis's, e.g. "ERR not the leader...")."""


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"bad address {address!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _encode(args: tuple[object, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def command(address: str, *args: object, password: str = "", timeout_s: float = 5.0) -> Any:
    """Send one command (after AUTH when a password is given) and return its reply (RESP2).

    Bulk strings come back as bytes, integers as int, arrays as lists, nil as None; an error
    reply raises CommandError; an unreachable node raises OSError.
    """
    frames = ([_encode(("AUTH", password))] if password else []) + [_encode(args)]
    reader = hiredis.Reader()
    replies: list[Any] = []
    with socket.create_connection(split_address(address), timeout=timeout_s) as sock:
        sock.sendall(b"".join(frames))
        while len(replies) < len(frames):
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"{address} closed the connection")
            reader.feed(data)
            while (reply := reader.gets()) is not False:
                replies.append(reply)
    for reply in replies:
        if isinstance(reply, hiredis.ReplyError):
            raise CommandError(str(reply))
    return replies[-1]


def info_raft(address: str, password: str = "", timeout_s: float = 2.0) -> dict[str, str]:
    """INFO raft as a dict, or {} when the node cannot be reached or answers an error."""
    try:
        text = command(address, "INFO", "raft", password=password, timeout_s=timeout_s)
    except (OSError, CommandError):
        return {}
    rows: dict[str, str] = {}
    for line in bytes(text).decode(errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            rows[key] = value
    return rows


def _pairs(flat: Any) -> dict[str, Any]:
    """A RESP2-flattened map ([k1, v1, k2, v2, ...]) as a dict with str keys."""
    items = list(flat)
    return {
        (k.decode() if isinstance(k, bytes) else str(k)): v
        for k, v in zip(items[0::2], items[1::2])
    }


def raft_status(address: str, password: str = "", timeout_s: float = 5.0) -> dict[str, Any]:
    """RAFT.STATUS as a dict; `members` is a list of dicts (id, voter, raft, client, match)."""
    status = _pairs(command(address, "RAFT.STATUS", password=password, timeout_s=timeout_s))
    members = []
    for raw in status.get("members") or []:
        member = _pairs(raw)
        members.append(
            {
                "id": int(member.get("id", 0)),
                "voter": bool(member.get("voter")),
                "raft": _text(member.get("raft")),
                "client": _text(member.get("client")),
                "match": int(member.get("match", -1)),
            }
        )
    result = {k: (_text(v) if isinstance(v, bytes) else v) for k, v in status.items()}
    result["members"] = members
    return result


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------------- the local cluster


@dataclass
class LocalNode:
    node_id: int
    port: int
    raft_port: int
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    reported_exit: bool = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the node gets SIGTERM if the launcher dies without stopping it (kill -9)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Launcher:
    nodes: list[LocalNode]
    node_args: list[str]
    out: Any = field(default=sys.stdout)
    stop_signal: int | None = None

    def say(self, text: str) -> None:
        print(f"seshat cluster: {text}", file=self.out, flush=True)

    def peers(self) -> str:
        return ",".join(f"{n.node_id}=127.0.0.1:{n.raft_port}" for n in self.nodes)

    def start(self) -> None:
        peers = self.peers()
        for node in self.nodes:
            node.data_dir.mkdir(parents=True, exist_ok=True)
            with open(node.log_path, "ab") as log:
                node.proc = subprocess.Popen(
                    [sys.executable, "-m", "seshat.cli"]
                    + ["--node-id", str(node.node_id), "--bind", "127.0.0.1"]
                    + ["--port", str(node.port), "--raft-port", str(node.raft_port)]
                    + ["--data-dir", str(node.data_dir), "--peers", peers]
                    + self.node_args,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    # Its own process group: a terminal's Ctrl-C reaches the launcher only, which
                    # forwards it once (a node stops hard on a second SIGINT).
                    start_new_session=True,
                    # The launcher runs no threads, so a preexec_fn is safe here.
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
                )

    def report_exits(self) -> None:
        for node in self.nodes:
            if node.proc is not None and not node.alive() and not node.reported_exit:
                node.reported_exit = True
                self.say(
                    f"node {node.node_id} exited with code {node.proc.returncode}; "
                    f"last lines of {node.log_path}:\n{node.log_tail()}"
                )

    def wait_for_leader(self, timeout_s: float) -> tuple[int, str] | None:
        """(leader id, term) once every running node names the same leader; None on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.stop_signal is None:
            if not any(n.alive() for n in self.nodes):
                return None
            infos = [info_raft(n.address, timeout_s=1.0) for n in self.nodes if n.alive()]
            leaders = {i.get("leader_id") for i in infos}
            leader = next((i for i in infos if i.get("role") == "leader"), None)
            if leader is not None and len(leaders) == 1 and all(infos):
                return int(leader["node_id"]), leader.get("term", "?")
            time.sleep(0.1)
        return None

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = 15.0) -> None:
        """Forward `signum` to every running node, wait for them, kill what remains."""
        for node in self.nodes:
            if node.alive():
                assert node.proc is not None
                try:
                    node.proc.send_signal(signum)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout_s
        for node in self.nodes:
            if node.proc is None:
                continue
            try:
                node.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"node {node.node_id} did not stop within {timeout_s:g}s; killing it")
                node.proc.kill()
                node.proc.wait()

    def kill_all(self) -> None:
        for node in self.nodes:
            if node.alive():
                assert node.proc is not None
                node.proc.kill()
                node.proc.wait()


def cluster_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seshat cluster",
        description="Start a local cluster of N nodes on 127.0.0.1 and keep it running until "
        "SIGINT/SIGTERM, which is forwarded to every node. Unknown options are passed to "
        "every node (e.g. --redirect, --log-level debug, --tick-interval-ms 50).",
    )
    parser.add_argument("--nodes", type=int, default=3, help="how many nodes (default: 3)")
    parser.add_argument(
        "--base-port",
        type=int,
        default=6379,
        help="client (RESP) port of node 1; node i listens on BASE+i-1 (default: 6379)",
    )
    parser.add_argument(
        "--base-raft-port",
        type=int,
        default=7379,
        help="Raft (gRPC) port of node 1; node i on BASE+i-1 (default: 7379)",
    )
    parser.add_argument(
        "--data-dir",
        default="./seshat-cluster",
        help="root of the nodes' data dirs (node1/, node2/, ...) and logs (default: ./seshat-cluster)",
    )
    parser.add_argument(
        "--leader-timeout-s",
        type=float,
        default=30.0,
        help="how long to wait for a leader before giving up (default: 30)",
    )
    parser.add_argument(
        "--stop-timeout-s",
        type=float,
        default=15.0,
        help="how long a node may take to stop before it is killed (default: 15)",
    )
    return parser


def run_cluster(argv: list[str], out: Any = None) -> int:
    args, node_args = cluster_parser().parse_known_args(argv)
    out = out or sys.stdout
    if not 1 <= args.nodes <= 99:
        print(
            f"seshat cluster: --nodes must be between 1 and 99, not {args.nodes}", file=sys.stderr
        )
        return 2
    root = Path(args.data_dir)
    nodes = [
        LocalNode(
            node_id=i,
            port=args.base_port + i - 1,
            raft_port=args.base_raft_port + i - 1,
            data_dir=root / f"node{i}",
            log_path=root / f"node{i}.log",
        )
        for i in range(1, args.nodes + 1)
    ]
    ports = [p for n in nodes for p in (n.port, n.raft_port)]
    if len(set(ports)) != len(ports) or max(ports) > 65535:
        print(
            "seshat cluster: the client and Raft port ranges overlap or run past 65535; "
            "choose other --base-port/--base-raft-port",
            file=sys.stderr,
        )
        return 2
    busy = [p for p in ports if not _port_free(p)]
    if busy:
        print(
            f"seshat cluster: port(s) {', '.join(map(str, busy))} already in use on 127.0.0.1; "
            "choose other --base-port/--base-raft-port",
            file=sys.stderr,
        )
        return 1
    root.mkdir(parents=True, exist_ok=True)
    launcher = Launcher(nodes, node_args, out)

    first_signal_at = 0.0

    def on_signal(signum: int, frame: object) -> None:
        nonlocal first_signal_at
        if launcher.stop_signal is None:
            launcher.stop_signal = signum
            first_signal_at = time.monotonic()
        elif time.monotonic() - first_signal_at > 1.0:
            # A second signal, not the same one delivered twice (a terminal's Ctrl-C and a
            # wrapper such as `timeout` forwarding it): stop waiting and kill every node.
            launcher.say("second signal: killing every node")
            launcher.kill_all()
            raise SystemExit(1)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        launcher.say(f"starting {len(nodes)} nodes, data and logs under {root.resolve()}")
        launcher.start()
        for node in nodes:
            assert node.proc is not None
            launcher.say(
                f"node {node.node_id}: redis {node.address}  raft 127.0.0.1:{node.raft_port}  "
                f"data {node.data_dir}  log {node.log_path}  pid {node.proc.pid}"
            )
        found = launcher.wait_for_leader(args.leader_timeout_s)
        if launcher.stop_signal is None:
            launcher.report_exits()
            if found is None:
                launcher.say(f"no leader within {args.leader_timeout_s:g}s; stopping every node")
                return 1
            leader, term = found
            launcher.say(
                f"leader is node {leader} (term {term}); ready. "
                f"Try: redis-cli -p {nodes[0].port} SET hello world"
            )
            launcher.say("Ctrl-C or SIGTERM stops every node")
        while launcher.stop_signal is None and any(n.alive() for n in nodes):
            launcher.report_exits()
            time.sleep(0.2)
        launcher.report_exits()
        if launcher.stop_signal is not None:
            name = signal.Signals(launcher.stop_signal).name
            launcher.say(f"{name}: stopping every node")
        return 0
    finally:
        launcher.stop(launcher.stop_signal or signal.SIGTERM, args.stop_timeout_s)
        codes = {n.node_id: n.proc.returncode for n in nodes if n.proc is not None}
        launcher.say(f"stopped (exit codes {codes})")
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# ---------------------------------------------------------------------- admin subcommands


def _admin_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seshat", description="Administer a running Seshat cluster over RESP."
    )
    sub = parser.add_subparsers(dest="subcommand", required=True)

    def common(p: argparse.ArgumentParser, flag: str, what: str) -> None:
        p.add_argument(
            flag,
            default=DEFAULT_ADDRESS,
            metavar="HOST:PORT",
            help=f"{what} (default: {DEFAULT_ADDRESS}; env SESHAT_ADDRESS)",
        )
        p.add_argument(
            "--password",
            default=os.environ.get("SESHAT_REQUIREPASS", ""),
            help="AUTH password when the nodes run with --requirepass [SESHAT_REQUIREPASS]",
        )
        p.add_argument("--timeout-s", type=float, default=10.0, help="give up after (default: 10)")

    node = sub.add_parser("node", help="add or remove a cluster member")
    node_sub = node.add_subparsers(dest="action", required=True)
    add = node_sub.add_parser(
        "add", help="add a member (start it first with --join and the same --peers plus itself)"
    )
    add.add_argument("node_id", type=int, metavar="ID")
    add.add_argument("raft_address", metavar="RAFT_ADDR", help="HOST:PORT of its Raft port")
    add.add_argument("client_address", metavar="CLIENT_ADDR", help="HOST:PORT clients use")
    common(add, "--leader", "the leader's client address (any member is followed to it)")
    remove = node_sub.add_parser("remove", help="remove a member")
    remove.add_argument("node_id", type=int, metavar="ID")
    common(remove, "--leader", "the leader's client address (any member is followed to it)")

    transfer = sub.add_parser("transfer", help="hand leadership to another voter")
    transfer.add_argument("node_id", type=int, metavar="ID")
    common(transfer, "--leader", "the leader's client address (any member is followed to it)")

    status = sub.add_parser("status", help="show the cluster as one node sees it")
    common(status, "--node", "the node to ask")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


_NOT_LEADER = re.compile(r"not the leader; run it on node (\d+)")


def _on_leader(address: str, password: str, timeout_s: float, *args: object) -> tuple[str, Any]:
    """Run an admin command on the leader, following one "not the leader" answer."""
    try:
        return address, command(address, *args, password=password, timeout_s=timeout_s)
    except CommandError as error:
        match = _NOT_LEADER.search(str(error))
        if match is None or match.group(1) == "0":
            raise
        leader_id = int(match.group(1))
        members = raft_status(address, password, timeout_s)["members"]
        leader = next((m["client"] for m in members if m["id"] == leader_id and m["client"]), "")
        if not leader:
            raise CommandError(f"{error} (and its client address is unknown)") from error
        return leader, command(leader, *args, password=password, timeout_s=timeout_s)


def _show_status(address: str, password: str, timeout_s: float, as_json: bool) -> int:
    status = raft_status(address, password, timeout_s)
    for member in status["members"]:
        info = info_raft(member["client"], password, timeout_s=1.0) if member["client"] else {}
        member["role"] = info.get("role", "unreachable")
        member["applied_index"] = int(info["applied_index"]) if "applied_index" in info else None
    if as_json:
        print(json.dumps(status, indent=2))
        return 0
    print(
        f"asked node {status['node_id']} at {address}: role {status['role']}, "
        f"term {status['term']}, leader {status['leader_id'] or 'none'}, "
        f"commit {status['commit_index']}, applied {status['applied_index']}"
    )
    print(
        f"{'id':>4}  {'kind':<7}  {'role':<11}  {'client':<22}  {'raft':<22}  {'applied':>8}  match"
    )
    for m in status["members"]:
        applied = "" if m["applied_index"] is None else str(m["applied_index"])
        match = "" if m["match"] < 0 else str(m["match"])
        kind = "voter" if m["voter"] else "learner"
        print(
            f"{m['id']:>4}  {kind:<7}  {m['role']:<11}  {m['client'] or '?':<22}  "
            f"{m['raft'] or '?':<22}  {applied:>8}  {match}"
        )
    return 0


def _wait_leader(address: str, target: int, password: str, timeout_s: float) -> bool:
    members = raft_status(address, password, timeout_s)["members"]
    clients = [m["client"] for m in members if m["client"]]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for client in clients:
            info = info_raft(client, password, timeout_s=1.0)
            if info.get("role") == "leader" and info.get("node_id") == str(target):
                return True
        time.sleep(0.1)
    return False


def run_admin(argv: list[str]) -> int:
    args = _admin_parser().parse_args(argv)
    try:
        if args.subcommand == "status":
            return _show_status(args.node, args.password, args.timeout_s, args.json)
        if args.subcommand == "node" and args.action == "add":
            used, _ = _on_leader(
                args.leader,
                args.password,
                args.timeout_s,
                "RAFT.NODE",
                "ADD",
                args.node_id,
                args.raft_address,
                args.client_address,
            )
            print(
                f"node {args.node_id} added through {used} (raft {args.raft_address}, "
                f"clients {args.client_address})"
            )
            return 0
        if args.subcommand == "node" and args.action == "remove":
            used, _ = _on_leader(
                args.leader, args.password, args.timeout_s, "RAFT.NODE", "REMOVE", args.node_id
            )
            print(f"node {args.node_id} removed through {used}")
            return 0
        if args.subcommand == "transfer":
            used, _ = _on_leader(
                args.leader, args.password, args.timeout_s, "RAFT.TRANSFER", args.node_id
            )
            if _wait_leader(used, args.node_id, args.password, args.timeout_s):
                print(f"node {args.node_id} is leader")
                return 0
            print(
                f"seshat: transfer to node {args.node_id} asked of {used}, but it is not "
                f"leader after {args.timeout_s:g}s",
                file=sys.stderr,
            )
            return 1
    except CommandError as error:
        print(f"seshat: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"seshat: {error}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse requires a known subcommand


def main(argv: list[str]) -> int:
    """Entry point from `seshat.cli.main` when argv[0] is one of SUBCOMMANDS."""
    if argv[0] == "cluster":
        return run_cluster(argv[1:])
    return run_admin(argv)
