"""The ceiling for a Python RESP server: what Seshat's client path is measured against.

Theory of operation. This is the leanest server we can write with the parts Seshat itself uses
(asyncio ``Protocol``, uvloop, ``hiredis.Reader``), with everything Seshat must do and this
does not (command table, arity and key checks, limits, Raft, RocksDB) left out. Per read it
feeds the bytes to one reader, handles every complete command, and writes all replies with one
``transport.write``, as /work/shared/COSTS.md describes. Whatever Seshat adds on its client path
shows up as the gap between it and this server at ``redis-benchmark -P 16``, where the
benchmark client is no longer the bottleneck.

Commands: GET, SET key value (no options), PING, ECHO, DBSIZE, FLUSHALL, SELECT 0, HELLO [2],
CONFIG GET (``save`` and ``appendonly`` answered like an in-memory Redis, anything else an
empty array, as Redis 7 does for unknown parameters), QUIT. Only RESP arrays, no inline
commands. Not a test fixture and not a reference for Redis semantics; the differential tests
compare against a real redis-server.

Run alone: ``python bench/minimal_server.py --port 7399`` (``--loop asyncio`` to compare with
the stock event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any, cast

import hiredis

# hiredis returns False when it has no complete reply; False is also a legal value in RESP3, so
# give it a private sentinel (as redis-py's hiredis parser does).
_INCOMPLETE: Any = object()

_OK = b"+OK\r\n"
_PONG = b"+PONG\r\n"
_NIL = b"$-1\r\n"
_EMPTY_ARRAY = b"*0\r\n"
# Answers an in-memory redis-server gives (redis-benchmark asks for both at start).
_CONFIG = {b"save": b"", b"appendonly": b"no"}


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _array_of_bulks(values: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(values) + b"".join(_bulk(v) for v in values)


def _wrong_arity(name: bytes) -> bytes:
    return b"-ERR wrong number of arguments for '%s' command\r\n" % name.lower()


class _Server:
    """State shared by all connections: the store and a client id counter."""

    def __init__(self) -> None:
        self.store: dict[bytes, bytes] = {}
        self.next_client_id = 1


class RespProtocol(asyncio.Protocol):
    """One client connection. The hot path (GET, SET) is inlined in ``data_received``."""

    __slots__ = ("_client_id", "_reader", "_server", "_transport")

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._reader = hiredis.Reader(notEnoughData=_INCOMPLETE)
        self._transport: asyncio.Transport | None = None
        self._client_id = server.next_client_id
        server.next_client_id += 1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check here.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None:
            return
        reader = self._reader
        store = self._server.store
        reader.feed(data)
        out: list[bytes] = []
        append = out.append
        close = False
        try:
            cmd = reader.gets()
            while cmd is not _INCOMPLETE:
                if type(cmd) is not list or not cmd:
                    append(b"-ERR Protocol error: expected a non-empty array\r\n")
                    close = True
                    break
                name = cmd[0]
                n = len(cmd)
                if name == b"GET" and n == 2:
                    value = store.get(cmd[1])
                    append(_NIL if value is None else b"$%d\r\n%s\r\n" % (len(value), value))
                elif name == b"SET" and n == 3:
                    store[cmd[1]] = cmd[2]
                    append(_OK)
                else:
                    reply = self._slow_path(cmd)
                    if reply is None:
                        append(_OK)
                        close = True
                        break
                    append(reply)
                cmd = reader.gets()
        except hiredis.ProtocolError as e:
            append(b"-ERR Protocol error: %s\r\n" % str(e).encode()[:128])
            close = True
        if out:
            transport.write(b"".join(out))
        if close:
            transport.close()

    def _slow_path(self, cmd: list[bytes]) -> bytes | None:
        """Everything but the two-argument GET and SET. None means QUIT."""
        name = cmd[0].upper() if isinstance(cmd[0], bytes) else b""
        args = cmd[1:]
        store = self._server.store
        if name == b"GET" or name == b"SET":
            if name == b"GET" and len(args) == 1:
                value = store.get(args[0])
                return _NIL if value is None else _bulk(value)
            if name == b"SET" and len(args) == 2:
                store[args[0]] = args[1]
                return _OK
            if name == b"SET" and len(args) > 2:
                return b"-ERR syntax error\r\n"
            return _wrong_arity(name)
        if name == b"PING":
            if len(args) == 0:
                return _PONG
            if len(args) == 1:
                return _bulk(args[0])
            return _wrong_arity(name)
        if name == b"ECHO":
            return _bulk(args[0]) if len(args) == 1 else _wrong_arity(name)
        if name == b"CONFIG":
            if len(args) >= 2 and args[0].upper() == b"GET":
                pairs: list[bytes] = []
                for param in args[1:]:
                    value = _CONFIG.get(param.lower())
                    if value is not None:
                        pairs += [param.lower(), value]
                return _array_of_bulks(pairs) if pairs else _EMPTY_ARRAY
            return b"-ERR unknown subcommand or wrong number of arguments for 'config'\r\n"
        if name == b"HELLO":
            if args and args[0] not in (b"2",):
                return b"-NOPROTO sorry, this protocol version is not supported\r\n"
            return (
                b"*14\r\n"
                + _bulk(b"server")
                + _bulk(b"redis")
                + _bulk(b"version")
                + _bulk(b"7.0.15")
                + _bulk(b"proto")
                + b":2\r\n"
                + _bulk(b"id")
                + b":%d\r\n" % self._client_id
                + _bulk(b"mode")
                + _bulk(b"standalone")
                + _bulk(b"role")
                + _bulk(b"master")
                + _bulk(b"modules")
                + _EMPTY_ARRAY
            )
        if name == b"DBSIZE":
            return b":%d\r\n" % len(store)
        if name == b"FLUSHALL" or name == b"FLUSHDB":
            store.clear()
            return _OK
        if name == b"SELECT":
            if len(args) != 1:
                return _wrong_arity(name)
            return _OK if args[0] == b"0" else b"-ERR DB index is out of range\r\n"
        if name == b"QUIT":
            return None
        shown = cmd[0][:128].replace(b"\r", b" ").replace(b"\n", b" ")
        return b"-ERR unknown command '%s', with args beginning with: \r\n" % shown


async def _serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    state = _Server()
    server = await loop.create_server(lambda: RespProtocol(state), host, port, backlog=511)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"minimal_server pid={os.getpid()} listening on {host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7399)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args(argv)
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(_serve(args.host, args.port))
    else:
        asyncio.run(_serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
