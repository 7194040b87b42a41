"""Pub/sub: who on this node listens to which channel, pattern or shard channel, and delivery.

Messages do not go through Raft. As in Redis Cluster, PUBLISH delivers to the subscribers of
the node that ran it, and the node passes the message on to the other nodes
(`seshat/broadcaster.py`), which deliver it to theirs. That keeps Redis's promise and no
more: pub/sub is fire-and-forget, at most once, in order from one node to another, and lost for
a node that is down or a subscriber that is not connected. A log entry per message would cost
an fsync on two nodes for something Redis never stores.

The replies follow Redis 7.0's `pubsub.c`: one confirmation per channel, each with the count
of the client's subscriptions of that family after it (channels and patterns count together,
shard channels apart); RESP3 connections get them and the messages as push replies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from seshat.kv import errors as E
from seshat.kv import glob
from seshat.protocol.replies import Push, Replies, Reply, SimpleString

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection


@dataclass(frozen=True, slots=True)
class Family:
    """One of Redis's three kinds of subscription, named as its replies name them."""

    subscribe: bytes
    unsubscribe: bytes
    message: bytes


CHANNELS = Family(b"subscribe", b"unsubscribe", b"message")
PATTERNS = Family(b"psubscribe", b"punsubscribe", b"pmessage")
SHARD_CHANNELS = Family(b"ssubscribe", b"sunsubscribe", b"smessage")


class Subscriber(Protocol):
    id: int
    subscriptions: Subscriptions | None

    def deliver(self, reply: Reply) -> None: ...


class Subscriptions:
    """One connection's subscriptions, in the order it made them."""

    __slots__ = ("by_family",)

    def __init__(self) -> None:
        self.by_family: dict[Family, dict[bytes, None]] = {
            CHANNELS: {},
            PATTERNS: {},
            SHARD_CHANNELS: {},
        }

    def count(self, family: Family) -> int:
        """The count a confirmation carries: channels and patterns together, shards apart."""
        if family is SHARD_CHANNELS:
            return len(self.by_family[SHARD_CHANNELS])
        return len(self.by_family[CHANNELS]) + len(self.by_family[PATTERNS])

    def total(self) -> int:
        return sum(len(names) for names in self.by_family.values())


class PubSub:
    """The node's side: each name's subscribers, keyed by connection id (one entry per pair)."""

    def __init__(self) -> None:
        self._subscribers: dict[Family, dict[bytes, dict[int, Subscriber]]] = {
            CHANNELS: {},
            PATTERNS: {},
            SHARD_CHANNELS: {},
        }

    # ------------------------------------------------------------------ subscribing

    def subscribe(self, conn: Subscriber, family: Family, names: list[bytes]) -> Reply:
        subs = conn.subscriptions
        if subs is None:
            subs = conn.subscriptions = Subscriptions()
        mine = subs.by_family[family]
        registry = self._subscribers[family]
        replies: list[Reply] = []
        for name in names:
            if name not in mine:
                mine[name] = None
                registry.setdefault(name, {})[conn.id] = conn
            replies.append(Push([family.subscribe, name, subs.count(family)]))
        return Replies(replies)

    def unsubscribe(self, conn: Subscriber, family: Family, names: list[bytes]) -> Reply:
        """Names given: each, subscribed or not. None: every one of the family (or one reply
        with a null name when there is none)."""
        subs = conn.subscriptions or Subscriptions()  # none yet: answered as an empty set
        mine = subs.by_family[family]
        if not names:
            names = list(mine)
            if not names:
                return Push([family.unsubscribe, None, subs.count(family)])
        replies: list[Reply] = []
        for name in names:
            if name in mine:
                del mine[name]
                self._forget(family, name, conn.id)
            replies.append(Push([family.unsubscribe, name, subs.count(family)]))
        if subs.total() == 0:
            conn.subscriptions = None  # out of pub/sub mode: RESP2 may run any command again
        return Replies(replies)

    def forget(self, conn: Subscriber) -> None:
        """Drop every subscription of a connection that closed or was RESET, silently."""
        subs = conn.subscriptions
        if subs is None:
            return
        for family, names in subs.by_family.items():
            for name in names:
                self._forget(family, name, conn.id)
        conn.subscriptions = None

    def _forget(self, family: Family, name: bytes, conn_id: int) -> None:
        registry = self._subscribers[family]
        listeners = registry.get(name)
        if listeners is not None:
            listeners.pop(conn_id, None)
            if not listeners:
                del registry[name]

    # ------------------------------------------------------------------ publishing

    def deliver(self, channel: bytes, message: bytes, shard: bool) -> int:
        """PUBLISH's delivery to this node's subscribers of `channel` and of the patterns
        matching it, or SPUBLISH's (`shard`) to its shard-channel subscribers; the number of
        deliveries (a client with a channel and a pattern counts twice)."""
        if shard:
            return self._send(SHARD_CHANNELS, channel, [channel, message])
        delivered = self._send(CHANNELS, channel, [channel, message])
        for pattern in [p for p in self._subscribers[PATTERNS] if glob.match(p, channel)]:
            delivered += self._send(PATTERNS, pattern, [pattern, channel, message])
        return delivered

    def _send(self, family: Family, name: bytes, payload: list[Reply]) -> int:
        listeners = list(self._subscribers[family].get(name, {}).values())
        if listeners:
            push = Push([family.message, *payload])
            for conn in listeners:
                conn.deliver(push)  # may drop a stalled subscriber, and it with its entries
        return len(listeners)

    # ------------------------------------------------------------------ introspection

    def names(self, family: Family, pattern: bytes | None) -> list[bytes]:
        """Active names of a family (with a subscriber), optionally matching a glob."""
        active = self._subscribers[family]
        if pattern is None:
            return list(active)
        return [name for name in active if glob.match(pattern, name)]

    def count(self, family: Family, name: bytes) -> int:
        return len(self._subscribers[family].get(name, ()))

    def active_count(self, family: Family) -> int:
        """Distinct names of a family with a subscriber (`PUBSUB NUMPAT`, INFO's `pubsub_*`)."""
        return len(self._subscribers[family])


