"""`cjson` for scripts, as Redis bundles it: lua-cjson 2.1.0's encoding, decoding, errors and
settings, over Lua values the sandbox reaches through `LuaOps`.

What scripts depend on and a general-purpose JSON library does differently:

- JSON `null` decodes to `cjson.null` (a userdata, so an array keeps its length and a script can
  compare against it), and `cjson.null` encodes to `null`.
- A table is an array when all its keys are integers >= 1; missing entries encode as `null`,
  unless the array is "excessively sparse" (more than twice as long as it has items, and longer
  than 10), which is an error. Any other table is an object, the empty table included (`{}`).
- Numbers print as C's `%.14g` (`encode_number_precision`); NaN and infinities are an error
  (`encode_invalid_numbers`). `/` is escaped as `\\/`, DEL as `\\u007f`.
- Decoding takes what C's `strtod` takes (hex, `inf`, `nan`, a leading `+`) unless
  `decode_invalid_numbers(false)`; errors say `Expected <what> but found <token> at character
  <n>`, with lua-cjson's token names.
- Nesting stops at 1000 levels each way (`encode_max_depth`, `decode_max_depth`). Both walks use
  a stack of their own, not Python's recursion.

Settings live in each script's state: Redis keeps one Lua state for all scripts, so there a
setting outlives the script that made it; here every script starts from lua-cjson's defaults.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol

INT_MAX: Final = 2_147_483_647


class CjsonError(Exception):
    """The library's error, as luaL_error raises it (the caller adds the position), or as
    luaL_argerror does (`narg` and `detail`: the caller names the function as the script
    called it, which only Lua knows)."""

    def __init__(self, message: str, narg: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.narg = narg
        self.detail = detail


def _arg_error(name: str, narg: int, detail: str) -> CjsonError:
    return CjsonError(f"bad argument #{narg} to '{name}' ({detail})", narg, detail)


class LuaOps(Protocol):
    """What the walks need from the Lua side."""

    def kind(self, value: Any) -> str:
        """`lua_typename` of a value as the Lua side hands it over: 'nil', 'boolean',
        'number', 'string', 'table', 'function', 'userdata'..."""
        ...

    def is_null(self, value: Any) -> bool: ...

    def rawget(self, table: Any, key: Any) -> Any: ...

    def pairs(self, table: Any) -> Iterable[tuple[Any, Any]]: ...

    def array(self, items: list[Any]) -> Any: ...

    def object(self, fields: dict[bytes, Any]) -> Any: ...


@dataclass(slots=True)
class Config:
    """lua-cjson's settings, with its defaults."""

    encode_sparse_convert: bool = False
    encode_sparse_ratio: int = 2
    encode_sparse_safe: int = 10
    encode_max_depth: int = 1000
    decode_max_depth: int = 1000
    encode_number_precision: int = 14
    encode_keep_buffer: int = 1  # an option: 0 off, 1 on (no effect here: no buffer kept)
    encode_invalid_numbers: int = 0  # 0 off, 1 on, 2 "null"
    decode_invalid_numbers: int = 1


INVALID_NUMBER_OPTIONS: Final = ("off", "on", "null")


def set_integer(
    config: Config, ops: LuaOps, name: str, args: tuple[Any, ...], low: int, high: int
) -> int:
    """`cjson.encode_max_depth([n])` and its kind: set when given, answer the setting."""
    _check_arg_count(name, args, 1)
    if args and args[0] is not None:
        value = _check_integer(ops, name, 1, args[0])
        if not low <= value <= high:
            raise _arg_error(name, 1, f"expected integer between {low} and {high}")
        setattr(config, name, value)
    return int(getattr(config, name))


def set_option(
    config: Config,
    ops: LuaOps,
    name: str,
    args: tuple[Any, ...],
    options: tuple[str, ...] = ("off", "on"),
) -> bool | bytes:
    """`json_enum_option`: a boolean or one of `options` by name; answers the setting."""
    _check_arg_count(name, args, 1)
    if args and args[0] is not None:
        value = args[0]
        if isinstance(value, bool):
            setattr(config, name, int(value))
        else:
            setattr(config, name, _check_option(ops, name, 1, value, options))
    setting = int(getattr(config, name))
    if setting in (0, 1):
        return bool(setting)
    return options[setting].encode()


