"""GrpcTransports on free loopback ports, started and always stopped, plus condition polling.

`make_transport(node_id, ...)` starts a transport listening on 127.0.0.1 (port 0 unless given)
that records what it receives and reports in a `Recorder`; every transport a test starts is
stopped when it ends, and no task of ours may outlive the test. The loop runs in asyncio debug
mode so a blocking call shows up as a slow-callback log line (CONVENTIONS.md section 4).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from seshat.raft.types import Message
from seshat.transport import GrpcTransport, PeerState, TransportLimits, api

CLUSTER = "test-cluster"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for(condition: Callable[[], bool], what: str, tries: int = 1000) -> None:
    """Poll `condition` every 10 ms, at most `tries` times (10 s), then fail saying `what`."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Recorder:
    messages: list[Message] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    snapshot_status: list[tuple[int, bool]] = field(default_factory=list)


@dataclass
class Node:
    transport: GrpcTransport
    rec: Recorder

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.transport.port}"


FAST_LIMITS = TransportLimits(backoff_initial_s=0.02, backoff_max_s=0.2)

MakeTransport = Callable[..., Awaitable[Node]]


STREAMS = {
    "tcp": lambda node_id: 0,
    "grpc": lambda node_id: None,
    "mixed": lambda node_id: None if node_id % 2 == 0 else 0,
}
"""How each test's transports receive Raft streams (`stream_port`): all on a plain TCP listener,
all on the Stream RPC, or even node ids on the Stream RPC (a cluster half upgraded). Plain TCP
(what nodes do by default) unless a module parametrizes the fixture indirectly with these."""


@pytest.fixture
async def make_transport(request: pytest.FixtureRequest) -> AsyncIterator[MakeTransport]:
    stream_port_of = STREAMS[getattr(request, "param", "tcp")]
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.25  # loaded CI machines; a real stall is far longer
    started: list[GrpcTransport] = []

    async def make(
        node_id: int,
        peers: dict[int, str] | None = None,
        port: int = 0,
        cluster_id: str = CLUSTER,
        handlers: api.Handlers | None = None,
        limits: TransportLimits = FAST_LIMITS,
        start: bool = True,
        **kwargs: Any,
    ) -> Node:
        rec = Recorder()
        kwargs.setdefault("stream_port", stream_port_of(node_id))
        transport = GrpcTransport(
            node_id,
            cluster_id,
            peers or {},
            "127.0.0.1",
            port,
            on_message=rec.messages.append,
            on_unreachable=rec.unreachable.append,
            on_snapshot_status=lambda peer, failed: rec.snapshot_status.append((peer, failed)),
            handlers=handlers,
            limits=limits,
            **kwargs,
        )
        if start:
            await transport.start()
        started.append(transport)
        return Node(transport, rec)

    yield make
    for transport in started:
        await transport.stop()
    current = asyncio.current_task()
    leftover = [
        t
        for t in asyncio.all_tasks()
        if t is not current and t.get_name().startswith("raft-") and not t.done()
    ]
    assert not leftover, leftover


async def connect_all(nodes: list[Node]) -> None:
    """Tell every node about every other and wait until all streams are up."""
    for a in nodes:
        for b in nodes:
            if a is not b:
                a.transport.add_peer(b.transport.node_id, b.address)
    for a in nodes:
        for b in nodes:
            if a is not b:
                await wait_for(
                    lambda a=a, b=b: (
                        a.transport.peer_state(b.transport.node_id) is PeerState.CONNECTED
                    ),
                    f"{a.transport.node_id} -> {b.transport.node_id} connected",
                )
