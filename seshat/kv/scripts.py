"""EVAL, EVALSHA, their _RO forms and SCRIPT: Lua scripts, run by every replica inside apply.

Redis 7 replicates a script by its effects: the primary runs it and sends the writes it made.
Seshat's leader cannot run it ahead of apply (the state it would read is not yet the state the
entry lands on), so a script is replicated as itself, like MULTI/EXEC: the entry carries EVAL's
words, or EVALSHA's, and each replica runs the script in apply, on the same state, at the same
`now_ms`, with the same random seed (the entry's index). `lua_sandbox.py` makes the run the same
everywhere; this module is the Redis side of it.

**The script cache is replicated state.** SCRIPT LOAD and every EVAL store the body in
`kv_data` under `SCRIPT_PREFIX` + sha1 (beyond every database's range, so FLUSHALL keeps them,
as Redis keeps its cache; snapshots and the replica checksum include them). EVALSHA finds its
body there at apply time, so an EVALSHA on a follower or right after a failover finds the
script every node has, and SCRIPT EXISTS is a linearizable read. SCRIPT FLUSH empties it
everywhere. Unlike Redis, the cache survives a restart.

**Read-only scripts** (EVAL_RO, EVALSHA_RO) run at a read point like GET, on any node, and a
write command inside them is refused with Redis's error. A script whose shebang says
`flags=no-writes` refuses writes the same way, but EVAL still sends it through the log.

Inside a script, `redis.call` runs a command through the same table as a client's command:
reads over the batch's pending state (`WriterView`), writes through their `prepare` (relative
times made absolute with the entry's `now_ms`) and `apply`. Commands Redis flags `noscript`
are refused, and the server-layer commands other than PING, ECHO and TIME (INFO, CONFIG,
CLIENT...) too, since apply has no connection to answer them for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, cast

from seshat.kv import chance, script_user, waits
from seshat.kv import commands as T  # a cycle: the table's rows name this module's handlers
from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter, WriterView
from seshat.kv.lua_sandbox import Run, compile_error, sha1hex
from seshat.kv.numbers import parse_int
from seshat.kv.writes import parse_db_index
from seshat.protocol.replies import OK, PONG, ErrorReply, Reply, SimpleString

SCRIPT_PREFIX: Final = L.KV_DATA_END + b"lua:"  # + 40 lowercase hex digits -> the body
SCRIPT_END: Final = L.KV_DATA_END + b"lua;"

NOSCRIPT: Final = ErrorReply("NOSCRIPT No matching script. Please use EVAL.")
NEGATIVE_KEYS: Final = ErrorReply("ERR Number of keys can't be negative")
TOO_MANY_KEYS: Final = ErrorReply("ERR Number of keys can't be greater than number of args")
UNKNOWN_COMMAND: Final = ErrorReply("ERR Unknown Redis command called from script")
WRONG_ARITY: Final = ErrorReply("ERR Wrong number of args calling Redis command from script")
NOT_ALLOWED: Final = ErrorReply("ERR This Redis command is not allowed from script")
WRITE_IN_READ_ONLY: Final = ErrorReply("ERR Write commands are not allowed from read-only scripts.")
NOT_BUSY: Final = ErrorReply("NOTBUSY No scripts in execution right now.")
NO_DEBUGGER: Final = ErrorReply("ERR SCRIPT DEBUG is not supported by Seshat")
_FLUSH_MODES: Final = (b"sync", b"async")
_STREAM_READS: Final = (b"xread", b"xreadgroup")  # their BLOCK is refused in scripts
INVALID_SHEBANG: Final = ErrorReply("ERR Invalid script shebang")
FLUSH_SYNTAX: Final = ErrorReply("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
_SHEBANG_FLAGS: Final = frozenset(
    {b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster", b"allow-cross-slot-keys"}
)
_HELP: Final = [
    b"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"DEBUG (YES|SYNC|NO)",
    b"    Set the debug mode for subsequent scripts executed.",
    b"EXISTS <sha1> [<sha1> ...]",
    b"    Return information about the existence of the scripts in the script cache.",
    b"FLUSH [ASYNC|SYNC]",
    b"    Flush the Lua scripts cache. Very dangerous on replicas.",
    b"    When called without the optional mode argument, the behavior is determined by the",
    b"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    b"    * ASYNC: Asynchronously flush the scripts cache.",
    b"    * SYNC: Synchronously flush the scripts cache.",
    b"KILL",
    b"    Kill the currently executing Lua script.",
    b"LOAD <script>",
    b"    Load a script into the scripts cache without executing it.",
    b"HELP",
    b"    Prints this help.",
]


def script_key(sha: bytes) -> bytes:
    return SCRIPT_PREFIX + sha.lower()


# -- checks before proposing --------------------------------------------------------------------


def check_keys(argv: list[bytes], not_integer: ErrorReply = E.NOT_INTEGER) -> ErrorReply | None:
    """EVAL's numkeys (and FCALL's, whose non-integer error differs), with Redis's errors."""
    n = parse_int(argv[2])
    if n is None:
        return not_integer
    if n < 0:
        return NEGATIVE_KEYS
    if n > len(argv) - 3:
        return TOO_MANY_KEYS
    return None


