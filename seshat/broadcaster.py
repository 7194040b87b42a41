"""Passing PUBLISHed messages on to the other nodes (`Publish` RPC), as Redis Cluster does.

Each peer has a bounded queue and at most one call in flight, so a peer gets one node's
messages in the order they were published, and whatever queued during a call leaves in the
next one. The promise is Redis's: at most once. A peer that is down, slow or refusing loses
the batch in flight, and a queue at its bound drops new messages, said once in the log for
each episode; nothing waits, retries or grows without limit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from seshat import logs
from seshat.transport import api
from seshat.transport.client import TransportError

if TYPE_CHECKING:
    from seshat.transport.grpc_transport import GrpcTransport

QUEUE_MESSAGES_MAX = 10_000
"""Messages waiting for one peer; past it, new messages for that peer are dropped."""
BATCH_MESSAGES_MAX = 1_000
PUBLISH_TIMEOUT_S = 2.0


class _PeerQueue:
    __slots__ = ("dropping", "messages", "task")

    def __init__(self) -> None:
        self.messages: deque[api.Published] = deque()
        self.task: asyncio.Task[None] | None = None
        self.dropping = False  # said in the log; quiet until the queue drains again


class Broadcaster:
    def __init__(self, transport: Callable[[], GrpcTransport | None]) -> None:
        self._transport = transport  # None until the node's transport is made
        self._queues: dict[int, _PeerQueue] = {}
        self.dropped = 0
        self.log = logs.get("seshat.pubsub")

    def publish(self, channel: bytes, message: bytes, shard: bool) -> None:
        """Queue a message for every peer; never waits."""
        transport = self._transport()
        if transport is None:
            return
        item = api.Published(channel, message, shard)
        for peer in transport.peers():
            queue = self._queues.get(peer)
            if queue is None:
                queue = self._queues[peer] = _PeerQueue()
            if len(queue.messages) >= QUEUE_MESSAGES_MAX:
                self.dropped += 1
                if not queue.dropping:
                    queue.dropping = True
                    self.log.warning("publish_queue_full", peer=peer, limit=QUEUE_MESSAGES_MAX)
                continue
            queue.messages.append(item)
            if queue.task is None:
                queue.task = asyncio.get_running_loop().create_task(self._send(peer, queue))

    async def _send(self, peer: int, queue: _PeerQueue) -> None:
        try:
            while queue.messages:
                n = min(len(queue.messages), BATCH_MESSAGES_MAX)
                batch = tuple(queue.messages.popleft() for _ in range(n))
                transport = self._transport()
                try:
                    assert transport is not None, "queued only once the transport exists"
                    client = transport.client(peer)
                    await client.publish(api.PublishRequest(batch), timeout_s=PUBLISH_TIMEOUT_S)
                except (TransportError, KeyError) as error:  # KeyError: the peer was removed
                    self.dropped += len(batch)
                    self.log.debug("publish_failed", peer=peer, messages=n, error=str(error))
            queue.dropping = False
        finally:
            queue.task = None

    async def stop(self) -> None:
        tasks: list[Any] = [q.task for q in self._queues.values() if q.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
