"""`seshat load-rdb dump.rdb`: replay a Redis RDB file into a running server over RESP.

Every key becomes `RESTORE key ttl payload ABSTTL [REPLACE]` (after `SELECT db` when the
database changes) and every function library `FUNCTION LOAD [REPLACE] code`: ordinary client
commands, so on Seshat each write goes through Raft like any other, and the same tool loads
a redis-server too (which is how the tests check it).

Order of work, and why: the whole file is parsed and its checksum checked first
(`seshat.rdb.reader`), so a corrupt or unsupported file is refused (exit 2) before anything is
written. Then commands go out in pipelined batches (`--batch`, 200 by default), and every reply
is checked: an error (say `BUSYKEY` without `--replace`) is reported with its key and db and
the load goes on; the exit code is 1 at the end if anything failed. Keys whose expiry has
already passed are skipped, as Redis skips them when it loads a file.

The client is a blocking socket with hiredis's reader (a dependency, unlike redis-py): one
connection, one batch in flight, nothing else to schedule.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import hiredis

from seshat.protocol.encoder import encode
from seshat.protocol.replies import Reply
from seshat.rdb import reader
from seshat.rdb.reader import FunctionRecord, KeyRecord, RdbError, Record

BATCH_COMMANDS_DEFAULT: Final = 200  # the brief's round-trip size; redis-cli --pipe sends more
# A batch is also flushed past this many request bytes, so a run of big values does not pile
# up in the server's query buffer (1 GiB in Redis and Seshat) before any reply comes back.
BATCH_BYTES_MAX: Final = 16 * 1024 * 1024
REPLY_TIMEOUT_S: Final = 60.0  # a batch of big RESTOREs through Raft, with room to spare
ERRORS_SHOWN_MAX: Final = 100  # error lines printed; the summary counts them all
NAME_SHOWN_BYTES_MAX: Final = 128  # echoed keys are cut like Redis cuts echoed input

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1  # some command failed, or the server could not be reached
EXIT_BAD_FILE: Final = 2  # nothing was written

_INCOMPLETE: Final = object()  # hiredis's "no whole reply yet" (False and None are replies)


class LoadError(Exception):
    """The load cannot go on (connection lost, authentication refused)."""


class Connection:
    """One blocking RESP2 connection: send a batch of commands, read their replies in order.

    Error replies come back as `hiredis.ReplyError` values, not raised, so a caller checks each
    one against the command that caused it."""

    def __init__(self, host: str, port: int, timeout_s: float = REPLY_TIMEOUT_S) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.reader = hiredis.Reader(notEnoughData=_INCOMPLETE)

    def send(self, commands: Iterable[list[bytes]]) -> None:
        self.sock.sendall(b"".join(encode(list[Reply](argv), 2) for argv in commands))

    def reply(self) -> object:
        while True:
            reply = self.reader.gets()
            if reply is not _INCOMPLETE:
                return reply
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise LoadError("the server closed the connection")
            self.reader.feed(chunk)

    def call(self, *argv: bytes) -> object:
        self.send([list(argv)])
        return self.reply()

    def close(self) -> None:
        self.sock.close()


@dataclass
class Summary:
    """What a load did, printed at its end."""

    keys_by_db: Counter[int] = field(default_factory=Counter)
    skipped_expired: int = 0
    functions: int = 0
    errors: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        per_db = ", ".join(f"db{db} {n}" for db, n in sorted(self.keys_by_db.items()))
        return [
            f"keys loaded: {sum(self.keys_by_db.values())}" + (f" ({per_db})" if per_db else ""),
            f"expired keys skipped: {self.skipped_expired}",
            f"function libraries loaded: {self.functions}",
            f"errors: {self.errors}",
            f"seconds: {self.seconds:.2f}",
        ]


@dataclass(frozen=True, slots=True)
class _Sent:
    """What one command in a batch was for: counted on success, named on error."""

    what: str
    db: int | None  # the db a key went to; None for a function library


class Loader:
    """Sends records in batches and checks every reply; `SELECT` is sent alone, between
    batches, because every later key depends on it having worked."""

    def __init__(
        self, conn: Connection, summary: Summary, replace: bool, batch_commands: int
    ) -> None:
        self.conn = conn
        self.summary = summary
        self.replace = replace
        self.batch_commands = batch_commands
        self.db = 0  # a new connection starts in db 0
        self.db_refused: dict[int, str] = {}  # db -> why SELECT failed
        self.pending: list[tuple[list[bytes], _Sent]] = []
        self.pending_bytes = 0

    def load(self, records: list[Record], now_ms: int) -> None:
        for record in records:
            if isinstance(record, FunctionRecord):
                self._function(record)
            elif record.expire_at_ms is not None and record.expire_at_ms <= now_ms:
                self.summary.skipped_expired += 1
            else:
                self._key(record)
        self.flush()

    def _function(self, record: FunctionRecord) -> None:
        argv = [b"FUNCTION", b"LOAD"] + ([b"REPLACE"] if self.replace else []) + [record.code]
        self._add(argv, _Sent(f"function library {_library_name(record.code)}", None))

    def _key(self, record: KeyRecord) -> None:
        what = f"key {show(record.key)} in db {record.db}"
        if record.db != self.db:
            self._select(record.db)
        if record.db in self.db_refused:
            self._report(f"{what}: not loaded: {self.db_refused[record.db]}")
            return
        ttl = b"%d" % record.expire_at_ms if record.expire_at_ms is not None else b"0"
        argv = [b"RESTORE", record.key, ttl, record.payload, b"ABSTTL"]
        self._add(argv + ([b"REPLACE"] if self.replace else []), _Sent(what, record.db))

    def _select(self, db: int) -> None:
        self.flush()
        if db in self.db_refused:
            return
        reply = self.conn.call(b"SELECT", b"%d" % db)
        if isinstance(reply, hiredis.ReplyError):
            self.db_refused[db] = f"SELECT {db} failed: {reply}"
            return
        self.db = db

    def _add(self, argv: list[bytes], sent: _Sent) -> None:
        self.pending.append((argv, sent))
        self.pending_bytes += sum(len(arg) for arg in argv)
        if len(self.pending) >= self.batch_commands or self.pending_bytes >= BATCH_BYTES_MAX:
            self.flush()

    def flush(self) -> None:
        """Send the pending batch and check each reply against the command it answers."""
        if not self.pending:
            return
        batch, self.pending, self.pending_bytes = self.pending, [], 0
        self.conn.send(argv for argv, _sent in batch)
        for _argv, sent in batch:
            reply = self.conn.reply()
            if isinstance(reply, hiredis.ReplyError):
                self._report(f"{sent.what}: {reply}")
            elif sent.db is None:
                self.summary.functions += 1
            else:
                self.summary.keys_by_db[sent.db] += 1

    def _report(self, line: str) -> None:
        self.summary.errors += 1
        if self.summary.errors <= ERRORS_SHOWN_MAX:
            print(f"seshat load-rdb: {line}", file=sys.stderr)
        elif self.summary.errors == ERRORS_SHOWN_MAX + 1:
            print("seshat load-rdb: more errors follow, counted but not shown", file=sys.stderr)


def show(name: bytes) -> str:
    """A key for a message: quoted, cut to 128 bytes, undecodable bytes escaped."""
    cut = name[:NAME_SHOWN_BYTES_MAX]
    text = cut.decode("utf-8", "backslashreplace")
    return repr(text) + ("..." if len(name) > len(cut) else "")


def _library_name(code: bytes) -> str:
    """The `name=` in a library's shebang line (`#!lua name=mylib`), for messages."""
    first_line = code.split(b"\n", 1)[0]
    for word in first_line.split()[1:]:
        if word.startswith(b"name="):
            return show(word[len(b"name=") :])
    return "(unnamed)"


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="seshat load-rdb",
        description="Load a Redis RDB file (dump.rdb) into a running Seshat or Redis server "
        "with RESTORE and FUNCTION LOAD.",
    )
    parser.add_argument("file", type=Path, help="the RDB file, e.g. from redis-cli --rdb")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--user", help="AUTH as this ACL user (needs --password)")
    parser.add_argument("--password", help="AUTH with this password")
    parser.add_argument(
        "--replace", action="store_true", help="overwrite existing keys and function libraries"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=BATCH_COMMANDS_DEFAULT,
        help=f"commands per round trip (default {BATCH_COMMANDS_DEFAULT})",
    )
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    if args.user is not None and args.password is None:
        parser.error("--user needs --password")
    return args


