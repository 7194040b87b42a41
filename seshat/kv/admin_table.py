"""The command-table rows of the server administration commands, as plain data.

ROLE, WAIT, SLOWLOG, LATENCY, MEMORY, LASTSAVE, SAVE, BGSAVE, BGREWRITEAOF and LOLWUT: the
commands Redis users and tools (redis-cli, monitoring agents, client libraries) send to any
server. `commands.py` turns each into a `CommandSpec` with its `_row`, as it does the rows of
`sort_table.py`. Values are what redis-server 7.0.15 publishes in `COMMAND INFO` and
`COMMAND DOCS` (subcommands in Redis's order). They touch the node, not the keyspace (MEMORY
USAGE reads this node's committed state directly), so their kind is connection: `seshat/admin.py`
dispatches them to `seshat/admin_commands.py`.
"""

# ruff: noqa: C408  (one dict(...) per row reads like the Redis JSON it mirrors)

from __future__ import annotations

from typing import Any, Final

# fmt: off
ADMIN_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'role', arity=1, flags='noscript loading stale fast', first_key=0, last_key=0, step=0, acl='@admin @fast @dangerous',
         tips='', key_specs=(),
         summary='Return the role of the instance in the context of replication', since='2.8.12', group='server', complexity='O(1)',
         kind='connection'),
    dict(name=b'wait', arity=3, flags='noscript', first_key=0, last_key=0, step=0, acl='@slow @connection',
         tips='request_policy:all_shards response_policy:agg_min', key_specs=(),
         summary='Wait for the synchronous replication of all the write commands sent in the context of the current connection', since='3.0.0', group='generic', complexity='O(1)',
         kind='connection'),
    dict(name=b'slowlog', arity=-2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='A container for slow log commands', since='2.2.12', group='server', complexity='Depends on subcommand.', subcommands=4,
         kind='connection'),
    dict(name=b'latency', arity=-2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='A container for latency diagnostics commands', since='2.8.13', group='server', complexity='Depends on subcommand.', subcommands=7,
         kind='connection'),
    dict(name=b'memory', arity=-2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
         tips='', key_specs=(),
         summary='A container for memory diagnostics commands', since='4.0.0', group='server', complexity='Depends on subcommand.', subcommands=6,
         kind='connection'),
    dict(name=b'lastsave', arity=1, flags='loading stale fast', first_key=0, last_key=0, step=0, acl='@admin @fast @dangerous',
         tips='nondeterministic_output', key_specs=(),
         summary='Get the UNIX time stamp of the last successful save to disk', since='1.0.0', group='server', complexity='O(1)',
         kind='connection'),
    dict(name=b'save', arity=1, flags='admin noscript no_async_loading no_multi', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='Synchronously save the dataset to disk', since='1.0.0', group='server', complexity='O(N) where N is the total number of keys in all databases',
         kind='connection'),
    dict(name=b'bgsave', arity=-1, flags='admin noscript no_async_loading', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='Asynchronously save the dataset to disk', since='1.0.0', group='server', complexity='O(1)',
         kind='connection'),
    dict(name=b'bgrewriteaof', arity=1, flags='admin noscript no_async_loading', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
         tips='', key_specs=(),
         summary='Asynchronously rewrite the append-only file', since='1.0.0', group='server', complexity='O(1)',
         kind='connection'),
    dict(name=b'lolwut', arity=-1, flags='readonly fast', first_key=0, last_key=0, step=0, acl='@read @fast',
         tips='', key_specs=(),
         summary='Display some computer art and the Redis version', since='5.0.0', group='server', complexity='',
         kind='connection'),
)

