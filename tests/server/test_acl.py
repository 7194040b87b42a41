"""ACL on a real Seshat node, compared with a real redis-server 7.0.15 (docs/acl.md).

The same command sequences go to both servers, in RESP2 and RESP3, and the replies must match
byte for byte: ACL SETUSER rules and their errors, ACL LIST and GETUSER, CAT, DRYRUN, HELP and
the other subcommands, AUTH and HELLO as any user, NOPERM for commands, keys and channels,
MULTI, and ACL LOG entries (apart from their clock and the client-info line, whose ids and
addresses differ; its `user=` and `cmd=` fields are compared).

Two things are normalised before comparing, because Redis's own answer changes from one
redis-server process to the next: the order of the single-command rules after the categories
in a description (Redis walks its command dict, in hash order), and the order of ACL CAT's
commands (the same dict).

Then what only Seshat can show: a refused or unauthenticated command never reaches the Raft
log, and redis-py (RESP3 by default) logs in with `username=`/`password=`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis

from tests.server.test_admin_commands import decoded
from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import Pair, WireClient, encode_command

PROTOCOLS = [2, 3]
USERS = [b"alice", b"bob", b"k", b"t", b"x", b"y", b"z", b"sel", b"gone"]

_BULK = re.compile(rb"\$(\d+)\r\n")


def _sort_single_rules(text: bytes) -> bytes:
    """Sort each run of single-command rules (`+get -set +select|0`) in a description."""
    tokens = text.split(b" ")
    out: list[bytes] = []
    run: list[bytes] = []
    closing = b""

    def flush() -> None:
        nonlocal closing
        if run:
            run.sort()
            run[-1] += closing
            out.extend(run)
            run.clear()
        closing = b""

    for token in tokens:
        core = token.rstrip(b")")
        if core[:1] in (b"+", b"-") and core[1:2] != b"@" and core not in (b"+", b"-"):
            run.append(core)
            if core != token:
                closing = token[len(core) :]
                flush()
            continue
        flush()
        out.append(token)
    flush()
    return b" ".join(out)


def normalise(raw: bytes) -> bytes:
    """Bulk strings holding command rules get their single-command runs sorted (same length)."""
    out = bytearray()
    pos = 0
    for m in _BULK.finditer(raw):
        if m.start() < pos:
            continue
        n = int(m.group(1))
        start = m.end()
        body = raw[start : start + n]
        out += raw[pos:start]
        out += _sort_single_rules(body) if b"@all" in body else body
        pos = start + n
    out += raw[pos:]
    return bytes(out)


def _cleanup(port: int) -> None:
    c = WireClient(port)
    c.call([b"AUTH", b"default", b"pw-default"])  # in case a test set requirepass
    c.call([b"CONFIG", b"SET", b"requirepass", b""])
    c.call([b"ACL", b"DELUSER", *USERS])
    c.call([b"ACL", b"SETUSER", b"default", b"reset", b"on", b"nopass", b"~*", b"&*", b"+@all"])
    c.call([b"ACL", b"LOG", b"RESET"])
    c.close()


@pytest.fixture
def servers(redis_port: int, seshat_port: int) -> Iterator[tuple[int, int]]:  # noqa: F811
    _cleanup(redis_port)
    _cleanup(seshat_port)
    yield redis_port, seshat_port
    _cleanup(redis_port)
    _cleanup(seshat_port)


@pytest.fixture(params=PROTOCOLS, ids=["resp2", "resp3"])
def pair(request: pytest.FixtureRequest, servers: tuple[int, int]) -> Iterator[Pair]:
    p = Pair(*servers, request.param, normalise=normalise)
    yield p
    p.close()


# ---- rules, descriptions, errors ----------------------------------------------------------------

RULES_SESSION = [
    "ACL SETUSER alice",
    "ACL LIST",
    "ACL GETUSER alice",
    "ACL SETUSER bob on >p1 ~k* %R~r* %W~w* &ch* +get +config|get -@all +@string -set +select|0 "
    + "%RW~*",
    "ACL LIST",
    "ACL GETUSER bob",
    "ACL USERS",
    "ACL SETUSER bob -@all +@hash <p1 #" + "a" * 64 + " !" + "a" * 64 + " >p2 >p3 >p2",
    "ACL GETUSER bob",
    "ACL SETUSER x foo",
    "ACL SETUSER x #abc",
    "ACL SETUSER x #" + "A" * 64,
    "ACL SETUSER x <nope",
    "ACL SETUSER x !" + "b" * 64,
    "ACL SETUSER x +nosuch",
    "ACL SETUSER x -nosuch",
    "ACL SETUSER x +@nosuch",
    "ACL SETUSER x +config|get|x",
    "ACL SETUSER x +get|",
    "ACL SETUSER x +config|nosuch",
    "ACL SETUSER x -select|0",
    "ACL SETUSER x (+get",
    "ACL SETUSER x ~* ~a",
    "ACL SETUSER x &* &a",
    "ACL SETUSER x allkeys %R~a",
    "ACL SETUSER y %X~a",
    "ACL SETUSER y %~a",
    "ACL SETUSER y %R",
    "ACL SETUSER y on nopass (+get ~x %R~y &c*) (+set) (~k*",
    "ACL SETUSER y on nopass (+get ~x %R~y &c*) (+set)",
    "ACL GETUSER y",
    "ACL LIST",
    "ACL SETUSER y clearselectors",
    "ACL LIST",
    "ACL SETUSER z +@all -@all +get +@string -@string +get -get +@hash -@hash",
    "ACL SETUSER z +config +config|get -config|set +client|id -client",
    "ACL GETUSER z",
    "ACL SETUSER z reset skip-sanitize-payload",
    "ACL GETUSER z",
    "ACL SETUSER default resetpass >dpw",
    "ACL GETUSER default",
    "ACL SETUSER default nopass",
    "ACL LIST",
    "ACL DELUSER default",
    "ACL DELUSER nope alice alice",
    "ACL GETUSER nope",
    "ACL USERS",
]


def test_rules_list_getuser_and_errors(pair: Pair) -> None:
    for line in RULES_SESSION:
        pair.same(line)
    pair.same([b"ACL", b"SETUSER", b"a b"])
    pair.same([b"ACL", b"SETUSER", b"t", b""])


RULE_SEQUENCES = [
    "-get", "+get +get", "+config|get +config", "+config +config|get", "+client|id -client",
    "+client|id +client", "+@all -get +@string", "+get -@string", "+get -@string +get",
    "+@string -get +get", "+select|0 +select", "+select|0 -select", "-select +select|0",
    "+select|0 +select|1 +SELECT|0", "+@string +@string", "+@string -@string", "+@hash -@string",
    "+@all +get", "+@all -@all", "+@all -config|get +config", "+@all -config +config|get",
    "+@all -config|get -config|set", "+get +set -get", "+@string -@hash",
    "+@all -@string -get +get", "+@read", "+@all -@dangerous", "+@all -@admin +config|get",
    "+@pubsub", "+@keyspace +@read", "+@hash +@list +@set", "+@fast", "+@all -@write",
    "+@geo", "+@stream", "+@bitmap", "+@transaction", "+@connection", "+@sortedset",
    "+@hyperloglog", "+@blocking", "allcommands -get", "nocommands +get", "sanitize-payload",
    "skip-sanitize-payload", "%RW~a %R~a", "%R~a %W~a", "~a ~a", "&a &a", "&a &*",
    "allchannels &a", "~a allkeys", "~a resetkeys ~b", ">a >b >a", ">a <a", "nopass >a",
    ">a nopass", ">a resetpass", "on off", "off on", "reset", "%RW~* ~k",
]  # fmt: skip


@pytest.mark.parametrize("rules", RULE_SEQUENCES)
def test_rule_sequences(rules: str, servers: tuple[int, int]) -> None:
    """Each sequence on a fresh user: the same reply and the same ACL LIST line."""
    pair = Pair(*servers, 2, normalise=normalise)
    try:
        pair.same("ACL SETUSER t " + rules)
        pair.same("ACL GETUSER t")
        pair.same("ACL LIST")
    finally:
        pair.close()


MISC = [
    "ACL",
    "ACL FOO",
    "ACL HELP",
    "ACL HELP x",
    "ACL CAT",
    "ACL CAT nope",
    "ACL CAT string x",
    "ACL WHOAMI",
    "ACL WHOAMI x",
    "ACL USERS x",
    "ACL LIST x",
    "ACL GETUSER",
    "ACL SETUSER",
    "ACL DELUSER",
    "ACL DRYRUN default",
    "ACL GENPASS 0",
    "ACL GENPASS 4097",
    "ACL GENPASS x",
    "ACL GENPASS 1 2",
    "ACL SAVE",
    "ACL LOAD",
    "ACL SAVE x",
    "ACL LOG x",
    "ACL LOG -1",
    "ACL LOG 1 2",
    "ACL LOG RESET",
    "ACL LOG",
    "COMMAND GETKEYS acl setuser x",
]


def test_other_subcommands(pair: Pair) -> None:
    for line in MISC:
        pair.same(line)


def _call_each(servers: tuple[int, int], argv: list[bytes]) -> tuple[bytes, bytes]:
    replies = []
    for port in servers:
        client = WireClient(port)
        replies.append(client.call(argv))
        client.close()
    return replies[0], replies[1]


@pytest.mark.parametrize("category", ["geo", "hash", "string", "GEO", "transaction", "bitmap"])
def test_cat_names_the_same_commands(category: str, servers: tuple[int, int]) -> None:
    theirs, ours = _call_each(servers, [b"ACL", b"CAT", category.encode()])
    assert isinstance(decoded(ours), list)
    assert sorted(decoded(ours)) == sorted(decoded(theirs))  # type: ignore[type-var]


@pytest.mark.parametrize("bits", [b"1", b"5", b"8", b"256", b"4096", None])
def test_genpass_length(bits: bytes | None, servers: tuple[int, int]) -> None:
    argv = [b"ACL", b"GENPASS"] + ([bits] if bits else [])
    theirs, ours = (decoded(raw) for raw in _call_each(servers, argv))
    assert isinstance(ours, bytes) and isinstance(theirs, bytes)
    assert len(ours) == len(theirs)
    assert re.fullmatch(rb"[0-9a-f]+", ours)


DRYRUN = [
    "ACL SETUSER k on >pw ~k* %R~r* %W~w* &ch* +@all -set -config|set",
    "ACL DRYRUN k get k1",
    "ACL DRYRUN k get zz",
    "ACL DRYRUN k set k1 v",
    "ACL DRYRUN k publish zz m",
    "ACL DRYRUN k publish ch1 m",
    "ACL DRYRUN k get w1",
    "ACL DRYRUN k lpush r1 x",
    "ACL DRYRUN k lpush w1 x",
    "ACL DRYRUN k lrange w1 0 -1",
    "ACL DRYRUN k subscribe ch1 zz",
    "ACL DRYRUN k psubscribe ch*",
    "ACL DRYRUN k psubscribe ch1*",
    "ACL DRYRUN k mset k1 v w1 v",
    "ACL DRYRUN k mset k1 v zz v",
    "ACL DRYRUN k copy r1 w1",
    "ACL DRYRUN k copy w1 r1",
    "ACL DRYRUN k config set x y",
    "ACL DRYRUN k config get x",
    "ACL DRYRUN k config",
    "ACL DRYRUN k config nosuch",
    "ACL DRYRUN k nosuch x",
    "ACL DRYRUN k get",
    "ACL DRYRUN nob get x",
    "ACL DRYRUN k xread streams k1 zz 0 0",
    "ACL DRYRUN k zunionstore k9 2 k1 zz",
    "ACL DRYRUN k eval x 1 zz",
    "ACL DRYRUN k eval x 1 k1",
    "ACL DRYRUN k sort k1 store zz",
    "ACL DRYRUN k sort k1 store k2",
    "ACL DRYRUN k auth a b",
    "ACL SETUSER sel on nopass -@all +get ~a* (+set ~b*) (+@hash ~c*)",
    "ACL DRYRUN sel get a1",
    "ACL DRYRUN sel get b1",
    "ACL DRYRUN sel set b1 v",
    "ACL DRYRUN sel set a1 v",
    "ACL DRYRUN sel hset c1 f v",
    "ACL DRYRUN sel hset a1 f v",
    "ACL DRYRUN sel lpush a1 v",
    "ACL SETUSER x on nopass -@all +select|0 +client|id ~*",
    "ACL DRYRUN x select 0",
    "ACL DRYRUN x select 1",
    "ACL DRYRUN x client id",
    "ACL DRYRUN x client getname",
    # Keys whose flags depend on the arguments (SET's GET, BITFIELD's operations) and SORT's
    # STORE and BY: a read-only and a write-only pattern tell them apart.
    "ACL SETUSER t on nopass +@all %R~r* %W~w*",
    "ACL DRYRUN t set w1 v",
    "ACL DRYRUN t set w1 v get",
    "ACL DRYRUN t set r1 v",
    "ACL DRYRUN t bitfield r1 get u8 0",
    "ACL DRYRUN t bitfield r1 get u8 0 overflow sat",
    "ACL DRYRUN t bitfield r1 set u8 0 1",
    "ACL DRYRUN t bitfield w1 set u8 0 1",
    "ACL DRYRUN t bitfield w1 get u8 0",
    "ACL DRYRUN t bitfield_ro r1 get u8 0",
    "ACL DRYRUN t sort r1 store w2",
    "ACL DRYRUN t sort r1 store r2",
    "ACL DRYRUN t sort r1 by w9 get w8",
    "ACL DRYRUN t sort_ro r1 by w9",
    "ACL DRYRUN t lmove r1 w1 left left",
    "ACL DRYRUN t getdel w1",
]


TRANSACTION = [
    "MULTI", "ACL WHOAMI", "SET acl:k v", "ACL USERS", "ACL GETUSER default", "ACL LOG",
    "ACL HELP", "ACL CAT nosuch", "GET acl:k", "EXEC",
]  # fmt: skip


def test_node_answered_subcommands_inside_multi(pair: Pair) -> None:
    """The node answers ACL WHOAMI, USERS, GETUSER ... at EXEC, in their place, as Redis."""
    for line in TRANSACTION:
        pair.same(line)


def test_dryrun(pair: Pair) -> None:
    for line in DRYRUN:
        pair.same(line)


# ---- AUTH, NOPERM, MULTI, ACL LOG ---------------------------------------------------------------

SESSION = [
    "ACL SETUSER k on >pw ~k* %R~r* %W~w* &ch* +@all -set -config|set",
    "ACL SETUSER alice off >x +@all ~*",
    "AUTH k pw",
    "ACL WHOAMI",
    "GET zz",
    "GET k1",
    "SET k1 v",
    "SET zz v",
    "CONFIG SET maxmemory 0",
    "CONFIG GET maxmemory",
    "PUBLISH zz m",
    "PUBLISH ch1 m",
    "NOSUCH x",
    "GET",
    "MULTI",
    "GET zz",
    "GET k1",
    "EXEC",
    "MULTI",
    "SET k1 v",
    "EXEC",
    "MULTI",
    "GET k1",
    "EXEC",
    "AUTH k wrong",
    "AUTH nob x",
    "AUTH alice x",
    "AUTH onlypassword",
    "LPUSH r1 x",
    "LPUSH w1 x",
    "LRANGE w1 0 -1",
    "LRANGE r1 0 -1",
    "COPY r1 w2",
    "COPY w1 r2",
    "ACL WHOAMI",
    "HELLO 2 AUTH k nope",
    "HELLO 2 AUTH nob x",
    "ACL SETUSER k -get",
    "GET k1",
    "ACL SETUSER k +get",
    "GET k1",
    "AUTH default x",
    "ACL WHOAMI",
]


def _log_entries(raw: bytes) -> list[dict[bytes, object]]:
    entries = decoded(raw)
    assert isinstance(entries, list), raw
    out = []
    for entry in entries:
        fields = dict(entry) if isinstance(entry[0], tuple) else dict(zip(entry[::2], entry[1::2]))
        out.append(fields)
    return out


def test_auth_noperm_multi_and_log(pair: Pair) -> None:
    for line in SESSION:
        pair.same(line)
    theirs, ours = pair.both("ACL LOG")
    theirs_entries, our_entries = _log_entries(theirs), _log_entries(ours)
    assert len(our_entries) == len(theirs_entries) > 5
    for t, o in zip(theirs_entries, our_entries, strict=True):
        assert list(o) == list(t)
        for name in (b"count", b"reason", b"context", b"object", b"username"):
            assert o[name] == t[name], (name, t, o)
        for field in (b"user=", b"cmd="):
            mine = re.search(re.escape(field) + rb"(\S+)", o[b"client-info"])  # type: ignore[arg-type]
            real = re.search(re.escape(field) + rb"(\S+)", t[b"client-info"])  # type: ignore[arg-type]
            assert mine and real and mine.group(1) == real.group(1), (t, o)
    pair.same("ACL LOG 2 x")
    theirs, ours = pair.both("ACL LOG 1")
    assert len(_log_entries(ours)) == len(_log_entries(theirs)) == 1
    pair.same("ACL LOG RESET")
    pair.same("ACL LOG")


LIBRARY = (
    b"#!lua name=acllib\n"
    b"redis.register_function('g', function(keys, args) return redis.call('get', args[1]) end)\n"
    b"redis.register_function{function_name='gr', callback=function(keys, args) "
    b"return redis.call('get', args[1]) end, flags={'no-writes'}}"
)


def _eval(body: str, *args: str) -> list[bytes]:
    return [b"EVAL", body.encode(), *(a.encode() for a in args)]


def test_scripts_calls_are_checked_for_the_user(pair: Pair) -> None:
    """Every replica runs the script in apply: the entry names the user, and each call is
    checked against the replicated record, with Redis's texts (and its script suffix)."""
    pair.both([b"FUNCTION", b"DELETE", b"acllib"])
    pair.same([b"FUNCTION", b"LOAD", LIBRARY])
    pair.same("ACL SETUSER k on >pw ~k* &ch* +@all -set")
    pair.same("AUTH k pw")
    pair.same(_eval("return redis.call('get','zz')", "0"))
    pair.same(_eval("return redis.call('get','k1')", "0"))
    pair.same(_eval("return redis.call('set','k1','v')", "0"))
    pair.same(_eval("return redis.call('publish','zz','m')", "0"))
    pair.same(_eval("return redis.pcall('get','zz')", "0"))
    pair.same(_eval("return redis.call('get',KEYS[1])", "1", "zz"))
    pair.same([b"EVAL_RO", b"return redis.call('get','zz')", b"0"])
    pair.same([b"EVAL_RO", b"return redis.call('get','k1')", b"0"])
    pair.same("MULTI")
    pair.same(_eval("return redis.call('get','zz')", "0"))
    pair.same(_eval("return redis.call('get','k1')", "0"))
    pair.same("EXEC")
    pair.same("FCALL g 1 k1 zz")
    pair.same("FCALL g 1 k1 k2")
    pair.same("FCALL g 1 zz k2")
    pair.same("FCALL_RO gr 1 k1 zz")
    pair.same("FCALL_RO gr 1 k1 k2")
    pair.same("ACL SETUSER k -get")
    pair.same(_eval("return redis.call('get','k1')", "0"))
    pair.same("AUTH default x")
    pair.same(_eval("return redis.call('get','zz')", "0"))
    theirs, ours = pair.both("ACL LOG")
    their_entries, our_entries = _log_entries(theirs), _log_entries(ours)
    assert [e[b"context"] for e in our_entries].count(b"lua") >= 4
    for t, o in zip(their_entries, our_entries, strict=True):
        for name in (b"count", b"reason", b"context", b"object", b"username"):
            assert o[name] == t[name], (name, t, o)
    pair.both([b"FUNCTION", b"DELETE", b"acllib"])


