"""Redis 7 functions on a three-node cluster: a library is replicated state, so one loaded
through a follower is listed and callable on every node, FCALL_RO serves from any node, and
every replica's own copy (READONLY) of what the functions wrote is the same."""

from __future__ import annotations

from collections.abc import Callable

from tests.cluster.conftest import LocalCluster
from tests.waiting import poll_until

LIBRARY = """#!lua name=counters
redis.register_function('bump', function(keys, args)
  redis.call('rpush', keys[2], math.random(1000000))
  return redis.call('incrby', keys[1], args[1])
end)
redis.register_function{function_name='peek', callback=function(keys)
  return redis.call('get', keys[1])
end, flags={'no-writes'}}
"""


def test_functions_load_through_a_follower_and_run_everywhere(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(3)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n != leader)
    clients = {n: cluster.client(n, protocol=3) for n in cluster.nodes}
    assert clients[follower].function_load(LIBRARY) == b"counters"

    def libraries(node: int) -> list[bytes]:
        return [lib[b"library_name"] for lib in clients[node].function_list()]

    for n in cluster.nodes:
        assert poll_until(lambda n=n: libraries(n) == [b"counters"]), n
    for i in range(1, 13):
        node = list(cluster.nodes)[i % 3]
        assert clients[node].fcall("bump", 2, "count", "draws", 1) == i
    for n in cluster.nodes:
        assert clients[n].fcall_ro("peek", 1, "count") == b"12"
    expected = clients[leader].lrange("draws", 0, -1)
    assert len(expected) == 12
    for n in cluster.nodes:  # READONLY: this node's own copy, random draws included
        local = cluster.client(n)
        local.execute_command("READONLY")
        assert poll_until(lambda local=local: local.lrange("draws", 0, -1) == expected), n
