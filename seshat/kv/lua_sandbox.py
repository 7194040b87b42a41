"""The Lua 5.1 environment a script runs in, as Redis 7 builds it, and nothing else.

A script runs inside apply on every replica (`seshat/kv/scripts.py`), so the same script over the
same state must do the same thing everywhere. That decides how this sandbox is built:

- **A fresh Lua state per run.** Nothing a script leaves behind (a changed library table, garbage
  that moves the next run's collector or memory limit) can reach the next run, whose history
  differs from one replica to another (restarts, snapshots, read-only scripts run on one node).
  A state costs about 80 us to make here, against a replicated write's 1-2 ms. What few scripts
  use is built the first time a script names it (`LAZY` in `_SETUP`), so the others do not load
  its code: `bit`, `cjson`, `cmsgpack`, `struct`, and `_EXTRAS` (rawget, rawset, getmetatable,
  setmetatable, load, coroutine): half of the Lua a state would otherwise load.
- **A deterministic budget.** Redis stops a long script after a wall-clock time (SCRIPT KILL).
  A wall clock would stop the script at a different point on each replica, so the budget here
  counts Lua instructions (a count hook every `HOOK_EVERY`) and Redis calls
  (`CALL_COST` each). Past `BUDGET` the script fails the same way everywhere, and nothing it
  does (pcall, xpcall, a coroutine) can catch that failure.
- **Deterministic randomness.** `math.random` draws from a generator the host seeds per run;
  Lua's own uses the C library's process-wide state.
- **Read-only globals and libraries, as Redis 7.** A fresh state already keeps a change from
  leaking, but a script that assigns to `_G`, `redis`, `string`, `math`, `table`, `coroutine`,
  `bit`, `cjson`, `cmsgpack`, `struct` or the strings' metatable must fail as in Redis. Redis
  flags those tables in its patched Lua; stock Lua 5.1 has no such flag, and `__newindex` fires
  only for absent keys, so a script sees an empty proxy of each (`readonly`): reads pass through
  `__index`, writes fail with `user_script:N: Attempt to modify a readonly table`. The raw
  functions would go around a proxy, so the script's `rawget`, `next`, `pairs` look through it
  (`pairs(string)` lists string's functions, as in Redis), `rawset` and `setmetatable` refuse it
  (without a line, as Redis raises that in C) and `getmetatable` shows what Redis's does (nil for
  a library, a read-only table for `_G` and strings). Those replacements are Lua functions, so a
  script that tail-calls one (`return rawset()`) loses its own frame and the error its line;
  `table.insert` into a library table writes into the proxy, where Redis refuses it (wrapping
  that hot function would cost every script that uses it). KEYS, ARGV and the script's own
  tables stay writable, as in Redis.

What Redis offers is here: the globals Redis 7 exposes (no `os`, `io`, `debug`, `require`,
`print`...), with Redis's error for a missing one, the `redis` table (call, pcall,
error_reply, status_reply, sha1hex, setresp, log, set_repl, replicate_commands, breakpoint,
debug, acl_check_cmd and the constants), `bit` (LuaBitOp), and `cjson`, `cmsgpack` and
`struct` (`seshat/kv/lua_cjson.py`, `lua_msgpack.py`, `lua_struct.py`: pure Python codecs that
follow Redis 7.0.15's C libraries, error texts included). Left out: the Lua debugger (SCRIPT DEBUG).

What stays the script's job, as it was in Redis before 5.0 replicated scripts by their
effects: what `tostring` of a table or a function prints (an address), and the order `pairs`
visits keys that are tables or functions, differ between processes. A script that writes
something derived from those writes different things on different replicas.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import lupa.lua51 as lua  # type: ignore[import-untyped]

from seshat.kv import lua_cjson, lua_msgpack, lua_struct
from seshat.kv.lua_bytecode import compile_stripped
from seshat.protocol.numbers import format_double
from seshat.protocol.replies import (
    BigNumber,
    Double,
    ErrorReply,
    HumanDouble,
    KeyedArrays,
    Map,
    NullArray,
    Pairs,
    Reply,
    Set,
    SimpleString,
    Verbatim,
)

HOOK_EVERY: Final = 100_000  # Lua instructions between two budget checks
CALL_COST: Final = 1_000  # what one redis.call or redis.pcall costs, in instructions
PACK_TABLE_COST: Final = 1_000  # what cmsgpack.pack costs per table it encodes
BUDGET: Final = 100_000_000  # about a third of a second of Lua here; the same on every replica
MEMORY_MAX: Final = 256 << 20  # bytes one run may allocate at once
BUDGET_EXCEEDED: Final = (
    f"ERR Script exceeded Seshat's deterministic budget of {BUDGET:,} Lua instructions"
    f" (each Redis call counts as {CALL_COST:,})"
)
REDIS_VERSION: Final = b"7.0.15"
REDIS_VERSION_NUM: Final = 0x07000F
CHUNK_NAME: Final = b"@user_script"
FUNCTION_CHUNK_NAME: Final = b"@user_function"  # a Redis 7 function library's code

# Runs once per state, before the script: builds Redis's globals from the Python hooks it is
# handed, then hides everything else. Only closures reach the hooks (upvalues), and scripts get
# no `debug` library to read upvalues with.
_SETUP: Final = r"""
local redis_call, redis_pcall, redis_setresp, redis_log, redis_acl, py_error_of, py_random,
      py_reseed, py_sha1, py_charge, py_library, keys, argv, version, version_num, budget_error,
      chunk_source = ...
local dbg, error, type, tostring, select, setfenv = debug, error, type, tostring, select, setfenv
local raw_rawget, raw_rawset, raw_next, raw_setmetatable = rawget, rawset, next, setmetatable
local getinfo, dbg_getmetatable = dbg.getinfo, dbg.getmetatable
local KILLED = {err = budget_error}

-- The budget: a count hook charges the instructions since the last one. Lua 5.1 keeps a Lua
-- hook per thread, so every coroutine gets it too.
local function charge() if py_charge() then error(KILLED, 0) end end
dbg.sethook(charge, "", HOOK_EVERY)

-- The redis.* functions are Python callables, C functions to Lua, so a script's frame stays on
-- the stack when it tail-calls one and the error can name its line, as in Redis. An error they
-- raise reaches Lua as a userdata; this turns it into Redis's error table, or KILLED.
local function as_error(e)
  if type(e) == 'userdata' then
    local killed, message, positional, bare = py_error_of(e)
    if killed then return KILLED end
    if bare then return message end  -- a C library's error string (cmsgpack, struct), as is
    return {err = message, positional = positional}
  end
  return e
