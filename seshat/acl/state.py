"""A node's ACL: its user table, its ACL LOG, and what connects them to its connections.

Each connection holds `user_name` and `acl_user`: None while its user is unrestricted (the
default user as shipped, or any user with `~* &* +@all`), else the `User` the checks read.
Dispatch tests `acl_user is not None` and nothing else for the common case. When apply changes
users, `on_applied` swaps the new `User` into every connection authenticated as one of them,
and closes (after the replies already queued) those whose user was deleted, as Redis's
`ACLFreeUserAndKillClients`, and the subscribers whose user lost one of their channels, as
`ACLKillPubsubClientsIfNeeded`: every node does this for its own connections, on its own apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from seshat.acl import check as C
from seshat.acl import log as LOG
from seshat.acl import script
from seshat.acl.log import AclLog
from seshat.acl.rules import User
from seshat.acl.users import UserTable, _Store
from seshat.kv.glob import match
from seshat.protocol.replies import ErrorReply
from seshat.pubsub import CHANNELS, PATTERNS, SHARD_CHANNELS

if TYPE_CHECKING:
    from seshat.client import ClientConnection
    from seshat.server import Server


class NodeAcl:
    __slots__ = ("log", "server", "table")

    def __init__(self, server: Server, requirepass: Callable[[], str]) -> None:
        self.server = server
        self.table = UserTable(requirepass)
        self.table.refresh()
        self.log = AclLog()
        script.install(self.log)  # redis.call checks for restricted users' scripts

    def requirepass_changed(self) -> None:
        """CONFIG SET requirepass: the default user as this node sees it changes now."""
        self.table.refresh()

    def user(self, name: bytes) -> User | None:
        return self.table.get(name)

    def default_needs_auth(self) -> bool:
        return self.table.default_needs_auth()

    def default_nopass(self) -> bool:
        """AUTH <password> is refused as "called without any password configured" when the
        default user is `nopass` (Redis tests that flag alone)."""
        return self.table.users[b"default"].nopass

    @staticmethod
    def restriction(user: User | None) -> User | None:
        """What a connection stores in `acl_user`: None when there is nothing to check."""
        return None if user is None or user.unrestricted else user

    def default_restriction(self) -> User | None:
        return self.restriction(self.table.get(b"default"))

    # -- authentication ----------------------------------------------------------------------

    def authenticate(
        self, conn: ClientConnection, name: bytes, password: bytes, command: bytes
    ) -> bool:
        """AUTH and HELLO ... AUTH: on success the connection becomes `name`'s; on failure an
        ACL LOG entry (reason auth), as Redis's `ACLAuthenticateUser`."""
        user = self.user(name)
        if user is None or not user.check_password(password):
            context = LOG.MULTI if conn.in_multi_exec else LOG.TOPLEVEL
            self.log.add(b"auth", context, command, name, self._client_info(conn, command))
            return False
        self.bind(conn, name, user)
        conn.set_authenticated()
        return True

    def bind(self, conn: ClientConnection, name: bytes, user: User | None) -> None:
        """Make `conn` `name`'s: what dispatch checks, and what its scripts' entries carry."""
        conn.user_name = name
        conn.acl_user = self.restriction(user)
        conn.session.script_user = None if conn.acl_user is None else name

    # -- dispatch ----------------------------------------------------------------------------

    def refuse(
        self, conn: ClientConnection, argv: list[bytes], in_multi: bool
    ) -> ErrorReply | None:
        """The NOPERM error for a command `conn`'s (restricted) user may not run, logged;
        None if it may (or if it fails anyway before ACL: unknown, wrong arity)."""
        user = conn.acl_user
        assert user is not None
        denial = C.check(user, argv)
        if denial is None:
            return None
        context = LOG.MULTI if in_multi else LOG.TOPLEVEL
        self.log_denial(conn, denial, argv, context, user.name)
        return denial.noperm()

    def log_denial(
        self, conn: ClientConnection, denial: C.Denial, argv: list[bytes], context: int,
        username: bytes,
    ) -> None:  # fmt: skip
        reason = C.REASON_NAMES[denial.reason]
        self.log.add(reason, context, denial.object(argv), username,
                     self._client_info(conn, argv[0]))  # fmt: skip

    def _client_info(self, conn: ClientConnection, command: bytes) -> bytes:
        spec_name = command.lower()
        line: str = self.server.admin._client_line(conn, conn, spec_name.decode(errors="replace"))
        return line.rstrip("\n").encode()

    # -- replicated changes ------------------------------------------------------------------

    def load(self, store: _Store) -> None:
        """Start-up and snapshot install: every user from the records."""
        self.table.load(store)
        self._rebind(None)

    def on_applied(self, store: _Store, names: Iterable[bytes]) -> None:
        changed = set(names)
        self.table.reload(store, changed)
        self._rebind(changed)

    def _rebind(self, names: set[bytes] | None) -> None:
        for conn in list(self.server.clients.values()):
            if names is not None and conn.user_name not in names:
                continue
            user = self.table.get(conn.user_name)
            if user is None or (conn.subscriptions is not None and _loses_channels(conn, user)):
                conn.close_soon()
            else:
                self.bind(conn, conn.user_name, user)


def _loses_channels(conn: ClientConnection, user: User) -> bool:
    """Redis 7.0's `ACLKillPubsubClientsIfNeeded`: a subscriber whose user no longer allows
    one of its channels or patterns (patterns compared literally) is disconnected."""
    if any(s.all_channels for s in user.selectors):
        return False
    allowed = [c for s in user.selectors for c in s.channels]
    subs = conn.subscriptions
    assert subs is not None
    for pattern in subs.by_family[PATTERNS]:
        if pattern not in allowed:
            return True
    for family in (CHANNELS, SHARD_CHANNELS):
        for channel in subs.by_family[family]:
            if not any(match(p, channel) for p in allowed):
                return True
    return False
