"""`struct` as Redis 7.0.15 bundles it (Roberto Ierusalimschy's struct.c 1.4 with Redis's
fixes), as pure functions over the plain values `seshat/kv/lua_msgpack.py` describes.

Formats: `>` big endian, `<` little endian (the default is the machine's: little, x86-64),
`![n]` alignment (default 8), `x` a zero byte, `b`/`B` `h`/`H` `l`/`L` `T` `i[n]`/`I[n]`
integers of 1, 2, 8, 8 and n (default 4, at most 32) bytes, `c[n]` n chars (`c0`: the whole
string when packing, the previous number's worth when unpacking), `s` a zero-terminated string,
`f` float, `d` double, spaces ignored.

What matches Redis here, on purpose: numbers convert as the C casts do on x86-64 (a negative
number through `long`, out of range is INT64_MIN; a non-negative one through `unsigned long`,
2^64 and up and infinity are 0, NaN is 2^63); integers wider than 8 bytes carry zeros beyond
the eighth byte, and unpack keeps the low 8 bytes and sign-extends from bit (8n-1) mod 64 (C's
shift on x86); "string too short" names the argument after the string (struct.c's `arg` has
moved on by then); `size` ignores unknown letters and digits.
"""

from __future__ import annotations

import struct as _struct
from collections.abc import Iterator
from typing import Any, Final

from seshat.kv.lua_msgpack import (
    STACK_MAX,
    LibraryError,
    arg_error,
    check_number,
    check_string,
    lua_number,
    opt_integer,
    string_to_number,
)

MAXINTSIZE: Final = 32
MAXALIGN: Final = 8  # offsetof(struct {char c; double d;}, d) on x86-64
INT_MAX: Final = 2**31 - 1
_SIZES: Final = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}
_INTEGERS: Final = frozenset("bBhHlLTiI")
_MASK64: Final = 0xFFFFFFFFFFFFFFFF


class _Format:
    """A cursor over a format string, with struct.c's header (endianness, alignment)."""

    __slots__ = ("align", "at", "fmt", "little")

    def __init__(self, fmt: bytes) -> None:
        self.fmt = fmt.split(b"\0", 1)[0].decode("latin-1")  # C reads up to the first NUL
        self.at = 0
        self.little = True
        self.align = 1

    def getnum(self, default: int) -> int:
        fmt = self.fmt
        if self.at >= len(fmt) or fmt[self.at] not in "0123456789":
            return default
        a = 0
        while self.at < len(fmt) and fmt[self.at] in "0123456789":
            digit = ord(fmt[self.at]) - 48
            if a > INT_MAX // 10 or a * 10 > INT_MAX - digit:
                raise LibraryError("integral size overflow")
            a = a * 10 + digit
            self.at += 1
        return a

    def optsize(self, opt: str) -> int:
        if opt in _SIZES:
            return _SIZES[opt]
        if opt == "c":
            return self.getnum(1)
        if opt in "iI":
            size = self.getnum(4)
            if size > MAXINTSIZE:
                raise LibraryError(f"integral size {size} is larger than limit of {MAXINTSIZE}")
            return size
        return 0

    def toalign(self, length: int, opt: str, size: int) -> int:
        if size == 0 or opt == "c":
            return 0
        size = min(size, self.align)
        return (size - (length & (size - 1))) & (size - 1)

    def control(self, opt: str, fn: str) -> None:
        if opt == " ":
            return
        if opt == ">":
            self.little = False
        elif opt == "<":
            self.little = True
        elif opt == "!":
            a = self.getnum(MAXALIGN)
            if not (a > 0 and a & (a - 1) == 0):
                raise LibraryError(f"alignment {a} is not a power of 2")
            self.align = a
        else:
            raise arg_error(1, fn, f"invalid format option '{opt}'")

    def options(self) -> Iterator[str]:
        while self.at < len(self.fmt):
            opt = self.fmt[self.at]
            self.at += 1
            yield opt


def _as_unsigned(n: float) -> int:
    """putinteger's (Uinttype) of a double, as gcc compiles it for x86-64."""
    if n < 0:
        return _cvttsd2si(n) & 0xFFFFFFFFFFFFFFFF
    if n >= 2.0**63:  # the "large" path: convert n - 2^63, then flip the top bit
        return (_cvttsd2si(n - 2.0**63) ^ (1 << 63)) & 0xFFFFFFFFFFFFFFFF
    return _cvttsd2si(n) & 0xFFFFFFFFFFFFFFFF  # NaN comes here too


def _cvttsd2si(n: float) -> int:
    if isinstance(n, int):
        return n if -(2**63) <= n < 2**63 else -(2**63)
    if not -(2.0**63) <= n < 2.0**63:  # NaN fails both
        return -(2**63)
    return int(n)


def _float32(n: float) -> bytes:
    """(float)n as little-endian bytes: C rounds to nearest and overflows to infinity."""
    try:
        return _struct.pack("<f", n)
    except OverflowError:
        return _struct.pack("<f", float("inf") if n > 0 else float("-inf"))


