"""Majority arithmetic, and nothing else: which index a quorum has, who won a vote.

Kept apart from the core so it can be checked against a naive sort-and-pick oracle on random
inputs (as etcd-raft's quorum/quick_test.go).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class VoteResult(enum.Enum):
    PENDING = "pending"
    WON = "won"
    LOST = "lost"


def majority(voter_count: int) -> int:
    return voter_count // 2 + 1


def committed_index(voters: Iterable[int], match: Mapping[int, int]) -> int:
    """The highest index that a majority of `voters` has (0 for no voters... never asked)."""
    indexes = sorted((match.get(v, 0) for v in voters), reverse=True)
    if not indexes:
        return 0
    return indexes[majority(len(indexes)) - 1]


def vote_result(voters: Iterable[int], votes: Mapping[int, bool]) -> VoteResult:
    voter_list = list(voters)
    need = majority(len(voter_list))
    granted = sum(1 for v in voter_list if votes.get(v) is True)
    rejected = sum(1 for v in voter_list if votes.get(v) is False)
    if granted >= need:
        return VoteResult.WON
    if len(voter_list) - rejected < need:
        return VoteResult.LOST
    return VoteResult.PENDING


def has_quorum(voters: Iterable[int], alive: Iterable[int]) -> bool:
    voter_set = set(voters)
    return len(voter_set & set(alive)) >= majority(len(voter_set))
