"""Which of gRPC's I/O engines our channels and servers run on, chosen before gRPC starts.

Why not the default. grpcio 1.85's default runs a stream's socket I/O on EventEngine threads of
its own, so every frame hops from our loop's thread to one of them and back. On these 2-core VMs
that hop is most of a frame's cost: `bench/bench_grpc_pingpong.py` (a bare aio bidi echo, both
engines in one run) measured a round trip of 299-335 µs and 220 µs of server CPU with the
EventEngine, against 145-172 µs and 123-130 µs with the older iomgr path, which writes and reads
the socket on the calling thread. A replicated write at `-c 1` crosses four such frames.

How. gRPC reads the `GRPC_EXPERIMENTS` environment variable once, when its core starts (the
first channel or server), so `configure()` runs when `seshat.transport` is imported, before
either exists. A value the operator set is kept as it is: `GRPC_EXPERIMENTS=` (empty) brings
back gRPC's defaults. Experiment names a later grpcio no longer knows are ignored by gRPC with
a log line, never an error, so this cannot stop a node from starting.
"""

from __future__ import annotations

import os

EXPERIMENTS = "-event_engine_listener,-event_engine_client,-event_engine_for_all_other_endpoints"
"""Listener, client and every other endpoint back on iomgr: all three, since a stream's two
ends are a client endpoint on one node and an accepted (listener) endpoint on the other."""


def configure() -> None:
    """Choose the iomgr path for this process and its children unless the operator chose."""
    os.environ.setdefault("GRPC_EXPERIMENTS", EXPERIMENTS)
