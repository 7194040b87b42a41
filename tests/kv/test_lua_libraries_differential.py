"""`cmsgpack` and `struct` inside scripts, differentially: the same EVALs to redis-server 7.0.15
and to LocalExecutor, compared reply for reply, bytes and error texts included.

Packed bytes are returned as they are (bulk strings), decoded values as arrays or through
`type`/`tostring`, so each script's reply pins down both the encoding and the decoding. Lua 5.1
escapes are decimal (`'\\196'`), and a script never returns a bare `-0` or NaN, which replies
cannot tell apart. The hypothesis test packs random Lua values on both servers and unpacks them
again, so any mismatch in either direction shows.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seshat.kv import lua_sandbox
from seshat.protocol.replies import ErrorReply
from tests.kv.conftest import LocalClient, RawRedis
from tests.kv.test_differential import run, same

# Lua helpers prepended to scripts that want them: a string's bytes as hex, and a value as text
# with its type (tables in key order, so the reply does not depend on `next`).
PRELUDE = r"""
local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', c:byte()) end)) end
local function show(v, d)
  d = d or 0
  if type(v) == 'table' then
    if d > 20 then return '...' end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b)
      if type(a) == type(b) and (type(a) == 'number' or type(a) == 'string') then return a < b end
      return type(a) < type(b)
    end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = show(k, d + 1) .. '=' .. show(v[k], d + 1) end
    return '{' .. table.concat(parts, ',') .. '}#' .. #v
  end
  if type(v) == 'number' then return 'n:' .. string.format('%.17g', v) end
  return type(v) .. ':' .. tostring(v)
end
local function all(...)
  local out = {}
  for i = 1, select('#', ...) do out[i] = show((select(i, ...))) end
  return out
