"""Plain requests and replies of the forwarding and admin RPCs, and their protobuf twins.

The server's handlers and the admin CLI see only these dataclasses, never protobuf, so the
wire format stays inside `seshat.transport` and `seshat.proto`. `sender_id` is filled in by the
transport from the request (0 for an admin client that is no node).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from seshat.proto import raft_pb2 as pb


class ReplyStatus(enum.IntEnum):
    OK = 0
    NOT_LEADER = 1
    """This node is not the leader: `leader_id`/`leader_address` say who is (0/"" if unknown)."""
    NO_LEADER = 2
    """No leader right now (election, minority side): retry later."""
    ERROR = 3


class MembershipAction(enum.IntEnum):
    ADD_LEARNER = 0
    PROMOTE = 1
    REMOVE = 2


@dataclass(frozen=True, slots=True)
class ForwardRequest:
    """A client's command relayed by a follower; `protocol` (2 or 3) is the reply's RESP."""

    argv: tuple[bytes, ...]
    db: int = 0
    protocol: int = 2
    sender_id: int = 0


@dataclass(frozen=True, slots=True)
class ForwardReply:
    status: ReplyStatus = ReplyStatus.OK
    reply: bytes = b""
    """The RESP-encoded reply (possibly an error reply) when `status` is OK."""
    leader_id: int = 0
    leader_address: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class ForwardBatchRequest:
    """A follower's forwarded writes in the order to run them (one frame for all of them)."""

    commands: tuple[ForwardRequest, ...]
    sender_id: int = 0


@dataclass(frozen=True, slots=True)
class ForwardBatchReply:
    replies: tuple[ForwardReply, ...] = ()
    """One per command of the request, in the same order."""


@dataclass(frozen=True, slots=True)
class ChangeMembershipRequest:
    action: MembershipAction
    target_id: int
    raft_address: str = ""
    client_address: str = ""
    sender_id: int = 0


@dataclass(frozen=True, slots=True)
class ChangeMembershipReply:
    status: ReplyStatus = ReplyStatus.OK
    error: str = ""
    leader_id: int = 0
    leader_address: str = ""
    index: int = 0
    """Log index of the conf change entry, when accepted."""


@dataclass(frozen=True, slots=True)
class TransferLeaderRequest:
    target_id: int
    sender_id: int = 0


@dataclass(frozen=True, slots=True)
class TransferLeaderReply:
    status: ReplyStatus = ReplyStatus.OK
    error: str = ""
    leader_id: int = 0
    leader_address: str = ""


@dataclass(frozen=True, slots=True)
class Member:
    node_id: int
    raft_address: str = ""
    client_address: str = ""
    voter: bool = True


@dataclass(frozen=True, slots=True)
class StatusRequest:
    sender_id: int = 0


@dataclass(frozen=True, slots=True)
class StatusReply:
    cluster_id: str = ""
    node_id: int = 0
    role: str = ""
    term: int = 0
    leader_id: int = 0
    commit_index: int = 0
    applied_index: int = 0
    last_log_index: int = 0
    members: tuple[Member, ...] = ()
    raft_address: str = ""
    client_address: str = ""


ForwardHandler = Callable[[ForwardRequest], Awaitable[ForwardReply]]
ForwardBatchHandler = Callable[[ForwardBatchRequest], Awaitable[ForwardBatchReply]]


@dataclass(frozen=True, slots=True)
class Published:
    """One pub/sub message passed on to another node (`shard`: from SPUBLISH)."""

    channel: bytes
    message: bytes
    shard: bool = False


@dataclass(frozen=True, slots=True)
class PublishRequest:
    messages: tuple[Published, ...]
    sender_id: int = 0


@dataclass(frozen=True, slots=True)
class PublishReply:
    pass


ChangeMembershipHandler = Callable[[ChangeMembershipRequest], Awaitable[ChangeMembershipReply]]
TransferLeaderHandler = Callable[[TransferLeaderRequest], Awaitable[TransferLeaderReply]]
StatusHandler = Callable[[StatusRequest], Awaitable[StatusReply]]
PublishHandler = Callable[[PublishRequest], Awaitable[PublishReply]]


@dataclass(frozen=True, slots=True)
class Handlers:
    """The server's answers to the unary RPCs; a missing one answers UNIMPLEMENTED."""

    forward: ForwardHandler | None = None
    forward_batch: ForwardBatchHandler | None = None
    change_membership: ChangeMembershipHandler | None = None
    transfer_leader: TransferLeaderHandler | None = None
    status: StatusHandler | None = None
    publish: PublishHandler | None = None


# ------------------------------------------------------------------ protobuf conversion
# `*_to_pb(x, cluster_id, node_id)` builds the wire request; `*_from_pb` reads one back.


def forward_request_to_pb(r: ForwardRequest, cluster_id: str, node_id: int) -> Any:
    return pb.ForwardRequest(
        cluster_id=cluster_id, node_id=node_id, argv=r.argv, db=r.db, protocol=r.protocol
    )


def forward_request_from_pb(p: Any) -> ForwardRequest:
    return ForwardRequest(tuple(p.argv), p.db, p.protocol, p.node_id)


