"""Who runs the script being applied or read, when that user is a restricted ACL user.

ACL checks every `redis.call` of a script against the user who ran it (Redis 7.0's
`scriptVerifyACL`). Scripts run inside apply on every replica, so the user travels in the log
entry: a restricted user's EVAL, EVALSHA and FCALL entries carry the user's name as an extra
field (`operation.encode_command_as`; an unrestricted user's entries are unchanged), and apply
sets `running` around the command. The check itself reads the replicated user record, so every
replica decides the same. A read-only script (EVAL_RO ...) runs on this node, for the session's
user. The checker lives in `seshat/acl/script.py` (kv does not import acl: it is installed).

Apply and reads run on the event loop's thread, one at a time, so one module-level slot holds
the name for the duration of one command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from seshat.protocol.replies import ErrorReply

if TYPE_CHECKING:
    from seshat.kv.keyspace import KeyspaceView

SCRIPT_WRITES: Final = frozenset({b"eval", b"evalsha", b"fcall"})
# A follower relays a restricted user's script write as [SCRIPT_AS_FORWARD, user, *argv], so
# the leader builds the entry with the user (as `EXEC_FORWARD` marks a relayed EXEC). A
# client cannot send it: the NUL byte names no command.
SCRIPT_AS_FORWARD: Final = b"\x00as"
SCRIPT_READS: Final = frozenset({b"eval_ro", b"evalsha_ro", b"fcall_ro"})

Checker = Callable[["KeyspaceView", bytes, list[bytes]], "ErrorReply | None"]

_running: bytes | None = None
_checker: Checker | None = None


def install(checker: Checker) -> None:
    global _checker
    _checker = checker


def running() -> bytes | None:
    return _running


def set_running(user: bytes | None) -> None:
    global _running
    _running = user


def check(view: KeyspaceView, user: bytes, argv: list[bytes]) -> ErrorReply | None:
    """The error `redis.call(argv)` answers for `user`, or None when it may run."""
    if _checker is None:  # ACL not wired (a bare state machine in tests): deny, never allow
        return ErrorReply("ERR The user executing the script can't run this command or subcommand")
    return _checker(view, user, argv)
