"""What ACL rules name: commands (with `container|sub` subcommands) and `@categories`.

Built once from the command table on first use, not at import: `seshat.kv.commands` imports the
ACL command rows, which import this package, so a top-level import here would be circular.
Names are Seshat's commands only; a Redis command Seshat lacks is an unknown name here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from seshat.kv.commands import CommandSpec

# Redis 7.0's `ACLCommandCategories`, in its order (ACL CAT answers them in this order).
CATEGORIES: Final[tuple[str, ...]] = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every command by full name (`get`, `config|get`), containers' subcommands, and the
    commands of each category (subcommands included, as Redis walks them)."""

    by_name: dict[bytes, CommandSpec]
    subcommands: dict[bytes, tuple[CommandSpec, ...]]
    by_category: dict[str, tuple[CommandSpec, ...]]
    all_names: frozenset[bytes]
    ordered: tuple[CommandSpec, ...]  # the table's order, each container's subcommands after it

    def lookup(self, name: bytes) -> CommandSpec | None:
        """Redis's `lookupCommandBySds`: `cmd` or `container|sub`, any case; else None."""
        return self.by_name.get(name.lower())

    def parent(self, spec: CommandSpec) -> bytes | None:
        """The container's name of a subcommand's row, None for a top-level command."""
        name = spec.name
        return name.split(b"|", 1)[0] if b"|" in name else None


@cache
def catalog() -> Catalog:
    from seshat.kv.commands import SUBCOMMANDS, TABLE

    by_name: dict[bytes, CommandSpec] = {}
    ordered: list[CommandSpec] = []
    for spec in TABLE:
        by_name[spec.name] = spec
        ordered.append(spec)
        for sub in SUBCOMMANDS.get(spec.name, ()):
            by_name[sub.name] = sub
            ordered.append(sub)
    by_category: dict[str, tuple[CommandSpec, ...]] = {
        cat: tuple(s for s in ordered if "@" + cat in s.acl_categories) for cat in CATEGORIES
    }
    return Catalog(by_name, dict(SUBCOMMANDS), by_category, frozenset(by_name), tuple(ordered))
