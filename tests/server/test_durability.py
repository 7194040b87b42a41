"""An acknowledged write survives `kill -9` at any moment: the node replays from its log.

Writers run concurrently while the process is killed mid-load; after a restart on the same
data dir every write that was acknowledged must be there. Writes that were in flight may or
may not be (their clients saw a broken connection, not an OK).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import redis

from tests.server.conftest import SeshatProcess


def _writer(port: int, prefix: str, acked: list[str], stop: threading.Event) -> None:
    client = redis.Redis(port=port, socket_timeout=5, protocol=2)
    i = 0
    while not stop.is_set():
        key = f"{prefix}:{i}"
        try:
            if client.set(key, key.upper()):
                acked.append(key)
        except (redis.ConnectionError, redis.TimeoutError):
            return
        i += 1


def test_acknowledged_writes_survive_kill_9(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    node = start_seshat(data_dir=data_dir)
    stop = threading.Event()
    acked: dict[str, list[str]] = {f"w{i}": [] for i in range(8)}
    threads = [
        threading.Thread(target=_writer, args=(node.port, name, keys, stop), daemon=True)
        for name, keys in acked.items()
    ]
    for thread in threads:
        thread.start()
    # Kill once the load is well under way (bounded wait on a condition, not a sleep).
    for _ in range(2000):
        if sum(len(k) for k in acked.values()) >= 1500:
            break
        threading.Event().wait(0.01)
    node.kill()
    stop.set()
    for thread in threads:
        thread.join(10)
    total = sum(len(k) for k in acked.values())
    assert total >= 100, f"too few writes acknowledged before the kill: {total}"

    restarted = start_seshat(data_dir=data_dir, port=node.port)
    client = restarted.client(protocol=2)
    missing = []
    for keys in acked.values():
        values = client.mget(keys) if keys else []
        missing += [k for k, v in zip(keys, values) if v != k.upper().encode()]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
    # The node keeps working after recovery: new writes commit on top of the replayed log.
    assert client.set("after", "restart") and client.get("after") == b"restart"


def test_restart_replays_expiry_and_counters(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    node = start_seshat(data_dir=data_dir)
    client = node.client()
    for _ in range(50):
        client.incr("counter")
    client.set("volatile", "x", ex=1000)
    node.kill()
    restarted = start_seshat(data_dir=data_dir, port=node.port)
    client = restarted.client()
    assert client.get("counter") == b"50"
    assert 990 <= client.ttl("volatile") <= 1000


def test_log_is_compacted_and_state_survives_restart(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    node = start_seshat("--log-compact-entries-max", "50", data_dir=data_dir)
    client = node.client()
    for i in range(300):
        client.set(f"k{i}", i)
    first = 0
    for _ in range(100):  # compaction runs on the maintenance timer: poll, bounded
        first = int(client.info("raft")["first_log_index"])
        if first > 1:
            break
        threading.Event().wait(0.05)
    assert first > 1, "the log was never truncated"
    node.kill()
    restarted = start_seshat(data_dir=data_dir, port=node.port)
    client = restarted.client()
    assert client.dbsize() == 300
    assert client.get("k299") == b"299"


def test_active_expiry_deletes_keys_nobody_reads(seshat_server: SeshatProcess) -> None:
    client = seshat_server.client()
    for i in range(50):
        client.set(f"short{i}", i, px=50)
    client.set("long", "stays")
    for _ in range(200):
        if client.dbsize() == 1:
            break
        threading.Event().wait(0.05)
    assert client.dbsize() == 1  # only the active cycle (a proposed deletion) can do this
    assert client.get("long") == b"stays"
