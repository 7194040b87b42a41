"""One client connection per worker, and the rule that turns each error into fail or info.

The checkers are only sound if ``fail`` means *definitely not applied* (`seshat.check.history`).
So an error is ``fail`` only when the command provably never ran:

- we could not connect, so nothing was sent;
- the server said so: ``-CLUSTERDOWN`` (no leader, never proposed) and ``-TRYAGAIN`` (dropped
  before proposing, or "was not committed ... and was not applied").

Everything else after the command was sent is ``info`` (may or may not have happened): a
timeout, a reset or closed connection, ``-ERR write outcome unknown``, and any error reply we do
not recognise. A worker that gets ``info`` hands its process number on to a fresh one, as
Jepsen does: the old process's operation stays pending forever.

We drive a bare `redis.Connection` (no pool, no retry, RESP2) rather than `redis.Redis`: a
client library that silently retries a command after a broken connection can apply it twice,
and we need to know whether the failure came before or after the send.
"""

from __future__ import annotations

import contextlib
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ClusterDownError, TryAgainError
from redis.retry import Retry

from seshat.check import Status

DEFINITE_PREFIXES = ("CLUSTERDOWN", "TRYAGAIN")


class CommandFailed(Exception):
    """Raised by `Client.call` with the classified status and a short description."""

    def __init__(self, status: Status, text: str) -> None:
        super().__init__(text)
        self.status: Status = status
        self.text = text


def classify(error: BaseException, sent: bool) -> Status:
    """``fail`` if the command certainly did not take effect, else ``info`` (module docstring)."""
    if not sent:
        return "fail"
    if isinstance(error, ClusterDownError | TryAgainError):
        return "fail"
    if isinstance(error, redis.ResponseError):
        text = str(error).lstrip()
        if text.startswith(DEFINITE_PREFIXES):
            return "fail"
        return "info"
    return "info"


def describe(error: BaseException) -> str:
    prefix = {ClusterDownError: "CLUSTERDOWN ", TryAgainError: "TRYAGAIN "}.get(type(error), "")
    return f"{type(error).__name__}: {prefix}{error}"[:200]


class Client:
    def __init__(self, host: str, port: int, timeout_s: float = 1.5) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.conn: redis.Connection | None = None

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # closing a dead socket may raise; it is gone
                self.conn.disconnect()
            self.conn = None

    def _connect(self) -> redis.Connection:
        if self.conn is None:
            conn = redis.Connection(
                host=self.host, port=self.port, protocol=2, socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s, retry=Retry(NoBackoff(), 0),
                health_check_interval=0, driver_info=None,
            )  # no CLIENT SETINFO round trip: connect() is just the TCP connect
            conn.connect()
            self.conn = conn
        return self.conn

    def call(self, *argv: Any) -> Any:
        """Run one command; raise `CommandFailed` with fail/info on any error."""
        try:
            conn = self._connect()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
            self.close()
            raise CommandFailed("fail", describe(error)) from error
        try:
            conn.send_command(*argv)
            return conn.read_response()
        except redis.ResponseError as error:  # an error reply: the connection is still good
            raise CommandFailed(classify(error, True), describe(error)) from error
        except Exception as error:
            # A failed send may still have delivered the whole command: only "could not
            # connect" is definite, so a send error counts as sent.
            self.close()
            raise CommandFailed(classify(error, True), describe(error)) from error
