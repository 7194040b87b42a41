"""`redis.call` inside a restricted user's script: Redis 7.0's `scriptVerifyACL`.

Installed into `seshat/kv/script_user.py` when the server starts (kv does not import acl),
with the node's ACL LOG, which a refused call goes to directly.
The user is read from the replicated record through the script's own view, so every replica
decides the same: a user deleted before the entry applied has no permissions at all. Parsed
users are cached by their record's bytes (a pure function of them). A refused call goes to
the ACL LOG with context `lua`, on every node that ran the script (each replica runs it), with
an empty client-info: apply does not know which client, on which node, sent the script.
"""

from __future__ import annotations

import functools
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from seshat.acl import check as C
from seshat.acl.log import LUA, AclLog
from seshat.acl.rules import User, default_user, parse_stored
from seshat.acl.users import user_key
from seshat.kv import script_user
from seshat.protocol.replies import ErrorReply

if TYPE_CHECKING:
    from seshat.kv.keyspace import KeyspaceView

PARSED_USERS_MAX: Final = 64  # distinct (user, record) pairs kept parsed


@lru_cache(maxsize=PARSED_USERS_MAX)
def _parsed(name: bytes, record: bytes) -> User:
    return parse_stored(name, record)


def _user(view: KeyspaceView, name: bytes) -> User | None:
    record = view.sub_get(user_key(name))
    if record is not None:
        return _parsed(name, record)
    return default_user() if name == b"default" else None


def check_call(
    log: AclLog, view: KeyspaceView, name: bytes, argv: list[bytes]
) -> ErrorReply | None:
    user = _user(view, name)
    if user is None:
        return ErrorReply("ERR " + C.SCRIPT_CMD)
    denial = C.check(user, argv)
    if denial is None:
        return None
    log.add(C.REASON_NAMES[denial.reason], LUA, denial.object(argv), name, b"")
    return ErrorReply("ERR " + C.script_error(denial))


def install(log: AclLog) -> None:
    """Check restricted users' `redis.call`s from now on, logging refusals in `log`."""
    script_user.install(functools.partial(check_call, log))
