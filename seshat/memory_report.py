"""MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP, with estimates Seshat can make.

Redis measures its own allocations (`src/object.c`: `objectComputeSize`, `getMemoryOverheadData`).
Seshat's data lives in RocksDB and its process is a Python interpreter, so the numbers are
estimates built from what we do know, documented here so nobody mistakes them for more:

- MEMORY USAGE key [SAMPLES n]: the bytes the key occupies in storage, plus a fixed per-entry
  overhead. A string: `len(key) + len(record) + KEY_OVERHEAD_BYTES` (the record is the type,
  expiry and value, `seshat/kv/layout.py`). A collection (hash, list, set, sorted set, stream):
  that, plus `count x (average size of the sampled sub-entries + SUB_OVERHEAD_BYTES)`, where the
  average is taken over the first `n` sub-entries (default 5, 0 = all of them), as Redis samples
  a collection's elements. It reads this node's committed state directly (no read barrier; on a
  follower it may lag the leader by the entries not applied yet), and answers nil for a missing
  key, as Redis does.
- MEMORY STATS: Redis's field names, filled from the process: `total.allocated` is the
  resident set size (`VmRSS`), `peak.allocated` its peak (`VmHWM`), `startup.allocated` the RSS
  when the node started; `keys.count` the keys of all databases; `dataset.bytes` what the RSS
  grew by since start-up, minus the clients' buffers. Fields Seshat has nothing for (replication
  backlog, AOF buffer, Lua caches) are 0; the allocator fields are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import OK, Double, Map, Reply, SimpleString, Verbatim

if TYPE_CHECKING:
    from seshat.admin import Admin
    from seshat.client import ClientConnection
    from seshat.server import Server

KEY_OVERHEAD_BYTES: Final = 48
"""Per key: RocksDB's per-entry cost (internal key trailer, index and memtable share, about
what Redis's dictEntry + robj + sds headers cost too, so small keys read alike in both)."""
SUB_OVERHEAD_BYTES: Final = 24  # per collection element: its entry's key prefix and trailer
SAMPLES_DEFAULT: Final = 5  # Redis's OBJ_COMPUTE_SIZE_DEF_SAMPLES
EMPTY_BYTES_MAX: Final = 5 * 1024 * 1024
"""Below this much dataset, DOCTOR says the instance is nearly empty (Redis's 5 MB)."""

HELP_LINES: Final = (
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
)
DOCTOR_EMPTY: Final = (
    "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be "
    "used in these conditions. Please, leave for your mission on Earth and fill it with some "
    "data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
)
DOCTOR_FINE: Final = (
    "Hi Sam, I can't find any memory issue in your instance. I can only account for what "
    "occurs on this base.\n"
)
MALLOC_STATS: Final = b"Stats not supported for the current allocator"
"""What Redis built without jemalloc answers; CPython's allocator keeps no such report."""


def proc_memory_bytes() -> tuple[int, int]:
    """(resident now, peak resident) of this process, from /proc; zeros where unavailable."""
    rss = peak = 0
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, max(peak, rss)


STARTUP_RSS_BYTES: Final = proc_memory_bytes()[0]
"""RSS when this module was imported, i.e. while the node started: `startup.allocated`."""


def key_usage_bytes(server: Server, db: int, key: bytes, samples: int) -> int | None:
    """The estimate MEMORY USAGE answers (see the module docstring); None: no such key."""
    view = server.state_machine.view
    record = view.record(db, key, server.kv.clock_ms())
    if record is None:
        return None
    total = len(key) + len(record) + KEY_OVERHEAD_BYTES
    if not L.is_collection(record) or len(record) < L.COLLECTION_HEADER_BYTES:
        return total
    count = L.record_size(record)
    if count <= 0:
        return total
    slot = view.db_map[db]
    version = L.record_version(record)
    seen = sampled_bytes = 0
    lo, hi = L.sub_prefix(slot, version), L.sub_prefix_end(slot, version)
    for sub_key, value in view.iterate_kv(lo, hi):
        sampled_bytes += len(sub_key) + len(value) + SUB_OVERHEAD_BYTES
        seen += 1
        if samples and seen >= samples:
            break
    if not seen:
        return total
    return total + sampled_bytes * count // seen


def _usage(server: Server, conn: ClientConnection, argv: list[bytes]) -> Reply:
    samples = SAMPLES_DEFAULT
    j = 3
    while j < len(argv):  # as Redis: options are checked before the key is looked up
        if argv[j].lower() == b"samples" and j + 1 < len(argv):
            parsed = parse_int(argv[j + 1])
            if parsed is None:
                return E.NOT_INTEGER
            if parsed < 0:
                return E.SYNTAX
            samples = parsed
            j += 2
        else:
            return E.SYNTAX
    return key_usage_bytes(server, conn.session.db, argv[2], samples)


def client_buffers_bytes(server: Server) -> int:
    """What clients' unread input and unsent output hold (MEMORY STATS, INFO memory)."""
    total = 0
    for client in server.clients.values():
        total += client.parser.buffered_bytes()
        transport = client.transport
        if transport is not None and not transport.is_closing():
            total += transport.get_write_buffer_size()
    return total


def _keys_count(server: Server) -> int:
    view = server.state_machine.view
    return sum(view.db_size(db) for db in range(L.DB_COUNT))


def stats_reply(server: Server) -> Reply:
    rss, peak = proc_memory_bytes()
    clients = client_buffers_bytes(server)
    keys = _keys_count(server)
    overhead = STARTUP_RSS_BYTES + clients
    dataset = max(0, rss - overhead)
    return Map(
        [
            (b"peak.allocated", peak),
            (b"total.allocated", rss),
            (b"startup.allocated", STARTUP_RSS_BYTES),
            (b"replication.backlog", 0),
            (b"clients.slaves", 0),
            (b"clients.normal", clients),
            (b"cluster.links", 0),
            (b"aof.buffer", 0),
            (b"lua.caches", 0),
            (b"functions.caches", 0),
            (b"overhead.total", overhead),
            (b"keys.count", keys),
            (b"keys.bytes-per-key", (rss - STARTUP_RSS_BYTES) // keys if keys else 0),
            (b"dataset.bytes", dataset),
            (b"dataset.percentage", Double(dataset * 100 / rss if rss else 0.0)),
            (b"peak.percentage", Double(rss * 100 / peak if peak else 0.0)),
        ]
    )


def memory_command(admin: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    """MEMORY USAGE | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP."""
    server = admin.server
    sub = argv[1].lower()
    n = len(argv)
    if sub == b"usage":
        return _usage(server, conn, argv)
    if sub == b"stats" and n == 2:
        return stats_reply(server)
    if sub == b"doctor" and n == 2:
        rss = proc_memory_bytes()[0]
        empty = _keys_count(server) == 0 or rss - STARTUP_RSS_BYTES < EMPTY_BYTES_MAX
        return Verbatim((DOCTOR_EMPTY if empty else DOCTOR_FINE).encode())
    if sub == b"malloc-stats" and n == 2:
        return MALLOC_STATS
    if sub == b"purge" and n == 2:
        return OK  # nothing to ask of CPython's allocator that would not block the loop
    if sub == b"help" and n == 2:
        return [SimpleString(line.encode()) for line in HELP_LINES]
    return E.subcommand_syntax(argv[1], "MEMORY")


HANDLERS = {b"memory": memory_command}
