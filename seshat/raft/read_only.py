"""ReadIndex on the leader: batch read requests into rounds confirmed by one heartbeat each.

A read is linearizable at index i if the node was still leader after the read arrived and
i is the commit index at that moment. The leader proves the first with a heartbeat round that a
quorum answers. All reads that arrive before a round starts share it, so a thousand concurrent
GETs cost one round, not a thousand. Rounds are numbered; an answer to round k also confirms
every earlier round (round k's heartbeat left after theirs), so rounds are released in order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from seshat.raft import quorum


@dataclass(slots=True)
class ReadRequest:
    context: bytes
    requester: int  # 0 for a local read, else the follower that asked (MsgReadIndex)


@dataclass(slots=True)
class ReadRound:
    seq: int
    index: int
    requests: list[ReadRequest]
    acks: set[int] = field(default_factory=set)


def encode_round(seq: int) -> bytes:
    return seq.to_bytes(8, "big")


def decode_round(context: bytes) -> int:
    return int.from_bytes(context, "big") if len(context) == 8 else 0


class ReadOnly:
    def __init__(self) -> None:
        self.waiting: list[ReadRequest] = []
        self.rounds: deque[ReadRound] = deque()
        self.last_seq = 0

    def add_request(self, context: bytes, requester: int) -> None:
        self.waiting.append(ReadRequest(context, requester))

    def start_round(self, committed: int, self_id: int) -> ReadRound | None:
        """Move the waiting requests into a new round at the current commit index."""
        if not self.waiting:
            return None
        self.last_seq += 1
        read_round = ReadRound(self.last_seq, committed, self.waiting, {self_id})
        self.waiting = []
        self.rounds.append(read_round)
        return read_round

    def recv_ack(self, seq: int, node: int) -> None:
        for read_round in self.rounds:
            if read_round.seq > seq:
                break
            read_round.acks.add(node)

    def release(self, voters: tuple[int, ...]) -> list[ReadRound]:
        """Pop every round confirmed by a quorum, and all rounds before it."""
        confirmed_upto = -1
        for i, read_round in enumerate(self.rounds):
            if quorum.has_quorum(voters, read_round.acks):
                confirmed_upto = i
        released = []
        for _ in range(confirmed_upto + 1):
            released.append(self.rounds.popleft())
        return released

    def drain(self) -> list[ReadRequest]:
        """Every pending request, for reporting as dropped when leadership ends."""
        dropped = list(self.waiting)
        for read_round in self.rounds:
            dropped.extend(read_round.requests)
        self.waiting = []
        self.rounds.clear()
        return dropped
