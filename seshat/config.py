"""Node settings: command-line flags, each with a `SESHAT_*` environment variable.

A flag wins over its variable, which wins over the default. Names carry their unit
(`tick_interval_ms`, `log_compact_entries_max`) as CONVENTIONS.md asks.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from seshat.kv.notify import INVALID_FLAGS, parse_flags
from seshat.open_files import MAXCLIENTS_MAX


@dataclass(slots=True)
class NodeConfig:
    bind: str = "127.0.0.1"
    port: int = 6379
    raft_port: int = 7379
    raft_stream_port: int = 0  # plain TCP for peers' Raft/forward streams: 0 any port, -1 none
    data_dir: str = "./seshat-data"
    node_id: int = 1
    requirepass: str = ""
    maxclients: int = 10_000
    log_level: str = "info"
    log_format: str = "console"
    peers: dict[int, str] = field(default_factory=dict)  # node id -> host:raft_port
    advertise: str = ""  # host:port clients should use to reach this node
    tick_interval_ms: int = 100
    election_ticks: int = 10
    log_compact_entries_max: int = 100_000
    active_expire_interval_ms: int = 100
    timeout_graceful_shutdown_s: float = 5.0
    redirect: bool = False  # followers answer -MOVED instead of forwarding
    join: bool = False  # start empty; the leader adds this node (no bootstrap)
    notify_keyspace_events: str = ""  # Redis's flag letters, e.g. "KEA" (empty: none)


_FLAGS: list[tuple[str, str, type, str]] = [
    ("bind", "SESHAT_BIND", str, "address to listen on for Redis clients"),
    ("port", "SESHAT_PORT", int, "RESP port for Redis clients"),
    ("raft_port", "SESHAT_RAFT_PORT", int, "gRPC port for the other nodes"),
    (
        "raft_stream_port",
        "SESHAT_RAFT_STREAM_PORT",
        int,
        (
            "plain TCP port where the other nodes' Raft streams and forwarded writes arrive, "
            "found through the gRPC port (0: any free port; -1: none, they use gRPC streams)"
        ),
    ),
    ("data_dir", "SESHAT_DATA_DIR", str, "directory of this node's RocksDB"),
    ("node_id", "SESHAT_NODE_ID", int, "this node's id (a positive integer, fixed for life)"),
    ("requirepass", "SESHAT_REQUIREPASS", str, "password clients must AUTH with (empty: none)"),
    (
        "maxclients",
        "SESHAT_MAXCLIENTS",
        int,
        "most client connections at once (lowered to fit the open-file limit, as Redis does)",
    ),
    (
        "notify_keyspace_events",
        "SESHAT_NOTIFY_KEYSPACE_EVENTS",
        str,
        "keyspace notifications to publish, as Redis's notify-keyspace-events (e.g. KEA)",
    ),
    ("log_level", "SESHAT_LOG_LEVEL", str, "debug, info, warning or error"),
    ("log_format", "SESHAT_LOG_FORMAT", str, "console (for a person) or json (for machines)"),
    ("tick_interval_ms", "SESHAT_TICK_INTERVAL_MS", int, "length of one Raft tick"),
    ("election_ticks", "SESHAT_ELECTION_TICKS", int, "election timeout, in ticks"),
    (
        "log_compact_entries_max",
        "SESHAT_LOG_COMPACT_ENTRIES_MAX",
        int,
        "snapshot and truncate the Raft log once it holds more entries than this",
    ),
]


def parse_peers(text: str) -> dict[int, str]:
    """`1=127.0.0.1:7379,2=127.0.0.1:7380` -> {1: "127.0.0.1:7379", 2: ...}."""
    peers: dict[int, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        node, sep, address = item.partition("=")
        if not sep or not node.isdigit() or ":" not in address:
            raise ValueError(f"bad peer {item!r}: expected ID=HOST:PORT")
        peers[int(node)] = address
    return peers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seshat",
        description="A Redis-compatible key-value server replicated by Raft and stored in RocksDB.",
        epilog="Every flag can also be set with the environment variable shown in brackets.",
    )
    defaults = NodeConfig()
    for name, env, kind, help_text in _FLAGS:
        default = getattr(defaults, name)
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=kind,
            default=None,
            help=f"{help_text} [{env}] (default: {default!r})",
        )
    parser.add_argument(
        "--peers",
        default=None,
        help="initial cluster members as ID=HOST:RAFT_PORT,... (default: a single node) [SESHAT_PEERS]",
    )
    parser.add_argument(
        "--join",
        action="store_true",
        default=None,
        help="start empty and wait to be added by the leader (RAFT.NODE ADD) instead of "
        "bootstrapping a new cluster [SESHAT_JOIN]",
    )
    parser.add_argument(
        "--redirect",
        action="store_true",
        default=None,
        help="followers answer -MOVED to the leader instead of forwarding [SESHAT_REDIRECT]",
    )
    parser.add_argument(
        "--advertise",
        default=None,
        help="HOST:PORT clients should use to reach this node [SESHAT_ADVERTISE]",
    )
    return parser


def load(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> NodeConfig:
    env = os.environ if environ is None else environ
    args = build_parser().parse_args(argv)
    config = NodeConfig()
    for name, env_name, kind, _ in _FLAGS:
        value = getattr(args, name)
        if value is None and env_name in env:
            value = kind(env[env_name])
        if value is not None:
            setattr(config, name, value)
    peers = args.peers if args.peers is not None else env.get("SESHAT_PEERS", "")
    config.peers = parse_peers(peers)
    advertise = args.advertise if args.advertise is not None else env.get("SESHAT_ADVERTISE", "")
    config.advertise = advertise
    config.join = bool(args.join) or env.get("SESHAT_JOIN", "") in ("1", "true", "yes")
    config.redirect = bool(args.redirect) or env.get("SESHAT_REDIRECT", "") in ("1", "true", "yes")
    validate(config)
    return config


def validate(config: NodeConfig) -> None:
    if config.node_id <= 0:
        raise ValueError(f"--node-id must be a positive integer, not {config.node_id}")
    if config.log_format not in ("console", "json"):
        raise ValueError(f"--log-format must be console or json, not {config.log_format!r}")
    if config.log_level not in ("debug", "info", "warning", "error"):
        raise ValueError(
            f"--log-level must be debug, info, warning or error, not {config.log_level!r}"
        )
    if not 1 <= config.maxclients <= MAXCLIENTS_MAX:
        raise ValueError(
            f"--maxclients must be between 1 and {MAXCLIENTS_MAX}, not {config.maxclients}"
        )
    if parse_flags(config.notify_keyspace_events.encode()) is None:
        raise ValueError(f"--notify-keyspace-events: {INVALID_FLAGS}")
    for port_name in ("port", "raft_port"):
        port = getattr(config, port_name)
        if not 0 <= port <= 65535:
            raise ValueError(f"--{port_name.replace('_', '-')} out of range: {port}")
    if not -1 <= config.raft_stream_port <= 65535:
        raise ValueError(f"--raft-stream-port out of range: {config.raft_stream_port}")
    if config.peers and config.node_id not in config.peers:
        raise ValueError(f"--node-id {config.node_id} is not among --peers {sorted(config.peers)}")
