"""The command-table rows of the stream commands, as plain data.

`commands.py` turns each into a `CommandSpec` with its `_row`. Values are what redis-server
7.0.15 publishes in `COMMAND INFO` and `COMMAND DOCS`; key spec tuples are as described in
`hash_set_table.py`, with an eighth element for XREAD's and XREADGROUP's keyword search (the
keys follow `STREAMS`). XGROUP's subcommands are writes but for HELP, which the service routes
as a read; XINFO is a read whose handler dispatches its subcommands itself, as OBJECT does.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

from seshat.kv import stream_groups as G
from seshat.kv import stream_info as SI
from seshat.kv import streams as S

# fmt: off
STREAM_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'xadd', arity=-5, flags='write denyoom fast', first_key=1, last_key=1, step=1, acl='@write @stream @fast',
         tips='nondeterministic_output', key_specs=((('RW', 'update'), 1, 0, 1, 0, 'UPDATE instead of INSERT because of the optional trimming feature', 'range'),),
         summary='Appends a new entry to a stream', since='5.0.0', group='stream', complexity='O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.',
         kind='write', prepare=S.prepare_xadd, apply=S.apply_xadd),
    dict(name=b'xlen', arity=2, flags='readonly fast', first_key=1, last_key=1, step=1, acl='@read @stream @fast',
         tips='', key_specs=((('RO',), 1, 0, 1, 0, '', 'range'),),
         summary='Return the number of entries in a stream', since='5.0.0', group='stream', complexity='O(1)',
         kind='read', read=S.read_xlen),
    dict(name=b'xrange', arity=-4, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @stream @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Return a range of elements in a stream, with IDs matching the specified IDs interval', since='5.0.0', group='stream', complexity='O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).',
         kind='read', read=S.read_xrange),
    dict(name=b'xrevrange', arity=-4, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @stream @slow',
         tips='', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE', since='5.0.0', group='stream', complexity='O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).',
         kind='read', read=S.read_xrevrange),
    dict(name=b'xdel', arity=-3, flags='write fast', first_key=1, last_key=1, step=1, acl='@write @stream @fast',
         tips='', key_specs=((('RW', 'delete'), 1, 0, 1, 0, '', 'range'),),
         summary='Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.', since='5.0.0', group='stream', complexity='O(1) for each single item to delete in the stream, regardless of the stream size.',
         kind='write', prepare=None, apply=S.apply_xdel),
    dict(name=b'xtrim', arity=-4, flags='write', first_key=1, last_key=1, step=1, acl='@write @stream @slow',
         tips='nondeterministic_output', key_specs=((('RW', 'delete'), 1, 0, 1, 0, '', 'range'),),
         summary="Trims the stream to (approximately if '~' is passed) a certain size", since='5.0.0', group='stream', complexity='O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.',
         kind='write', prepare=S.prepare_xtrim, apply=S.apply_xtrim),
    dict(name=b'xsetid', arity=-3, flags='write denyoom fast', first_key=1, last_key=1, step=1, acl='@write @stream @fast',
         tips='', key_specs=((('RW', 'update'), 1, 0, 1, 0, '', 'range'),),
         summary='An internal command for replicating stream values', since='5.0.0', group='stream', complexity='O(1)',
         kind='write', prepare=S.prepare_xsetid, apply=S.apply_xsetid),
    dict(name=b'xread', arity=-4, flags='readonly blocking movablekeys', first_key=0, last_key=0, step=0, acl='@read @stream @slow @blocking',
         tips='', key_specs=((('RO', 'access'), 1, -1, 1, 2, '', 'range', 'STREAMS'),),
         summary='Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.', since='5.0.0', group='stream', complexity='For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.',
         kind='read', read=S.read_xread, apply=S.apply_xread),
    dict(name=b'xreadgroup', arity=-7, flags='write blocking movablekeys', first_key=0, last_key=0, step=0, acl='@write @stream @slow @blocking',
         tips='', key_specs=((('RO', 'access'), 4, -1, 1, 2, '', 'range', 'STREAMS'),),
         summary='Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.', since='5.0.0', group='stream', complexity='For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.',
         kind='write', prepare=G.prepare_xreadgroup, apply=G.apply_xreadgroup),
    dict(name=b'xack', arity=-4, flags='write fast', first_key=1, last_key=1, step=1, acl='@write @stream @fast',
         tips='', key_specs=((('RW', 'update'), 1, 0, 1, 0, '', 'range'),),
         summary='Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.', since='5.0.0', group='stream', complexity='O(1) for each message ID processed.',
         kind='write', prepare=None, apply=G.apply_xack),
    dict(name=b'xpending', arity=-3, flags='readonly', first_key=1, last_key=1, step=1, acl='@read @stream @slow',
         tips='nondeterministic_output', key_specs=((('RO', 'access'), 1, 0, 1, 0, '', 'range'),),
         summary='Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.', since='5.0.0', group='stream', complexity='O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.',
         kind='read', read=G.read_xpending),
    dict(name=b'xclaim', arity=-6, flags='write fast', first_key=1, last_key=1, step=1, acl='@write @stream @fast',
         tips='nondeterministic_output', key_specs=((('RW', 'update'), 1, 0, 1, 0, '', 'range'),),
         summary='Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.', since='5.0.0', group='stream', complexity='O(log N) with N being the number of messages in the PEL of the consumer group.',
         kind='write', prepare=None, apply=G.apply_xclaim),
    dict(name=b'xautoclaim', arity=-6, flags='write fast', first_key=1, last_key=1, step=1, acl='@write @stream @fast',
         tips='nondeterministic_output', key_specs=((('RW', 'delete'), 1, 0, 1, 0, '', 'range'),),
         summary='Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.', since='6.2.0', group='stream', complexity='O(1) if COUNT is small.',
         kind='write', prepare=G.prepare_xautoclaim, apply=G.apply_xautoclaim),
    dict(name=b'xgroup', arity=-2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='A container for consumer groups commands', since='5.0.0', group='stream', complexity='Depends on subcommand.', subcommands=6,
         kind='write', prepare=G.prepare_xgroup, apply=G.apply_xgroup),
    dict(name=b'xinfo', arity=-2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='A container for stream introspection commands', since='5.0.0', group='stream', complexity='Depends on subcommand.', subcommands=4,
         kind='read', read=SI.read_xinfo),
)

STREAM_SUBCOMMAND_ROWS: Final[dict[bytes, tuple[dict[str, Any], ...]]] = {
    b'xgroup': (
        dict(name=b'xgroup|create', arity=-5, flags='write denyoom', first_key=2, last_key=2, step=1, acl='@write @stream @slow',
             tips='', key_specs=((('RW', 'insert'), 2, 0, 1, 0, '', 'range'),),
             summary='Create a consumer group.', since='5.0.0', group='stream', complexity='O(1)',
             kind='write', prepare=G.prepare_xgroup, apply=G.apply_xgroup),
        dict(name=b'xgroup|setid', arity=-5, flags='write', first_key=2, last_key=2, step=1, acl='@write @stream @slow',
             tips='', key_specs=((('RW', 'update'), 2, 0, 1, 0, '', 'range'),),
             summary='Set a consumer group to an arbitrary last delivered ID value.', since='5.0.0', group='stream', complexity='O(1)',
             kind='write', prepare=G.prepare_xgroup, apply=G.apply_xgroup),
        dict(name=b'xgroup|destroy', arity=4, flags='write', first_key=2, last_key=2, step=1, acl='@write @stream @slow',
             tips='', key_specs=((('RW', 'delete'), 2, 0, 1, 0, '', 'range'),),
             summary='Destroy a consumer group.', since='5.0.0', group='stream', complexity="O(N) where N is the number of entries in the group's pending entries list (PEL).",
             kind='write', prepare=G.prepare_xgroup, apply=G.apply_xgroup),
        dict(name=b'xgroup|createconsumer', arity=5, flags='write denyoom', first_key=2, last_key=2, step=1, acl='@write @stream @slow',
             tips='', key_specs=((('RW', 'insert'), 2, 0, 1, 0, '', 'range'),),
             summary='Create a consumer in a consumer group.', since='6.2.0', group='stream', complexity='O(1)',
             kind='write', prepare=G.prepare_xgroup, apply=G.apply_xgroup),
        dict(name=b'xgroup|delconsumer', arity=5, flags='write', first_key=2, last_key=2, step=1, acl='@write @stream @slow',
             tips='', key_specs=((('RW', 'delete'), 2, 0, 1, 0, '', 'range'),),
             summary='Delete a consumer from a consumer group.', since='5.0.0', group='stream', complexity='O(1)',
             kind='write', prepare=G.prepare_xgroup, apply=G.apply_xgroup),
        dict(name=b'xgroup|help', arity=2, flags='loading stale', first_key=0, last_key=0, step=0, acl='@stream @slow',
             tips='', key_specs=(),
             summary='Show helpful text about the different subcommands', since='5.0.0', group='stream', complexity='O(1)',
             kind='read', read=G.read_xgroup_help),
    ),
    b'xinfo': (
        dict(name=b'xinfo|stream', arity=-3, flags='readonly', first_key=2, last_key=2, step=1, acl='@read @stream @slow',
             tips='', key_specs=((('RO', 'access'), 2, 0, 1, 0, '', 'range'),),
             summary='Get information about a stream', since='5.0.0', group='stream', complexity='O(1)',
             kind='read', read=SI.read_xinfo),
        dict(name=b'xinfo|groups', arity=3, flags='readonly', first_key=2, last_key=2, step=1, acl='@read @stream @slow',
             tips='', key_specs=((('RO', 'access'), 2, 0, 1, 0, '', 'range'),),
             summary='List the consumer groups of a stream', since='5.0.0', group='stream', complexity='O(1)',
             kind='read', read=SI.read_xinfo),
        dict(name=b'xinfo|consumers', arity=4, flags='readonly', first_key=2, last_key=2, step=1, acl='@read @stream @slow',
             tips='nondeterministic_output', key_specs=((('RO', 'access'), 2, 0, 1, 0, '', 'range'),),
             summary='List the consumers in a consumer group', since='5.0.0', group='stream', complexity='O(1)',
             kind='read', read=SI.read_xinfo),
        dict(name=b'xinfo|help', arity=2, flags='loading stale', first_key=0, last_key=0, step=0, acl='@stream @slow',
             tips='', key_specs=(),
             summary='Show helpful text about the different subcommands', since='5.0.0', group='stream', complexity='O(1)',
             kind='read', read=SI.read_xinfo),
    ),
}
# fmt: on
