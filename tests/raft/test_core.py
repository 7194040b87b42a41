"""Scenario tests of the pure Raft core: each names the rule it checks (Raft paper section or
etcd-raft behaviour) and drives a small lock-step cluster (tests/raft/harness.py)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seshat.raft import (
    Config,
    ConfChange,
    ConfChangeType,
    ConfState,
    MemoryLogStorage,
    Message,
    MessageType,
    ProposalDropped,
    RawNode,
    StateRole,
)
from seshat.raft import quorum
from tests.raft.harness import Cluster

MT = MessageType


def test_single_node_elects_itself_and_commits() -> None:
    c = Cluster([1])
    c.tick_all(25)
    assert c.leader() == 1
    c.nodes[1].propose([b"a", b"b"])
    c.stabilize()
    assert c.data(1) == [b"a", b"b"]


def test_three_nodes_elect_one_leader_and_replicate() -> None:
    c = Cluster([1, 2, 3])
    c.tick_all(30)
    leader = c.leader()
    assert leader is not None
    c.nodes[leader].propose([b"x"])
    c.stabilize()
    c.tick_all(2)  # heartbeats carry the commit index to followers
    for i in (1, 2, 3):
        assert c.data(i) == [b"x"], i


def test_follower_proposal_is_dropped_with_leader_hint() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    with pytest.raises(ProposalDropped) as info:
        c.nodes[2].propose([b"x"])
    assert info.value.reason == "not_leader"
    assert info.value.leader_id == 1


def test_vote_is_released_only_after_persistence() -> None:
    """Raft §5.2 with the Ready contract: a vote leaves only once the vote is durable."""
    c = Cluster([1, 2, 3])
    c.nodes[1].campaign()  # pre-vote round
    c.stabilize()
    assert c.nodes[1].role() is StateRole.LEADER
    storage2 = c.storages[2]
    assert storage2.hard_state.vote == 1 and storage2.hard_state.term == c.nodes[1].term()
    # Now check directly that MsgVoteResp sits in persisted_messages.
    s = MemoryLogStorage()
    s.bootstrap(ConfState((1, 2, 3), ()))
    n = RawNode(Config(id=2, rng=random.Random(0)), s)
    n.step(Message(MT.MsgVote, to=2, frm=3, term=5, index=3, log_term=1))
    rd = n.ready()
    assert rd.hard_state is not None and rd.hard_state.vote == 3
    assert [m.type for m in rd.persisted_messages] == [MT.MsgVoteResp]
    assert all(m.type is not MT.MsgVoteResp for m in rd.messages)


def test_prevote_keeps_partitioned_node_from_raising_term() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    term = c.nodes[1].term()
    c.isolate(3)
    c.tick_all(60)
    assert c.nodes[3].term() == term  # pre-votes failed, term never moved
    c.heal()
    c.tick_all(5)
    assert c.leader() == 1 and c.nodes[1].term() == term


def test_check_quorum_leader_steps_down_when_isolated() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    c.isolate(1)
    c.tick_all(25)
    assert c.nodes[1].role() is not StateRole.LEADER
    others = [i for i in (2, 3) if c.nodes[i].role() is StateRole.LEADER]
    assert len(others) == 1


def test_only_current_term_entries_commit_by_counting() -> None:
    """Raft §5.4.2 (figure 8): a leader does not commit an old-term entry by replica count."""
    c = Cluster([1, 2, 3, 4, 5])
    c.elect(1)
    c.isolate(1)
    c.cut.discard((1, 2))
    c.cut.discard((2, 1))
    c.nodes[1].propose([b"old"])  # reaches only node 2: not committed
    c.stabilize()
    assert c.nodes[1].committed() < c.nodes[1].last_index()
    # Node 1 comes back as leader of a later term: the old entry commits only with the no-op.
    c.heal()
    c.tick_all(30)
    leader = c.leader()
    assert leader is not None
    c.nodes[leader].propose([b"new"])
    c.stabilize()
    c.tick_all(2)
    datas = {i: c.data(i) for i in c.nodes}
    first = datas[1]
    assert all(d == first for d in datas.values()), datas


def test_read_index_batches_reads_into_one_heartbeat_round() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    sent_before = []
    for i in range(50):
        c.nodes[1].read_index(b"r%d" % i)
    rd = c.nodes[1].ready()
    heartbeats = [m for m in rd.messages if m.type is MT.MsgHeartbeat]
    sent_before.extend(heartbeats)
    c.nodes[1].advance(rd)
    assert len(heartbeats) == 2  # one round: one heartbeat per follower for all 50 reads
    c.inbox.extend(rd.messages)
    c.stabilize()
    contexts = [ctx for _, ctx in c.read_states[1]]
    assert contexts == [b"r%d" % i for i in range(50)]
    assert all(index == c.nodes[1].committed() for index, _ in c.read_states[1])


def test_stale_leader_cannot_serve_reads() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    c.isolate(1)
    c.nodes[1].read_index(b"stale")
    c.stabilize()
    assert c.read_states[1] == []
    c.tick_all(25)  # check quorum: steps down, the read is reported dropped
    assert c.dropped_reads[1] == [b"stale"]


def test_follower_read_index_goes_through_leader() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    c.nodes[1].propose([b"x"])
    c.stabilize()
    c.nodes[3].read_index(b"f")
    c.stabilize()
    assert c.read_states[3] == [(c.nodes[1].committed(), b"f")]


def test_leadership_transfer_catches_up_then_hands_over() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    c.isolate(3)
    c.nodes[1].propose([b"a", b"b"])
    c.stabilize()
    c.heal()
    c.nodes[1].transfer_leader(3)
    with pytest.raises(ProposalDropped):
        c.nodes[1].propose([b"during"])
    c.stabilize()
    assert c.leader() == 3
    assert c.nodes[3].term() > 1


class RecordingLogger:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def info(self, event: str, **fields: object) -> None:
        self.events.append((event, fields))

    debug = warning = info


def test_leadership_transfer_to_an_unreachable_node_is_abandoned_and_says_so() -> None:
    logger = RecordingLogger()
    c = Cluster([1, 2, 3], logger=logger)
    c.elect(1)
    c.isolate(3)
    c.nodes[1].transfer_leader(3)
    with pytest.raises(ProposalDropped):
        c.nodes[1].propose([b"during"])
    c.tick_all(c.nodes[1].raft.config.election_ticks)
    assert c.leader() == 1
    abandoned = [f for e, f in logger.events if e == "transfer_abandoned"]
    assert [f["target"] for f in abandoned] == [3], logger.events
    c.nodes[1].propose([b"after"])  # leading normally again


def test_lagging_follower_receives_snapshot() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    c.isolate(3)
    for i in range(20):
        c.nodes[1].propose([b"v%d" % i])
        c.stabilize()
    applied = c.nodes[1].applied()
    storage = c.storages[1]
    storage.create_snapshot(applied, ConfState((1, 2, 3), ()), b"state")
    storage.compact(applied)
    c.heal()
    c.tick_all(3)
    assert c.storages[3].snap.metadata.index == applied
    assert c.nodes[3].committed() >= applied
    c.nodes[1].propose([b"after"])
    c.stabilize()
    c.tick_all(1)
    assert c.data(3)[-1] == b"after"


def test_add_learner_promote_and_remove_leader() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    c.nodes[1].propose([b"a"])
    c.stabilize()
    c.add_node(4)
    c.nodes[1].propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER, 4))
    c.stabilize()
    c.tick_all(2)
    assert c.nodes[4].conf_state().learners == (4,)
    assert c.data(4) == [b"a"]
    c.nodes[1].propose_conf_change(ConfChange(ConfChangeType.ADD_NODE, 4))
    c.stabilize()
    assert c.nodes[1].conf_state().voters == (1, 2, 3, 4)
    c.nodes[1].propose_conf_change(ConfChange(ConfChangeType.REMOVE_NODE, 1))
    c.stabilize()
    assert c.nodes[1].role() is StateRole.FOLLOWER
    c.tick_all(40)
    leader = c.leader()
    assert leader in (2, 3, 4)
    assert c.nodes[leader].conf_state().voters == (2, 3, 4)


def test_second_conf_change_waits_for_the_first() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    c.isolate(2)
    c.isolate(3)
    c.nodes[1].propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER, 4))
    with pytest.raises(ProposalDropped) as info:
        c.nodes[1].propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER, 5))
    assert info.value.reason == "conf_pending"


def test_restart_recovers_term_vote_and_log() -> None:
    c = Cluster([1, 2, 3])
    c.elect(1)
    c.nodes[1].propose([b"a"])
    c.stabilize()
    term = c.nodes[2].term()
    c.restart(2)
    assert c.nodes[2].term() == term
    c.stabilize()
    c.tick_all(2)
    assert c.data(2) == [b"a"]  # replayed from the stored log after the restart


@given(st.lists(st.integers(0, 50), min_size=1, max_size=9))
def test_committed_index_matches_sort_and_pick(matches: list[int]) -> None:
    voters = list(range(1, len(matches) + 1))
    match = dict(zip(voters, matches))
    naive = sorted(matches)[(len(matches) - 1) // 2]  # the median from below: a majority has it
    assert quorum.committed_index(voters, match) == naive