def set_sparse_array(config: Config, ops: LuaOps, args: tuple[Any, ...]) -> tuple[bool, int, int]:
    """`cjson.encode_sparse_array([convert[, ratio[, safe]]])`."""
    name = "encode_sparse_array"
    _check_arg_count(name, args, 3)
    padded = (*args, None, None, None)[:3]
    if padded[0] is not None:
        convert = padded[0]
        config.encode_sparse_convert = (
            convert
            if isinstance(convert, bool)
            else bool(_check_option(ops, name, 1, convert, ("off", "on")))
        )
    for index, field in ((2, "encode_sparse_ratio"), (3, "encode_sparse_safe")):
        raw = padded[index - 1]
        if raw is not None:
            value = _check_integer(ops, name, index, raw)
            if not 0 <= value <= INT_MAX:
                raise _arg_error(name, 1, f"expected integer between 0 and {INT_MAX}")
            setattr(config, field, value)
    return config.encode_sparse_convert, config.encode_sparse_ratio, config.encode_sparse_safe


def _check_arg_count(name: str, args: tuple[Any, ...], most: int) -> None:
    if len(args) > most:
        raise _arg_error(name, most + 1, "found too many arguments")


def _check_integer(ops: LuaOps, name: str, index: int, value: Any) -> int:
    """`luaL_checkinteger`: a number (or a numeric string), truncated."""
    number = _to_number(value)
    if number is None:
        raise _arg_error(name, index, f"number expected, got {ops.kind(value)}")
    return int(number) if math.isfinite(number) else 0


def _check_option(ops: LuaOps, name: str, index: int, value: Any, options: tuple[str, ...]) -> int:
    if not isinstance(value, bytes | int | float) or isinstance(value, bool):
        raise _arg_error(name, index, f"string expected, got {ops.kind(value)}")
    text = value.decode("latin-1") if isinstance(value, bytes) else _lua_number_text(value)
    if text not in options:
        raise _arg_error(name, index, f"invalid option '{text}'")
    return options.index(text)


def _to_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, bytes):
        text = value.strip()
        return _strtod_value(text) if _STRTOD.fullmatch(text) else None
    return None


def _lua_number_text(number: float) -> str:
    return f"{number:.14g}"


# -- encode ---------------------------------------------------------------------------------


_ESCAPES: Final = {
    **{i: b"\\u%04x" % i for i in range(0x20)},
    0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0C: b"\\f", 0x0D: b"\\r",
    0x22: b'\\"', 0x2F: b"\\/", 0x5C: b"\\\\", 0x7F: b"\\u007f",
}  # fmt: skip
_TO_ESCAPE: Final = re.compile(rb'[\x00-\x1f"/\\\x7f]')


def _string(value: bytes) -> bytes:
    return b'"' + _TO_ESCAPE.sub(lambda m: _ESCAPES[m.group()[0]], value) + b'"'


def _number(config: Config, number: float, kind: str = "number") -> bytes:
    if not math.isfinite(number):
        mode = config.encode_invalid_numbers
        if mode == 0:
            raise CjsonError(f"Cannot serialise {kind}: must not be NaN or Inf")
        if mode == 2:
            return b"null"
        if math.isnan(number):
            return b"nan"
    return b"%.*g" % (config.encode_number_precision, number)