# ---------------------------------------------------------------------- the commands


Handler = Callable[["Admin", "ClientConnection", list[bytes]], Reply]


def _subscribe(family: Family) -> Handler:
    def handler(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
        return admin.server.pubsub.subscribe(conn, family, argv[1:])

    return handler


def _unsubscribe(family: Family) -> Handler:
    def handler(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
        return admin.server.pubsub.unsubscribe(conn, family, argv[1:])

    return handler


def _publish(shard: bool) -> Handler:
    """PUBLISH or SPUBLISH: deliver here, then pass it on to the other nodes."""

    def handler(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
        server = admin.server
        delivered = server.pubsub.deliver(argv[1], argv[2], shard)
        if server.cluster is not None:
            server.cluster.broadcaster.publish(argv[1], argv[2], shard)
        return delivered

    return handler


def pubsub(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    """PUBSUB CHANNELS | NUMSUB | NUMPAT | SHARDCHANNELS | SHARDNUMSUB | HELP."""
    registry = admin.server.pubsub
    sub = argv[1].lower()
    n = len(argv)
    if sub in (b"channels", b"shardchannels") and n <= 3:
        family = CHANNELS if sub == b"channels" else SHARD_CHANNELS
        names: list[Reply] = list(registry.names(family, argv[2] if n == 3 else None))
        return names
    if sub in (b"numsub", b"shardnumsub"):
        family = CHANNELS if sub == b"numsub" else SHARD_CHANNELS
        flat: list[Reply] = []
        for name in argv[2:]:
            flat += [name, registry.count(family, name)]
        return flat
    if sub == b"numpat" and n == 2:
        return registry.active_count(PATTERNS)
    if sub == b"help" and n == 2:
        return [SimpleString(line) for line in _HELP]
    return E.subcommand_syntax(argv[1], "PUBSUB")


_HELP = (
    b"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CHANNELS [<pattern>]",
    b"    Return the currently active channels matching a <pattern> (default: '*').",
    b"NUMPAT",
    b"    Return number of subscriptions to patterns.",
    b"NUMSUB [<channel> ...]",
    b"    Return the number of subscribers for the specified channels, excluding",
    b"    pattern subscriptions(default: no channels).",
    b"SHARDCHANNELS [<pattern>]",
    b"    Return the currently active shard level channels matching a <pattern> (default: '*').",
    b"SHARDNUMSUB [<shardchannel> ...]",
    b"    Return the number of subscribers for the specified shard level channel(s)",
    b"HELP",
    b"    Prints this help.",
)


HANDLERS: dict[bytes, Handler] = {
    b"subscribe": _subscribe(CHANNELS),
    b"psubscribe": _subscribe(PATTERNS),
    b"ssubscribe": _subscribe(SHARD_CHANNELS),
    b"unsubscribe": _unsubscribe(CHANNELS),
    b"punsubscribe": _unsubscribe(PATTERNS),
    b"sunsubscribe": _unsubscribe(SHARD_CHANNELS),
    b"publish": _publish(shard=False),
    b"spublish": _publish(shard=True),
    b"pubsub": pubsub,
}
"""The handlers `Admin` dispatches to, by command name."""

ALLOWED_IN_RESP2_MODE = frozenset(
    {
        b"subscribe",
        b"psubscribe",
        b"ssubscribe",
        b"unsubscribe",
        b"punsubscribe",
        b"sunsubscribe",
        b"ping",
        b"quit",
        b"reset",
    }
)
"""What a RESP2 connection with a subscription may run (Redis's `processCommand`)."""
