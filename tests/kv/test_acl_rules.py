"""ACL below the server: rules survive the stored form, and a script entry's user is applied
the same way on every replica.

- Any accepted rule list gives a user whose stored description (what the replicated state
  keeps) parses back to the same user: same ACL LIST text, same allowed commands, patterns
  and channels. A lossy stored form would change users on restart or snapshot install.
- A restricted user's EVAL entry (with the user's name as fifth field) applied by two state
  machines gives the same replies and the same checksum, the refused call answers Redis's
  text, and the entry decodes to the plain command for everything else that reads the log.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.acl import script
from seshat.acl.log import AclLog
from seshat.acl.rules import MergeError, SetUserError, User, parse_stored, set_user
from seshat.kv.operation import CommandOp, decode, encode_command, encode_command_as
from seshat.kv.state_machine import StateMachine
from seshat.protocol.replies import OK, ErrorReply
from seshat.storage.engine import Engine

RULE = st.sampled_from(
    [
        b"on", b"off", b"nopass", b"resetpass", b">a", b">b", b"<a", b"#" + b"c" * 64,
        b"~k*", b"~*", b"%R~r*", b"%W~w*", b"%RW~*", b"allkeys", b"resetkeys", b"&ch*", b"&*",
        b"allchannels", b"resetchannels", b"+get", b"-get", b"+@all", b"-@all", b"+@string",
        b"-@string", b"+@hash", b"-@write", b"+config|get", b"-config", b"+config",
        b"+select|0", b"+client|id", b"-client", b"allcommands", b"nocommands", b"reset",
        b"(+get ~x*)", b"(+@read %R~y*)", b"clearselectors", b"sanitize-payload",
        b"skip-sanitize-payload",
    ]
)  # fmt: skip


def _same(a: User, b: User) -> None:
    assert a.describe() == b.describe()
    assert a.describe(stored=True) == b.describe(stored=True)
    assert a.unrestricted == b.unrestricted
    for sa, sb in zip(a.selectors, b.selectors, strict=True):
        assert sa.allowed == sb.allowed
        assert sa.patterns == sb.patterns and sa.all_keys == sb.all_keys
        assert sa.channels == sb.channels and sa.all_channels == sb.all_channels
        assert {k: [x.lower() for x in v] for k, v in sa.first_args.items()} == {
            k: [x.lower() for x in v] for k, v in sb.first_args.items()
        }


@settings(max_examples=300, deadline=None)
@given(st.lists(RULE, max_size=12))
def test_stored_description_parses_back_to_the_same_user(rules: list[bytes]) -> None:
    try:
        user = set_user(None, b"u", rules)
    except (SetUserError, MergeError):
        return
    again = parse_stored(b"u", user.describe(stored=True))
    _same(user, again)


def test_set_user_is_all_or_nothing() -> None:
    base = set_user(None, b"u", [b"on", b">a", b"~k*", b"+get"])
    try:
        set_user(base, b"u", [b"+set", b"+nosuch"])
    except SetUserError as error:
        assert error.op == b"+nosuch"
        assert error.reason == "Unknown command or category name in ACL"
    else:
        raise AssertionError("an unknown command was accepted")
    assert b"+set" not in base.describe()


def test_an_entry_names_its_user_only_when_asked() -> None:
    plain = encode_command(1, 0, [b"EVAL", b"return 1", b"0"])
    tagged = encode_command_as(1, 0, [b"EVAL", b"return 1", b"0"], b"k")
    assert tagged != plain and len(tagged) > len(plain)
    assert decode(tagged) == decode(plain) == CommandOp(1, 0, [b"EVAL", b"return 1", b"0"])


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(split=st.integers(min_value=1, max_value=3))
def test_a_restricted_users_script_applies_the_same_everywhere(tmp_path: Path, split: int) -> None:
    script.install(AclLog())
    entries = [
        encode_command(1, 0, [b"ACL", b"SETUSER", b"k", b"on", b"nopass", b"~k*", b"+@all"]),
        encode_command_as(
            2, 0, [b"EVAL", b"redis.call('set','k1','v') return redis.call('get','zz')", b"0"], b"k"
        ),
        encode_command_as(2, 0, [b"EVAL", b"return redis.call('get','k1')", b"0"], b"k"),
        encode_command_as(2, 0, [b"EVAL", b"return redis.call('get','k1')", b"0"], b"gone"),
    ]
    machines = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}{split}"
        engine = Engine.open(os.fspath(path))
        machines.append((engine, StateMachine(engine)))
    replies = []
    for n, (_engine, sm) in enumerate(machines):
        cut = split if n == 0 else len(entries)  # different batching, same result
        batch = list(enumerate(entries, start=1))
        got = sm.apply_batch(batch[:cut]) + sm.apply_batch(batch[cut:])
        replies.append(got)
    assert replies[0] == replies[1]
    assert replies[0][0] == OK
    refused = replies[0][1]
    assert isinstance(refused, ErrorReply)
    assert "can't access at least one of the keys" in refused.message
    assert replies[0][2] == b"v"  # the call before the refused one ran
    assert isinstance(replies[0][3], ErrorReply)  # an unknown user may run nothing
    assert machines[0][1].checksum() == machines[1][1].checksum()
    for engine, _sm in machines:
        engine.close()