end

-- pcall as Redis 7 wraps it: an error table becomes its `err` text; the budget's error
-- cannot be caught.
local function settle(ok, ...)
  if ok then return ok, ... end
  local e = as_error((...))
  if e == KILLED then error(KILLED, 0) end
  if type(e) == 'table' and type(raw_rawget(e, 'err')) == 'string' then return false, e.err end
  return false, e
end
local function rethrow_kill(ok, ...)
  if ok then return ok, ... end
  local e = as_error((...))
  if e == KILLED then error(KILLED, 0) end
  return false, e
end
local raw_pcall, raw_xpcall = pcall, xpcall
pcall = function(f, ...) return settle(raw_pcall(f, ...)) end
xpcall = function(f, handler)
  return rethrow_kill(raw_xpcall(f, function(e)
    e = as_error(e)
    if e == KILLED then return KILLED end
    return handler(e)
  end))
end

local redis = {
  call = redis_call,
  pcall = redis_pcall,
  setresp = redis_setresp,
  log = redis_log,
  acl_check_cmd = redis_acl,
  error_reply = function(e)
    if type(e) ~= 'string' then error("wrong number or type of arguments", 2) end
    return {err = e}
  end,
  status_reply = function(s)
    if type(s) ~= 'string' then error("wrong number or type of arguments", 2) end
    return {ok = s}
  end,
  sha1hex = function(s)
    if type(s) ~= 'string' and type(s) ~= 'number' then
      error("wrong number of arguments", 2)
    end
    return py_sha1(tostring(s))
  end,
  set_repl = function(flags) end,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function(...) end,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = version, REDIS_VERSION_NUM = version_num,
}

-- math.random and math.randomseed as Lua 5.1 defines them, over the host's generator.
math.random = function(m, n)
  local r = py_random()
  if m == nil then return r end
  if n == nil then
    if m < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return math.floor(r * m) + 1
  end
  if m > n then error("bad argument #2 to 'random' (interval is empty)", 2) end
  return math.floor(r * (n - m + 1)) + m
end
math.randomseed = function(seed) py_reseed(seed) end

-- Read-only tables. Redis 7 flags its globals and library tables read-only in its patched Lua;
-- stock Lua 5.1 has no such flag, and `__newindex` fires only for absent keys, so a script sees
-- an empty proxy for each: reads pass through `__index` to the real table, writes fail. The raw
-- functions would bypass a proxy, so the script gets replacements that look through it (rawget,
-- next, pairs) or refuse it (rawset, setmetatable) with Redis's texts. A proxy's `__metatable` is
-- what getmetatable shows: nothing (HIDDEN) as for Redis's libraries, or a read-only copy of the
-- metatable Redis gives `_G` and strings. No path hands a script a real table, only proxies.
local READONLY = "Attempt to modify a readonly table"
local HIDDEN, real_of = {}, {}
local function readonly_error() error(READONLY, 2) end
local function readonly(real, shown)
  local proxy = raw_setmetatable({}, {
    __index = real, __newindex = readonly_error, __metatable = shown or HIDDEN,
  })
  real_of[proxy] = real
  return proxy
end

-- Globals built the first time a script names one (global_of), so a script that does not pays
-- nothing for them: libraries few scripts use (LIBRARY: a Python hook makes the real table), and
-- the other functions that must see through read-only tables, `load` and the budgeted
-- `coroutine` (EXTRA: the chunk `_EXTRAS`, which would make this one half as big again).
local LIBRARY, EXTRA = 1, 2
local LAZY = {
  bit = LIBRARY, cjson = LIBRARY, cmsgpack = LIBRARY, struct = LIBRARY,
  coroutine = EXTRA, getmetatable = EXTRA, load = EXTRA, rawget = EXTRA, rawset = EXTRA,
  setmetatable = EXTRA,
}
local globals, global_of, all_globals, loadstring, arg_error, not_a_table
local function extras()
  if arg_error == nil then
    arg_error, not_a_table = py_library('extras')(
      globals, real_of, HIDDEN, readonly, global_of, loadstring, charge, rethrow_kill)
  end
end
function global_of(name)
  local kind = LAZY[name]
  if kind == LIBRARY then
    local lib = readonly(py_library(name))
    raw_rawset(globals, name, lib)
    return lib
  elseif kind == EXTRA then
    extras()
    return raw_rawget(globals, name)
  end
end
function all_globals()  -- before a traversal of _G starts: Redis's _G has them all
  for name in raw_next, LAZY do
    if raw_rawget(globals, name) == nil then global_of(name) end
  end
end

-- next and pairs, used more than the others, see through read-only tables from here; their
-- argument errors take `_EXTRAS`'s arg_error (loaded first), called from them so that it names
-- them and their caller's line.
local function next(...)
  local t, k = ...
  local real = real_of[t]
  if real == nil then
    if type(t) ~= 'table' then
      extras()
      arg_error(1, not_a_table(t, select('#', ...) > 0))
    end
    return raw_next(t, k)
  end
  if k == nil and real == globals then all_globals() end
  return raw_next(real, k)
end
local function pairs(...)
  local t = ...
  if real_of[t] ~= nil then return next, t, nil end
  if type(t) ~= 'table' then
    extras()
    arg_error(1, not_a_table(t, select('#', ...) > 0))
  end
  return raw_next, t, nil
end

-- redis.call and the libraries' functions are Python callables, userdata to Lua; Redis's are
-- C functions, and scripts test `type(f) == 'function'`.
local python_meta = dbg_getmetatable(redis_call)
local function script_type(...)
  if select('#', ...) == 0 then error("bad argument #1 to 'type' (value expected)", 2) end
  local t = type((...))
  if t == 'userdata' and dbg_getmetatable((...)) == python_meta then return 'function' end
  return t
end

