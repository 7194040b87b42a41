"""LASTSAVE, SAVE, BGSAVE, BGREWRITEAOF and LOLWUT: what Redis's persistence commands mean here.

Seshat has no RDB file and no AOF: every write is in the Raft log, fsynced before it is
acknowledged, and applied into RocksDB. So there is never anything to save:

- SAVE answers OK at once (the state every acknowledged write produced is already on disk)
  and BGSAVE answers Redis's "Background saving started" (SCHEDULE too: with no background
  save to wait for, Redis starts one at once); both record the time as the last save.
- BGREWRITEAOF answers "Background append only file rewriting started": log compaction is
  Seshat's rewrite, and it runs on its own (`Server._maybe_compact`).
- LASTSAVE answers the unix time of the last durable checkpoint: when this node started, when
  it last compacted its Raft log (the state machine in RocksDB then stands for the truncated
  log, as an RDB file stands for the commands before it), or the last SAVE/BGSAVE.
- LOLWUT draws no art: it answers the version line Redis 7.0's ends with, naming Seshat.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from seshat import __version__
from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import OK, Reply, SimpleString, Verbatim

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

BGSAVE_STARTED: Final = SimpleString(b"Background saving started")
BGREWRITEAOF_STARTED: Final = SimpleString(b"Background append only file rewriting started")
REDIS_VERSION: Final = "7.0.15"  # as seshat.admin.REDIS_VERSION (not imported: no cycle)


def lastsave(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    return admin.server.last_save_s


def save(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    admin.server.last_save_s = int(time.time())
    return OK


def bgsave(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() != b"schedule"):
        return E.SYNTAX
    admin.server.last_save_s = int(time.time())
    return BGSAVE_STARTED


def bgrewriteaof(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    return BGREWRITEAOF_STARTED


def lolwut(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    """LOLWUT [VERSION v] [...]: as Redis, VERSION must be an integer; the rest is ignored."""
    if len(argv) >= 3 and argv[1].lower() == b"version":
        version = parse_int(argv[2])
        if version is None:
            return E.NOT_INTEGER
        if version in (5, 6) and any(parse_int(a) is None for a in argv[3:]):
            return E.NOT_INTEGER  # their drawings take integer sizes
    return Verbatim(f"Seshat ver. {__version__}, Redis ver. {REDIS_VERSION}\n".encode())


HANDLERS = {
    b"lastsave": lastsave,
    b"save": save,
    b"bgsave": bgsave,
    b"bgrewriteaof": bgrewriteaof,
    b"lolwut": lolwut,
}