def shebang_flags(body: bytes) -> set[bytes] | ErrorReply:
    """The flags of a `#!lua flags=a,b` first line (empty without one), or Redis's error."""
    if not body.startswith(b"#!"):
        return set()
    line, newline, _rest = body.partition(b"\n")
    if not newline:
        return INVALID_SHEBANG
    words = line.split()
    if words[0] != b"#!lua":
        return ErrorReply(
            f"ERR Unexpected engine in script shebang: {words[0].decode(errors='replace')}"
        )
    flags: set[bytes] = set()
    for word in words[1:]:
        if not word.startswith(b"flags="):
            return ErrorReply(f"ERR Unknown lua shebang option: {word.decode(errors='replace')}")
        for flag in word[len(b"flags=") :].split(b","):
            if flag and flag not in _SHEBANG_FLAGS:
                return ErrorReply(
                    f"ERR Unexpected flag in script shebang: {flag.decode(errors='replace')}"
                )
            if flag:
                flags.add(flag)
    return flags


def check_body(body: bytes) -> ErrorReply | None:
    """What Redis finds wrong with a script before running it: its shebang, then its syntax."""
    flags = shebang_flags(body)
    if isinstance(flags, ErrorReply):
        return flags
    message = compile_error(body)
    return None if message is None else ErrorReply(message)


