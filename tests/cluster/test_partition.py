"""A real network partition: each node in its own network namespace (jepsen/net.py).

The leader is cut off from both followers (packets dropped between namespaces, clients still
reach every node). The majority side elects a new leader and keeps accepting writes; the
isolated old leader must neither acknowledge a write nor serve a stale read; after healing it
steps down and catches up. Skipped, saying why, where namespaces cannot be created.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from jepsen.db import Cluster
from jepsen.net import NamespaceNet, namespaces_available
from tests.waiting import poll_until

CAN, WHY = namespaces_available()
pytestmark = pytest.mark.skipif(not CAN, reason=f"no network namespaces here: {WHY}")


@pytest.fixture
def ns_cluster(tmp_path: Path) -> Iterator[Cluster]:
    net = NamespaceNet()
    net.setup([1, 2, 3])
    cluster = Cluster(net, [1, 2, 3], tmp_path)
    try:
        for node_id in (1, 2, 3):
            cluster.start(node_id)
        yield cluster
    finally:
        cluster.stop_all()
        net.teardown()


def _wait(predicate):  # type: ignore[no-untyped-def]
    # A RedisError is an election in progress: ask again.
    value = poll_until(predicate, timeout_s=15, interval_s=0.05, retry_on=(redis.RedisError,))
    if not value:
        raise AssertionError("condition not reached in time")
    return value


def test_isolated_leader_is_replaced_serves_nothing_stale_and_catches_up(
    ns_cluster: Cluster,
) -> None:
    cluster = ns_cluster
    old = cluster.wait_leader(agreed=True)
    _wait(lambda: cluster.redis(old, timeout=5).set("k", "before"))
    others = {1, 2, 3} - {old}
    cluster.net.partition({old: others, **{n: {old} for n in others}})

    new = _wait(lambda: next((n for n in others if cluster.info_raft(n).get("role") == "leader"), 0))
    _wait(lambda: cluster.redis(new, timeout=5).set("k", "after"))  # the majority commits

    isolated = cluster.redis(old, timeout=5)
    with pytest.raises(redis.RedisError):
        isolated.set("k", "lost")  # no quorum: never acknowledged
    with pytest.raises(redis.RedisError):
        isolated.get("k")  # no read index: no stale "before"

    cluster.net.heal()
    _wait(lambda: cluster.info_raft(old).get("role") == "follower")
    assert _wait(lambda: cluster.redis(old, timeout=5).get("k")) == b"after"
