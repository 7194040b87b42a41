"""Wiring and lifecycle of one node: RocksDB, the Raft log, the state machine, the Raft driver
and the RESP listener, started and stopped in a fixed order (after uvicorn's server.py).

Start: open RocksDB, check the data dir belongs to this node, bootstrap a new group if the log
is empty, start the driver, listen. Stop: close the listener, let connections finish what they
have in flight (bounded by `timeout_graceful_shutdown_s`), stop the driver, flush and close
RocksDB. The Ready-handling adapters between the driver and storage/kv live here too: they are
the only place that knows both sides.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from seshat import __version__, logs
from seshat.acl.state import NodeAcl
from seshat.admin import Admin
from seshat.blocking import Blocking
from seshat.client import ClientConnection, dropped_reply, failure_reply
from seshat.client_controls import ClientPause
from seshat.cluster import Cluster, SnapshottingLogStorage, import_state
from seshat.command_timing import CommandTiming
from seshat.command_timing import config_params as timing_config_params
from seshat.command_timing import settable_params as timing_settable_params
from seshat.config import NodeConfig
from seshat.config_params import RedisParams
from seshat.info_sections import InfoSections, Stats, install_error_counter
from seshat.kv import errors as E
from seshat.kv import notify as N
from seshat.kv import objects
from seshat.kv.service import KVService
from seshat.kv.state_machine import StateMachine
from seshat.latency import LatencyMonitor
from seshat.monitor import Monitors
from seshat.open_files import MAXCLIENTS_MAX, fit_maxclients
from seshat.protocol.replies import ErrorReply, Reply
from seshat.pubsub import PubSub
from seshat.raft.core import Config as RaftConfig
from seshat.raft.core import ProposalDropped
from seshat.raft.node import NoTransport, RaftNode
from seshat.raft.rawnode import RawNode, Ready
from seshat.raft.types import ConfState, Entry, EntryType, Snapshot, SoftState, StateRole
from seshat.rdb.export import remove_leftovers
from seshat.slowlog import SlowLog
from seshat.storage.engine import METADATA, Engine
from seshat.storage.raft_log import RocksLogStorage
from seshat.tracking import Tracking

NODE_ID_KEY = b"node_id"
CLUSTER_ID_KEY = b"cluster_id"


class DataDirMismatch(Exception):
    """The data dir belongs to another node or cluster: refuse it rather than reuse it."""


class RocksDurableLog:
    """`DurableLog` for the driver: one Ready is one RocksDB batch and at most one fsync."""

    def __init__(self, engine: Engine, storage: RocksLogStorage) -> None:
        self.engine = engine
        self.storage = storage

    def stage(self, rd: Ready) -> None:
        batch = self.engine.batch()
        if rd.snapshot is not None:
            self.storage.apply_snapshot(batch, rd.snapshot.metadata)
        if rd.entries:
            self.storage.append(batch, rd.entries)
        if rd.hard_state is not None:
            self.storage.set_hard_state(batch, rd.hard_state)
        self.engine.write(batch)

    def sync(self) -> None:
        self.engine.flush_wal()


class KVApplier:
    """`Applier` for the driver: committed entries into kv's state machine, in one batch."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def apply(self, entries: list[Entry]) -> list[Any]:
        batch: list[tuple[int, bytes]] = []
        conf_entries = []
        for entry in entries:
            if entry.type is EntryType.NORMAL:
                batch.append((entry.index, entry.data))
            else:
                conf_entries.append(entry)
                batch.append((entry.index, b""))  # membership is the core's; kv skips it
        state_machine = self.server.state_machine
        state_machine.slow_ns = self.server.timing.apply_floor_ns
        results = state_machine.apply_batch(batch)
        if state_machine.last_slow:
            self.server.timing.observe_applied(state_machine.last_slow)
        self.server.blocking.notify(state_machine.last_touched, state_machine.last_flushed)
        if state_machine.last_expired:  # INFO expired_keys: one add per batch
            self.server.stats.expired_keys += len(state_machine.last_expired)
        self.server.tell_clients(state_machine)
        self.server.monitors.feed_script_calls()  # MONITOR's `[db lua]` lines, if any
        if state_machine.last_acl_changed:  # ACL SETUSER/DELUSER: this node's users and clients
            self.server.acl.on_applied(state_machine.view, state_machine.last_acl_changed)
        cluster = self.server.cluster
        if cluster is not None:
            for entry in conf_entries:
                cluster.on_conf_change(entry)
        return results

    def install_snapshot(self, snapshot: Snapshot) -> None:
        """Replace the whole state machine with the leader's (a follower far behind)."""
        server = self.server
        assert server.engine is not None
        import_state(server.engine, snapshot.data)
        server.reload_state_machine()
        assert server.state_machine.applied_index() == snapshot.metadata.index, (
            server.state_machine.applied_index(),
            snapshot.metadata.index,
        )
        server.log.info("snapshot_installed", index=snapshot.metadata.index)