def test_channels_refused_at_subscribe(pair: Pair) -> None:
    pair.same("ACL SETUSER k on >pw ~* &ch* +@all")
    pair.same("AUTH k pw")
    pair.same("SUBSCRIBE zz")
    pair.same("PSUBSCRIBE ch*")
    pair.same("PSUBSCRIBE ch1*")
    pair.same("SSUBSCRIBE zz")
    pair.same("SPUBLISH zz m")
    pair.same("SUBSCRIBE ch1 zz")
    pair.same("SUBSCRIBE ch1")
    pair.same("PING")


def test_hello_auth_as_a_user(pair: Pair) -> None:
    pair.same("ACL SETUSER bob on >secret ~* &* +@all")
    theirs, ours = pair.both("HELLO 3 AUTH bob secret")
    assert b"proto" in ours and b"WRONGPASS" not in ours and b"WRONGPASS" not in theirs
    pair.same("ACL WHOAMI")
    pair.same("HELLO 3 AUTH bob wrong")
    pair.same("ACL WHOAMI")
    pair.same("RESET")
    pair.same("ACL WHOAMI")


def test_requirepass_is_the_default_users_password(pair: Pair) -> None:
    pair.same("ACL SETUSER bob on >secret ~* &* +@all")
    pair.same("CONFIG SET requirepass pw-default")
    pair.same("ACL GETUSER default")
    fresh = Pair(pair.redis.port, pair.seshat.port, 2, normalise=normalise)
    try:
        fresh.same("GET k")
        fresh.same("AUTH bob secret")
        fresh.same("ACL WHOAMI")
        fresh.same("AUTH pw-default")
        fresh.same("ACL WHOAMI")
        fresh.same("CONFIG SET requirepass")
    finally:
        fresh.close()
    pair.same([b"CONFIG", b"SET", b"requirepass", b""])
    pair.same("ACL LIST")
    pair.same("AUTH x")


