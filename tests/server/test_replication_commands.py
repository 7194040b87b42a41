"""REPLICAOF, SLAVEOF, FAILOVER and MODULE on a single node, against a real redis-server: a
node with no followers answers as a Redis master with no replicas, and MODULE as a Redis whose
`enable-module-command` is off (seshat/failover.py, seshat/modules.py). The cluster behaviour
is in tests/cluster/test_failover_cluster.py."""

from __future__ import annotations

import pytest

from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import Pair

LINES = [
    "REPLICAOF NO ONE", "SLAVEOF no one", "REPLICAOF 127.0.0.1 abc", "REPLICAOF 127.0.0.1 99999",
    "REPLICAOF 127.0.0.1 -1", "REPLICAOF NO", "REPLICAOF a b c",
    "FAILOVER", "FAILOVER ABORT", "FAILOVER TO 127.0.0.1 6400", "FAILOVER TO 127.0.0.1",
    "FAILOVER FORCE", "FAILOVER TIMEOUT abc", "FAILOVER TIMEOUT -1", "FAILOVER TIMEOUT 0",
    "FAILOVER bogus", "FAILOVER ABORT TIMEOUT 5", "FAILOVER TO h 1 TO h 2", "FAILOVER TO h x",
    "FAILOVER FORCE FORCE", "FAILOVER TO localhost 6400 TIMEOUT 100 FORCE",
    "MODULE LIST", "MODULE HELP", "MODULE LOAD /nonexistent.so", "MODULE LOADEX /x.so",
    "MODULE UNLOAD foo", "MODULE bogus", "MODULE", "MODULE LIST extra", "MODULE UNLOAD",
]  # fmt: skip
# Their COMMAND INFO and DOCS rows are compared with the rest of the table in
# tests/server/test_differential_wire.py.


@pytest.mark.parametrize("line", LINES)
def test_a_node_without_followers_answers_as_redis(pair: Pair, line: str) -> None:
    pair.same(line)