def prepare_eval(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    return check_keys(argv) or check_body(argv[1]) or argv


def prepare_evalsha(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    return check_keys(argv) or argv


def prepare_script(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    spec = T.lookup_subcommand(b"script", argv[1])
    if spec is None:
        return E.unknown_subcommand(argv[1], "SCRIPT")
    if not spec.arity_ok(len(argv)):
        return E.wrong_arity(spec.name)
    sub = argv[1].lower()
    if sub == b"load":
        return check_body(argv[2]) or argv
    if sub == b"flush" and argv[2:] and (len(argv) > 3 or argv[2].lower() not in _FLUSH_MODES):
        return FLUSH_SYNTAX
    return argv


# -- running ------------------------------------------------------------------------------------


# MONITOR's `[db lua]` lines: while a node has monitors, `seshat/monitor.py` makes this a list,
# each command a script calls (once past the checks Redis makes before `call()`) is added as
# (db, argv), and the server shows and clears them after each apply. None: nobody watches.
call_log: list[tuple[int, list[bytes]]] | None = None

# CLIENT TRACKING: whether the script running now (or that ran last) called a read-only
# command. Redis then remembers the script's declared keys for its caller (`call()` in
# server.c); `seshat/tracking.py` does, from `KeyspaceWriter.script_reads` or right after a
# read-only script. Apply and reads run one script at a time.
read_called = False


class Host:
    """What `redis.call` reaches inside one script run: the command table, over `view` (and
    `writer`, when the script may write)."""

    __slots__ = ("db", "log", "now_ms", "user", "view", "writer")

    def __init__(
        self, view: KeyspaceView, writer: KeyspaceWriter | None, now_ms: int, db: int
    ) -> None:
        self.view = view
        self.writer = writer  # None: a read-only script (EVAL_RO, or `flags=no-writes`)
        self.now_ms = now_ms
        self.db = db
        self.user = script_user.running()  # a restricted ACL user: each call is checked
        # MONITOR: what it calls, shown after apply, or after a read-only script's read.
        self.log = call_log

    def call(self, argv: list[bytes], resp: int) -> Reply:
        spec = T.lookup(argv[0])
        if spec is None:
            return UNKNOWN_COMMAND
        if not spec.arity_ok(len(argv)):
            return WRONG_ARITY
        if spec.flags & T.F_NOSCRIPT:
            return NOT_ALLOWED
        if spec.subcommands and len(argv) > 1 and spec.kind is not T.CONNECTION:
            sub = T.lookup_subcommand(spec.name, argv[1])
            if sub is None:
                return UNKNOWN_COMMAND
            if sub.flags & T.F_NOSCRIPT:
                return NOT_ALLOWED
        if self.user is not None:  # after the noscript check, as Redis's `scriptCall`
            refusal = script_user.check(self.view, self.user, argv)
            if refusal is not None:
                return refusal
        kind = spec.kind
        if (
            self.writer is None
            and kind is not T.READ
            and kind is not T.CONNECTION
            and kind is not T.LOCAL
        ):
            return WRITE_IN_READ_ONLY  # refused before it runs: no MONITOR line, as Redis
        if spec.flags & T.F_READONLY:
            global read_called
            read_called = True
        log = self.log
        if log is not None and kind is not T.LOCAL:  # SELECT shows its new DB: below
            log.append((self.db, argv))
        if spec.name in _STREAM_READS and waits.blocks(argv):
            name = argv[0].decode("utf-8", "surrogateescape")
            return ErrorReply(f"ERR {name} command is not allowed with BLOCK option from scripts")
        if kind is T.CONNECTION:
            return self._connection(spec.name, argv)
        if kind is T.LOCAL:  # SELECT: the script's own database, not the caller's (Redis 7)
            db = parse_db_index(argv[1])
            if not isinstance(db, ErrorReply):
                self.db = db
            if log is not None:
                log.append((self.db, argv))
            return OK if not isinstance(db, ErrorReply) else db
        if kind is T.READ:
            assert spec.read is not None
            return spec.read(self.view, self.now_ms, self.db, argv)
        assert self.writer is not None
        if spec.prepare is not None:
            rewritten = spec.prepare(argv, self.now_ms)
            if isinstance(rewritten, ErrorReply):
                return rewritten
            argv = rewritten
        assert spec.apply is not None
        return spec.apply(self.writer, self.now_ms, self.db, argv)

    def _connection(self, name: bytes, argv: list[bytes]) -> Reply:
        if name == b"ping":
            return PONG if len(argv) == 1 else argv[1]
        if name == b"echo":
            return argv[1]
        if name == b"time":
            return [str(self.now_ms // 1000).encode(), str(self.now_ms % 1000 * 1000).encode()]
        return NOT_ALLOWED


def _run(host: Host, body: bytes, argv: list[bytes], seed: int, sha: bytes | None = None) -> Reply:
    flags = shebang_flags(body)
    if isinstance(flags, ErrorReply):
        return flags
    if b"no-writes" in flags:
        host.writer = None
    keys, args = keys_and_args(argv)
    global read_called
    read_called = False
    with chance.seeded(seed) as rng:
        return Run(host.call, rng).execute(body, (sha or sha1hex(body)).decode(), keys, args)


def keys_and_args(argv: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """`EVAL body|sha|function numkeys key... arg...`: (KEYS, ARGV); numkeys as checked by
    `check_keys` (anything else declares no key)."""
    numkeys = max(parse_int(argv[2]) or 0, 0) if len(argv) > 2 else 0
    return argv[3 : 3 + numkeys], argv[3 + numkeys :]


def take_read_called() -> bool:
    """Whether the last script run called a read-only command; the answer is given once."""
    global read_called
    called, read_called = read_called, False
    return called


def note_reads(w: KeyspaceWriter) -> None:
    """After a script ran in apply: if it called a read-only command, say so for its entry."""
    if take_read_called():
        w.script_reads.append(w.entry_index)


def pending(w: KeyspaceWriter) -> KeyspaceView:
    """The batch's state as a script's reads see it (its own earlier writes included)."""
    return cast(KeyspaceView, WriterView(w))


def _seed(w: KeyspaceWriter, sha: bytes) -> int:
    """The same on every replica, different for every entry (and script within it)."""
    return w.entry_index << 40 | int(sha[:10], 16)


def apply_eval(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    body = argv[1]
    sha = sha1hex(body)
    if w.sub_get(script_key(sha)) is None:
        w.sub_put(script_key(sha), body)  # EVAL caches the script too, as in Redis
    reply = _run(Host(pending(w), w, now_ms, db), body, argv, _seed(w, sha), sha)
    note_reads(w)
    return reply


def apply_evalsha(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    body = _cached(w.sub_get, argv[1])
    if body is None:
        return NOSCRIPT
    sha = argv[1].lower()
    reply = _run(Host(pending(w), w, now_ms, db), body, argv, _seed(w, sha), sha)
    note_reads(w)
    return reply


def read_eval_ro(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """No check before running: the run itself answers Redis's shebang and compile errors."""
    return _run(Host(view, None, now_ms, db), argv[1], argv, chance.rng().getrandbits(64))


def read_evalsha_ro(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    body = _cached(view.sub_get, argv[1])
    if body is None:
        return NOSCRIPT
    return _run(
        Host(view, None, now_ms, db), body, argv, chance.rng().getrandbits(64),
        argv[1].lower(),
    )  # fmt: skip


def _cached(get: Callable[[bytes], bytes | None], sha: bytes) -> bytes | None:
    """The body stored for `sha` (any case), read with the view's or the writer's `sub_get`."""
    return get(script_key(sha)) if len(sha) == 40 else None


def apply_script(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """SCRIPT LOAD and FLUSH through the log (and any SCRIPT subcommand inside MULTI)."""
    sub = argv[1].lower()
    if sub == b"load":
        sha = sha1hex(argv[2])
        w.sub_put(script_key(sha), argv[2])
        return sha
    if sub == b"flush":
        for key, _body in list(w.iterate_kv(SCRIPT_PREFIX, SCRIPT_END)):
            w.sub_delete(key)
        return OK
    return read_script(pending(w), now_ms, db, argv)


def read_script(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """SCRIPT EXISTS, KILL, DEBUG and HELP: nothing to replicate."""
    sub = argv[1].lower()
    if sub == b"exists":
        return [int(_cached(view.sub_get, sha) is not None) for sha in argv[2:]]
    if sub == b"kill":
        return NOT_BUSY  # a script runs inside apply, start to end: nothing is ever running
    if sub == b"debug":
        return NO_DEBUGGER
    return [SimpleString(line) for line in _HELP]


# -- what Redis 7 functions (`functions.py`) share with EVAL -----------------------------------


def entry_seed(w: KeyspaceWriter, tag: bytes) -> int:
    """`_seed` for a run named by `tag` (a function's name) rather than a sha."""
    return _seed(w, sha1hex(tag))


def run_function(h: Host, code: bytes, name: bytes, argv: list[bytes], seed: int) -> Reply:
    """FCALL's run: the library `code` in a fresh sandbox, its function `name` called with the
    keys and arguments of `argv` (FCALL name numkeys key... arg...), randomness as in EVAL."""
    keys, args = keys_and_args(argv)
    global read_called
    read_called = False
    with chance.seeded(seed) as rng:
        return Run(h.call, rng).call_function(code, name, keys, args)