def test_a_disabled_default_user(pair: Pair) -> None:
    pair.same("ACL SETUSER bob on >secret ~* &* +@all")
    pair.same("ACL SETUSER default off")
    fresh = Pair(pair.redis.port, pair.seshat.port, 2, normalise=normalise)
    try:
        fresh.same("GET k")
        fresh.same("AUTH anything")
        fresh.same("AUTH default anything")
        fresh.same("HELLO 3 AUTH default x")
        fresh.same("AUTH bob secret")
        fresh.same("ACL SETUSER default on")
    finally:
        fresh.close()


def test_a_restricted_default_user(pair: Pair) -> None:
    pair.same("ACL SETUSER default resetkeys ~d*")
    fresh = Pair(pair.redis.port, pair.seshat.port, pair.protocol, normalise=normalise)
    try:
        fresh.same("GET d1")
        fresh.same("GET e1")
        fresh.same("ACL SETUSER default allkeys")
        fresh.same("GET e1")
    finally:
        fresh.close()


def test_deluser_closes_that_users_connections(servers: tuple[int, int]) -> None:
    for port in servers:
        admin = WireClient(port)
        victim = WireClient(port)
        bystander = WireClient(port)
        assert (
            admin.call([b"ACL", b"SETUSER", b"gone", b"on", b">pw", b"+@all", b"~*"]) == b"+OK\r\n"
        )
        assert victim.call([b"AUTH", b"gone", b"pw"]) == b"+OK\r\n"
        assert admin.call([b"ACL", b"DELUSER", b"gone"]) == b":1\r\n"
        assert victim.until_closed() == b"", port
        assert bystander.call([b"PING"]) == b"+PONG\r\n"
        for c in (admin, victim, bystander):
            c.close()


