"""Where the nodes live on this machine, and how a partition cuts them apart.

Two implementations behind one small interface (`Net`):

- `NamespaceNet` (root and `ip netns` available): one network namespace per node, each with an
  ``eth0`` veth whose peer is enslaved to a bridge living in a dedicated *hub* namespace, and one
  more veth from the root namespace to that bridge so the harness's clients reach every node.
  Addresses are in 10.201.X.0/24 (X chosen free per run): node ``i`` is ``.i``, the harness is
  ``.254``. The bridge sits in its own namespace on purpose: on hosts running Docker the root
  namespace's FORWARD policy is DROP and ``bridge-nf-call-iptables`` is on, so a bridge there
  would silently drop node-to-node traffic; the hub namespace has an empty ruleset. Nothing is
  changed in the root namespace except one veth and its address, removed at the end.
  A partition is a *grudge* (node -> nodes it must not hear from), applied as
  ``iptables -A INPUT -s <peer> -j DROP`` inside the node's namespace (``nft`` if iptables is
  missing). Client traffic from the harness (``.254``) is never dropped: as in Jepsen, faults are
  between nodes, clients keep talking to whichever node they are bound to.
- `LoopbackNet` (fallback): every node on 127.0.0.1 with its own ports. Processes can be killed
  and paused, but nothing can drop packets between two loopback processes without affecting
  every other process on the machine, so `can_partition` is False and the partition nemesis is
  skipped with a message.

Names carry the harness's pid and a letter (``sjep-<pid>a-n1``, root veth ``sj<pid>ar``) so `cleanup_stale`
can remove what a killed run left behind without touching a live run's namespaces.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Mapping, Sequence

PREFIX = "sjep-"
_instances = 0
CLIENT_PORT = 6379
RAFT_PORT = 7379


def _run(argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), check=False, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` failed ({done.returncode}): {done.stderr.strip()}")
    return done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def namespaces_available() -> tuple[bool, str]:
    """Can this process create network namespaces? (reason when not)."""
    if os.geteuid() != 0:
        return False, "not running as root"
    if shutil.which("ip") is None:
        return False, "the `ip` command is missing"
    if shutil.which("iptables") is None and shutil.which("nft") is None:
        return False, "neither iptables nor nft is installed"
    probe = f"{PREFIX}probe-{os.getpid()}"
    made = _run(["ip", "netns", "add", probe], check=False)
    if made.returncode != 0:
        return False, f"`ip netns add` failed: {made.stderr.strip()}"
    _run(["ip", "netns", "del", probe], check=False)
    return True, ""


class Net:
    """Addresses and the partition switch for nodes 1..n (and ids added later)."""

    can_partition: bool = False
    why_no_partition: str = ""

    def setup(self, node_ids: Sequence[int]) -> None: ...
    def host(self, node_id: int) -> str: raise NotImplementedError
    def client_port(self, node_id: int) -> int: raise NotImplementedError
    def raft_port(self, node_id: int) -> int: raise NotImplementedError
    def wrap(self, node_id: int, argv: list[str]) -> list[str]:
        """The command line that runs ``argv`` as node ``node_id``."""
        return argv

    def partition(self, grudge: Mapping[int, set[int]]) -> None:
        raise NotImplementedError(self.why_no_partition)

    def heal(self) -> None: ...
    def teardown(self) -> None: ...

    def describe(self) -> str:
        return type(self).__name__


class LoopbackNet(Net):
    def __init__(self, why_no_partition: str) -> None:
        self.why_no_partition = (
            f"partition nemesis unavailable: nodes are plain loopback processes ({why_no_partition}); "
            "packets between them cannot be dropped without affecting the whole machine"
        )
        self._ports: dict[int, tuple[int, int]] = {}

    def _ensure(self, node_id: int) -> tuple[int, int]:
        if node_id not in self._ports:
            self._ports[node_id] = (free_port(), free_port())
        return self._ports[node_id]

    def setup(self, node_ids: Sequence[int]) -> None:
        for node_id in node_ids:
            self._ensure(node_id)

    def host(self, node_id: int) -> str:
        return "127.0.0.1"

    def client_port(self, node_id: int) -> int:
        return self._ensure(node_id)[0]

    def raft_port(self, node_id: int) -> int:
        return self._ensure(node_id)[1]

    def describe(self) -> str:
        return "loopback processes on 127.0.0.1 (no partitions)"


class NamespaceNet(Net):
    can_partition = True

    def __init__(self) -> None:
        global _instances
        _instances += 1
        # pid + a letter per instance: one process (pytest) may run several harness runs.
        self.tag = f"{os.getpid()}{chr(97 + _instances % 26)}"
        self.subnet = _free_subnet(os.getpid())
        self.hub = f"{PREFIX}{self.tag}-hub"
        self.root_link = f"sj{self.tag}r"
        self._made_ns: list[str] = []
        self._made_root_link = False
        self._partitioned: set[int] = set()
        self._nodes: list[int] = []
        self.firewall = "iptables" if shutil.which("iptables") else "nft"

    def ns(self, node_id: int) -> str:
        return f"{PREFIX}{self.tag}-n{node_id}"

    def host(self, node_id: int) -> str:
        return f"{self.subnet}.{node_id}"

    def client_port(self, node_id: int) -> int:
        return CLIENT_PORT

    def raft_port(self, node_id: int) -> int:
        return RAFT_PORT

    def harness_address(self) -> str:
        return f"{self.subnet}.254"

    def describe(self) -> str:
        return (f"network namespaces {self.ns(1)}.. on bridge in {self.hub}, "
                f"{self.subnet}.0/24, partitions with {self.firewall}")

    def _hub(self, *argv: str) -> None:
        _run(["ip", "netns", "exec", self.hub, *argv])

    def _in(self, node_id: int, *argv: str, check: bool = True) -> None:
        _run(["ip", "netns", "exec", self.ns(node_id), *argv], check=check)

    def setup(self, node_ids: Sequence[int]) -> None:
        _run(["ip", "netns", "add", self.hub])
        self._made_ns.append(self.hub)
        self._hub("ip", "link", "set", "lo", "up")
        self._hub("ip", "link", "add", "br0", "type", "bridge")
        self._hub("ip", "link", "set", "br0", "up")
        _run(["ip", "link", "add", self.root_link, "type", "veth", "peer", "name", "toroot",
              "netns", self.hub])
        self._made_root_link = True
        self._hub("ip", "link", "set", "toroot", "master", "br0", "up")
        _run(["ip", "addr", "add", f"{self.harness_address()}/24", "dev", self.root_link])
        _run(["ip", "link", "set", self.root_link, "up"])
        for node_id in node_ids:
            self.add_node(node_id)

    def add_node(self, node_id: int) -> None:
        if node_id in self._nodes:
            return
        assert 1 <= node_id <= 250, node_id
        ns = self.ns(node_id)
        _run(["ip", "netns", "add", ns])
        self._made_ns.append(ns)
        self._nodes.append(node_id)
        hub_side = f"n{node_id}"
        _run(["ip", "netns", "exec", self.hub, "ip", "link", "add", hub_side, "type", "veth",
              "peer", "name", "eth0", "netns", ns])
        self._hub("ip", "link", "set", hub_side, "master", "br0", "up")
        self._in(node_id, "ip", "link", "set", "lo", "up")
        self._in(node_id, "ip", "addr", "add", f"{self.host(node_id)}/24", "dev", "eth0")
        self._in(node_id, "ip", "link", "set", "eth0", "up")

    def wrap(self, node_id: int, argv: list[str]) -> list[str]:
        # `ip netns exec` execs the command after setns, so the pid we get is the node's own:
        # SIGKILL and SIGSTOP reach the server, not a wrapper.
        return ["ip", "netns", "exec", self.ns(node_id), *argv]

    def partition(self, grudge: Mapping[int, set[int]]) -> None:
        self.heal()
        for node_id, enemies in grudge.items():
            if not enemies or node_id not in self._nodes:
                continue
            if self.firewall == "iptables":
                for enemy in sorted(enemies):
                    self._in(node_id, "iptables", "-w", "-A", "INPUT", "-s", self.host(enemy),
                             "-j", "DROP")
            else:
                addrs = ", ".join(self.host(e) for e in sorted(enemies))
                self._in(node_id, "nft", "add table inet jepsen")
                self._in(node_id, "nft",
                         "add chain inet jepsen input { type filter hook input priority 0; }")
                self._in(node_id, "nft", f"add rule inet jepsen input ip saddr {{ {addrs} }} drop")
            self._partitioned.add(node_id)

    def heal(self) -> None:
        for node_id in sorted(self._partitioned):
            if self.firewall == "iptables":
                self._in(node_id, "iptables", "-w", "-F", "INPUT", check=False)
            else:
                self._in(node_id, "nft", "delete table inet jepsen", check=False)
        self._partitioned.clear()

    def teardown(self) -> None:
        """Delete everything `setup` made; safe to call twice and after a partial setup."""
        if self._made_root_link:
            _run(["ip", "link", "del", self.root_link], check=False)
            self._made_root_link = False
        for ns in reversed(self._made_ns):  # deleting a namespace deletes its veths
            _run(["ip", "netns", "del", ns], check=False)
        self._made_ns.clear()
        self._nodes.clear()


def _free_subnet(seed: int) -> str:
    used = _run(["ip", "-4", "-o", "addr"], check=False).stdout
    for step in range(250):
        third = (seed + step) % 250 + 1
        subnet = f"10.201.{third}"
        if f" {subnet}." not in used:
            return subnet
    raise RuntimeError("no free 10.201.X.0/24 subnet")


def cleanup_stale() -> list[str]:
    """Remove namespaces and root veths left by harness runs whose process is gone."""
    removed: list[str] = []
    if shutil.which("ip") is None:
        return removed
    listing = _run(["ip", "netns", "list"], check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(rf"{PREFIX}(\d+)[a-z]-(hub|n\d+)", name)
        if match and not _alive(int(match.group(1))):
            _run(["ip", "netns", "del", name], check=False)
            removed.append(name)
    links = _run(["ip", "-o", "link"], check=False).stdout
    for match in re.finditer(r"\d+: (sj(\d+)[a-z]r)[@:]", links):
        if not _alive(int(match.group(2))):
            _run(["ip", "link", "del", match.group(1)], check=False)
            removed.append(match.group(1))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def make_net(use_namespaces: bool = True) -> Net:
    """Namespaces when possible, loopback otherwise (the reason goes into the report)."""
    if not use_namespaces:
        return LoopbackNet("namespaces disabled with --no-netns")
    ok, why = namespaces_available()
    if ok:
        return NamespaceNet()
    return LoopbackNet(why)
