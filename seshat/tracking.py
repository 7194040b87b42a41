"""Client-side caching: CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO, and the
invalidation messages of Redis 7.0's `tracking.c`.

A node remembers which of *its own* clients read which keys, and tells them when a key changes.
Every node applies every committed entry, so each node learns of every change by its own apply
(`StateMachine.last_touched`, the keys a batch modified, and `last_flushed`) and invalidates its
own clients; nothing about tracking travels between nodes or through the log. A key is
remembered after the read that returned it ran, so a change applied after that read always
invalidates it, wherever the read was served.

Default mode: keys read (by commands flagged readonly) are remembered per client, and the first
change of such a key sends `invalidate [key]` and forgets it. BCAST mode: every changed key
under one of the client's prefixes (all keys without a prefix) is sent, one message per prefix
per applied batch. OPTIN / OPTOUT: only the reads after `CLIENT CACHING yes`, or all but those
after `CLIENT CACHING no`, are remembered. A flush sends `invalidate` with a null key list.

RESP3 clients get `>2 invalidate [keys]` pushes. With `REDIRECT id` the messages go to that
client instead: a push if it speaks RESP3, else a `__redis__:invalidate` pub/sub message if it
is subscribed there (Redis's RESP2 way); a redirect to a client that is gone marks the tracking
client's redirect broken and, in RESP3, tells it so.

Reads inside MULTI/EXEC are remembered once EXEC's reply is decided (`after_transaction`); so
are a script's declared keys, if it called a read-only command (`script_keys`, as Redis).

NOLOOP: a client does not hear of the keys it changed itself. The change is found in apply,
where only the log index of the entry that last changed a key is known (`last_touched`), so a
NOLOOP client notes the indexes of the entries it proposes (`note_origins`). Known only on the
node that proposed the entry: a NOLOOP client of a follower, whose writes the leader proposes,
still hears of its own changes; the extra invalidation only costs it a re-read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from seshat.kv import errors as E
from seshat.kv import scripts
from seshat.kv.commands import F_READONLY, get_keys, lookup
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import OK, ErrorReply, Map, Push, Reply, Set
from seshat.pubsub import CHANNELS

_SCRIPT_READS: Final = frozenset({b"eval_ro", b"evalsha_ro", b"fcall_ro"})
_SCRIPT_WRITES: Final = frozenset({b"eval", b"evalsha", b"fcall"})


if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection
    from seshat.kv.state_machine import StateMachine
    from seshat.raft.node import Completion
    from seshat.server import Server

INVALIDATE: Final = b"invalidate"
CHANNEL: Final = b"__redis__:invalidate"

REDIRECT_MISSING: Final = ErrorReply("ERR The client ID you want redirect to does not exist")
OPTIN_OPTOUT_BCAST: Final = ErrorReply("ERR OPTIN and OPTOUT are not compatible with BCAST")
OPTIN_AND_OPTOUT: Final = ErrorReply("ERR You can't specify both OPTIN mode and OPTOUT mode")
PREFIX_NEEDS_BCAST: Final = ErrorReply("ERR PREFIX option requires BCAST mode to be enabled")
CACHING_NEEDS_MODE: Final = ErrorReply(
    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
    "OPTOUT mode enabled"
)
CACHING_YES_NEEDS_OPTIN: Final = ErrorReply(
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
)
CACHING_NO_NEEDS_OPTOUT: Final = ErrorReply(
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
)


@dataclass(slots=True)
class TrackingMode:
    """One connection's CLIENT TRACKING settings (None on a connection that never turned it on)."""

    bcast: bool = False
    optin: bool = False
    optout: bool = False
    noloop: bool = False
    redirect: int = 0  # a client id; 0: none
    prefixes: list[bytes] = field(default_factory=list)
    caching: bool | None = None  # CLIENT CACHING yes/no, for the next command only
    broken_redirect: bool = False
    caching_fresh: bool = False  # CLIENT CACHING just ran: its answer is for the next command

    def next_command(self) -> None:
        """A command starts (outside MULTI; not again after a wait): CLIENT CACHING's answer
        lasts for one command."""
        if self.caching_fresh:
            self.caching_fresh = False
        else:
            self.caching = None

    def remembers(self) -> bool:
        """Whether the command running now has its keys remembered (default mode only)."""
        if self.bcast:
            return False
        if self.optin:
            return self.caching is True
        if self.optout:
            return self.caching is not False
        return True