-- The globals a script sees: Redis's, read-only, with Redis's errors for a missing name or a
-- new one. Chunks that the script's `loadstring`/`load` make see them too.
globals = {
  _VERSION = _VERSION, assert = assert, collectgarbage = collectgarbage, error = error,
  gcinfo = gcinfo, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  rawequal = rawequal, select = select, tonumber = tonumber, tostring = tostring, type = script_type,
  unpack = unpack, xpcall = xpcall, KEYS = keys, ARGV = argv, redis = readonly(redis),
  math = readonly(math), string = readonly(string), table = readonly(table),
}
local function missing(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end
local env = readonly(globals, readonly({__index = missing}))
raw_setmetatable(globals, {__index = function(_, name)
  local lib = global_of(name)
  if lib ~= nil then return lib end
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end})
local raw_loadstring = _G.loadstring
function loadstring(text, name)
  if type(text) == 'string' and text:byte(1) == 27 then
    return nil, "loading bytecode is not allowed"
  end
  local f, message = raw_loadstring(text, name)
  if f then setfenv(f, env) end
  return f, message
end
globals._G, globals.loadstring = env, loadstring
-- Strings index the real `string` (no proxy on that path); getmetatable("") shows Redis's
-- read-only {__index = string}.
dbg_getmetatable("").__metatable = readonly({__index = globals.string})

-- Redis's error handler: a table with `err`, and where in the user's script it happened.
local function handler(e)
  e = as_error(e)
  if e == KILLED then return KILLED end
  local level, info = 2, nil
  repeat
    info = getinfo(level, "Sl")
    level = level + 1
  until info == nil or info.source == chunk_source
  if type(e) ~= 'table' then e = {err = "ERR " .. tostring(e)} end
  if info then
    e.source, e.line = info.source, info.currentline
    if e.positional then
      e.err = "ERR " .. chunk_source:sub(2) .. ":" .. info.currentline .. ": " .. e.err
    end
  end
  return e
end

local function runner(fn)
  setfenv(fn, env)
  return raw_xpcall(fn, handler)
end

return runner, handler, env, raw_xpcall, KILLED, global_of, globals, readonly
"""

# Builds `cmsgpack`, `struct` or `cjson` (the real table; the setup makes it read-only) in a state
# whose script first names one. Their functions are Python callables: C functions to Lua, so the
# script's frame stays on the stack when it tail-calls one and an error names the script's line.
_LIBRARIES: Final = r"""
local name, a, b, c, d = ...
if name == 'cmsgpack' then
  return {pack = a, unpack = b, unpack_one = c, unpack_limit = d, _NAME = 'cmsgpack',
          _VERSION = 'lua-cmsgpack 0.4.0', _COPYRIGHT = 'Copyright (C) 2012, Salvatore Sanfilippo',
          _DESCRIPTION = 'MessagePack C implementation for Lua'}
elseif name == 'struct' then
  return {pack = a, unpack = b, size = c}
elseif name == 'null' then
  -- lua-cjson's null is a NULL lightuserdata, which prints as "userdata: (nil)"
  local null = newproxy(true)
  getmetatable(null).__tostring = function() return 'userdata: (nil)' end
  return null
elseif name == 'rawequal' then
  return rawequal
end
local functions, null = a, b
local t = {_NAME = 'cjson', _VERSION = '2.1.0', null = null}
for key, fn in pairs(functions) do t[key] = fn end
return t
"""

# LuaBitOp, as Redis bundles it (32-bit two's complement results): built the first time a script
# names `bit`, so its code is not loaded into every state.
_BIT: Final = r"""
local floor, format, select = math.floor, string.format, select
local function tobit(x)
  x = x % 4294967296
  if x >= 2147483648 then x = x - 4294967296 end
  return x
end
local function u32(x) return tobit(x) % 4294967296 end
local function bitwise(a, b, rule)
  local r, p = 0, 1
  a, b = u32(a), u32(b)
  for _ = 1, 32 do
    local x, y = a % 2, b % 2
    if rule(x, y) then r = r + p end
    a, b, p = (a - x) / 2, (b - y) / 2, p * 2
  end
  return tobit(r)
end
local function fold(rule)
  return function(a, ...)
    local r = tobit(a)
    for i = 1, select('#', ...) do r = bitwise(r, (select(i, ...)), rule) end
    return r
  end
end
return {
  tobit = tobit,
  bnot = function(a) return tobit(-1 - u32(a)) end,
  band = fold(function(x, y) return x == 1 and y == 1 end),
  bor = fold(function(x, y) return x == 1 or y == 1 end),
  bxor = fold(function(x, y) return x ~= y end),
  lshift = function(a, n) return tobit(u32(a) * 2 ^ (n % 32)) end,
  rshift = function(a, n) return tobit(floor(u32(a) / 2 ^ (n % 32))) end,
  arshift = function(a, n) return tobit(floor(tobit(a) / 2 ^ (n % 32))) end,
  rol = function(a, n)
    n = n % 32
    local x = u32(a)
    return tobit(x * 2 ^ n + floor(x / 2 ^ (32 - n)))
  end,
  ror = function(a, n)
    n = n % 32
    local x = u32(a)
    return tobit(floor(x / 2 ^ n) + x * 2 ^ (32 - n))
  end,
  bswap = function(a)
    local x = u32(a)
    local b0, b1, b2, b3 = x % 256, floor(x / 256) % 256,
                           floor(x / 65536) % 256, floor(x / 16777216)
    return tobit(((b0 * 256 + b1) * 256 + b2) * 256 + b3)
  end,
  tohex = function(a, n)
    n = n or 8
    local upper = n < 0
    if upper then n = -n end
    local s = format(upper and "%08X" or "%08x", u32(a))
    return s:sub(-n)
  end,
}
"""

# The globals `_SETUP` builds the first time a script names one of them (see LAZY there): the
# functions that must see through read-only tables, `load`, and `coroutine` with the budget.
_EXTRAS: Final = r"""
local globals, real_of, HIDDEN, readonly, global_of, loadstring, charge, rethrow_kill = ...
local error, type, select, concat = error, type, select, table.concat
local getinfo, dbg_getmetatable, sethook = debug.getinfo, debug.getmetatable, debug.sethook
local raw_rawget, raw_rawset, raw_getmetatable, raw_setmetatable =
      rawget, rawset, getmetatable, setmetatable
local READONLY = "Attempt to modify a readonly table"

-- The replacements fail as the C functions do: luaL_argerror's text, naming the function as the
-- script called it ('?' through pcall), at the script's line (level 3: arg_error, the
-- replacement, its caller). A script that tail-calls one (`return rawset()`) loses its frame, so
-- that error has no line: Redis's C functions keep it. `_SETUP`'s next and pairs use these too.
local function arg_error(n, message)
  local info = getinfo(2, "n")
  local name = info.name or "?"
  if info.namewhat == "method" then
    n = n - 1
    if n == 0 then error("calling '" .. name .. "' on bad self (" .. message .. ")", 3) end
  end
  error("bad argument #" .. n .. " to '" .. name .. "' (" .. message .. ")", 3)
end
local function not_a_table(v, given)
  return "table expected, got " .. (given and type(v) or "no value")
end

local function rawget(...)
  local t, k = ...
  local real = real_of[t]
  if real == nil then
    if type(t) ~= 'table' then arg_error(1, not_a_table(t, select('#', ...) > 0)) end
    real = t
  end
  if k == nil and select('#', ...) < 2 then arg_error(2, "value expected") end
  local v = raw_rawget(real, k)
  if v == nil and real == globals then return global_of(k) end
  return v
