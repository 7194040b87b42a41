"""REPLICAOF, SLAVEOF and FAILOVER: Redis's replication commands, answered by Raft.

Under Raft no node is told whom to follow: the members elect a leader, and membership changes
with RAFT.NODE. The commands still mean something an operator wants, so they do it where Raft
can (`replicaofCommand` and `failoverCommand` in Redis's `src/replication.c` decide the errors):

- `REPLICAOF NO ONE` on the leader (or a single node) answers OK, as on a Redis master: it is
  already the one that takes writes. On a follower it is refused with how to get there
  (FAILOVER on the leader), because a follower cannot make itself leader without an election.
  `REPLICAOF host port` answers "+OK Already connected to specified master" on a follower whose
  leader has that client address, as Redis does; any other target is refused.
- `FAILOVER [TO host port [FORCE]] [TIMEOUT ms] [ABORT]` on the leader hands leadership to a
  live follower (the one whose client address is `host:port`, or else the most caught-up
  one) by a Raft leadership transfer, and answers OK at once, as Redis does before its
  failover completes. Writes pause for one round trip, not an election. TIMEOUT and FORCE are
  checked as Redis checks them; the transfer itself is bounded by the election timeout (a
  target that does not catch up in time stays a follower, and the leader resumes). ABORT
  answers "No failover in progress" unless a transfer is under way, which it cannot cancel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from seshat.kv import errors as E
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import OK, ErrorReply, Reply, SimpleString
from seshat.raft.types import NONE

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection

INVALID_PORT: Final = ErrorReply("ERR Invalid master port")
ALREADY_CONNECTED: Final = SimpleString(b"OK Already connected to specified master")
NOT_ON_REPLICA: Final = ErrorReply("ERR FAILOVER is not valid when server is a replica.")
NO_REPLICAS: Final = ErrorReply("ERR FAILOVER requires connected replicas.")
NO_FAILOVER: Final = ErrorReply("ERR No failover in progress.")
IN_PROGRESS: Final = ErrorReply("ERR FAILOVER already in progress.")
FORCE_NEEDS: Final = ErrorReply(
    "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
)
NOT_A_REPLICA: Final = ErrorReply("ERR FAILOVER target HOST and PORT is not a replica.")
NOT_OURS: Final = ErrorReply(
    "ERR Seshat's nodes replicate through Raft and follow the leader they elect; "
    "REPLICAOF cannot point one at another server (RAFT.NODE ADD/REMOVE changes membership)"
)
CANNOT_ABORT: Final = ErrorReply(
    "ERR a Raft leadership transfer cannot be aborted; it ends within an election timeout"
)
TIMEOUT_NOT_POSITIVE: Final = ErrorReply("ERR FAILOVER timeout must be greater than 0")


def replicaof_command(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    node, cluster = self.server.node, self.server.cluster
    host, port_text = argv[1], argv[2]
    if host.lower() == b"no" and port_text.lower() == b"one":
        if node.is_leader():
            return OK
        return ErrorReply(
            f"ERR this node follows the Raft leader (node {node.leader_id()}); to make it the "
            "leader, send FAILOVER TO <its host> <its port> to the leader"
        )
    port = parse_int(port_text)
    if port is None or not 0 <= port <= 65535:
        return INVALID_PORT
    target = f"{host.decode(errors='replace')}:{port}"
    leader = node.leader_id()
    if cluster is not None and not node.is_leader() and leader:
        return ALREADY_CONNECTED if cluster.client_addresses.get(leader) == target else NOT_OURS
    return NOT_OURS


def failover_command(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    server = self.server
    node = server.node
    transferring = node.raw.raft.lead_transferee != NONE
    if len(argv) == 2 and argv[1].lower() == b"abort":
        return CANNOT_ABORT if transferring else NO_FAILOVER
    timeout = 0
    force = False
    target: str | None = None
    i = 1
    while i < len(argv):
        word = argv[i].lower()
        if word == b"timeout" and i + 1 < len(argv) and timeout == 0:
            parsed = parse_int(argv[i + 1])
            if parsed is None:
                return E.NOT_INTEGER
            if parsed <= 0:
                return TIMEOUT_NOT_POSITIVE
            timeout, i = parsed, i + 2
        elif word == b"to" and i + 2 < len(argv) and target is None:
            port = parse_int(argv[i + 2])
            if port is None:
                return E.NOT_INTEGER
            target, i = f"{argv[i + 1].decode(errors='replace')}:{port}", i + 3
        elif word == b"force" and not force:
            force, i = True, i + 1
        else:
            return E.SYNTAX
    if transferring:
        return IN_PROGRESS
    if not node.is_leader():
        return NOT_ON_REPLICA
    cluster = server.cluster
    live = cluster.live_followers() if cluster is not None else []
    if not live:
        return NO_REPLICAS
    if force and (not timeout or target is None):
        return FORCE_NEEDS
    progress = node.raw.raft.progress
    if target is not None:
        assert cluster is not None
        chosen = [n for n in live if cluster.client_addresses.get(n) == target]
        if not chosen:
            return NOT_A_REPLICA
        choice = chosen[0]
    else:
        choice = max(live, key=lambda n: progress[n].match)
    server.log.info("failover_requested", target=choice, client=conn.addr)
    node.transfer_leader(choice)
    return OK


HANDLERS = {b"replicaof": replicaof_command, b"slaveof": replicaof_command,
            b"failover": failover_command}  # fmt: skip
