"""The command-table rows of pub/sub and RESET, as plain data.

`commands.py` turns each into a `CommandSpec` with its `_row`, as it does the rows of
`hash_set_table.py`. Values are what redis-server 7.0.15 publishes in `COMMAND INFO` and
`COMMAND DOCS`; key spec tuples are as described in `hash_set_table.py`. The commands are
answered by the server layer (`seshat/pubsub.py`), never by Raft, so their kind is connection.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

_PS = 'pubsub noscript loading stale'
_PS_ACL = '@pubsub @slow'
_SHARD_KEYS = ((('not_key',), 1, -1, 1, 0, '', 'range'),)

# fmt: off
PUBSUB_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'subscribe', arity=-2, flags=_PS, first_key=0, last_key=0, step=0, acl=_PS_ACL,
         tips='', key_specs=(),
         summary='Listen for messages published to the given channels', since='2.0.0', group='pubsub', complexity='O(N) where N is the number of channels to subscribe to.',
         kind='connection'),
    dict(name=b'unsubscribe', arity=-1, flags=_PS, first_key=0, last_key=0, step=0, acl=_PS_ACL,
         tips='', key_specs=(),
         summary='Stop listening for messages posted to the given channels', since='2.0.0', group='pubsub', complexity='O(N) where N is the number of clients already subscribed to a channel.',
         kind='connection'),
    dict(name=b'psubscribe', arity=-2, flags=_PS, first_key=0, last_key=0, step=0, acl=_PS_ACL,
         tips='', key_specs=(),
         summary='Listen for messages published to channels matching the given patterns', since='2.0.0', group='pubsub', complexity='O(N) where N is the number of patterns the client is already subscribed to.',
         kind='connection'),
    dict(name=b'punsubscribe', arity=-1, flags=_PS, first_key=0, last_key=0, step=0, acl=_PS_ACL,
         tips='', key_specs=(),
         summary='Stop listening for messages posted to channels matching the given patterns', since='2.0.0', group='pubsub', complexity='O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).',
         kind='connection'),
    dict(name=b'publish', arity=3, flags='pubsub loading stale fast', first_key=0, last_key=0, step=0, acl='@pubsub @fast',
         tips='', key_specs=(),
         summary='Post a message to a channel', since='2.0.0', group='pubsub', complexity='O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).',
         kind='connection'),
    dict(name=b'pubsub', arity=-2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='A container for Pub/Sub commands', since='2.8.0', group='pubsub', complexity='Depends on subcommand.', subcommands=6,
         kind='connection'),
    dict(name=b'ssubscribe', arity=-2, flags=_PS, first_key=1, last_key=-1, step=1, acl=_PS_ACL,
         tips='', key_specs=_SHARD_KEYS,
         summary='Listen for messages published to the given shard channels', since='7.0.0', group='pubsub', complexity='O(N) where N is the number of shard channels to subscribe to.',
         kind='connection'),
    dict(name=b'sunsubscribe', arity=-1, flags=_PS, first_key=1, last_key=-1, step=1, acl=_PS_ACL,
         tips='', key_specs=_SHARD_KEYS,
         summary='Stop listening for messages posted to the given shard channels', since='7.0.0', group='pubsub', complexity='O(N) where N is the number of clients already subscribed to a shard channel.',
         kind='connection'),
    dict(name=b'spublish', arity=3, flags='pubsub loading stale fast', first_key=1, last_key=1, step=1, acl='@pubsub @fast',
         tips='', key_specs=((('not_key',), 1, 0, 1, 0, '', 'range'),),
         summary='Post a message to a shard channel', since='7.0.0', group='pubsub', complexity='O(N) where N is the number of clients subscribed to the receiving shard channel.',
         kind='connection'),
    dict(name=b'reset', arity=1, flags='noscript loading stale fast no_auth allow_busy', first_key=0, last_key=0, step=0, acl='@fast @connection',
         tips='', key_specs=(),
         summary='Reset the connection', since='6.2.0', group='connection', complexity='O(1)',
         kind='connection'),
)

_SUB = 'pubsub loading stale'

PUBSUB_SUBCOMMAND_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'pubsub|numsub', arity=-2, flags=_SUB, first_key=0, last_key=0, step=0, acl=_PS_ACL,
         tips='', key_specs=(),
         summary='Get the count of subscribers for channels', since='2.8.0', group='pubsub', complexity='O(N) for the NUMSUB subcommand, where N is the number of requested channels',
         kind='connection'),
    dict(name=b'pubsub|shardchannels', arity=-2, flags=_SUB, first_key=0, last_key=0, step=0, acl=_PS_ACL,
         tips='', key_specs=(),
         summary='List active shard channels', since='7.0.0', group='pubsub', complexity='O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).',
         kind='connection'),
    dict(name=b'pubsub|channels', arity=-2, flags=_SUB, first_key=0, last_key=0, step=0, acl=_PS_ACL,
         tips='', key_specs=(),
         summary='List active channels', since='2.8.0', group='pubsub', complexity='O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)',
         kind='connection'),
    dict(name=b'pubsub|help', arity=2, flags='loading stale', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='Show helpful text about the different subcommands', since='6.2.0', group='pubsub', complexity='O(1)',
         kind='connection'),
    dict(name=b'pubsub|numpat', arity=2, flags=_SUB, first_key=0, last_key=0, step=0, acl=_PS_ACL,
         tips='', key_specs=(),
         summary='Get the count of unique patterns pattern subscriptions', since='2.8.0', group='pubsub', complexity='O(1)',
         kind='connection'),
    dict(name=b'pubsub|shardnumsub', arity=-2, flags=_SUB, first_key=0, last_key=0, step=0, acl=_PS_ACL,
         tips='', key_specs=(),
         summary='Get the count of subscribers for shard channels', since='7.0.0', group='pubsub', complexity='O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels',
         kind='connection'),
)
# fmt: on
