"""CLUSTER: one Raft group seen as a Redis Cluster whose leader owns all 16384 slots.

Cluster support counts as enabled in redirect mode (`--redirect`), the test INFO's
`cluster_enabled` and ASKING use. Without it every CLUSTER subcommand answers Redis's
"cluster support disabled", HELP and KEYSLOT included, as redis-server 7.0.15 does; the
subcommand's existence and arity are checked before, from the table (`seshat/kv/cluster_table.py`).

With it, followers are the leader's replicas: MYID, INFO, SLOTS, SHARDS, NODES, REPLICAS/SLAVES,
LINKS and COUNT-FAILURE-REPORTS describe the Raft group, which together with -MOVED lets
`redis-cli -c` and redis-py's RedisCluster follow the leader. Slots and membership are Raft's
to decide, so the subcommands that would change them answer an error naming Seshat's way
(RAFT.NODE, RAFT.TRANSFER, FAILOVER). COUNTKEYSINSLOT and GETKEYSINSLOT read this node's
applied keys of db 0 (Redis Cluster has no other): keys are stored by hash, not by slot, so
they scan the whole db, and refuse when it holds more than `SLOT_SCAN_KEYS_MAX` keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from seshat.cluster import node_name
from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.kv.slots import SLOT_COUNT, key_slot
from seshat.protocol.replies import OK, ErrorReply, Map, Reply, SimpleString, Verbatim
from seshat.roles import refresh_addresses

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

# A full scan of one db on the event loop, as KEYS does; past this many keys it would stall
# every other client for long, so the slot-scanning subcommands refuse instead.
SLOT_SCAN_KEYS_MAX: Final = 100_000

CLUSTER_DISABLED: Final = ErrorReply("ERR This instance has cluster support disabled")
SLOTS_BY_RAFT: Final = ErrorReply(
    "ERR Seshat assigns every slot to the Raft leader: slots cannot be assigned, moved or "
    "deleted (use RAFT.TRANSFER or FAILOVER to move the leadership)"
)
MEMBERSHIP_BY_RAFT: Final = ErrorReply(
    "ERR Seshat changes membership through Raft: use RAFT.NODE ADD or RAFT.NODE REMOVE"
)
FAILOVER_BY_RAFT: Final = ErrorReply(
    "ERR Seshat moves the leadership through Raft: use RAFT.TRANSFER <node-id> or FAILOVER"
)
EPOCH_IS_TERM: Final = ErrorReply(
    "ERR Seshat's config epoch is the Raft term, which only an election advances"
)
INVALID_SLOT: Final = ErrorReply("ERR Invalid slot")
INVALID_SLOT_OR_COUNT: Final = ErrorReply("ERR Invalid slot or number of keys")

# Redis 7.0.15's `CLUSTER HELP` (cluster.c), line for line.
HELP_LINES: Final = (
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes of a link",
    "HELP",
    "    Prints this help.",
)

_REFUSED: Final[dict[bytes, ErrorReply]] = {
    **dict.fromkeys(
        (b"addslots", b"addslotsrange", b"delslots", b"delslotsrange", b"flushslots", b"setslot"),
        SLOTS_BY_RAFT,
    ),
    **dict.fromkeys((b"meet", b"forget", b"replicate", b"reset"), MEMBERSHIP_BY_RAFT),
    b"failover": FAILOVER_BY_RAFT,
    b"set-config-epoch": EPOCH_IS_TERM,
    b"bumpepoch": EPOCH_IS_TERM,
}


class _Group:
    """The Raft group as Redis Cluster names it: 40-hex node ids, client addresses, roles."""

    def __init__(self, admin: Admin) -> None:
        server = admin.server
        self.server = server
        self.raw = server.node.raw
        self.me = self.raw.id
        self.leader = self.raw.leader_id()
        members = list(self.raw.conf_state().all_nodes())
        # The leader first, as Redis lists a slot range's master before its replicas.
        self.ordered = ([self.leader] if self.leader else []) + [
            n for n in members if n != self.leader
        ]

    def name(self, node: int) -> str:
        return node_name(self.server.cluster_id, node)

    def address(self, node: int) -> str:
        cluster = self.server.cluster
        if cluster is not None:
            address = cluster.client_addresses.get(node, "")
            if not address:  # it did not answer when asked after the election: ask again
                refresh_addresses(self.server)
            return address
        config = self.server.config
        return config.advertise or f"{config.bind}:{self.server.port}"  # a lone node: itself

    def host_port(self, node: int) -> tuple[bytes, int]:
        host, _, port = self.address(node).rpartition(":")
        return host.encode(), int(port) if port.isdigit() else 0

    def find(self, name: bytes) -> int | None:
        for node in self.ordered:
            if self.name(node).encode() == name:
                return node
        return None

    def node_line(self, node: int) -> str:
        """One line of CLUSTER NODES, without its newline."""
        address = self.address(node) or ":0"
        flags = ("myself," if node == self.me else "") + (
            "master" if node == self.leader else "slave"
        )
        master = "-" if node == self.leader or not self.leader else self.name(self.leader)
        slots = f" 0-{SLOT_COUNT - 1}" if node == self.leader else ""
        return (
            f"{self.name(node)} {address}@0 {flags} {master} 0 0 {self.raw.term()} connected{slots}"
        )


def cluster_command(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    """CLUSTER <sub> ...; the table has already checked that `sub` exists and its arity."""
    if not self.server.config.redirect:
        return CLUSTER_DISABLED
    sub = argv[1].lower()
    refused = _REFUSED.get(sub)
    if refused is not None:
        return refused
    if sub == b"help":
        return [SimpleString(line.encode()) for line in HELP_LINES]
    if sub == b"keyslot":
        return key_slot(argv[2])
    if sub == b"saveconfig":
        return OK  # the group's configuration is the Raft log, on disk once committed
    if sub == b"countkeysinslot":
        return _count_keys_in_slot(self, argv)
    if sub == b"getkeysinslot":
        return _get_keys_in_slot(self, argv)
    group = _Group(self)
    handler = _DESCRIBERS[sub]  # every other subcommand of the table describes the group
    return handler(group, argv)


def _myid(group: _Group, argv: list[bytes]) -> Reply:
    return group.name(group.me).encode()


def _info(group: _Group, argv: list[bytes]) -> Reply:
    ok = group.leader != 0
    term = group.raw.term()
    lines = [
        f"cluster_state:{'ok' if ok else 'fail'}",
        f"cluster_slots_assigned:{SLOT_COUNT if ok else 0}",
        f"cluster_slots_ok:{SLOT_COUNT if ok else 0}",
        "cluster_slots_pfail:0",
        "cluster_slots_fail:0",
        f"cluster_known_nodes:{len(group.ordered)}",
        f"cluster_size:{1 if ok else 0}",
        f"cluster_current_epoch:{term}",
        f"cluster_my_epoch:{term}",
    ]
    return Verbatim(("\r\n".join(lines) + "\r\n").encode())


def _slots(group: _Group, argv: list[bytes]) -> Reply:
    if not group.leader:
        return []
    nodes: list[Reply] = []
    for n in group.ordered:
        host, port = group.host_port(n)
        if port:
            nodes.append([host, port, group.name(n).encode()])
    return [[0, SLOT_COUNT - 1, *nodes]]


def _shards(group: _Group, argv: list[bytes]) -> Reply:
    node_maps: list[Reply] = []
    for n in group.ordered:
        host, port = group.host_port(n)
        node_maps.append(
            Map(
                [
                    (b"id", group.name(n).encode()),
                    (b"port", port),
                    (b"ip", host),
                    (b"endpoint", host),
                    (b"role", b"master" if n == group.leader else b"replica"),
                    (b"replication-offset", group.raw.committed()),
                    (b"health", b"online"),
                ]
            )
        )
    slots: list[Reply] = [0, SLOT_COUNT - 1] if group.leader else []
    return [Map([(b"slots", slots), (b"nodes", node_maps)])]


def _nodes(group: _Group, argv: list[bytes]) -> Reply:
    return Verbatim("".join(group.node_line(n) + "\n" for n in group.ordered).encode())


def _replicas(group: _Group, argv: list[bytes]) -> Reply:
    """REPLICAS/SLAVES <node-id>: the followers' NODES lines, when the node is the leader."""
    node = group.find(argv[2])
    if node is None:
        return _unknown_node(argv[2])
    if node != group.leader:
        return ErrorReply("ERR The specified node is not a master")
    return [group.node_line(n).encode() for n in group.ordered if n != node]