def encode(config: Config, ops: LuaOps, args: tuple[Any, ...]) -> bytes:
    """`cjson.encode(value)`: the JSON text, or CjsonError."""
    if len(args) != 1:
        raise _arg_error("encode", 1, "expected 1 argument")
    out: list[bytes] = []
    # Frames of the tables being written: [is_array, pending children, depth].
    stack: list[tuple[bool, Iterable[tuple[Any, Any]], int]] = []
    _emit(config, ops, args[0], 0, out, stack)
    while stack:
        is_array, children, depth = stack[-1]
        for key, value in children:
            if out[-1] not in (b"[", b"{"):
                out.append(b",")
            if not is_array:
                out.append(_key(config, ops, key))
            _emit(config, ops, value, depth, out, stack)
            break
        else:
            out.append(b"]" if is_array else b"}")
            stack.pop()
    return b"".join(out)


def _key(config: Config, ops: LuaOps, key: Any) -> bytes:
    if isinstance(key, bytes):
        return _string(key) + b":"
    if isinstance(key, int | float) and not isinstance(key, bool):
        return b'"' + _number(config, key) + b'":'
    raise CjsonError(f"Cannot serialise {ops.kind(key)}: table key must be a number or string")


def _emit(
    config: Config,
    ops: LuaOps,
    value: Any,
    depth: int,
    out: list[bytes],
    stack: list[tuple[bool, Iterable[tuple[Any, Any]], int]],
) -> None:
    """Write a scalar, or open a table and push its frame."""
    if isinstance(value, bytes):
        out.append(_string(value))
    elif isinstance(value, bool):
        out.append(b"true" if value else b"false")
    elif isinstance(value, int | float):
        out.append(_number(config, value))
    elif value is None or ops.is_null(value):
        out.append(b"null")
    elif ops.kind(value) == "table":
        depth += 1
        if depth > config.encode_max_depth:
            raise CjsonError(f"Cannot serialise, excessive nesting ({depth})")
        length = _array_length(config, ops, value)
        if length > 0:
            out.append(b"[")
            items = ((i, ops.rawget(value, i)) for i in range(1, length + 1))
            stack.append((True, iter(items), depth))
        else:
            out.append(b"{")
            stack.append((False, iter(ops.pairs(value)), depth))
    else:
        raise CjsonError(f"Cannot serialise {ops.kind(value)}: type not supported")


def _array_length(config: Config, ops: LuaOps, table: Any) -> int:
    """lua-cjson's `lua_array_length`: the largest key if every key is an integer >= 1, else
    -1 (an object); an excessively sparse array is an error (or an object if converting)."""
    largest = 0
    items = 0
    for key, _value in ops.pairs(table):
        if not isinstance(key, int | float) or isinstance(key, bool):
            return -1
        if not (key >= 1 and (math.isinf(key) or float(key).is_integer())):
            return -1  # (C's floor(inf) == inf: an infinite key passes, as an int it is INT_MIN)
        if key > largest:
            # C stores the key in an int: out of range, x86 makes that INT_MIN
            largest = int(key) if -INT_MAX - 1 <= key <= INT_MAX else -INT_MAX - 1
        items += 1
    ratio = config.encode_sparse_ratio
    if ratio > 0 and largest > items * ratio and largest > config.encode_sparse_safe:
        if not config.encode_sparse_convert:
            raise CjsonError("Cannot serialise table: excessively sparse array")
        return -1
    return largest


# -- decode ---------------------------------------------------------------------------------

# C's strtod: decimal, hex (with an optional binary exponent), inf/infinity, nan(chars).
_STRTOD: Final = re.compile(
    rb"[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    rb"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    rb"|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)"
)
_WHITESPACE: Final = b" \t\n\r"
_SINGLE: Final = {
    ord("{"): "T_OBJ_BEGIN", ord("}"): "T_OBJ_END", ord("["): "T_ARR_BEGIN",
    ord("]"): "T_ARR_END", ord(":"): "T_COLON", ord(","): "T_COMMA",
}  # fmt: skip
_UNKNOWN: Final = frozenset(b'fiInNt"+-0123456789')
_ESCAPED: Final = {
    ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b",
    ord("f"): b"\f", ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t",
}  # fmt: skip
_HEX4: Final = re.compile(rb"[0-9a-fA-F]{4}")


