"""CLUSTER's 27 subcommands: the table rows and, without cluster support, the replies of a
redis-server 7.0.15 byte for byte; in redirect mode (`--redirect`, Seshat seen as a Redis
Cluster whose Raft leader owns every slot) what each subcommand answers, on one node and on a
three-node group."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from seshat.cluster_commands import HELP_LINES
from tests.cluster.conftest import LocalCluster, start_cluster  # noqa: F401 (a fixture)
from tests.server.conftest import SeshatProcess
from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import Pair, WireClient, parse
from tests.waiting import poll_until

SUBCOMMANDS = (
    "addslots", "addslotsrange", "bumpepoch", "count-failure-reports", "countkeysinslot",
    "delslots", "delslotsrange", "failover", "forget", "getkeysinslot", "flushslots", "info",
    "keyslot", "meet", "myid", "nodes", "replicate", "reset", "set-config-epoch", "setslot",
    "replicas", "slaves", "saveconfig", "slots", "shards", "links", "help",
)  # fmt: skip

# Without cluster support every subcommand of the right arity answers "disabled" (HELP and
# KEYSLOT too); unknown subcommands and wrong arities are the table's errors.
NON_CLUSTER_LINES = [
    "cluster",
    "cluster help",
    "cluster help x",
    "cluster keyslot foo",
    "cluster keyslot",
    "cluster keyslot a b",
    "cluster myid",
    "cluster myid x",
    "cluster info",
    "cluster nodes",
    "cluster slots",
    "cluster shards",
    "cluster links",
    "cluster countkeysinslot 1",
    "cluster getkeysinslot 1 1",
    "cluster getkeysinslot 1",
    "cluster addslots 1",
    "cluster addslots",
    "cluster addslotsrange 1 2",
    "cluster delslots 1",
    "cluster delslotsrange 1 2",
    "cluster flushslots",
    "cluster setslot 1 stable",
    "cluster meet 127.0.0.1 7000",
    "cluster forget x",
    "cluster replicate x",
    "cluster replicas x",
    "cluster slaves x",
    "cluster count-failure-reports x",
    "cluster reset",
    "cluster reset hard",
    "cluster failover",
    "cluster failover force",
    "cluster saveconfig",
    "cluster set-config-epoch 1",
    "cluster bumpepoch",
    "cluster nope",
    "cluster nope x",
    "CLUSTER KEYSLOT {user}1",
]


@pytest.mark.parametrize("line", NON_CLUSTER_LINES)
def test_without_cluster_support_as_redis(pair: Pair, line: str) -> None:
    pair.same(line)


def _rows(reply: bytes) -> tuple[bytes, list[bytes]]:
    """The container's own fields and its subcommands' rows, sorted: Redis lists subcommands
    in its dict's order, which changes from one process to the next."""
    node, _ = parse(reply)
    top = node.children[0] if node.marker in (b"*",) and len(node.children) == 1 else node
    kids = top.children
    if top.marker == b"*" and len(kids) == 10:  # COMMAND INFO: subcommands are the 10th field
        head = b"".join(k.raw for k in kids[:9])
        return head, sorted(k.raw for k in kids[9].children)
    doc = kids[1]  # COMMAND DOCS: name, then a map whose last pair is the subcommands
    pairs = doc.children
    head = b"".join(k.raw for k in pairs[:-2])
    subs = pairs[-1].children
    return head, sorted(subs[i].raw + subs[i + 1].raw for i in range(0, len(subs), 2))


def test_container_rows_as_redis(pair: Pair) -> None:
    for line in ("COMMAND INFO cluster", "COMMAND DOCS cluster"):
        theirs, ours = pair.both(line)
        assert _rows(ours) == _rows(theirs), line
        assert len(_rows(ours)[1]) == 27


def test_command_list_names_every_subcommand(pair: Pair) -> None:
    for sub in SUBCOMMANDS:
        theirs, ours = pair.both(f"COMMAND LIST FILTERBY PATTERN cluster|{sub}")
        assert ours == theirs, sub
        assert f"cluster|{sub}".encode() in ours