end
local function rawset(...)
  local t, k, v = ...
  if type(t) ~= 'table' then arg_error(1, not_a_table(t, select('#', ...) > 0)) end
  if v == nil then
    local given = select('#', ...)
    if given < 3 then arg_error(given + 1, "value expected") end
  end
  if real_of[t] ~= nil then error(READONLY, 0) end  -- raised in C in Redis: no line
  return raw_rawset(t, k, v)
end
local function getmetatable(...)
  local v = ...
  if v == nil and select('#', ...) == 0 then arg_error(1, "value expected") end
  local mt = raw_getmetatable(v)
  if mt == HIDDEN then return nil end
  return mt
end
local function setmetatable(...)
  local t, mt = ...
  if type(t) ~= 'table' then arg_error(1, not_a_table(t, select('#', ...) > 0)) end
  if type(mt) ~= 'table' and (mt ~= nil or select('#', ...) < 2) then
    arg_error(2, "nil or table expected")
  end
  local old = dbg_getmetatable(t)
  if old ~= nil and raw_rawget(old, '__metatable') ~= nil then
    if real_of[t] ~= nil then error(READONLY, 0) end
    error("cannot change a protected metatable", 2)
  end
  return raw_setmetatable(t, mt)
end

local function load(reader, name)
  if type(reader) ~= 'function' then error("bad argument #1 to 'load' (function expected)", 2) end
  local parts = {}
  while true do
    local part = reader()
    if part == nil or part == '' then break end
    parts[#parts + 1] = part
  end
  return loadstring(concat(parts), name)
end

-- Coroutines get the budget's count hook (Lua 5.1 keeps one per thread), and resume cannot
-- catch the budget's error.
local raw_resume, raw_create = coroutine.resume, coroutine.create
local function create(f)
  local co = raw_create(f)
  sethook(co, charge, "", HOOK_EVERY)
  return co
end
coroutine.create = create
coroutine.resume = function(co, ...) return rethrow_kill(raw_resume(co, ...)) end
-- wrap's function fails with the coroutine's error, a string prefixed with where that function
-- was called, as Lua's C one does (level 3: pass has taken the place of that function, whose
-- caller comes next).
local function pass(ok, ...)
  if ok then return ... end
  local e = (...)
  if type(e) == 'string' or type(e) == 'number' then error(e, 3) end
  error(e, 0)
end
coroutine.wrap = function(f)
  local co = create(f)
  return function(...) return pass(rethrow_kill(raw_resume(co, ...))) end
end

globals.rawget, globals.rawset, globals.getmetatable = rawget, rawset, getmetatable
globals.setmetatable, globals.load, globals.coroutine = setmetatable, load, readonly(coroutine)
return arg_error, not_a_table
"""

# Runs after `_SETUP` in a state that loads a Redis 7 function library (FUNCTION LOAD, FCALL), and
# only there: an EVAL pays for none of it.
_LIBRARY_SETUP: Final = r"""
local handler, raw_xpcall, KILLED, global_of, globals, readonly, redis_log, version,
      version_num = ...
local error, type, tostring, select, pairs, setmetatable, rawget, setfenv =
      error, type, tostring, select, pairs, setmetatable, rawget, setfenv
