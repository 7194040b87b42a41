"""Lua scripts, differentially: the same EVAL/EVALSHA/SCRIPT sequences to redis-server 7.0 and to
LocalExecutor, compared reply for reply, errors word for word (the "script: <sha>, on
@user_script:<line>." tails included).

Sequences avoid what Redis leaves unspecified or makes random (math.random, HGETALL's order,
SPOP), and `tostring` of tables; `tests/kv/test_scripts.py` checks those for determinism instead.
"""

from __future__ import annotations

import shlex

import pytest

from tests.kv.conftest import LocalClient, RawRedis
from tests.kv.test_differential import run, same


def ev(body: str, *rest: str) -> list[bytes]:
    """EVAL of `body` with numkeys and arguments as written."""
    return [b"eval", body.encode(), *(r.encode() for r in rest)]


def lines(text: str) -> list[list[bytes]]:
    return [[w.encode() for w in shlex.split(line)] for line in text.strip().splitlines()]


SEQUENCES: dict[str, list[list[bytes]]] = {
    "replies from Lua values": lines("""
        eval "return 1" 0
        eval "return {1,2.9,-3.7,'a',true,false,nil,5}" 0
        eval "return {1, {2, {3, 'x'}}, redis.call('get','k')}" 0
        eval "return 3.99" 0
        eval "return -3.99" 0
        eval "return math.huge" 0
        eval "return -math.huge" 0
        eval "return 0/0" 0
        eval "return tostring(2^53)" 0
        eval "return {err='boom'}" 0
        eval "return {ok='fine'}" 0
        eval "return redis.error_reply('My err')" 0
        eval "return redis.status_reply('FINE')" 0
        eval "return {1, 2, {err='inner'}}" 0
        eval "return {1, 2, {ok='inner'}}" 0
        eval "return {double=3.5}" 0
        eval "return {map={a=1}}" 0
        eval "return {set={a=true}}" 0
        eval "return {big_number='123'}" 0
        eval "return 1, 2" 0
        eval "return" 0
        eval "redis.setresp(3) return true" 0
        eval "redis.setresp(3) return false" 0
        eval "return string.rep('ab', 3)" 0
        eval "return string.format('%d', 10)" 0
        eval "return tonumber('0x10')" 0
        eval "return #KEYS + #ARGV" 2 a b c d e
        eval "return KEYS[1]..ARGV[1]" 1 k a
        eval "return loadstring('return 1')()" 0
        eval "return redis.sha1hex('abc')" 0
        eval "return redis.sha1hex('')" 0
        eval "return redis.REDIS_VERSION_NUM" 0
    """),
    "commands from a script": lines("""
        eval "return redis.call('set', KEYS[1], ARGV[1])" 1 k v
        eval "return redis.call('get', KEYS[1])" 1 k
        eval "return redis.call('get','nokey')" 0
        eval "return type(redis.call('get','nokey'))" 0
        eval "return redis.call('ping')" 0
        eval "return redis.call('echo','hi')" 0
        eval "return redis.call('set', 'k', 'v', 'ex', '100')" 0
        eval "return redis.call('ttl', 'k')" 0
        eval "return redis.call('lpush', 'l', 1, 2, 3)" 0
        eval "return redis.call('lrange', 'l', 0, -1)" 0
        eval "return redis.call('zadd', 'z', 1.5, 'a')" 0
        eval "return redis.call('zscore', 'z', 'a')" 0
        eval "redis.setresp(3) return redis.call('zscore', 'z', 'a')" 0
        eval "redis.setresp(3) return redis.call('zscore', 'z', 'a')['double']" 0
        eval "redis.call('hset','h','a','1') return redis.call('hgetall','h')" 0
        eval "redis.setresp(3); local r = redis.call('hgetall','h'); return r['map']['a']" 0
        eval "redis.setresp(3) return redis.call('ping')" 0
        eval "redis.setresp(3) return type(redis.call('get', 'nonex'))" 0
        eval "return redis.call('smembers', 'nosuch')" 0
        eval "return redis.call('object', 'encoding', 'h')" 0
        eval "return redis.call('incrbyfloat', 'f', '1.5')" 0
        eval "return redis.call('spop', 'nosuch')" 0
        eval "redis.call('set', 'x', 1e20) return redis.call('get','x')" 0
        eval "redis.call('set', 'x', 0.1) return redis.call('get','x')" 0
        eval "redis.call('set', 'x', 1/3) return redis.call('get','x')" 0
        eval "return #redis.call('time')" 0
        eval "return select('#', redis.call('ping'))" 0
        eval "redis.call('select', '1') redis.call('set','in1','x') return redis.call('get','in1')" 0
        get in1
        select 1
        get in1
        select 0
        mget k l z
    """),
    "errors": lines("""
        set s abc
        eval "return redis.call('incr', 's')" 0
        eval "return redis.pcall('incr', 's')" 0
        eval "local ok, e = pcall(redis.call,'incr','s'); return {tostring(ok), type(e), e}" 0
        eval "local ok, e = pcall(error, {err='x'}) return e" 0
        eval "local ok, e = pcall(error, 'x') return e" 0
        eval "local ok, e = pcall(error, {foo='x'}) return type(e)" 0
        eval "return x" 0
        eval "x=1" 0
        eval "return (" 0
        eval "error('x')" 0
        eval "error({err='MYCODE y'})" 0
        eval "return redis.call('nosuch')" 0
        eval "return redis.pcall('nosuch')" 0
        eval "return redis.call('get')" 0
        eval "return redis.pcall('set', 'k')" 0
        eval "return redis.call()" 0
        eval "return redis.pcall()" 0
        eval "return redis.call('set', 'x', {})" 0
        eval "return redis.call('set', 'x', true)" 0
        eval "return redis.call('set', 'k', 'v', 'ex', 'x')" 0
        eval "return redis.call('multi')" 0
        eval "return redis.call('blpop','l',0)" 0
        eval "return redis.call('eval','return 1','0')" 0
        eval "return redis.call('script', 'load', 'return 1')" 0
        eval "return redis.call('object', 'nosuch', 'h')" 0
        eval "return redis.setresp(4)" 0
        eval "return redis.setresp()" 0
        eval "return redis.log(redis.LOG_WARNING)" 0
        eval "return redis.log(redis.LOG_WARNING, 'x', 'y')" 0
        eval "return redis.acl_check_cmd('get', 'x')" 0
        eval "return redis.acl_check_cmd('nosuch')" 0
        eval "return redis.error_reply(5)" 0
        eval "return os" 0
        eval "return io" 0
        eval "return debug" 0
        eval "return require" 0
        eval "return 1" -1
        eval "return 1" 2 a
        eval "return 1" x
        eval_ro "return redis.call('set','k','v')" 0
        eval_ro "return redis.call('get','s')" 0
        eval_ro "return (" 0
    """),
    "the script cache": lines("""
        script load "return redis.call('get', KEYS[1])"
        set k v
        evalsha 4e6d8fc8bb01276962cce5371fa795a7763657ae 1 k
        evalsha 4E6D8FC8BB01276962CCE5371FA795A7763657AE 1 k
        evalsha_ro 4e6d8fc8bb01276962cce5371fa795a7763657ae 1 k
        evalsha ffffffffffffffffffffffffffffffffffffffff 0
        evalsha abc 0
        evalsha_ro abc 0
        script exists 4e6d8fc8bb01276962cce5371fa795a7763657ae ffff
        eval "return 'cached'" 0
        script exists 8f0c4d5bd9b3a7d2be4ec5ac5d0d2e9f1bb6f3d8
        flushall
        evalsha 4e6d8fc8bb01276962cce5371fa795a7763657ae 1 k
        script flush
        script exists 4e6d8fc8bb01276962cce5371fa795a7763657ae
        evalsha 4e6d8fc8bb01276962cce5371fa795a7763657ae 1 k
        script flush async
        script flush sync
        script flush bogus
        script flush sync async
        script kill
        script bogus
        script load
        script load "return ("
        script exists
        script help
    """),
    "shebangs": [
        ev("#!lua flags=no-writes\nreturn redis.call('set','a','b')", "0"),
        ev("#!lua flags=no-writes\nreturn redis.call('get','a')", "0"),
        ev("#!lua\nreturn 1", "0"),
        ev("#!lua flags=bogus\nreturn 1", "0"),
        ev("#!luax\nreturn 1", "0"),
        ev("#!lua name=x\nreturn 1", "0"),
        ev("#!lua flags=allow-oom,no-cluster\nreturn 2", "0"),
        ev("#!lua flags=\nreturn 2", "0"),
        ev("#!lua   \nreturn x", "0"),
        ev("#!lua return 1", "0"),
    ],
    "where an error happened": [
        ev("local a = 1\nlocal b = 2\nreturn redis.call('incr', 'a', 'b')", "0"),
        ev("local a = 1\n\nerror('deep')", "0"),
        [b"set", b"s", b"abc"],
        ev("local function f() return redis.call('incr','s') end\nreturn f()", "0"),
        ev(
            "local function f()\n return redis.call('incr','s')\n end\nlocal x = f()\nreturn x", "0"
        ),
        ev("return cjson.decode('nope')", "0"),
        ev("\x1bLua", "0"),
    ],
    "streams from a script": lines("""
        eval "return redis.call('xadd', KEYS[1], '1-1', 'a', '1')" 1 s
        eval "return redis.call('xrange', KEYS[1], '-', '+')" 1 s
        eval "return redis.call('xread', 'streams', KEYS[1], '0')" 1 s
        eval "redis.setresp(3) return redis.call('xread', 'streams', KEYS[1], '0')" 1 s
        eval "return redis.call('xread', 'block', '0', 'streams', KEYS[1], '0')" 1 s
        eval "return redis.call('XREAD', 'BLOCK', '10', 'streams', KEYS[1], '$')" 1 s
        eval "return redis.call('xgroup', 'create', KEYS[1], 'g', '0')" 1 s
        eval "return redis.call('xreadgroup', 'group', 'g', 'c', 'block', '10', 'streams', KEYS[1], '>')" 1 s
        eval "return redis.call('xreadgroup', 'group', 'g', 'c', 'streams', KEYS[1], '>')" 1 s
        eval "return redis.call('xpending', KEYS[1], 'g')" 1 s
        eval "return redis.call('xack', KEYS[1], 'g', '1-1')" 1 s
        eval "return redis.call('xinfo', 'groups', KEYS[1])[1][1]" 1 s
        eval "return redis.pcall('xadd', KEYS[1], '1-1', 'a', '1')" 1 s
        eval_ro "return redis.call('xadd', KEYS[1], '2-1', 'a', '1')" 1 s
        eval_ro "return redis.call('xlen', KEYS[1])" 1 s
    """),
    "read-only tables": lines("""
        eval "redis.foo = 1 return 1" 0
        eval "string.foo = 1 return 1" 0
        eval "math.foo = 1 return 1" 0
        eval "table.foo = 1 return 1" 0
        eval "coroutine.foo = 1 return 1" 0
        eval "bit.foo = 1 return 1" 0
        eval "cjson.foo = 1 return 1" 0
        eval "cmsgpack.foo = 1 return 1" 0
        eval "struct.foo = 1 return 1" 0
        eval "x = 1 return 1" 0
        eval "_G.x = 1 return 1" 0
        eval "math = nil return 1" 0
        eval "string.len = nil return 1" 0
        eval "redis.call = nil return 1" 0
        eval "local s = string s.x = 1 return 1" 0
        eval "local ok, e = pcall(function() string.x = 1 end) return e" 0
        eval "rawset(_G, 'x', 1) return 1" 0
        eval "rawset(redis, 'x', 1) return 1" 0
        eval "rawset(string, 'x', 1) return 1" 0
        eval "rawset(math, 'x', 1) return 1" 0
        eval "rawset(table, 'x', 1) return 1" 0
        eval "rawset(coroutine, 'x', 1) return 1" 0
        eval "rawset(bit, 'x', 1) return 1" 0
        eval "rawset(cjson, 'x', 1) return 1" 0
        eval "rawset(cmsgpack, 'x', 1) return 1" 0
        eval "rawset(struct, 'x', 1) return 1" 0
        eval "rawset(string, nil, 1) return 1" 0
        eval "return pcall(rawset, string, 'x', 1)" 0
        eval "local ok, e = pcall(rawset, string, 'x', 1) return e" 0
        eval "setmetatable(_G, {}) return 1" 0
        eval "setmetatable(redis, {}) return 1" 0
        eval "setmetatable(string, {}) return 1" 0
        eval "setmetatable(math, {}) return 1" 0
        eval "setmetatable(table, {}) return 1" 0
        eval "setmetatable(coroutine, {}) return 1" 0
        eval "setmetatable(bit, {}) return 1" 0
        eval "setmetatable(cjson, {}) return 1" 0
        eval "setmetatable(cmsgpack, {}) return 1" 0
        eval "setmetatable(struct, {}) return 1" 0
        eval "setmetatable(string, nil) return 1" 0
        eval "local ok, e = pcall(setmetatable, redis, {}) return e" 0
        eval "return _G" 0
        eval "redis.setresp(3) return {verbatim_string={format='a',string='x'}}" 0
        eval "redis.setresp(3) return {verbatim_string={format='abcd',string='x'}}" 0
        eval "redis.setresp(3) return {verbatim_string={format=1,string='x'}}" 0
        eval "redis.setresp(3) return {verbatim_string={format='txt',string=_G}}" 0
        eval "return {type(redis.call), type(redis.pcall), type(cjson.encode), type(struct.pack), type(1), type(nil), type({}), type(cjson.null), type(type)}" 0
        eval "local t = type() return t" 0
        eval "return type(redis.call, 1)" 0
        eval "return string" 0
        eval "return setmetatable({}, {__index = function(t, k) error('boom') end})" 0
        eval "return setmetatable({}, {__index = function(t, k) return 'x' end})" 0
        eval "return setmetatable({}, {__index = function(t, k) if k == 1 then return 7 end end})" 0
        eval "return setmetatable({1, 2}, {__index = function(t, k) return 3 end})" 0
        eval "local co = coroutine.create(function() string.x = 1 end) return {coroutine.resume(co)}" 0
        eval "local co = coroutine.create(function() rawset(_G, 'y', 1) end) return {coroutine.resume(co)}" 0
        eval "return tostring(getmetatable(string))" 0
        eval "return tostring(getmetatable(redis))" 0
        eval "return tostring(getmetatable(cmsgpack))" 0
        eval "return tostring(getmetatable(struct))" 0
        eval "return tostring(getmetatable(bit))" 0
        eval "return type(getmetatable(''))" 0
        eval "return tostring(getmetatable('').__index == string)" 0
        eval "return tostring(getmetatable('') == getmetatable('a'))" 0
        eval "local t = {} for k in pairs(getmetatable('')) do t[#t+1] = k end return t" 0
        eval "getmetatable('').__index = {} return 1" 0
        eval "rawset(getmetatable(''), 'x', 1) return 1" 0
        eval "setmetatable(getmetatable(''), {}) return 1" 0
        eval "return type(getmetatable(getmetatable('')))" 0
        eval "return ('abc'):len()" 0
        eval "return type(getmetatable(_G))" 0
        eval "return tostring(getmetatable(_G) == getmetatable(_G))" 0
        eval "local t = {} for k in pairs(getmetatable(_G)) do t[#t+1] = k end return t" 0
        eval "return type(getmetatable(_G).__index)" 0
        eval "getmetatable(_G).__index = nil return 1" 0
        eval "rawset(getmetatable(_G), 'x', 1) return 1" 0
        eval "local v = getmetatable(_G).__index(_G, 'zz') return v" 0
        eval "return tostring(getmetatable(getmetatable(_G)))" 0
        eval "return rawget(math, 'floor') == math.floor" 0
        eval "return rawget(string, 'len') == string.len" 0
        eval "return rawget(redis, 'call') ~= nil" 0
        eval "return rawget(_G, 'string') == string" 0
        eval "return rawget(_G, 'cmsgpack') == cmsgpack" 0
        eval "return rawget(_G, 'bit') ~= nil" 0
        eval "return rawget(cmsgpack, 'pack') ~= nil" 0
        eval "return rawget(_G, 'nonexistent') == nil" 0
        eval "return type(next(redis))" 0
        eval "return type(next(string))" 0
        eval "return select('#', next(string, nil))" 0
        eval "local n = 0 for k, v in pairs(string) do n = n + 1 end return n" 0
        eval "local n = 0 for k, v in pairs(math) do n = n + 1 end return n" 0
        eval "local n = 0 for k, v in pairs(table) do n = n + 1 end return n" 0
        eval "local n = 0 for k, v in pairs(coroutine) do n = n + 1 end return n" 0
        eval "local n = 0 for k, v in pairs(redis) do n = n + 1 end return n" 0
        eval "local n = 0 for k, v in pairs(bit) do n = n + 1 end return n" 0
        eval "local n = 0 for k, v in pairs(cmsgpack) do n = n + 1 end return n" 0
        eval "local n = 0 for k, v in pairs(struct) do n = n + 1 end return n" 0
        eval "local n = 0 for k, v in pairs(_G) do if k == 'bit' or k == 'cjson' or k == 'cmsgpack' or k == 'struct' then n = n + 1 end end return n" 0
        eval "local f, t, k = pairs(string) return {type(f), tostring(t == string), tostring(k)}" 0
        eval "local f = pairs({}) return tostring(f == next)" 0
        eval "return {#string, #_G, #redis}" 0
        eval "return tostring(rawequal(string, _G.string))" 0
        eval "return #KEYS" 2 a b
        eval "KEYS[1] = 'x' return KEYS[1]" 1 k
        eval "ARGV[1] = 'x' return ARGV[1]" 0 a
        eval "KEYS.x = 1 return KEYS.x" 0
        eval "rawset(KEYS, 1, 'y') return KEYS[1]" 1 k
        eval "setmetatable(ARGV, {__index = function() return 'z' end}) return ARGV[5]" 0
        eval "table.insert(KEYS, 'z') return KEYS" 1 k
        eval "local t = {} t.x = 1 rawset(t, 'y', 2) return t.x + t.y" 0
        eval "local t = setmetatable({}, {__index = function() return 5 end}) return t.x" 0
        eval "return tostring(rawset({}, 'a', 1) ~= nil)" 0
        eval "return tostring(setmetatable({}, nil) ~= nil)" 0
        eval "local t = setmetatable({}, {__metatable = 'p'}) return getmetatable(t)" 0
        eval "local t = setmetatable({}, {__metatable = false}) return type(getmetatable(t))" 0
        eval "local t = setmetatable({}, {__metatable = 'p'}) setmetatable(t, {}) return 1" 0
        eval "return loadstring('return rawget(string, \\"len\\") ~= nil')()" 0
    """),
    "read-only tables: argument errors": lines("""
        eval "rawset() return 1" 0
        eval "rawset(1, 2, 3) return 1" 0
        eval "rawset(string) return 1" 0
        eval "rawset({}, 'x') return 1" 0
        eval "rawset({}, nil, 1) return 1" 0
        eval "rawset({}, 0/0, 1) return 1" 0
        eval "rawget() return 1" 0
        eval "rawget(1) return 1" 0
        eval "rawget(string) return 1" 0
        eval "next() return 1" 0
        eval "next(1) return 1" 0
        eval "next(string, 'nosuch') return 1" 0
        eval "next({}, 'nosuch') return 1" 0
        eval "pairs() return 1" 0
        eval "pairs(1) return 1" 0
        eval "getmetatable() return 1" 0
        eval "setmetatable() return 1" 0
        eval "setmetatable(1, {}) return 1" 0
        eval "setmetatable(string) return 1" 0
        eval "setmetatable(string, 1) return 1" 0
        eval "setmetatable({}, 1) return 1" 0
        eval "local rs = rawset rs() return 1" 0
        eval "local sm = setmetatable sm(1) return 1" 0
        eval "local t = {} t.rawset = rawset t:rawset() return 1" 0
        eval "local t = {} t.rawset = rawset t.rawset() return 1" 0
        eval "local t = {} t.rs = rawset t:rs(5) return 1" 0
        eval "local t = {} t.sm = setmetatable t:sm(5) return 1" 0
        eval "return {pcall(rawget, _G)}" 0
        eval "return {pcall(rawset)}" 0
        eval "return {pcall(next)}" 0
        eval "return {pcall(getmetatable)}" 0
        eval "return {pcall(setmetatable, 1)}" 0
        eval "local ok, e = pcall(function() rawset(1, 2, 3) end) return e" 0
        eval "local ok, e = pcall(function() local t = setmetatable({}, {__metatable = 1}) setmetatable(t, nil) end) return e" 0
    """),
    "coroutine.wrap errors": lines("""
        eval "coroutine.wrap(function() error('x') end)() return 1" 0
        eval "coroutine.wrap(function() error('x', 0) end)() return 1" 0
        eval "coroutine.wrap(function() error(5, 0) end)() return 1" 0
        eval "coroutine.wrap(function() error({err='y'}) end)() return 1" 0
        eval "coroutine.wrap(function() local x = nil + 1 end)() return 1" 0
        eval "return {pcall(coroutine.wrap(function() error('x', 0) end))}" 0
        eval "local f = coroutine.wrap(function() return 1 end) f() f() return 1" 0
        eval "local f = coroutine.wrap(function() coroutine.yield(1, 2) return 3 end) return {f(), f()}" 0
        eval "coroutine.wrap(function() coroutine.wrap(function() error('in', 0) end)() end)() return 1" 0
        eval "coroutine.wrap(function() redis.call('nosuch') end)() return 1" 0
        eval "local ok, e = pcall(function() coroutine.wrap(function() error('x', 0) end)() end) return e" 0
        eval "coroutine.wrap(function() rawset(_G, 'x', 1) end)() return 1" 0
        eval "coroutine.wrap(function() string.x = 1 end)() return 1" 0
    """),
    "libraries": lines("""
        eval "return cjson.encode({1,2,{a=1}})" 0
        eval "return cjson.decode('[1,2,3]')[2]" 0
        eval "return cjson.encode({a={1,2}})" 0
        eval "return cjson.encode('x')" 0
        eval "return cjson.encode({})" 0
        eval "return cjson.decode('{\\"a\\":[1,2,{\\"b\\":null}]}')['a'][2]" 0
        eval "return bit.band(7,3)" 0
        eval "return bit.bor(1,2,4)" 0
        eval "return bit.bxor(5, 3, 1)" 0
        eval "return bit.bnot(0)" 0
        eval "return bit.tobit(4294967297)" 0
        eval "return bit.lshift(1, 31)" 0
        eval "return bit.rshift(-1, 28)" 0
        eval "return bit.arshift(-256, 4)" 0
        eval "return bit.rol(0x12345678, 8)" 0
        eval "return bit.ror(0x12345678, 8)" 0
        eval "return bit.bswap(0x12345678)" 0
        eval "return bit.tohex(-1)" 0
        eval "return bit.tohex(255, -4)" 0
        eval "return bit.tohex(255, 2)" 0
    """),
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_scripts_as_in_redis(name: str, real_redis: RawRedis, local_client: LocalClient) -> None:
    for client in (real_redis, local_client):
        client.execute([b"SELECT", b"0"])
        client.execute([b"FLUSHALL"])
        client.execute([b"SCRIPT", b"FLUSH"])
    local_client.session.db = 0
    for i, argv in enumerate(SEQUENCES[name]):
        theirs = run(real_redis, argv)
        ours = run(local_client, argv)
        assert same(argv[0].lower(), ours, theirs), (
            f"command #{i} {b' '.join(argv)!r}: redis {theirs!r}, seshat {ours!r}"
        )
