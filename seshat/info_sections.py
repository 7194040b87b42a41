"""INFO: Redis 7.0.15's sections and fields, filled with what is true of this node.

`InfoSections` builds each section as `(name, value)` rows, in the order `genRedisInfoString`
(`src/server.c`) prints them, and `render(argv)` picks the sections an `INFO [section ...]` asks
for, as `genInfoSectionDict` does: no argument or `default` gives the default sections, `all`
and `everything` all of them, any other name that section; the output keeps Redis's section
order whatever the order asked. Seshat's own fields follow Redis's in a section, and the
`# Raft` section comes last (it is part of `default`: operators read it with a bare `INFO`).

Where the value comes from (docs/operations.md, "INFO", says the same for operators):

- Counters the hot path bumps (`Stats`, below) cost one integer add per *read* or *write* of a
  connection (`total_net_input_bytes`, `total_reads_processed`, ...), one per command
  (`total_commands_processed`, which already existed), one per key lookup on the read path
  (`keyspace_hits`/`keyspace_misses`, `seshat/kv/keyspace.py`), one per applied batch
  (`expired_keys`), and one per *error* reply, counted where replies are encoded
  (`seshat/protocol/encoder.py`'s `error_observer`), so nothing on the success path.
- `instantaneous_*` are sampled as Redis samples them (`trackInstantaneousMetric`): a timer
  every 100 ms records the rate since the previous sample, INFO shows the mean of the last 16.
- Memory: the process's resident set size (`VmRSS`), the same measure `MEMORY STATS` reports
  as `total.allocated` (`seshat/memory_report.py`): Python's allocator keeps no byte count of
  its own. So `used_memory` equals `used_memory_rss` and the allocator and fragmentation fields
  are what a Redis built with libc malloc derives from them (ratios 1.00, bytes 0).
- Fields for features Seshat does not have (fork, copy-on-write, RDB/AOF rewrites, eviction,
  defragmentation, I/O threads, modules) are what an idle Redis with the feature off prints.
- Replication: Raft's view. The offsets are log indexes (`master_repl_offset` is this node's
  applied index), and the backlog is the Raft log still kept (first index, entries kept).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform
import resource
import selectors
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from seshat import __version__
from seshat.admin import REDIS_VERSION
from seshat.kv import layout as L
from seshat.kv.functions import FUNC_PREFIX, LIB_END, LIB_PREFIX
from seshat.kv.scripts import SCRIPT_END, SCRIPT_PREFIX
from seshat.memory_report import STARTUP_RSS_BYTES, client_buffers_bytes, proc_memory_bytes
from seshat.protocol import encoder
from seshat.protocol.replies import Reply, Verbatim
from seshat.pubsub import CHANNELS, PATTERNS, SHARD_CHANNELS
from seshat.raft.types import StateRole

if TYPE_CHECKING:
    from seshat.kv.keyspace import KeyspaceView
    from seshat.server import Server

Rows = list[tuple[str, object]]

SAMPLE_INTERVAL_S: Final = 0.1
"""How often the `instantaneous_*` rates are sampled: Redis's `run_with_period(100)`."""
SAMPLES: Final = 16  # Redis's STATS_METRIC_SAMPLES: the rates are the mean of the last 16
ERROR_CODES_MAX: Final = 128
"""Distinct error codes `errorstats` keeps (Redis's ERROR_STATS_NUMBER): a client sending
made-up error-like text cannot grow the table; later new codes still count in
`total_error_replies`."""
EXPIRES_WALK_MAX: Final = 20_000
"""Expiry-index entries `INFO keyspace` reads per database to count the keys with a TTL. The
storage keeps no count of them, so counting is a walk of the index (about 1 us an entry): up to
this many it is exact; past it INFO says this many (a lower bound) rather than hold the loop
for tens of milliseconds."""
REPL_ID_ZEROS: Final = "0" * 40