class Tracking:
    """This node's tracking table (default mode) and broadcast prefixes (BCAST mode)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.keys: dict[bytes, set[int]] = {}  # key -> ids of the clients that read it
        self.prefixes: dict[bytes, set[int]] = {}  # BCAST prefix -> ids of its clients
        self.origins: dict[int, int] = {}  # log index -> id of the NOLOOP client proposing it
        self.clients = 0  # connections with tracking on: 0 keeps apply's cost at one test

    # -- reads --------------------------------------------------------------------------------

    def remember(self, conn: ClientConnection, argv: list[bytes]) -> None:
        """After `conn` ran a read its mode wanted remembered (decided when it started). A
        read-only script (EVAL_RO, FCALL_RO) counts only if it called a read-only command, and
        then for all its declared keys, as Redis's `call()` does."""
        if conn.tracking is None:
            return
        spec = lookup(argv[0])
        if spec is None or not spec.flags & F_READONLY:
            return
        if spec.name in _SCRIPT_READS:
            keys = scripts.keys_and_args(argv)[0] if scripts.take_read_called() else []
        else:
            keys = get_keys(spec, argv)
        for key in keys:
            self.keys.setdefault(key, set()).add(conn.id)

    def script_keys(self, argv: list[bytes]) -> list[bytes] | None:
        """EVAL, EVALSHA, FCALL: the declared keys, remembered after apply if the script called
        a read-only command (`KeyspaceWriter.script_reads`); None for any other write."""
        if argv[0].lower() not in _SCRIPT_WRITES:
            return None
        return scripts.keys_and_args(argv)[0] or None

    def keys_read(self, commands: list[list[bytes]]) -> list[bytes]:
        """The keys the read-only commands among `commands` (a transaction's) read."""
        keys: list[bytes] = []
        for argv in commands:
            spec = lookup(argv[0])
            if spec is not None and spec.flags & F_READONLY:
                keys.extend(get_keys(spec, argv))
        return keys

    def after_transaction(
        self,
        conn: ClientConnection,
        keys: list[bytes],
        applied: StateMachine | None,
        own_index: int = 0,
    ) -> list[Reply]:
        """A transaction's reads, once EXEC's reply is decided, as Redis remembers a tracking
        client's reads inside EXEC; returns the invalidation pushes to write right after that
        reply (Redis sends a transaction's own invalidations then, before any later reply).

        `applied`: the state machine whose last batch held the EXEC (this node applied it just
        now). A key that batch also changed, expired or flushed may have changed after the
        EXEC read it, and the batch's invalidations went out before this, so it is
        invalidated now instead of remembered. None: the reply came from the leader and this
        node may not have applied the EXEC yet, so its apply order cannot tell which later
        change to report: every key is invalidated now (the client reads it again, tracked,
        if it wants it cached)."""
        if conn.tracking is None or not keys:
            return []
        if applied is None or applied.last_flushed:
            changed: dict[bytes, int] | None = None
        else:
            changed = {key: index for (_slot, key), index in applied.last_touched.items()}
            changed.update((key, -1) for _slot, key in applied.last_expired)
        noloop = conn.tracking.noloop and own_index > 0
        pushes: list[Reply] = []
        for key in dict.fromkeys(keys):
            if noloop and changed is not None and changed.get(key) == own_index:
                continue  # NOLOOP: the EXEC changed it last itself; Redis forgets it unsaid
            if changed is not None and key not in changed:
                self.keys.setdefault(key, set()).add(conn.id)
            elif conn.tracking.redirect or conn.protocol < 3:
                self._send(conn.id, [key])  # another connection's, or nothing in RESP2
            else:
                pushes.append(Push([INVALIDATE, [key]]))
        return pushes

    # -- changes ------------------------------------------------------------------------------

    def note_origins(self, completions: list[Completion], client_id: int) -> None:
        """A NOLOOP client proposed these entries: its own changes are not news to it."""
        for completion in completions:
            self.origins[completion.index] = client_id

    def invalidate(
        self,
        touched: dict[tuple[int, bytes], int],
        expired: list[tuple[int, bytes]],
        flushed: bool,
        applied: int = 0,
    ) -> None:
        """After a batch up to log index `applied` was applied: tell the clients that cached
        what it changed or expired."""
        origins = self.origins
        by: dict[bytes, int] = {}  # key -> the NOLOOP client that changed it last
        if origins:
            for (_slot, key), index in touched.items():
                origin = origins.get(index)
                if origin is not None:
                    by[key] = origin
            self.origins = {i: c for i, c in origins.items() if i > applied}
        if flushed:
            self._invalidate_all()
        changed = [*touched, *expired] if expired else list(touched)
        if not changed:
            return
        keys = self.keys
        clients = self.server.clients
        for _slot, key in changed:  # one message per key, as `trackingInvalidateKey` sends
            ids = keys.pop(key, None)
            if ids:
                for cid in ids:
                    # A client that switched to BCAST since it read the key (tracking off, then
                    # on with BCAST) hears of it through its prefixes only, as in Redis.
                    conn = clients.get(cid)
                    if conn is None or conn.tracking is None or conn.tracking.bcast:
                        continue
                    if not (conn.tracking.noloop and by.get(key) == cid):
                        self._send(cid, [key])
        for prefix in sorted(self.prefixes):  # BCAST: one per prefix, in Redis's rax order
            matching = [key for _slot, key in changed if key.startswith(prefix)]
            if matching:
                for cid in self.prefixes[prefix]:
                    conn = clients.get(cid)
                    if (
                        by
                        and conn is not None
                        and conn.tracking is not None
                        and conn.tracking.noloop
                    ):
                        by_others = [key for key in matching if by.get(key) != cid]
                        if by_others:
                            self._send(cid, by_others)
                    else:
                        self._send(cid, matching)

    def _invalidate_all(self) -> None:
        """FLUSHALL, FLUSHDB, SWAPDB: every tracking client drops everything it cached."""
        self.keys.clear()
        for conn in list(self.server.clients.values()):
            if conn.tracking is not None:
                self._send(conn.id, None)

    def _send(self, cid: int, keys: list[bytes] | None) -> None:
        """Redis's `sendTrackingMessage`: to the client, or to the client it redirects to."""
        conn = self.server.clients.get(cid)
        if conn is None or conn.tracking is None:
            return
        payload: Reply = None if keys is None else list(keys)  # RESP2 null bulk, as Redis
        mode = conn.tracking
        target = conn
        if mode.redirect:
            redirected = self.server.clients.get(mode.redirect)
            if redirected is None:
                if not mode.broken_redirect:
                    mode.broken_redirect = True
                    if conn.protocol > 2:
                        conn.deliver(Push([b"tracking-redir-broken", mode.redirect]))
                return
            target = redirected
        if target.protocol > 2:
            target.deliver(Push([INVALIDATE, payload]))
        elif mode.redirect and _subscribed(target):
            target.deliver(Push([b"message", CHANNEL, payload]))

    # -- connections --------------------------------------------------------------------------

    def start(self, conn: ClientConnection, mode: TrackingMode) -> None:
        """CLIENT TRACKING ON (`enableTracking`): a client already tracking keeps its BCAST
        prefixes and adds the new ones; its other options are replaced."""
        old = conn.tracking
        if old is None:
            self.clients += 1
        else:
            mode.prefixes = old.prefixes + mode.prefixes
        conn.tracking = mode
        for prefix in mode.prefixes or ([b""] if mode.bcast else []):
            self.prefixes.setdefault(prefix, set()).add(conn.id)

    def stop(self, conn: ClientConnection) -> None:
        """CLIENT TRACKING OFF, RESET, or the connection closed (`disableTracking`)."""
        mode = conn.tracking
        if mode is None:
            return
        self.clients -= 1
        conn.tracking = None
        if not self.clients:
            self.origins.clear()  # nobody left to invalidate: nothing to keep for NOLOOP
        for prefix in mode.prefixes or ([b""] if mode.bcast else []):
            ids = self.prefixes.get(prefix)
            if ids is not None:
                ids.discard(conn.id)
                if not ids:
                    del self.prefixes[prefix]


