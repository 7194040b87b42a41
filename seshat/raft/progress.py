"""The leader's view of one follower: how far its log matches, what to send next, how.

A follower is in one of three states, and only these moves are legal (etcd-raft
tracker/state.go):

    PROBE --(append accepted)--> REPLICATE --(append rejected)--> PROBE
    PROBE/REPLICATE --(needs compacted entries)--> SNAPSHOT --(snapshot acked or failed)--> PROBE

In PROBE the leader sends one MsgApp per heartbeat interval until it learns where the logs
match. In REPLICATE it streams optimistically, advancing `next` as it sends, bounded by the
in-flight window. In SNAPSHOT it sends nothing until the snapshot lands.
"""

from __future__ import annotations

import enum

from seshat.raft.inflights import Inflights


class ProgressState(enum.Enum):
    PROBE = "probe"
    REPLICATE = "replicate"
    SNAPSHOT = "snapshot"


_LEGAL_MOVES = {
    (ProgressState.PROBE, ProgressState.PROBE),
    (ProgressState.PROBE, ProgressState.REPLICATE),
    (ProgressState.PROBE, ProgressState.SNAPSHOT),
    (ProgressState.REPLICATE, ProgressState.PROBE),
    (ProgressState.REPLICATE, ProgressState.REPLICATE),
    (ProgressState.REPLICATE, ProgressState.SNAPSHOT),
    (ProgressState.SNAPSHOT, ProgressState.PROBE),
    (ProgressState.SNAPSHOT, ProgressState.SNAPSHOT),
}


class Progress:
    def __init__(self, next_index: int, inflight_msgs_max: int, inflight_bytes_max: int) -> None:
        self.match = 0
        self.next = next_index
        self.state = ProgressState.PROBE
        self.probe_sent = False  # PROBE: a MsgApp is out; wait for a reply or a heartbeat
        self.pending_snapshot = 0  # SNAPSHOT: the index of the snapshot being sent
        self.recent_active = False  # heard from since the last CheckQuorum
        self.is_learner = False
        # The highest commit index this follower can have learned from what we sent it: a
        # read answered at a higher index must first tell it (see Raft._answer_read_round).
        self.commit_sent = 0
        self.inflights = Inflights(inflight_msgs_max, inflight_bytes_max)

    def _move(self, to: ProgressState) -> None:
        assert (self.state, to) in _LEGAL_MOVES, (self.state, to)
        self.state = to
        self.probe_sent = False
        self.pending_snapshot = 0
        self.inflights.reset()

    def become_probe(self) -> None:
        if self.state is ProgressState.SNAPSHOT:
            pending = self.pending_snapshot
            self._move(ProgressState.PROBE)
            self.next = max(self.match + 1, pending + 1)
        else:
            self._move(ProgressState.PROBE)
            self.next = self.match + 1

    def become_replicate(self) -> None:
        self._move(ProgressState.REPLICATE)
        self.next = self.match + 1

    def become_snapshot(self, snapshot_index: int) -> None:
        self._move(ProgressState.SNAPSHOT)
        self.pending_snapshot = snapshot_index

    def maybe_update(self, index: int) -> bool:
        """An acknowledgement of `index`: returns whether `match` moved."""
        updated = False
        if self.match < index:
            self.match = index
            updated = True
            self.probe_sent = False
        self.next = max(self.next, index + 1)
        return updated

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """A rejection of the MsgApp whose preceding index was `rejected`: back off `next`."""
        if self.state is ProgressState.REPLICATE:
            if rejected <= self.match:
                return False  # stale rejection
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False  # stale rejection of an older probe
        self.next = max(min(rejected, match_hint + 1), self.match + 1, 1)
        self.probe_sent = False
        return True

    def sent_entries(self, last_index: int, size: int) -> None:
        if self.state is ProgressState.REPLICATE:
            self.next = last_index + 1
            self.inflights.add(last_index, size)
        elif self.state is ProgressState.PROBE:
            self.probe_sent = True

    def is_paused(self) -> bool:
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        if self.state is ProgressState.REPLICATE:
            return self.inflights.full()
        return True
