"""Raft's safety properties, checked on the whole simulated cluster as it runs.

Each check raises `Violation` naming the property, so a failing seed says which rule broke:

- election safety: at most one leader per term;
- committed entries are permanent: every node that commits index i commits the same entry
  (term and data), and no node's log later shows another entry at a committed index;
- state machine safety: every node applies the same entry at the same index;
- leader completeness: a new leader's log holds every entry committed before its election;
- log matching: two logs with the same term at an index are identical up to it.

The checks are incremental (only what changed since the last step is looked at) so they can
run after every step; the pairwise log-matching walk runs every few hundred steps and at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seshat.raft.log import RaftLog
from seshat.raft.storage import Compacted, Unavailable
from seshat.raft.types import Entry

if TYPE_CHECKING:
    from seshat.raft.rawnode import RawNode


class Violation(AssertionError):
    def __init__(self, invariant: str, detail: str) -> None:
        super().__init__(f"{invariant}: {detail}")
        self.invariant = invariant
        self.detail = detail


class InvariantChecker:
    def __init__(self) -> None:
        self.leaders: dict[int, int] = {}  # term -> leader id
        self.committed: dict[int, tuple[int, bytes]] = {}  # index -> (term, data)
        self.applied: dict[int, tuple[int, bytes]] = {}
        self.commit_seen: dict[int, int] = {}  # node -> highest commit index checked

    def on_leader(self, node: RawNode) -> None:
        term = node.term()
        other = self.leaders.setdefault(term, node.id)
        if other != node.id:
            raise Violation("election safety", f"term {term} has leaders {other} and {node.id}")
        self._check_leader_completeness(node)

    def _check_leader_completeness(self, node: RawNode) -> None:
        log = node.raft.log
        for index, (term, _) in self.committed.items():
            if index < log.first_index():
                continue  # covered by the node's snapshot, which holds only committed state
            got = _term(log, index)
            if got != term:
                raise Violation(
                    "leader completeness",
                    f"node {node.id} leads term {node.term()} without committed entry "
                    f"{index} (term {term}; its log has {got})",
                )

    def on_commit(self, node: RawNode) -> None:
        """Record or compare every entry this node has committed since the last call."""
        log = node.raft.log
        start = max(self.commit_seen.get(node.id, 0), log.first_index() - 1)
        end = log.committed
        if end <= start:
            self.commit_seen[node.id] = max(self.commit_seen.get(node.id, 0), end)
            return
        for entry in log.entries(start + 1, None, end + 1):
            self._record_committed(node.id, entry)
        self.commit_seen[node.id] = end

    def _record_committed(self, node_id: int, entry: Entry) -> None:
        known = self.committed.setdefault(entry.index, (entry.term, entry.data))
        if known != (entry.term, entry.data):
            raise Violation(
                "committed entries are permanent",
                f"node {node_id} committed index {entry.index} as term {entry.term}, "
                f"another node as term {known[0]}",
            )

    def on_apply(self, node_id: int, entry: Entry) -> None:
        known = self.applied.setdefault(entry.index, (entry.term, entry.data))
        if known != (entry.term, entry.data):
            raise Violation(
                "state machine safety",
                f"node {node_id} applied index {entry.index} term {entry.term}, "
                f"another node applied term {known[0]} there",
            )
        committed = self.committed.get(entry.index)
        if committed is not None and committed != known:
            raise Violation("state machine safety", f"applied {entry.index} differs from commit")

    def check_committed_still_present(self, node: RawNode) -> None:
        """No committed entry has been overwritten in this node's log."""
        log = node.raft.log
        for index in range(max(log.first_index(), 1), min(log.committed, log.last_index()) + 1):
            known = self.committed.get(index)
            if known is not None and _term(log, index) != known[0]:
                raise Violation(
                    "committed entries are permanent",
                    f"node {node.id} now has term {_term(log, index)} at committed index {index}",
                )

    def check_log_matching(self, nodes: list[RawNode]) -> None:
        for i, a in enumerate(nodes):
            for b in nodes[i + 1 :]:
                _check_pair(a, b)


def _term(log: RaftLog, index: int) -> int:
    try:
        return log.term(index)
    except (Compacted, Unavailable):
        return -1


def _check_pair(a: RawNode, b: RawNode) -> None:
    la, lb = a.raft.log, b.raft.log
    lo = max(la.first_index(), lb.first_index())
    hi = min(la.last_index(), lb.last_index())
    matched = False
    for index in range(hi, lo - 1, -1):
        same = _term(la, index) == _term(lb, index)
        if matched and not same:
            raise Violation(
                "log matching",
                f"nodes {a.id} and {b.id} agree on a later index but differ at {index}",
            )
        if same and not matched:
            matched = True
    if matched:
        ea = {e.index: e for e in la.entries(lo, None, hi + 1)} if lo <= hi else {}
        eb = {e.index: e for e in lb.entries(lo, None, hi + 1)} if lo <= hi else {}
        for index in range(lo, hi + 1):
            if ea[index].term == eb[index].term and ea[index].data != eb[index].data:
                raise Violation(
                    "log matching",
                    f"nodes {a.id} and {b.id} hold different data at {index} in one term",
                )
