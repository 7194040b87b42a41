"""Request parsing: client bytes in, commands (`list[bytes]`) out, exactly as Redis 7.0 reads them.

Theory of operation. `Parser.feed(data)` only stores bytes; `next_command()` (or
`next_commands()` for every complete command at once) parses on demand and returns a command,
the `NEED_MORE` sentinel, or raises `ProtocolError` with the text Redis would send. Nothing here
does I/O (the h11 shape: `receive_data` / `next_event`).

Redis reads requests in `processInputBuffer` (src/networking.c): a request whose first byte is
`*` is a multibulk (`*N\\r\\n` then N times `$len\\r\\n<payload>\\r\\n`), anything else is an
inline line split by `sdssplitargs` (see `inline.py`). We reproduce its quirks because clients
and tests observe them: numbers follow `string2ll` (no sign `+`, no leading zero, `-0` invalid);
`*N` with N <= 0 is an empty command and is skipped; the byte after a header's `\\r` and the two
bytes after a payload are skipped unchecked; Redis searches lines with `strchr`, so a NUL byte
before the terminator means "no line yet" (and later "too big ... string"); each limit of
`ParserLimits` fires as soon as the offending header line is complete, before any payload.

Two engines, one behaviour:

- the Python engine below is exact and resumable (a payload split across many feeds is not
  re-scanned), and is the whole parser when hiredis is missing or the client is not yet
  authenticated (Redis's tighter limits must apply command by command, with AUTH in between);
- the hiredis engine parses runs of complete multibulk commands in C. hiredis accepts more than
  Redis (`+`, `:` or nested elements inside a command, no limits), so a batch is trusted only
  when the C-speed checks in `_batch_is_canonical` prove that every element was a `$` bulk
  string; otherwise `_verified_prefix` walks the batch and keeps the commands proven canonical,
  and the Python engine takes the first doubtful command, so errors stay byte-exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import chain
from typing import Any, Final

from seshat.protocol.errors import ProtocolError, QueryBufferLimitError
from seshat.protocol.inline import split_inline_args
from seshat.protocol.limits import DEFAULT_LIMITS, ParserLimits

try:
    import hiredis
except ImportError:  # pragma: no cover - exercised by forcing use_hiredis=False
    hiredis = None

HIREDIS_AVAILABLE: Final = hiredis is not None

Command = list[bytes]


class _NeedMore:
    """Type of `NEED_MORE`: a falsy singleton with a readable repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_MORE"

    def __bool__(self) -> bool:
        return False


NEED_MORE: Final = _NeedMore()
"""Returned by `next_command()` when the buffer holds no complete command."""

_INCOMPLETE: Final = object()  # hiredis's "not enough data": False and None are legal replies
_STAR, _DOLLAR, _CR, _LF = 0x2A, 0x24, 0x0D, 0x0A
# Bytes that start a hiredis reply which could pass our type checks without being a `$` bulk
# string inside a `*` command: `+ ( =` give bytes (the aggregates `> ~ |`, which give a list,
# never reach hiredis: see _hiredis_safe_end).
_SUSPECT_BYTES: Final = (b"+", b"(", b"=")
# hiredis-py allocates a list of N slots when it reads an aggregate header, before the elements
# arrive, and freeing it walks every slot: `*2147483647\r\n` alone costs ~9 s of CPU when the
# reader is dropped. So hiredis never sees `*` with 5+ digits (10000+ elements) nor `> ~ |`;
# those commands go to the Python engine.
_HIREDIS_UNSAFE_COUNT: Final = re.compile(rb"\*[0-9]{5}")
_HIREDIS_UNSAFE_BYTES: Final = (b">", b"~", b"|")
# The hiredis batch has ~4 us of fixed checks; below ~3 small commands Python is faster
# (bench/bench_protocol.py: depth 1, 6.3 us via hiredis vs 3.3 us in Python on a loaded VM).
_HIREDIS_MIN_BYTES: Final = 128
_LONG_LONG_MIN, _LONG_LONG_MAX = -(2**63), 2**63 - 1
_LONG_LONG_TEXT = re.compile(rb"-?[1-9][0-9]*|0")
_LONG_STR_SIZE = 21  # string2ll rejects 21 characters or more
# Canonical header lines of small numbers, so the common header is one dict lookup.
_COUNT_LINES: Final = {b"*%d" % n: n for n in range(-1, 1025)}
_BULK_LINES: Final = {b"$%d" % n: n for n in range(10000)}
# Bytes a canonical `*N\r\n` header / `$L\r\n<L bytes>\r\n` element takes, for small N and L.
_COUNT_LINE_BYTES: Final = tuple(3 + len(str(n)) for n in range(1025))
_ELEMENT_BYTES: Final = tuple(5 + len(str(n)) + n for n in range(1025))


