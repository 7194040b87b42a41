"""Lua 5.1 chunks compiled once per process, kept as bytecode without debug information.

Every script runs in a fresh Lua state (`lua_sandbox`), so the sandbox's own Lua code is loaded
once per run. Loading bytecode skips the compiler; stripping it as `luac -s` does (no source
name, line numbers, local or upvalue names) halves what is left, because most of a dump is
debug strings that loading must intern. The sandbox's code needs none of them: the error
handler looks up the user's chunk by its source name, and the sandbox's own functions fail with
Redis's texts or at the caller's level, as Redis's C functions do.
"""

from __future__ import annotations

import struct
from typing import Any

import lupa.lua51 as lua  # type: ignore[import-untyped]

_HEADER = b"\x1bLua\x51\x00"  # signature, version 5.1, official format


def compile_stripped(source: str) -> bytes:
    """`source` compiled to Lua 5.1 bytecode, its debug information stripped."""
    scratch = lua.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    dumped: Any = scratch.globals().string.dump(scratch.compile(source))
    return strip(bytes(dumped))


def strip(dump: bytes) -> bytes:
    """A Lua 5.1 dump (from `string.dump`) without its debug information, as `luac -s`."""
    return _Stripper(dump).run()


class _Stripper:
    """Copies a dump field by field (lundump.c's order), dropping the debug fields."""

    def __init__(self, dump: bytes) -> None:
        if dump[:6] != _HEADER:
            raise ValueError("not a Lua 5.1 dump")
        little, int_size, size_t_size, instr_size, number_size = dump[6:11]
        order = "<" if little else ">"
        self._int = struct.Struct(order + {4: "i", 8: "q"}[int_size])
        self._size_t = struct.Struct(order + {4: "I", 8: "Q"}[size_t_size])
        self._instr_size = instr_size
        self._number_size = number_size
        self._dump = dump
        self._pos = 12
        self._out = [dump[:12]]

    def run(self) -> bytes:
        self._function()
        if self._pos != len(self._dump):
            raise ValueError("trailing bytes after the main function")
        return b"".join(self._out)

    def _take(self, n: int) -> bytes:
        chunk = self._dump[self._pos : self._pos + n]
        if len(chunk) != n:
            raise ValueError("truncated dump")
        self._pos += n
        return chunk

    def _read_int(self) -> int:
        value: int = self._int.unpack(self._take(self._int.size))[0]
        return value

    def _read_string(self) -> bytes:
        size: int = self._size_t.unpack(self._take(self._size_t.size))[0]
        return self._take(size)

    def _write_int(self, value: int) -> None:
        self._out.append(self._int.pack(value))

    def _function(self) -> None:
        out = self._out
        self._read_string()
        out.append(self._size_t.pack(0))  # source name: none
        # line defined, last line defined (ints), upvalues, parameters, vararg, stack (bytes)
        out.append(self._take(2 * self._int.size + 4))
        code = self._read_int()
        self._write_int(code)
        out.append(self._take(code * self._instr_size))
        constants = self._read_int()
        self._write_int(constants)
        for _ in range(constants):
            kind = self._take(1)
            out.append(kind)
            if kind == b"\x01":  # boolean
                out.append(self._take(1))
            elif kind == b"\x03":  # number
                out.append(self._take(self._number_size))
            elif kind == b"\x04":  # string
                text = self._read_string()
                out.append(self._size_t.pack(len(text)) + text)
            elif kind != b"\x00":  # nil has no value
                raise ValueError(f"unknown constant type {kind!r}")
        functions = self._read_int()
        self._write_int(functions)
        for _ in range(functions):
            self._function()
        self._take(self._read_int() * self._int.size)  # line numbers
        for _ in range(self._read_int()):  # local names and their pc ranges
            self._read_string()
            self._take(2 * self._int.size)
        for _ in range(self._read_int()):  # upvalue names
            self._read_string()
        self._write_int(0)
        self._write_int(0)
        self._write_int(0)
