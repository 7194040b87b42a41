"""ACL SETUSER and ACL DELUSER through the log: users are replicated state (docs/acl.md).

`prepare_acl` runs on the node that received the command, before proposing: it refuses what
can be refused without the state (unknown subcommand, arity, a bad user name, a rule that is
wrong on any user, deleting `default`), so such commands never reach the log, and it turns
`>password` into `#<sha256>` so no clear-text password is written to the Raft log. A rule whose
validity depends on the user (`<password` of a password the user lacks, a pattern after `~*`)
is checked again in `apply_acl`, on every replica, against the replicated record: the entry
then changes nothing and answers Redis's error.

Apply writes the new description under `\\xffacl:<name>` and records the name in
`KeyspaceWriter.acl_changed`; the server then reloads those users (`users.py`).
"""

from __future__ import annotations

from typing import Final

from seshat.acl.rules import (
    NO_SUCH_PASSWORD,
    MergeError,
    SetUserError,
    User,
    default_user,
    parse_stored,
    password_hash,
    set_user,
)
from seshat.acl.users import user_key
from seshat.kv import errors as E
from seshat.kv.keyspace import KeyspaceWriter
from seshat.protocol.replies import OK, ErrorReply, Reply

BAD_USERNAME: Final = ErrorReply("ERR Usernames can't contain spaces or null characters")
DEFAULT_NOT_REMOVABLE: Final = ErrorReply("ERR The 'default' user cannot be removed")
NOT_IN_TRANSACTION: Final = ErrorReply("ERR this command is not allowed inside a transaction")
_SPACES: Final = frozenset(b" \t\n\v\f\r\x00")


def set_user_error(error: SetUserError | MergeError) -> ErrorReply:
    if isinstance(error, MergeError):
        start = error.start.decode(errors="replace")
        return ErrorReply(f"ERR Unmatched parenthesis in acl selector starting at '{start}'.")
    op = error.op.decode(errors="replace")
    return ErrorReply(f"ERR Error in ACL SETUSER modifier '{op}': {error.reason}")


def prepare_acl(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    from seshat.kv.commands import lookup_subcommand

    spec = lookup_subcommand(b"acl", argv[1])
    if spec is None:
        return E.unknown_subcommand(argv[1], "ACL")
    if not spec.arity_ok(len(argv)):
        return E.wrong_arity(spec.name)
    sub = argv[1].lower()
    if sub == b"deluser":
        if b"default" in argv[2:]:
            return DEFAULT_NOT_REMOVABLE
        return argv
    if sub != b"setuser":
        return argv  # a connection subcommand queued in MULTI: apply refuses it
    if any(c in _SPACES for c in argv[2]):
        return BAD_USERNAME
    try:
        set_user(None, argv[2], argv[3:])
    except MergeError as error:
        return set_user_error(error)
    except SetUserError as error:
        if error.reason != NO_SUCH_PASSWORD:
            return set_user_error(error)
    return argv[:3] + [b"#" + password_hash(r[1:]) if r[:1] == b">" else r for r in argv[3:]]


def apply_acl(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    sub = argv[1].lower()
    if sub == b"setuser":
        name = argv[2]
        if any(c in _SPACES for c in name):
            return BAD_USERNAME
        base = stored_user(w, name)
        try:
            user = set_user(base, name, argv[3:])
        except (MergeError, SetUserError) as error:
            return set_user_error(error)
        w.sub_put(user_key(name), user.describe(stored=True))
        w.acl_changed.append(name)
        return OK
    if sub == b"deluser":
        if b"default" in argv[2:]:
            return DEFAULT_NOT_REMOVABLE
        deleted = 0
        for name in argv[2:]:
            if w.sub_get(user_key(name)) is not None:
                w.sub_delete(user_key(name))
                w.acl_changed.append(name)
                deleted += 1
        return deleted
    return NOT_IN_TRANSACTION


def stored_user(w: KeyspaceWriter, name: bytes) -> User | None:
    """The replicated record as apply sees it (`default` is built in until written)."""
    data = w.sub_get(user_key(name))
    if data is not None:
        return parse_stored(name, data)
    return default_user() if name == b"default" else None