def _strtod_value(text: bytes) -> float:
    body = text.lstrip(b"+-")
    sign = -1.0 if text.startswith(b"-") else 1.0
    if body[:2] in (b"0x", b"0X"):
        return sign * float.fromhex(body.decode())
    if body[:3].lower() == b"nan":
        return math.nan
    return sign * float(body)


def _is_invalid_number(data: bytes, pos: int) -> bool:
    """lua-cjson's `json_is_invalid_number`: what strict JSON would refuse."""
    if data[pos : pos + 1] == b"+":
        return True
    if data[pos : pos + 1] == b"-":
        pos += 1
    ch = data[pos : pos + 1]
    if ch == b"0":
        nxt = data[pos + 1 : pos + 2]
        return nxt in (b"x", b"X") or (nxt != b"" and nxt.isdigit())
    if ch != b"" and ch <= b"9":
        return False
    head = data[pos : pos + 3].lower()
    return head in (b"inf", b"nan")


class _Tokens:
    __slots__ = ("config", "data", "pos")

    def __init__(self, config: Config, data: bytes) -> None:
        self.config = config
        self.data = data
        self.pos = 0

    def next(self) -> tuple[str, Any, int]:
        """(type, value, 0-based index); an error token carries its text as value."""
        data = self.data
        pos = self.pos
        size = len(data)
        while pos < size and data[pos] in _WHITESPACE:
            pos += 1
        self.pos = pos
        if pos >= size:
            return "T_END", None, pos
        ch = data[pos]
        single = _SINGLE.get(ch)
        if single is not None:
            self.pos = pos + 1
            return single, None, pos
        if ch not in _UNKNOWN:
            return "T_ERROR", "invalid token", pos
        if ch == 0x22:
            return self._string(pos)
        decode_invalid = self.config.decode_invalid_numbers
        if ch == 0x2D or 0x30 <= ch <= 0x39:
            if not decode_invalid and _is_invalid_number(data, pos):
                return "T_ERROR", "invalid number", pos
            return self._number(pos)
        for word, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                  (b"null", "T_NULL", None)):  # fmt: skip
            if data.startswith(word, pos):
                self.pos = pos + len(word)
                return kind, value, pos
        if decode_invalid and _is_invalid_number(data, pos):
            return self._number(pos)
        return "T_ERROR", "invalid token", pos

    def _number(self, pos: int) -> tuple[str, Any, int]:
        match = _STRTOD.match(self.data, pos)
        if match is None:
            return "T_ERROR", "invalid number", pos
        self.pos = match.end()
        return "T_NUMBER", _strtod_value(match.group()), pos

    def _string(self, start: int) -> tuple[str, Any, int]:
        data = self.data
        pos = start + 1
        size = len(data)
        parts: list[bytes] = []
        while True:
            end = pos
            while end < size and data[end] not in (0x22, 0x5C):
                end += 1
            parts.append(data[pos:end])
            pos = end
            if pos >= size:
                self.pos = pos
                return "T_ERROR", "unexpected end of string", pos
            if data[pos] == 0x22:
                self.pos = pos + 1
                return "T_STRING", b"".join(parts), start
            escape = data[pos + 1] if pos + 1 < size else 0
            if escape == ord("u"):
                decoded = _unicode_escape(data, pos)
                if decoded is None:
                    self.pos = pos
                    return "T_ERROR", "invalid unicode escape code", pos
                text, pos = decoded
                parts.append(text)
                continue
            char = _ESCAPED.get(escape)
            if char is None:
                self.pos = pos
                return "T_ERROR", "invalid escape code", pos
            parts.append(char)
            pos += 2