def forward_reply_to_pb(r: ForwardReply) -> Any:
    return pb.ForwardReply(
        status=int(r.status),
        reply=r.reply,
        leader_id=r.leader_id,
        leader_address=r.leader_address,
        error=r.error,
    )


def forward_reply_from_pb(p: Any) -> ForwardReply:
    return ForwardReply(ReplyStatus(p.status), p.reply, p.leader_id, p.leader_address, p.error)


def forward_batch_request_to_pb(r: ForwardBatchRequest, cluster_id: str, node_id: int) -> Any:
    # The inner requests carry no cluster or node id: the batch's stand for all of them.
    commands = [pb.ForwardRequest(argv=c.argv, db=c.db, protocol=c.protocol) for c in r.commands]
    return pb.ForwardBatchRequest(cluster_id=cluster_id, node_id=node_id, commands=commands)


def forward_batch_request_from_pb(p: Any) -> ForwardBatchRequest:
    sender = p.node_id
    commands = tuple(ForwardRequest(tuple(c.argv), c.db, c.protocol, sender) for c in p.commands)
    return ForwardBatchRequest(commands, sender)


def forward_batch_reply_to_pb(r: ForwardBatchReply) -> Any:
    return pb.ForwardBatchReply(replies=[forward_reply_to_pb(x) for x in r.replies])


def forward_batch_reply_from_pb(p: Any) -> ForwardBatchReply:
    return ForwardBatchReply(tuple(forward_reply_from_pb(x) for x in p.replies))


def change_membership_request_to_pb(
    r: ChangeMembershipRequest, cluster_id: str, node_id: int
) -> Any:
    return pb.ChangeMembershipRequest(
        cluster_id=cluster_id,
        node_id=node_id,
        action=int(r.action),
        target_id=r.target_id,
        raft_address=r.raft_address,
        client_address=r.client_address,
    )


def change_membership_request_from_pb(p: Any) -> ChangeMembershipRequest:
    return ChangeMembershipRequest(
        MembershipAction(p.action), p.target_id, p.raft_address, p.client_address, p.node_id
    )


def change_membership_reply_to_pb(r: ChangeMembershipReply) -> Any:
    return pb.ChangeMembershipReply(
        status=int(r.status),
        error=r.error,
        leader_id=r.leader_id,
        leader_address=r.leader_address,
        index=r.index,
    )


def change_membership_reply_from_pb(p: Any) -> ChangeMembershipReply:
    return ChangeMembershipReply(
        ReplyStatus(p.status), p.error, p.leader_id, p.leader_address, p.index
    )


def transfer_leader_request_to_pb(r: TransferLeaderRequest, cluster_id: str, node_id: int) -> Any:
    return pb.TransferLeaderRequest(cluster_id=cluster_id, node_id=node_id, target_id=r.target_id)


def transfer_leader_request_from_pb(p: Any) -> TransferLeaderRequest:
    return TransferLeaderRequest(p.target_id, p.node_id)


def transfer_leader_reply_to_pb(r: TransferLeaderReply) -> Any:
    return pb.TransferLeaderReply(
        status=int(r.status), error=r.error, leader_id=r.leader_id, leader_address=r.leader_address
    )


def transfer_leader_reply_from_pb(p: Any) -> TransferLeaderReply:
    return TransferLeaderReply(ReplyStatus(p.status), p.error, p.leader_id, p.leader_address)


def status_request_to_pb(r: StatusRequest, cluster_id: str, node_id: int) -> Any:
    return pb.StatusRequest(cluster_id=cluster_id, node_id=node_id)


def status_request_from_pb(p: Any) -> StatusRequest:
    return StatusRequest(p.node_id)


def status_reply_to_pb(r: StatusReply) -> Any:
    return pb.StatusReply(
        cluster_id=r.cluster_id,
        node_id=r.node_id,
        role=r.role,
        term=r.term,
        leader_id=r.leader_id,
        commit_index=r.commit_index,
        applied_index=r.applied_index,
        last_log_index=r.last_log_index,
        members=[
            pb.Member(
                node_id=m.node_id,
                raft_address=m.raft_address,
                client_address=m.client_address,
                voter=m.voter,
            )
            for m in r.members
        ],
        raft_address=r.raft_address,
        client_address=r.client_address,
    )


def status_reply_from_pb(p: Any) -> StatusReply:
    return StatusReply(
        p.cluster_id,
        p.node_id,
        p.role,
        p.term,
        p.leader_id,
        p.commit_index,
        p.applied_index,
        p.last_log_index,
        tuple(Member(m.node_id, m.raft_address, m.client_address, m.voter) for m in p.members),
        p.raft_address,
        p.client_address,
    )


def publish_request_to_pb(r: PublishRequest, cluster_id: str, node_id: int) -> Any:
    messages = [
        pb.Published(channel=m.channel, message=m.message, shard=m.shard) for m in r.messages
    ]
    return pb.PublishRequest(cluster_id=cluster_id, node_id=node_id, messages=messages)


def publish_request_from_pb(p: Any) -> PublishRequest:
    messages = tuple(Published(m.channel, m.message, m.shard) for m in p.messages)
    return PublishRequest(messages, p.node_id)


def publish_reply_to_pb(r: PublishReply) -> Any:
    return pb.PublishReply()


def publish_reply_from_pb(p: Any) -> PublishReply:
    return PublishReply()
