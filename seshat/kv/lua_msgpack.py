"""`cmsgpack` as Redis 7.0.15 bundles it (lua-cmsgpack 0.4.0), as pure functions.

A script runs on every replica, so this codec must give the same bytes and the same errors
everywhere: it is plain Python over plain values, and `seshat/kv/lua_sandbox.py` does the
conversions between Lua and Python at its edge. Lua values arrive here as `bytes` (strings),
`bool`, `int`/`float` (numbers: Lua 5.1 numbers are doubles; lupa hands integral ones over as
`int`), `None` (nil), `LuaTable` (a table's pairs in `next` order, cut at the nesting limit) or
`Opaque` (functions, userdata, threads: what cmsgpack encodes as nil). Decoding builds tables
through the caller's `new_table`/`set_item`, in the order lua-cmsgpack does, so a decoded table
has the same layout (and `#t`, and `pairs` order) as in Redis.

What matches lua_cmsgpack.c 0.4.0 here, on purpose, bugs included: a whole number that fits
int64 is the smallest msgpack int, any other number float32 when exact, else float64; a table
is an array when its keys are exactly 1..n (n < 2^31), else a map; a table at nesting level 16
becomes nil; uint64 values above 2^63-1 decode as negative (lua_pushunsigned is
lua_pushinteger there); bin 8/16/32 (0xc4-0xc6) and ext types are "Bad data format"; the
"Invalid request" error prints the input length where it says "limit".
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

MAX_NESTING: Final = 16  # LUACMSGPACK_MAX_NESTING: a deeper table encodes as nil
STACK_MAX: Final = 8000  # LUAI_MAXCSTACK: Lua stack slots one C call may use
INT_MAX: Final = 2**31 - 1
TOO_MANY: Final = (
    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"
)


class LibraryError(Exception):
    """An error the library raises into the script. `positional`: raised by luaL_error or
    luaL_argerror, so Lua names the script's line first; otherwise (a table index that is nil
    or NaN) the text is bare, as lua_settable raises it from C."""

    def __init__(
        self, message: str, positional: bool = True, narg: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.positional = positional
        self.narg = narg  # luaL_argerror's: the caller names the function as the script does
        self.detail = detail

    def named(self, name: str | None, method: bool) -> str:
        """luaL_argerror's text for a function the script called `name` (None: "?")."""
        if self.narg is None:
            return self.message
        narg = self.narg - 1 if method else self.narg
        if method and narg == 0:
            return f"calling '{name}' on bad self ({self.detail})"
        return f"bad argument #{narg} to '{name or '?'}' ({self.detail})"


@dataclass(frozen=True, slots=True)
class LuaTable:
    """A Lua table as `next` visits it: its (key, value) pairs."""

    pairs: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True, slots=True)
class Opaque:
    """A Lua value with no Python form here: its Lua type name."""

    kind: str


def type_name(args: tuple[Any, ...], i: int) -> str:
    """luaL_typename of argument `i` (0-based): "no value" when it was not passed."""
    if i >= len(args):
        return "no value"
    value = args[i]
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, bytes):
        return "string"
    if isinstance(value, LuaTable):
        return "table"
    return value.kind if isinstance(value, Opaque) else "userdata"


def number_text(value: float) -> bytes:
    """A number as Lua 5.1 turns it into a string ("%.14g")."""
    if isinstance(value, float) and math.isnan(value):
        return b"-nan" if math.copysign(1.0, value) < 0 else b"nan"
    return b"%.14g" % value


def string_to_number(text: bytes) -> float | None:
    """lua_tonumber of a string (luaO_str2d: strtod, hex, trailing spaces), or None."""
    head = text.split(b"\0", 1)[0].decode("latin-1")
    body = head.strip(" \t\n\v\f\r")
    if not body or "_" in body:
        return None
    try:
        return float(body)
    except ValueError:
        pass
    if not body.lstrip("+-").lower().startswith("0x"):
        return None
    try:
        return float.fromhex(body)
    except ValueError:
        return None


def check_string(args: tuple[Any, ...], i: int, fn: str) -> bytes:
    """luaL_checklstring: a string, or a number as Lua prints it."""
    value = args[i] if i < len(args) else None
    if isinstance(value, bytes):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    raise arg_error(i + 1, fn, f"string expected, got {type_name(args, i)}")