def _subscribed(conn: ClientConnection) -> bool:
    subs = conn.subscriptions
    return subs is not None and CHANNEL in subs.by_family[CHANNELS]


# -- CLIENT subcommands ----------------------------------------------------------------------

SWITCH_BCAST: Final = ErrorReply(
    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and "
    "then re-enabling it with a different mode."
)
SWITCH_OPT: Final = ErrorReply(
    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and "
    "then re-enabling it with a different mode."
)


def _parse_options(
    server: Server, conn: ClientConnection, argv: list[bytes]
) -> TrackingMode | ErrorReply:
    """CLIENT TRACKING's options (Redis reads them all before looking at ON/OFF)."""
    mode = TrackingMode()
    j = 3
    while j < len(argv):
        word = argv[j].lower()
        more = j + 1 < len(argv)
        if word == b"redirect" and more:
            j += 1
            target = parse_int(argv[j])
            if target is None:
                return E.NOT_INTEGER
            if target != conn.id and target not in server.clients:
                return REDIRECT_MISSING
            mode.redirect = target
        elif word in (b"bcast", b"optin", b"optout", b"noloop"):
            setattr(mode, word.decode(), True)
        elif word == b"prefix" and more:
            j += 1
            mode.prefixes.append(argv[j])
        else:
            return E.SYNTAX
        j += 1
    return mode