ADMIN_SUBCOMMAND_ROWS: Final[dict[bytes, tuple[dict[str, Any], ...]]] = {
    b'slowlog': (
        dict(name=b'slowlog|reset', arity=2, flags='admin loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
             tips='request_policy:all_nodes response_policy:all_succeeded', key_specs=(),
             summary='Clear all entries from the slow log', since='2.2.12', group='server', complexity='O(N) where N is the number of entries in the slowlog',
             kind='connection'),
        dict(name=b'slowlog|len', arity=2, flags='admin loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
             tips='request_policy:all_nodes response_policy:agg_sum nondeterministic_output', key_specs=(),
             summary="Get the slow log's length", since='2.2.12', group='server', complexity='O(1)',
             kind='connection'),
        dict(name=b'slowlog|get', arity=-2, flags='admin loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
             tips='request_policy:all_nodes nondeterministic_output', key_specs=(),
             summary="Get the slow log's entries", since='2.2.12', group='server', complexity='O(N) where N is the number of entries returned',
             kind='connection'),
        dict(name=b'slowlog|help', arity=2, flags='loading stale', first_key=0, last_key=0, step=0, acl='@slow',
             tips='', key_specs=(),
             summary='Show helpful text about the different subcommands', since='6.2.0', group='server', complexity='O(1)',
             kind='connection'),
    ),
    b'latency': (
        dict(name=b'latency|histogram', arity=-2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
             tips='nondeterministic_output request_policy:all_nodes response_policy:special', key_specs=(),
             summary='Return the cumulative distribution of latencies of a subset of commands or all.', since='7.0.0', group='server', complexity='O(N) where N is the number of commands with latency information being retrieved.',
             kind='connection'),
        dict(name=b'latency|reset', arity=-2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
             tips='request_policy:all_nodes response_policy:all_succeeded', key_specs=(),
             summary='Reset latency data for one or more events.', since='2.8.13', group='server', complexity='O(1)',
             kind='connection'),
        dict(name=b'latency|doctor', arity=2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
             tips='nondeterministic_output request_policy:all_nodes response_policy:special', key_specs=(),
             summary='Return a human readable latency analysis report.', since='2.8.13', group='server', complexity='O(1)',
             kind='connection'),
        dict(name=b'latency|history', arity=3, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
             tips='nondeterministic_output request_policy:all_nodes response_policy:special', key_specs=(),
             summary='Return timestamp-latency samples for the event.', since='2.8.13', group='server', complexity='O(1)',
             kind='connection'),
        dict(name=b'latency|graph', arity=3, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
             tips='nondeterministic_output request_policy:all_nodes response_policy:special', key_specs=(),
             summary='Return a latency graph for the event.', since='2.8.13', group='server', complexity='O(1)',
             kind='connection'),
        dict(name=b'latency|latest', arity=2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous',
             tips='nondeterministic_output request_policy:all_nodes response_policy:special', key_specs=(),
             summary='Return the latest latency samples for all events.', since='2.8.13', group='server', complexity='O(1)',
             kind='connection'),
        dict(name=b'latency|help', arity=2, flags='loading stale', first_key=0, last_key=0, step=0, acl='@slow',
             tips='', key_specs=(),
             summary='Show helpful text about the different subcommands.', since='2.8.13', group='server', complexity='O(1)',
             kind='connection'),
    ),
    b'memory': (
        dict(name=b'memory|doctor', arity=2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
             tips='nondeterministic_output request_policy:all_shards response_policy:special', key_specs=(),
             summary='Outputs memory problems report', since='4.0.0', group='server', complexity='O(1)',
             kind='connection'),
        dict(name=b'memory|stats', arity=2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
             tips='nondeterministic_output request_policy:all_shards response_policy:special', key_specs=(),
             summary='Show memory usage details', since='4.0.0', group='server', complexity='O(1)',
             kind='connection'),
        dict(name=b'memory|usage', arity=-3, flags='readonly', first_key=2, last_key=2, step=1, acl='@read @slow',
             tips='', key_specs=((('RO',), 2, 0, 1, 0, '', 'range'),),
             summary='Estimate the memory usage of a key', since='4.0.0', group='server', complexity='O(N) where N is the number of samples.',
             kind='connection'),
        dict(name=b'memory|malloc-stats', arity=2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
             tips='nondeterministic_output request_policy:all_shards response_policy:special', key_specs=(),
             summary='Show allocator internal stats', since='4.0.0', group='server', complexity='Depends on how much memory is allocated, could be slow',
             kind='connection'),
        dict(name=b'memory|purge', arity=2, flags='', first_key=0, last_key=0, step=0, acl='@slow',
             tips='request_policy:all_shards response_policy:all_succeeded', key_specs=(),
             summary='Ask the allocator to release memory', since='4.0.0', group='server', complexity='Depends on how much memory is allocated, could be slow',
             kind='connection'),
        dict(name=b'memory|help', arity=2, flags='loading stale', first_key=0, last_key=0, step=0, acl='@slow',
             tips='', key_specs=(),
             summary='Show helpful text about the different subcommands', since='4.0.0', group='server', complexity='O(1)',
             kind='connection'),
    ),
}

# CLIENT's subcommands answered by `seshat/client_controls.py` (`commands.py` appends them to
# its own CLIENT rows).
CLIENT_EXTRA_SUBCOMMAND_ROWS: Final[tuple[dict[str, Any], ...]] = (
    dict(name=b'client|pause', arity=-3, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous @connection',
         tips='', key_specs=(),
         summary='Stop processing commands from clients for some time', since='2.9.50', group='connection', complexity='O(1)',
         kind='connection'),
    dict(name=b'client|unpause', arity=2, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous @connection',
         tips='', key_specs=(),
         summary='Resume processing of clients that were paused', since='6.2.0', group='connection', complexity='O(N) Where N is the number of paused clients',
         kind='connection'),
    dict(name=b'client|reply', arity=3, flags='noscript loading stale', first_key=0, last_key=0, step=0, acl='@slow @connection',
         tips='', key_specs=(),
         summary='Instruct the server whether to reply to commands', since='3.2.0', group='connection', complexity='O(1)',
         kind='connection'),
    dict(name=b'client|unblock', arity=-3, flags='admin noscript loading stale', first_key=0, last_key=0, step=0, acl='@admin @slow @dangerous @connection',
         tips='', key_specs=(),
         summary='Unblock a client blocked in a blocking command from a different connection', since='5.0.0', group='connection', complexity='O(log N) where N is the number of client connections',
         kind='connection'),
)
# fmt: on