@pytest.mark.parametrize(
    ("subscribe", "rules", "closed"),
    [
        ("SUBSCRIBE ch1", "resetchannels &other", True),
        ("SUBSCRIBE ch1", "resetchannels &ch*", False),
        ("PSUBSCRIBE ch*", "resetchannels &ch1*", True),
        ("PSUBSCRIBE ch*", "resetchannels &ch*", False),
        ("SSUBSCRIBE ch1", "resetchannels", True),
        ("SUBSCRIBE ch1", "resetchannels (&ch1)", False),
        ("SUBSCRIBE ch1", "-get", False),
    ],
)
def test_a_subscriber_losing_its_channel_is_closed(
    servers: tuple[int, int], subscribe: str, rules: str, closed: bool
) -> None:
    for port in servers:
        admin = WireClient(port)
        sub = WireClient(port)
        assert admin.call(b"ACL SETUSER k on >pw ~* &* +@all".split()) == b"+OK\r\n"
        assert sub.call([b"AUTH", b"k", b"pw"]) == b"+OK\r\n"
        sub.call(subscribe.encode().split())
        assert admin.call([b"ACL", b"SETUSER", b"k", *rules.encode().split()]) == b"+OK\r\n"
        if closed:
            assert sub.until_closed() == b"", (port, subscribe, rules)
        else:
            assert sub.call([b"PING"]).startswith(b"*2"), (port, subscribe, rules)
        admin.close()
        sub.close()


