"""Plain data of the Raft core: entries, messages, hard state, snapshots, configuration.

These types are everything that crosses the core's boundary: the driver persists `HardState`,
`Entry` and `Snapshot`, ships `Message`s over the network and feeds received ones back through
`step()`. They are frozen where nothing ever needs to change them, and carry only plain values
(ints, bytes, tuples), so storage and transport can encode them without knowing the core.
Message kinds keep etcd's names so our traces read like etcd-raft's testdata.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import NewType

NodeId = NewType("NodeId", int)
Term = NewType("Term", int)
Index = NewType("Index", int)

NONE: NodeId = NodeId(0)
"""No node: node ids start at 1, so 0 means "no leader" or "no vote"."""


class EntryType(enum.IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1


@dataclass(frozen=True, slots=True)
class Entry:
    """One log entry. An empty NORMAL entry is the no-op a new leader appends."""

    term: int
    index: int
    type: EntryType = EntryType.NORMAL
    data: bytes = b""

    def size(self) -> int:
        """Bytes this entry counts for in batch limits (payload plus a fixed header)."""
        return len(self.data) + 24


@dataclass(frozen=True, slots=True)
class HardState:
    """What must survive a crash before the node acts on it: term, vote and commit index."""

    term: int = 0
    vote: int = 0
    commit: int = 0


@dataclass(frozen=True, slots=True)
class ConfState:
    """The membership: voters decide elections and commits; learners only receive the log."""

    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()

    def all_nodes(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.voters) | set(self.learners)))


@dataclass(frozen=True, slots=True)
class SnapshotMetadata:
    index: int = 0
    term: int = 0
    conf_state: ConfState = field(default_factory=ConfState)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Application state as of `metadata.index`; `data` is opaque to the core."""

    metadata: SnapshotMetadata = field(default_factory=SnapshotMetadata)
    data: bytes = b""

    def is_empty(self) -> bool:
        return self.metadata.index == 0


class ConfChangeType(enum.IntEnum):
    ADD_NODE = 0
    REMOVE_NODE = 1
    ADD_LEARNER = 2


@dataclass(frozen=True, slots=True)
class ConfChange:
    """One membership step: add or remove one voter, or add a learner.

    Adding a node that is already a learner promotes it. `context` is opaque to the core (the
    server puts the new node's addresses there so every replica learns them from the log).
    """

    type: ConfChangeType
    node_id: int
    context: bytes = b""

    _HEADER = struct.Struct(">BQ")

    def encode(self) -> bytes:
        return self._HEADER.pack(int(self.type), self.node_id) + self.context

    @classmethod
    def decode(cls, data: bytes) -> ConfChange:
        kind, node_id = cls._HEADER.unpack_from(data)
        return cls(ConfChangeType(kind), node_id, bytes(data[cls._HEADER.size :]))


class MessageType(enum.IntEnum):
    # Local inputs: never sent over the network.
    MsgHup = 0
    MsgBeat = 1
    MsgProp = 2
    # Between nodes.
    MsgApp = 3
    MsgAppResp = 4
    MsgVote = 5
    MsgVoteResp = 6
    MsgPreVote = 7
    MsgPreVoteResp = 8
    MsgSnap = 9
    MsgHeartbeat = 10
    MsgHeartbeatResp = 11
    MsgTransferLeader = 12
    MsgTimeoutNow = 13
    MsgReadIndex = 14
    MsgReadIndexResp = 15
    MsgSnapStatus = 16
    MsgUnreachable = 17


LOCAL_MESSAGES = frozenset({MessageType.MsgHup, MessageType.MsgBeat, MessageType.MsgProp})
RESPONSE_MESSAGES = frozenset(
    {
        MessageType.MsgAppResp,
        MessageType.MsgVoteResp,
        MessageType.MsgPreVoteResp,
        MessageType.MsgHeartbeatResp,
        MessageType.MsgReadIndexResp,
    }
)


@dataclass(frozen=True, slots=True)
class Message:
    """One Raft message. Fields not used by a kind keep their defaults.

    `index`/`log_term` name the entry preceding `entries` in MsgApp, the last log entry in a
    vote request, and the accepted or rejected index in MsgAppResp. `reject_hint`/`log_term` in
    a rejecting MsgAppResp are the follower's fast-backtracking hint. `context` carries the read
    round of heartbeats and the transfer flag of votes.
    """

    type: MessageType
    to: int = 0
    frm: int = 0
    term: int = 0
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0
    snapshot: Snapshot | None = None
    context: bytes = b""


@dataclass(frozen=True, slots=True)
class EntryId:
    """The identity of a proposal: it committed iff an entry with this term and index applies."""

    term: int
    index: int


@dataclass(frozen=True, slots=True)
class ReadState:
    """A completed read request: once `applied >= index`, a read for `context` is linearizable."""

    index: int
    context: bytes


class StateRole(enum.Enum):
    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre_candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass(frozen=True, slots=True)
class SoftState:
    """Volatile state the application may want to observe (not persisted)."""

    leader_id: int
    role: StateRole


def apply_conf_change(conf: ConfState, change: ConfChange) -> ConfState:
    """The membership after one change; the core and the application use this same rule.

    The application tracks the membership as of its applied index with it (a snapshot must
    carry that one, not the core's, which may already include later committed changes).
    """
    voters = set(conf.voters)
    learners = set(conf.learners)
    node = change.node_id
    if change.type is ConfChangeType.ADD_NODE:
        learners.discard(node)
        voters.add(node)
    elif change.type is ConfChangeType.ADD_LEARNER:
        if node not in voters:
            learners.add(node)
    else:
        voters.discard(node)
        learners.discard(node)
    return ConfState(tuple(sorted(voters)), tuple(sorted(learners)))