# Sections in Redis 7.0's order; the title each is printed with. `modules` is the module list
# (empty).
TITLES: Final = {
    "server": "Server",
    "clients": "Clients",
    "memory": "Memory",
    "persistence": "Persistence",
    "stats": "Stats",
    "replication": "Replication",
    "cpu": "CPU",
    "modules": "Modules",
    "commandstats": "Commandstats",
    "errorstats": "Errorstats",
    "latencystats": "Latencystats",
    "cluster": "Cluster",
    "keyspace": "Keyspace",
    "raft": "Raft",
}
DEFAULT_SECTIONS: Final = frozenset(TITLES) - {"commandstats", "latencystats"}  # as Redis
PERCENTILES: Final = (50.0, 99.0, 99.9)  # latency-tracking-info-percentiles' default


@dataclass(slots=True)
class Stats:
    """Plain counters the hot path bumps (client.py, the applier, the encoder's error hook)."""

    connections_received: int = 0
    rejected_connections: int = 0
    commands_processed: int = 0
    expired_keys: int = 0
    net_input_bytes: int = 0  # bytes read from clients: one add per read
    net_output_bytes: int = 0  # bytes written to clients: one add per write
    reads_processed: int = 0  # reads from client sockets
    writes_processed: int = 0  # writes to client sockets
    error_replies: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # error code -> replies with it
    started_s: float = 0.0

    def reset(self) -> None:
        """CONFIG RESETSTAT."""
        self.connections_received = 0
        self.rejected_connections = 0
        self.commands_processed = 0
        self.expired_keys = 0
        self.net_input_bytes = 0
        self.net_output_bytes = 0
        self.reads_processed = 0
        self.writes_processed = 0
        self.error_replies = 0
        self.errors = {}

    def count_error(self, message: str) -> None:
        """One error reply: its code is the first word, as Redis's `afterErrorReply` takes it
        (the word must end within the first 32 bytes of `-<message>`, else it counts as ERR)."""
        self.error_replies += 1
        space = message.find(" ", 0, 31)
        code = message[:space] if space > 0 else "ERR"
        errors = self.errors
        count = errors.get(code)
        if count is not None:
            errors[code] = count + 1
        elif len(errors) < ERROR_CODES_MAX:
            errors[code] = 1


class _Rate:
    """One instantaneous metric: Redis's `inst_metric` ring of per-second rates."""

    __slots__ = ("idx", "last_count", "last_ms", "samples")

    def __init__(self) -> None:
        self.samples = [0] * SAMPLES
        self.idx = 0
        self.last_count = 0
        self.last_ms = 0

    def track(self, now_ms: int, count: int) -> None:
        elapsed = now_ms - self.last_ms
        self.samples[self.idx] = (count - self.last_count) * 1000 // elapsed if elapsed > 0 else 0
        self.idx = (self.idx + 1) % SAMPLES
        self.last_ms = now_ms
        self.last_count = count

    def value(self) -> int:
        return sum(self.samples) // SAMPLES


def bytes_to_human(n: int) -> str:
    """Redis's `bytesToHuman`: 919.23K, 6.19M, 0B."""
    if n < 1024:
        return f"{n}B"
    for power, unit in ((2, "K"), (3, "M"), (4, "G"), (5, "T"), (6, "P")):
        if n < 1024**power:
            return f"{n / 1024 ** (power - 1):.2f}{unit}"
    return f"{n}B"


def _ratio(a: int, b: int) -> str:
    return f"{a / b if b else 0:.2f}"