def _connect(args: argparse.Namespace) -> Connection:
    conn = Connection(args.host, args.port)
    if args.password is not None:
        user = [args.user.encode()] if args.user is not None else []
        reply = conn.call(b"AUTH", *user, args.password.encode())
        if isinstance(reply, hiredis.ReplyError):
            conn.close()
            raise LoadError(f"AUTH failed: {reply}")
    return conn


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    try:
        rdb = reader.parse(args.file.read_bytes())
    except OSError as error:
        print(f"seshat load-rdb: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return EXIT_BAD_FILE
    except RdbError as error:
        print(f"seshat load-rdb: {args.file}: {error}; nothing was loaded", file=sys.stderr)
        return EXIT_BAD_FILE
    summary = Summary()
    try:
        conn = _connect(args)
    except (OSError, LoadError) as error:
        print(f"seshat load-rdb: {args.host}:{args.port}: {error}", file=sys.stderr)
        return EXIT_FAILED
    code = EXIT_OK
    try:
        Loader(conn, summary, args.replace, args.batch).load(rdb.records, _now_ms())
    except (OSError, LoadError, hiredis.ProtocolError) as error:
        print(f"seshat load-rdb: load stopped: {error}", file=sys.stderr)
        code = EXIT_FAILED
    finally:
        conn.close()
    summary.seconds = time.monotonic() - started
    print("\n".join(summary.lines()))
    return EXIT_FAILED if summary.errors else code
