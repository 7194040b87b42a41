"""A node's users: the replicated records, read into memory, plus this node's requirepass.

Users are replicated state. Each is stored in `kv_data` under `\\xffacl:<name>` as its rule
description (`User.describe()`), beyond every database like the script cache and function
libraries, so FLUSHALL keeps them and snapshots, restarts and the replica checksum carry them.
`ACL SETUSER`/`DELUSER` write those records inside apply (`replicated.py`); apply reports the
names it changed (`KeyspaceWriter.acl_changed`), and the server then calls `reload` here, which
re-reads those records and moves this node's connections over to the new users (or closes the
connections of a deleted user). A snapshot install or a restart reads them all (`load`).

The `default` user is `on nopass ~* &* +@all` until a record says otherwise. `requirepass`
(the flag, or CONFIG SET) is this node's own override of the default user's password, as in
Redis where it is shorthand for `ACL SETUSER default resetpass >pass`: when set, the default
user has exactly that password here; when empty, the replicated record decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, Protocol

from seshat.acl.rules import User, default_user, parse_stored, password_hash
from seshat.kv import layout as L

USER_PREFIX: Final = L.KV_DATA_END + b"acl:"  # + user name -> User.describe()
USER_END: Final = L.KV_DATA_END + b"acl;"


def user_key(name: bytes) -> bytes:
    return USER_PREFIX + name


class _Store(Protocol):
    def iterate_kv(self, start: bytes, end: bytes) -> Iterable[tuple[bytes, bytes]]: ...


class UserTable:
    """Name -> User for this node; see the module docstring."""

    __slots__ = ("_requirepass", "_stored", "users")

    def __init__(self, requirepass: Callable[[], str]) -> None:
        self._requirepass = requirepass
        self._stored: dict[bytes, User] = {}  # the replicated records, parsed
        self.users: dict[bytes, User] = {}  # what AUTH and the checks use

    def load(self, store: _Store) -> None:
        """Every record (start-up, snapshot install)."""
        self._stored = {
            key[len(USER_PREFIX) :]: parse_stored(key[len(USER_PREFIX) :], value)
            for key, value in store.iterate_kv(USER_PREFIX, USER_END)
        }
        self.refresh()

    def reload(self, store: _Store, names: Iterable[bytes]) -> None:
        """The records apply changed (`names`); absent now means deleted."""
        found = {
            key[len(USER_PREFIX) :]: value for key, value in store.iterate_kv(USER_PREFIX, USER_END)
        }
        for name in names:
            value = found.get(name)
            if value is None:
                self._stored.pop(name, None)
            else:
                self._stored[name] = parse_stored(name, value)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild `users` from the records and the current requirepass."""
        users = dict(self._stored)
        default = users.get(b"default") or default_user()
        password = self._requirepass()
        if password:
            default = default.copy()
            default.nopass = False
            default.passwords = [password_hash(password.encode())]
            default.finish()
        users[b"default"] = default
        self.users = users

    def get(self, name: bytes) -> User | None:
        return self.users.get(name)

    def stored(self, name: bytes) -> User | None:
        """The replicated record alone (what ACL SETUSER changes), without requirepass."""
        if name == b"default":
            return self._stored.get(name) or default_user()
        return self._stored.get(name)

    def default_needs_auth(self) -> bool:
        """Whether a new connection must AUTH first (Redis's `authRequired`)."""
        default = self.users[b"default"]
        return not default.nopass or not default.enabled

    def names(self) -> list[bytes]:
        return sorted(self.users)
