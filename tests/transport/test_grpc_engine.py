"""Importing the transport picks gRPC's iomgr path, keeps an operator's choice, and streams work.

Each case runs in a fresh interpreter, because gRPC reads `GRPC_EXPERIMENTS` once per process:
the child imports `seshat.transport` with the variable unset (or set by "the operator"), sends a
Raft message from one transport to another over a real stream, and prints what gRPC saw. What
the choice is worth is a benchmark's question (`bench/bench_grpc_pingpong.py`), not a test's.
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = r"""
import asyncio, os
from seshat.raft.types import Message, MessageType
from seshat.transport import GrpcTransport, PeerState

async def main():
    got = []
    a = GrpcTransport(1, "c", {}, "127.0.0.1", 0, on_message=got.append)
    b = GrpcTransport(2, "c", {}, "127.0.0.1", 0, on_message=got.append)
    await a.start(); await b.start()
    try:
        a.add_peer(2, f"127.0.0.1:{b.port}")
        for _ in range(1000):
            a.send([Message(MessageType.MsgHeartbeat, to=2, frm=1, term=1)])
            if got:
                break
            await asyncio.sleep(0.01)
        assert got, "no message crossed the stream"
        print("SAW", os.environ.get("GRPC_EXPERIMENTS"), "|", got[0].type.name)
    finally:
        await a.stop(); await b.stop()

asyncio.run(main())
"""


def _run_child(env_experiments: str | None) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GRPC_EXPERIMENTS"}
    if env_experiments is not None:
        env["GRPC_EXPERIMENTS"] = env_experiments
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("SAW "))
    experiments, _, received = line.removeprefix("SAW ").partition(" | ")
    return experiments, received


def test_the_transport_picks_iomgr_and_streams_work() -> None:
    from seshat.transport import grpc_engine

    assert _run_child(None) == (grpc_engine.EXPERIMENTS, "MsgHeartbeat")


def test_the_operators_choice_is_kept() -> None:
    assert _run_child("") == ("", "MsgHeartbeat")
