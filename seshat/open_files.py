"""How many clients this process can hold open: `maxclients` against RLIMIT_NOFILE.

Redis raises its open-file limit at start to fit `maxclients` plus a few descriptors of its
own, and lowers `maxclients` (with a warning) when the hard limit will not allow it; a client
past `maxclients` is told `-ERR max number of clients reached`. Without this, a connection
past the limit would be reset by the event loop's accept (EMFILE) with no word to the client.

A node needs more descriptors of its own than Redis: RocksDB keeps its WAL, MANIFEST, info log
and every SST file open, and gRPC holds a socket, an eventfd and an epoll set per peer.
"""

from __future__ import annotations

import resource

RESERVED_FDS = 256
"""Descriptors kept for RocksDB, gRPC, the event loop and logs (Redis keeps 32)."""

MAXCLIENTS_MAX = 4294967295
"""Redis's upper bound for `maxclients` (flag and CONFIG SET alike)."""


def fit_maxclients(wanted: int) -> int:
    """Raise the soft open-file limit toward `wanted + RESERVED_FDS` (up to the hard limit)
    and return the most clients that fit, at most `wanted` and at least 1."""
    need = wanted + RESERVED_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - RESERVED_FDS))