def _call(client: WireClient, line: str) -> bytes:
    return client.call([w.encode() for w in line.split()])


def test_redirect_mode_on_one_node(start_seshat: Callable[..., SeshatProcess]) -> None:
    node = start_seshat("--redirect")
    client = node.client(protocol=2)
    wire = WireClient(node.port)
    try:
        help_reply = b"*%d\r\n" % len(HELP_LINES) + b"".join(
            b"+" + line.encode() + b"\r\n" for line in HELP_LINES
        )
        assert _call(wire, "CLUSTER HELP") == help_reply
        assert _call(wire, "CLUSTER KEYSLOT {user}1") == b":5474\r\n"
        assert (
            _call(wire, "CLUSTER nope") == b"-ERR unknown subcommand 'nope'. Try CLUSTER HELP.\r\n"
        )
        assert _call(wire, "CLUSTER MYID x") == (
            b"-ERR wrong number of arguments for 'cluster|myid' command\r\n"
        )
        myid = client.execute_command("CLUSTER", "MYID").decode()
        assert len(myid) == 40
        assert b"cluster_state:ok\r\n" in _call(wire, "CLUSTER INFO")
        assert client.execute_command("CLUSTER", "SAVECONFIG") in (True, b"OK", "OK")
        assert client.execute_command("CLUSTER", "COUNT-FAILURE-REPORTS", myid) == 0
        assert client.execute_command("CLUSTER", "LINKS") == []
        assert client.execute_command("CLUSTER", "REPLICAS", myid) == []
        assert _call(wire, "CLUSTER SLOTS").startswith(b"*1\r\n*3\r\n:0\r\n:16383\r\n")

        # Keys by slot: a full scan of db 0, bounded by SLOT_SCAN_KEYS_MAX.
        client.mset({"{a}1": 1, "{a}2": 2, "{b}1": 3})
        slot_a = client.execute_command("CLUSTER", "KEYSLOT", "a")
        assert client.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot_a) == 2
        assert sorted(client.execute_command("CLUSTER", "GETKEYSINSLOT", slot_a, 10)) == [
            b"{a}1",
            b"{a}2",
        ]
        assert len(client.execute_command("CLUSTER", "GETKEYSINSLOT", slot_a, 1)) == 1
        assert client.execute_command("CLUSTER", "GETKEYSINSLOT", slot_a, 0) == []
        errors = {
            "CLUSTER COUNTKEYSINSLOT x": b"-ERR value is not an integer or out of range\r\n",
            "CLUSTER COUNTKEYSINSLOT 16384": b"-ERR Invalid slot\r\n",
            "CLUSTER COUNTKEYSINSLOT -1": b"-ERR Invalid slot\r\n",
            "CLUSTER GETKEYSINSLOT 1 x": b"-ERR value is not an integer or out of range\r\n",
            "CLUSTER GETKEYSINSLOT 99999 1": b"-ERR Invalid slot or number of keys\r\n",
            "CLUSTER GETKEYSINSLOT 1 -1": b"-ERR Invalid slot or number of keys\r\n",
            "CLUSTER REPLICAS x": b"-ERR Unknown node x\r\n",
            "CLUSTER SLAVES x": b"-ERR Unknown node x\r\n",
            "CLUSTER COUNT-FAILURE-REPORTS x": b"-ERR Unknown node x\r\n",
        }
        for line, expected in errors.items():
            assert _call(wire, line) == expected, line
        for line, word in [
            ("CLUSTER ADDSLOTS 1", b"slots"),
            ("CLUSTER ADDSLOTSRANGE 1 2", b"slots"),
            ("CLUSTER DELSLOTS 1", b"slots"),
            ("CLUSTER DELSLOTSRANGE 1 2", b"slots"),
            ("CLUSTER FLUSHSLOTS", b"slots"),
            ("CLUSTER SETSLOT 1 STABLE", b"slots"),
            ("CLUSTER MEET 127.0.0.1 7000", b"RAFT.NODE"),
            ("CLUSTER FORGET x", b"RAFT.NODE"),
            ("CLUSTER REPLICATE x", b"RAFT.NODE"),
            ("CLUSTER RESET HARD", b"RAFT.NODE"),
            ("CLUSTER FAILOVER", b"RAFT.TRANSFER"),
            ("CLUSTER SET-CONFIG-EPOCH 1", b"Raft term"),
            ("CLUSTER BUMPEPOCH", b"Raft term"),
        ]:
            reply = _call(wire, line)
            assert reply.startswith(b"-ERR Seshat") and word in reply, (line, reply)
    finally:
        wire.close()
        client.close()


