"""A peer that is busy when a node first connects to it still gets the call.

gRPC gives one connection attempt, handshake included, as long as the channel's
`grpc.min_reconnect_backoff_ms`; at 100 ms a PUBLISH to a peer that was busy for a moment on
a loaded CI machine failed on its new channel and the message was lost."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from seshat.transport import PeerClient
from tests.cluster.conftest import LocalCluster


def test_the_first_call_on_a_new_channel_waits_out_a_peer_stopped_for_half_a_second(
    start_cluster: Callable[..., LocalCluster],
) -> None:
    cluster = start_cluster(1)
    node = cluster.nodes[1]

    async def status() -> str:
        async with PeerClient.connect(f"127.0.0.1:{node.raft_port}") as anonymous:
            return (await anonymous.status(timeout_s=10)).role

    node.pause()  # SIGSTOP: the kernel accepts the connection, nobody answers the handshake
    resume = threading.Timer(0.5, node.resume)
    resume.start()
    try:
        assert asyncio.run(status()) == "leader"
    finally:
        resume.join()
