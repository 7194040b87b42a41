"""ACL users on a three-node cluster: users are replicated state (docs/acl.md).

A user created on the leader logs in on a follower; a user created through a follower exists
on the leader; a node restarted from its data dir still has the users; a node that catches up
by snapshot gets them too; ACL DELUSER closes that user's connections on every node; a
follower refuses what the user may not run before relaying anything to the leader; and a
restricted user's script is checked call by call in apply, inside MULTI on a follower too.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from tests.cluster.conftest import LocalCluster
from tests.waiting import poll_until


def _can_login(cluster: LocalCluster, node: int, user: str, password: str) -> bool:
    client = cluster.client(node, protocol=2)
    try:
        return bool(client.execute_command("AUTH", user, password))
    except redis.exceptions.AuthenticationError:
        return False
    finally:
        client.close()


def test_users_replicate_survive_restart_and_deletion_closes_everywhere(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    followers = [n for n in cluster.nodes if n != leader]
    admin = cluster.client(leader, protocol=2)
    assert admin.acl_setuser(
        "alice", enabled=True, passwords=["+pw1"], keys=["a*"], commands=["+@all"]
    )
    for n in cluster.nodes:
        assert poll_until(lambda n=n: _can_login(cluster, n, "alice", "pw1")), n

    # Created through a follower: relayed to the leader like any write.
    relay = cluster.client(followers[0], protocol=3)
    assert relay.execute_command("ACL", "SETUSER", "bob", "on", ">pw2", "~b*", "+get", "+set")
    assert poll_until(lambda: _can_login(cluster, leader, "bob", "pw2"))

    # Permissions hold on a follower, before anything is relayed.
    alice = cluster.client(followers[1], protocol=3, username="alice", password="pw1")
    assert alice.set("a1", "v")
    with pytest.raises(redis.exceptions.NoPermissionError):
        alice.set("other", "v")
    assert admin.get("other") is None
    assert b"alice" in b" ".join(
        e[b"username"] if isinstance(e, dict) else b"" for e in _raw_log(cluster, followers[1])
    )

    # Scripts: each replica checks the calls for the user named in the entry, whether the
    # script came to the leader or through a follower (which relays the user with it).
    on_leader = cluster.client(leader, protocol=3, username="alice", password="pw1")
    script = "redis.call('set', KEYS[1], 'x') return redis.call('get', 'other')"
    for client, key in ((on_leader, "a2"), (alice, "a3")):
        with pytest.raises(redis.exceptions.ResponseError, match="can't access at least one"):
            client.eval(script, 1, key)
        assert admin.get(key) == b"x"  # the call before the refused one ran, as in Redis
    assert alice.eval("return redis.call('get', KEYS[1])", 1, "a3") == b"x"
    assert alice.eval_ro("return redis.call('get', 'a2')", 0) == b"x"
    # In MULTI on a follower too: the relayed EXEC names the user, and the leader's entry
    # carries it, so the script's refused call fails inside EXEC's reply as on the leader.
    for client, key in ((on_leader, "a4"), (alice, "a5")):
        pipe = client.pipeline(transaction=True)
        pipe.eval(script, 1, key)
        pipe.eval("return redis.call('get', KEYS[1])", 1, key)
        refused, value = pipe.execute(raise_on_error=False)
        assert isinstance(refused, redis.exceptions.ResponseError), refused
        assert "can't access at least one" in str(refused)
        assert value == b"x"
    on_leader.close()

    # A restart reads the users back from the data dir.
    cluster.nodes[followers[0]].kill()
    cluster.nodes[followers[0]].start()
    assert poll_until(lambda: _can_login(cluster, followers[0], "bob", "pw2"))
    assert poll_until(lambda: _can_login(cluster, followers[0], "alice", "pw1"))

    # Deleting a user closes its connections on every node, each on its own apply.
    watchers = {
        n: cluster.client(n, protocol=2, username="alice", password="pw1") for n in cluster.nodes
    }
    for client in watchers.values():
        assert client.ping()
    assert admin.acl_deluser("alice") == 1
    for n, client in watchers.items():
        assert poll_until(lambda client=client: _closed(client)), n
        assert not _can_login(cluster, n, "alice", "pw1"), n


def _raw_log(cluster: LocalCluster, node: int) -> list[object]:
    client = cluster.client(node, protocol=3)
    entries = client.execute_command("ACL", "LOG")
    client.close()
    return list(entries)


def _closed(client: redis.Redis) -> bool:
    """True once the server has closed this client's connection (and will not take it back:
    reconnecting as a deleted user fails too)."""
    try:
        client.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.AuthenticationError):
        return True
    return False


def test_a_node_catching_up_by_snapshot_gets_the_users(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3, "--log-compact-entries-max", "50")
    leader = cluster.leader()
    lagging = next(n for n in cluster.nodes if n != leader)
    cluster.nodes[lagging].kill()
    admin = cluster.client(leader)
    assert admin.acl_setuser(
        "carol", enabled=True, passwords=["+pw3"], keys=["*"], commands=["+@read"]
    )
    for i in range(400):
        admin.set(f"k{i}", i)
    info = cluster.info_raft(leader)
    assert int(info["first_log_index"]) > 2, info  # the SETUSER entry was compacted away
    cluster.nodes[lagging].start()
    cluster.wait_applied(lagging, int(info["commit_index"]))
    assert "snapshot_installed" in cluster.nodes[lagging].log()
    carol = cluster.client(lagging, protocol=3, username="carol", password="pw3")
    assert carol.get("k1") == b"1"
    with pytest.raises(redis.exceptions.NoPermissionError):
        carol.set("k1", "x")
    carol.close()
