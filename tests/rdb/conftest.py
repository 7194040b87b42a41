"""Real servers for the `load-rdb` tests: Seshat nodes from tests/server's fixtures, and
redis-servers (the source of real RDB files, and a second target) from tests/server/wire.py."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster.conftest import start_cluster  # noqa: F401 (fixture)
from tests.server.conftest import seshat_server, start_seshat  # noqa: F401 (fixtures)
from tests.server.wire import start_redis_server

_redis_server = contextlib.contextmanager(start_redis_server)


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """Start a redis-server on a free port (its own dir), loading `rdb` if given (as its
    `dump.rdb`); every one is stopped at the end."""
    with contextlib.ExitStack() as running:
        count = 0

        def start(rdb: Path | None = None) -> int:
            nonlocal count
            count += 1
            workdir = tmp_path / f"redis{count}"
            workdir.mkdir()
            if rdb is not None:
                shutil.copyfile(rdb, workdir / "dump.rdb")
            return running.enter_context(_redis_server(workdir))

        yield start
