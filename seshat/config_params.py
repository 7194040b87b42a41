"""Redis's configuration parameters that Seshat accepts without acting on them.

Tools read and write Redis's parameters (`CONFIG GET *`, `CONFIG SET timeout 300`,
`hash-max-listpack-entries`...). Seshat answers for all of Redis 7.0.15's, with Redis's
defaults and Redis's validation and error texts (`config_table.py`, generated from a real
redis-server). The parameters Seshat acts on or decides itself (requirepass, maxclients,
notify-keyspace-events, the slow log and latency monitor; port, bind, dir, appendfsync,
maxmemory...) are served by the server, which takes precedence over this table: those it
cannot change at run time take only the value they have (`set(..., fixed=...)`). The rest
change nothing in Seshat; each node remembers and reports them, as Redis's configuration is
per instance. docs/operations.md says which is which.
"""

from __future__ import annotations

import re
from typing import Final

from seshat.config_table import ROWS
from seshat.kv import errors as E
from seshat.protocol.replies import ErrorReply

_UNITS: Final = {"": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3,
                 "gb": 1024**3}  # fmt: skip
_MEMORY: Final = re.compile(r"(-?\d+)([a-z]*)")
_INTEGER: Final = re.compile(r"-?(0|[1-9]\d*)")


class RedisParams:
    """One node's values of the parameters in `config_table.ROWS`."""

    def __init__(self) -> None:
        self._rows = {name: (kind, extra) for name, kind, _default, extra in ROWS}
        self._values = {name: default for name, _kind, default, _extra in ROWS}
        # Redis 7's old names share their new name's value (slave-priority, hash-max-ziplist-*).
        self._alias = {
            name: new
            for name in self._rows
            if (new := name.replace("slave", "replica").replace("ziplist", "listpack")) != name
            and new in self._rows
        }

    def names(self) -> list[str]:
        return list(self._values)

    def get(self, name: str) -> str:
        return self._values[self._alias.get(name, name)]

    def settable(self, name: str) -> bool:
        return name in self._rows

    def set(self, name: str, raw: bytes, fixed: str | None = None) -> ErrorReply | None:
        """Store `raw` as Redis would store it, or Redis's refusal. With `fixed` (a parameter
        the server decides), a valid value other than `fixed` is refused and none is stored."""
        kind, extra = self._rows[name]
        text = raw.decode(errors="replace")
        if kind in ("immutable", "protected"):
            return E.config_set_failed(name, f"can't set {kind} config")
        value, problem = _parse(kind, extra, text)
        if problem is not None:
            return E.config_set_failed(name, problem)
        if fixed is not None:
            if value != fixed:
                return E.config_set_failed(
                    name, f"Seshat does not change it at run time: it is '{fixed}'"
                )
            return None
        self._values[self._alias.get(name, name)] = value
        return None


def _parse(kind: str, extra: tuple[object, ...], text: str) -> tuple[str, str | None]:
    """(the value as CONFIG GET shows it, None) or ("", Redis's reason for refusing it)."""
    if kind == "bool":
        word = text.lower()
        if word not in ("yes", "no"):
            return "", "argument must be 'yes' or 'no'"
        return word, None
    if kind == "enum":
        word = text.lower()
        if word not in extra:
            return "", "argument(s) must be one of the following: " + ", ".join(map(str, extra))
        return word, None
    if kind == "int":
        if not _INTEGER.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
            return "", "argument couldn't be parsed into an integer"
        return _bounded(int(text), extra)
    if kind == "memory":
        found = _MEMORY.fullmatch(text.lower())
        if found is None or found.group(2) not in _UNITS or found.group(1).startswith("-"):
            return "", "argument must be a memory value"
        return _bounded(int(found.group(1)) * _UNITS[found.group(2)], extra)
    return text, None


def _bounded(number: int, extra: tuple[object, ...]) -> tuple[str, str | None]:
    low, high = int(extra[0]), int(extra[1])  # type: ignore[call-overload]
    if not low <= number <= high:
        return "", f"argument must be between {low} and {high} inclusive"
    return str(number), None