def test_client_kill_user(servers: tuple[int, int]) -> None:
    for port in servers:
        admin = WireClient(port)
        bob = WireClient(port)
        other = WireClient(port)
        assert admin.call(b"ACL SETUSER bob on >pw ~* &* +@all".split()) == b"+OK\r\n"
        assert bob.call([b"AUTH", b"bob", b"pw"]) == b"+OK\r\n"
        assert admin.call(b"CLIENT KILL USER nobody".split()) == b"-ERR No such user 'nobody'\r\n"
        assert admin.call(b"CLIENT KILL USER bob".split()) == b":1\r\n", port
        assert bob.until_closed() == b"", port
        assert other.call([b"PING"]) == b"+PONG\r\n"
        for c in (admin, bob, other):
            c.close()


def test_deluser_of_itself_answers_then_closes(servers: tuple[int, int]) -> None:
    for port in servers:
        c = WireClient(port)
        assert c.call([b"ACL", b"SETUSER", b"gone", b"on", b">pw", b"+@all", b"~*"]) == b"+OK\r\n"
        assert c.call([b"AUTH", b"gone", b"pw"]) == b"+OK\r\n"
        assert c.call([b"ACL", b"DELUSER", b"gone"]) == b":1\r\n", port
        assert c.until_closed() == b"", port
        c.close()