def check_number(args: tuple[Any, ...], i: int, fn: str) -> float | int:
    """luaL_checknumber: a number, or a string that reads as one."""
    value = args[i] if i < len(args) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, bytes):
        number = string_to_number(value)
        if number is not None:
            return number
    raise arg_error(i + 1, fn, f"number expected, got {type_name(args, i)}")


def opt_integer(args: tuple[Any, ...], i: int, fn: str, default: int) -> int:
    """luaL_optinteger: `default` for none or nil, else the number cut to an integer."""
    if i >= len(args) or args[i] is None:
        return default
    return to_int64(check_number(args, i, fn))


def to_int64(number: float) -> int:
    """C's (int64_t) cast of a double on x86-64: out of range or NaN is INT64_MIN."""
    if isinstance(number, int):
        return number if -(2**63) <= number < 2**63 else -(2**63)
    if not -(2.0**63) <= number < 2.0**63:
        return -(2**63)
    return int(number)


def int32(number: int) -> int:
    """C's (int) of a 64-bit integer: its low 32 bits, signed."""
    number &= 0xFFFFFFFF
    return number - (1 << 32) if number >= 1 << 31 else number


def arg_error(narg: int, fn: str, message: str) -> LibraryError:
    return LibraryError(f"bad argument #{narg} to '{fn}' ({message})", narg=narg, detail=message)


def lua_number(number: float) -> int | float:
    """A number to hand back to Lua: a Python int only where a double holds it exactly."""
    if isinstance(number, int) and not -(2**53) <= number <= 2**53:
        return float(number)
    return number


# -- encoding -----------------------------------------------------------------------------------


def pack(args: tuple[Any, ...]) -> bytes:
    """cmsgpack.pack(...): every argument encoded, concatenated."""
    if not args:
        raise arg_error(0, "pack", "MessagePack pack needs input.")
    out = bytearray()
    for value in args:
        _encode(out, value, 0)
    return bytes(out)


def _encode(out: bytearray, value: Any, level: int) -> None:
    if isinstance(value, bytes):
        _encode_bytes(out, value)
    elif isinstance(value, bool):
        out.append(0xC3 if value else 0xC2)
    elif isinstance(value, int):
        _encode_int(out, value)
    elif isinstance(value, float):
        if not math.isinf(value) and to_int64(value) == value:
            _encode_int(out, to_int64(value))
        else:
            _encode_double(out, value)
    elif isinstance(value, LuaTable) and level != MAX_NESTING:
        _encode_table(out, value, level)
    else:
        out.append(0xC0)


def _encode_bytes(out: bytearray, s: bytes) -> None:
    n = len(s)
    if n < 32:
        out.append(0xA0 | n)
    elif n <= 0xFF:
        out += bytes((0xD9, n))
    elif n <= 0xFFFF:
        out += b"\xda" + n.to_bytes(2, "big")
    else:
        out += b"\xdb" + (n & 0xFFFFFFFF).to_bytes(4, "big")
    out += s


def _encode_double(out: bytearray, d: float) -> None:
    try:
        single = struct.pack(">f", d)
    except OverflowError:  # C's (float) cast gives an infinity, never equal to a finite d
        single = None
    if single is not None and struct.unpack(">f", single)[0] == d:
        out += b"\xca" + single
    else:
        out += b"\xcb" + struct.pack(">d", d)


def _encode_int(out: bytearray, n: int) -> None:
    if n >= 0:
        if n <= 127:
            out.append(n)
        elif n <= 0xFF:
            out += bytes((0xCC, n))
        elif n <= 0xFFFF:
            out += b"\xcd" + n.to_bytes(2, "big")
        elif n <= 0xFFFFFFFF:
            out += b"\xce" + n.to_bytes(4, "big")
        else:
            out += b"\xcf" + n.to_bytes(8, "big")
    elif n >= -32:
        out.append(n & 0xFF)
    elif n >= -128:
        out += b"\xd0" + n.to_bytes(1, "big", signed=True)
    elif n >= -32768:
        out += b"\xd1" + n.to_bytes(2, "big", signed=True)
    elif n >= -(2**31):
        out += b"\xd2" + n.to_bytes(4, "big", signed=True)
    else:
        out += b"\xd3" + n.to_bytes(8, "big", signed=True)


def _array_length(table: LuaTable) -> int | None:
    """table_is_an_array: n when the keys are exactly the numbers 1..n, else None."""
    count = top = 0
    for key, _ in table.pairs:
        if isinstance(key, bool) or not isinstance(key, int | float) or key <= 0:
            return None
        if not (key <= INT_MAX and float(key).is_integer()):  # IS_INT_EQUIVALENT
            return None
        top = max(top, int(key))
        count += 1
    return count if top == count else None


