"""Raw RESP on a socket, for tests that compare Seshat's reply bytes with a real redis-server's.

`WireClient` sends bytes and hands back one whole reply frame at a time, as the exact bytes the
server wrote (RESP2 or RESP3, every type, attributes included), so a test can compare two
servers byte for byte. `parse` turns a frame into a small tree (`Node`) for the few replies whose
contents legitimately differ and must be reduced to their shape first.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPLY_TIMEOUT_S = 10.0  # a reply slower than this is a hang, not a slow machine

_SCALARS = frozenset(b"+-:_#,(")  # one line: the value follows the marker
_BLOBS = frozenset(b"$=!")  # length line, then that many bytes
_AGGREGATES = frozenset(b"*~>")  # count, then that many replies
_PAIRS = frozenset(b"%|")  # count, then twice that many replies (maps and attributes)


@dataclass
class Node:
    """One RESP reply: its marker (`b"$"`, `b"%"`...), its exact bytes, and what it holds.

    `value` is the line or blob payload for scalars (None for a null `$-1`/`*-1`), and
    `children` the elements of an aggregate (both members of each pair for maps).
    """

    marker: bytes
    raw: bytes
    value: bytes | None = None
    children: list[Node] = field(default_factory=list)


class Incomplete(Exception):
    """The buffer ends inside a reply."""


def parse(buf: bytes, pos: int = 0) -> tuple[Node, int]:
    """The reply starting at `pos` and the offset just after it; raises `Incomplete`."""
    eol = buf.find(b"\r\n", pos)
    if eol < 0:
        raise Incomplete
    marker = buf[pos]
    line = buf[pos + 1 : eol]
    start, after = pos, eol + 2
    if marker in _SCALARS:
        return Node(bytes([marker]), buf[start:after], line), after
    if marker in _BLOBS:
        size = int(line)
        if size < 0:
            return Node(bytes([marker]), buf[start:after], None), after
        end = after + size
        if len(buf) < end + 2:
            raise Incomplete
        assert buf[end : end + 2] == b"\r\n", buf[start : end + 2]
        return Node(bytes([marker]), buf[start : end + 2], buf[after:end]), end + 2
    if marker in _AGGREGATES or marker in _PAIRS:
        count = int(line)
        if count < 0:
            return Node(bytes([marker]), buf[start:after], None), after
        children = []
        for _ in range(count * (2 if marker in _PAIRS else 1)):
            child, after = parse(buf, after)
            children.append(child)
        node = Node(bytes([marker]), buf[start:after], line, children)
        if marker == ord("|"):  # an attribute precedes the reply it annotates
            reply, after = parse(buf, after)
            node.children.append(reply)
            node.raw = buf[start:after]
        return node, after
    raise AssertionError(f"not a RESP reply at {pos}: {buf[pos : pos + 40]!r}")


def encode_command(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


class WireClient:
    """One connection; replies come back as the exact bytes of each frame."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT_S)
        self.buf = b""
        self.eof = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> bytes:
        """The next whole reply frame; `b""` if the server closed the connection first."""
        while True:
            if self.buf:
                try:
                    _, end = parse(self.buf)
                except Incomplete:
                    pass
                else:
                    frame, self.buf = self.buf[:end], self.buf[end:]
                    return frame
            if self.eof:
                assert not self.buf, f"connection closed inside a reply: {self.buf[:80]!r}"
                return b""
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                self.eof = True
            self.buf += chunk

    def call(self, argv: list[bytes]) -> bytes:
        self.send(encode_command(argv))
        return self.reply()

    def until_closed(self) -> bytes:
        """Everything the server writes until it closes the connection."""
        data = self.buf
        self.buf = b""
        while not self.eof:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                self.eof = True
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis_server(workdir: Path) -> Iterator[int]:
    """A redis-server on a free loopback port, persistence off; yields its port, then stops it.

    Skips (with the reason) when the Debian `redis-server` binary is not installed.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(400):  # bounded poll: up to ~20 s for the server to answer PING
            assert proc.poll() is None, f"redis-server exited with {proc.returncode}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise AssertionError(f"redis-server did not answer PING on port {port}")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Pair:
    """One connection to redis-server and one to Seshat, in the same protocol: `both` sends a
    command to each, `same` asserts the replies match (after `normalise`, for what
    legitimately differs between two servers)."""

    def __init__(
        self,
        redis_port: int,
        seshat_port: int,
        protocol: int,
        normalise: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.redis = WireClient(redis_port)
        self.seshat = WireClient(seshat_port)
        self.protocol = protocol
        self._normalise = normalise
        if protocol == 3:
            self.both("HELLO 3")

    def both(self, line: str | list[bytes]) -> tuple[bytes, bytes]:
        argv = [w.encode() for w in line.split()] if isinstance(line, str) else line
        return self.redis.call(argv), self.seshat.call(argv)

    def same(self, line: str | list[bytes]) -> bytes:
        theirs, ours = self.both(line)
        norm = self._normalise
        if norm is None:
            assert ours == theirs, (line, theirs, ours)
        else:
            assert norm(ours) == norm(theirs), (line, theirs, ours)
        return ours

    def close(self) -> None:
        self.redis.close()
        self.seshat.close()
