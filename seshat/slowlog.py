"""SLOWLOG: the commands of this node that took longer than `slowlog-log-slower-than` µs.

Redis keeps the last `slowlog-max-len` such commands in memory, newest first, each with an id,
the unix time it ran, its duration, its arguments (cut so one huge MSET cannot fill memory),
the client's address and name (`src/slowlog.c`). We keep the same entries and replies. What
"duration" means here is set by `seshat/command_timing.py`, which measures each command and
hands the slow ones to `push`; this module only stores and answers.

The log is per node, not replicated: it describes this process's latency, as Redis's does.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Final

from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import OK, ErrorReply, Reply, SimpleString

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

ENTRY_ARGS_MAX: Final = 32  # SLOWLOG_ENTRY_MAX_ARGC in Redis's src/slowlog.h
ENTRY_ARG_BYTES_MAX: Final = 128  # SLOWLOG_ENTRY_MAX_STRING
LOG_SLOWER_THAN_US_DEFAULT: Final = 10_000  # Redis's default for slowlog-log-slower-than
LEN_MAX_DEFAULT: Final = 128  # Redis's default for slowlog-max-len
GET_COUNT_DEFAULT: Final = 10  # SLOWLOG GET without a count

HELP_LINES: Final = (
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
)
_COUNT_ERROR: Final = ErrorReply("ERR count should be greater than or equal to -1")

Entry = tuple[int, int, int, list[bytes], bytes, bytes]
"""id, unix time (s), duration (µs), argv as logged, client address, client name."""


def trim_argv(argv: list[bytes]) -> list[bytes]:
    """Arguments as Redis's `slowlogCreateEntry` keeps them: at most 32, the last of which
    then says how many were left out; each at most 128 bytes plus how many were cut."""
    argc = len(argv)
    kept = min(argc, ENTRY_ARGS_MAX)
    out: list[bytes] = []
    for j in range(kept):
        if kept != argc and j == kept - 1:
            out.append(b"... (%d more arguments)" % (argc - kept + 1))
            break
        arg = argv[j]
        if len(arg) > ENTRY_ARG_BYTES_MAX:
            arg = arg[:ENTRY_ARG_BYTES_MAX] + b"... (%d more bytes)" % (
                len(arg) - ENTRY_ARG_BYTES_MAX
            )
        out.append(arg)
    return out


class SlowLog:
    """The newest `len_max` slow commands; `log_slower_than_us` < 0 logs none."""

    def __init__(self) -> None:
        self.log_slower_than_us = LOG_SLOWER_THAN_US_DEFAULT
        self.len_max = LEN_MAX_DEFAULT
        self.entries: deque[Entry] = deque()
        self._next_id = 0

    def push(self, argv: list[bytes], duration_us: int, addr: str, name: bytes) -> None:
        entry = (self._next_id, int(time.time()), duration_us, trim_argv(argv), addr.encode(), name)
        self._next_id += 1
        self.entries.appendleft(entry)
        self._trim()

    def set_len_max(self, len_max: int) -> None:
        self.len_max = len_max
        self._trim()

    def _trim(self) -> None:
        while len(self.entries) > self.len_max:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()

    def get(self, count: int) -> list[Reply]:
        """The newest `count` entries (all of them for -1), as SLOWLOG GET answers them."""
        chosen = list(self.entries) if count < 0 else list(self.entries)[:count]
        return [[i, ts, us, list(args), addr, name] for i, ts, us, args, addr, name in chosen]


def slowlog_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    """SLOWLOG GET [count] | LEN | RESET | HELP (existence and arity checked by the table)."""
    slowlog = admin.server.slowlog
    sub = argv[1].lower()
    if sub == b"get" and len(argv) <= 3:
        count = GET_COUNT_DEFAULT
        if len(argv) == 3:
            parsed = parse_int(argv[2])
            if parsed is None or parsed < -1:
                return _COUNT_ERROR
            count = parsed
        return slowlog.get(count)
    if sub == b"len" and len(argv) == 2:
        return len(slowlog.entries)
    if sub == b"reset" and len(argv) == 2:
        slowlog.reset()
        return OK
    if sub == b"help" and len(argv) == 2:
        return [SimpleString(line.encode()) for line in HELP_LINES]
    return E.subcommand_syntax(argv[1], "SLOWLOG")


HANDLERS = {b"slowlog": slowlog_command}
