"""Node-to-node transport: Raft messages, snapshots, forwarding and admin calls over gRPC.

- `GrpcTransport`: the server side and the per-peer senders (`send`, `add_peer`,
  `remove_peer`, `start`, `stop`); see `grpc_transport.py` for its theory of operation.
- `PeerClient`: calls one node's Forward/ForwardBatch/ChangeMembership/TransferLeader/Status
  with a deadline.
- `api`: the plain request/reply dataclasses those calls and the server's handlers use.
- `codec`: Raft `Message` <-> protobuf.

The wire contract is `seshat/proto/raft.proto`. `grpc_engine` picks gRPC's I/O engine, so it
is configured first, before any channel or server exists.
"""

from seshat.transport import grpc_engine

grpc_engine.configure()

from seshat.transport import api  # after the engine is chosen
from seshat.transport.api import Handlers
from seshat.transport.client import (
    PeerClient,
    PeerError,
    PeerRefused,
    PeerUnavailable,
    PeerUnimplemented,
    TransportError,
)
from seshat.transport.grpc_transport import (
    GrpcTransport,
    PeerState,
    PeerStats,
    SnapshotReader,
    TransportLimits,
    TransportStats,
    memory_snapshot_reader,
)

__all__ = [
    "GrpcTransport",
    "Handlers",
    "PeerClient",
    "PeerError",
    "PeerRefused",
    "PeerState",
    "PeerStats",
    "PeerUnavailable",
    "PeerUnimplemented",
    "SnapshotReader",
    "TransportError",
    "TransportLimits",
    "TransportStats",
    "api",
    "memory_snapshot_reader",
]