def _check_on(old: TrackingMode | None, new: TrackingMode) -> ErrorReply | None:
    """The checks of `clientCommand` before `enableTracking`, in Redis's order."""
    if new.prefixes and not new.bcast:
        return PREFIX_NEEDS_BCAST
    if old is not None and old.bcast != new.bcast:
        return SWITCH_BCAST
    if new.bcast and (new.optin or new.optout):
        return OPTIN_OPTOUT_BCAST
    if new.optin and new.optout:
        return OPTIN_AND_OPTOUT
    if old is not None and ((new.optin and old.optout) or (new.optout and old.optin)):
        return SWITCH_OPT
    if new.bcast:
        return _check_prefixes(old.prefixes if old is not None else [], new.prefixes)
    return None


def _check_prefixes(existing: list[bytes], given: list[bytes]) -> ErrorReply | None:
    """`checkPrefixCollisionsOrReply`: no prefix may start another of the same client's."""
    for p in given:
        for q in existing:
            if p.startswith(q) or q.startswith(p):
                return _overlap(p, "an existing", q)
    for i, p in enumerate(given):
        for q in given[i + 1 :]:
            if p.startswith(q) or q.startswith(p):
                return _overlap(p, "another provided", q)
    return None


def _overlap(p: bytes, kind: str, q: bytes) -> ErrorReply:
    return ErrorReply(
        f"ERR Prefix '{p.decode(errors='replace')}' overlaps with {kind} prefix "
        f"'{q.decode(errors='replace')}'. Prefixes for a single client must not overlap."
    )


def client_tracking(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    server = admin.server
    mode = _parse_options(server, conn, argv)
    if isinstance(mode, ErrorReply):
        return mode
    switch = argv[2].lower()
    if switch == b"off":
        server.tracking.stop(conn)
        return OK
    if switch != b"on":
        return E.SYNTAX
    error = _check_on(conn.tracking, mode)
    if error is not None:
        return error
    server.tracking.start(conn, mode)
    return OK


def client_caching(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    mode = conn.tracking
    if mode is None or not (mode.optin or mode.optout):
        return CACHING_NEEDS_MODE
    answer = argv[2].lower()
    if answer == b"yes":
        if not mode.optin:
            return CACHING_YES_NEEDS_OPTIN
        mode.caching = True
    elif answer == b"no":
        if not mode.optout:
            return CACHING_NO_NEEDS_OPTOUT
        mode.caching = False
    else:
        return E.SYNTAX
    mode.caching_fresh = True  # for the next command only (`TrackingMode.next_command`)
    return OK


def client_getredir(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    mode = conn.tracking
    if mode is None:
        return -1
    return mode.redirect


def client_trackinginfo(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    mode = conn.tracking
    if mode is None:
        flags: list[Reply] = [b"off"]
        redirect = -1
        prefixes: list[Reply] = []
    else:
        flags = [b"on"]
        for on, name in (
            (mode.bcast, b"bcast"), (mode.optin, b"optin"), (mode.optout, b"optout"),
            (mode.caching is True, b"caching-yes"), (mode.caching is False, b"caching-no"),
            (mode.noloop, b"noloop"), (mode.broken_redirect, b"broken_redirect"),
        ):  # fmt: skip
            if on:
                flags.append(name)
        redirect = mode.redirect
        prefixes = [*sorted(mode.prefixes)]  # Redis keeps them in a radix tree
    return Map([(b"flags", Set(flags)), (b"redirect", redirect), (b"prefixes", prefixes)])


CLIENT_HANDLERS = {
    b"tracking": client_tracking,
    b"caching": client_caching,
    b"getredir": client_getredir,
    b"trackinginfo": client_trackinginfo,
}