def pack(args: tuple[Any, ...]) -> bytes:
    """struct.pack(fmt, ...)."""
    f = _Format(check_string(args, 0, "pack"))
    args = (*args, None)  # b_pack pushes a nil mark: one argument too far reads "got nil"
    out = bytearray()
    arg = 1
    for opt in f.options():
        size = f.optsize(opt)
        toalign = f.toalign(len(out), opt, size)
        out += b"\0" * toalign
        if opt in _INTEGERS:
            value = _as_unsigned(check_number(args, arg, "pack"))
            arg += 1
            if size:
                raw = (value & ((1 << (8 * min(size, 8))) - 1)).to_bytes(size, "little")
                out += raw if f.little else raw[::-1]
        elif opt == "x":
            out += b"\0"
        elif opt in "fd":
            n = float(check_number(args, arg, "pack"))
            arg += 1
            raw = _float32(n) if opt == "f" else _struct.pack("<d", n)
            out += raw if f.little else raw[::-1]
        elif opt in "cs":
            s = check_string(args, arg, "pack")
            arg += 1
            if size == 0:
                size = len(s)
            if len(s) < size:
                raise arg_error(arg + 1, "pack", "string too short")
            out += s[:size]
            if opt == "s":
                out += b"\0"
        else:
            f.control(opt, "pack")
    return bytes(out)


def _getinteger(raw: bytes, little: bool, signed: bool) -> int | float:
    size = len(raw)
    ordered = raw if not little else raw[::-1]  # most significant first
    value = int.from_bytes(ordered, "big") & 0xFFFFFFFFFFFFFFFF  # an unsigned long keeps 8
    if not signed:
        return lua_number(value)
    mask = (0xFFFFFFFFFFFFFFFF << ((size * 8 - 1) & 63)) & 0xFFFFFFFFFFFFFFFF
    if value & mask:
        value |= mask
    if value >= 1 << 63:
        value -= 1 << 64
    return lua_number(value)


def unpack(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """struct.unpack(fmt, s[, i]): the values, then the position after them."""
    f = _Format(check_string(args, 0, "unpack"))
    data = check_string(args, 1, "unpack")
    pos = opt_integer(args, 2, "unpack", 1) & _MASK64  # a size_t: negative ones wrap
    if pos == 0:
        raise arg_error(3, "unpack", "offset must be 1 or greater")
    ld = len(data)
    pos -= 1
    results: list[Any] = []
    base = len(args)
    for opt in f.options():
        size = f.optsize(opt)
        pos = (pos + f.toalign(pos, opt, size)) & _MASK64
        if not (size <= ld and pos <= ld - size):
            raise arg_error(2, "unpack", "data string too short")
        if base + len(results) + 2 > STACK_MAX:
            raise LibraryError("stack overflow (too many results)")
        if opt in _INTEGERS:
            results.append(_getinteger(data[pos : pos + size], f.little, opt.islower()))
        elif opt in "fd":
            raw = data[pos : pos + size]
            (number,) = _struct.unpack("<f" if opt == "f" else "<d", raw if f.little else raw[::-1])
            results.append(number)
        elif opt == "c":
            if size == 0:
                previous = _number_of(results[-1]) if results else None
                if previous is None:
                    raise LibraryError("format 'c0' needs a previous size")
                size = _size_t(previous)
                results.pop()
                if not (size <= ld and pos <= ld - size):
                    raise arg_error(2, "unpack", "data string too short")
            results.append(data[pos : pos + size])
        elif opt == "s":
            end = data.find(b"\0", pos)
            if end < 0:
                raise LibraryError("unfinished string in data")
            size = end - pos + 1
            results.append(data[pos:end])
        elif opt != "x":
            f.control(opt, "unpack")
        pos += size
    end = (pos + 1) & _MASK64
    return (*results, lua_number(end - (1 << 64) if end >= 1 << 63 else end))


def _number_of(value: Any) -> float | None:
    """lua_isnumber/lua_tonumber of a value unpack pushed (a number or a string)."""
    if isinstance(value, bytes):
        return string_to_number(value)
    return value if isinstance(value, int | float) else None


def _size_t(number: float) -> int:
    """(size_t) of a double as gcc does it on x86-64 (negative numbers wrap)."""
    return _as_unsigned(number) if number >= 0 else _cvttsd2si(number) & 0xFFFFFFFFFFFFFFFF


def size(args: tuple[Any, ...]) -> int:
    """struct.size(fmt): the bytes `pack` would make, for a format of fixed size."""
    f = _Format(check_string(args, 0, "size"))
    pos = 0
    for opt in f.options():
        n = f.optsize(opt)
        pos += f.toalign(pos, opt, n)
        if opt == "s":
            raise arg_error(1, "size", "option 's' has no fixed size")
        if opt == "c" and n == 0:
            raise arg_error(1, "size", "option 'c0' has no fixed size")
        if not (opt.isascii() and opt.isalnum()):
            f.control(opt, "size")
        pos += n
    return pos
