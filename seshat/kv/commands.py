"""The command table: one row per command, and everything that reads it.

A row holds what Redis 7 publishes for the command (`COMMAND INFO`/`COMMAND DOCS` on
redis-server 7.0.15: arity, flags, legacy key range, ACL categories, tips, key specs, summary)
plus how Seshat runs it (`kind` and handler functions). Dispatch, arity checks, read/write
routing, `COMMAND` replies and key extraction (for slots and forwarding) all read this table,
so a command is added by adding a row.

Kinds:
- CONNECTION: handled by the server layer (PING, HELLO, AUTH, CLIENT, ...); no handler here.
- LOCAL: changes only the connection's `Session` (SELECT); answered by `KVService.prepare`.
- READ: `read(view, now_ms, db, argv)` after a linearizable read point.
- WRITE: `prepare(argv, now_ms)` validates and rewrites, `apply(writer, now_ms, db, argv)` runs
  on every replica. `prepare=None` means the argv is proposed unchanged.

Arity follows Redis: positive = exactly that many words (name included), negative = at least.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from seshat.acl.table import ACL_ROWS, ACL_SUBCOMMAND_ROWS
from seshat.kv import lcs
from seshat.kv import reads as R
from seshat.kv import writes as W
from seshat.kv.admin_table import (
    ADMIN_ROWS,
    ADMIN_SUBCOMMAND_ROWS,
    CLIENT_EXTRA_SUBCOMMAND_ROWS,
)
from seshat.kv.bitmap_table import BITMAP_ROWS
from seshat.kv.cluster_table import CLUSTER_SUBCOMMAND_ROWS
from seshat.kv.command_docs import EXTRA_DOCS
from seshat.kv.dump_table import DUMP_ROWS
from seshat.kv.function_table import FUNCTION_ROWS, FUNCTION_SUBCOMMAND_ROWS
from seshat.kv.geo_table import GEO_ROWS
from seshat.kv.hash_set_table import HASH_SET_ROWS, OBJECT_SUBCOMMAND_ROWS
from seshat.kv.hyperloglog_table import HYPERLOGLOG_ROWS
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.list_zset_table import LIST_ZSET_ROWS
from seshat.kv.pubsub_table import PUBSUB_ROWS, PUBSUB_SUBCOMMAND_ROWS
from seshat.kv.script_table import SCRIPT_ROWS, SCRIPT_SUBCOMMAND_ROWS
from seshat.kv.sort_table import SORT_ROWS
from seshat.kv.stream_table import STREAM_ROWS, STREAM_SUBCOMMAND_ROWS
from seshat.protocol.replies import ErrorReply, Map, Reply, Set, SimpleString


class Kind(enum.Enum):
    CONNECTION = "connection"
    LOCAL = "local"
    READ = "read"
    WRITE = "write"


CONNECTION: Final = Kind.CONNECTION
LOCAL: Final = Kind.LOCAL
READ: Final = Kind.READ
WRITE: Final = Kind.WRITE

# Command flags, as bits. Names and order as Redis prints them in COMMAND INFO.
FLAG_NAMES: Final[tuple[str, ...]] = (
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
    "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
    "may_replicate", "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys",
    "allow_busy",
)  # fmt: skip
FLAG_BITS: Final[dict[str, int]] = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}
F_WRITE: Final = FLAG_BITS["write"]
F_READONLY: Final = FLAG_BITS["readonly"]
F_DENYOOM: Final = FLAG_BITS["denyoom"]
F_ADMIN: Final = FLAG_BITS["admin"]
F_FAST: Final = FLAG_BITS["fast"]
F_NOSCRIPT: Final = FLAG_BITS["noscript"]
F_LOADING: Final = FLAG_BITS["loading"]
F_STALE: Final = FLAG_BITS["stale"]
F_NO_AUTH: Final = FLAG_BITS["no_auth"]
F_NO_MULTI: Final = FLAG_BITS["no_multi"]

PrepareFn = Callable[[list[bytes], int], "list[bytes] | ErrorReply"]
ApplyFn = Callable[[KeyspaceWriter, int, int, list[bytes]], Reply]
ReadFn = Callable[[KeyspaceView, int, int, list[bytes]], Reply]


@dataclass(frozen=True, slots=True)
class KeySpec:
    """A Redis 7 key spec of the index/range kind (the only kind this table's commands use)."""

    flags: tuple[str, ...]
    begin_index: int
    last_key: int
    key_step: int
    limit: int
    notes: str = ""
    # "range" (last_key, key_step, limit as named) or "keynum" (then they hold keynumidx,
    # firstkey, keystep: ZUNIONSTORE and the other numkeys commands), or "unknown" (SORT's
    # BY/GET and STORE keys: begin search and find keys are both of type unknown, empty specs).
    find: str = "range"
    # Non-empty: the keys start after this word, searched for from `begin_index` (XREAD's
    # STREAMS); empty: they start at `begin_index`.
    keyword: str = ""


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: bytes  # lowercase
    arity: int
    flags: int
    first_key: int
    last_key: int
    step: int
    kind: Kind
    prepare: PrepareFn | None = None
    apply: ApplyFn | None = None
    read: ReadFn | None = None
    acl_categories: tuple[str, ...] = ()
    tips: tuple[str, ...] = ()
    key_specs: tuple[KeySpec, ...] = ()
    summary: str = ""
    since: str = ""
    group: str = ""
    complexity: str = ""
    subcommands: int = 0  # container commands (CLIENT, CONFIG, COMMAND): handled by the server

    @property
    def flag_names(self) -> list[str]:
        return [name for name in FLAG_NAMES if self.flags & FLAG_BITS[name]]

    def arity_ok(self, argc: int) -> bool:
        return argc == self.arity if self.arity >= 0 else argc >= -self.arity


def _row(
    name: bytes,
    arity: int,
    flags: str,
    first_key: int,
    last_key: int,
    step: int,
    acl: str,
    *,
    tips: str,
    key_specs: tuple[
        tuple[tuple[str, ...], int, int, int, int]
        | tuple[tuple[str, ...], int, int, int, int, str],
        ...,
    ],
    summary: str,
    since: str,
    group: str,
    complexity: str,
    kind: Kind,
    prepare: PrepareFn | None = None,
    apply: ApplyFn | None = None,
    read: ReadFn | None = None,
    subcommands: int = 0,
) -> CommandSpec:
    bits = 0
    for flag in flags.split():
        bits |= FLAG_BITS[flag]
    spec = CommandSpec(
        name=name, arity=arity, flags=bits, first_key=first_key, last_key=last_key, step=step,
        kind=kind, prepare=prepare, apply=apply, read=read,
        acl_categories=tuple(acl.split()), tips=tuple(tips.split()),
        key_specs=tuple(KeySpec(*ks) for ks in key_specs),
        summary=summary, since=since, group=group, complexity=complexity, subcommands=subcommands,
    )  # fmt: skip
    # A READ row may have an apply: XREAD, which BLOCK turns into a retried write.
    assert (kind is WRITE) <= (apply is not None) and (apply is None or kind is not CONNECTION), name
    # A WRITE row may have a read: SORT, which `KVService.prepare` routes as a read without STORE.
    assert (kind is READ) <= (read is not None) and (read is None or kind in (READ, WRITE)), name
    assert prepare is None or kind is WRITE, name
    return spec


# fmt: off
TABLE: Final[tuple[CommandSpec, ...]] = (
    _row(b"ping", -1, "fast", 0, 0, 0, "@fast @connection",
         tips="request_policy:all_shards response_policy:all_succeeded", key_specs=(),
         summary="Ping the server", since="1.0.0", group="connection", complexity="O(1)",
         kind=CONNECTION),
    _row(b"echo", 2, "loading stale fast", 0, 0, 0, "@fast @connection",
         tips="", key_specs=(),
         summary="Echo the given string", since="1.0.0", group="connection", complexity="O(1)",
         kind=CONNECTION),
    _row(b"quit", -1, "noscript loading stale fast no_auth allow_busy", 0, 0, 0, "@fast @connection",
         tips="", key_specs=(),
         summary="Close the connection", since="1.0.0", group="connection", complexity="O(1)",
         kind=CONNECTION),
    _row(b"select", 2, "loading stale fast", 0, 0, 0, "@fast @connection",
         tips="", key_specs=(),
         summary="Change the selected database for the current connection", since="1.0.0", group="connection", complexity="O(1)",
         kind=LOCAL),
    _row(b"move", 3, "write fast", 1, 1, 1, "@keyspace @write @fast",
         tips="", key_specs=((('RW', 'access', 'update'), 1, 0, 1, 0),),
         summary="Move a key to another database", since="1.0.0", group="generic", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_move, apply=W.apply_move),
    _row(b"swapdb", 3, "write fast", 0, 0, 0, "@keyspace @write @fast @dangerous",
         tips="", key_specs=(),
         summary="Swaps two Redis databases", since="4.0.0", group="server", complexity="O(N) where N is the count of clients watching or blocking on keys from both databases.",
         kind=WRITE, prepare=W.prepare_swapdb, apply=W.apply_swapdb),
    _row(b"hello", -1, "noscript loading stale fast no_auth allow_busy", 0, 0, 0, "@fast @connection",
         tips="", key_specs=(),
         summary="Handshake with Redis", since="6.0.0", group="connection", complexity="O(1)",
         kind=CONNECTION),
    _row(b"auth", -2, "noscript loading stale fast no_auth allow_busy", 0, 0, 0, "@fast @connection",
         tips="", key_specs=(),
         summary="Authenticate to the server", since="1.0.0", group="connection", complexity="O(N) where N is the number of passwords defined for the user",
         kind=CONNECTION),
    _row(b"client", -2, "", 0, 0, 0, "@slow",
         tips="", key_specs=(),
         summary="A container for client connection commands", since="2.4.0", group="connection", complexity="Depends on subcommand.", subcommands=16,
         kind=CONNECTION),
    _row(b"command", -1, "loading stale", 0, 0, 0, "@slow @connection",
         tips="nondeterministic_output_order", key_specs=(),
         summary="Get array of Redis command details", since="2.8.13", group="server", complexity="O(N) where N is the total number of Redis commands", subcommands=7,
         kind=CONNECTION),
    _row(b"info", -1, "loading stale", 0, 0, 0, "@slow @dangerous",
         tips="nondeterministic_output request_policy:all_shards response_policy:special", key_specs=(),
         summary="Get information and statistics about the server", since="1.0.0", group="server", complexity="O(1)",
         kind=CONNECTION),
    _row(b"config", -2, "", 0, 0, 0, "@slow",
         tips="", key_specs=(),
         summary="A container for server configuration commands", since="2.0.0", group="server", complexity="Depends on subcommand.", subcommands=5,
         kind=CONNECTION),
    _row(b"dbsize", 1, "readonly fast", 0, 0, 0, "@keyspace @read @fast",
         tips="request_policy:all_shards response_policy:agg_sum", key_specs=(),
         summary="Return the number of keys in the selected database", since="1.0.0", group="server", complexity="O(1)",
         kind=READ, read=R.read_dbsize),
    _row(b"flushdb", -1, "write", 0, 0, 0, "@keyspace @write @slow @dangerous",
         tips="request_policy:all_shards response_policy:all_succeeded", key_specs=(),
         summary="Remove all keys from the current database", since="1.0.0", group="server", complexity="O(N) where N is the number of keys in the selected database",
         kind=WRITE, prepare=W.prepare_flushdb, apply=W.apply_flushdb),
    _row(b"flushall", -1, "write", 0, 0, 0, "@keyspace @write @slow @dangerous",
         tips="request_policy:all_shards response_policy:all_succeeded", key_specs=(),
         summary="Remove all keys from all databases", since="1.0.0", group="server", complexity="O(N) where N is the total number of keys in all databases",
         kind=WRITE, prepare=W.prepare_flushall, apply=W.apply_flushall),
    _row(b"shutdown", -1, "admin noscript loading stale no_multi allow_busy", 0, 0, 0, "@admin @slow @dangerous",
         tips="", key_specs=(),
         summary="Synchronously save the dataset to disk and then shut down the server", since="1.0.0", group="server", complexity="O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
         kind=CONNECTION),
    _row(b"time", 1, "loading stale fast", 0, 0, 0, "@fast",
         tips="nondeterministic_output", key_specs=(),
         summary="Return the current server time", since="2.6.0", group="server", complexity="O(1)",
         kind=CONNECTION),
    # --- transactions: the connection queues and proposes them (seshat/kv/transactions.py) ---
    _row(b"multi", 1, "noscript loading stale fast allow_busy", 0, 0, 0, "@fast @transaction",
         tips="", key_specs=(),
         summary="Mark the start of a transaction block", since="1.2.0", group="transactions", complexity="O(1)",
         kind=CONNECTION),
    _row(b"exec", 1, "noscript loading stale skip_slowlog", 0, 0, 0, "@slow @transaction",
         tips="", key_specs=(),
         summary="Execute all commands issued after MULTI", since="1.2.0", group="transactions", complexity="Depends on commands in the transaction",
         kind=CONNECTION),
    _row(b"discard", 1, "noscript loading stale fast allow_busy", 0, 0, 0, "@fast @transaction",
         tips="", key_specs=(),
         summary="Discard all commands issued after MULTI", since="2.0.0", group="transactions", complexity="O(N), when N is the number of queued commands",
         kind=CONNECTION),
    _row(b"watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1, "@fast @transaction",
         tips="", key_specs=((('RO',), 1, -1, 1, 0),),
         summary="Watch the given keys to determine execution of the MULTI/EXEC block", since="2.2.0", group="transactions", complexity="O(1) for every key.",
         kind=CONNECTION),
    _row(b"unwatch", 1, "noscript loading stale fast allow_busy", 0, 0, 0, "@fast @transaction",
         tips="", key_specs=(),
         summary="Forget about all watched keys", since="2.2.0", group="transactions", complexity="O(1)",
         kind=CONNECTION),
    # --- cluster: Redis Cluster's view of a Raft group, and Seshat's own admin commands ---
    _row(b"cluster", -2, "", 0, 0, 0, "@slow",
         tips="", key_specs=(),
         summary="A container for cluster commands", since="3.0.0", group="cluster", complexity="Depends on subcommand.", subcommands=27,
         kind=CONNECTION),
    _row(b"readonly", 1, "loading stale fast", 0, 0, 0, "@fast @connection",
         tips="", key_specs=(),
         summary="Enables read queries for a connection to a cluster replica node", since="3.0.0", group="cluster", complexity="O(1)",
         kind=CONNECTION),
    _row(b"readwrite", 1, "loading stale fast", 0, 0, 0, "@fast @connection",
         tips="", key_specs=(),
         summary="Disables read queries for a connection to a cluster replica node", since="3.0.0", group="cluster", complexity="O(1)",
         kind=CONNECTION),
    _row(b"raft.node", -3, "admin noscript", 0, 0, 0, "@admin @slow @dangerous",
         tips="", key_specs=(),
         summary="Seshat: add (ADD id raft-host:port client-host:port) or remove (REMOVE id) a member", since="0.1.0", group="server", complexity="O(1)",
         kind=CONNECTION),
    _row(b"raft.transfer", 2, "admin noscript", 0, 0, 0, "@admin @slow @dangerous",
         tips="", key_specs=(),
         summary="Seshat: hand leadership to another voter", since="0.1.0", group="server", complexity="O(1)",
         kind=CONNECTION),
    _row(b"raft.status", 1, "loading stale", 0, 0, 0, "@slow",
         tips="", key_specs=(),
         summary="Seshat: this node's Raft role, term, leader and members", since="0.1.0", group="server", complexity="O(1)",
         kind=CONNECTION),
    _row(b"get", 2, "readonly fast", 1, 1, 1, "@read @string @fast",
         tips="", key_specs=((('RO', 'access'), 1, 0, 1, 0),),
         summary="Get the value of a key", since="1.0.0", group="string", complexity="O(1)",
         kind=READ, read=R.read_get),
    _row(b"set", -3, "write denyoom", 1, 1, 1, "@write @string @slow",
         tips="", key_specs=((('RW', 'access', 'update', 'variable_flags'), 1, 0, 1, 0, "RW and ACCESS due to the optional `GET` argument"),),
         summary="Set the string value of a key", since="1.0.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_set, apply=W.apply_set),
    _row(b"setnx", 3, "write denyoom fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('OW', 'insert'), 1, 0, 1, 0),),
         summary="Set the value of a key, only if the key does not exist", since="1.0.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=None, apply=W.apply_setnx),
    _row(b"setex", 4, "write denyoom", 1, 1, 1, "@write @string @slow",
         tips="", key_specs=((('OW', 'update'), 1, 0, 1, 0),),
         summary="Set the value and expiration of a key", since="2.0.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_setex, apply=W.apply_set),
    _row(b"psetex", 4, "write denyoom", 1, 1, 1, "@write @string @slow",
         tips="", key_specs=((('OW', 'update'), 1, 0, 1, 0),),
         summary="Set the value and expiration in milliseconds of a key", since="2.6.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_psetex, apply=W.apply_set),
    _row(b"mget", -2, "readonly fast", 1, -1, 1, "@read @string @fast",
         tips="request_policy:multi_shard", key_specs=((('RO', 'access'), 1, -1, 1, 0),),
         summary="Get the values of all the given keys", since="1.0.0", group="string", complexity="O(N) where N is the number of keys to retrieve.",
         kind=READ, read=R.read_mget),
    _row(b"mset", -3, "write denyoom", 1, -1, 2, "@write @string @slow",
         tips="request_policy:multi_shard response_policy:all_succeeded", key_specs=((('OW', 'update'), 1, -1, 2, 0),),
         summary="Set multiple keys to multiple values", since="1.0.1", group="string", complexity="O(N) where N is the number of keys to set.",
         kind=WRITE, prepare=W.prepare_mset, apply=W.apply_mset),
    _row(b"msetnx", -3, "write denyoom", 1, -1, 2, "@write @string @slow",
         tips="request_policy:multi_shard response_policy:agg_min", key_specs=((('OW', 'insert'), 1, -1, 2, 0),),
         summary="Set multiple keys to multiple values, only if none of the keys exist", since="1.0.1", group="string", complexity="O(N) where N is the number of keys to set.",
         kind=WRITE, prepare=W.prepare_mset, apply=W.apply_msetnx),
    _row(b"getset", 3, "write denyoom fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('RW', 'access', 'update'), 1, 0, 1, 0),),
         summary="Set the string value of a key and return its old value", since="1.0.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=None, apply=W.apply_getset),
    _row(b"getdel", 2, "write fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('RW', 'access', 'delete'), 1, 0, 1, 0),),
         summary="Get the value of a key and delete the key", since="6.2.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=None, apply=W.apply_getdel),
    _row(b"getex", -2, "write fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('RW', 'access', 'update'), 1, 0, 1, 0, "RW and UPDATE because it changes the TTL"),),
         summary="Get the value of a key and optionally set its expiration", since="6.2.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_getex, apply=W.apply_getex),
    _row(b"incr", 2, "write denyoom fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('RW', 'access', 'update'), 1, 0, 1, 0),),
         summary="Increment the integer value of a key by one", since="1.0.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=None, apply=W.apply_incr),
    _row(b"decr", 2, "write denyoom fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('RW', 'access', 'update'), 1, 0, 1, 0),),
         summary="Decrement the integer value of a key by one", since="1.0.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=None, apply=W.apply_decr),
    _row(b"incrby", 3, "write denyoom fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('RW', 'access', 'update'), 1, 0, 1, 0),),
         summary="Increment the integer value of a key by the given amount", since="1.0.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_incrby, apply=W.apply_incrby),
    _row(b"decrby", 3, "write denyoom fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('RW', 'access', 'update'), 1, 0, 1, 0),),
         summary="Decrement the integer value of a key by the given number", since="1.0.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_decrby, apply=W.apply_incrby),
    _row(b"incrbyfloat", 3, "write denyoom fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('RW', 'access', 'update'), 1, 0, 1, 0),),
         summary="Increment the float value of a key by the given amount", since="2.6.0", group="string", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_incrbyfloat, apply=W.apply_incrbyfloat),
    _row(b"append", 3, "write denyoom fast", 1, 1, 1, "@write @string @fast",
         tips="", key_specs=((('RW', 'insert'), 1, 0, 1, 0),),
         summary="Append a value to a key", since="2.0.0", group="string", complexity="O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
         kind=WRITE, prepare=None, apply=W.apply_append),
    _row(b"strlen", 2, "readonly fast", 1, 1, 1, "@read @string @fast",
         tips="", key_specs=((('RO',), 1, 0, 1, 0),),
         summary="Get the length of the value stored in a key", since="2.2.0", group="string", complexity="O(1)",
         kind=READ, read=R.read_strlen),
    _row(b"lcs", -3, "readonly", 1, 2, 1, "@read @string @slow",
         tips="", key_specs=((('RO', 'access'), 1, 1, 1, 0),),
         summary="Find longest common substring", since="7.0.0", group="string", complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively",
         kind=READ, read=lcs.read_lcs),
    _row(b"getrange", 4, "readonly", 1, 1, 1, "@read @string @slow",
         tips="", key_specs=((('RO', 'access'), 1, 0, 1, 0),),
         summary="Get a substring of the string stored at a key", since="2.4.0", group="string", complexity="O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
         kind=READ, read=R.read_getrange),
    _row(b"substr", 4, "readonly", 1, 1, 1, "@read @string @slow",
         tips="", key_specs=((('RO', 'access'), 1, 0, 1, 0),),
         summary="Get a substring of the string stored at a key", since="1.0.0", group="string", complexity="O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
         kind=READ, read=R.read_getrange),
    _row(b"setrange", 4, "write denyoom", 1, 1, 1, "@write @string @slow",
         tips="", key_specs=((('RW', 'update'), 1, 0, 1, 0),),
         summary="Overwrite part of a string at key starting at the specified offset", since="2.2.0", group="string", complexity="O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
         kind=WRITE, prepare=W.prepare_setrange, apply=W.apply_setrange),
    _row(b"del", -2, "write", 1, -1, 1, "@keyspace @write @slow",
         tips="request_policy:multi_shard response_policy:agg_sum", key_specs=((('RM', 'delete'), 1, -1, 1, 0),),
         summary="Delete a key", since="1.0.0", group="generic", complexity="O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
         kind=WRITE, prepare=None, apply=W.apply_del),
    _row(b"unlink", -2, "write fast", 1, -1, 1, "@keyspace @write @fast",
         tips="request_policy:multi_shard response_policy:agg_sum", key_specs=((('RM', 'delete'), 1, -1, 1, 0),),
         summary="Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", since="4.0.0", group="generic", complexity="O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
         kind=WRITE, prepare=None, apply=W.apply_del),
    _row(b"exists", -2, "readonly fast", 1, -1, 1, "@keyspace @read @fast",
         tips="request_policy:multi_shard response_policy:agg_sum", key_specs=((('RO',), 1, -1, 1, 0),),
         summary="Determine if a key exists", since="1.0.0", group="generic", complexity="O(N) where N is the number of keys to check.",
         kind=READ, read=R.read_exists),
    _row(b"type", 2, "readonly fast", 1, 1, 1, "@keyspace @read @fast",
         tips="", key_specs=((('RO',), 1, 0, 1, 0),),
         summary="Determine the type stored at key", since="1.0.0", group="generic", complexity="O(1)",
         kind=READ, read=R.read_type),
    _row(b"expire", -3, "write fast", 1, 1, 1, "@keyspace @write @fast",
         tips="", key_specs=((('RW', 'update'), 1, 0, 1, 0),),
         summary="Set a key's time to live in seconds", since="1.0.0", group="generic", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_expire, apply=W.apply_pexpireat),
    _row(b"pexpire", -3, "write fast", 1, 1, 1, "@keyspace @write @fast",
         tips="", key_specs=((('RW', 'update'), 1, 0, 1, 0),),
         summary="Set a key's time to live in milliseconds", since="2.6.0", group="generic", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_expire, apply=W.apply_pexpireat),
    _row(b"expireat", -3, "write fast", 1, 1, 1, "@keyspace @write @fast",
         tips="", key_specs=((('RW', 'update'), 1, 0, 1, 0),),
         summary="Set the expiration for a key as a UNIX timestamp", since="1.2.0", group="generic", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_expire, apply=W.apply_pexpireat),
    _row(b"pexpireat", -3, "write fast", 1, 1, 1, "@keyspace @write @fast",
         tips="", key_specs=((('RW', 'update'), 1, 0, 1, 0),),
         summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds", since="2.6.0", group="generic", complexity="O(1)",
         kind=WRITE, prepare=W.prepare_expire, apply=W.apply_pexpireat),
    _row(b"ttl", 2, "readonly fast", 1, 1, 1, "@keyspace @read @fast",
         tips="nondeterministic_output", key_specs=((('RO', 'access'), 1, 0, 1, 0),),
         summary="Get the time to live for a key in seconds", since="1.0.0", group="generic", complexity="O(1)",
         kind=READ, read=R.read_ttl),
    _row(b"pttl", 2, "readonly fast", 1, 1, 1, "@keyspace @read @fast",
         tips="nondeterministic_output", key_specs=((('RO', 'access'), 1, 0, 1, 0),),
         summary="Get the time to live for a key in milliseconds", since="2.6.0", group="generic", complexity="O(1)",
         kind=READ, read=R.read_pttl),
    _row(b"expiretime", 2, "readonly fast", 1, 1, 1, "@keyspace @read @fast",
         tips="", key_specs=((('RO', 'access'), 1, 0, 1, 0),),
         summary="Get the expiration Unix timestamp for a key", since="7.0.0", group="generic", complexity="O(1)",
         kind=READ, read=R.read_expiretime),
    _row(b"pexpiretime", 2, "readonly fast", 1, 1, 1, "@keyspace @read @fast",
         tips="", key_specs=((('RO', 'access'), 1, 0, 1, 0),),
         summary="Get the expiration Unix timestamp for a key in milliseconds", since="7.0.0", group="generic", complexity="O(1)",
         kind=READ, read=R.read_pexpiretime),
    _row(b"persist", 2, "write fast", 1, 1, 1, "@keyspace @write @fast",
         tips="", key_specs=((('RW', 'update'), 1, 0, 1, 0),),
         summary="Remove the expiration from a key", since="2.2.0", group="generic", complexity="O(1)",
         kind=WRITE, prepare=None, apply=W.apply_persist),
    _row(b"keys", 2, "readonly", 0, 0, 0, "@keyspace @read @slow @dangerous",
         tips="request_policy:all_shards nondeterministic_output_order", key_specs=(),
         summary="Find all keys matching the given pattern", since="1.0.0", group="generic", complexity="O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
         kind=READ, read=R.read_keys),
    _row(b"scan", -2, "readonly", 0, 0, 0, "@keyspace @read @slow",
         tips="nondeterministic_output request_policy:special", key_specs=(),
         summary="Incrementally iterate the keys space", since="2.8.0", group="generic", complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
         kind=READ, read=R.read_scan),
    _row(b"rename", 3, "write", 1, 2, 1, "@keyspace @write @slow",
         tips="", key_specs=((('RW', 'access', 'delete'), 1, 0, 1, 0), (('OW', 'update'), 2, 0, 1, 0)),
         summary="Rename a key", since="1.0.0", group="generic", complexity="O(1)",
         kind=WRITE, prepare=None, apply=W.apply_rename),
    _row(b"renamenx", 3, "write fast", 1, 2, 1, "@keyspace @write @fast",
         tips="", key_specs=((('RW', 'access', 'delete'), 1, 0, 1, 0), (('OW', 'insert'), 2, 0, 1, 0)),
         summary="Rename a key, only if the new key does not exist", since="1.0.0", group="generic", complexity="O(1)",
         kind=WRITE, prepare=None, apply=W.apply_renamenx),
    _row(b"randomkey", 1, "readonly", 0, 0, 0, "@keyspace @read @slow",
         tips="request_policy:all_shards nondeterministic_output", key_specs=(),
         summary="Return a random key from the keyspace", since="1.0.0", group="generic", complexity="O(1)",
         kind=READ, read=R.read_randomkey),
    _row(b"touch", -2, "readonly fast", 1, -1, 1, "@keyspace @read @fast",
         tips="request_policy:multi_shard response_policy:agg_sum", key_specs=((('RO',), 1, -1, 1, 0),),
         summary="Alters the last access time of a key(s). Returns the number of existing keys specified.", since="3.2.1", group="generic", complexity="O(N) where N is the number of keys that will be touched.",
         kind=READ, read=R.read_exists),
    _row(b"copy", -3, "write denyoom", 1, 2, 1, "@keyspace @write @slow",
         tips="", key_specs=((('RO', 'access'), 1, 0, 1, 0), (('OW', 'update'), 2, 0, 1, 0)),
         summary="Copy a key", since="6.2.0", group="generic", complexity="O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
         kind=WRITE, prepare=W.prepare_copy, apply=W.apply_copy),
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in LIST_ZSET_ROWS  # lists, sorted sets
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in HASH_SET_ROWS  # hashes, sets, OBJECT
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in BITMAP_ROWS  # bitmaps
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in HYPERLOGLOG_ROWS  # HyperLogLog
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in PUBSUB_ROWS  # pub/sub, RESET
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in SCRIPT_ROWS  # Lua scripts
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in FUNCTION_ROWS  # Redis 7 functions
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in STREAM_ROWS  # streams
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in GEO_ROWS  # geo
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in SORT_ROWS  # SORT, SORT_RO
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in DUMP_ROWS  # DUMP, RESTORE
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in ADMIN_ROWS  # ROLE, SLOWLOG, MEMORY...
) + tuple(
    _row(**{**row, "kind": Kind(row["kind"])}) for row in ACL_ROWS  # ACL (seshat/acl/table.py)
)

# Subcommands of the container commands that Seshat implements, as Redis 7.0.15 publishes them
# (`COMMAND INFO client` element 10). Dispatch checks a subcommand's existence and arity here
# before the handler runs, as `processCommand` does, so errors name `client|id` like Redis.
# CLIENT SETINFO is Redis 7.2's: redis-py 8 sends it on connect, so it is kept.
def _sub(container: bytes, name: bytes, arity: int, flags: str, acl: str, tips: str,
         summary: str, since: str, complexity: str) -> CommandSpec:
    group = "server" if container in (b"config", b"command") else "connection"
    return _row(container + b"|" + name, arity, flags, 0, 0, 0, acl, tips=tips, key_specs=(),
                summary=summary, since=since, group=group, complexity=complexity,
                kind=CONNECTION)


_CONN = "noscript loading stale"
_CONN_ADMIN = "admin noscript loading stale"
_ACL_CONN = "@slow @connection"
_ACL_CONN_ADMIN = "@admin @slow @dangerous @connection"
_ACL_CONFIG = "@admin @slow @dangerous"
_N_CLIENTS = "O(N) where N is the number of client connections"
_N_PARAMS = "O(N) when N is the number of configuration parameters provided"
_HELP = "Show helpful text about the different subcommands"
SUBCOMMANDS: Final[dict[bytes, tuple[CommandSpec, ...]]] = {
    b"client": (
        _sub(b"client", b"id", 2, _CONN, _ACL_CONN, "", "Returns the client ID for the current connection", "5.0.0", "O(1)"),
        _sub(b"client", b"getname", 2, _CONN, _ACL_CONN, "", "Get the current connection name", "2.6.9", "O(1)"),
        _sub(b"client", b"setname", 3, _CONN, _ACL_CONN, "", "Set the current connection name", "2.6.9", "O(1)"),
        _sub(b"client", b"setinfo", 4, _CONN, _ACL_CONN, "request_policy:all_nodes response_policy:all_succeeded", "Set client or connection specific info", "7.2.0", "O(1)"),
        _sub(b"client", b"info", 2, _CONN, _ACL_CONN, "nondeterministic_output", "Returns information about the current client connection.", "6.2.0", "O(1)"),
        _sub(b"client", b"list", -2, _CONN_ADMIN, _ACL_CONN_ADMIN, "nondeterministic_output", "Get the list of client connections", "2.4.0", _N_CLIENTS),
        _sub(b"client", b"kill", -3, _CONN_ADMIN, _ACL_CONN_ADMIN, "", "Kill the connection of a client", "2.4.0", _N_CLIENTS),
        _sub(b"client", b"no-evict", 3, _CONN_ADMIN, _ACL_CONN_ADMIN, "", "Set client eviction mode for the current connection", "7.0.0", "O(1)"),
        _sub(b"client", b"help", 2, "loading stale", _ACL_CONN, "", _HELP, "5.0.0", "O(1)"),
    ) + tuple(_row(**{**row, "kind": Kind(row["kind"])}) for row in CLIENT_EXTRA_SUBCOMMAND_ROWS),
    b"config": (
        _sub(b"config", b"get", -3, _CONN_ADMIN, _ACL_CONFIG, "", "Get the values of configuration parameters", "2.0.0", _N_PARAMS),
        _sub(b"config", b"set", -4, _CONN_ADMIN, _ACL_CONFIG, "request_policy:all_nodes response_policy:all_succeeded", "Set configuration parameters to the given values", "2.0.0", _N_PARAMS),
        _sub(b"config", b"resetstat", 2, _CONN_ADMIN, _ACL_CONFIG, "", "Reset the stats returned by INFO", "2.0.0", "O(1)"),
        _sub(b"config", b"rewrite", 2, _CONN_ADMIN, _ACL_CONFIG, "", "Rewrite the configuration file with the in memory configuration", "2.8.0", "O(1)"),
        _sub(b"config", b"help", 2, "loading stale", "@slow", "", _HELP, "5.0.0", "O(1)"),
    ),
    b"command": (
        _sub(b"command", b"count", 2, "loading stale", _ACL_CONN, "", "Get total number of Redis commands", "2.8.13", "O(1)"),
        _sub(b"command", b"info", -2, "loading stale", _ACL_CONN, "nondeterministic_output_order", "Get array of specific Redis command details, or all when no argument is given.", "2.8.13", "O(N) where N is the number of commands to look up"),
        _sub(b"command", b"docs", -2, "loading stale", _ACL_CONN, "nondeterministic_output_order", "Get array of specific Redis command documentation", "7.0.0", "O(N) where N is the number of commands to look up"),
        _sub(b"command", b"list", -2, "loading stale", _ACL_CONN, "nondeterministic_output_order", "Get an array of Redis command names", "7.0.0", "O(N) where N is the total number of Redis commands"),
        _sub(b"command", b"getkeys", -4, "loading stale", _ACL_CONN, "", "Extract keys given a full Redis command", "2.8.13", "O(N) where N is the number of arguments to the command"),
        _sub(b"command", b"getkeysandflags", -4, "loading stale", _ACL_CONN, "", "Extract keys and access flags given a full Redis command", "7.0.0", "O(N) where N is the number of arguments to the command"),
        _sub(b"command", b"help", 2, "loading stale", _ACL_CONN, "", _HELP, "5.0.0", "O(1)"),
    ),
    b"object": tuple(_row(**{**row, "kind": Kind(row["kind"])}) for row in OBJECT_SUBCOMMAND_ROWS),
    b"pubsub": tuple(_row(**{**row, "kind": Kind(row["kind"])}) for row in PUBSUB_SUBCOMMAND_ROWS),
    b"script": tuple(_row(**{**row, "kind": Kind(row["kind"])}) for row in SCRIPT_SUBCOMMAND_ROWS),
    b"function": tuple(_row(**{**row, "kind": Kind(row["kind"])}) for row in FUNCTION_SUBCOMMAND_ROWS),
    b"acl": tuple(_row(**{**row, "kind": Kind(row["kind"])}) for row in ACL_SUBCOMMAND_ROWS),
    b"cluster": tuple(_row(**{**row, "kind": Kind(row["kind"])}) for row in CLUSTER_SUBCOMMAND_ROWS),
    **{
        container: tuple(_row(**{**row, "kind": Kind(row["kind"])}) for row in rows)
        for container, rows in STREAM_SUBCOMMAND_ROWS.items()
    },
    **{  # SLOWLOG, LATENCY, MEMORY (seshat/kv/admin_table.py)
        container: tuple(_row(**{**row, "kind": Kind(row["kind"])}) for row in rows)
        for container, rows in ADMIN_SUBCOMMAND_ROWS.items()
    },
}
# fmt: on
_SUB_BY_NAME: Final[dict[tuple[bytes, bytes], CommandSpec]] = {
    (container, spec.name.split(b"|", 1)[1]): spec
    for container, subs in SUBCOMMANDS.items()
    for spec in subs
}


def lookup_subcommand(container: bytes, sub: bytes) -> CommandSpec | None:
    """The row of `container|sub` (`container` lowercase, `sub` in any case), or None."""
    return _SUB_BY_NAME.get((container, sub.lower()))


# Lowercase names, plus the upper and capitalised spellings clients actually send, so the
# common case is one dict probe with no `.lower()` allocation.
_BY_NAME: Final[dict[bytes, CommandSpec]] = {
    variant: spec
    for spec in TABLE
    for variant in (spec.name, spec.name.upper(), spec.name.capitalize())
}


def lookup(name: bytes) -> CommandSpec | None:
    """The row for a command name in any case, or None. One dict probe on the hot path."""
    spec = _BY_NAME.get(name)
    if spec is None:
        spec = _BY_NAME.get(name.lower())
    return spec


def get_keys(spec: CommandSpec, argv: list[bytes]) -> list[bytes]:
    """The key arguments of `argv` by the row's legacy (first, last, step) range."""
    if spec.first_key == 0:
        return []
    last = spec.last_key if spec.last_key >= 0 else len(argv) + spec.last_key
    return argv[spec.first_key : last + 1 : spec.step]


def _find_keys_reply(ks: KeySpec) -> Map:
    if ks.find == "unknown":
        return Map([(b"type", b"unknown"), (b"spec", Map([]))])
    names = (b"lastkey", b"keystep", b"limit")
    if ks.find == "keynum":
        names = (b"keynumidx", b"firstkey", b"keystep")
    values = (ks.last_key, ks.key_step, ks.limit)
    return Map([(b"type", ks.find.encode()), (b"spec", Map(list(zip(names, values, strict=True))))])


def _begin_search_reply(ks: KeySpec) -> Map:
    if ks.find == "unknown":
        return Map([(b"type", b"unknown"), (b"spec", Map([]))])
    if ks.keyword:
        spec = Map([(b"keyword", ks.keyword.encode()), (b"startfrom", ks.begin_index)])
        return Map([(b"type", b"keyword"), (b"spec", spec)])
    return Map([(b"type", b"index"), (b"spec", Map([(b"index", ks.begin_index)]))])


def _key_spec_reply(ks: KeySpec) -> Map:
    notes: list[tuple[Reply, Reply]] = [(b"notes", ks.notes.encode())] if ks.notes else []
    return Map(
        notes
        + [
            (b"flags", Set([SimpleString(f.encode()) for f in ks.flags])),
            (b"begin_search", _begin_search_reply(ks)),
            (b"find_keys", _find_keys_reply(ks)),
        ]
    )


def command_info_reply(spec: CommandSpec) -> list[Reply]:
    """One element of `COMMAND INFO`, Redis 7 shape: 10 fields; tips, key specs and
    subcommands are sets in RESP3 (`addReplySetLen` in Redis's `addReplyCommandInfo`)."""
    return [
        spec.name,
        spec.arity,
        Set([SimpleString(f.encode()) for f in spec.flag_names]),
        spec.first_key,
        spec.last_key,
        spec.step,
        Set([SimpleString(c.encode()) for c in spec.acl_categories]),
        Set([t.encode() for t in spec.tips]),
        Set([_key_spec_reply(ks) for ks in spec.key_specs]),
        Set([command_info_reply(sub) for sub in SUBCOMMANDS.get(spec.name, ())]),
    ]


def command_docs_reply(spec: CommandSpec) -> Map:
    """The value paired with the name in `COMMAND DOCS`, as Redis 7.0.15 builds it.

    The server builds the outer map `{name: command_docs_reply(spec), ...}`. Summary, since,
    group and complexity come from the row; Redis's further fields (arguments, history,
    doc_flags...) from the generated `command_docs` module; then the implemented subcommands.
    """
    items: list[tuple[Reply, Reply]] = [
        (b"summary", spec.summary.encode()),
        (b"since", spec.since.encode()),
        (b"group", spec.group.encode()),
    ]
    if spec.complexity:  # LOLWUT has none, and Redis then leaves the field out
        items.append((b"complexity", spec.complexity.encode()))
    items += EXTRA_DOCS.get(spec.name, [])
    subs = SUBCOMMANDS.get(spec.name)
    if subs:
        items.append((b"subcommands", Map([(sub.name, command_docs_reply(sub)) for sub in subs])))
    return Map(items)