end
"""


def ev(body: str, *args: str | bytes, prelude: bool = True) -> list[bytes]:
    text = (PRELUDE + body) if prelude else body
    return [
        b"eval",
        text.encode("latin-1"),
        b"0",
        *(a if isinstance(a, bytes) else a.encode() for a in args),
    ]


def packs(*exprs: str) -> list[list[bytes]]:
    """One script per Lua expression: the hex of cmsgpack.pack(expr)."""
    return [ev(f"return hex(cmsgpack.pack({e}))") for e in exprs]


def unpacks(*hexes: str) -> list[list[bytes]]:
    """One script per msgpack input (as hex): everything cmsgpack.unpack makes of it."""
    return [ev("return all(cmsgpack.unpack(ARGV[1]))", bytes.fromhex(h)) for h in hexes]


# fmt: off
INTEGERS = [
    "0", "1", "127", "128", "255", "256", "65535", "65536", "4294967295", "4294967296",
    "2^53", "2^53+1", "2^62", "2^63-1024", "2^63", "2^64", "-1", "-31", "-32", "-33", "-127",
    "-128", "-129", "-32767", "-32768", "-32769", "-2147483647", "-2147483648", "-2147483649",
    "-2^53", "-2^62", "-2^63", "-2^63-2048", "-2^64", "1e15", "1e300",
]
FLOATS = [
    "0.5", "-0.5", "1.5", "0.1", "-0.1", "1/3", "3.4028234663852886e38", "3.4028235e38",
    "3.5e38", "1e-45", "1.4e-45", "1e-320", "2^-149", "1/0", "-1/0", "0/0", "-(0/0)",
    "123456.789", "16777217.5", "math.pi",
]

SEQUENCES: dict[str, list[list[bytes]]] = {
    "library tables": [
        ev("return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}"),
        ev("return {type(cmsgpack), type(struct)}"),
        ev("return {tostring(cmsgpack.cmsgpack_safe), tostring(struct.nosuch)}"),
        ev("cmsgpack.pack = function() end"),
        ev("struct.pack = 1"),
        ev("cmsgpack.newfield = 1"),
        ev("cmsgpack = nil"),
        ev("struct = 1"),
        ev("local c = cmsgpack; local s = struct; return {c == cmsgpack, s == struct}"),
        ev("return _G.cmsgpack.pack(1) == cmsgpack.pack(1)"),
    ],
    "cmsgpack integers": packs(*INTEGERS) + [
        ev(f"return all(cmsgpack.unpack(cmsgpack.pack({e})))") for e in INTEGERS
    ],
    "cmsgpack floats": packs(*FLOATS) + [
        ev(f"local v = cmsgpack.unpack(cmsgpack.pack({e})) return {{show(v), tostring(v == v)}}")
        for e in FLOATS
    ],
    "cmsgpack strings and others": packs(
        "''", "'a'", "string.rep('x', 31)", "string.rep('x', 32)", "string.rep('x', 255)",
        "string.rep('x', 256)", "string.rep('x', 65535)", "string.rep('x', 65536)",
        "'a\\0b'", "true", "false", "nil", "print", "coroutine.create(function() end)",
        "redis.call", "1, 2, 3", "'a', nil, true", "nil, nil",
    ) + [
        ev("return cmsgpack.pack(string.rep('ab', 40000)) == cmsgpack.pack(string.rep('ab', 40000))"),
        ev("return #cmsgpack.pack(string.rep('x', 70000))"),
        ev("local s = string.rep('y', 70000) return cmsgpack.unpack(cmsgpack.pack(s)) == s"),
    ],
    "cmsgpack tables": packs(
        "{}", "{1, 2, 3}", "{1, nil, 3}", "{[1]=1, [2]=2, [4]=4}", "{[2]=2}", "{[0]=0}",
        "{[1.5]=1}", "{[-1]=1}", "{a=1}", "{1, 2, a=3}", "{[true]=1}",
        "{{1, {2, {3}}}}", "{x={y={z={}}}}", "{[{1}]=2}", "{string.rep('k', 40)}",
        "{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15}", "{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}",
        "{[2^31]=1}", "{[2^31-1]=1}", "{[1]=print}", "{f=print}",
    ) + [
        ev("local t = {} for i = 1, 70000 do t[i] = i % 7 end return hex(cmsgpack.pack(t):sub(1, 12))"),
        ev("local t = {} for i = 1, 70000 do t['k' .. i] = i end return #cmsgpack.pack(t)"),
        ev("local t = {} for i = 1, 20 do t['k' .. i] = i end return all(cmsgpack.unpack(cmsgpack.pack(t)))"),
        ev("local t = {} t[1] = t return hex(cmsgpack.pack(t))"),
        ev("local t = {} t.a = t return hex(cmsgpack.pack(t))"),
        ev("local t = {} for i = 1, 20 do t = {t} end return hex(cmsgpack.pack(t))"),
        ev("local t = {} for i = 1, 15 do t = {t} end return hex(cmsgpack.pack(t))"),
        ev("local t = 1 for i = 1, 16 do t = {t} end return hex(cmsgpack.pack(t))"),
        ev("local t = 1 for i = 1, 17 do t = {x=t} end return hex(cmsgpack.pack(t))"),
        ev("local t = {} for i = 1, 20 do t = {[t]=1} end return hex(cmsgpack.pack(t))"),
        ev("return all(cmsgpack.unpack(cmsgpack.pack({1, {2, 3}, {a={b='c'}}, true, false})))"),
    ],
    "cmsgpack decoding": unpacks(
        "", "00", "7f", "e0", "ff", "cc80", "ccff", "cd0100", "cdffff", "ce00010000",
        "ceffffffff", "cf0000000100000000", "cf7fffffffffffffff", "cf8000000000000000",
        "cfffffffffffffffff", "d080", "d0ff", "d18000", "d1ff01", "d280000000", "d2ffffff01",
        "d38000000000000000", "d3ffffffffffffffff", "d30020000000000001",
        "ca3f800000", "ca7f800000", "caff800000", "ca7fc00000", "ca00000001",
        "cb3ff0000000000000", "cb7ff8000000000000", "cb0000000000000001",
        "c0", "c2", "c3", "a0", "a3616263", "bf" + "61" * 31, "d90568656c6c6f", "d900",
        "da0003616263", "db00000003616263", "90", "9301c0c3", "93c0c0c0", "9301c003",
        "dc0002a161a162", "dd00000001c0", "80", "81a161a162", "8201020304", "81c201",
        "8101c0", "82a16101a16102", "de0001a16101", "df00000001a16101", "81910102",
        "0102030405", "92a161", "c1", "c4", "c40161", "c5000161", "c600000001 61".replace(" ", ""),
        "c7", "c8", "c9", "d4", "d5", "d6", "d7", "d8", "cc", "cd01", "ce0000", "cf00", "ca00",
        "cb00", "d9", "d905", "da00", "da0005", "db", "db00000005", "dc", "dc0001", "dd000000",
        "de0001", "df0000000101", "a5", "a2ff", "91", "9f", "8f", "81a1", "81c0",
        "81c0c0", "81cb7ff8000000000000c3", "8291c0029101", "82c0c0",
    ) + [
        ev("return all(cmsgpack.unpack(ARGV[1]))", b"\x81\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\x01\x05"),
        ev("local t = cmsgpack.unpack(ARGV[1]) return {#t, show(t)}", bytes.fromhex("9401c0c004")),
        ev("local t = cmsgpack.unpack(ARGV[1]) return {#t, show(t)}", bytes.fromhex("9301c003")),
        ev("local t = cmsgpack.unpack(ARGV[1]) return {#t, show(t)}", bytes.fromhex("8301010202c003")),
        ev(
            "local t = cmsgpack.unpack(ARGV[1]) local o = {} for k, v in pairs(t) do o[#o+1] = k end return o",
            bytes.fromhex("86a161a162a163a164a165a166a167a168a169a16aa16ba16c"),
        ),
        ev(
            "local t = cmsgpack.unpack(ARGV[1]) local o = {} for k, v in pairs(t) do o[#o+1] = k end return o",
            bytes.fromhex("8a01a16102a16203a1630aa16414a165a166a16705a16806a1690ba16a"),
        ),
        ev("return select('#', cmsgpack.unpack(ARGV[1]))", bytes(range(100))),
        ev("return select('#', cmsgpack.unpack(string.rep('\\1', 7998)))"),
        ev("return select('#', cmsgpack.unpack(string.rep('\\1', 7999)))"),
        ev("return select('#', cmsgpack.unpack(string.rep('\\1', 8000)))"),
        ev("return select('#', cmsgpack.unpack(string.rep('\\1', 7998), 'x'))"),
        ev("return #cmsgpack.unpack(string.rep('\\145', 50) .. '\\1')[1][1]"),
        ev("return #cmsgpack.unpack(string.rep('\\145', 3998) .. '\\1')"),
        ev("return #cmsgpack.unpack(string.rep('\\145', 3999) .. '\\1')"),
        ev("return #cmsgpack.unpack(string.rep('\\145', 5000) .. '\\1')"),
        ev("return #cmsgpack.unpack(string.rep('\\145', 3998) .. '\\1', 'x', 'y')"),
        ev("return type(cmsgpack.unpack(string.rep('\\129\\1', 3000) .. '\\1\\1'))"),
        ev("return type(cmsgpack.unpack(string.rep('\\129\\1', 4000) .. '\\1\\1'))"),
        ev("return type(cmsgpack.unpack(string.rep('\\129\\145', 1500) .. '\\1\\1'))"),
        ev("return type(cmsgpack.unpack(string.rep('\\129\\145', 3000) .. '\\1\\1'))"),
        ev("return type(cmsgpack.unpack(string.rep('\\145\\129', 3000) .. '\\1\\1'))"),
        ev("return type(cmsgpack.unpack(string.rep('\\129', 3000) .. '\\1'))"),
        ev("return cmsgpack.unpack(12)"),
        ev("return cmsgpack.unpack(1.5)"),
        ev("return {cmsgpack.unpack(-1)}"),
    ],
    "cmsgpack unpack_one and unpack_limit": [
        ev("return all(cmsgpack.unpack_one(ARGV[1]))", bytes.fromhex("0102a3616263")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], 1))", bytes.fromhex("0102a3616263")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], 2))", bytes.fromhex("0102a3616263")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], 6))", bytes.fromhex("0102a3616263")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], 7))", bytes.fromhex("0102a3616263")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], -1))", bytes.fromhex("0102")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], 1.9))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], '1'))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], ' 0x1 '))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], nil))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], 'x'))", bytes.fromhex("0102")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], {}))", bytes.fromhex("0102")),
        ev("return all(cmsgpack.unpack_one(''))"),
        ev("return all(cmsgpack.unpack_one('', 0))"),
        ev("return all(cmsgpack.unpack_one('', 1))"),
        ev("return all(cmsgpack.unpack_one(ARGV[1]))", bytes.fromhex("91")),
        ev("return all(cmsgpack.unpack_one(ARGV[1]))", bytes.fromhex("c101")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], 1))", bytes.fromhex("01c1")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], 5000000000))", bytes.fromhex("01")),
        ev("return all(cmsgpack.unpack_one(ARGV[1], -5000000000))", bytes.fromhex("01")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], 2))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], 2, 1))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], 5, 1))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], 0))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], 0, 1))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], 0, 3))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], -1))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], -1, -2))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], 1, 4))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1]))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], 'x'))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], '2', '1'))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(ARGV[1], 2, 1, 'extra'))", bytes.fromhex("010203")),
        ev("return all(cmsgpack.unpack_limit(1, 1))"),
        ev("return all(cmsgpack.unpack_limit(nil, 1))"),
        ev(
            "local out, off, v = {}, 0 repeat off, v = cmsgpack.unpack_one(ARGV[1], off) "
            "out[#out+1] = show(v) until off == -1 return out",
            bytes.fromhex("01a16192010281a162c3cb3ff8000000000000"),
        ),
    ],
    "cmsgpack errors": [
        ev("return cmsgpack.pack()"),
        ev("local ok, e = pcall(cmsgpack.pack) return e"),
        ev("local p = cmsgpack.pack\nreturn p()"),
        ev("\n\nreturn cmsgpack.unpack()"),
        ev("return cmsgpack.unpack(nil)"),
        ev("return cmsgpack.unpack({})"),
        ev("return cmsgpack.unpack(true)"),
        ev("return cmsgpack.unpack(print)"),
        ev("return cmsgpack.unpack(ARGV[1])", b"\xc1"),
        ev("return cmsgpack.unpack(ARGV[1])", b"\x92\x01"),
        ev("return cmsgpack.unpack(ARGV[1])", b"\x81\xc0\x01"),
        ev("return cmsgpack.unpack(ARGV[1])", b"\x81\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\x01"),
        ev("local ok, e = pcall(cmsgpack.unpack, ARGV[1]) return e", b"\x81\xc0\x01"),
        ev("local ok, e = pcall(cmsgpack.unpack, ARGV[1]) return e", b"\x92"),
        ev("return cmsgpack.unpack_one(ARGV[1], 9)", b"\x01"),
        ev("return cmsgpack.unpack_limit(ARGV[1], 1, 9)", b"\x01"),
        ev("return cmsgpack.unpack_limit(ARGV[1], -3, 1)", b"\x01\x02"),
        ev("return cmsgpack.unpack_one()"),
        ev("return cmsgpack.unpack_limit('')"),
        ev("return cmsgpack.unpack_limit('', nil)"),
    ],
    "struct pack": [
        ev(f"return hex(struct.pack({args}))")
        for args in [
            "'b', 1", "'b', -1", "'b', 255", "'b', 256", "'B', -1", "'h', -2", "'>h', 258",
            "'<H', 258", "'>i', 1", "'<i', -1", "'i', 2^31", "'i', 2^32 + 5", "'>l', -2",
            "'<L', 2^63", "'>L', 2^64", "'>L', 2^64 * 4", "'>L', 1/0", "'>L', -1/0", "'>L', 0/0",
            "'>l', -2^63", "'>l', -2^64", "'>l', 2^63 - 1024", "'T', 7", "'>T', 7", "'i1', 300",
            "'i2', 1", "'i3', 1", "'>i3', -1", "'i5', 2^33", "'>i8', 1", "'<i9', -1",
            "'>i16', -1", "'<i16', 2^40", "'i32', 1", "'i0', 5", "'I', '12'", "'i', ' 0x10 '",
            "'i', '1e3'", "'i', 1.9", "'i', -1.9", "'f', 1.5", "'>f', 1.5", "'f', 0.1",
            "'f', 1e39", "'f', -1e39", "'f', 1/0", "'f', 0/0", "'d', 0.1", "'>d', 0.1", "'d', 1/0",
            "'d', 2^-1074", "'x'", "'xxb', 1", "'c', 'ab'", "'c3', 'abcdef'", "'c0', 'abcdef'",
            "'c0', ''", "'s', 'hi'", "'s', ''", "'s', 'a\\0b'", "'c', 5", "'s', 1.5",
            "'bi', 1, 2", "'!bi', 1, 2", "'!2bi', 1, 2", "'!1bi', 1, 2", "'!4bd', 1, 2",
            "'!8bd', 1, 2", "'!bhbib', 1, 2, 3, 4, 5", "'!8 b T', 1, 2", "'!4b i8', 1, 2",
            "'!bc3i', 1, 'abc', 2", "'!bsi', 1, 'ab', 2", "'!bxi', 1, 2", "'!bfd', 1, 2, 3",
            "'< b > h < h', 1, 2, 3", "'', 1", "' '", "'b', 1, 2", "'!16bd', 1, 2",
            "'i', 'inf'", "'d', '-inf'", "'d', '0x1p4'", "'i', '1 '", "'i', '\\t7'",
            "'!b!2h', 1, 2", "'!3b', 1", "'!0b', 1", "'!64bi', 1, 2",
        ]
    ],
    "struct unpack": [
        ev(f"return all(struct.unpack({args}))")
        for args in [
            "'b', '\\255'", "'B', '\\255'", "'>h', '\\1\\2'", "'<h', '\\1\\2'", "'>H', '\\255\\254'",
            "'<i', '\\255\\255\\255\\255'", "'<I', '\\255\\255\\255\\255'", "'>l', string.rep('\\255', 8)",
            "'>L', string.rep('\\255', 8)", "'>L', '\\127' .. string.rep('\\255', 7)",
            "'<T', '\\1\\0\\0\\0\\0\\0\\0\\0'", "'i3', '\\255\\255\\127'", "'i3', '\\255\\255\\128'",
            "'I3', '\\255\\255\\128'", "'i9', '\\128\\0\\0\\0\\0\\0\\0\\0\\1'",
            "'>i16', string.rep('\\255', 8) .. '\\128\\0\\0\\0\\0\\0\\0\\1'",
            "'<i16', string.rep('\\255', 16)", "'I16', string.rep('\\255', 16)", "'i0', ''",
            "'i0', 'x'", "'<f', '\\0\\0\\192\\63'", "'>f', '\\63\\192\\0\\0'", "'f', '\\0\\0\\128\\127'",
            "'<d', '\\154\\153\\153\\153\\153\\153\\185\\63'", "'>d', '\\63\\185\\153\\153\\153\\153\\153\\154'",
            "'c2', 'abc'", "'c2c1', 'abc'", "'bc0', '\\2abc'", "'c1c0', '2abc'", "'c1c0', ' 0x2 abc'",
            "'bc0c0', '\\1\\2ab'", "'s', 'ab\\0cd'", "'ss', 'ab\\0cd\\0'", "'sb', 'ab\\0\\5'",
            "'x', 'abc'", "'xb', 'ab'", "'b', 'abc', 2", "'b', 'abc', 3", "'b', 'abc', '2'",
            "'b', 'abc', 2.7", "'bb', 'abc', 2", "'', 'abc'", "'', 'abc', 5", "'', 'abc', -5",
            "'', '', 1", "'!bi', '\\1\\0\\0\\0\\2\\0\\0\\0'", "'!2bh', '\\1\\0\\2\\0'",
            "'!b i8', '\\1\\0\\0\\0\\0\\0\\0\\0\\2\\0\\0\\0\\0\\0\\0\\0'",
            "'!4bd', '\\1\\0\\0\\0' .. string.rep('\\0', 8)", "'< b > h', '\\1\\0\\2'",
            "'i', 1234", "'c0', 'x'", "'c0', '1'", "'sc0', '3\\0abc'", "'bc0', '\\200'",
        ]
    ],
    "struct size and round trips": [
        ev(f"return struct.size({fmt})")
        for fmt in [
            "''", "'b'", "'h'", "'i'", "'l'", "'T'", "'f'", "'d'", "'x'", "'c'", "'c7'", "'i3'",
            "'!bi'", "'!bd'", "'!4bd'", "'!2bi'", "'bhilT'", "'!bhilT'", "'q'", "'1'", "'z9'",
            "' < > '", "'!8 b d'", "'i32'", "'!b'", "5",
        ]
    ] + [
        ev("local s = struct.pack('>!4 b h i d s c3', -5, 300, -70000, 1.25, 'str', 'xyz') "
           "return {hex(s), all(struct.unpack('>!4 b h i d s c3', s))}"),
        ev("local s = struct.pack('<bc0', 3, 'abc') return all(struct.unpack('<bc0', s))"),
        ev("return all(struct.unpack('b', struct.pack('bbb', 1, 2, 3), 3))"),
    ],
    "from a Redis 7 function": [
        [b"function", b"flush"],
        [
            b"function", b"load",
            (
                b"#!lua name=packlib\n"
                b"redis.register_function('mp', function(keys, args)\n"
                b"  return {cmsgpack.pack(args[1], {1, 2}), struct.pack('>h', #args)}\n"
                b"end)\n"
                b"redis.register_function('bad', function(keys, args)\n"
                b"  return cmsgpack.unpack(args[1])\n"
                b"end)"
            ),
        ],
        [b"fcall", b"mp", b"0", b"x"],
        [b"fcall", b"bad", b"0", b"\xc1"],
        [b"function", b"load", b"#!lua name=eager\nreturn cmsgpack.pack(1)"],
        [b"function", b"flush"],
    ],
    "struct errors": [
        ev(f"return struct.{call}")
        for call in [
            "pack()", "pack(nil)", "pack({})", "pack('i')", "pack('i', 'x')", "pack('i', {})",
            "pack('ii', 1)", "pack('d', true)", "pack('c5', 'ab')", "pack('bc5', 1, 'ab')",
            "pack('s')", "pack('s', nil)", "pack('c', {})", "pack('q', 1)", "pack('#')",
            "pack('i33', 1)", "pack('i99999999999', 1)", "pack('c99999999999', 1)",
            "pack('!3', 1)", "pack('!0')", "pack('!99999999999')", "pack('b!6', 1)",
            "unpack()", "unpack('b')", "unpack('b', nil)", "unpack('b', {})", "unpack({}, 'x')",
            "unpack('b', '')", "unpack('i', 'abc')", "unpack('b', 'x', 0)", "unpack('b', 'x', -5)",
            "unpack('b', 'x', 3)", "unpack('b', 'x', 'y')", "unpack('c5', 'ab')",
            "unpack('q', 'ab')", "unpack('s', 'abc')", "unpack('c0', 'abc')", "unpack('bc0', '\\9a')",
            "unpack('i40', '')", "unpack('!3b', 'a')", "unpack('sc0', 'x\\0abc')",
            "pack('i', 'a')", "pack('i', '0x')", "pack('i', '1_0')", "pack('i', '1 x')",
            "unpack('c1c0', 'a')", "unpack('c1c0', '9')", "unpack('c1c0', 'f')",
            "size()", "size('s')", "size('c0')", "size('#')", "size('!3')", "size('i33')",
            "size({})", "size('bs')",
        ]
    ] + [
        ev("local ok, e = pcall(struct.pack, 'i', 'x') return e"),
        ev("local ok, e = pcall(function() return struct.pack('i', 'x') end) return {tostring(ok), e}"),
        ev("local ok, e = pcall(function()\n local x = cmsgpack.unpack('\\193')\n end) return e"),
        ev("local ok, e = pcall(cmsgpack.unpack_one, '', -1) return e"),
        ev("local ok, e = pcall(function() return struct:pack() end) return e"),
        ev("return struct:size()"),
        ev("local co = coroutine.wrap(function() return cmsgpack.pack(1, 2) end) return co()"),
        ev("local sp = struct.pack\nreturn sp('q')"),
    ],
    # cjson: settings persist across scripts in Redis (one Lua state), so every script that
    # changes one restores lua-cjson's default before it returns.
    "cjson encode": [
        ev(f"return {{pcall(cjson.encode, {expr})}}")
        for expr in [
            "1", "-1", "0.1", "1/3", "1e20", "-1e-20", "2^53", "123456789012345678",
            "1/0", "-1/0", "0/0", "true", "false", "nil", "cjson.null", "'x'",
            "'a/b\"\\\\c\\127\\1\\31 \\200\\255'", "'\\0'", "'\\n\\r\\t\\8\\12'", "{}",
            "{1, 2, 3}", "{1, nil, 3}", "{[1] = 1, [2] = 2, [4] = 4}", "{[1] = 1, [20] = 2}",
            "{[1] = 1, [11] = 2}", "{[10] = 1}", "{[11] = 1}", "{[0] = 1}", "{[1.5] = 1}",
            "{[-1] = 1}", "{a = 1}", "{[true] = 1}", "{[{}] = 1}", "{1, {2, {3, {}}}}",
            "{a = {b = {c = cjson.null}}}", "{[1] = 'a', x = 'b'}", "{[1e20] = 1, [2] = 1}",
            "cjson.encode", "{f = cjson.decode}",
            "{[1/0] = 1}",
        ]
    ] + [
        ev("local t = {} local c = t for i = 1, 999 do c[1] = {} c = c[1] end return #cjson.encode(t)"),
        ev("local t = {} local c = t for i = 1, 1000 do c[1] = {} c = c[1] end return {pcall(cjson.encode, t)}"),
        ev("local t = {} t[1] = t return {pcall(cjson.encode, t)}"),
        ev("return {pcall(cjson.encode)}"),
        ev("return {pcall(cjson.encode, 1, 2)}"),
        ev("return cjson.encode(1/0)"),
    ],
    "cjson decode": [
        ev(f"return all(pcall(cjson.decode, {text}))")
        for text in [
            "'1'", "'-1.5e3'", "' 1 '", "'0x10'", "'+1'", "'01'", "'1.'", "'.5'", "'-'", "'1e'",
            "'inf'", "'-Infinity'", "'nan'", "'NaN'", "'true'", "'false'", "'null'", "'nul'",
            "'tru'", "'\"abc\"'", "'\"a\\\\\"b\\\\\\\\c\\\\/d\\\\b\\\\f\\\\n\\\\r\\\\t\"'",
            "'\"\\\\u0041\\\\u00e9\\\\u20ac\\\\ud83d\\\\ude00\"'", "'\"\\\\ud800\"'",
            "'\"\\\\udc00\"'", "'\"\\\\ud800\\\\u0041\"'", "'\"\\\\u12\"'", "'\"\\\\q\"'",
            "'\"abc'", "'\"a\\0b\"'", "'1\\0garbage'", "'[1,2,3]'", "'[1,,2]'", "'[1,2,]'",
            "'[1 2]'", "'[1,2'", "'[]'", "'{}'", "'{\"a\":1,\"b\":[true,null,false]}'",
            "'{\"a\" 1}'", "'{\"a\":}'", "'{1:2}'", "'{\"a\":1,}'", "'{\"a\":1'",
            "'{\"a\":1 \"b\":2}'", "'[null, null]'", "'{\"a\":null}'", "'1 2'", "'[1]x'", "''",
            "'   '", "'x'", "'@'", "'\\0a'", "'a\\0'", "123", "{}", "nil", "'[[[[[]]]]]'",
            "'{\"a\":{\"a\":{}}}'", "'\"\\t\"'", "'[1e400, -1e400]'",
        ]
    ] + [
        ev("return #cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000))"),
        ev("return {pcall(cjson.decode, string.rep('[', 1001) .. string.rep(']', 1001))}"),
        ev("return {pcall(cjson.decode, string.rep('{\"a\":', 1001))}"),
        ev("return {pcall(cjson.decode)}"),
        ev("return {pcall(cjson.decode, '1', '2')}"),
        ev("local t = cjson.decode('[1,null,3]') return {#t, t[2] == cjson.null, type(t[2])}"),
        ev("return cjson.decode('[1,null,3]')"),
        ev("return cjson.encode(cjson.decode('{\"a\":[1,null,{\"b\":null}]}'))"),
        ev("return cjson.decode('[1,')"),
    ],
    "cjson settings": [
        ev(
            "local r = {cjson.encode_sparse_array(), cjson.encode_max_depth(),"
            " cjson.decode_max_depth(), cjson.encode_number_precision(),"
            " cjson.encode_keep_buffer(), cjson.encode_invalid_numbers(),"
            " cjson.decode_invalid_numbers()} return all(unpack(r))"
        ),
        ev("return all(cjson.encode_sparse_array())"),
        ev(
            "local a = {cjson.encode_sparse_array(true)} local e = cjson.encode({[1] = 1, [20] = 2})"
            " cjson.encode_sparse_array(false) return all(e, unpack(a))"
        ),
        ev(
            "local a = {cjson.encode_sparse_array(false, 0)} local e = cjson.encode({[1] = 1, [20] = 2})"
            " cjson.encode_sparse_array(false, 2) return all(e, unpack(a))"
        ),
        ev(
            "local a = cjson.encode_number_precision(3) local e = cjson.encode({1/3, 1234567})"
            " cjson.encode_number_precision(14) return all(a, e)"
        ),
        ev(
            "local a = cjson.encode_invalid_numbers(true) local e = cjson.encode({1/0, -1/0, 0/0})"
            " cjson.encode_invalid_numbers(false) return all(a, e)"
        ),
        ev(
            "local a = cjson.encode_invalid_numbers('null') local e = cjson.encode({1/0, 0/0})"
            " cjson.encode_invalid_numbers('off') return all(a, e)"
        ),
        ev(
            "local a = cjson.decode_invalid_numbers(false)"
            " local r = {pcall(cjson.decode, '0x10')} local s = {pcall(cjson.decode, 'inf')}"
            " local t = {pcall(cjson.decode, '+1')} local u = {pcall(cjson.decode, '-1')}"
            " cjson.decode_invalid_numbers(true) return all(a, r[2], s[2], t[2], u[2])"
        ),
        ev(
            "local a = cjson.encode_max_depth(2) local r = {pcall(cjson.encode, {{{}}})}"
            " cjson.encode_max_depth(1000) return all(a, unpack(r))"
        ),
        ev(
            "local a = cjson.decode_max_depth(2) local r = {pcall(cjson.decode, '[[[]]]')}"
            " cjson.decode_max_depth(1000) return all(a, unpack(r))"
        ),
        ev("return {pcall(cjson.encode_max_depth, 0)}"),
        ev("return {pcall(cjson.encode_max_depth, 1, 2)}"),
        ev("return {pcall(cjson.encode_number_precision, 15)}"),
        ev("return {pcall(cjson.encode_invalid_numbers, 'x')}"),
        ev("return {pcall(cjson.encode_sparse_array, true, 1, 2, 3)}"),
        ev("return {pcall(cjson.encode_max_depth, 'x')}"),
        ev("return {pcall(cjson.encode_max_depth, {})}"),
        ev("return all(cjson._NAME, cjson._VERSION, type(cjson.null), type(cjson.new))"),
        ev("local j = cjson.new() return all(j.encode({1, cjson.null}), j.null == cjson.null)"),
        ev("return cjson.encode_max_depth(1000)"),
    ],
}

# fmt: on


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_libraries_as_in_redis(name: str, real_redis: RawRedis, local_client: LocalClient) -> None:
    for i, argv in enumerate(SEQUENCES[name]):
        theirs = run(real_redis, argv)
        ours = run(local_client, argv)
        body = argv[1][len(PRELUDE) :] if argv[1].startswith(PRELUDE.encode()) else argv[1]
        assert same(b"eval", ours, theirs), (
            f"script #{i} {body[:300]!r} {argv[3:]!r}: redis {theirs!r}, seshat {ours!r}"
        )


# -- random values, packed and unpacked on both servers ---------------------------------------

lua_numbers = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    # No -0.0: lupa hands Lua's -0 to Python as the integer 0, and Lua 5.1 merges the constants
    # -0 and 0 of one chunk, so a 0 elsewhere in the script would become -0 (known difference).
    st.floats(allow_nan=False, allow_infinity=False)
    .filter(lambda f: f != 0 or math.copysign(1, f) > 0)
    .map(lambda f: f"{f!r}".replace("inf", "1/0")),
    st.sampled_from(["1/0", "-1/0", "2^53+1", "2^63", "-2^63", "0.1", "1/3"]),
)
lua_strings = st.binary(max_size=40).map(lambda b: "'" + "".join(f"\\{c}" for c in b) + "'")
# Map keys stay short: Redis's Lua and lupa's place some long string keys apart in a table's
# hash part, so `next` (and so a map's encoded order) can differ there, with or without cmsgpack.
short_strings = st.binary(max_size=8).map(lambda b: "'" + "".join(f"\\{c}" for c in b) + "'")
lua_scalars = st.one_of(lua_numbers, lua_strings, st.sampled_from(["true", "false", "nil"]))
lua_values = st.recursive(
    lua_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6).map(lambda xs: "{" + ",".join(xs) + "}"),
        st.lists(st.tuples(st.one_of(short_strings, lua_numbers), inner), max_size=4).map(
            lambda kv: "{" + ",".join(f"[{k}]={v}" for k, v in kv) + "}"
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(lua_values, min_size=1, max_size=4))
def test_random_values_round_trip_as_in_redis(
    values: list[str], real_redis: RawRedis, local_client: LocalClient
) -> None:
    args = ", ".join(values)
    scripts = [
        ev(f"return hex(cmsgpack.pack({args}))"),
        ev(f"return all(cmsgpack.unpack(cmsgpack.pack({args})))"),
        ev(f"return all(cmsgpack.unpack_limit(cmsgpack.pack({args}), 2, 1))"),
    ]
    for argv in scripts:
        theirs = run(real_redis, argv)
        ours = run(local_client, argv)
        assert same(b"eval", ours, theirs), (args, theirs, ours)


struct_items = st.one_of(
    st.tuples(
        st.sampled_from("bBhHlLTiI"), st.sampled_from(["", "1", "2", "3", "8", "12"]), lua_numbers
    ),
    st.tuples(st.sampled_from("fd"), st.just(""), lua_numbers),
    st.tuples(st.just("c"), st.sampled_from(["0", "1", "4"]), lua_strings),
    st.tuples(st.just("s"), st.just(""), lua_strings),
    st.tuples(st.sampled_from(["<", ">", "!", "!2", "!4", "x", " "]), st.just(""), st.none()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(struct_items, min_size=1, max_size=6))
def test_random_struct_formats_as_in_redis(
    items: list[tuple[str, str, str | None]], real_redis: RawRedis, local_client: LocalClient
) -> None:
    fmt = "".join(opt + (n if opt in "iIc" else "") for opt, n, _ in items)
    args = ", ".join([f"'{fmt}'", *(v for opt, n, v in items if v is not None)])
    scripts = [
        ev(f"return hex(struct.pack({args}))"),
        ev(f"return all(struct.unpack('{fmt}', struct.pack({args})))"),
        ev(f"return struct.size('{fmt}')"),
    ]
    for argv in scripts:
        theirs = run(real_redis, argv)
        ours = run(local_client, argv)
        assert same(b"eval", ours, theirs), (args, theirs, ours)


def test_packing_a_table_that_holds_itself_spends_the_budget() -> None:
    """Seshat only: three references to itself make 3^16 tables for cmsgpack to encode (Redis
    would stay busy for minutes); each costs PACK_TABLE_COST, so the run stops everywhere at the
    same point, and pcall cannot catch it."""
    body = b"local t = {} for i = 1, 3 do t[i] = t end return {pcall(cmsgpack.pack, t)}"
    reply = lua_sandbox.Run(lambda words, resp: None, random.Random(1)).execute(body, "x", [], [])
    assert reply == ErrorReply(lua_sandbox.BUDGET_EXCEEDED)
