"""XINFO STREAM, GROUPS and CONSUMERS (Redis 7.0's fields, in Redis's order).

`radix-tree-keys` and `radix-tree-nodes` describe Redis's memory layout, which Seshat does not
have: they are reported for the equivalent layout of 100-entry nodes (`streams.NODE_ENTRIES`),
which is what Redis shows for a stream of small entries built by XADD alone.
"""

from __future__ import annotations

from typing import Final

from seshat.kv import collections as C
from seshat.kv import errors as E
from seshat.kv import stream_groups as G
from seshat.kv import stream_ids as I
from seshat.kv import streams as S
from seshat.kv.keyspace import KeyspaceView
from seshat.kv.numbers import parse_int
from seshat.kv.stream_ids import MAX_ID, MIN_ID
from seshat.protocol.replies import ErrorReply, Map, Reply, SimpleString

_HELP: Final[list[Reply]] = [
    SimpleString(line)
    for line in (
        b"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"CONSUMERS <key> <groupname>",
        b"    Show consumers of <groupname>.",
        b"GROUPS <key>",
        b"    Show the stream consumer groups.",
        b"STREAM <key> [FULL [COUNT <count>]",
        b"    Show information about the stream.",
        b"HELP",
        b"    Prints this help.",
    )
]
_ARITY: Final = {b"consumers": 4, b"groups": 3, b"stream": -3, b"help": 2}
_FULL_COUNT_DEFAULT: Final = 10


def read_xinfo(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    sub = argv[1].lower()
    arity = _ARITY.get(sub)
    if arity is None:
        return E.unknown_subcommand(argv[1], "XINFO")
    if (len(argv) != arity) if arity > 0 else (len(argv) < -arity):
        return E.wrong_arity(b"xinfo|" + sub)
    if sub == b"help":
        return list(_HELP)
    opened = S.open_read(view, now_ms, db, argv[2])
    if opened is None:
        return E.NO_SUCH_KEY
    if isinstance(opened, ErrorReply):
        return opened
    coll, meta = opened
    if sub == b"stream":
        return _stream(coll, meta, argv)
    if sub == b"groups":
        return [_group_summary(coll, meta, group) for group in G.groups(coll)]
    if G.get_group(coll, argv[3]) is None:
        return G.nogroup_for_key(argv[2], argv[3])
    counts = G.pending_counts(coll, argv[3])
    return [
        Map([(b"name", name), (b"pending", counts.get(name, 0)), (b"idle", now_ms - seen)])
        for name, seen in G.consumers(coll, argv[3])
    ]


def _nodes(size: int) -> int:
    return -(-size // S.NODE_ENTRIES)


def _stream(coll: C.RColl, meta: S.StreamMeta, argv: list[bytes]) -> Reply:
    options = argv[3:]
    full, count = False, _FULL_COUNT_DEFAULT
    if options:
        if len(options) not in (1, 3) or options[0].lower() != b"full":
            return E.subcommand_syntax(argv[1], "XINFO")
        full = True
        if len(options) == 3:
            if options[1].lower() != b"count":
                return E.subcommand_syntax(argv[1], "XINFO")
            n = parse_int(options[2])
            if n is None:
                return E.NOT_INTEGER
            count = n if n >= 0 else _FULL_COUNT_DEFAULT
    keys = _nodes(coll.size)
    items: list[tuple[Reply, Reply]] = [
        (b"length", coll.size),
        (b"radix-tree-keys", keys),
        (b"radix-tree-nodes", keys + 1),
        (b"last-generated-id", I.text(meta.last)),
        (b"max-deleted-entry-id", I.text(meta.max_deleted)),
        (b"entries-added", meta.entries_added),
        (b"recorded-first-entry-id", I.text(meta.first)),
    ]
    if not full:
        first = S.range_reply(coll, MIN_ID, MAX_ID, 1)
        last = S.range_reply(coll, MIN_ID, MAX_ID, 1, reverse=True)
        items += [
            (b"groups", sum(1 for _ in G.groups(coll))),
            (b"first-entry", first[0] if first else None),
            (b"last-entry", last[0] if last else None),
        ]
        return Map(items)
    items += [
        (b"entries", S.range_reply(coll, MIN_ID, MAX_ID, count)),
        (b"groups", [_group_full(coll, meta, group, count) for group in G.groups(coll)]),
    ]
    return Map(items)


def _reads(group: G.Group) -> int | None:
    return None if group.entries_read == G.UNKNOWN_READS else group.entries_read


def _group_summary(coll: C.RColl, meta: S.StreamMeta, group: G.Group) -> Map:
    return Map(
        [
            (b"name", group.name),
            (b"consumers", sum(1 for _ in G.consumers(coll, group.name))),
            (b"pending", sum(1 for _ in G.pel(coll, group.name))),
            (b"last-delivered-id", I.text(group.last)),
            (b"entries-read", _reads(group)),
            (b"lag", G.lag(coll.size, meta, group)),
        ]
    )


def _limited(items: list[Reply], count: int) -> list[Reply]:
    return items[:count] if count else items


def _group_full(coll: C.RColl, meta: S.StreamMeta, group: G.Group, count: int) -> Map:
    pending = list(G.pel(coll, group.name))
    by_consumer: dict[bytes, list[G.Pending]] = {}
    for p in pending:
        by_consumer.setdefault(p.consumer, []).append(p)
    consumers: list[Reply] = []
    for name, seen in G.consumers(coll, group.name):
        own = by_consumer.get(name, [])
        consumers.append(
            Map(
                [
                    (b"name", name),
                    (b"seen-time", seen),
                    (b"pel-count", len(own)),
                    (
                        b"pending",
                        _limited(
                            [[I.text(p.sid), p.delivered_ms, p.deliveries] for p in own], count
                        ),
                    ),
                ]
            )
        )
    return Map(
        [
            (b"name", group.name),
            (b"last-delivered-id", I.text(group.last)),
            (b"entries-read", _reads(group)),
            (b"lag", G.lag(coll.size, meta, group)),
            (b"pel-count", len(pending)),
            (
                b"pending",
                _limited(
                    [[I.text(p.sid), p.consumer, p.delivered_ms, p.deliveries] for p in pending],
                    count,
                ),
            ),
            (b"consumers", consumers),
        ]
    )