class InfoSections:
    """The sections of one node's INFO, and the 100 ms sampler of its instantaneous rates."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.run_id = os.urandom(20).hex()  # a new one each start, as Redis
        self.ops = _Rate()
        self.net_in = _Rate()
        self.net_out = _Rate()
        self.peak_rss_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        uname = os.uname()
        self._os = f"{uname.sysname} {uname.release} {uname.machine}"
        # The compiler that built this Python (Redis prints the one that built it).
        compiler = platform.python_compiler().split()
        self._gcc = compiler[1] if len(compiler) > 1 and compiler[0] == "GCC" else "0.0.0"
        self._build_id = hashlib.sha1(f"seshat-{__version__}".encode()).hexdigest()[:16]
        self._multiplexing = selectors.DefaultSelector.__name__.removesuffix("Selector").lower()

    # ------------------------------------------------------------------ sampling

    def start(self) -> None:
        now_ms = time.monotonic_ns() // 1_000_000
        for rate in (self.ops, self.net_in, self.net_out):
            rate.last_ms = now_ms
        self._timer = asyncio.get_running_loop().call_later(SAMPLE_INTERVAL_S, self._sample)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sample(self) -> None:
        """Every 100 ms, whatever the load: never per command."""
        stats = self.server.stats
        now_ms = time.monotonic_ns() // 1_000_000
        self.ops.track(now_ms, stats.commands_processed)
        self.net_in.track(now_ms, stats.net_input_bytes)
        self.net_out.track(now_ms, stats.net_output_bytes)
        self._timer = asyncio.get_running_loop().call_later(SAMPLE_INTERVAL_S, self._sample)

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT: the counters INFO stats and errorstats show start again."""
        server = self.server
        server.stats.reset()
        view = server.state_machine.view
        view.hits = view.misses = 0
        server.timing.latency.reset_histograms()  # commandstats and latencystats too
        for rate in (self.ops, self.net_in, self.net_out):
            rate.samples = [0] * SAMPLES
            rate.last_count = 0

    # ------------------------------------------------------------------ INFO

    def sections(self) -> dict[str, Callable[[], Rows]]:
        return {
            "server": self.server_rows,
            "clients": self.clients_rows,
            "memory": self.memory_rows,
            "persistence": self.persistence_rows,
            "stats": self.stats_rows,
            "replication": self.replication_rows,
            "cpu": self.cpu_rows,
            "modules": list,
            "commandstats": self.commandstats_rows,
            "errorstats": self.errorstats_rows,
            "latencystats": self.latencystats_rows,
            # Redirect mode answers -MOVED and CLUSTER SLOTS as a Redis cluster does, so it says
            # so, as cluster-aware tools check; forward mode looks like one standalone Redis.
            "cluster": lambda: [("cluster_enabled", int(self.server.config.redirect))],
            "keyspace": self.keyspace_rows,
            "raft": self.raft_rows,
        }

    def render(self, argv: list[bytes]) -> Reply:
        """`INFO [section ...]`: the sections asked for, in Redis's order."""
        wanted = {a.decode(errors="replace").lower() for a in argv[1:]} or {"default"}
        if wanted & {"all", "everything"}:
            names = set(TITLES)
        else:
            names = wanted - {"default"}
            if "default" in wanted:
                names |= DEFAULT_SECTIONS
        builders = self.sections()
        parts = []
        for name in TITLES:
            if name in names:
                body = "".join(f"{k}:{v}\r\n" for k, v in builders[name]())
                parts.append(f"# {TITLES[name]}\r\n{body}")
        return Verbatim("\r\n".join(parts).encode())

    def server_rows(self) -> Rows:
        server = self.server
        uptime = int(time.monotonic() - server.stats.started_s)
        hz = max(1, round(1000 / server.config.active_expire_interval_ms))
        return [
            ("redis_version", REDIS_VERSION),
            ("redis_git_sha1", "00000000"),
            ("redis_git_dirty", 0),
            ("redis_build_id", self._build_id),  # of this Seshat version
            ("redis_mode", "cluster" if server.config.redirect else "standalone"),
            ("os", self._os),
            ("arch_bits", struct.calcsize("P") * 8),
            ("monotonic_clock", "POSIX clock_gettime"),  # time.monotonic's source on Unix
            ("multiplexing_api", self._multiplexing),
            ("atomicvar_api", "c11-builtin"),  # the atomics CPython is built with
            ("gcc_version", self._gcc),
            ("process_id", os.getpid()),
            ("process_supervised", "no"),
            ("run_id", self.run_id),
            ("tcp_port", server.port),
            ("server_time_usec", time.time_ns() // 1000),
            ("uptime_in_seconds", uptime),
            ("uptime_in_days", uptime // 86400),
            ("hz", hz),  # the maintenance timer's rate (active expiry, compaction)
            ("configured_hz", hz),
            ("lru_clock", int(time.time()) & 0xFFFFFF),  # Redis's LRU clock: seconds, 24 bits
            ("executable", sys.executable),
            ("config_file", ""),  # flags and SESHAT_* variables, no file
            ("io_threads_active", 0),
            ("seshat_version", __version__),
            ("node_id", server.config.node_id),
            ("cluster_id", server.cluster_id),
        ]

    def clients_rows(self) -> Rows:
        server = self.server
        max_in = max_out = 0
        for client in server.clients.values():  # the largest now (Redis: of the last seconds)
            max_in = max(max_in, client.parser.buffered_bytes())
            transport = client.transport
            if transport is not None and not transport.is_closing():
                max_out = max(max_out, transport.get_write_buffer_size())
        return [
            ("connected_clients", len(server.clients)),
            ("cluster_connections", 0),  # no cluster bus: Raft's links are in `# Raft`
            ("maxclients", server.config.maxclients),
            ("client_recent_max_input_buffer", max_in),
            ("client_recent_max_output_buffer", max_out),
            ("blocked_clients", server.blocking.parked()),
            ("tracking_clients", server.tracking.clients),
            ("clients_in_timeout_table", 0),  # blocked clients' timeouts are loop timers
        ]

    def memory_rows(self) -> Rows:
        server = self.server
        rss, peak = proc_memory_bytes()  # VmRSS and VmHWM (see the module docstring)
        self.peak_rss_bytes = peak = max(peak, self.peak_rss_bytes, rss)
        used = rss
        clients = client_buffers_bytes(server)
        startup = STARTUP_RSS_BYTES
        overhead = startup + clients
        dataset = max(0, used - overhead)
        net = used - startup if used > startup else 1
        view = server.state_machine.view
        scripts = scripts_bytes = 0
        for _key, body in view.iterate_kv(SCRIPT_PREFIX, SCRIPT_END):
            scripts += 1
            scripts_bytes += len(body)
        libraries = functions_bytes = 0
        for _key, data in view.iterate_kv(LIB_PREFIX, LIB_END):
            libraries += 1
            functions_bytes += len(data)
        functions = sum(1 for _ in view.iterate_kv(FUNC_PREFIX, FUNC_PREFIX[:-1] + b";"))
        scripts_total = scripts_bytes + functions_bytes
        return [
            ("used_memory", used),
            ("used_memory_human", bytes_to_human(used)),
            ("used_memory_rss", rss),
            ("used_memory_rss_human", bytes_to_human(rss)),
            ("used_memory_peak", peak),
            ("used_memory_peak_human", bytes_to_human(peak)),
            ("used_memory_peak_perc", f"{used * 100 / peak if peak else 0:.2f}%"),
            ("used_memory_overhead", overhead),
            ("used_memory_startup", startup),
            ("used_memory_dataset", dataset),
            ("used_memory_dataset_perc", f"{dataset * 100 / net:.2f}%"),
            # What Redis derives when its allocator reports nothing (libc malloc).
            ("allocator_allocated", used),
            ("allocator_active", rss),
            ("allocator_resident", rss),
            ("total_system_memory", _total_system_memory()),
            ("total_system_memory_human", bytes_to_human(_total_system_memory())),
            # Lua's heap is not measured (the sandbox runs scripts inside apply): 0.
            ("used_memory_lua", 0),
            ("used_memory_vm_eval", 0),
            ("used_memory_lua_human", bytes_to_human(0)),
            ("used_memory_scripts_eval", scripts_bytes),  # the cached scripts' bodies
            ("number_of_cached_scripts", scripts),
            ("number_of_functions", functions),
            ("number_of_libraries", libraries),
            ("used_memory_vm_functions", 0),
            ("used_memory_vm_total", 0),
            ("used_memory_vm_total_human", bytes_to_human(0)),
            ("used_memory_functions", functions_bytes),  # the libraries' stored code
            ("used_memory_scripts", scripts_total),
            ("used_memory_scripts_human", bytes_to_human(scripts_total)),
            ("maxmemory", 0),
            ("maxmemory_human", bytes_to_human(0)),
            ("maxmemory_policy", "noeviction"),
            ("allocator_frag_ratio", _ratio(rss, used)),
            ("allocator_frag_bytes", rss - used),
            ("allocator_rss_ratio", _ratio(rss, rss)),
            ("allocator_rss_bytes", 0),
            ("rss_overhead_ratio", _ratio(rss, rss)),
            ("rss_overhead_bytes", 0),
            ("mem_fragmentation_ratio", _ratio(rss, used)),
            ("mem_fragmentation_bytes", rss - used),
            ("mem_not_counted_for_evict", 0),
            ("mem_replication_backlog", 0),
            ("mem_total_replication_buffers", 0),
            ("mem_clients_slaves", 0),
            ("mem_clients_normal", clients),  # clients' unparsed input and unsent output
            ("mem_cluster_links", 0),
            ("mem_aof_buffer", 0),
            ("mem_allocator", "libc"),
            ("active_defrag_running", 0),
            ("lazyfree_pending_objects", 0),
            ("lazyfreed_objects", 0),
        ]

    def persistence_rows(self) -> Rows:
        server = self.server
        storage = server.log_storage
        # Entries applied since the log was last compacted (the compacted state is the "save").
        changes = max(0, server.state_machine.applied_index() - (storage.first_index() - 1))
        return [
            ("loading", 0),
            ("async_loading", 0),
            ("current_cow_peak", 0),
            ("current_cow_size", 0),
            ("current_cow_size_age", 0),
            ("current_fork_perc", "0.00"),
            ("current_save_keys_processed", 0),
            ("current_save_keys_total", 0),
            ("rdb_changes_since_last_save", changes),
            ("rdb_bgsave_in_progress", 0),
            ("rdb_last_save_time", server.last_save_s),  # LASTSAVE (persistence_commands.py)
            ("rdb_last_bgsave_status", "ok"),
            ("rdb_last_bgsave_time_sec", -1),
            ("rdb_current_bgsave_time_sec", -1),
            ("rdb_saves", 0),
            ("rdb_last_cow_size", 0),
            ("rdb_last_load_keys_expired", 0),
            ("rdb_last_load_keys_loaded", 0),
            ("aof_enabled", 0),
            ("aof_rewrite_in_progress", 0),
            ("aof_rewrite_scheduled", 0),
            ("aof_last_rewrite_time_sec", -1),
            ("aof_current_rewrite_time_sec", -1),
            ("aof_last_bgrewrite_status", "ok"),
            ("aof_rewrites", 0),
            ("aof_rewrites_consecutive_failures", 0),
            ("aof_last_write_status", "ok"),
            ("aof_last_cow_size", 0),
            ("module_fork_in_progress", 0),
            ("module_fork_last_cow_size", 0),
            ("raft_log_fsyncs", server.node.fsyncs),
            ("raft_readies", server.node.readies),
            ("raft_log_first_index", storage.first_index()),
        ]

    def stats_rows(self) -> Rows:
        server = self.server
        stats = server.stats
        view = server.state_machine.view
        tracking = server.tracking
        full_syncs = 0  # snapshots sent to followers: Raft's full resynchronisations
        cluster = server.cluster
        transport = cluster.transport if cluster is not None else None
        if transport is not None:
            for n in transport.peers():
                peer = transport.peer_stats(n)
                if peer is not None:
                    full_syncs += peer.snapshots_sent
        return [
            ("total_connections_received", stats.connections_received),
            ("total_commands_processed", stats.commands_processed),
            ("instantaneous_ops_per_sec", self.ops.value()),
            ("total_net_input_bytes", stats.net_input_bytes),
            ("total_net_output_bytes", stats.net_output_bytes),
            ("total_net_repl_input_bytes", 0),  # Raft traffic: messages, not bytes (# Raft)
            ("total_net_repl_output_bytes", 0),
            ("instantaneous_input_kbps", f"{self.net_in.value() / 1024:.2f}"),
            ("instantaneous_output_kbps", f"{self.net_out.value() / 1024:.2f}"),
            ("instantaneous_input_repl_kbps", "0.00"),
            ("instantaneous_output_repl_kbps", "0.00"),
            ("rejected_connections", stats.rejected_connections),
            ("sync_full", full_syncs),
            ("sync_partial_ok", 0),
            ("sync_partial_err", 0),
            ("expired_keys", stats.expired_keys),
            ("expired_stale_perc", "0.00"),
            ("expired_time_cap_reached_count", 0),
            ("expire_cycle_cpu_milliseconds", 0),
            ("evicted_keys", 0),
            ("evicted_clients", 0),
            ("total_eviction_exceeded_time", 0),
            ("current_eviction_exceeded_time", 0),
            ("keyspace_hits", view.hits),
            ("keyspace_misses", view.misses),
            ("pubsub_channels", server.pubsub.active_count(CHANNELS)),
            ("pubsub_patterns", server.pubsub.active_count(PATTERNS)),
            ("pubsubshard_channels", server.pubsub.active_count(SHARD_CHANNELS)),
            ("latest_fork_usec", 0),
            ("total_forks", 0),
            ("migrate_cached_sockets", 0),
            ("slave_expires_tracked_keys", 0),
            ("active_defrag_hits", 0),
            ("active_defrag_misses", 0),
            ("active_defrag_key_hits", 0),
            ("active_defrag_key_misses", 0),
            ("total_active_defrag_time", 0),
            ("current_active_defrag_time", 0),
            ("tracking_total_keys", len(tracking.keys)),
            ("tracking_total_items", sum(len(ids) for ids in tracking.keys.values())),
            ("tracking_total_prefixes", len(tracking.prefixes)),
            ("unexpected_error_replies", 0),
            ("total_error_replies", stats.error_replies),
            ("dump_payload_sanitizations", 0),
            ("total_reads_processed", stats.reads_processed),
            ("total_writes_processed", stats.writes_processed),
            ("io_threaded_reads_processed", 0),
            ("io_threaded_writes_processed", 0),
            ("reply_buffer_shrinks", 0),
            ("reply_buffer_expands", 0),
        ]

    def replication_rows(self) -> Rows:
        server = self.server
        node = server.node
        raw = node.raw
        leader = node.is_leader()
        cluster = server.cluster
        rows: Rows
        if leader:
            rows = [("role", "master")]
        else:
            address = cluster.leader_client_address() if cluster is not None else ""
            host, _, port = address.rpartition(":")
            up = bool(raw.leader_id())
            applied = node.applied
            rows = [
                ("role", "slave"),
                ("master_host", host),
                ("master_port", port),
                ("master_link_status", "up" if up else "down"),
                # Seconds since the leader was last heard from (its heartbeats reset the count).
                ("master_last_io_seconds_ago", _last_heard_s(server) if up else -1),
                ("master_sync_in_progress", 0),
                ("slave_read_repl_offset", raw.committed()),
                ("slave_repl_offset", applied),
            ]
            if not up:
                rows.append(("master_link_down_since_seconds", -1))
            rows += [("slave_priority", 100), ("slave_read_only", 0), ("replica_announced", 1)]
        followers = [n for n in raw.conf_state().all_nodes() if n != raw.id] if leader else []
        rows.append(("connected_slaves", len(followers)))
        for i, n in enumerate(followers):
            progress = raw.raft.progress.get(n)
            match = progress.match if progress is not None else 0
            address = cluster.client_addresses.get(n, ":") if cluster is not None else ":"
            host, _, port = address.rpartition(":")
            # `lag` is in log entries (Redis: seconds since the replica's last ack).
            rows.append(
                (f"slave{i}", f"ip={host},port={port},state=online,offset={match},"
                 f"lag={raw.last_index() - match},node_id={n}")
            )  # fmt: skip
        first = server.log_storage.first_index()
        last = raw.last_index()
        rows += [
            ("master_failover_state", "no-failover"),
            # One history per Raft group: the same id on every node of the cluster.
            ("master_replid", hashlib.sha1(f"seshat:{server.cluster_id}".encode()).hexdigest()),
            ("master_replid2", REPL_ID_ZEROS),
            ("master_repl_offset", node.applied),  # this node's applied index
            ("second_repl_offset", -1),
            ("repl_backlog_active", 1),  # the Raft log kept since the last compaction
            ("repl_backlog_size", server.config.log_compact_entries_max),
            ("repl_backlog_first_byte_offset", first),
            ("repl_backlog_histlen", max(0, last - first + 1)),
        ]
        return rows

    def cpu_rows(self) -> Rows:
        me = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        # INFO runs on the loop's thread, the main thread: RUSAGE_THREAD is that thread's.
        thread = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
        return [
            ("used_cpu_sys", f"{me.ru_stime:.6f}"),
            ("used_cpu_user", f"{me.ru_utime:.6f}"),
            ("used_cpu_sys_children", f"{children.ru_stime:.6f}"),
            ("used_cpu_user_children", f"{children.ru_utime:.6f}"),
            ("used_cpu_sys_main_thread", f"{thread.ru_stime:.6f}"),
            ("used_cpu_user_main_thread", f"{thread.ru_utime:.6f}"),
        ]

    def commandstats_rows(self) -> Rows:
        """Per command: calls and time as LATENCY HISTOGRAM counts them (a read while it runs,
        a write while this node prepares and proposes it, not its quorum wait), rejected and
        failed calls as Redis counts them, all only while `latency-tracking` is on. The
        commands a script or a transaction runs inside apply are not counted one by one."""
        rows: Rows = []
        for name, calls, total_ns, rejected, failed in self.server.timing.latency.command_stats():
            usec = total_ns // 1000
            rows.append(
                (
                    f"cmdstat_{name.decode()}",
                    f"calls={calls},usec={usec},usec_per_call={usec / calls if calls else 0:.2f},"
                    f"rejected_calls={rejected},failed_calls={failed}",
                )
            )
        return rows

    def latencystats_rows(self) -> Rows:
        latency = self.server.timing.latency
        rows: Rows = []
        for name, calls, *_ in latency.command_stats():
            if not calls:
                continue  # only rejected: no latency to show
            values = ",".join(f"p{p:g}={latency.percentile_usec(name, p):.3f}" for p in PERCENTILES)
            rows.append((f"latency_percentiles_usec_{name.decode()}", values))
        return rows

    def errorstats_rows(self) -> Rows:
        errors = self.server.stats.errors
        return [(f"errorstat_{code}", f"count={errors[code]}") for code in sorted(errors)]

    def keyspace_rows(self) -> Rows:
        rows: Rows = []
        view = self.server.state_machine.view
        now_ms = time.time_ns() // 1_000_000
        for db in range(L.DB_COUNT):
            keys = view.db_size(db)
            if keys:
                expires, avg_ttl = _expires(view.db_map[db], view, now_ms)
                rows.append((f"db{db}", f"keys={keys},expires={expires},avg_ttl={avg_ttl}"))
        return rows

    def raft_rows(self) -> Rows:
        server = self.server
        raw = server.node.raw
        role = raw.role()
        if raw.id in raw.conf_state().learners:
            role_name = "learner"
        elif role is StateRole.PRE_CANDIDATE:
            role_name = "candidate"
        else:
            role_name = role.value
        return (
            [
                ("role", role_name),
                ("node_id", raw.id),
                ("term", raw.term()),
                ("leader_id", raw.leader_id()),
                ("commit_index", raw.committed()),
                ("applied_index", server.node.applied),
                ("last_log_index", raw.last_index()),
                ("first_log_index", server.log_storage.first_index()),
                ("voters", ",".join(map(str, raw.conf_state().voters))),
                ("learners", ",".join(map(str, raw.conf_state().learners))),
            ]
            + self._peers_rows()
            + self._transport_rows()
        )

    def _transport_rows(self) -> Rows:
        """Messages and frames each way (a frame costs far more than a message), and whether
        the Raft streams travel on plain TCP or on gRPC's Stream RPC."""
        cluster = self.server.cluster
        transport = cluster.transport if cluster is not None else None
        if cluster is None or transport is None:
            return []
        forwarder = cluster.forwarder
        rows: Rows = [
            ("transport_received", f"msgs={transport.stats.received_msgs},"
             f"frames={transport.stats.received_batches},"
             f"tcp_streams={transport.stats.tcp_streams}"),
            # Writes this node relayed to a leader, in how many batches; of those, how many went
            # as unary ForwardBatch calls (a leader without ForwardStream) and how many as
            # single Forwards (a leader without ForwardBatch); the open stream's way.
            (
                "forwarded",
                f"commands={forwarder.commands},batches={forwarder.batches},"
                f"unary={forwarder.unary},fallbacks={forwarder.fallbacks},"
                f"stream={forwarder.stream_kind or 'none'}",
            ),
        ]  # fmt: skip
        for n in sorted(transport.peers()):
            stats = transport.peer_stats(n)
            if stats is not None:
                rows.append((
                    f"transport_peer{n}",
                    f"sent_msgs={stats.sent_msgs},sent_frames={stats.sent_batches},"
                    f"dropped={stats.dropped_msgs},stream={stats.stream or 'down'}",
                ))  # fmt: skip
        return rows

    def _peers_rows(self) -> Rows:
        raw = self.server.node.raw
        if raw.role() is not StateRole.LEADER:
            return []
        rows: Rows = []
        for n, progress in sorted(raw.raft.progress.items()):
            if n == raw.id:
                continue
            lag = raw.last_index() - progress.match
            rows.append(
                (f"peer{n}", f"match_index={progress.match},lag={lag},state={progress.state.value}")
            )
        return rows


def install_error_counter(stats: Stats) -> None:
    """Count every error reply this process encodes in `stats` (one server per process).
    Errors nested in an array (EXEC, a script) count too, as in Redis. A write a follower
    relays is answered, and its error counted, by the leader that ran it."""
    encoder.error_observer = stats.count_error


def _expires(slot: int, view: KeyspaceView, now_ms: int) -> tuple[int, int]:
    """Keys of one database with a TTL, read from the expiry index (see `EXPIRES_WALK_MAX`),
    and their mean remaining TTL in ms (expired keys not deleted yet count, without a TTL)."""
    lo, hi = L.expiry_slot_range(slot)
    count = ttl_sum = ttl_samples = 0
    offset = L.EXPIRY_KEY_OFFSET
    for ikey, _value in view.iterate_kv(lo, hi):
        count += 1
        ttl = int.from_bytes(ikey[offset - 8 : offset], "big") - now_ms
        if ttl > 0:
            ttl_sum += ttl
            ttl_samples += 1
        if count >= EXPIRES_WALK_MAX:
            break
    return count, ttl_sum // ttl_samples if ttl_samples else 0


def _last_heard_s(server: Server) -> int:
    """Seconds since a follower last heard from its leader: the core's election clock (reset
    by every message from the leader), in ticks."""
    ticks = server.node.raw.raft.election_elapsed
    return int(ticks * server.config.tick_interval_ms / 1000)


def _total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0