def _count_failure_reports(group: _Group, argv: list[bytes]) -> Reply:
    # Raft has no gossip of failure reports: a member is reachable or it is not.
    return 0 if group.find(argv[2]) is not None else _unknown_node(argv[2])


def _links(group: _Group, argv: list[bytes]) -> Reply:
    """One outbound link per other member: Raft's transport keeps one channel to each peer."""
    return [
        Map(
            [
                (b"direction", b"to"),
                (b"node", group.name(n).encode()),
                (b"create-time", 0),
                (b"events", b"rw"),
                (b"send-buffer-allocated", 0),
                (b"send-buffer-used", 0),
            ]
        )
        for n in group.ordered
        if n != group.me
    ]


_DESCRIBERS: Final = {
    b"myid": _myid,
    b"info": _info,
    b"slots": _slots,
    b"shards": _shards,
    b"nodes": _nodes,
    b"replicas": _replicas,
    b"slaves": _replicas,
    b"count-failure-reports": _count_failure_reports,
    b"links": _links,
}


def _unknown_node(name: bytes) -> ErrorReply:
    return ErrorReply(f"ERR Unknown node {name.decode(errors='replace')[:128]}")


def _count_keys_in_slot(self: Admin, argv: list[bytes]) -> Reply:
    slot = parse_int(argv[2])
    if slot is None:
        return E.NOT_INTEGER
    if not 0 <= slot < SLOT_COUNT:
        return INVALID_SLOT
    keys = _keys_of_db0(self)
    if isinstance(keys, ErrorReply):
        return keys
    return sum(1 for key in keys if key_slot(key) == slot)


def _get_keys_in_slot(self: Admin, argv: list[bytes]) -> Reply:
    slot = parse_int(argv[2])
    if slot is None:
        return E.NOT_INTEGER
    count = parse_int(argv[3])
    if count is None:
        return E.NOT_INTEGER
    if not 0 <= slot < SLOT_COUNT or count < 0:
        return INVALID_SLOT_OR_COUNT
    keys = _keys_of_db0(self)
    if isinstance(keys, ErrorReply):
        return keys
    found: list[Reply] = []
    for key in keys:
        if len(found) >= count:
            break
        if key_slot(key) == slot:
            found.append(key)
    return found


def _keys_of_db0(self: Admin) -> list[bytes] | ErrorReply:
    """This node's applied live keys of db 0, or an error past `SLOT_SCAN_KEYS_MAX`."""
    server = self.server
    view = server.state_machine.view
    size = view.db_size(0)
    if size > SLOT_SCAN_KEYS_MAX:
        return ErrorReply(
            f"ERR Seshat stores keys by hash, not by slot: this needs a scan of all {size} "
            f"keys, refused above {SLOT_SCAN_KEYS_MAX}"
        )
    return [key for _h, key, _r in view.iterate(0, server.kv.clock_ms())]
