"""ROLE and WAIT: Redis's replication view of a Raft group.

ROLE maps Raft roles onto Redis's master/replica replies (`roleCommand` in `src/replication.c`):

- a single node, or the leader: `master`, its offset (the leader's last log index, as
  `master_repl_offset` is the end of the master's stream), and one `[host, port, offset]` per
  other member (followers and learners), host and port being its client address and offset
  its match index (the last log index the leader knows it holds), both strings as Redis sends
  (a member whose client address this node has not learnt yet shows "" and "0", and ROLE asks
  it again in the background);
- a follower that knows its leader: `slave`, the leader's client host and port, `connected`,
  and its applied index as the offset;
- a node that knows no leader (an election is on, or it is cut off): what a Redis replica that
  lost its master answers, state `connect` and offset -1; Raft forgets the old leader when a
  new term starts, so host and port are empty and 0.

WAIT numreplicas timeout: Redis counts the replicas that acknowledged the client's last write.
Under Raft an acknowledged write is already on a majority; WAIT answers how many *other voting
members* hold it, that is, whose match index has reached it. "It" is this connection's last
write when the connection has writes in flight (they sit at or below the leader's last log
index, plus the writes of its pipeline not proposed yet), else the commit index at the time of
the call, which covers every write it was answered for. WAIT polls the leader's progress once a
tick on the event loop (never blocking it) until enough members hold the index or the timeout
passes (0: forever, as Redis), then answers the count; later commands of the connection wait,
as a Redis client blocked in WAIT does. Inside MULTI it answers at once, and scripts may not
call it (`noscript`), as in Redis. On a follower it answers Redis's error for replicas: only
the leader knows its followers' progress.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import ErrorReply, Reply
from seshat.raft.node import Completion
from seshat.raft.types import StateRole

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection
    from seshat.server import Server

WAIT_ON_REPLICA: Final = ErrorReply(
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a "
    "replica is configured to be writable (which is not the default) writes to replicas are "
    "just local and are not propagated."
)
TIMEOUT_NOT_INTEGER: Final = ErrorReply("ERR timeout is not an integer or out of range")
TIMEOUT_NEGATIVE: Final = ErrorReply("ERR timeout is negative")


def _split(address: str) -> tuple[bytes, int]:
    host, _, port = address.rpartition(":")
    return host.encode(), int(port) if port.isdigit() else 0


_REFRESH_TASK_NAME: Final = "seshat-role-refresh-addresses"


def refresh_addresses(server: Server) -> None:
    """A member's client address is unknown (it did not answer when this node last asked,
    just after the election): ask again in the background, one request at a time, so the
    next ROLE names it."""
    cluster = server.cluster
    if cluster is None or any(t.get_name() == _REFRESH_TASK_NAME for t in server.background):
        return
    task = asyncio.get_running_loop().create_task(
        cluster.refresh_client_addresses(), name=_REFRESH_TASK_NAME
    )
    server.background.add(task)
    task.add_done_callback(server.background.discard)


def role_reply(server: Server) -> Reply:
    raw = server.node.raw
    cluster = server.cluster
    if raw.role() is StateRole.LEADER or cluster is None:
        replicas: list[Reply] = []
        if cluster is not None:
            progress = raw.raft.progress
            for n in raw.conf_state().all_nodes():
                if n == raw.id:
                    continue
                address = cluster.client_addresses.get(n, "")
                if not address:
                    refresh_addresses(server)
                host, port = _split(address)
                match = progress[n].match if n in progress else 0
                replicas.append([host, str(port).encode(), str(match).encode()])
        return [b"master", raw.last_index(), replicas]
    if raw.leader_id():
        leader_address = cluster.leader_client_address()
        if not leader_address:
            refresh_addresses(server)  # named by the next ROLE
        host, port = _split(leader_address)
        return [b"slave", host, port, b"connected", server.node.applied]
    return [b"slave", b"", 0, b"connect", -1]


def role_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    return role_reply(admin.server)


def acked_voters(server: Server, index: int) -> int:
    """Other voting members whose log holds `index`, as far as this leader knows (0 if not
    the leader: a follower does not track the others)."""
    raw = server.node.raw
    if raw.role() is not StateRole.LEADER:
        return 0
    progress = raw.raft.progress
    return sum(
        1
        for n in raw.conf_state().voters
        if n != raw.id and n in progress and progress[n].match >= index
    )


_waiting: dict[int, tuple[Completion, asyncio.Task[None], int]] = {}
"""Connections blocked in WAIT, by client id (ids are unique in the process): CLIENT UNBLOCK."""


def unblock_wait(server: Server, client_id: int, error: Reply | None) -> bool:
    """CLIENT UNBLOCK of a client in WAIT: answer now, with `error` or (TIMEOUT) the count
    of voters holding its write so far, as Redis answers a WAIT whose timeout passed."""
    found = _waiting.pop(client_id, None)
    if found is None:
        return False
    completion, task, target = found
    completion.set_result(error if error is not None else acked_voters(server, target))
    task.cancel()
    return True


def wait_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    from seshat.admin import DEFERRED

    server = admin.server
    if server.cluster is not None and not server.node.is_leader():
        return WAIT_ON_REPLICA
    numreplicas = parse_int(argv[1])
    if numreplicas is None:
        return E.NOT_INTEGER
    timeout_ms = parse_int(argv[2])
    if timeout_ms is None:
        return TIMEOUT_NOT_INTEGER
    if timeout_ms < 0:
        return TIMEOUT_NEGATIVE
    raw = server.node.raw
    unfinished, unproposed = conn.unfinished()
    target = raw.last_index() + unproposed if unfinished or unproposed else raw.committed()
    acked = acked_voters(server, target)
    if acked >= numreplicas or conn.in_multi_exec:
        return acked  # inside MULTI Redis never blocks: it answers the count it has
    completion = Completion()
    deadline_s = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
    task = asyncio.get_running_loop().create_task(
        _wait_for_acks(server, conn, target, numreplicas, deadline_s, completion)
    )
    server.background.add(task)
    task.add_done_callback(server.background.discard)
    _waiting[conn.id] = (completion, task, target)
    task.add_done_callback(lambda _: _waiting.pop(conn.id, None))
    conn.await_reply(completion)
    deferred: Reply = DEFERRED
    return deferred


async def _wait_for_acks(
    server: Server,
    conn: ClientConnection,
    target: int,
    numreplicas: int,
    deadline_s: float | None,
    completion: Completion,
) -> None:
    """Poll once a tick until `numreplicas` voters hold `target`, the deadline passes, this
    node stops leading or the client goes away; then answer the count."""
    interval_s = server.config.tick_interval_ms / 1000
    acked = 0
    try:
        while True:
            acked = acked_voters(server, target)
            if acked >= numreplicas or not server.node.is_leader() or conn.closed:
                break
            if deadline_s is not None:
                left_s = deadline_s - time.monotonic()
                if left_s <= 0:
                    break
                await asyncio.sleep(min(interval_s, left_s))
            else:
                await asyncio.sleep(interval_s)
    finally:
        completion.set_result(acked)


HANDLERS = {b"role": role_command, b"wait": wait_command}
