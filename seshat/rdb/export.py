"""The node's state as an RDB file, made without stopping the node (`SYNC`, `redis-cli --rdb`).

Why a checkpoint. A file of a large keyspace takes seconds of Python to write; written on the
event loop it would hold every client and, on a leader, the heartbeats (followers would elect
another leader). Read live from a worker thread it would mix states, since the loop keeps
applying. So the worker thread takes a RocksDB checkpoint first (hard links to the SST files:
one consistent state, between two applied batches), opens it as a database of its own, and
writes the file from that, while the loop goes on. The file goes to disk, a key at a time, and
is sent from there in pieces, so neither a large keyspace nor a slow reader holds it in memory.
The checkpoint and the file live under the node's data dir (hard links need the same file
system); the checkpoint is removed once the file is written, the file once it is sent, and
both at the node's next start if the process died meanwhile.

What the file holds is at least as new as the caller's read point: the caller waits for one
(`node.read_barrier()`), so every write acknowledged before SYNC arrived is in it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Final

from seshat.kv.keyspace import KeyspaceView
from seshat.kv.state_machine import stored_db_map
from seshat.rdb.writer import write_rdb
from seshat.storage.engine import Engine

EXPORT_DIR: Final = "rdb-export"


def remove_leftovers(data_dir: str) -> None:
    """Checkpoints an export left behind when the process died (no export runs yet)."""
    shutil.rmtree(os.path.join(data_dir, EXPORT_DIR), ignore_errors=True)


def export_rdb(
    engine: Engine, data_dir: str, now_ms: int, used_memory: int, functions_only: bool
) -> tuple[str, int]:
    """The RDB file of `engine`'s state now, as (its path, its size): the caller sends it and
    then removes it. Blocking: run it with `asyncio.to_thread`."""
    root = os.path.join(data_dir, EXPORT_DIR)
    os.makedirs(root, exist_ok=True)
    path = tempfile.mkdtemp(dir=root)
    os.rmdir(path)  # a name of our own; the checkpoint must create the directory itself
    rdb_path = path + ".rdb"
    try:
        engine.checkpoint(path)
        copy = Engine.open(path)
        try:
            view = KeyspaceView(copy, stored_db_map(copy))
            with open(rdb_path, "wb") as out:
                size = write_rdb(view, now_ms, out, used_memory, functions_only)
        finally:
            copy.close()
    except BaseException:
        remove_file(rdb_path)
        raise
    finally:
        shutil.rmtree(path, ignore_errors=True)
    return rdb_path, size


def remove_file(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
