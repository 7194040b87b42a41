"""SYNC, PSYNC and REPLCONF: an RDB snapshot of the whole node for `redis-cli --rdb`.

`redis-cli --rdb file` (and `--functions-rdb`) sends `REPLCONF capa eof`, `REPLCONF rdb-only
1` (and `REPLCONF rdb-filter-only functions`), then `SYNC`, and saves what follows the bulk
header. Redis 7.0 marks such a client as wanting only the file, sends it, and closes the
connection; Seshat does the same, so the tool every Redis user backs up with works here, and
the file loads into redis-server 7.0 or back into Seshat (`seshat load-rdb`).

Only that. A Redis replica (REPLICAOF pointed at a Seshat node) also sends SYNC or PSYNC, but
it expects the file and then every write as a command stream; Seshat's replicas are Raft
members (`seshat node add`), so such a replica gets an error that says so, each time it
retries, rather than a file that would silently go stale.

The file is made at a linearizable read point (`node.read_barrier()`: it holds every write
acknowledged before SYNC arrived, on any node) from a RocksDB checkpoint, in a worker thread
(`seshat/rdb/export.py`), so the node keeps serving while it is written. It is sent from disk
in pieces, as the socket takes them, after a `$<length>` header, which redis-cli accepts
whether or not it announced `capa eof`.

REPLCONF answers as Redis does to a client that is not one of its replicas: `listening-port`,
`ip-address` and `capa` are accepted, `rdb-only` and `rdb-filter-only` checked and remembered,
`ack` and `getack` get no reply at all, anything else is an error.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.memory_report import proc_memory_bytes
from seshat.protocol.replies import OK, ErrorReply, Raw, Reply
from seshat.raft.core import ProposalDropped
from seshat.raft.node import COMPLETION_FAILURES, Completion
from seshat.rdb.export import export_rdb, remove_file
from seshat.storage.engine import StorageError

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection
    from seshat.server import Server

NOT_A_REDIS_PRIMARY: Final = ErrorReply(
    "ERR Seshat does not stream writes to Redis replicas: its replicas are Raft members "
    "(seshat node add). For a snapshot, send REPLCONF rdb-only 1 first, as redis-cli --rdb does"
)
RDB_ONLY_RANGE: Final = ErrorReply("ERR value is out of range, value must between 0 and 1")
SEND_PIECE_BYTES: Final = 1 << 20  # read from the file and written at a time
_SILENT: Final = (b"ack", b"getack")  # a replica's offsets: Redis answers nothing to them


@dataclass(slots=True)
class ReplicaOptions:
    """What this connection said with REPLCONF, as far as Seshat acts on it."""

    rdb_only: bool = False
    functions_only: bool = False  # `rdb-filter-only functions`


def replconf_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    from seshat.admin import DEFERRED  # seshat.admin imports this module

    if len(argv) % 2 == 0:
        return E.SYNTAX
    options = conn.replica_options or ReplicaOptions()
    for i in range(1, len(argv), 2):
        name, value = argv[i].lower(), argv[i + 1]
        if name in _SILENT:
            no_reply: Reply = DEFERRED
            return no_reply
        if name == b"listening-port":
            if parse_int(value) is None:
                return E.NOT_INTEGER
        elif name == b"rdb-only":
            flag = parse_int(value)
            if flag is None:
                return E.NOT_INTEGER
            if flag not in (0, 1):
                return RDB_ONLY_RANGE
            options.rdb_only = flag == 1
        elif name == b"rdb-filter-only":
            if value.lower() not in (b"", b"functions"):
                return ErrorReply(f"ERR Unsupported rdb-filter-only option: {_text(value)}")
            options.functions_only = bool(value)
        elif name not in (b"ip-address", b"capa"):
            return ErrorReply(f"ERR Unrecognized REPLCONF option: {_text(argv[i])}")
    conn.replica_options = options
    return OK


def sync_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    """SYNC, and PSYNC <replid> <offset>: the file, then the connection closes."""
    from seshat.admin import DEFERRED

    psync = argv[0].lower() == b"psync"
    if psync and parse_int(argv[2]) is None:
        return E.NOT_INTEGER
    options = conn.replica_options
    if options is None or not options.rdb_only:
        return NOT_A_REDIS_PRIMARY
    server = admin.server
    try:
        barrier = server.node.read_barrier()
    except ProposalDropped as dropped:
        return server.dropped_reply(dropped)
    conn.reply_from(_send_snapshot(server, conn, barrier, options.functions_only, psync))
    deferred: Reply = DEFERRED
    return deferred


async def _send_snapshot(
    server: Server,
    conn: ClientConnection,
    barrier: Completion | None,
    functions_only: bool,
    psync: bool,
) -> Reply:
    """Wait for the read point, make the file in a thread, send it in pieces and close.

    The pieces go straight to the socket (`conn.write_raw`), after the replies before SYNC
    (it waits for them, and the file takes a thread's turn to make, so they are flushed by
    then); the reply SYNC itself answers is empty."""
    if barrier is not None:
        try:
            await barrier
        except COMPLETION_FAILURES as error:  # no read point: no leader, or the node failed
            return server.failure_reply(error)
    engine = server.engine
    assert engine is not None
    applied = server.state_machine.applied_index()
    now_ms = server.kv.clock_ms()
    memory = proc_memory_bytes()[0]
    try:
        path, size = await asyncio.to_thread(
            export_rdb, engine, server.config.data_dir, now_ms, memory, functions_only
        )
    except (OSError, StorageError) as error:  # a full disk, a closing node
        server.log.error("rdb_export_failed", error=f"{type(error).__name__}: {error}")
        return ErrorReply(f"ERR could not make the RDB file: {error}")
    try:
        head = b"+FULLRESYNC %s %d\r\n" % (replication_id(server), applied) if psync else b""
        conn.write_raw(head + b"$%d\r\n" % size)
        with open(path, "rb") as rdb:  # a local file, read a piece at a time
            while not conn.closed and (piece := rdb.read(SEND_PIECE_BYTES)):
                conn.write_raw(piece)
                await conn.drain()
    finally:
        remove_file(path)
    server.log.info("rdb_export_sent", client=conn.addr, bytes=size, applied=applied)
    conn.close_after_reply()  # Redis frees an rdb-only replica once its file is sent
    return Raw(b"")


def replication_id(server: Server) -> bytes:
    """40 hex digits naming this cluster's history, as a Redis replication id does."""
    return hashlib.sha1(f"seshat:{server.cluster_id}".encode()).hexdigest().encode()


def _text(word: bytes) -> str:
    return word.decode("utf-8", "replace")


HANDLERS = {b"sync": sync_command, b"psync": sync_command, b"replconf": replconf_command}