class Server:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.log = logs.get("seshat")
        self.stats = Stats(started_s=time.monotonic())
        self.clients: dict[int, ClientConnection] = {}
        self.info = InfoSections(self)  # INFO, and its 100 ms rate sampler
        install_error_counter(self.stats)  # INFO errorstats: counted as errors are encoded
        self.admin = Admin(self)
        self.acl = NodeAcl(self, lambda: self.config.requirepass)  # users: seshat/acl
        self.blocking = Blocking(self)  # clients parked in BLPOP & co. (leader only)
        self.pubsub = PubSub()  # this node's subscribers; messages are not replicated
        self.tracking = Tracking(self)  # CLIENT TRACKING of this node's clients
        self.monitors = Monitors()  # connections in MONITOR mode
        self.slowlog = SlowLog()  # SLOWLOG, the latency monitor and histograms: this node's
        self.latency = LatencyMonitor()
        self.timing = CommandTiming(self.slowlog, self.latency)  # client.py's timing hook
        self.redis_params = RedisParams()  # Redis's parameters Seshat only remembers
        objects.zset_listpack_entries = lambda: int(
            self.redis_params.get("zset-max-listpack-entries")
        )
        self.last_save_s = int(time.time())  # LASTSAVE: start-up, log compaction, SAVE
        self.client_pause = ClientPause()  # CLIENT PAUSE: this node's clients only
        # notify-keyspace-events as Redis's bits (seshat/kv/notify.py); this node's own setting
        self.notify_flags = N.parse_flags(config.notify_keyspace_events.encode()) or 0
        self.engine: Engine | None = None
        self._listener: asyncio.AbstractServer | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._stopped = asyncio.Event()
        self.exit_code = 0
        self.role = StateRole.FOLLOWER
        self.cluster_id = ""
        self.cluster: Cluster | None = None
        self.background: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ lifecycle

    async def startup(self) -> None:
        config = self.config
        os.makedirs(config.data_dir, exist_ok=True)
        remove_leftovers(config.data_dir)  # an RDB export's checkpoint, if the process died
        engine = Engine.open(os.path.join(config.data_dir, "db"))
        self.engine = engine
        try:
            expected_cluster = _cluster_id(config.peers)
            if config.join:
                expected_cluster = await self._discover_cluster_id(engine)
            self.cluster_id = self._claim_data_dir(engine, expected_cluster)
        except DataDirMismatch:
            engine.close()
            raise
        clustered = bool(config.peers) or config.join
        if clustered:
            self.cluster = Cluster(self)
            self.log_storage = SnapshottingLogStorage(engine, self.cluster.describe_snapshot)
        else:
            self.log_storage = RocksLogStorage(engine)
        if self.log_storage.last_index() == 0 and not config.join:
            voters = tuple(sorted(config.peers)) or (config.node_id,)
            batch = engine.batch()
            self.log_storage.bootstrap(batch, ConfState(voters, ()))
            engine.write(batch)
            engine.flush_wal()
        self.state_machine = StateMachine(engine)
        self.state_machine.notify_classes = N.emitted_classes(self.notify_flags)
        self.kv = KVService(self.state_machine, _wall_clock_ms)
        self.kv.after_script_read = self.monitors.feed_script_calls
        self.acl.load(self.state_machine.view)
        raft_config = RaftConfig(
            id=config.node_id,
            rng=random.Random(os.urandom(16)),  # the core only sees the generator
            election_ticks=config.election_ticks,
            applied=self.state_machine.applied_index(),
            logger=logs.get("seshat.raft"),
        )
        raw = RawNode(raft_config, self.log_storage)
        transport: Any = NoTransport()
        if self.cluster is not None:
            transport = self.cluster.make_transport()
        self.node = RaftNode(
            raw,
            RocksDurableLog(engine, self.log_storage),
            KVApplier(self),
            transport,
            tick_interval_ms=config.tick_interval_ms,
            on_role_change=self._on_role_change,
            on_failure=self._on_node_failure,
        )
        if self.cluster is not None:
            await transport.start()
        self.node.start()
        if raw.conf_state().voters == (config.node_id,):
            raw.campaign()  # a lone voter need not wait an election timeout
        fitted = fit_maxclients(config.maxclients)
        if fitted != config.maxclients:
            self.log.warning(
                "maxclients_lowered",
                wanted=config.maxclients,
                maxclients=fitted,
                reason="the open-file limit (ulimit -n) allows no more",
            )
            config.maxclients = fitted
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            lambda: ClientConnection(self), config.bind, config.port, reuse_address=True
        )
        if self.cluster is not None:
            self.cluster.client_addresses[config.node_id] = self.cluster.own_client_address()
        self._schedule_maintenance()
        self.info.start()
        self.log.info(
            "seshat_started",
            version=__version__,
            node_id=config.node_id,
            address=f"{config.bind}:{self.port}",
            raft_port=config.raft_port,
            data_dir=os.path.abspath(config.data_dir),
            cluster_id=self.cluster_id,
            role=self.role.value,
            voters=list(raw.conf_state().voters),
        )

    @property
    def port(self) -> int:
        if self._listener is None or not self._listener.sockets:
            return self.config.port
        return int(self._listener.sockets[0].getsockname()[1])

    async def _discover_cluster_id(self, engine: Engine) -> str:
        """A joining node takes the id of the cluster it joins: stored, or asked of a peer."""
        stored = engine.get(METADATA, CLUSTER_ID_KEY)
        if stored:
            return stored.decode()
        from seshat.transport.client import PeerClient

        for node_id, address in sorted(self.config.peers.items()):
            if node_id == self.config.node_id:
                continue
            try:
                async with PeerClient.connect(address, timeout_s=2.0) as client:
                    status = await client.status()
            except Exception:
                continue
            if status.cluster_id:
                return status.cluster_id
        raise DataDirMismatch("--join: no peer answered with its cluster id; is the cluster up?")

    def _claim_data_dir(self, engine: Engine, expected_cluster: str) -> str:
        """Stamp a new data dir with our node id; refuse one stamped by another node."""
        config = self.config
        stored_node = engine.get(METADATA, NODE_ID_KEY)
        stored_cluster = engine.get(METADATA, CLUSTER_ID_KEY)
        if stored_node is None:
            cluster = expected_cluster or uuid.uuid4().hex
            batch = engine.batch()
            batch.put(METADATA, NODE_ID_KEY, str(config.node_id).encode())
            batch.put(METADATA, CLUSTER_ID_KEY, cluster.encode())
            engine.write(batch)
            engine.flush_wal()
            return cluster
        if int(stored_node) != config.node_id:
            raise DataDirMismatch(
                f"data dir {config.data_dir!r} belongs to node {int(stored_node)}, "
                f"not node {config.node_id}; use that node id or another data dir"
            )
        cluster = (stored_cluster or b"").decode()
        if expected_cluster and cluster != expected_cluster:
            raise DataDirMismatch(
                f"data dir {config.data_dir!r} belongs to cluster {cluster}, not to the "
                f"cluster of --peers (id {expected_cluster}); refusing to reuse it"
            )
        return cluster

    async def serve_forever(self) -> None:
        await self._stopped.wait()

    def request_stop(self) -> None:
        self._stopped.set()

    async def shutdown(self) -> None:
        config = self.config
        for timer in self._timers:
            timer.cancel()
        self.info.stop()
        if self._listener is not None:
            self._listener.close()
        deadline = time.monotonic() + config.timeout_graceful_shutdown_s
        while any(c._pending for c in self.clients.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.cluster is not None and hasattr(self, "node"):
            await self.cluster.hand_off_leadership()
        for client in list(self.clients.values()):
            client.kill()
        if hasattr(self, "node"):
            await self.node.stop()
        for task in list(self.background):
            task.cancel()
        if self.cluster is not None:
            await self.cluster.stop()
        if self.engine is not None:
            try:
                self.engine.close()
            except Exception as error:  # noqa: BLE001 (the node stops either way; say so)
                self.log.error("engine_close_failed", error=f"{type(error).__name__}: {error}")
                self.exit_code = 1
            self.engine = None
        self.log.info("seshat_stopped", node_id=config.node_id, exit_code=self.exit_code)

    def reload_state_machine(self) -> None:
        """After a snapshot replaced the state in RocksDB: rebuild kv's view of it."""
        assert self.engine is not None
        self.state_machine = StateMachine(self.engine)
        self.state_machine.notify_classes = N.emitted_classes(self.notify_flags)
        self.kv.state_machine = self.state_machine
        self.acl.load(self.state_machine.view)

    def tell_clients(self, state_machine: StateMachine) -> None:
        """What this node's clients hear about an applied batch: keyspace notifications and
        CLIENT TRACKING invalidations. Best effort, as in Redis: a failure here is logged and
        never stops the node (the batch is applied and durable whatever happens here)."""
        try:
            if state_machine.last_events:
                self.publish_events(state_machine.last_events)
            if self.tracking.clients:
                self.tracking.invalidate(
                    state_machine.last_touched, state_machine.last_expired,
                    state_machine.last_flushed, state_machine.applied_index(),
                )  # fmt: skip
        except Exception:
            self.log.exception("client_notification_failed")

    def publish_events(self, events: list[tuple[bytes, int, bytes]]) -> None:
        """Tell this node's subscribers what the last applied batch did (keyspace
        notifications: every node applies every entry, so none is passed to another node)."""
        flags = self.notify_flags
        deliver = self.pubsub.deliver
        for event, db, key in events:
            for channel, message in N.channels(flags, event, db, key):
                deliver(channel, message, False)

    def moved_reply(self, argv: list[bytes]) -> ErrorReply:
        """Redirect mode: `-MOVED <slot> <leader host:port>`, as a Redis Cluster replica."""
        from seshat.kv.commands import get_keys, lookup
        from seshat.kv.slots import key_slot

        assert self.cluster is not None
        address = self.cluster.leader_client_address()
        if not address:
            return E.CLUSTERDOWN_NO_LEADER
        spec = lookup(argv[0])
        keys = get_keys(spec, argv) if spec is not None else []
        slot = key_slot(keys[0]) if keys else 0
        return ErrorReply(f"MOVED {slot} {address}")

    # ------------------------------------------------------------------ background work

    def _schedule_maintenance(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.config.active_expire_interval_ms / 1000
        self._timers = [loop.call_later(interval, self._maintain)]

    def _maintain(self) -> None:
        """Active expiry and collection GC (leader only: followers never delete on their own;
        both go through the log, see `seshat/kv/gc.py`) and compaction."""
        if self._stopped.is_set() or self.engine is None:
            return
        try:
            if self.node.is_leader():
                now_ms = _wall_clock_ms()
                for data in (
                    self.kv.active_expire_sample(now_ms),
                    self.kv.gc_sample(now_ms),
                ):
                    if data is None:
                        continue
                    try:
                        self.node.propose(data)
                    except ProposalDropped:
                        pass
            if self.cluster is not None:
                self.cluster.maybe_promote_learners()
            self._maybe_compact()
        finally:
            self._schedule_maintenance()

    def _maybe_compact(self) -> None:
        """Truncate the log once it is long: the state machine in RocksDB is the snapshot."""
        storage = self.log_storage
        applied = self.state_machine.applied_index()
        if applied - storage.first_index() < self.config.log_compact_entries_max:
            return
        raw = self.node.raw
        if raw.committed() != applied:
            return  # a conf change may sit between applied and committed: wait for quiet
        assert self.engine is not None
        batch = self.engine.batch()
        # Written after the apply batches it covers, so a synced compaction implies them too.
        storage.compact(batch, applied, raw.conf_state())
        self.engine.write(batch)
        self.last_save_s = int(time.time())
        self.log.info("log_compacted", index=applied, first_index=storage.first_index())

    def _on_node_failure(self, error: BaseException) -> None:
        """The Raft driver stopped (the disk refused a write, or a bug): so does the node.

        A node that stayed up without its driver would answer PING and hang every write. Its
        peers elect a leader without it; a restart (once the disk has room) replays its log.
        """
        self.log.critical(
            "node_failed",
            node_id=self.config.node_id,
            error=f"{type(error).__name__}: {error}",
            data_dir=os.path.abspath(self.config.data_dir),
            exc_info=error,
        )
        self.exit_code = 1
        self.request_stop()

    def _on_role_change(self, soft: SoftState, term: int) -> None:
        if self.cluster is not None and soft.leader_id:
            task = asyncio.get_running_loop().create_task(self.cluster.refresh_client_addresses())
            self.background.add(task)
            task.add_done_callback(self.background.discard)
        self.role = soft.role
        if soft.role is not StateRole.LEADER:
            self.blocking.fail_all(E.CLUSTERDOWN_NO_LEADER)
        self.log.info("role_changed", role=soft.role.value, term=term, leader_id=soft.leader_id)

    # ------------------------------------------------------------------ replies for failures

    def dropped_reply(self, dropped: ProposalDropped) -> ErrorReply:
        return dropped_reply(dropped)

    def failure_reply(self, error: BaseException) -> Reply:
        return failure_reply(error)

    # ------------------------------------------------------------------ INFO and CONFIG

    def info_sections(self) -> dict[str, Callable[[], list[tuple[str, object]]]]:
        return self.info.sections()  # INFO's sections: seshat/info_sections.py

    def config_params(self) -> dict[str, Callable[[], str]]:
        """Every parameter CONFIG GET knows: Redis's (config_params.py), then Seshat's own."""
        return {**self._redis_params_getters(), **self._own_config_params()}

    def _redis_params_getters(self) -> dict[str, Callable[[], str]]:
        get = self.redis_params.get
        return {name: functools.partial(get, name) for name in self.redis_params.names()}

    def _own_config_params(self) -> dict[str, Callable[[], str]]:
        c = self.config
        return {
            "bind": lambda: c.bind,
            "port": lambda: str(self.port),
            "requirepass": lambda: c.requirepass,
            "maxclients": lambda: str(c.maxclients),
            "databases": lambda: "16",
            "save": lambda: "",
            "appendonly": lambda: "no",
            "appendfsync": lambda: "always",
            "maxmemory": lambda: "0",
            "maxmemory-policy": lambda: "noeviction",
            "proto-max-bulk-len": lambda: "536870912",
            "notify-keyspace-events": lambda: N.format_flags(self.notify_flags),
            "client-query-buffer-limit": lambda: "1073741824",
            "dir": lambda: os.path.abspath(c.data_dir),
            "raft-port": lambda: str(c.raft_port),
            "raft-stream-port": lambda: str(self._raft_stream_port()),
            "raft-tick-interval-ms": lambda: str(c.tick_interval_ms),
            "raft-log-compact-entries-max": lambda: str(c.log_compact_entries_max),
            **timing_config_params(self.timing),
        }

    def _raft_stream_port(self) -> int:
        """Where peers' Raft streams arrive: the port listened on, else as configured (-1)."""
        cluster = self.cluster
        transport = cluster.transport if cluster is not None else None
        if transport is not None and transport.stream_port:
            return transport.stream_port
        return self.config.raft_stream_port

    def settable_params(self) -> dict[str, Callable[[bytes], ErrorReply | None]]:
        """What CONFIG SET may change: Seshat's own setters; Redis's parameters that Seshat
        reports but decides itself take only their current value; the rest are remembered."""
        own = self._own_setters()
        values = self.redis_params
        params: dict[str, Callable[[bytes], ErrorReply | None]] = {}
        getters = self._own_config_params()
        for name in values.names():
            current = getters.get(name)
            fixed = None if current is None else current()
            params[name] = functools.partial(values.set, name, fixed=fixed)
        return {**params, **own}

    def _own_setters(self) -> dict[str, Callable[[bytes], ErrorReply | None]]:
        def set_requirepass(value: bytes) -> ErrorReply | None:
            self.config.requirepass = value.decode(errors="replace")
            self.acl.requirepass_changed()
            return None

        def set_compact(value: bytes) -> ErrorReply | None:
            try:
                number = int(value)
            except ValueError:
                number = -1
            if number < 1:
                return E.config_set_failed(
                    "raft-log-compact-entries-max", "argument must be a positive integer"
                )
            self.config.log_compact_entries_max = number
            return None

        def set_notify_keyspace_events(value: bytes) -> ErrorReply | None:
            flags = N.parse_flags(value)
            if flags is None:
                return E.config_set_failed("notify-keyspace-events", N.INVALID_FLAGS)
            self.notify_flags = flags
            self.state_machine.notify_classes = N.emitted_classes(flags)
            return None

        def set_maxclients(value: bytes) -> ErrorReply | None:
            try:
                number = int(value)
            except ValueError:
                return E.config_set_failed(
                    "maxclients", "argument couldn't be parsed into an integer"
                )
            if not 1 <= number <= MAXCLIENTS_MAX:
                return E.config_set_failed(
                    "maxclients", f"argument must be between 1 and {MAXCLIENTS_MAX} inclusive"
                )
            fitted = fit_maxclients(number)
            if fitted != number:
                return E.config_set_failed(
                    "maxclients",
                    "The operating system is not able to handle the specified number of "
                    f"clients, try with {fitted}",
                )
            self.config.maxclients = number
            return None

        return {
            "requirepass": set_requirepass,
            "maxclients": set_maxclients,
            "notify-keyspace-events": set_notify_keyspace_events,
            "raft-log-compact-entries-max": set_compact,
            **timing_settable_params(self.timing),
        }


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _cluster_id(peers: dict[int, str]) -> str:
    """A cluster started from the same --peers gets the same id on every member."""
    if not peers:
        return ""
    text = ",".join(f"{node}={address}" for node, address in sorted(peers.items()))
    return uuid.uuid5(uuid.NAMESPACE_URL, "seshat:" + text).hex