def _encode_table(out: bytearray, table: LuaTable, level: int) -> None:
    n = _array_length(table)
    if n is not None:
        _encode_header(out, n, 0x90, 0xDC)
        by_index = {int(k): v for k, v in table.pairs}
        for i in range(1, n + 1):
            _encode(out, by_index[i], level + 1)
        return
    _encode_header(out, len(table.pairs), 0x80, 0xDE)
    for key, value in table.pairs:
        _encode(out, key, level + 1)
        _encode(out, value, level + 1)


def _encode_header(out: bytearray, n: int, fix: int, code16: int) -> None:
    if n <= 15:
        out.append(fix | n)
    elif n <= 0xFFFF:
        out += bytes((code16,)) + n.to_bytes(2, "big")
    else:
        out += bytes((code16 + 1,)) + (n & 0xFFFFFFFF).to_bytes(4, "big")


# -- decoding -----------------------------------------------------------------------------------


class _Eof(Exception):
    pass


class _BadFormat(Exception):
    pass


NewTable = Callable[[], Any]
SetItem = Callable[[Any, Any, Any], None]


def unpack(args: tuple[Any, ...], new_table: NewTable, set_item: SetItem) -> tuple[Any, ...]:
    """cmsgpack.unpack(s): every value s holds."""
    return _unpack_full(args, 0, 0, len(args), new_table, set_item)


def unpack_one(args: tuple[Any, ...], new_table: NewTable, set_item: SetItem) -> tuple[Any, ...]:
    """cmsgpack.unpack_one(s[, offset]): the next offset (-1 at the end), then one value."""
    offset = opt_integer(args, 1, "unpack_one", 0)
    return _unpack_full(args[:1], 1, offset, 1, new_table, set_item)


def unpack_limit(args: tuple[Any, ...], new_table: NewTable, set_item: SetItem) -> tuple[Any, ...]:
    """cmsgpack.unpack_limit(s, limit[, offset]): the next offset, then up to `limit` values."""
    limit = to_int64(check_number(args, 1, "unpack_limit"))
    offset = opt_integer(args, 2, "unpack_limit", 0)
    return _unpack_full(args[:1], limit, offset, 1, new_table, set_item)


def _unpack_full(
    args: tuple[Any, ...],
    limit: int,
    offset: int,
    slots: int,
    new_table: NewTable,
    set_item: SetItem,
) -> tuple[Any, ...]:
    data = check_string(args, 0, "unpack")
    decode_all = not limit and not offset
    if offset < 0 or limit < 0:
        raise LibraryError(
            f"Invalid request to unpack with offset of {int32(offset)}"
            f" and limit of {int32(len(data))}."
        )
    if offset > len(data):
        raise LibraryError(
            f"Start offset {int32(offset)} greater than input length {int32(len(data))}."
        )
    if decode_all:
        limit = INT_MAX
    decoder = _Decoder(data, offset, new_table, set_item)
    values: list[Any] = []
    while decoder.pos < len(data) and len(values) < limit:
        try:
            values.append(decoder.value(slots + len(values)))
        except _Eof:
            raise LibraryError("Missing bytes in input.") from None
        except _BadFormat:
            raise LibraryError("Bad data format in input.") from None
    if decode_all:
        return tuple(values)
    if slots + len(values) + 1 > STACK_MAX:
        raise LibraryError("stack overflow (in function mp_unpack_full)")
    next_offset = -1 if decoder.pos >= len(data) else decoder.pos
    return (next_offset, *values)


class _Frame:
    """A table being decoded: what lua-cmsgpack's recursion keeps on the C stack."""

    __slots__ = ("index", "is_map", "key", "left", "slots", "table", "want_key")

    def __init__(self, table: Any, is_map: bool, left: int, slots: int) -> None:
        self.table = table
        self.is_map = is_map
        self.left = left  # elements (pairs for a map) still to decode
        self.slots = slots  # Lua stack slots in use below the table
        self.index = 1  # an array's next index
        self.key: Any = None  # a map's pending key
        self.want_key = True

    def child_slots(self) -> int:
        """Slots in use when the next element is decoded: the table, then the index (array)
        or the key (a map's value)."""
        return self.slots + (1 if self.is_map and self.want_key else 2)


