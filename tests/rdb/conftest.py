"""Real servers for the `load-rdb` tests: Seshat nodes from tests/server's fixtures, and
redis-servers (the source of real RDB files, and a second target) from tests/server/wire.py."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.server.conftest import seshat_server, start_seshat  # noqa: F401 (fixtures)
from tests.server.wire import start_redis_server

_redis_server = contextlib.contextmanager(start_redis_server)


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[Callable[[], int]]:
    """Start a redis-server on a free port (its own dir); every one is stopped at the end."""
    with contextlib.ExitStack() as running:
        count = 0

        def start() -> int:
            nonlocal count
            count += 1
            workdir = tmp_path / f"redis{count}"
            workdir.mkdir()
            return running.enter_context(_redis_server(workdir))

        yield start
