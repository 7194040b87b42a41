"""The deterministic simulator: it passes on the real core, replays exactly, and bites.

The CI run (500 seeds of 2,000 steps) is the main proof of the Raft core; the mutation tests
below break the core in-process (monkeypatch) and require the simulator to notice, so a
simulator that silently stopped checking would fail here.
"""

from __future__ import annotations

import pytest

from seshat.raft import core
from seshat.raft.log import RaftLog
from seshat.sim.__main__ import main
from seshat.sim.run import run_seed


def test_ci_seeds_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--seeds", "500", "--steps", "2000", "--jobs", "2"])
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "500 passed, 0 failed", out[-3000:]
    assert code == 0


@pytest.mark.parametrize("nodes", [1, 3, 5])
def test_each_cluster_size_commits_and_serves_clients(nodes: int) -> None:
    outcome = run_seed(7, 3000, nodes=nodes)
    assert outcome.ok, outcome.failure
    assert outcome.commits > 20
    assert outcome.ops > 50


def test_same_seed_same_trace() -> None:
    first = run_seed(42, 2000)
    second = run_seed(42, 2000)
    assert first.trace_hash == second.trace_hash
    assert run_seed(43, 2000).trace_hash != first.trace_hash


def test_trace_mode_prints_replay_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "5", "--steps", "300", "--trace"]) == 0
    out = capsys.readouterr().out
    assert "seed 5:" in out and "deliver Msg" in out and "trace hash" in out


def _first_failure(seeds: range, steps: int = 2000) -> str | None:
    for seed in seeds:
        outcome = run_seed(seed, steps, nodes=3)
        if not outcome.ok:
            return outcome.failure
    return None


def test_simulator_catches_votes_granted_to_anyone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break: a node grants every vote (no one-vote-per-term, no up-to-date check)."""
    monkeypatch.setattr(RaftLog, "is_up_to_date", lambda self, i, t: True)
    original = core.Raft._step_vote_request

    def grant_all(self: core.Raft, m: core.Message) -> None:
        self.vote = 0
        self.lead = 0
        original(self, m)

    monkeypatch.setattr(core.Raft, "_step_vote_request", grant_all)
    failure = _first_failure(range(1, 100))
    assert failure is not None, "the simulator missed a core that votes for everyone"


def test_simulator_catches_reads_served_without_quorum(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break: a leader answers ReadIndex at once, with no heartbeat round (a stale leader can)."""

    def read_at_once(self: core.Raft, context: bytes) -> None:
        if self.role is core.StateRole.LEADER:
            self.read_states.append(core.ReadState(self.log.committed, context))
        else:
            self.dropped_reads.append(context)

    monkeypatch.setattr(core.Raft, "read_index", read_at_once)
    failure = _first_failure(range(1, 300))
    assert failure is not None, "the simulator missed stale reads"
    assert failure.startswith("linearizability"), failure