class _Decoder:
    """mp_decode_to_lua_type, with an explicit stack instead of C recursion so that nesting
    goes as deep as Lua's stack allows in Redis (about 4,000 levels), not Python's."""

    __slots__ = ("data", "new_table", "pos", "set_item")

    def __init__(self, data: bytes, pos: int, new_table: NewTable, set_item: SetItem) -> None:
        self.data = data
        self.pos = pos
        self.new_table = new_table
        self.set_item = set_item

    def need(self, n: int) -> None:
        if len(self.data) - self.pos < n:
            raise _Eof

    def take(self, start: int, n: int) -> bytes:
        """n bytes from pos+start, consuming start+n."""
        self.need(start + n)
        begin = self.pos + start
        self.pos = begin + n
        return self.data[begin : begin + n]

    def value(self, slots: int) -> Any:
        """One whole value, with `slots` Lua stack slots in use below it (luaL_checkstack)."""
        frames: list[_Frame] = []
        at = slots
        while True:
            item, opened = self.item(at)
            if opened is not None:
                if opened.left > 0:
                    frames.append(opened)
                    at = opened.child_slots()
                    continue
                item = opened.table
            while frames:  # hand the finished item up until a table wants more
                frame = frames[-1]
                if frame.is_map and frame.want_key:
                    frame.key, frame.want_key = item, False
                    at = frame.child_slots()
                    break
                self.store(frame, item)
                if frame.left > 0:
                    at = frame.child_slots()
                    break
                item = frames.pop().table
            else:
                return item

    def store(self, frame: _Frame, item: Any) -> None:
        """lua_settable of the element just decoded, as the C code does it right away."""
        if frame.is_map:
            key, frame.key, frame.want_key = frame.key, None, True
            if key is None:
                raise LibraryError("table index is nil", positional=False)
            if isinstance(key, float) and math.isnan(key):
                raise LibraryError("table index is NaN", positional=False)
            self.set_item(frame.table, key, item)
        else:
            self.set_item(frame.table, frame.index, item)
            frame.index += 1
        frame.left -= 1

    def item(self, slots: int) -> tuple[Any, _Frame | None]:
        """A scalar, or the new table a container header opens (its elements follow)."""
        self.need(1)
        if slots + 1 > STACK_MAX:
            raise LibraryError(TOO_MANY)
        code = self.data[self.pos]
        if code <= 0x7F:
            self.pos += 1
            return code, None
        if code >= 0xE0:
            self.pos += 1
            return code - 256, None
        if 0xA0 <= code <= 0xBF:
            return self.take(1, code & 0x1F), None
        if 0x80 <= code <= 0x9F:
            self.pos += 1
            return None, self.open(code < 0x90, code & 0x0F, slots)
        fixed = _FIXED.get(code)
        if fixed is not None:
            size, fmt = fixed
            (number,) = struct.unpack(fmt, self.take(1, size))
            if code == 0xCF and number >= 2**63:  # lua_pushunsigned is lua_pushinteger
                number -= 2**64
            return lua_number(number), None
        if code == 0xC0:
            self.pos += 1
            return None, None
        if code in (0xC2, 0xC3):
            self.pos += 1
            return code == 0xC3, None
        if code in (0xD9, 0xDA, 0xDB):
            width = 1 << (code - 0xD9)
            n = int.from_bytes(self.take(1, width), "big")
            return self.take(0, n), None
        if code in (0xDC, 0xDD, 0xDE, 0xDF):
            n = int.from_bytes(self.take(1, 2 if code in (0xDC, 0xDE) else 4), "big")
            return None, self.open(code >= 0xDE, n, slots)
        raise _BadFormat

    def open(self, is_map: bool, n: int, slots: int) -> _Frame:
        table = self.new_table()
        if not is_map and slots + 2 > STACK_MAX:
            raise LibraryError("stack overflow (in function mp_decode_to_lua_array)")
        return _Frame(table, is_map, n, slots)


_FIXED: Final[dict[int, tuple[int, str]]] = {
    0xCA: (4, ">f"),
    0xCB: (8, ">d"),
    0xCC: (1, ">B"),
    0xCD: (2, ">H"),
    0xCE: (4, ">I"),
    0xCF: (8, ">Q"),
    0xD0: (1, ">b"),
    0xD1: (2, ">h"),
    0xD2: (4, ">i"),
    0xD3: (8, ">q"),
}