-- Redis 7 functions. A library's code runs once with only redis.register_function, redis.log,
-- the LOG_* levels and the version constants to see (each lookup of anything else fails as a
-- missing global); the callbacks it registers then see the globals above (no KEYS, no ARGV).
-- As in Redis, the chunk's globals are one table whose lookups go to the load-time table while
-- the code loads and to the full one afterwards.
local FLAGS = {['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true,
               ['no-cluster'] = true, ['allow-cross-slot-keys'] = true}
local function missing(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end
local function readonly_error() error("Attempt to modify a readonly table", 2) end
local function load_library(chunk)
  local loading, seen, registered = true, {}, {}
  local function fail(message) error({err = 'ERR ' .. message}, 0) end
  local function is_text(v) return type(v) == 'string' or type(v) == 'number' end
  local function register(...)
    if not loading then fail("redis.register_function can only be called on FUNCTION LOAD command") end
    local n, name, callback, flags, description = select('#', ...), nil, nil, {}, nil
    if n == 1 then
      local t = ...
      if type(t) ~= 'table' then
        fail("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
      end
      for k, v in pairs(t) do
        if not is_text(k) then
          fail("named argument key given to redis.register_function is not a string")
        end
        if k == 'function_name' then
          if not is_text(v) then
            fail("function_name argument given to redis.register_function must be a string")
          end
          name = tostring(v)
        elseif k == 'description' then
          if not is_text(v) then
            fail("description argument given to redis.register_function must be a string")
          end
          description = tostring(v)
        elseif k == 'callback' then
          if type(v) ~= 'function' then
            fail("callback argument given to redis.register_function must be a function")
          end
          callback = v
        elseif k == 'flags' then
          if type(v) ~= 'table' then
            fail("flags argument to redis.register_function must be a table representing function flags")
          end
          for _, flag in pairs(v) do
            if type(flag) ~= 'string' or not FLAGS[flag] then fail("unknown flag given") end
            flags[#flags + 1] = flag
          end
        else
          fail("unknown argument given to redis.register_function")
        end
      end
      if name == nil then fail("redis.register_function must get a function name argument") end
      if callback == nil then fail("redis.register_function must get a callback argument") end
    elseif n == 2 then
      local a, b = ...
      if not is_text(a) then fail("first argument to redis.register_function must be a string") end
      if type(b) ~= 'function' then
        fail("second argument to redis.register_function must be a function")
      end
      name, callback = tostring(a), b
    else
      fail("wrong number of arguments to redis.register_function")
    end
    if name == '' or name:find('[^%w_]') then
      fail("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
    end
    if seen[name] then fail("Function already exists in the library") end
    seen[name] = true
    registered[#registered + 1] =
      {name = name, callback = callback, flags = flags, description = description}
  end
  local lib_env = {redis = readonly(setmetatable({
    register_function = register, log = redis_log,
    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REDIS_VERSION = version, REDIS_VERSION_NUM = version_num,
  }, {__index = missing}))}
  local current = lib_env
  setfenv(chunk, setmetatable({}, {
    __index = function(_, name)
      local value = rawget(current, name)
      if value == nil and current == globals then value = global_of(name) end
      if value == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
      end
      return value
    end,
    __newindex = readonly_error,
    __metatable = false,
  }))
  local ok, e = raw_xpcall(chunk, handler)
  loading, current = false, globals
  if not ok then
    if e == KILLED then e = {err = "ERR FUNCTION LOAD timeout"} end
    return false, e
  end
  return true, registered
end

-- A registered callback, called as Redis calls it: with the keys and the arguments.
local function call_function(callback, keys, args)
  return raw_xpcall(function() return callback(keys, args) end, handler)
end

return load_library, call_function
"""


@functools.lru_cache(maxsize=256)
def compile_error(body: bytes) -> str | None:
    """Redis's message when `body` is not valid Lua, or None. Compiling touches no state, so
    the answer is kept: clients send the same few scripts again and again."""
    runtime = lua.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    fn, message = _load(runtime, body)
    return None if fn is not None else _compile_failure(message)


def _compile_failure(message: Any) -> str:
    return "ERR Error compiling script (new function): " + _text(message)


@functools.cache
def _bytecode(name: str) -> bytes:
    source = {
        "setup": _SETUP,
        "library": _LIBRARY_SETUP,
        "libraries": _LIBRARIES,
        "bit": _BIT,
        "extras": _EXTRAS,
    }[name]
    return compile_stripped(source.replace("HOOK_EVERY", str(HOOK_EVERY)))


def _load_chunk(runtime: Any, name: str) -> Any:
    """One of the sandbox's chunks in `runtime`, from bytecode made once per process."""
    return runtime.globals().loadstring(_bytecode(name), b"=seshat_" + name.encode())


def _load(runtime: Any, body: bytes, chunk: bytes = CHUNK_NAME) -> tuple[Any, Any]:
    """`loadstring(body, "@user_script")`: the function, or None and the message."""
    if body[:1] == b"\x1b":  # Lua bytecode: it could break out of the VM (as Redis, refuse it)
        return None, chunk[1:] + b":1: unexpected symbol near 'char(27)'"
    result = runtime.globals().loadstring(_as_lua_source(body), chunk)
    return result if isinstance(result, tuple) else (result, None)


Dispatch = Callable[[list[bytes], int], Reply]
"""What `redis.call` reaches: the command's words and the script's RESP version -> a Reply."""


REPLY_DEPTH_MAX: Final = 200
"""Nested tables a script's reply may hold: the RESP encoder takes three frames a level, and
Python's recursion stops at 1,000."""
STACK_LIMIT: Final = ErrorReply("ERR reached lua stack limit")


class Run:
    """One script execution; see the module docstring."""

    __slots__ = ("_cjson_null", "_dispatch", "_random", "_raw", "_runtime", "_spent", "resp")

    _runtime: Any
    _raw: Any

    def __init__(self, dispatch: Dispatch, random_source: Any) -> None:
        self._dispatch = dispatch
        self._random = random_source
        self._spent = 0
        self.resp = 2
        self._cjson_null: Any = None

    def _open(self, keys: list[bytes] | None, argv: list[bytes] | None, chunk: bytes) -> Any:
        """A fresh state with Redis's environment: (runner, handler, env, raw_xpcall, KILLED,
        global_of, globals, readonly)."""
        runtime = lua.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            max_memory=MEMORY_MAX,
            attribute_filter=_no_attributes,
        )
        self._runtime = runtime
        # Lua's own rawget, taken before the sandbox hides it: a script's reply and error are
        # read with raw lookups, as Redis does (lua_rawget), so a table whose __index raises
        # (the read-only `_G`) converts as Redis converts it instead of failing the apply.
        self._raw = runtime.globals()[b"rawget"]
        setup = _load_chunk(runtime, "setup")
        return setup(
            self._redis_call, self._redis_pcall, self._set_resp, _log, _acl_check_cmd,
            _error_of, self._draw, self._reseed, sha1hex, self._charge, self._library,
            None if keys is None else runtime.table_from(keys),
            None if argv is None else runtime.table_from(argv),
            REDIS_VERSION, REDIS_VERSION_NUM, BUDGET_EXCEEDED.encode(), chunk,
        )  # fmt: skip

    def execute(self, body: bytes, sha: str, keys: list[bytes], argv: list[bytes]) -> Reply:
        """Run `body` and return its reply, as Redis's EVAL (a compile error included)."""
        runner = self._open(keys, argv, CHUNK_NAME)[0]
        runtime = self._runtime
        fn, message = _load(runtime, body)
        if fn is None:
            self._runtime = None
            return ErrorReply(_compile_failure(message))
        try:
            result = runner(fn)
        except lua.LuaMemoryError:
            return ErrorReply(f"ERR Script used more than {MEMORY_MAX >> 20} MiB of Lua memory")
        finally:
            self._runtime = None  # the state holds our hooks: break the cycle, free it now
        if not isinstance(result, tuple):
            result = (result,)
        ok, value = result[0], result[1] if len(result) > 1 else None
        if not ok:
            return _failure(value, sha, self._raw)
        return self._to_reply(value)

    def load_library(self, code: bytes) -> list[FunctionInfo] | ErrorReply:
        """Run a function library's code as FUNCTION LOAD does: the functions it registers (in
        registration order), or Redis's error."""
        try:
            load_library, _call = self._open_library()
            loaded = self._load_library(load_library, code)
            if isinstance(loaded, ErrorReply):
                return loaded
            return [
                FunctionInfo(
                    bytes(f[b"name"]),
                    tuple(bytes(flag) for flag in f[b"flags"].values()),
                    None if f[b"description"] is None else bytes(f[b"description"]),
                )
                for f in loaded
            ]
        except lua.LuaMemoryError:
            return ErrorReply(f"ERR Script used more than {MEMORY_MAX >> 20} MiB of Lua memory")
        finally:
            self._runtime = None

    def call_function(
        self, code: bytes, name: bytes, keys: list[bytes], args: list[bytes]
    ) -> Reply:
        """FCALL: load the library `code` into a fresh state, then call its function `name`
        with (keys, args), as Redis does; errors carry `script: <name>, on @user_function:N.`"""
        try:
            load_library, call = self._open_library()
            loaded = self._load_library(load_library, code)
            if isinstance(loaded, ErrorReply):
                return loaded
            callback = next((f[b"callback"] for f in loaded if f[b"name"] == name), None)
            if callback is None:
                return ErrorReply("ERR Function not found")
            runtime = self._runtime
            result = call(callback, runtime.table_from(keys), runtime.table_from(args))
            if not isinstance(result, tuple):
                result = (result,)
            ok, value = result[0], result[1] if len(result) > 1 else None
            if not ok:
                return _failure(value, _text(name), self._raw)
            return self._to_reply(value)
        except lua.LuaMemoryError:
            return ErrorReply(f"ERR Script used more than {MEMORY_MAX >> 20} MiB of Lua memory")
        finally:
            self._runtime = None

    def _open_library(self) -> Any:
        """A fresh state for a function library: (load_library, call_function)."""
        _runner, handler, _env, *internals = self._open(None, None, FUNCTION_CHUNK_NAME)
        library_setup = _load_chunk(self._runtime, "library")
        return library_setup(handler, *internals, _log, REDIS_VERSION, REDIS_VERSION_NUM)

    def _load_library(self, load_library: Any, code: bytes) -> list[Any] | ErrorReply:
        fn, message = _load(self._runtime, code, FUNCTION_CHUNK_NAME)
        if fn is None:
            return ErrorReply("ERR Error compiling function: " + _text(message))
        ok, value = load_library(fn)
        if not ok:
            text = self._raw(value, b"err") if lua.lua_type(value) == "table" else value
            return ErrorReply("ERR Error registering functions: " + _text(text))
        return list(value.values())

    # -- hooks the Lua side calls -------------------------------------------------------------

    def _charge(self) -> bool:
        self._spent += HOOK_EVERY
        return self._spent > BUDGET

    def _redis_call(self, *args: Any) -> Any:
        """redis.call: the reply, or a raised error the script fails with unless it catches it."""
        reply = self._run_command(args)
        if isinstance(reply, ErrorReply):
            raise ScriptError(reply.message)
        return self._to_lua(reply)

    def _redis_pcall(self, *args: Any) -> Any:
        """redis.pcall: the reply, an error as Redis's error table."""
        try:
            reply = self._run_command(args)
        except ScriptError as error:
            if error.killed:
                raise
            reply = ErrorReply(error.message)
        if isinstance(reply, ErrorReply):
            return self._runtime.table_from({b"err": reply.message.encode()})
        return self._to_lua(reply)

    def _run_command(self, args: tuple[Any, ...]) -> Reply:
        self._spent += CALL_COST
        if self._spent > BUDGET:
            raise ScriptError(BUDGET_EXCEEDED, killed=True)
        return self._dispatch(command_words(args), self.resp)

    def _draw(self) -> float:
        return float(self._random.random())

    def _reseed(self, seed: Any) -> None:
        self._random.seed(seed)

    def _set_resp(self, *args: Any) -> None:
        if len(args) != 1:
            raise ScriptError("ERR redis.setresp() requires one argument.")
        if args[0] not in (2, 3) or isinstance(args[0], bool):
            raise ScriptError("ERR RESP version must be 2 or 3.")
        self.resp = int(args[0])

    def _cjson(self) -> Any:
        """A `cjson` table with lua-cjson's default settings (`cjson.new` makes another; all
        share one `cjson.null`)."""
        runtime = self._runtime
        libraries = _load_chunk(runtime, "libraries")
        if self._cjson_null is None:
            self._cjson_null = libraries(b"null")
        null = self._cjson_null
        config = lua_cjson.Config()
        ops = _CjsonOps(runtime, null, self._raw, libraries(b"rawequal"))

        def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any) -> Any:
                try:
                    return fn(*args)
                except lua_cjson.CjsonError as error:
                    as_library = lua_msgpack.LibraryError(
                        error.message, narg=error.narg, detail=error.detail
                    )
                    raise ScriptError(_library_error(runtime, as_library), bare=True) from None

            return call

        def option(name: str, options: tuple[str, ...] = ("off", "on")) -> Callable[..., Any]:
            return guarded(lambda *args: lua_cjson.set_option(config, ops, name, args, options))

        def integer(name: str, high: int) -> Callable[..., Any]:
            return guarded(lambda *args: lua_cjson.set_integer(config, ops, name, args, 1, high))

        functions = {
            b"encode": guarded(lambda *args: lua_cjson.encode(config, ops, args)),
            b"decode": guarded(lambda *args: lua_cjson.decode(config, ops, null, args)),
            b"encode_sparse_array": guarded(
                lambda *args: lua_cjson.set_sparse_array(config, ops, args)
            ),
            b"encode_max_depth": integer("encode_max_depth", lua_cjson.INT_MAX),
            b"decode_max_depth": integer("decode_max_depth", lua_cjson.INT_MAX),
            b"encode_number_precision": integer("encode_number_precision", 14),
            b"encode_keep_buffer": option("encode_keep_buffer"),
            b"encode_invalid_numbers": option(
                "encode_invalid_numbers", lua_cjson.INVALID_NUMBER_OPTIONS
            ),
            b"decode_invalid_numbers": option(
                "decode_invalid_numbers", lua_cjson.INVALID_NUMBER_OPTIONS
            ),
            b"new": lambda *args: self._cjson(),
        }
        return libraries(b"cjson", runtime.table_from(functions), null)

    def _library(self, name: bytes) -> Any:
        """The real table of `bit`, `cjson`, `cmsgpack` or `struct`, or the `_EXTRAS` chunk, the
        first time a script needs one (`LAZY` in `_SETUP`, which makes it read-only)."""
        functions: tuple[Callable[..., Any], ...]
        if name == b"bit":
            return _load_chunk(self._runtime, "bit")()
        if name == b"extras":  # a chunk, which the setup calls with its internals
            return _load_chunk(self._runtime, "extras")
        if name == b"cmsgpack":
            functions = (self._mp_pack, self._mp_unpack, self._mp_unpack_one, self._mp_unpack_limit)
        elif name == b"struct":
            functions = (self._struct_pack, self._struct_unpack, self._struct_size)
        elif name == b"cjson":
            return self._cjson()
        else:
            raise AssertionError(f"no library {name!r}")
        return _load_chunk(self._runtime, "libraries")(name, *functions)

    def _mp_pack(self, *args: Any) -> Any:
        values = tuple(self._msgpack_value(a, 0) for a in args)
        return _library_call(self._runtime, lua_msgpack.pack, values)

    def _msgpack_value(self, value: Any, depth: int) -> Any:
        """A Lua value for cmsgpack.pack: tables as their pairs in `next` order, down to the
        depth where cmsgpack stops (deeper tables encode as nil, which also ends cycles).
        Each table costs PACK_TABLE_COST of the budget: a table that holds itself n times
        is n^16 tables to encode, which Redis spends its time on too."""
        if value is None or isinstance(value, bytes | bool | int | float):
            return value
        kind = _lua_kind(value)
        if kind != "table" or depth >= lua_msgpack.MAX_NESTING:
            return lua_msgpack.Opaque(kind)
        self._spent += PACK_TABLE_COST
        if self._spent > BUDGET:
            raise ScriptError(BUDGET_EXCEEDED, killed=True)
        below = depth + 1
        return lua_msgpack.LuaTable(
            tuple(
                (self._msgpack_value(k, below), self._msgpack_value(v, below))
                for k, v in value.items()
            )
        )

    def _mp_unpack(self, *args: Any) -> Any:
        return self._mp_decode(lua_msgpack.unpack, args)

    def _mp_unpack_one(self, *args: Any) -> Any:
        return self._mp_decode(lua_msgpack.unpack_one, args)

    def _mp_unpack_limit(self, *args: Any) -> Any:
        return self._mp_decode(lua_msgpack.unpack_limit, args)

    def _mp_decode(self, decode: Any, args: tuple[Any, ...]) -> Any:
        runtime = self._runtime
        return _library_call(runtime, decode, tuple(_plain(a) for a in args), runtime.table, _set)

    def _struct_pack(self, *args: Any) -> Any:
        return _library_call(self._runtime, lua_struct.pack, tuple(_plain(a) for a in args))

    def _struct_unpack(self, *args: Any) -> Any:
        return _library_call(self._runtime, lua_struct.unpack, tuple(_plain(a) for a in args))

    def _struct_size(self, *args: Any) -> Any:
        return _library_call(self._runtime, lua_struct.size, tuple(_plain(a) for a in args))

    # -- conversions --------------------------------------------------------------------------

    def _to_lua(self, reply: Reply) -> Any:
        """A command's reply as Redis hands it to Lua, in the script's RESP version."""
        table = self._runtime.table_from
        if isinstance(reply, bytes | int) and not isinstance(reply, bool):
            return reply
        if isinstance(reply, list):
            return table([self._to_lua_item(r) for r in reply])
        if isinstance(reply, SimpleString):
            return table({b"ok": reply.value})
        resp3 = self.resp == 3
        if reply is None or isinstance(reply, NullArray):
            return None if resp3 else False
        if isinstance(reply, bool):
            return reply if resp3 else int(reply)
        if isinstance(reply, Map):
            if resp3:
                return table(
                    {b"map": table({self._to_lua(k): self._to_lua(v) for k, v in reply.items})}
                )
            return table([self._to_lua_item(x) for pair in reply.items for x in pair])
        if isinstance(reply, KeyedArrays):
            if resp3:
                return table(
                    {b"map": table({self._to_lua(k): self._to_lua(v) for k, v in reply.items})}
                )
            return table([table([self._to_lua(k), self._to_lua(v)]) for k, v in reply.items])
        if isinstance(reply, Pairs):
            if resp3:
                return table([table([self._to_lua(k), self._to_lua(v)]) for k, v in reply.items])
            return table([self._to_lua_item(x) for pair in reply.items for x in pair])
        if isinstance(reply, Set):
            if resp3:
                return table({b"set": table({self._to_lua(m): True for m in reply.items})})
            return table([self._to_lua_item(r) for r in reply.items])
        if isinstance(reply, Double):
            if resp3:
                return table({b"double": reply.value})
            return format_double(reply.value)
        if isinstance(reply, HumanDouble):
            if resp3:
                return table({b"double": float(reply.text)})
            return reply.text
        if isinstance(reply, BigNumber):
            return (
                table({b"big_number": str(reply.value).encode()})
                if resp3
                else str(reply.value).encode()
            )
        if isinstance(reply, Verbatim):
            if resp3:
                return table(
                    {b"verbatim_string": table({b"format": reply.format, b"string": reply.text})}
                )
            return reply.text
        raise AssertionError(f"no Lua form for {reply!r}")

    def _to_lua_item(self, reply: Reply) -> Any:
        """An array element: RESP2's nil becomes false there too, so the array keeps its length."""
        value = self._to_lua(reply)
        return False if value is None else value

    def _to_reply(self, value: Any, depth: int = 0) -> Reply:
        """The script's return value as Redis replies it (luaReplyToRedisReply). Past
        REPLY_DEPTH_MAX nested tables (a table that holds itself) the element is Redis's
        `reached lua stack limit` error, where Redis runs out of Lua stack."""
        kind = lua.lua_type(value)
        if value is None:
            return None
        if isinstance(value, bool):
            if self.resp == 3:
                return value
            return 1 if value else None
        if isinstance(value, int | float):
            return _truncate(value)
        if isinstance(value, bytes):
            return value
        if kind != "table":
            return None  # functions, coroutines: Redis replies nil
        if depth >= REPLY_DEPTH_MAX:
            return STACK_LIMIT
        depth += 1
        raw = self._raw
        for name in (b"err", b"ok"):
            field = raw(value, name)
            if isinstance(field, bytes):
                return ErrorReply(_text(field)) if name == b"err" else SimpleString(field)
        double = raw(value, b"double")
        if isinstance(double, int | float):
            return Double(float(double))
        big = raw(value, b"big_number")
        if isinstance(big, bytes):
            return BigNumber(int(big)) if _is_integer(big) else big
        entries = raw(value, b"map")
        if lua.lua_type(entries) == "table":
            return Map(
                [(self._to_reply(k, depth), self._to_reply(v, depth)) for k, v in entries.items()]
            )
        members = raw(value, b"set")
        if lua.lua_type(members) == "table":
            return Set([self._to_reply(k, depth) for k in members])
        verbatim = raw(value, b"verbatim_string")
        if lua.lua_type(verbatim) == "table":
            text, form = raw(verbatim, b"string"), raw(verbatim, b"format")
            if isinstance(text, bytes) and isinstance(form, bytes):  # else: an array, as Redis
                # addReplyVerbatim: three bytes of the C string, spaces past its end
                return Verbatim(text, form.split(b"\0", 1)[0][:3].ljust(3, b" "))
        out: list[Reply] = []
        i = 1
        while (item := raw(value, i)) is not None:
            out.append(self._to_reply(item, depth))
            i += 1
        return out


def _library_call(runtime: Any, fn: Any, *args: Any) -> Any:
    """A cmsgpack or struct function: its result, or its error raised into the script."""
    try:
        return fn(*args)
    except lua_msgpack.LibraryError as error:
        raise ScriptError(_library_error(runtime, error), bare=True) from None


def _library_error(runtime: Any, error: lua_msgpack.LibraryError) -> str:
    """The error's text as the C library raises it: luaL_argerror names the function as the
    script called it ('pack', a local's name, '?' through pcall), and luaL_error starts with
    where the caller is (`user_script:3: `, nothing when the caller is C, as pcall)."""
    if not error.positional:
        return error.message
    getinfo = runtime.globals().debug.getinfo  # level 1: the library function; 2: its caller
    message = error.message
    if error.narg is not None:
        info = getinfo(1, b"n")
        name = None if info is None or info[b"name"] is None else _text(info[b"name"])
        message = error.named(name, info is not None and info[b"namewhat"] == b"method")
    caller = getinfo(2, b"Sl")
    if caller is not None and caller[b"currentline"] > 0:
        message = f"{_text(caller[b'short_src'])}:{caller[b'currentline']}: {message}"
    return message


def _plain(value: Any) -> Any:
    """A Lua argument as the libraries see it: tables, functions... only by their type."""
    if value is None or isinstance(value, bytes | bool | int | float):
        return value
    return lua_msgpack.Opaque(_lua_kind(value))


def _lua_kind(value: Any) -> str:
    kind = lua.lua_type(value)
    return "userdata" if kind is None else kind.decode() if isinstance(kind, bytes) else kind


def _set(table: Any, key: Any, value: Any) -> None:
    table[key] = value


class _CjsonOps:
    """`lua_cjson.LuaOps` over lupa: raw access, and tables built in the script's state."""

    __slots__ = ("_null", "_raw", "_rawequal", "_runtime")

    def __init__(self, runtime: Any, null: Any, raw: Any, rawequal: Any) -> None:
        self._runtime = runtime
        self._null = null
        self._raw = raw
        # lupa wraps each userdata it hands over anew: only Lua can tell it is cjson.null.
        self._rawequal = rawequal

    def kind(self, value: Any) -> str:
        if value is None:
            return "nil"
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, bytes):
            return "string"
        if isinstance(value, int | float):
            return "number"
        if lua.lua_type(value) is None and callable(value):
            return "function"  # redis.call and the libraries' functions: C functions in Redis
        return _lua_kind(value)  # (lupa hands a coroutine that has not run over as a function)

    def is_null(self, value: Any) -> bool:
        return lua.lua_type(value) == "userdata" and bool(self._rawequal(value, self._null))

    def rawget(self, table: Any, key: Any) -> Any:
        return self._raw(table, key)

    def pairs(self, table: Any) -> Any:
        return table.items()

    def array(self, items: list[Any]) -> Any:
        return self._runtime.table_from(items)

    def object(self, fields: dict[bytes, Any]) -> Any:
        return self._runtime.table_from(fields)


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """One function a library registers: its name, its flags (as given) and description."""

    name: bytes
    flags: tuple[bytes, ...]
    description: bytes | None


class ScriptError(Exception):
    """An error a redis.* function raises into the script (Redis's error table, as text);
    `killed`: the budget ran out, which no pcall may catch; `positional`: a Lua runtime
    error, which names the script's line first (`ERR user_script:3: ...`); `bare`: the text is
    the whole Lua error string, as a C library raises it (cmsgpack, struct: any position is
    already in front), so pcall returns it as it is and Redis replies `ERR <text>`."""

    def __init__(
        self, message: str, killed: bool = False, positional: bool = False, bare: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.killed = killed
        self.positional = positional
        self.bare = bare


def command_words(args: tuple[Any, ...]) -> list[bytes]:
    """redis.call's arguments as Redis reads them: strings, and numbers as Lua prints them."""
    if not args:
        raise ScriptError("ERR Please specify at least one argument for this redis lib call")
    words: list[bytes] = []
    for arg in args:
        if isinstance(arg, bytes):
            words.append(arg)
        elif isinstance(arg, int | float) and not isinstance(arg, bool):
            words.append(_lua_number(arg))
        else:
            raise ScriptError("ERR Lua redis lib command arguments must be strings or integers")
    return words


def _lua_number(number: float) -> bytes:
    """As Redis's Lua turns a number into a string for a command ("%.17g"), specials included."""
    value = float(number)
    if math.isnan(value):
        return b"nan" if math.copysign(1, value) > 0 else b"-nan"
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value


def _error_of(error: Any) -> tuple[bool, bytes, bool, bool]:
    """What a Python error raised into Lua means there: (killed, the text, positional, bare)."""
    if isinstance(error, ScriptError):
        return error.killed, error.message.encode(), error.positional, error.bare
    return False, f"ERR {error}".encode(), False, False


def _failure(error: Any, sha: str, raw: Any) -> ErrorReply:
    """An uncaught error as Redis replies it: the message, then where in which script."""
    if lua.lua_type(error) != "table":
        return ErrorReply("ERR " + _text(error))
    message = raw(error, b"err")
    text = _text(message) if isinstance(message, bytes) else "ERR unknown error"
    source, line = raw(error, b"source"), raw(error, b"line")
    if isinstance(source, bytes) and line is not None:
        text += f" script: {sha}, on {_text(source)}:{_truncate(line)}."
    return ErrorReply(text)


def _as_lua_source(body: bytes) -> bytes:
    """A `#!lua` first line is a comment to Lua (Redis keeps the line, so line numbers hold)."""
    return b"--" + body[2:] if body.startswith(b"#!") else body


def _truncate(number: float) -> int:
    """C's (long long) cast on x86, as Redis converts a Lua number: out of range is INT64_MIN."""
    if isinstance(number, float):
        if not -(2.0**63) <= number < 2.0**63:  # NaN fails both comparisons
            return -(1 << 63)
        return int(number)
    return number if -(1 << 63) <= number < 1 << 63 else -(1 << 63)


def _is_integer(text: bytes) -> bool:
    digits = text[1:] if text[:1] in (b"-", b"+") else text
    return digits.isdigit()


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def sha1hex(text: bytes) -> bytes:
    """A script's id, as Redis names it (and redis.sha1hex computes it)."""
    return hashlib.sha1(text).hexdigest().encode()


def _log(*args: Any) -> None:
    """redis.log: Redis writes to its log file; a script's chatter is not worth a log line here."""
    if len(args) < 2:
        raise ScriptError("ERR redis.log() requires two arguments or more.")
    if not isinstance(args[0], int | float):
        raise ScriptError("ERR First argument must be a number (log level).")


def _acl_check_cmd(*args: Any) -> bool:
    """Every command is allowed to the only user there is."""
    from seshat.kv.commands import lookup

    words = command_words(args)
    if lookup(words[0]) is None:
        raise ScriptError("ERR Invalid command passed to redis.acl_check_cmd()")
    return True


def _no_attributes(obj: object, name: object, is_setting: bool) -> object:
    """Lua never needs a Python attribute: deny every one (the hooks are plain callables)."""
    raise AttributeError("not available to scripts")
