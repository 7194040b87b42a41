"""The Raft consensus algorithm as a pure, deterministic state machine.

Theory of operation. `Raft` holds one node's volatile and persistent Raft state and changes it
only in response to three inputs: a message (`step`), the passing of one tick (`tick`), and the
driver's confirmation that what it was handed is on disk (`RawNode.advance`). It never performs
I/O: outgoing messages are appended to `msgs` (may leave at once) or `msgs_after_persist` (may
leave only once the hard state and entries of the same `Ready` are durable: votes, append
acknowledgements); entries are appended to the log's unstable tail for the driver to persist.
Randomness (election jitter) comes only from the `random.Random` handed in with the config, so a
seed determines a whole simulated run.

Rules worth knowing before reading on:
- Terms are compared once, in `step()`, before any per-role handler sees a message.
- A leader counts itself toward a commit quorum only for entries it has persisted (`advance`).
- Only entries of the current term are committed by counting replicas (Raft §5.4.2); a new
  leader appends an empty entry so earlier terms' entries commit with it.
- Membership changes are single-server steps that take effect when committed. A leader
  proposes one only when the previous one is committed and it has committed an entry of its own
  term (the fix for the single-server change bug described on raft-dev in 2015).
- PreVote: a node that times out first asks whether it could win at term+1, without raising
  its term, so a partitioned node rejoining cannot depose a healthy leader.
- CheckQuorum: a leader that has not heard from a quorum within an election timeout steps
  down; a node that has heard from a leader within the election timeout ignores vote requests
  (the leader lease), unless the request comes from a leadership transfer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from seshat.raft import quorum
from seshat.raft.log import RaftLog
from seshat.raft.progress import Progress, ProgressState
from seshat.raft.read_only import ReadOnly, ReadRound, decode_round, encode_round
from seshat.raft.storage import Compacted, LogStorage, SnapshotTemporarilyUnavailable
from seshat.raft.types import (
    NONE,
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
    SoftState,
    StateRole,
    apply_conf_change,
)

MT = MessageType
TRANSFER_CONTEXT = b"transfer"


class ProposalDropped(Exception):
    """The core cannot take this proposal; the client should get a fast error and may retry.

    `reason` is one of: "not_leader", "transferring", "uncommitted_limit", "conf_pending",
    "removed", and (from the driver, never the core) "node_failed".
    """

    def __init__(self, reason: str, leader_id: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.leader_id = leader_id


class Logger(Protocol):
    def info(self, event: str, **fields: Any) -> None: ...
    def debug(self, event: str, **fields: Any) -> None: ...
    def warning(self, event: str, **fields: Any) -> None: ...


class _NoopLogger:
    def info(self, event: str, **fields: Any) -> None:
        pass

    def debug(self, event: str, **fields: Any) -> None:
        pass

    def warning(self, event: str, **fields: Any) -> None:
        pass


@dataclass(slots=True)
class Config:
    """Tunables of one node. Time is counted in ticks; the driver decides a tick's length.

    Defaults: an election timeout of 10 heartbeats is etcd's; 256 in-flight appends and 1 MiB
    per append keep a 1 Gbit link busy at ~1 ms RTT (etcd's MaxInflightMsgs comment).
    """

    id: int
    rng: random.Random
    election_ticks: int = 10
    heartbeat_ticks: int = 1
    append_bytes_max: int = 1 << 20
    append_entries_max: int = 4096
    inflight_msgs_max: int = 256
    inflight_bytes_max: int = 0
    uncommitted_bytes_max: int = 64 << 20
    committed_bytes_per_ready_max: int = 16 << 20
    check_quorum: bool = True
    pre_vote: bool = True
    applied: int = 0
    """The application's applied index at start: entries up to it are not handed out again
    (the state machine persisted them with its applied index; see DESIGN.md rule 3)."""
    logger: Logger = field(default_factory=_NoopLogger)

    def validate(self) -> None:
        assert self.id > 0, self.id
        assert self.heartbeat_ticks > 0, self.heartbeat_ticks
        assert self.election_ticks > self.heartbeat_ticks, (
            self.election_ticks,
            self.heartbeat_ticks,
        )
        assert self.inflight_msgs_max > 0, self.inflight_msgs_max


class Raft:
    def __init__(self, config: Config, storage: LogStorage) -> None:
        config.validate()
        self.config = config
        self.id = config.id
        self.rng = config.rng
        self.log = RaftLog(storage)
        self.logger = config.logger
        hard_state, conf_state = storage.initial_state()

        self.term = 0
        self.vote = NONE
        self.lead = NONE
        self.role = StateRole.FOLLOWER
        self.conf = ConfState()
        self.conf_applied_index = self.log.first_index() - 1
        self.progress: dict[int, Progress] = {}
        self.votes: dict[int, bool] = {}
        self.msgs: list[Message] = []
        self.msgs_after_persist: list[Message] = []
        # Peers owed a MsgApp (value: send one even if it carries no entries). Every append
        # goes through here (proposals, acks, heartbeat answers, transfers, conf changes);
        # `flush_appends` empties it once per Ready, so a burst of proposals or acks becomes
        # one MsgApp per peer instead of one per event.
        self.appends_due: dict[int, bool] = {}
        self.read_only = ReadOnly()
        self.read_states: list[ReadState] = []
        self.dropped_reads: list[bytes] = []
        self.lead_transferee = NONE
        self.pending_conf_index = 0
        self.uncommitted_bytes = 0
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = 0
        self.removed = False

        self._set_conf(conf_state)
        if hard_state != HardState():
            assert hard_state.commit <= self.log.last_index(), (
                "stored commit beyond the log",
                hard_state.commit,
                self.log.last_index(),
            )
            self.term = hard_state.term
            self.vote = hard_state.vote
            # A lazily stored commit index may even lag a compaction; never go below it.
            self.log.committed = max(self.log.committed, hard_state.commit)
        if config.applied:
            # The commit index may be stored lazily (without its own fsync); an applied entry
            # was committed, so the applied index is a safe lower bound for it.
            assert config.applied <= self.log.last_index(), (config.applied, self.log.last_index())
            self.log.committed = max(self.log.committed, config.applied)
            self.log.applied = max(self.log.applied, config.applied)
        self._apply_committed_conf_changes()
        self.become_follower(self.term, NONE)

    # ------------------------------------------------------------------ state views

    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.log.committed)

    def soft_state(self) -> SoftState:
        return SoftState(self.lead, self.role)

    def promotable(self) -> bool:
        return self.id in self.conf.voters

    def is_learner(self) -> bool:
        return self.id in self.conf.learners

    # ------------------------------------------------------------------ role changes

    def _reset(self, term: int) -> None:
        if self.term != term:
            self.term = term
            self.vote = NONE
        self.lead = NONE
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self._reset_randomized_election_timeout()
        self._abort_leader_transfer()
        self.votes = {}
        for node, pr in list(self.progress.items()):
            fresh = Progress(
                self.log.last_index() + 1,
                self.config.inflight_msgs_max,
                self.config.inflight_bytes_max,
            )
            fresh.is_learner = pr.is_learner
            self.progress[node] = fresh
        self.pending_conf_index = 0
        self.uncommitted_bytes = 0
        self.appends_due.clear()
        for request in self.read_only.drain():
            if request.requester in (NONE, self.id):
                self.dropped_reads.append(request.context)

    def _reset_randomized_election_timeout(self) -> None:
        base = self.config.election_ticks
        self.randomized_election_timeout = base + self.rng.randrange(base)

    def become_follower(self, term: int, lead: int) -> None:
        previous = self.role
        self._reset(term)
        self.role = StateRole.FOLLOWER
        self.lead = lead
        if previous is not StateRole.FOLLOWER:
            self.logger.info("role_changed", node=self.id, role="follower", term=term, leader=lead)

    def become_pre_candidate(self) -> None:
        assert self.role is not StateRole.LEADER, "leader cannot become pre-candidate"
        # Neither the term nor the vote changes: a pre-vote is only a question.
        self.role = StateRole.PRE_CANDIDATE
        self.votes = {}
        self.lead = NONE

    def become_candidate(self) -> None:
        assert self.role is not StateRole.LEADER, "leader cannot become candidate"
        self._reset(self.term + 1)
        self.vote = self.id
        self.role = StateRole.CANDIDATE
        self.logger.debug("role_changed", node=self.id, role="candidate", term=self.term)

    def become_leader(self) -> None:
        assert self.role is not StateRole.FOLLOWER, "follower cannot become leader directly"
        self._reset(self.term)
        self.lead = self.id
        self.role = StateRole.LEADER
        own = self.progress[self.id]
        own.become_replicate()
        own.match = self.log.persisted
        own.next = self.log.last_index() + 1
        own.recent_active = True
        # Conf changes may not be proposed until everything before this point is committed.
        self.pending_conf_index = self.log.last_index()
        self._append_entries([Entry(term=0, index=0)])  # the no-op of the new term
        self.logger.info("role_changed", node=self.id, role="leader", term=self.term, leader=self.id)

    # ------------------------------------------------------------------ time

    def tick(self) -> None:
        if self.role is StateRole.LEADER:
            self._tick_heartbeat()
        else:
            self._tick_election()

    def _tick_election(self) -> None:
        self.election_elapsed += 1
        if self.promotable() and self.election_elapsed >= self.randomized_election_timeout:
            self.election_elapsed = 0
            self.step(Message(MT.MsgHup, frm=self.id))

    def _tick_heartbeat(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= self.config.election_ticks:
            self.election_elapsed = 0
            if self.config.check_quorum and not self._quorum_active():
                self.logger.warning("quorum_lost", node=self.id, term=self.term)
                self.become_follower(self.term, NONE)
                return
            if self.lead_transferee != NONE:
                # RAFT.TRANSFER answered OK when it started: say why nothing came of it.
                self.logger.warning(
                    "transfer_abandoned",
                    node=self.id,
                    term=self.term,
                    target=self.lead_transferee,
                    reason="target not caught up within an election timeout",
                )
            self._abort_leader_transfer()
        if self.heartbeat_elapsed >= self.config.heartbeat_ticks:
            self.heartbeat_elapsed = 0
            self._bcast_heartbeat()

    def _quorum_active(self) -> bool:
        active = [self.id]
        for node, pr in self.progress.items():
            if node != self.id and pr.recent_active:
                active.append(node)
            pr.recent_active = False
        return quorum.has_quorum(self.conf.voters, active)

    # ------------------------------------------------------------------ sending

    def _send(self, m: Message) -> None:
        assert m.type not in (MT.MsgHup, MT.MsgBeat, MT.MsgProp), m.type
        # Callers hand over a message they just built and never reuse, so it is stamped in
        # place (a copy per message was the core's largest cost).
        if m.term == 0 and m.type not in (MT.MsgReadIndex, MT.MsgTransferLeader):
            # Pre-vote responses carry the term they answer; everything else ours.
            object.__setattr__(m, "term", self.term)
        if m.frm == 0:
            object.__setattr__(m, "frm", self.id)
        if m.type in _AFTER_PERSIST:
            self.msgs_after_persist.append(m)
        else:
            self.msgs.append(m)

    def _maybe_send_append(self, to: int, send_if_empty: bool) -> bool:
        pr = self.progress[to]
        if pr.is_paused() or (not send_if_empty and pr.next > self.log.last_index()):
            return False  # (the second: nothing new, the common case after every ack)
        prev_index = pr.next - 1
        try:
            prev_term = self.log.term(prev_index)
            entries = self.log.entries(pr.next, self.config.append_bytes_max)
        except Compacted:
            return self._maybe_send_snapshot(to, pr)
        if len(entries) > self.config.append_entries_max:
            entries = entries[: self.config.append_entries_max]
        if not entries and not send_if_empty:
            return False
        self._send(
            Message(
                MT.MsgApp,
                to=to,
                index=prev_index,
                log_term=prev_term,
                entries=tuple(entries),
                commit=self.log.committed,
            )
        )
        last_sent = entries[-1].index if entries else prev_index
        pr.commit_sent = max(pr.commit_sent, min(self.log.committed, last_sent))
        if entries:
            pr.sent_entries(entries[-1].index, sum(e.size() for e in entries))
        elif pr.state is ProgressState.PROBE:
            pr.probe_sent = True
        return True

    def _maybe_send_snapshot(self, to: int, pr: Progress) -> bool:
        if not pr.recent_active:
            return False  # do not ship a snapshot to a node we have not heard from
        try:
            snapshot = self.log.snapshot()
        except SnapshotTemporarilyUnavailable:
            return False
        assert not snapshot.is_empty(), "need a snapshot but storage has none"
        pr.become_snapshot(snapshot.metadata.index)
        self._send(Message(MT.MsgSnap, to=to, snapshot=snapshot))
        self.logger.info("snapshot_sent", node=self.id, to=to, index=snapshot.metadata.index)
        return True

    def _bcast_append(self) -> None:
        if self.role is not StateRole.LEADER:
            return  # a commit just removed us from the configuration
        for node in self.progress:
            if node != self.id:
                self.appends_due[node] = True

    def _append_due(self, to: int, send_if_empty: bool) -> None:
        self.appends_due[to] = self.appends_due.get(to, False) or send_if_empty

    def flush_appends(self) -> None:
        """Send what each peer is owed, as few MsgApps as the window and size bounds allow.

        Called by RawNode before it looks for a Ready. Deferring sends to this point changes
        no decision (each MsgApp is built from the state at flush time) but turns N proposals
        or N acks between two Readies into one message per peer rather than N.
        """
        if not self.appends_due:
            return
        due, self.appends_due = self.appends_due, {}
        if self.role is not StateRole.LEADER:
            return
        for node, send_if_empty in due.items():
            if node == self.id or node not in self.progress:
                continue
            while self._maybe_send_append(node, send_if_empty):
                send_if_empty = False

    def _bcast_heartbeat(self) -> None:
        context = encode_round(self.read_only.rounds[-1].seq) if self.read_only.rounds else b""
        for node, pr in self.progress.items():
            if node == self.id:
                continue
            commit = min(pr.match, self.log.committed)
            pr.commit_sent = max(pr.commit_sent, commit)
            self._send(Message(MT.MsgHeartbeat, to=node, commit=commit, context=context))

    # ------------------------------------------------------------------ proposals

    def propose(self, datas: list[bytes]) -> list[EntryId]:
        """Append client data as new entries; raise ProposalDropped if this node cannot."""
        self._check_can_propose()
        size = sum(len(d) for d in datas)
        if (
            self.uncommitted_bytes > 0
            and self.uncommitted_bytes + size > self.config.uncommitted_bytes_max
        ):
            raise ProposalDropped("uncommitted_limit", self.lead)
        entries = [Entry(term=0, index=0, data=d) for d in datas]
        return self._append_and_broadcast(entries)

    def propose_conf_change(self, change: ConfChange) -> EntryId:
        self._check_can_propose()
        if self.pending_conf_index > self.log.committed or not self._committed_in_term():
            raise ProposalDropped("conf_pending", self.lead)
        if change.type is ConfChangeType.REMOVE_NODE:
            remaining = [v for v in self.conf.voters if v != change.node_id]
            if not remaining:
                raise ProposalDropped("removed", self.lead)
        entry = Entry(term=0, index=0, type=EntryType.CONF_CHANGE, data=change.encode())
        (entry_id,) = self._append_and_broadcast([entry])
        self.pending_conf_index = entry_id.index
        return entry_id

    def _check_can_propose(self) -> None:
        if self.role is not StateRole.LEADER:
            raise ProposalDropped("not_leader", self.lead)
        if self.lead_transferee != NONE:
            raise ProposalDropped("transferring", self.lead_transferee)
        if self.id not in self.progress:
            raise ProposalDropped("removed", NONE)

    def _append_and_broadcast(self, entries: list[Entry]) -> list[EntryId]:
        ids = self._append_entries(entries)
        self._bcast_append()
        return ids

    def _append_entries(self, entries: list[Entry]) -> list[EntryId]:
        last = self.log.last_index()
        stamped = [
            Entry(term=self.term, index=last + 1 + i, type=e.type, data=e.data)
            for i, e in enumerate(entries)
        ]
        self.log.append(stamped)
        self.uncommitted_bytes += sum(len(e.data) for e in stamped)
        return [EntryId(e.term, e.index) for e in stamped]

    def _committed_in_term(self) -> bool:
        return self.log.term_or_zero(self.log.committed) == self.term

    def _maybe_commit(self) -> bool:
        match = {node: pr.match for node, pr in self.progress.items()}
        index = quorum.committed_index(self.conf.voters, match)
        before = self.log.committed
        if not self.log.maybe_commit(index, self.term):
            return False
        self._on_committed(before)
        return True

    def _on_committed(self, before: int) -> None:
        if self.role is StateRole.LEADER:
            freed = sum(len(e.data) for e in self.log.entries(before + 1, None, self.log.committed + 1))
            self.uncommitted_bytes = max(0, self.uncommitted_bytes - freed)
        self._apply_committed_conf_changes()
        if self.role is StateRole.LEADER and self._committed_in_term():
            self._maybe_start_read_round()

    # ------------------------------------------------------------------ membership

    def _set_conf(self, conf_state: ConfState) -> None:
        self.conf = ConfState(tuple(sorted(conf_state.voters)), tuple(sorted(conf_state.learners)))
        wanted = set(self.conf.voters) | set(self.conf.learners)
        for node in list(self.progress):
            if node not in wanted:
                del self.progress[node]
        for node in sorted(wanted):
            pr = self.progress.get(node)
            if pr is None:
                pr = Progress(
                    self.log.last_index() + 1,
                    self.config.inflight_msgs_max,
                    self.config.inflight_bytes_max,
                )
                pr.recent_active = True  # give a new node one election timeout of grace
                self.progress[node] = pr
            pr.is_learner = node in self.conf.learners

    def _apply_committed_conf_changes(self) -> None:
        """Apply every conf change entry in (conf_applied_index, committed], in log order.

        The cursor moves entry by entry, so a commit that a changed quorum allows (and the
        recursive call it makes) never applies an entry twice.
        """
        changed = False
        while self.conf_applied_index < self.log.committed:
            lo = max(self.conf_applied_index + 1, self.log.first_index())
            hi = self.log.committed + 1
            for entry in self.log.entries(lo, None, hi):
                self.conf_applied_index = entry.index
                if entry.type is EntryType.CONF_CHANGE:
                    self._apply_conf_change(ConfChange.decode(entry.data))
                    changed = True
            self.conf_applied_index = max(self.conf_applied_index, hi - 1)
        if changed and self.role is StateRole.LEADER:
            # The quorum changed: something may now be committed, and new nodes need the log.
            self._maybe_commit()
            self._bcast_append()

    def _apply_conf_change(self, change: ConfChange) -> None:
        node = change.node_id
        self._set_conf(apply_conf_change(self.conf, change))
        self.logger.info(
            "membership_changed",
            node=self.id,
            change=change.type.name.lower(),
            target=node,
            voters=list(self.conf.voters),
            learners=list(self.conf.learners),
        )
        if node == self.id and change.type is ConfChangeType.REMOVE_NODE:
            self.removed = True
            if self.role is StateRole.LEADER:
                self.become_follower(self.term, NONE)
            return
        if self.role is StateRole.LEADER and self.lead_transferee == node and node not in self.conf.voters:
            self._abort_leader_transfer()

    # ------------------------------------------------------------------ reads

    def read_index(self, context: bytes) -> None:
        """Ask for a linearizable read point; answered by a ReadState with this context."""
        if self.role is StateRole.LEADER:
            self.read_only.add_request(context, NONE)
            self._maybe_start_read_round()
        elif self.lead != NONE:
            self._send(Message(MT.MsgReadIndex, to=self.lead, context=context))
        else:
            self.dropped_reads.append(context)

    def _maybe_start_read_round(self) -> None:
        if not self._committed_in_term():
            return  # wait for the no-op: the commit index may lag the true one until then
        if self.read_only.rounds:
            return  # one round in flight; the waiting requests take the next
        read_round = self.read_only.start_round(self.log.committed, self.id)
        if read_round is None:
            return
        if len(self.conf.voters) == 1 and self.id in self.conf.voters:
            self._release_read_rounds()
            return
        self._bcast_heartbeat()

    def _release_read_rounds(self) -> None:
        released = self.read_only.release(self.conf.voters)
        for read_round in released:
            self._answer_read_round(read_round)
        if released:
            self._maybe_start_read_round()

    def _answer_read_round(self, read_round: ReadRound) -> None:
        for request in read_round.requests:
            if request.requester in (NONE, self.id):
                self.read_states.append(ReadState(read_round.index, request.context))
            else:
                pr = self.progress.get(request.requester)
                if pr is not None and pr.commit_sent < read_round.index:
                    # It can serve the read only once it has applied up to the read index.
                    self._append_due(request.requester, True)
                self._send(
                    Message(
                        MT.MsgReadIndexResp,
                        to=request.requester,
                        index=read_round.index,
                        context=request.context,
                    )
                )

    # ------------------------------------------------------------------ leadership transfer

    def transfer_leader(self, target: int) -> None:
        self.step(Message(MT.MsgTransferLeader, frm=target, to=self.id))

    def _abort_leader_transfer(self) -> None:
        self.lead_transferee = NONE

    def _send_timeout_now(self, to: int) -> None:
        self._send(Message(MT.MsgTimeoutNow, to=to))

    # ------------------------------------------------------------------ stepping

    def step(self, m: Message) -> None:
        """Handle one message: terms first, then the kinds every role treats alike, then role."""
        if not self._step_term(m):
            return
        t = m.type
        if t is MT.MsgHup:
            self._hup(transfer=False)
        elif t is MT.MsgVote or t is MT.MsgPreVote:
            self._step_vote_request(m)
        elif self.role is StateRole.LEADER:
            self._step_leader(m)
        elif self.role is StateRole.FOLLOWER:
            self._step_follower(m)
        else:
            self._step_candidate(m)

    def _step_term(self, m: Message) -> bool:
        """Compare the message's term with ours; return whether to go on handling it."""
        if m.term == 0:
            return True  # a local message, or one that carries no term
        if m.term > self.term:
            if m.type in (MT.MsgVote, MT.MsgPreVote):
                forced = m.context == TRANSFER_CONTEXT
                in_lease = (
                    self.config.check_quorum
                    and self.lead != NONE
                    and self.election_elapsed < self.config.election_ticks
                )
                if in_lease and not forced:
                    return False  # a live leader exists: do not help depose it
            if m.type is MT.MsgPreVote:
                return True  # a question about the future term: ours does not move
            if m.type is MT.MsgPreVoteResp and not m.reject:
                return True  # a granted pre-vote names the term we would campaign at
            if m.type in (MT.MsgApp, MT.MsgHeartbeat, MT.MsgSnap):
                self.become_follower(m.term, m.frm)
            else:
                self.become_follower(m.term, NONE)
            return True
        if m.term < self.term:
            if (self.config.check_quorum or self.config.pre_vote) and m.type in (
                MT.MsgHeartbeat,
                MT.MsgApp,
            ):
                # A stale leader: tell it our term so it steps down (it may be partitioned
                # from everyone else and would never learn otherwise).
                self._send(Message(MT.MsgAppResp, to=m.frm))
            elif m.type is MT.MsgPreVote:
                self._send(Message(MT.MsgPreVoteResp, to=m.frm, term=self.term, reject=True))
            return False
        return True

    def _hup(self, transfer: bool) -> None:
        if self.role is StateRole.LEADER or not self.promotable():
            return
        if self.config.pre_vote and not transfer:
            self._campaign_pre()
        else:
            self._campaign(transfer)

    def _campaign_pre(self) -> None:
        self.become_pre_candidate()
        self.votes[self.id] = True
        if self._tally() is quorum.VoteResult.WON:
            self._campaign(transfer=False)
            return
        last = self.log.last_entry_id()
        for node in self.conf.voters:
            if node != self.id:
                self._send(
                    Message(
                        MT.MsgPreVote,
                        to=node,
                        term=self.term + 1,
                        index=last.index,
                        log_term=last.term,
                    )
                )

    def _campaign(self, transfer: bool) -> None:
        self.become_candidate()
        self.votes[self.id] = True
        if self._tally() is quorum.VoteResult.WON:
            self.become_leader()
            return
        last = self.log.last_entry_id()
        context = TRANSFER_CONTEXT if transfer else b""
        for node in self.conf.voters:
            if node != self.id:
                self._send(
                    Message(
                        MT.MsgVote,
                        to=node,
                        index=last.index,
                        log_term=last.term,
                        context=context,
                    )
                )

    def _tally(self) -> quorum.VoteResult:
        return quorum.vote_result(self.conf.voters, self.votes)

    def _step_vote_request(self, m: Message) -> None:
        pre = m.type is MT.MsgPreVote
        can_vote = (
            self.vote == m.frm
            or (self.vote == NONE and self.lead == NONE)
            or (pre and m.term > self.term)
        )
        resp_type = MT.MsgPreVoteResp if pre else MT.MsgVoteResp
        if can_vote and self.log.is_up_to_date(m.index, m.log_term):
            # A granted pre-vote answers with the asked-for term, so the pre-candidate can
            # tell it from a stale answer; a real vote is recorded and persisted first.
            self._send(Message(resp_type, to=m.frm, term=m.term))
            if not pre:
                self.election_elapsed = 0
                self.vote = m.frm
        else:
            self._send(Message(resp_type, to=m.frm, term=self.term, reject=True))

    def _step_candidate(self, m: Message) -> None:
        t = m.type
        if t is MT.MsgApp:
            self.become_follower(m.term, m.frm)
            self._handle_append(m)
        elif t is MT.MsgHeartbeat:
            self.become_follower(m.term, m.frm)
            self._handle_heartbeat(m)
        elif t is MT.MsgSnap:
            self.become_follower(m.term, m.frm)
            self._handle_snapshot(m)
        elif t is MT.MsgPreVoteResp or t is MT.MsgVoteResp:
            wanted = MT.MsgPreVoteResp if self.role is StateRole.PRE_CANDIDATE else MT.MsgVoteResp
            if t is not wanted:
                return
            self.votes[m.frm] = not m.reject
            result = self._tally()
            if result is quorum.VoteResult.WON:
                if self.role is StateRole.PRE_CANDIDATE:
                    self._campaign(transfer=False)
                else:
                    self.become_leader()
                    self._bcast_append()
            elif result is quorum.VoteResult.LOST:
                self.become_follower(self.term, NONE)
        elif t is MT.MsgTimeoutNow:
            pass  # only a follower acts on it
        elif t is MT.MsgReadIndex:
            pass  # no leader to ask: the requester retries
        elif t is MT.MsgReadIndexResp:
            self.read_states.append(ReadState(m.index, m.context))

    def _step_follower(self, m: Message) -> None:
        t = m.type
        if t is MT.MsgApp:
            self.election_elapsed = 0
            self.lead = m.frm
            self._handle_append(m)
        elif t is MT.MsgHeartbeat:
            self.election_elapsed = 0
            self.lead = m.frm
            self._handle_heartbeat(m)
        elif t is MT.MsgSnap:
            self.election_elapsed = 0
            self.lead = m.frm
            self._handle_snapshot(m)
        elif t is MT.MsgTransferLeader:
            if self.lead != NONE:
                self._send(_with(m, to=self.lead, term=0))
        elif t is MT.MsgTimeoutNow:
            self.logger.info("transfer_timeout_now", node=self.id, term=self.term, frm=m.frm)
            self._hup(transfer=True)
        elif t is MT.MsgReadIndex:
            if self.lead != NONE:
                self._send(_with(m, to=self.lead, term=0))
        elif t is MT.MsgReadIndexResp:
            self.read_states.append(ReadState(m.index, m.context))

    def _handle_append(self, m: Message) -> None:
        if m.index < self.log.committed:
            self._send(Message(MT.MsgAppResp, to=m.frm, index=self.log.committed))
            return
        before = self.log.committed
        last_new = self.log.maybe_append(m.index, m.log_term, m.commit, m.entries)
        if last_new is not None:
            if self.log.committed > before:
                self._on_committed(before)
            self._send(Message(MT.MsgAppResp, to=m.frm, index=last_new))
            return
        hint_index = min(m.index, self.log.last_index())
        hint_index, hint_term = self.log.find_conflict_by_term(hint_index, m.log_term)
        self._send(
            Message(
                MT.MsgAppResp,
                to=m.frm,
                index=m.index,
                reject=True,
                reject_hint=hint_index,
                log_term=hint_term,
            )
        )

    def _handle_heartbeat(self, m: Message) -> None:
        before = self.log.committed
        if m.commit > before:
            self.log.commit_to(min(m.commit, self.log.last_index()))
            if self.log.committed > before:
                self._on_committed(before)
        self._send(Message(MT.MsgHeartbeatResp, to=m.frm, context=m.context))

    def _handle_snapshot(self, m: Message) -> None:
        assert m.snapshot is not None
        meta = m.snapshot.metadata
        if self._restore(m.snapshot):
            self.logger.info("snapshot_restored", node=self.id, index=meta.index, term=meta.term)
            self._send(Message(MT.MsgAppResp, to=m.frm, index=self.log.last_index()))
        else:
            self._send(Message(MT.MsgAppResp, to=m.frm, index=self.log.committed))

    def _restore(self, snapshot: Snapshot) -> bool:
        meta = snapshot.metadata
        if meta.index <= self.log.committed:
            return False
        if self.log.match_term(meta.index, meta.term):
            # We have the snapshot's last entry: just fast-forward the commit index.
            before = self.log.committed
            self.log.commit_to(meta.index)
            self._on_committed(before)
            return False
        self.log.restore(snapshot)
        self._set_conf(meta.conf_state)
        self.conf_applied_index = meta.index
        return True

    def _step_leader(self, m: Message) -> None:
        t = m.type
        if t is MT.MsgBeat:
            self._bcast_heartbeat()
            return
        if t is MT.MsgReadIndex:
            self.read_only.add_request(m.context, m.frm)
            self._maybe_start_read_round()
            return
        if t is MT.MsgTransferLeader:
            self._handle_transfer(m.frm)
            return
        pr = self.progress.get(m.frm)
        if pr is None:
            return  # a node no longer in the configuration
        if t is MT.MsgAppResp:
            pr.recent_active = True
            self._handle_append_response(m, pr)
        elif t is MT.MsgHeartbeatResp:
            pr.recent_active = True
            pr.probe_sent = False
            if pr.state is ProgressState.REPLICATE and pr.inflights.full():
                # A lost append would otherwise block this follower's window for good.
                pr.inflights.free_first_one()
            if pr.match < self.log.last_index():
                # An empty append probes where the follower really is: appends lost in
                # REPLICATE are otherwise never noticed (etcd does the same).
                self._append_due(m.frm, send_if_empty=True)
            seq = decode_round(m.context)
            if seq:
                self.read_only.recv_ack(seq, m.frm)
                self._release_read_rounds()
        elif t is MT.MsgSnapStatus:
            if pr.state is ProgressState.SNAPSHOT:
                if m.reject:
                    pr.pending_snapshot = 0
                pr.become_probe()
                pr.probe_sent = True  # wait for a heartbeat response before probing again
        elif t is MT.MsgUnreachable:
            if pr.state is ProgressState.REPLICATE:
                pr.become_probe()

    def _handle_append_response(self, m: Message, pr: Progress) -> None:
        if m.reject:
            next_probe = m.reject_hint
            if m.log_term > 0:
                next_probe, _ = self.log.find_conflict_by_term(m.reject_hint, m.log_term)
            if pr.maybe_decr_to(m.index, next_probe):
                if pr.state is ProgressState.REPLICATE:
                    pr.become_probe()
                self._append_due(m.frm, send_if_empty=True)
            return
        was_paused = pr.is_paused()
        if not pr.maybe_update(m.index):
            return
        if pr.state is ProgressState.PROBE:
            pr.become_replicate()
        elif pr.state is ProgressState.SNAPSHOT and pr.match + 1 >= self.log.first_index():
            pr.become_probe()
            pr.become_replicate()
        elif pr.state is ProgressState.REPLICATE:
            pr.inflights.free_le(m.index)
        # A commit is not broadcast on its own (a frame and an ack per follower per write,
        # the dearest thing a Python node sends): followers learn it with the next append,
        # heartbeat or read answer (see flush_appends and _answer_read_round).
        if self._maybe_commit() and (self.role is not StateRole.LEADER or m.frm not in self.progress):
            return  # the commit applied a conf change that removed us or the follower
        self._append_due(m.frm, send_if_empty=was_paused)
        if m.frm == self.lead_transferee and pr.match == self.log.last_index():
            self._send_timeout_now(m.frm)

    def _handle_transfer(self, target: int) -> None:
        if target not in self.conf.voters or self.progress.get(target) is None:
            return
        if self.lead_transferee != NONE:
            if self.lead_transferee == target:
                return
            self._abort_leader_transfer()
        if target == self.id:
            return
        self.logger.info("transfer_started", node=self.id, term=self.term, target=target)
        self.election_elapsed = 0  # the transfer must finish within one election timeout
        self.lead_transferee = target
        if self.progress[target].match == self.log.last_index():
            self._send_timeout_now(target)
        else:
            self._append_due(target, send_if_empty=True)

    # ------------------------------------------------------------------ driver callbacks

    def on_persisted(self) -> None:
        """The driver persisted entries up to `log.persisted`: count ourselves as a replica."""
        if self.role is not StateRole.LEADER:
            return
        own = self.progress.get(self.id)
        if own is None:
            return
        if own.maybe_update(self.log.persisted):
            self._maybe_commit()

    def report_unreachable(self, node: int) -> None:
        self.step(Message(MT.MsgUnreachable, frm=node, to=self.id))

    def report_snapshot(self, node: int, failed: bool) -> None:
        self.step(Message(MT.MsgSnapStatus, frm=node, to=self.id, reject=failed))

    # ------------------------------------------------------------------ checks

    def check_invariants(self) -> None:
        self.log.check_invariants()
        assert self.log.committed <= self.log.last_index()
        if self.role is StateRole.LEADER:
            assert self.lead == self.id, (self.lead, self.id)
            assert self.vote == self.id or self.term == 0 or True
            own = self.progress.get(self.id)
            assert own is not None, "leader without its own progress"
            assert own.match <= self.log.persisted, (own.match, self.log.persisted)
        if self.role is not StateRole.LEADER:
            return  # progress is only maintained, and meaningful, on the leader
        for pr in self.progress.values():
            assert pr.match < pr.next, (pr.match, pr.next)
            assert pr.next <= self.log.last_index() + 1 or pr.state is ProgressState.SNAPSHOT, (
                pr.next,
                self.log.last_index(),
            )


_AFTER_PERSIST = frozenset(
    {MT.MsgAppResp, MT.MsgVoteResp, MT.MsgPreVoteResp, MT.MsgVote}
)


def _with(m: Message, **changes: Any) -> Message:
    """A copy of `m` with some fields changed (messages are frozen)."""
    values = {name: getattr(m, name) for name in m.__dataclass_fields__}
    values.update(changes)
    return Message(**values)


