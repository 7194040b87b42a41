"""Two generations of redis-py against one Seshat node: the current one (8.x, which opens every
connection with `HELLO 3`) sync and asyncio, and redis-py 5.x with `protocol=2`, as an older
application would run it. All run the same workload (`redis_py_workload.py`).

redis-py 5 cannot share a process with 8, so it is installed into `.venv/redis5` (by
`scripts/setup --test`, or here on first use) and the workload runs in a subprocess with
PYTHONPATH pointing there. The test skips, saying why, only if that install is impossible.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.server import redis_py_workload
from tests.server.conftest import SeshatProcess

ROOT = Path(__file__).resolve().parents[2]
REDIS5_DIR = ROOT / ".venv" / "redis5"
WORKLOAD = Path(redis_py_workload.__file__)


def _redis5_path() -> Path:
    """`.venv/redis5` holding redis-py 5.x, installed now if missing; skip if impossible."""
    if not (REDIS5_DIR / "redis" / "__init__.py").exists():
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(REDIS5_DIR),
             "redis>=5,<6"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if result.returncode != 0:
            pytest.skip(f"cannot install redis-py 5 into {REDIS5_DIR}: {result.stderr[-500:]}")
    return REDIS5_DIR


def test_current_redis_py_is_resp3_by_default() -> None:
    assert int(redis.__version__.split(".")[0]) >= 8, redis.__version__


@pytest.mark.parametrize("protocol", [3, 2])
def test_current_redis_py_sync(seshat_server: SeshatProcess, protocol: int) -> None:
    redis_py_workload.run_sync(seshat_server.port, protocol)


@pytest.mark.parametrize("protocol", [3, 2])
async def test_current_redis_py_asyncio(seshat_server: SeshatProcess, protocol: int) -> None:
    await redis_py_workload.run_asyncio(seshat_server.port, protocol)


@pytest.mark.parametrize("mode", ["sync", "asyncio"])
def test_redis_py_5_resp2(seshat_server: SeshatProcess, mode: str) -> None:
    path = _redis5_path()
    env = dict(os.environ, PYTHONPATH=str(path))
    result = subprocess.run(
        [sys.executable, str(WORKLOAD), str(seshat_server.port), "2", mode],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(path),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok redis-py 5."), result.stdout
