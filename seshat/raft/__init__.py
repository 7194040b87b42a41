"""Raft consensus: a pure core (`core`, `rawnode`) plus, around it, the asyncio driver.

The core modules import nothing outside this package and perform no I/O; see `core.py` for
the theory of operation and `rawnode.py` for the driver contract.
"""

from seshat.raft.core import Config, ProposalDropped
from seshat.raft.rawnode import RawNode, Ready
from seshat.raft.storage import LogStorage, MemoryLogStorage
from seshat.raft.types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryId,
    EntryType,
    HardState,
    Message,
    MessageType,
    ReadState,
    Snapshot,
    SnapshotMetadata,
    SoftState,
    StateRole,
)

__all__ = [
    "Config",
    "ConfChange",
    "ConfChangeType",
    "ConfState",
    "Entry",
    "EntryId",
    "EntryType",
    "HardState",
    "LogStorage",
    "MemoryLogStorage",
    "Message",
    "MessageType",
    "ProposalDropped",
    "RawNode",
    "ReadState",
    "Ready",
    "Snapshot",
    "SnapshotMetadata",
    "SoftState",
    "StateRole",
]