# ---- Seshat only: the Raft log and redis-py ----------------------------------------------------


def _last_log_index(client: WireClient) -> int:
    info = decoded(client.call([b"INFO", b"raft"]))
    assert isinstance(info, bytes)
    found = re.search(rb"last_log_index:(\d+)", info)
    assert found, info
    return int(found.group(1))


def test_refused_and_unauthenticated_writes_never_reach_the_log(servers: tuple[int, int]) -> None:
    seshat = servers[1]
    admin = WireClient(seshat)
    assert (
        admin.call(
            [b"ACL", b"SETUSER", b"k", b"on", b">pw", b"~k*", b"+@all", b"-@dangerous", b"-incr"]
        )
        == b"+OK\r\n"
    )
    restricted = WireClient(seshat)
    assert restricted.call([b"AUTH", b"k", b"pw"]) == b"+OK\r\n"
    before = _last_log_index(admin)
    for _ in range(5):
        assert restricted.call([b"SET", b"zz", b"v"]).startswith(b"-NOPERM")
        assert restricted.call([b"INCR", b"k1"]).startswith(b"-NOPERM")
        assert restricted.call([b"ACL", b"SETUSER", b"x"]).startswith(b"-NOPERM")
    restricted.send(
        encode_command([b"MULTI"])
        + encode_command([b"SET", b"zz", b"v"])
        + encode_command([b"EXEC"])
    )
    assert restricted.reply() == b"+OK\r\n"
    assert restricted.reply().startswith(b"-NOPERM")
    assert restricted.reply().startswith(b"-EXECABORT")
    assert admin.call([b"CONFIG", b"SET", b"requirepass", b"pw-default"]) == b"+OK\r\n"
    anonymous = WireClient(seshat)
    assert anonymous.call([b"SET", b"k1", b"v"]).startswith(b"-NOAUTH")
    assert anonymous.call([b"ACL", b"SETUSER", b"x"]).startswith(b"-NOAUTH")
    assert _last_log_index(admin) == before
    assert restricted.call([b"SET", b"k1", b"v"]) == b"+OK\r\n"  # and an allowed write does
    assert _last_log_index(admin) == before + 1
    for c in (admin, restricted, anonymous):
        c.close()


def test_redis_py_logs_in_as_a_user(servers: tuple[int, int]) -> None:
    seshat = servers[1]
    admin = redis.Redis(port=seshat)
    admin.acl_setuser(
        "bob", enabled=True, passwords=["+secret"], keys=["b*"], commands=["+@all", "-flushall"]
    )
    bob = redis.Redis(port=seshat, username="bob", password="secret")  # RESP3 by default in 8
    try:
        assert bob.acl_whoami() in ("bob", b"bob")
        assert bob.set("b1", "v") is True
        with pytest.raises(redis.exceptions.NoPermissionError):
            bob.set("other", "v")
        with pytest.raises(redis.exceptions.NoPermissionError):
            bob.flushall()
        user = admin.acl_getuser("bob")
        assert user["keys"] == ["~b*"] and "on" in user["flags"]
        assert set(admin.acl_users()) & {"bob", b"bob"}
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(port=seshat, username="bob", password="wrong").ping()
        assert admin.acl_deluser("bob") == 1
        with pytest.raises(redis.exceptions.ConnectionError):
            bob.ping()  # its connection was closed, and reconnecting fails: no such user now
    finally:
        admin.close()
        bob.close()
