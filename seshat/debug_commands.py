"""DEBUG, ASKING and PFSELFTEST: the node answers them itself, as a Redis 7.0 would.

DEBUG: Redis 7's default `enable-debug-command no` refuses every DEBUG, whatever its
subcommand, once the arity check (two words at least) has passed. Seshat's CONFIG reports that
parameter as `no`, and immutable (`seshat/config_table.py`), and answers as such a Redis does:
its DEBUG subcommands reach into one process's memory (RELOAD, SET-ACTIVE-EXPIRE, OBJECT...),
which would make one replica differ from the others.

ASKING: a Redis Cluster client sends it before retrying a command at the node an `-ASK`
redirect named. In redirect mode (`--redirect`) Seshat presents itself as a cluster (INFO says
`cluster_enabled:1`) whose leader owns every slot and never migrates one, so ASKING only
answers OK there; otherwise it answers as a Redis started without cluster support.

PFSELFTEST runs `seshat/kv/hyperloglog_selftest.py` in a worker thread (it takes a few tens of
milliseconds of pure Python: the event loop keeps its turns meanwhile) and answers OK, or
Redis's `TESTFAILED` error naming the check that failed. It reads and writes no key.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from seshat.kv.hyperloglog_selftest import selftest
from seshat.protocol.replies import OK, ErrorReply, Reply

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

DEBUG_NOT_ALLOWED: Final = ErrorReply(
    'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", '
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
CLUSTER_DISABLED: Final = ErrorReply("ERR This instance has cluster support disabled")


def debug_command(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    return DEBUG_NOT_ALLOWED


def asking_command(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    return OK if self.server.config.redirect else CLUSTER_DISABLED


def pfselftest_command(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    from seshat.admin import DEFERRED  # seshat.admin imports this module

    conn.await_admin(_run_selftest())
    deferred: Reply = DEFERRED  # `await_admin` answers OK, or "ERR " and `_run_selftest`'s text
    return deferred


async def _run_selftest() -> str:
    problem = await asyncio.to_thread(selftest)
    return "" if problem is None else f"TESTFAILED {problem}"


HANDLERS = {
    b"debug": debug_command,
    b"asking": asking_command,
    b"pfselftest": pfselftest_command,
}