def string2ll(text: bytes) -> int | None:
    """Redis's `string2ll`: a strict signed 64-bit decimal, or None when Redis would refuse it."""
    if not text or len(text) >= _LONG_STR_SIZE or _LONG_LONG_TEXT.fullmatch(text) is None:
        return None
    value = int(text)
    if value < _LONG_LONG_MIN or value > _LONG_LONG_MAX:
        return None
    return value


def _echo_byte(byte: int) -> str:
    """The `%c` of "expected '$', got '%c'" as Redis writes it: CR and LF become spaces."""
    if byte in (_CR, _LF):
        return " "
    return bytes((byte,)).decode("utf-8", "surrogateescape")


def _count_line_bytes(count: int) -> int:
    return _COUNT_LINE_BYTES[count] if count <= 1024 else 3 + len(str(count))


def _element_bytes(length: int) -> int:
    return _ELEMENT_BYTES[length] if length <= 1024 else 5 + len(str(length)) + length


class Parser:
    """Incremental, sans-I/O parser of one client connection's requests.

    `authenticated` starts True (Redis applies its pre-AUTH limits only when a password is
    required); a server that requires AUTH passes False and sets it True after a successful
    AUTH/HELLO. While it is False the parser hands out one command per call, so the AUTH in a
    pipeline takes effect before the next command is checked, as in Redis. Commands already
    handed out are not re-checked if it goes back to False (RESET).

    After a `ProtocolError` the parser is finished: every later call raises the same error.
    """

    def __init__(
        self,
        *,
        authenticated: bool = True,
        limits: ParserLimits = DEFAULT_LIMITS,
        use_hiredis: bool | None = None,
    ) -> None:
        if use_hiredis is None:
            use_hiredis = HIREDIS_AVAILABLE
        if use_hiredis and not HIREDIS_AVAILABLE:
            raise ValueError("hiredis is not installed")
        self.limits = limits
        self._use_hiredis = use_hiredis
        self._reader: Any = self._new_reader() if use_hiredis else None
        self._hiredis_min_bytes = _HIREDIS_MIN_BYTES  # tests set 0 to drive hiredis always
        # A batch no larger than this cannot hold a payload or an element count over a limit.
        self._batch_bytes_unchecked = min(limits.bulk_bytes_max, 6 * limits.multibulk_count_max)
        self._buf: bytes | bytearray = b""
        self._pos = 0  # first byte of _buf not yet consumed
        self._ready: list[Command] = []
        self._ready_pos = 0
        self._error: ProtocolError | None = None
        # Resumable state of the multibulk being read (Python engine).
        self._args: Command | None = None  # None: between commands
        self._remaining = 0  # elements still to read
        self._bulk = -1  # payload length of the element whose header was read, -1 if none
        self._authenticated = authenticated
        self._count_cap = 0
        self._bulk_cap = 0
        self._set_caps()

    # ---- public API -------------------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        """Whether Redis's full limits apply (False: at most 10 elements, 16384-byte payloads)."""
        return self._authenticated

    @authenticated.setter
    def authenticated(self, value: bool) -> None:
        self._authenticated = value
        self._set_caps()

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Store bytes read from the client; raise `QueryBufferLimitError` past the buffer limit.

        Redis checks its query buffer after each read and frees the client before handling any
        of it, so this raises at once rather than from `next_command()`.
        """
        if not data or self._error is not None:
            return
        buf, pos = self._buf, self._pos
        pending = len(buf) - pos
        if pending + len(data) > self.limits.query_buffer_bytes_max:
            self._error = QueryBufferLimitError(
                "Closing client that reached max query buffer length"
            )
            raise self._error
        if not pending:
            self._buf = data if data.__class__ is bytes else bytes(data)
            self._pos = 0
            return
        if buf.__class__ is bytes:
            buf = self._buf = bytearray(memoryview(buf)[pos:])
            self._pos = 0
        elif pos:
            del buf[:pos]  # type: ignore[union-attr]  # bytearray here
            self._pos = 0
        buf += data  # type: ignore[operator]  # in-place append to the bytearray

    def next_command(self) -> Command | _NeedMore:
        """The next complete command, `NEED_MORE`, or raise `ProtocolError`.

        Commands that precede a protocol error are returned first, as Redis executes them
        before it replies with the error.
        """
        ready, i = self._ready, self._ready_pos
        if i < len(ready):
            self._ready_pos = i + 1
            return ready[i]
        self._refill()
        ready = self._ready
        if ready:
            self._ready_pos = 1
            return ready[0]
        if self._error is not None:
            raise self._error
        return NEED_MORE

    def next_commands(self) -> list[Command]:
        """Every complete command now available (empty: need more); raise on a protocol error.

        Lets a connection handle a whole read without a call per command. Before
        authentication it returns at most one command (see the class docstring).
        """
        ready, i = self._ready, self._ready_pos
        if i >= len(ready):
            self._refill()
            ready, i = self._ready, 0
            if not ready and self._error is not None:
                raise self._error
        self._ready = []
        self._ready_pos = 0
        return ready[i:] if i else ready

    def buffered_bytes(self) -> int:
        """Bytes received but not yet turned into commands (for INFO's `qbuf`)."""
        return len(self._buf) - self._pos

    # ---- driver -------------------------------------------------------------------------------

    def _refill(self) -> None:
        """Parse into a fresh ready list; a protocol error is kept for after those commands."""
        self._ready = []
        self._ready_pos = 0
        if self._error is not None:
            return
        try:
            if self._use_hiredis and self._authenticated:
                self._parse_batches()
            else:
                self._parse_python(one=not self._authenticated)
        except ProtocolError as error:
            self._error = error

    def _parse_python(self, one: bool) -> None:
        """Python engine until the buffer runs out (or after one command when `one`)."""
        ready = self._ready
        while self._pos < len(self._buf):
            command = self._python_command()
            if command is None:
                return
            if command:
                ready.append(command)
                if one:
                    return

    def _parse_batches(self) -> None:
        """hiredis for runs of complete multibulk commands, Python for whatever it can't prove."""
        ready = self._ready
        while self._pos < len(self._buf):
            pending = len(self._buf) - self._pos
            worth_it = pending > self._hiredis_min_bytes
            if self._args is None and worth_it and self._buf[self._pos] == _STAR:
                self._hiredis_batch()
                if self._pos >= len(self._buf):
                    return
            command = self._python_command()
            if command is None:
                return
            if command:
                ready.append(command)

    # ---- hiredis engine -------------------------------------------------------------------------

    def _new_reader(self) -> Any:
        return hiredis.Reader(notEnoughData=_INCOMPLETE)

    def _hiredis_batch(self) -> None:
        """Take every command hiredis completes from `_pos` that is provably what Redis reads."""
        buf, pos = self._buf, self._pos
        end = len(buf)
        limit = _hiredis_safe_end(buf, pos, end)
        if limit == pos:
            return
        reader = self._reader
        reader.feed(buf, pos, limit - pos)
        commands, clean = _read_all(reader)
        stop = _canonical_end(pos, commands)
        if stop is not None and self._batch_is_canonical(buf, pos, stop, commands):
            self._pos = stop
            self._ready.extend(filter(None, commands))
            if clean and stop == end:
                return  # hiredis consumed exactly these commands: it sits at a boundary
        else:
            self._pos = self._verified_prefix(buf, pos, commands)
        # hiredis holds a partial reply (maybe with all its bytes consumed) or a bad one.
        self._reader = self._new_reader()

    def _batch_is_canonical(
        self, buf: bytes | bytearray, pos: int, stop: int, commands: list[Any]
    ) -> bool:
        """C-speed proof that `commands` fill buf[pos:stop] as `$`-only multibulks.

        If any command or element were not canonical, the first one would start at the position
        the canonical sizes predict (everything before it being canonical), inside [pos, stop):
        a `+ ( =` element or a `> ~ |` command shows there as a suspect byte, anything else
        (integers, nulls, nested aggregates, errors) fails the join. A batch no larger than
        `_batch_bytes_unchecked` cannot exceed a limit.
        """
        if stop - pos > self._batch_bytes_unchecked:
            return False
        for suspect in _SUSPECT_BYTES:
            if buf.find(suspect, pos, stop) >= 0:
                return False
        try:
            b"".join(chain.from_iterable(commands))
        except TypeError:
            return False
        return True

    def _verified_prefix(self, buf: bytes | bytearray, pos: int, commands: list[Any]) -> int:
        """Queue the leading commands proven canonical; return where the first doubtful one starts.

        hiredis only accepts canonical `string2ll` numbers and `\\r\\n` header terminators, so a
        command that starts with `*` and whose every element starts with `$` and came back as
        bytes occupies exactly the canonical number of bytes; walking those sizes checks each
        header byte where it must be.
        """
        count_cap, bulk_cap = self._count_cap, self._bulk_cap
        ready = self._ready
        for command in commands:
            start = pos
            count = len(command)
            if buf[pos] != _STAR or count > count_cap:
                return start
            pos += _count_line_bytes(count)
            for element in command:
                if element.__class__ is not bytes or buf[pos] != _DOLLAR:
                    return start
                if len(element) > bulk_cap:
                    return start
                pos += _element_bytes(len(element))
            if command:
                ready.append(command)
        return pos

    # ---- Python engine --------------------------------------------------------------------------

    def _python_command(self) -> Command | None:
        """Parse one request at `_pos`: a command, [] for an empty one, None when incomplete."""
        buf = self._buf
        if self._bulk >= 0 and len(buf) - self._pos < self._bulk + 2:
            return None  # still waiting for a payload: don't touch the buffer
        if buf.__class__ is not bytes:
            buf = self._buf = bytes(buf)  # slices must be bytes (hashable, and what we return)
        if self._args is None:
            if buf[self._pos] != _STAR:
                return self._inline_command(buf)
            if not self._read_count(buf):
                return None
            if self._args is None:
                return []
        return self._read_elements(buf)

    def _missing_line(self, buf: bytes, pos: int, cr: int, message: str) -> None:
        """No complete header line at `pos`: raise if Redis would, else wait for more bytes.

        Redis finds lines with `strchr`, which stops at a NUL byte: a NUL before the `\\r`
        counts as no line at all, and past `inline_bytes_max` buffered bytes that is an error.
        """
        if cr >= 0 and buf.find(b"\0", pos, cr) < 0:
            return  # the line is there, only the byte after its \r is missing
        if len(buf) - pos > self.limits.inline_bytes_max:
            raise ProtocolError(message)

    def _read_count(self, buf: bytes) -> bool:
        """Read `*N\\r\\n`: start a command, or skip it when N <= 0. False: need more bytes."""
        pos = self._pos
        cr = buf.find(b"\r", pos)
        if cr < 0 or cr + 1 >= len(buf):
            self._missing_line(buf, pos, cr, "Protocol error: too big mbulk count string")
            return False
        count = _COUNT_LINES.get(buf[pos:cr])
        if count is None or count > self._count_cap:
            if buf.find(b"\0", pos, cr) >= 0:
                self._missing_line(buf, pos, -1, "Protocol error: too big mbulk count string")
                return False
            count = self._checked_count(string2ll(buf[pos + 1 : cr]))
        self._pos = cr + 2
        if count > 0:
            self._args = []
            self._remaining = count
            self._bulk = -1
        return True

    def _checked_count(self, count: int | None) -> int:
        """Apply Redis's checks to a multibulk count, in Redis's order."""
        if count is None or count > self.limits.multibulk_count_max:
            raise ProtocolError("Protocol error: invalid multibulk length")
        if count > self.limits.unauthenticated_multibulk_count_max and not self._authenticated:
            raise ProtocolError("Protocol error: unauthenticated multibulk length")
        return count

    def _read_elements(self, buf: bytes) -> Command | None:
        """Read the elements of the current multibulk; the command when done, else None."""
        args = self._args
        assert args is not None, "no multibulk in progress"
        pos, remaining, bulk = self._pos, self._remaining, self._bulk
        end = len(buf)
        while remaining:
            if bulk < 0:
                cr = buf.find(b"\r", pos)
                if cr < 0 or cr + 1 >= end:
                    self._pos, self._remaining, self._bulk = pos, remaining, -1
                    self._missing_line(buf, pos, cr, "Protocol error: too big bulk count string")
                    return None
                line_bulk = _BULK_LINES.get(buf[pos:cr])
                if line_bulk is None or line_bulk > self._bulk_cap:
                    line_bulk = self._slow_bulk_line(buf, pos, cr)
                    if line_bulk is None:
                        self._pos, self._remaining, self._bulk = pos, remaining, -1
                        return None
                bulk = line_bulk
                pos = cr + 2
            if end - pos < bulk + 2:
                self._pos, self._remaining, self._bulk = pos, remaining, bulk
                return None
            args.append(buf[pos : pos + bulk])
            pos += bulk + 2
            bulk = -1
            remaining -= 1
        self._pos, self._remaining, self._bulk = pos, 0, -1
        self._args = None
        return args

    def _slow_bulk_line(self, buf: bytes, pos: int, cr: int) -> int | None:
        """A `$len` line the fast lookup did not accept: its length, None to wait, or raise."""
        if buf.find(b"\0", pos, cr) >= 0:
            self._missing_line(buf, pos, -1, "Protocol error: too big bulk count string")
            return None
        if buf[pos] != _DOLLAR:
            raise ProtocolError("Protocol error: expected '$', got '%s'" % _echo_byte(buf[pos]))
        length = string2ll(buf[pos + 1 : cr])
        if length is None or length < 0 or length > self.limits.bulk_bytes_max:
            raise ProtocolError("Protocol error: invalid bulk length")
        if length > self.limits.unauthenticated_bulk_bytes_max and not self._authenticated:
            raise ProtocolError("Protocol error: unauthenticated bulk length")
        return length

    def _inline_command(self, buf: bytes) -> Command | None:
        """An inline request line (first byte not `*`): its words, [] if blank, None to wait."""
        pos = self._pos
        lf = buf.find(b"\n", pos)
        if lf < 0 or buf.find(b"\0", pos, lf) >= 0:  # strchr stops at NUL: no line yet
            if len(buf) - pos > self.limits.inline_bytes_max:
                raise ProtocolError("Protocol error: too big inline request")
            return None
        line_end = lf - 1 if lf > pos and buf[lf - 1] == _CR else lf
        words = split_inline_args(buf[pos:line_end])
        if words is None:
            raise ProtocolError("Protocol error: unbalanced quotes in request")
        self._pos = lf + 1
        return words

    def _set_caps(self) -> None:
        """Largest count / payload the fast lookups may accept without the full checks."""
        limits = self.limits
        count_cap, bulk_cap = limits.multibulk_count_max, limits.bulk_bytes_max
        if not self._authenticated:
            count_cap = min(count_cap, limits.unauthenticated_multibulk_count_max)
            bulk_cap = min(bulk_cap, limits.unauthenticated_bulk_bytes_max)
        self._count_cap, self._bulk_cap = count_cap, bulk_cap


def _read_all(reader: Any) -> tuple[list[Any], bool]:
    """Every reply hiredis completes; clean=False if it stopped on an error or a non-list."""
    commands: list[Any] = []
    append = commands.append
    gets = reader.gets
    try:
        reply = gets()
        while reply is not _INCOMPLETE:
            if reply.__class__ is not list:
                return commands, False
            append(reply)
            reply = gets()
    except hiredis.ProtocolError:
        return commands, False
    return commands, True


def _hiredis_safe_end(buf: bytes | bytearray, pos: int, end: int) -> int:
    """How far from `pos` hiredis may read without meeting a costly aggregate header."""
    match = _HIREDIS_UNSAFE_COUNT.search(buf, pos, end)
    limit = end if match is None else match.start()
    for unsafe in _HIREDIS_UNSAFE_BYTES:
        found = buf.find(unsafe, pos, limit)
        if found >= 0:
            limit = found
    return limit


def _canonical_end(pos: int, commands: list[Any]) -> int | None:
    """Where `commands` end if canonically encoded from `pos`; None when not cheap to tell.

    Table lookups mapped in C: fine for counts and payloads up to 1024, the common case of a
    read that ends inside a command.
    """
    try:
        counts = sum(map(_COUNT_LINE_BYTES.__getitem__, map(len, commands)))
        elements = sum(map(_ELEMENT_BYTES.__getitem__, map(len, chain.from_iterable(commands))))
    except (IndexError, TypeError):
        return None
    return pos + counts + elements


class PythonParser(Parser):
    """The same parser with the pure-Python engine only (no hiredis), for tests and fallback."""

    def __init__(
        self, *, authenticated: bool = True, limits: ParserLimits = DEFAULT_LIMITS
    ) -> None:
        super().__init__(authenticated=authenticated, limits=limits, use_hiredis=False)


def encode_command(args: Iterable[bytes]) -> bytes:
    """A command as the multibulk a client sends (tests, benchmarks, forwarding to the leader)."""
    items = list(args)
    parts = [b"*%d\r\n" % len(items)]
    for item in items:
        parts.append(b"$%d\r\n%b\r\n" % (len(item), item))
    return b"".join(parts)