def test_redirect_mode_on_three_nodes(
    start_cluster: Callable[..., LocalCluster],  # noqa: F811
) -> None:
    cluster = start_cluster(3, "--redirect")
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    client = cluster.client(follower, protocol=2)
    try:
        leader_id = cluster.client(leader, protocol=2).execute_command("CLUSTER", "MYID").decode()
        follower_id = client.execute_command("CLUSTER", "MYID").decode()
        assert leader_id != follower_id
        lines = client.execute_command("CLUSTER", "NODES", NEVER_DECODE=True).decode().splitlines()
        assert len(lines) == 3
        flags = {line.split()[0]: line.split()[2] for line in lines}
        assert flags == {
            leader_id: "master",
            follower_id: "myself,slave",
            **{name: "slave" for name in flags if name not in (leader_id, follower_id)},
        }
        replicas = client.execute_command("CLUSTER", "REPLICAS", leader_id)
        assert len(replicas) == 2
        assert all(f"slave {leader_id}".encode() in line for line in replicas)
        assert client.execute_command("CLUSTER", "SLAVES", leader_id) == replicas
        with pytest.raises(redis.ResponseError, match="not a master"):
            client.execute_command("CLUSTER", "REPLICAS", follower_id)
        links = client.execute_command("CLUSTER", "LINKS")
        assert len(links) == 2
        assert client.execute_command("CLUSTER", "COUNT-FAILURE-REPORTS", leader_id) == 0
        wire = WireClient(cluster.nodes[follower].port)
        try:  # a member's client address arrives by asking it, soon after start
            listed = poll_until(lambda: _call(wire, "CLUSTER SLOTS").startswith(b"*1\r\n*5\r\n"))
            assert listed, "CLUSTER SLOTS did not list all three nodes in time"
            slots = _call(wire, "CLUSTER SLOTS")
        finally:
            wire.close()
        assert slots.startswith(b"*1\r\n*5\r\n:0\r\n:16383\r\n")  # the master, 2 replicas
        assert leader_id.encode() in slots.split(b"*3\r\n")[1]  # the master comes first
    finally:
        client.close()


CLUSTER_RULES = [
    "+cluster|info",
    "+cluster -cluster|nodes",
    "+cluster|info +cluster",
    "+@all -@admin",
    "+cluster -cluster|addslots",
    "-@all +cluster|info +cluster|keyslot -cluster|info",
    "+cluster|nope",
    "+cluster|info|x",
]


@pytest.mark.parametrize("rules", CLUSTER_RULES)
def test_acl_rules_on_cluster_subcommands(pair: Pair, rules: str) -> None:
    """`cluster|<sub>` rules, and what they let a user run, as Redis has them."""
    pair.same("ACL SETUSER clusteruser reset on nopass " + rules)
    try:
        pair.same("ACL GETUSER clusteruser")
        for sub in ("info", "nodes", "keyslot k", "addslots 1", "nope"):
            pair.same("ACL DRYRUN clusteruser CLUSTER " + sub)
    finally:
        pair.same("ACL DELUSER clusteruser")


@pytest.mark.parametrize("category", ["admin", "dangerous", "slow"])
def test_acl_categories_name_cluster_subcommands(pair: Pair, category: str) -> None:
    theirs, ours = pair.both(f"ACL CAT {category}")
    node_theirs, node_ours = parse(theirs)[0], parse(ours)[0]
    ours_cluster = sorted(k.raw for k in node_ours.children if b"cluster|" in k.raw)
    theirs_cluster = sorted(k.raw for k in node_theirs.children if b"cluster|" in k.raw)
    assert ours_cluster == theirs_cluster
    assert ours_cluster