def _unicode_escape(data: bytes, pos: int) -> tuple[bytes, int] | None:
    """`\\uXXXX` at `pos` (a surrogate pair takes two): its UTF-8 and the position after."""
    first = data[pos + 2 : pos + 6]
    if not _HEX4.fullmatch(first):
        return None
    code = int(first, 16)
    end = pos + 6
    if 0xDC00 <= code <= 0xDFFF:
        return None
    if 0xD800 <= code <= 0xDBFF:
        if data[end : end + 2] != b"\\u":
            return None
        second = data[end + 2 : end + 6]
        if not _HEX4.fullmatch(second):
            return None
        low = int(second, 16)
        if not 0xDC00 <= low <= 0xDFFF:
            return None
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        end += 6
    return chr(code).encode("utf-8", "surrogatepass"), end


def _expected(what: str, token: tuple[str, Any, int]) -> CjsonError:
    kind, value, index = token
    found = value if kind == "T_ERROR" else kind
    return CjsonError(f"Expected {what} but found {found} at character {index + 1}")


def decode(config: Config, ops: LuaOps, null: Any, args: tuple[Any, ...]) -> Any:
    """`cjson.decode(text)`: the Lua value, or CjsonError."""
    if len(args) != 1:
        raise _arg_error("decode", 1, "expected 1 argument")
    data = args[0]
    if isinstance(data, int | float) and not isinstance(data, bool):
        data = _lua_number_text(data).encode()
    if not isinstance(data, bytes):
        raise _arg_error("decode", 1, f"string expected, got {ops.kind(data)}")
    if len(data) >= 2 and (data[0] == 0 or data[1] == 0):
        raise CjsonError("JSON parser does not support UTF-16 or UTF-32")
    nul = data.find(b"\0")
    if nul >= 0:
        data = data[:nul]  # a C string: the text ends at its first NUL
    tokens = _Tokens(config, data)
    # Frames of the containers being read: [list] or [dict, key].
    stack: list[list[Any]] = []
    token = tokens.next()
    while True:
        value, token = _value(config, ops, null, tokens, token, stack)
        if value is _OPENED:
            continue
        while True:  # a value is complete: put it in its container, close what closes
            if not stack:
                token = tokens.next()
                if token[0] != "T_END":
                    raise _expected("the end", token)
                return value
            frame = stack[-1]
            is_array = len(frame) == 1
            if is_array:
                frame[0].append(value)
            else:
                frame[0][frame[1]] = value
            token = tokens.next()
            if token[0] == ("T_ARR_END" if is_array else "T_OBJ_END"):
                stack.pop()
                value = ops.array(frame[0]) if is_array else ops.object(frame[0])
                continue
            if token[0] != "T_COMMA":
                raise _expected("comma or array end" if is_array else "comma or object end", token)
            token = tokens.next()
            if not is_array:
                frame[1] = _object_key(tokens, token)
                token = tokens.next()
            break


_OPENED: Final = object()


def _value(
    config: Config,
    ops: LuaOps,
    null: Any,
    tokens: _Tokens,
    token: tuple[str, Any, int],
    stack: list[list[Any]],
) -> tuple[Any, tuple[str, Any, int]]:
    """The value `token` starts: a scalar, an empty container, or _OPENED with the new
    container's frame pushed and the token of its first value."""
    kind, value, _index = token
    if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN"):
        return value, token
    if kind == "T_NULL":
        return null, token
    if kind not in ("T_OBJ_BEGIN", "T_ARR_BEGIN"):
        raise _expected("value", token)
    depth = len(stack) + 1
    if depth > config.decode_max_depth:
        raise CjsonError(
            f"Found too many nested data structures ({depth}) at character {tokens.pos}"
        )
    first = tokens.next()
    if kind == "T_ARR_BEGIN":
        if first[0] == "T_ARR_END":
            return ops.array([]), first
        stack.append([[]])
        return _OPENED, first
    if first[0] == "T_OBJ_END":
        return ops.object({}), first
    key = _object_key(tokens, first)
    stack.append([{}, key])
    return _OPENED, tokens.next()


def _object_key(tokens: _Tokens, token: tuple[str, Any, int]) -> bytes:
    if token[0] != "T_STRING":
        raise _expected("object key string", token)
    colon = tokens.next()
    if colon[0] != "T_COLON":
        raise _expected("colon", colon)
    return bytes(token[1])
