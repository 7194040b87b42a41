"""Lua scripts on a three-node cluster: the script cache is replicated state, so a script
loaded through one node runs by its sha on every node, scripts sent to followers are relayed,
and every replica ends with the same keyspace, random draws included."""

from __future__ import annotations

from collections.abc import Callable

from tests.cluster.conftest import LocalCluster
from tests.waiting import poll_until

COUNT_AND_DRAW = """
redis.call('incr', KEYS[1])
redis.call('rpush', KEYS[2], math.random(1000000))
redis.call('sadd', 'pool', 'a', 'b', 'c', 'd')
redis.call('rpush', KEYS[2], redis.call('srandmember', 'pool'))
return redis.call('get', KEYS[1])
"""


def test_scripts_run_through_any_node_and_replicas_agree(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    clients = {n: cluster.client(n) for n in cluster.nodes}
    follower = next(n for n in cluster.nodes if n != leader)
    sha = clients[follower].script_load(COUNT_AND_DRAW)  # relayed to the leader, replicated
    for n in cluster.nodes:
        assert poll_until(lambda n=n: clients[n].script_exists(sha) == [True]), n
    for i in range(1, 31):
        node = list(cluster.nodes)[i % 3]
        assert clients[node].evalsha(sha, 2, "count", "draws") == str(i).encode()
    assert clients[follower].eval("return redis.call('incr', KEYS[1])", 1, "count") == 31
    assert clients[follower].eval_ro("return redis.call('get', KEYS[1])", 1, "count") == b"31"
    expected = clients[leader].lrange("draws", 0, -1)
    assert len(expected) == 60
    for n in cluster.nodes:  # READONLY: this node's own copy, not a read through the leader
        local = cluster.client(n)
        local.execute_command("READONLY")
        assert poll_until(lambda local=local: local.lrange("draws", 0, -1) == expected), n
