"""Micro-benchmark of the node-to-node transport: Raft messages/s over one stream.

Two processes on loopback, as two nodes would be: this one sends MsgApp messages carrying one
100-byte entry each (the shape of COSTS.md "Between nodes") through `GrpcTransport.send`, a
child process receives them through its own `GrpcTransport` and reports when it has them all.
Runs with `batch_msgs_max` 1 (one message per frame) and 64, plus the codec alone:

    .venv/bin/python bench/bench_transport.py              # both batch sizes and the codec
    .venv/bin/python bench/bench_transport.py --batch 64 --messages 500000
    .venv/bin/python bench/bench_transport.py --codec      # encode/decode of a 64-message batch
    .venv/bin/python bench/bench_transport.py --inproc     # both transports in this process

The sender keeps its peer queue topped up (never above `--window` messages, so nothing is
dropped) and the rate is the receiver's: messages over the time from its first to its last.
Not a test: figures move 15-30 % between runs on shared VMs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time
from typing import Any

# The receiver is a child process forked while gRPC threads run; gRPC's fork handlers are for
# children that use gRPC inherited from the parent, which ours does not (it execs).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from seshat import logs
from seshat.proto import raft_pb2 as pb
from seshat.raft.types import Entry, Message, MessageType
from seshat.transport import GrpcTransport, TransportLimits, codec

CLUSTER = "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def message(i: int, entry_bytes: int = 100) -> Message:
    return Message(
        MessageType.MsgApp,
        to=2,
        frm=1,
        term=3,
        log_term=3,
        index=1000 + i,
        entries=(Entry(3, 1001 + i, data=b"x" * entry_bytes),),
        commit=1000 + i,
    )


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


# ------------------------------------------------------------------ receiver (child process)


async def receive(port: int, expect: int, ready: asyncio.Event | None = None) -> dict[str, Any]:
    done = asyncio.Event()
    first = 0.0
    count = 0

    def on_message(_m: Message) -> None:
        nonlocal first, count
        if count == 0:
            first = time.perf_counter()
        count += 1
        if count == expect:
            done.set()

    transport = GrpcTransport(2, CLUSTER, {}, "127.0.0.1", port, on_message=on_message)
    await transport.start()
    if ready is not None:
        ready.set()
    else:
        print("ready", flush=True)
    await done.wait()
    elapsed = time.perf_counter() - first
    batches = transport.stats.received_batches - 1  # the hello
    await transport.stop()
    return {"messages": count, "seconds": elapsed, "frames": batches}


# ------------------------------------------------------------------ sender


async def send_all(transport: GrpcTransport, total: int, window: int) -> None:
    msgs = [message(i) for i in range(window)]
    sent = 0
    while sent < total:
        room = window - transport.queued(2)
        if room > 0:
            n = min(room, total - sent)
            transport.send(msgs[:n])
            sent += n
        await asyncio.sleep(0)


async def run_pair(batch: int, total: int, window: int, inproc: bool) -> dict[str, Any]:
    port = free_port()
    limits = TransportLimits(batch_msgs_max=batch, queue_msgs_max=window * 2)
    child: asyncio.subprocess.Process | None = None
    receiver_task: asyncio.Task[dict[str, Any]] | None = None
    if inproc:
        ready = asyncio.Event()
        receiver_task = asyncio.get_running_loop().create_task(receive(port, total, ready))
        await ready.wait()
    else:
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--receiver", str(port), str(total),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None
        line = await child.stdout.readline()
        if line.strip() != b"ready":
            child.kill()
            raise RuntimeError(f"receiver did not start: {line!r}")
    sender = GrpcTransport(
        1, CLUSTER, {2: f"127.0.0.1:{port}"}, "127.0.0.1", 0, lambda m: None, limits=limits
    )
    await sender.start()
    try:
        await send_all(sender, total, window)
        if receiver_task is not None:
            result = await receiver_task
        else:
            assert child is not None and child.stdout is not None
            result = json.loads(await child.stdout.readline())
            await child.wait()
        stats = sender.peer_stats(2)
        assert stats is not None and stats.dropped_msgs == 0, stats
    finally:
        await sender.stop()
        if child is not None and child.returncode is None:
            child.kill()
            await child.wait()
    result["batch"] = batch
    result["rate"] = result["messages"] / result["seconds"]
    return result


# ------------------------------------------------------------------ codec alone


def bench_codec(n_batches: int = 2000) -> None:
    msgs = [message(i) for i in range(64)]
    frame = codec.encode_batch(CLUSTER, 1, 2, msgs)
    raw = frame.SerializeToString()
    parsed = pb.Batch.FromString(raw)
    assert codec.decode_messages(parsed) == msgs

    def best(fn: Any) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n_batches):
                fn()
            times.append((time.perf_counter() - start) / n_batches)
        return min(times) * 1e6

    encode = best(lambda: codec.encode_batch(CLUSTER, 1, 2, msgs))
    serialize = best(frame.SerializeToString)
    parse = best(lambda: pb.Batch.FromString(raw))
    decode = best(lambda: codec.decode_messages(parsed))
    print(f"codec, 64 MsgApp x one 100-byte entry ({len(raw)} bytes on the wire):")
    print(f"  Message -> protobuf   {encode:7.1f} us/batch")
    print(f"  SerializeToString     {serialize:7.1f} us/batch")
    print(f"  FromString            {parse:7.1f} us/batch")
    print(f"  protobuf -> Message   {decode:7.1f} us/batch")
    print(f"  total                 {encode + serialize + parse + decode:7.1f} us/batch")


def main() -> None:
    logs.configure(level="warning")  # to stderr: the child's stdout carries its results
    if len(sys.argv) == 4 and sys.argv[1] == "--receiver":
        loop = new_loop()
        result = loop.run_until_complete(receive(int(sys.argv[2]), int(sys.argv[3])))
        print(json.dumps(result), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, action="append", help="batch_msgs_max (1, 64)")
    parser.add_argument("--messages", type=int, default=0, help="messages per run")
    parser.add_argument("--window", type=int, default=1024, help="queued messages at most")
    parser.add_argument("--codec", action="store_true", help="only the codec")
    parser.add_argument("--inproc", action="store_true", help="both transports in-process")
    args = parser.parse_args()
    if args.codec:
        bench_codec()
        return
    loop = new_loop()  # one loop for every run: gRPC aio binds itself to the first loop
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {type(loop).__module__} loop")
    for batch in args.batch or [1, 64]:
        total = args.messages or (30_000 if batch == 1 else 300_000)
        result = loop.run_until_complete(run_pair(batch, total, args.window, args.inproc))
        print(
            f"batch_msgs_max={batch:<4} {result['messages']:>8} msgs in {result['seconds']:.2f} s"
            f" = {result['rate']:>9,.0f} msgs/s ({result['frames']} frames,"
            f" {result['messages'] / max(result['frames'], 1):.1f} msgs/frame)"
        )
    loop.close()
    if not args.batch:
        bench_codec()


if __name__ == "__main__":
    main()
