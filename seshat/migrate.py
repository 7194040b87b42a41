"""MIGRATE: copy keys to another Redis-protocol server, then delete them here through Raft.

`MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
[AUTH2 username password] [KEYS key ...]`, as Redis 7.0.15's `migrateCommand` answers it.

Theory of operation. Network I/O cannot be a log entry (every replica would run it when it
applies), so MIGRATE is orchestrated by the node the client talks to, as WAIT is
(`seshat/roles.py`): the handler checks the arguments, then a task does the rest while the
connection's later commands wait for its reply (`conn.await_reply`).

1. Read. At a linearizable read point (`node.read_barrier()`), in one synchronous step (no
   apply can interleave), each key's DUMP payload, its remaining TTL and what WATCH would
   remember of it (`transactions.watch_keys`: the applied index then). No live key: `+NOKEY`.
   The connection holds MIGRATE until its earlier commands are answered (`client.py`,
   `_ORDERED_LIKE_READS`), so it sees this client's own writes, as in Redis.
2. Transfer. A fresh connection to the target (Redis caches one per target; a fresh one costs
   a round trip and changes nothing visible), then, pipelined, AUTH or AUTH2 if given,
   SELECT destination-db, and `RESTORE key ttl payload [REPLACE]` per key; then the replies,
   read with `hiredis.Reader`. `timeout` (ms; 0 or less means 1000, as Redis) bounds the
   connect and each write and reply, as Redis's `connSyncWrite`/`connSyncReadLine` do.
3. Delete, unless COPY. The keys the target accepted are deleted by one replicated EXEC entry
   `DEL key ...` whose WATCH list holds what step 1 read, proposed as a client's EXEC is: on
   the leader directly, from a follower through `Cluster.forward_exec`. If any of those keys
   was modified (or deleted, or expired) after step 1, the entry aborts and deletes nothing.

Replies, as Redis: `+OK`; `+NOKEY`; `-IOERR error or timeout connecting to the client` (the
target's address does not resolve, or the connect timed out), `-IOERR error or timeout
writing to target instance` (a refused or reset connection: Redis's non-blocking connect
reports a refusal when it first writes), `-IOERR error or timeout reading to target
instance`; `-ERR Target instance replied with error: <error>` for the first error among the
AUTH, SELECT and RESTORE replies. Redis deletes each key as its RESTORE reply arrives, so
after a target error (BUSYKEY for one key) or a read error the keys already accepted are
deleted anyway; so do we.

What Redis cannot hit: it is single-threaded, so nothing changes a key between its DUMP and
its DEL. Here other clients run while the target answers; when the delete aborts, MIGRATE
answers `KEY_MODIFIED` (the target holds the value as it was read, the source keeps its newer
one; this error wins over a target error, since it is the one that leaves two copies).
Differences kept on purpose: no retry after a socket error (Redis retries once, for a cached
connection the target may have closed; ours is fresh); MIGRATE inside MULTI answers
`NOT_IN_MULTI` in EXEC's reply (an EXEC is one log entry, which cannot wait for a network
peer), and scripts cannot call it (the generic refusal of connection commands,
`kv/scripts.py`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

import hiredis

from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv import transactions as T
from seshat.kv.dump import value_body
from seshat.kv.numbers import parse_int
from seshat.kv.operation import Watched, encode_exec
from seshat.kv.rdb_codec import with_footer
from seshat.protocol.encoder import encode
from seshat.protocol.replies import OK, ErrorReply, NullArray, Raw, Reply, SimpleString
from seshat.raft.core import ProposalDropped
from seshat.raft.node import COMPLETION_FAILURES, Completion

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection
    from seshat.server import Server

NOKEY: Final = SimpleString(b"NOKEY")
KEYS_NEED_EMPTY_KEY: Final = ErrorReply(
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
)
IOERR_CONNECT: Final = ErrorReply("IOERR error or timeout connecting to the client")
IOERR_WRITE: Final = ErrorReply("IOERR error or timeout writing to target instance")
IOERR_READ: Final = ErrorReply("IOERR error or timeout reading to target instance")
KEY_MODIFIED: Final = ErrorReply(
    "ERR a key was modified during MIGRATE; the target holds the value it had when MIGRATE read it"
)
NOT_IN_MULTI: Final = ErrorReply(
    "ERR MIGRATE is not allowed inside MULTI in Seshat (a transaction is one log entry, "
    "which cannot wait for another server)"
)
DEFAULT_TIMEOUT_MS: Final = 1000  # Redis: `if (timeout <= 0) timeout = 1000;`
READ_CHUNK_BYTES: Final = 64 * 1024  # per read from the target; Redis writes in 64 KiB chunks
REPLY_BYTES_MAX: Final = 16 * 1024 * 1024
"""Unparsed bytes from the target past which MIGRATE gives up (IOERR reading): the replies
to AUTH, SELECT and RESTORE are short lines, so only a broken peer sends this much."""
_OPTION_WORDS: Final = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}
_INCOMPLETE: Final = object()  # hiredis's "need more bytes" (False and None are replies)
_PORT_MAX: Final = 0xFFFF
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class MigrateArgs:
    host: bytes
    port: int  # as C's atoi made it; negative: Redis's connect fails
    db: int  # the target's DB
    timeout_ms: int
    keys: list[bytes]
    copy: bool
    replace: bool
    auth: tuple[bytes, ...]  # (), (password,) or (username, password)


@dataclass(frozen=True, slots=True)
class _Item:
    """One key as step 1 read it."""

    key: bytes
    ttl_ms: int  # 0: no expiry, as RESTORE takes it
    payload: bytes
    watched: Watched


class _SocketError(Exception):
    """The target connection failed; `reply` says at which stage, as Redis's IOERR does."""

    def __init__(self, reply: ErrorReply) -> None:
        super().__init__(reply.message)
        self.reply = reply


