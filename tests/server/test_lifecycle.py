"""Process lifecycle: flags and environment, graceful shutdown, refusing a foreign data dir."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from seshat import config
from tests.server.conftest import SeshatProcess


def test_help_documents_every_flag_and_its_variable() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "seshat.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag, env in [
        ("--bind", "SESHAT_BIND"),
        ("--port", "SESHAT_PORT"),
        ("--raft-port", "SESHAT_RAFT_PORT"),
        ("--data-dir", "SESHAT_DATA_DIR"),
        ("--node-id", "SESHAT_NODE_ID"),
        ("--requirepass", "SESHAT_REQUIREPASS"),
        ("--log-level", "SESHAT_LOG_LEVEL"),
        ("--log-format", "SESHAT_LOG_FORMAT"),
        ("--maxclients", "SESHAT_MAXCLIENTS"),
    ]:
        assert flag in out and env in out, (flag, env)


def test_flags_override_environment_which_overrides_defaults() -> None:
    loaded = config.load(["--port", "7000"], {"SESHAT_PORT": "6000", "SESHAT_NODE_ID": "3"})
    assert loaded.port == 7000 and loaded.node_id == 3
    assert config.load([], {}).port == 6379
    with pytest.raises(ValueError, match="log-format"):
        config.load(["--log-format", "xml"], {})
    assert config.load([], {"SESHAT_MAXCLIENTS": "50"}).maxclients == 50
    with pytest.raises(ValueError, match="maxclients"):
        config.load(["--maxclients", "0"], {})


def test_sigterm_shuts_down_gracefully_and_data_survives(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    node = start_seshat("--log-format", "json", data_dir=data_dir)
    node.client().set("k", "v")
    assert node.terminate() == 0
    log = node.log()
    assert '"event": "seshat_started"' in log and '"event": "seshat_stopped"' in log
    again = start_seshat(data_dir=data_dir, port=node.port)
    assert again.client().get("k") == b"v"


def test_data_dir_of_another_node_is_refused(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    node = start_seshat("--node-id", "1", data_dir=data_dir)
    node.terminate()
    proc = subprocess.run(
        [sys.executable, "-m", "seshat.cli", "--node-id", "2", "--data-dir", str(data_dir),
         "--port", "0"],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 2
    assert "belongs to node 1" in proc.stderr


def test_one_start_line_and_nothing_per_command_at_info(
    start_seshat: Callable[..., SeshatProcess],
) -> None:
    node = start_seshat("--log-format", "json")
    client = node.client()
    for i in range(100):
        client.set(f"k{i}", i)
    node.terminate()
    lines = [line for line in node.log().splitlines() if line.startswith("{")]
    assert sum('"seshat_started"' in line for line in lines) == 1
    assert len(lines) < 10, lines


def test_port_in_use_fails_cleanly(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    node = start_seshat()
    proc = subprocess.run(
        [sys.executable, "-m", "seshat.cli", "--port", str(node.port),
         "--data-dir", str(tmp_path / "other"), "--raft-port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert "startup_failed" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "exit_code=1" in proc.stderr and "exit_code=0" not in proc.stderr, proc.stderr
