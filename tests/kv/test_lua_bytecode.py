"""The sandbox's chunks are loaded from stripped bytecode: it must run as the source does."""

from __future__ import annotations

import lupa.lua51 as lua  # type: ignore[import-untyped]
import pytest

from seshat.kv.lua_bytecode import compile_stripped, strip

SOURCE = """
local base = ...
local function add(a, b) return a + b end
local t = {n = 1.5, s = "text", yes = true, none = nil}
return function(x)
  local inner = function(y) return add(y, base) end
  return inner(x) * t.n, t.s, t.yes, debug.getinfo(1, "S").source
end
"""


def _load(code: bytes) -> object:
    runtime = lua.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    fn, message = runtime.globals().loadstring(code, b"=chunk"), None
    if isinstance(fn, tuple):
        fn, message = fn
    assert fn is not None, message
    return fn


def test_stripped_bytecode_runs_as_the_source_and_has_no_debug_strings() -> None:
    stripped = compile_stripped(SOURCE)
    scratch = lua.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    full = bytes(scratch.globals().string.dump(scratch.compile(SOURCE)))
    assert len(stripped) < len(full)
    assert b"inner" in full and b"inner" not in stripped  # local names are gone
    made = _load(stripped)(2)  # type: ignore[operator]
    assert made(4)[:3] == (9.0, b"text", True)
    assert made(4)[3] == b"=?"  # no source name left (Lua 5.1 shows "=?")


def test_stripping_twice_changes_nothing() -> None:
    once = compile_stripped(SOURCE)
    assert strip(once) == once


@pytest.mark.parametrize("damage", [lambda b: b[:-1], lambda b: b + b"\x00", lambda b: b"x" + b])
def test_a_damaged_dump_is_refused(damage: object) -> None:
    with pytest.raises(ValueError):
        strip(damage(compile_stripped(SOURCE)))  # type: ignore[operator]