def c_atoi(word: bytes) -> int:
    """C's `atoi`, as Redis reads the port: leading space, a sign, digits, then anything; the
    value saturated to a 64-bit long (glibc's strtol) and truncated to a 32-bit int."""
    text = word.lstrip(b" \t\n\v\f\r")
    sign = 1
    if text[:1] in (b"+", b"-"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    body = text[: len(text) - len(text.lstrip(b"0123456789"))].lstrip(b"0")
    magnitude = int(body or b"0") if len(body) <= 19 else 1 << 63  # longer: saturated anyway
    value = max(-(1 << 63), min(sign * magnitude, (1 << 63) - 1))
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def parse_args(argv: list[bytes]) -> MigrateArgs | ErrorReply:
    """`migrateCommand`'s checks, in its order: the options left to right, then the timeout,
    then the DB (each "not an integer" when not a strict 64-bit integer)."""
    copy = replace = False
    auth: tuple[bytes, ...] = ()
    keys = [argv[3]]
    j = 6
    while j < len(argv):
        word, more = argv[j].lower(), len(argv) - j - 1
        if word == b"keys":
            if argv[3]:
                return KEYS_NEED_EMPTY_KEY
            keys = argv[j + 1 :]
            break
        if word not in _OPTION_WORDS or more < _OPTION_WORDS[word]:
            return E.SYNTAX
        copy = copy or word == b"copy"
        replace = replace or word == b"replace"
        if word in (b"auth", b"auth2"):
            auth = tuple(argv[j + 1 : j + 1 + _OPTION_WORDS[word]])
        j += _OPTION_WORDS[word] + 1
    timeout_ms = parse_int(argv[5])
    db = parse_int(argv[4])
    if timeout_ms is None or db is None:
        return E.NOT_INTEGER
    if timeout_ms <= 0:
        timeout_ms = DEFAULT_TIMEOUT_MS
    port = c_atoi(argv[2])
    return MigrateArgs(argv[1], port, db, timeout_ms, keys, copy, replace, auth)


# -- the command --------------------------------------------------------------------------------


def migrate_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    from seshat.admin import DEFERRED

    args = parse_args(argv)
    if isinstance(args, ErrorReply):
        return args
    if conn.in_multi_exec:
        return NOT_IN_MULTI
    server = admin.server
    db = conn.session.db
    try:
        barrier = server.node.read_barrier()
    except ProposalDropped as dropped:
        return server.dropped_reply(dropped)
    items: list[_Item] | None = None
    if barrier is None:  # a read point now: NOKEY needs no task
        items = read_items(server, db, args.keys)
        if not items:
            return NOKEY
    conn.reply_from(_run(server, args, db, barrier, items))
    deferred: Reply = DEFERRED
    return deferred


def read_items(server: Server, db: int, keys: list[bytes]) -> list[_Item]:
    """Step 1, in one synchronous call at a read point: the live keys, each with its payload,
    its TTL (at least 1 ms when it has one, as Redis sends) and its WATCH record."""
    sm = server.state_machine
    view = sm.view
    now_ms = server.kv.clock_ms()
    watched = T.watch_keys(view, sm.applied_index(), now_ms, db, keys)
    items: list[_Item] = []
    for key, seen in zip(keys, watched, strict=True):
        if not seen.existed:
            continue
        rec = view.record(db, key, now_ms)
        assert rec is not None, key
        body = value_body(view, now_ms, db, key, rec)  # the record read once, not twice
        assert body is not None, key
        payload = with_footer(body)
        expire_at_ms = L.record_expire_at(rec)
        ttl_ms = max(expire_at_ms - now_ms, 1) if expire_at_ms else 0
        items.append(_Item(key, ttl_ms, payload, seen))
    return items


async def _run(
    server: Server,
    args: MigrateArgs,
    db: int,
    barrier: Completion | None,
    items: list[_Item] | None,
) -> Reply:
    """Steps 1 (if the read point was not ready), 2 and 3."""
    if items is None:
        assert barrier is not None
        try:
            await barrier
        except COMPLETION_FAILURES as error:  # no read point (no leader, node failed)
            return server.failure_reply(error)
        items = read_items(server, db, args.keys)
    return await _migrate(server, args, db, items) if items else NOKEY


async def _migrate(server: Server, args: MigrateArgs, db: int, items: list[_Item]) -> Reply:
    accepted, failure = await transfer(args, items)
    if not args.copy and accepted:
        refused = await delete_unchanged(server, db, [items[i] for i in accepted])
        if refused is not None:
            return refused
    return failure if failure is not None else OK


# -- step 2: the target -------------------------------------------------------------------------


def _requests(args: MigrateArgs, items: list[_Item]) -> bytes:
    out = bytearray()
    if args.auth:
        out += encode([b"AUTH", *(list[Reply](args.auth))], 2)
    out += encode([b"SELECT", str(args.db).encode()], 2)
    for item in items:
        restore: list[Reply] = [b"RESTORE", item.key, str(item.ttl_ms).encode(), item.payload]
        out += encode([*restore, b"REPLACE"] if args.replace else restore, 2)
    return bytes(out)


async def transfer(args: MigrateArgs, items: list[_Item]) -> tuple[list[int], ErrorReply | None]:
    """Step 2: the indexes of the items the target restored, and the error to answer (None:
    all restored). On a socket error the items restored before it count as restored."""
    timeout_s = args.timeout_ms / 1000
    try:
        reader, writer = await _connect(args, timeout_s)
    except _SocketError as error:
        return [], error.reply
    accepted: list[int] = []
    first: str | None = None
    try:
        writer.write(_requests(args, items))
        await _io(writer.drain(), timeout_s, IOERR_WRITE)
        replies = _Replies(reader, timeout_s)
        auth_error = await replies.next_error() if args.auth else None
        select_error = await replies.next_error()
        session_error = auth_error or select_error  # then every RESTORE counts as failed
        first = session_error
        for i in range(len(items)):
            restore_error = await replies.next_error()
            if session_error is None and restore_error is None:
                accepted.append(i)  # even after another key's error, as Redis deletes it
            first = first or restore_error
    except _SocketError as error:
        writer.transport.abort()  # a close would wait for a silent target to read our bytes
        return accepted, error.reply
    except BaseException:  # cancelled (the node stops): drop the connection, then go
        writer.transport.abort()
        raise
    await _close(writer, timeout_s)
    if first is None:
        return accepted, None
    return accepted, ErrorReply(f"ERR Target instance replied with error: {first}")


async def _close(writer: asyncio.StreamWriter, timeout_s: float) -> None:
    """Every reply is in, so nothing is left to send: a graceful close, bounded anyway."""
    writer.close()
    try:
        async with asyncio.timeout(timeout_s):
            await writer.wait_closed()
    except OSError:  # reset by the peer, or slow to close: closed or aborted all the same
        writer.transport.abort()


async def _connect(
    args: MigrateArgs, timeout_s: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Redis's IOERR for each way a connect fails: an address that does not resolve, a port
    atoi made negative, or a timeout is "connecting"; a refusal or reset is only seen when
    Redis first writes, hence "writing"."""
    if args.port < 0:
        raise _SocketError(IOERR_CONNECT)
    host = args.host.decode("utf-8", "surrogateescape")
    try:
        async with asyncio.timeout(timeout_s):
            return await asyncio.open_connection(host, args.port & _PORT_MAX)
    except (TimeoutError, socket.gaierror, ValueError) as error:
        raise _SocketError(IOERR_CONNECT) from error  # ValueError: a NUL or bad IDNA host
    except OSError as error:
        raise _SocketError(IOERR_WRITE) from error


async def _io(awaitable: Awaitable[_T], timeout_s: float, failure: ErrorReply) -> _T:
    """One write or read on the target connection, within Redis's per-call timeout."""
    try:
        async with asyncio.timeout(timeout_s):
            return await awaitable
    except OSError as error:  # TimeoutError included
        raise _SocketError(failure) from error


class _Replies:
    """The target's replies in order, each awaited within the timeout."""

    def __init__(self, reader: asyncio.StreamReader, timeout_s: float) -> None:
        self._reader = reader
        self._timeout_s = timeout_s
        self._parser = hiredis.Reader(notEnoughData=_INCOMPLETE)

    async def next_error(self) -> str | None:
        """The next reply's error text, or None when it is not an error."""
        parser = self._parser
        try:
            reply = parser.gets()
            while reply is _INCOMPLETE:
                if parser.len() > REPLY_BYTES_MAX:
                    raise _SocketError(IOERR_READ)
                chunk = await _io(self._reader.read(READ_CHUNK_BYTES), self._timeout_s, IOERR_READ)
                if not chunk:
                    raise _SocketError(IOERR_READ)  # the target closed the connection
                parser.feed(chunk)
                reply = parser.gets()
        except hiredis.ProtocolError as error:
            raise _SocketError(IOERR_READ) from error
        return str(reply) if isinstance(reply, hiredis.ReplyError) else None


# -- step 3: the delete -------------------------------------------------------------------------


async def delete_unchanged(server: Server, db: int, items: list[_Item]) -> Reply | None:
    """DEL the items' keys in one EXEC entry WATCHing them as step 1 saw them; None once done,
    else the reply saying why not (`KEY_MODIFIED`, or why the entry did not commit)."""
    commands = [(db, [b"DEL", *(item.key for item in items)])]
    watched = [item.watched for item in items]
    if server.node.is_leader():
        data = encode_exec(server.kv.clock_ms(), commands, watched)
        try:
            result = await server.node.propose(data)
        except ProposalDropped as dropped:
            return server.dropped_reply(dropped)
        except COMPLETION_FAILURES as error:  # lost, or its outcome unknown
            return server.failure_reply(error)
    elif server.cluster is None:
        return E.CLUSTERDOWN_NO_LEADER
    else:  # built, proposed and checked on the leader, as a follower client's EXEC
        result = await server.cluster.forward_exec(list(commands), watched, db, 2)
    return _delete_outcome(result)


def _delete_outcome(result: Reply) -> Reply | None:
    if isinstance(result, NullArray):
        return KEY_MODIFIED
    if isinstance(result, Raw):  # the leader's RESP2 reply to a relayed EXEC
        if result.data == b"*-1\r\n":
            return KEY_MODIFIED
        return result if result.data[:1] == b"-" else None
    return result if isinstance(result, ErrorReply) else None


HANDLERS = {b"migrate": migrate_command}
