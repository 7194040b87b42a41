"""Redis 7 functions, differentially: the same FUNCTION/FCALL/FCALL_RO sequences to redis-server
7.0.15 and to LocalExecutor, compared reply for reply, errors word for word (the "script:
<function>, on @user_function:<line>." tails included).

FUNCTION LIST's order is Redis's dict order (random per process; the command is flagged
`nondeterministic_output_order`), so both sides' LIST replies are compared sorted by library
and function name. FUNCTION DUMP's payload is Seshat's own (`docs/functions.md`), so DUMP and
RESTORE are checked on Seshat alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seshat.protocol.replies import ErrorReply
from tests.kv.conftest import LocalClient, RawRedis, Value
from tests.kv.test_differential import run, same


def w(*words: str | bytes) -> list[bytes]:
    return [x if isinstance(x, bytes) else x.encode() for x in words]


def load(code: str, *options: str) -> list[bytes]:
    return w("FUNCTION", "LOAD", *options, code)


def lib(name: str, body: str) -> str:
    return f"#!lua name={name}\n{body}"


REG = "redis.register_function"
MYLIB = lib(
    "mylib",
    f"{REG}('echo', function(keys, args) return {{keys, args, #keys, #args}} end)\n"
    f"{REG}{{function_name='getk', callback=function(keys) return redis.call('get', keys[1]) end,"
    " flags={'no-writes'}, description='read a key'}\n"
    f"{REG}('setk', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n"
    f"{REG}('boom', function() error('boom') end)\n"
    f"{REG}('unknown', function() return redis.call('nope') end)\n"
    f"{REG}('incr', function(keys) return redis.call('incr', keys[1]) end)\n"
    f"{REG}('pincr', function(keys) return redis.pcall('incr', keys[1]) end)\n"
    f"{REG}('errrep', function() return redis.error_reply('MY err') end)\n"
    f"{REG}('arith', function() return nil + 1 end)\n"
    f"{REG}('global', function() x = 1 end)\n"
    f"{REG}('keysg', function() return KEYS end)\n"
    f"{REG}('reg', function() {REG}('z', function() end) end)\n"
    f"{REG}{{function_name='rowrite', callback=function() return redis.call('set', 'x', '1') end,"
    " flags={'no-writes'}}\n"
    f"{REG}{{function_name='ropwrite', callback=function() return redis.pcall('set', 'x', '1') end,"
    " flags={'no-writes', 'allow-stale', 'allow-oom'}}\n"
    f"{REG}('r3', function(keys) redis.setresp(3) return redis.call('hget', keys[1], 'f') end)\n"
    f"{REG}('r3map', function(keys) redis.setresp(3) return {{map={{a=1}}}} end)\n"
    f"{REG}('r3double', function() redis.setresp(3) return {{double=3.5}} end)\n"
    f"{REG}('evalin', function() return redis.call('eval', 'return 1', 0) end)\n"
    f"{REG}('fnin', function() return redis.call('function', 'list') end)\n"
    f"{REG}('resp4', function() redis.setresp(4) end)\n"
    f"{REG}('ver', function() return redis.REDIS_VERSION end)\n",
)

# Redis 7 makes the globals and the library tables read-only for functions too.
READONLY_LIB = lib(
    "ro",
    "\n".join(
        f"{REG}('{name}', function(keys, args) {body} end)"
        for name, body in [
            ("assign", "string.x = 1"),
            ("assign_redis", "redis.x = 1"),
            ("assign_reg", "redis.register_function = nil"),
            ("assign_g", "_G.x = 1"),
            ("assign_global", "x = 1"),
            ("assign_libs", "local ok, e = pcall(function() math.x = 1 end) return e"),
            ("assign_cjson", "cjson.x = 1"),
            ("assign_cmsgpack", "cmsgpack.x = 1"),
            ("assign_bit", "bit.x = 1"),
            ("assign_struct", "struct.x = 1"),
            ("rawset_g", "rawset(_G, 'x', 1)"),
            ("rawset_s", "rawset(string, 'x', 1)"),
            ("setmt", "setmetatable(redis, {})"),
            ("setmt_g", "setmetatable(_G, {})"),
            ("setmt_table", "setmetatable(table, nil)"),
            (
                "getmt",
                "return {type(getmetatable(_G)), tostring(getmetatable(string)), type(getmetatable(''))}",
            ),
            ("rawget", "return {rawget(redis, 'call') ~= nil, rawget(_G, 'cmsgpack') ~= nil}"),
            ("pairs", "local n = 0 for k in pairs(string) do n = n + 1 end return n"),
            ("keys", "keys[1] = 'x' rawset(args, 1, 'y') return {keys[1], args[1]}"),
        ]
    ),
)

LOAD_ERRORS = [
    "return 1",
    "#!lua",
    "#!lua\nreturn 1",
    "#!lua name=\nreturn 1",
    "#!lua name=a-b\nreturn 1",
    "#!lua name=x foo=bar\nreturn 1",
    "#!lua name=x name=y\nreturn 1",
    "#! lua name=x\nreturn 1",
    "#!js name=x\nreturn 1",
    lib("x", "return 1"),
    lib("x", "redis.log(redis.LOG_WARNING, 'loading') return 1"),
    lib("x", "local x = ("),
    lib("x", "error('boom')"),
    lib("x", "redis.call('set', 'a', 'b')"),
    lib("x", "redis.setresp(3)"),
    lib("x", "math.random()"),
    lib("x", "x = 1"),
    lib("x", "redis.x = 1"),
    lib("x", "redis.log = nil"),
    lib("x", "redis.register_function = 5"),
    lib("x", "local r = redis r.LOG_DEBUG = 7"),
    lib("x", "_G.x = 1"),
    lib("x", "local a = KEYS"),
    lib("x", "local n = 0 for k in pairs(redis) do n = n + 1 end"),
    lib("x", "redis.log(1)"),
    lib("x", "redis.log('x', 'y')"),
    lib("x", f"{REG}('g')"),
    lib("x", f"{REG}('g', 1)"),
    lib("x", f"{REG}({{}}, function() end)"),
    lib("x", f"{REG}(1.5, function() end)"),
    lib("x", f"{REG}('f-1', function() end)"),
    lib("x", f"{REG}('', function() end)"),
    lib("x", f"{REG}('g', function() end, 3)"),
    lib("x", f"{REG}()"),
    lib("x", f"{REG}({{}})"),
    lib("x", f"{REG}('g', function() end) {REG}('g', function() end)"),
    lib("x", f"{REG}{{function_name='g', callback=function() end, flags={{'bad'}}}}"),
    lib("x", f"{REG}{{function_name='g', callback=function() end, flags={{1}}}}"),
    lib("x", f"{REG}{{function_name='g', callback=function() end, flags='no-writes'}}"),
    lib("x", f"{REG}{{function_name='g', callback=function() end, foo=1}}"),
    lib("x", f"{REG}{{function_name='g', callback=function() end, description={{}}}}"),
    lib("x", f"{REG}{{[1]='g', callback=function() end}}"),
    lib("x", f"{REG}{{[true]='g', callback=function() end}}"),
    lib("x", f"{REG}{{function_name='g'}}"),
    lib("x", f"{REG}{{function_name={{}}, callback=function() end}}"),
    lib("x", f"{REG}{{function_name='g', callback=3}}"),
    lib("x", f"{REG}{{callback=function() end}}"),
    lib("x", "while true do end"),
]

SEQUENCES: dict[str, list[list[bytes]]] = {
    "load": [
        *(load(code) for code in LOAD_ERRORS),
        load(lib("a", f"{REG}('f', function() return 1 end)")),
        load(lib("a", f"{REG}('f', function() return 2 end)")),
        load(lib("a", "local x = (")),  # exists before it compiles
        load(lib("b", f"{REG}('f', function() return 3 end)")),
        load(lib("a", f"{REG}('g', function() return 4 end)"), "REPLACE"),
        load(lib("a", f"{REG}('g', function() return 4 end"), "REPLACE"),
        w("FCALL", "g", "0"),
        w("FCALL", "f", "0"),
        load(lib("b", f"{REG}('f', function() return 3 end)"), "replace", "REPLACE"),
        w("FCALL", "f", "0"),
        load(lib("c", f"{REG}('g', function() end)"), "BAD"),
        load(lib("c", f"{REG}('g', function() end)"), "REPLACE"),
        load("#!LUA name=d\r\n" + f"{REG}('h', function() return 'crlf' end)"),
        load(
            lib("e", f"{REG}{{function_name=3, callback=function() return 3 end, description=3}}")
        ),
        w("FCALL", "h", "0"),
        w("FCALL", "3", "0"),
        w("FUNCTION", "LOAD"),
        w("FUNCTION", "STATS"),
    ],
    "function names ignore case": [
        load(lib("Cased", f"{REG}('MyFn', function() return 'x' end)")),
        w("FCALL", "myfn", "0"),
        w("FCALL", "MYFN", "0"),
        w("FCALL_RO", "MyFn", "0"),
        load(lib("other", f"{REG}('myfn', function() return 'y' end)")),
        load(lib("cased", f"{REG}('g', function() return 'g' end)")),
        w("FUNCTION", "DELETE", "CASED"),
        load(lib("Cased", f"{REG}('MYFN', function() return 'z' end)"), "REPLACE"),
        w("FCALL", "myfn", "0"),
        w("FUNCTION", "DELETE", "Cased"),
        w("FCALL", "myfn", "0"),
        w("FUNCTION", "DELETE", "cased"),
    ],
    "fcall": [
        load(MYLIB),
        w("FCALL", "echo", "2", "a", "b", "c"),
        w("FCALL", "echo", "0"),
        w("FCALL", "setk", "1", "k", "v"),
        w("FCALL", "getk", "1", "k"),
        w("FCALL_RO", "getk", "1", "k"),
        w("FCALL_RO", "setk", "1", "k", "v"),
        w("FCALL_RO", "echo", "0"),
        w("FCALL", "rowrite", "0"),
        w("FCALL_RO", "rowrite", "0"),
        w("FCALL_RO", "ropwrite", "0"),
        w("FCALL", "nope", "0"),
        w("FCALL_RO", "nope", "0"),
        w("FCALL", "nope", "x"),
        w("FCALL", "echo", "x"),
        w("FCALL", "echo", "-1"),
        w("FCALL", "echo", "5", "a"),
        w("FCALL_RO", "getk", "5", "a"),
        w("FCALL_RO", "getk", "-1"),
        w("FCALL", "echo"),
        w("FCALL_RO", "echo"),
        w("SET", "s", "abc"),
        w("FCALL", "boom", "0"),
        w("FCALL", "unknown", "0"),
        w("FCALL", "incr", "1", "s"),
        w("FCALL", "pincr", "1", "s"),
        w("FCALL", "errrep", "0"),
        w("FCALL", "arith", "0"),
        w("FCALL", "global", "0"),
        w("FCALL", "keysg", "0"),
        w("FCALL", "reg", "0"),
        w("FCALL", "evalin", "0"),
        w("FCALL", "fnin", "0"),
        w("FCALL", "resp4", "0"),
        w("FCALL", "ver", "0"),
        w("LPUSH", "l", "x"),
        w("FCALL", "incr", "1", "l"),
        w("FCALL_RO", "getk", "1", "l"),
        w("HSET", "h", "f", "v"),
        w("FCALL", "r3", "1", "h"),
        w("FCALL", "r3map", "0"),
        w("FCALL", "r3double", "0"),
        w("FCALL", "incr", "1", "n"),
        w("FCALL", "incr", "1", "n"),
        w("GET", "n"),
        w("FLUSHALL"),
        w("FCALL", "incr", "1", "n"),
        w("FUNCTION", "STATS"),
    ],
    "read-only tables": [
        load(READONLY_LIB),
        *(
            w("FCALL", name, "0")
            for name in [
                "assign",
                "assign_redis",
                "assign_reg",
                "assign_g",
                "assign_global",
                "assign_libs",
                "assign_cjson",
                "assign_cmsgpack",
                "assign_bit",
                "assign_struct",
                "rawset_g",
                "rawset_s",
                "setmt",
                "setmt_g",
                "setmt_table",
                "getmt",
                "rawget",
                "pairs",
            ]
        ),
        w("FCALL", "keys", "1", "k", "a"),
    ],
    "list, delete, flush": [
        load(MYLIB),
        load(
            lib(
                "other",
                f"{REG}{{function_name='o1', callback=function() end, "
                "flags={'no-cluster', 'no-writes'}, description='one'}\n"
                f"{REG}('o2', function() end)",
            )
        ),
        w("FUNCTION", "LIST"),
        w("FUNCTION", "LIST", "WITHCODE"),
        w("FUNCTION", "LIST", "LIBRARYNAME", "oth*"),
        w("FUNCTION", "LIST", "libraryname", "MY?IB", "withcode"),
        w("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "nomatch"),
        w("FUNCTION", "LIST", "LIBRARYNAME"),
        w("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"),
        w("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
        w("FUNCTION", "LIST", "BAD"),
        w("FUNCTION", "STATS"),
        w("FUNCTION", "STATS", "x"),
        w("FUNCTION", "KILL"),
        w("FUNCTION", "HELP"),
        w("FUNCTION", "NOPE"),
        w("FUNCTION"),
        w("FUNCTION", "DUMP", "x"),
        w("FUNCTION", "DELETE", "nope"),
        w("FUNCTION", "DELETE", "other"),
        w("FUNCTION", "DELETE", "other"),
        w("FCALL", "o2", "0"),
        w("FUNCTION", "DELETE"),
        w("FUNCTION", "LIST"),
        w("FUNCTION", "FLUSH", "BAD"),
        w("FUNCTION", "FLUSH", "SYNC", "ASYNC"),
        w("FUNCTION", "FLUSH", "async"),
        w("FUNCTION", "LIST"),
        w("FCALL", "echo", "0"),
        load(MYLIB),
        w("FUNCTION", "FLUSH", "SYNC"),
        w("FUNCTION", "STATS"),
        w("FUNCTION", "RESTORE", "garbage"),
        w("FUNCTION", "RESTORE", "garbage", "BAD"),
        w("FUNCTION", "RESTORE", "garbage", "FLUSH"),
        w("FUNCTION", "RESTORE", "garbage", "APPEND", "x"),
        w("FUNCTION", "RESTORE"),
    ],
}


def _sorted_list(reply: Value) -> Value:
    """FUNCTION LIST with libraries and their functions in name order."""
    if not isinstance(reply, list):
        return reply
    out = []
    for entry in reply:
        assert isinstance(entry, list)
        entry = list(entry)
        i = entry.index(b"functions") + 1
        entry[i] = sorted(entry[i], key=repr)  # type: ignore[arg-type]
        out.append(entry)
    return sorted(out, key=repr)


def _run(client: RawRedis | LocalClient, argv: list[bytes]) -> Value:
    reply = run(client, argv)
    if argv[:2] == [b"FUNCTION", b"LIST"] or argv[:2] == [b"FUNCTION", b"list"]:
        return _sorted_list(reply)
    return reply


def _reset(real: RawRedis, local: LocalClient) -> None:
    for client in (real, local):
        client.execute([b"SELECT", b"0"])
        client.execute([b"FLUSHALL"])
        client.execute([b"FUNCTION", b"FLUSH"])
    local.session.db = 0


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_functions_as_in_redis(name: str, real_redis: RawRedis, local_client: LocalClient) -> None:
    _reset(real_redis, local_client)
    for i, argv in enumerate(SEQUENCES[name]):
        theirs = _run(real_redis, argv)
        ours = _run(local_client, argv)
        assert same(argv[0].lower(), ours, theirs), (
            f"command #{i} {b' '.join(argv)[:200]!r}: redis {theirs!r}, seshat {ours!r}"
        )


def test_dump_restore_round_trip(local_client: LocalClient) -> None:
    """DUMP -> RESTORE on Seshat, with each policy; a foreign payload changes nothing."""
    c = local_client
    c.execute(w("FUNCTION", "FLUSH"))
    assert c.execute(load(MYLIB)) == b"mylib"
    assert c.execute(load(lib("b", f"{REG}('bf', function() return 'b' end)"))) == b"b"
    listing = _sorted_list(c.execute(w("FUNCTION", "LIST", "WITHCODE")))
    payload = c.execute(w("FUNCTION", "DUMP"))
    assert isinstance(payload, bytes)
    assert c.execute(w("FUNCTION", "RESTORE", payload)) == ("error", "ERR Library b already exists")
    assert c.execute(w("FUNCTION", "FLUSH")) == b"OK"
    assert c.execute(w("FUNCTION", "RESTORE", payload)) == b"OK"
    assert _sorted_list(c.execute(w("FUNCTION", "LIST", "WITHCODE"))) == listing
    assert c.execute(w("FUNCTION", "RESTORE", payload, "REPLACE")) == b"OK"
    assert c.execute(w("FUNCTION", "RESTORE", payload, "flush")) == b"OK"
    assert _sorted_list(c.execute(w("FUNCTION", "LIST", "WITHCODE"))) == listing
    assert c.execute(w("FCALL", "bf", "0")) == b"b"
    # REPLACE still fails on a function owned by a library the payload does not replace
    c.execute(w("FUNCTION", "DELETE", "b"))
    assert c.execute(load(lib("c", f"{REG}('bf', function() end)"))) == b"c"
    assert c.execute(w("FUNCTION", "RESTORE", payload, "REPLACE")) == (
        "error",
        "ERR Function bf already exists",
    )
    # payloads Seshat did not produce: Redis's, a flipped byte, a truncation
    redis_payload = b"\xf5\xc3@X@]\x1f#!lua name=x\n\n\x00]\x9b\\@\x0f\x7f\xa2\xda"
    flipped = payload[:-1] + bytes([payload[-1] ^ 1])
    before = c.execute(w("FUNCTION", "LIST", "WITHCODE"))
    for bad in (redis_payload, flipped, payload[:10], b""):
        for policy in ((), ("FLUSH",), ("REPLACE",)):
            assert c.execute(w("FUNCTION", "RESTORE", bad, *policy)) == (
                "error",
                "ERR DUMP payload version or checksum are wrong",
            )
    assert c.execute(w("FUNCTION", "LIST", "WITHCODE")) == before


def test_a_function_drawing_random_numbers_replays_the_same(tmp_path: Path) -> None:
    """FCALL runs inside apply on every replica: the same log gives the same state."""
    from seshat.kv.local import LocalExecutor
    from seshat.kv.service import Session
    from seshat.storage.engine import Engine

    leader = LocalExecutor(Engine.open(os.fspath(tmp_path / "a")))
    code = lib(
        "rnd",
        f"{REG}('draw', function(keys) "
        "redis.call('set', keys[1], tostring(math.random())) "
        "redis.call('sadd', 's', 'a', 'b', 'c', 'd', 'e') "
        "return redis.call('rpush', 'l', redis.call('spop', 's'), math.random(1000000)) end)",
    )
    assert leader.execute(Session(), w("FUNCTION", "LOAD", code)) == b"rnd"
    for i in range(5):
        leader.execute(Session(), w("FCALL", "draw", "1", f"k{i}"))
    draws = {leader.execute(Session(), w("GET", f"k{i}")) for i in range(5)}
    assert len(draws) == 5  # each entry draws differently
    follower = LocalExecutor(Engine.open(os.fspath(tmp_path / "b")))
    for data in leader.log:
        follower.propose(data)
    assert follower.state_machine.checksum() == leader.state_machine.checksum()
    assert follower.execute(Session(), w("FCALL_RO", "draw", "1", "x")) == (
        ErrorReply("ERR Can not execute a script with write flag using *_ro command.")
    )
