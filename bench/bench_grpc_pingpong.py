"""What one gRPC frame costs in Python: round-trip latency and CPU of a bare bidi echo.

The floor under every replicated write: a leader's MsgApp and the follower's ack are two frames
on two long-lived streams, so a write at `-c 1` can never be faster than one round trip here
plus a follower's fsync. No Seshat code is involved: a child process serves one bidi-streaming
method that echoes each frame (grpc aio, uvloop, identity serializers, 100-byte payloads), and
this process sends one frame and waits for its echo, `--rounds` times.

    .venv/bin/python bench/bench_grpc_pingpong.py            # 3,000 round trips
    .venv/bin/python bench/bench_grpc_pingpong.py --rounds 10000

Prints the round trip's p50/p90 and the CPU (user+sys) each side spent per round trip, once
for each of gRPC's I/O engines, alternating, in one run: `iomgr` (what Seshat picks, see
seshat/transport/grpc_engine.py) and `event-engine` (grpcio's default). gRPC reads its engine
once per process, so each measurement is a fresh pair of processes. Not a test: figures move
15-30 % between runs on shared VMs.

    .venv/bin/python bench/bench_grpc_pingpong.py --engine iomgr   # one engine only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time

import grpc
import uvloop
from grpc import aio

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from seshat.transport.grpc_engine import EXPERIMENTS

ENGINES = {"iomgr": EXPERIMENTS, "event-engine": "", "tcp": EXPERIMENTS}
"""`GRPC_EXPERIMENTS` for each engine: empty means gRPC's own defaults. `tcp` is no gRPC at
all: the same echo over a plain asyncio connection with a 4-byte length before each frame,
the floor any stream over TCP in Python shares."""
SERVICE, METHOD = "bench.Echo", "Stream"
PAYLOAD = b"x" * 100


def _identity(data: bytes) -> bytes:
    return data


async def _serve(port: int) -> None:
    async def stream(requests, context):  # type: ignore[no-untyped-def]
        async for frame in requests:
            yield frame

    handler = grpc.method_handlers_generic_handler(
        SERVICE, {METHOD: grpc.stream_stream_rpc_method_handler(stream, _identity, _identity)}
    )
    server = aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


class _Framed(asyncio.Protocol):
    """Length-prefixed frames over a plain connection; `echo` answers each frame with itself."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while len(buffer) >= 4:
            size = int.from_bytes(buffer[:4], "big")
            if len(buffer) < 4 + size:
                return
            frame = bytes(buffer[4 : 4 + size])
            del buffer[: 4 + size]
            if self.echo:
                assert self.transport is not None
                self.transport.write(len(frame).to_bytes(4, "big") + frame)
            else:
                self.frames.put_nowait(frame)


async def _serve_tcp(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(
        lambda: _Framed(echo=True), "127.0.0.1", port
    )
    print("ready", flush=True)
    await server.serve_forever()


async def _ping_tcp(port: int, rounds: int, warmup: int) -> list[float]:
    _, protocol = await asyncio.get_running_loop().create_connection(
        lambda: _Framed(echo=False), "127.0.0.1", port
    )
    assert protocol.transport is not None
    times = []
    for _ in range(warmup + rounds):
        start = time.perf_counter()
        protocol.transport.write(len(PAYLOAD).to_bytes(4, "big") + PAYLOAD)
        await protocol.frames.get()
        times.append(time.perf_counter() - start)
    protocol.transport.close()
    return times[warmup:]


async def _ping(port: int, rounds: int, warmup: int) -> list[float]:
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.stream_stream(
            f"/{SERVICE}/{METHOD}", request_serializer=_identity, response_deserializer=_identity
        )()
        times = []
        for _ in range(warmup + rounds):
            start = time.perf_counter()
            await call.write(PAYLOAD)
            await call.read()
            times.append(time.perf_counter() - start)
        call.cancel()
        return times[warmup:]


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3000)
    p.add_argument("--engine", choices=[*ENGINES, "both"], default="both")
    p.add_argument("--repeat", type=int, default=2, help="alternating runs per engine (both)")
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the child's role
    args = p.parse_args()
    if args.serve:
        uvloop.run(_serve_tcp(args.serve) if args.engine == "tcp" else _serve(args.serve))
        return 0
    if args.engine == "both":
        for _ in range(args.repeat):
            for engine in ENGINES:
                command = [sys.executable, __file__, "--rounds", str(args.rounds)]
                subprocess.run([*command, "--engine", engine], check=True)
        return 0
    # gRPC has not started yet in this process (no channel, no server); the child inherits it.
    os.environ["GRPC_EXPERIMENTS"] = ENGINES[args.engine]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--engine", args.engine],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        server_before, client_before = _cpu_s(child.pid), time.process_time()
        ping = _ping_tcp if args.engine == "tcp" else _ping
        times = uvloop.run(ping(port, args.rounds, warmup=300))
        client_cpu = time.process_time() - client_before
        server_cpu = _cpu_s(child.pid) - server_before
    finally:
        child.terminate()
        child.wait(10)
    times.sort()
    n = len(times)
    print(
        f"grpc aio bidi echo ({args.engine}), {n} round trips: p50 {times[n // 2] * 1e6:.0f} µs,"
        f" p90 {times[n * 9 // 10] * 1e6:.0f} µs; CPU per round trip:"
        f" client {client_cpu / n * 1e6:.0f} µs, server {server_cpu / n * 1e6:.0f} µs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
