"""Redis 7 functions: FUNCTION (LOAD, LIST, DELETE, FLUSH, DUMP, RESTORE, STATS, KILL, HELP),
FCALL and FCALL_RO, run by every replica inside apply as EVAL is (`scripts.py`).

**Libraries are replicated state**, like the script cache: each library's code and what it
registered is stored in `kv_data` under `LIB_PREFIX` + library name, and each function's name
under `FUNC_PREFIX` + function name points at its library. Both ranges lie beyond every
database, so FLUSHALL keeps them (as Redis does) and snapshots and the replica checksum carry
them. LOAD, DELETE, FLUSH and RESTORE go through the log; LIST, DUMP, STATS, KILL and HELP are
reads.

FUNCTION LOAD runs the library's code at apply, in a fresh sandbox where only
`redis.register_function`, `redis.log` and the constants exist (`lua_sandbox.py`), under the
same deterministic budget as a script, so every replica registers the same functions. FCALL
loads the code again into the fresh state of its run and calls the registered callback with
`(keys, args)`: determinism is EVAL's. FCALL_RO is a read, like EVAL_RO, and refuses a function
not registered with the `no-writes` flag.

FUNCTION DUMP's payload is Seshat's own (a magic line, the libraries' code, a SHA-1), not
Redis's RDB encoding; FUNCTION RESTORE accepts only that, and answers Redis's
`DUMP payload version or checksum are wrong` to anything else.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from seshat.kv import chance, glob
from seshat.kv import commands as T  # a cycle: the table's rows name this module's handlers
from seshat.kv import errors as E
from seshat.kv import layout as L
from seshat.kv import scripts as S
from seshat.kv.keyspace import KeyspaceView, KeyspaceWriter
from seshat.kv.lua_sandbox import FunctionInfo, Run
from seshat.protocol.inline import split_inline_args
from seshat.protocol.replies import OK, ErrorReply, Map, Reply, SimpleString

LIB_PREFIX: Final = L.KV_DATA_END + b"fnlib:"  # + library name -> _Library.encode()
LIB_END: Final = L.KV_DATA_END + b"fnlib;"
FUNC_PREFIX: Final = L.KV_DATA_END + b"fnfun:"  # + function name -> its library's name
FUNC_END: Final = L.KV_DATA_END + b"fnfun;"

FLAG_ORDER: Final = (b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster",
                     b"allow-cross-slot-keys")  # fmt: skip
NOT_FOUND: Final = ErrorReply("ERR Function not found")
LIBRARY_NOT_FOUND: Final = ErrorReply("ERR Library not found")
BAD_NUMKEYS: Final = ErrorReply("ERR Bad number of keys provided")
WRITE_FLAG_RO: Final = ErrorReply(
    "ERR Can not execute a script with write flag using *_ro command."
)
NO_FUNCTIONS: Final = ErrorReply("ERR No functions registered")
BAD_NAME: Final = ErrorReply(
    "ERR Library names can only contain letters, numbers, or underscores(_) and must be at"
    " least one character long"
)
FLUSH_SYNTAX: Final = ErrorReply("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
BAD_POLICY: Final = ErrorReply(
    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
)
BAD_PAYLOAD: Final = ErrorReply("ERR DUMP payload version or checksum are wrong")
DUMP_MAGIC: Final = b"SESHAT-FUNCTIONS-1\n"
_HELP: Final = [
    b"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"LOAD [REPLACE] <FUNCTION CODE>",
    b"    Create a new library with the given library name and code.",
    b"DELETE <LIBRARY NAME>",
    b"    Delete the given library.",
    b"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    b"    Return general information on all the libraries:",
    b"    * Library name",
    b"    * The engine used to run the Library",
    b"    * Library description",
    b"    * Functions list",
    b"    * Library code (if WITHCODE is given)",
    b"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    b"STATS",
    b"    Return information about the current function running:",
    b"    * Function name",
    b"    * Command used to run the function",
    b"    * Duration in MS that the function is running",
    b"    If no function is running, return nil",
    b"    In addition, returns a list of available engines.",
    b"KILL",
    b"    Kill the current running function.",
    b"FLUSH [ASYNC|SYNC]",
    b"    Delete all the libraries.",
    b"    When called without the optional mode argument, the behavior is determined by the",
    b"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    b"    * ASYNC: Asynchronously flush the libraries.",
    b"    * SYNC: Synchronously flush the libraries.",
    b"DUMP",
    b"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    b"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    b"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    b"    control how to handle existing libraries (default APPEND):",
    b"    * FLUSH: delete all existing libraries.",
    b"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    b"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    b"      libraries with the new libraries (notice that even on this option there is a chance of failure",
    b"      in case of functions name collision with another library).",
    b"HELP",
    b"    Prints this help.",
]  # fmt: skip


# -- storage ------------------------------------------------------------------------------------


def _pack(fields: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def _unpack(data: bytes) -> list[bytes] | None:
    fields, i = [], 0
    while i < len(data):
        if i + 4 > len(data):
            return None
        (n,) = struct.unpack_from(">I", data, i)
        if i + 4 + n > len(data):
            return None
        fields.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    return fields


@dataclass(frozen=True, slots=True)
class _Library:
    name: bytes
    code: bytes
    functions: tuple[FunctionInfo, ...]

    def encode(self) -> bytes:
        fields = [self.code]
        for f in self.functions:
            desc = b"\x00" if f.description is None else b"\x01" + f.description
            fields += [f.name, b",".join(f.flags), desc]
        return _pack(fields)

    @staticmethod
    def decode(name: bytes, data: bytes) -> _Library:
        fields = _unpack(data)
        assert fields is not None and len(fields) % 3 == 1, name
        functions = tuple(
            FunctionInfo(
                fields[i],
                tuple(fields[i + 1].split(b",")) if fields[i + 1] else (),
                None if fields[i + 2][:1] == b"\x00" else fields[i + 2][1:],
            )
            for i in range(1, len(fields), 3)
        )
        return _Library(name, fields[0], functions)


def _lib_key(name: bytes) -> bytes:
    return LIB_PREFIX + name


def _func_key(name: bytes) -> bytes:
    """Function names are case-insensitive, as in Redis (FCALL myfn finds MyFn); libraries'
    names are not. A function stored before that under its own spelling is still found."""
    return FUNC_PREFIX + name.lower()


Get = Callable[[bytes], bytes | None]


def _library(get: Get, name: bytes) -> _Library | None:
    data = get(_lib_key(name))
    return None if data is None else _Library.decode(name, data)


def _libraries(view: KeyspaceView | KeyspaceWriter) -> Iterator[_Library]:
    for key, data in list(view.iterate_kv(LIB_PREFIX, LIB_END)):
        yield _Library.decode(key[len(LIB_PREFIX) :], data)


def _find(get: Get, name: bytes) -> tuple[_Library, FunctionInfo] | None:
    lib_name = get(_func_key(name))
    if lib_name is None:
        lib_name = get(FUNC_PREFIX + name)  # indexed under its own spelling by an older node
    if lib_name is None:
        return None
    lib = _library(get, lib_name)
    assert lib is not None, lib_name
    folded = name.lower()
    return next((lib, f) for f in lib.functions if f.name.lower() == folded)


def _put(w: KeyspaceWriter, lib: _Library) -> None:
    w.sub_put(_lib_key(lib.name), lib.encode())
    for f in lib.functions:
        w.sub_put(_func_key(f.name), lib.name)


def _unlink(w: KeyspaceWriter, lib: _Library) -> None:
    w.sub_delete(_lib_key(lib.name))
    for f in lib.functions:
        w.sub_delete(_func_key(f.name))
        w.sub_delete(FUNC_PREFIX + f.name)  # as an older node indexed it


def _flush(w: KeyspaceWriter) -> None:
    for start, end in ((LIB_PREFIX, LIB_END), (FUNC_PREFIX, FUNC_END)):
        for key, _value in list(w.iterate_kv(start, end)):
            w.sub_delete(key)


# -- a library's code ---------------------------------------------------------------------------


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _valid_name(name: bytes) -> bool:
    return bool(name) and all(c == 0x5F or chr(c).isalnum() and c < 0x80 for c in name)


def library_name(code: bytes) -> bytes | ErrorReply:
    """The `#!lua name=<lib>` first line's library name, with Redis's errors, in its order."""
    if not code.startswith(b"#!"):
        return ErrorReply("ERR Missing library metadata")
    line, newline, _rest = code.partition(b"\n")
    if not newline:
        return ErrorReply("ERR Invalid library metadata")
    parts = split_inline_args(line)  # sdssplitargs, as Redis splits the shebang
    if not parts:
        return ErrorReply("ERR Invalid library metadata")
    engine = parts[0][2:]
    name: bytes | None = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                return ErrorReply(
                    "ERR Invalid metadata value, name argument was given multiple times"
                )
            name = part[5:]
            continue
        return ErrorReply(f"ERR Invalid metadata value given: {_text(part)}")
    if name is None:
        return ErrorReply("ERR Library name was not given")
    if not _valid_name(name):
        return BAD_NAME
    if engine.lower() != b"lua":
        return ErrorReply(f"ERR Engine '{_text(engine)}' not found")
    return name


def _no_calls(argv: list[bytes], resp: int) -> Reply:
    raise AssertionError("redis.call does not exist while a library loads")


def _compile(code: bytes, name: bytes | None = None) -> _Library | ErrorReply:
    """Load the library's code as FUNCTION LOAD does (after its name checks): what it registers.
    Deterministic: a fresh state, the instruction budget, no randomness reachable. `name`: the
    library's name when the caller has read it from the shebang already."""
    if name is None:
        parsed = library_name(code)
        if isinstance(parsed, ErrorReply):
            return parsed
        name = parsed
    functions = Run(_no_calls, random.Random(0)).load_library(code)
    if isinstance(functions, ErrorReply):
        return functions
    if not functions:
        return NO_FUNCTIONS
    ordered = [
        FunctionInfo(f.name, tuple(x for x in FLAG_ORDER if x in f.flags), f.description)
        for f in functions
    ]
    return _Library(name, code, tuple(ordered))


def _collision(get: Get, lib: _Library, replaced: set[bytes]) -> ErrorReply | None:
    """Redis's error when one of `lib`'s functions belongs to another library (not replaced)."""
    for f in lib.functions:
        owner = get(_func_key(f.name))
        if owner is not None and owner not in replaced:
            return ErrorReply(f"ERR Function {_text(f.name)} already exists")
    return None


def _load(w: KeyspaceWriter, code: bytes, replace: bool) -> Reply:
    name = library_name(code)
    if isinstance(name, ErrorReply):
        return name
    old = _library(w.sub_get, name)
    if old is not None and not replace:
        return ErrorReply(f"ERR Library '{_text(name)}' already exists")
    lib = _compile(code, name)
    if isinstance(lib, ErrorReply):
        return lib
    error = _collision(w.sub_get, lib, {name})
    if error is not None:
        return error
    if old is not None:
        _unlink(w, old)
    _put(w, lib)
    return name


# -- DUMP / RESTORE -----------------------------------------------------------------------------


def library_codes(view: KeyspaceView) -> list[bytes]:
    """Every library's source, as FUNCTION DUMP and an RDB file (`seshat/rdb/writer.py`) hold
    them."""
    return [lib.code for lib in _libraries(view)]


def _dump(view: KeyspaceView) -> bytes:
    body = _pack(library_codes(view))
    return DUMP_MAGIC + body + hashlib.sha1(DUMP_MAGIC + body).digest()


def _payload_codes(payload: bytes) -> list[bytes] | None:
    """The libraries' code in a payload FUNCTION DUMP made here, or None."""
    if len(payload) < len(DUMP_MAGIC) + 20 or not payload.startswith(DUMP_MAGIC):
        return None
    body, digest = payload[:-20], payload[-20:]
    if hashlib.sha1(body).digest() != digest:
        return None
    return _unpack(body[len(DUMP_MAGIC) :])


def _restore(w: KeyspaceWriter, payload: bytes, policy: bytes) -> Reply:
    codes = _payload_codes(payload)
    if codes is None:
        return BAD_PAYLOAD
    libs: dict[bytes, _Library] = {}
    functions: set[bytes] = set()
    for code in codes:  # into an empty set of libraries first, as Redis does
        lib = _compile(code)
        if isinstance(lib, ErrorReply):
            return lib
        if lib.name in libs:
            return ErrorReply(f"ERR Library '{_text(lib.name)}' already exists")
        for f in lib.functions:
            if f.name.lower() in functions:
                return ErrorReply(f"ERR Function {_text(f.name)} already exists")
            functions.add(f.name.lower())
        libs[lib.name] = lib
    if policy == b"flush":
        _flush(w)
    else:
        replaced = set()
        for name in libs:
            if w.sub_get(_lib_key(name)) is not None:
                if policy != b"replace":
                    return ErrorReply(f"ERR Library {_text(name)} already exists")
                replaced.add(name)
        for lib in libs.values():
            error = _collision(w.sub_get, lib, replaced)
            if error is not None:
                return error
        for name in replaced:
            old = _library(w.sub_get, name)
            assert old is not None
            _unlink(w, old)
    for lib in libs.values():
        _put(w, lib)
    return OK


# -- the commands -------------------------------------------------------------------------------


def prepare_function(argv: list[bytes], now_ms: int) -> list[bytes] | ErrorReply:
    """What FUNCTION LOAD/DELETE/FLUSH/RESTORE can refuse before proposing (state aside)."""
    spec = T.lookup_subcommand(b"function", argv[1])
    if spec is None:
        return E.unknown_subcommand(argv[1], "FUNCTION")
    if not spec.arity_ok(len(argv)):
        return E.wrong_arity(spec.name)
    sub = argv[1].lower()
    if sub == b"load":
        for option in argv[2:-1]:
            if option.lower() != b"replace":
                return ErrorReply(f"ERR Unknown option given: {_text(option)}")
        name = library_name(argv[-1])
        return name if isinstance(name, ErrorReply) else argv
    if sub == b"flush":
        if len(argv) > 3:
            return E.subcommand_syntax(argv[1], "FUNCTION")
        if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
            return FLUSH_SYNTAX
    if sub == b"restore":
        if len(argv) > 4:
            return E.subcommand_syntax(argv[1], "FUNCTION")
        if len(argv) == 4 and argv[3].lower() not in (b"flush", b"append", b"replace"):
            return BAD_POLICY
        if _payload_codes(argv[2]) is None:
            return BAD_PAYLOAD
    return argv


def apply_function(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """FUNCTION LOAD, DELETE, FLUSH and RESTORE through the log (and any subcommand in MULTI)."""
    sub = argv[1].lower()
    if sub == b"load":
        return _load(w, argv[-1], len(argv) > 3)
    if sub == b"delete":
        lib = _library(w.sub_get, argv[2])
        if lib is None:
            return LIBRARY_NOT_FOUND
        _unlink(w, lib)
        return OK
    if sub == b"flush":
        _flush(w)
        return OK
    if sub == b"restore":
        return _restore(w, argv[2], argv[3].lower() if len(argv) > 3 else b"append")
    return read_function(S.pending(w), now_ms, db, argv)


def read_function(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    """FUNCTION LIST, DUMP, STATS, KILL and HELP: nothing to replicate."""
    sub = argv[1].lower()
    if sub == b"list":
        return _list(view, argv)
    if sub == b"dump":
        return _dump(view)
    if sub == b"stats":
        libraries = list(_libraries(view))
        counts = Map([
            (b"libraries_count", len(libraries)),
            (b"functions_count", sum(len(lib.functions) for lib in libraries)),
        ])  # fmt: skip
        return Map([(b"running_script", None), (b"engines", Map([(b"LUA", counts)]))])
    if sub == b"kill":
        return S.NOT_BUSY  # a function runs inside apply, start to end: nothing is ever running
    return [SimpleString(line) for line in _HELP]


def _list(view: KeyspaceView, argv: list[bytes]) -> Reply:
    with_code, pattern = False, None
    i = 2
    while i < len(argv):
        arg = argv[i].lower()
        if not with_code and arg == b"withcode":
            with_code = True
        elif pattern is None and arg == b"libraryname":
            if i >= len(argv) - 1:
                return ErrorReply("ERR library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            return ErrorReply(f"ERR Unknown argument {_text(argv[i])}")
        i += 1
    out: list[Reply] = []
    for lib in _libraries(view):
        if pattern is not None and not glob.match(pattern.lower(), lib.name.lower()):
            continue
        functions: list[Reply] = [
            Map([(b"name", f.name), (b"description", f.description), (b"flags", list(f.flags))])
            for f in sorted(lib.functions, key=lambda f: f.name)
        ]
        fields: list[tuple[Reply, Reply]] = [
            (b"library_name", lib.name), (b"engine", b"LUA"), (b"functions", functions),
        ]  # fmt: skip
        if with_code:
            fields.append((b"library_code", lib.code))
        out.append(Map(fields))
    return out


def _callee(get: Get, argv: list[bytes]) -> tuple[_Library, FunctionInfo] | ErrorReply:
    """FCALL's and FCALL_RO's function and library, or their first error, in Redis's order."""
    found = _find(get, argv[1])
    if found is None:
        return NOT_FOUND
    error = S.check_keys(argv, BAD_NUMKEYS)
    return found if error is None else error


def apply_fcall(w: KeyspaceWriter, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    found = _callee(w.sub_get, argv)
    if isinstance(found, ErrorReply):
        return found
    lib, f = found
    h = S.Host(S.pending(w), w, now_ms, db)
    if b"no-writes" in f.flags:
        h.writer = None  # writes refused; still run in apply (MONITOR shows its calls)
    reply = S.run_function(h, lib.code, f.name, argv, S.entry_seed(w, f.name))
    S.note_reads(w)
    return reply


def read_fcall_ro(view: KeyspaceView, now_ms: int, db: int, argv: list[bytes]) -> Reply:
    found = _callee(view.sub_get, argv)
    if isinstance(found, ErrorReply):
        return found
    lib, f = found
    if b"no-writes" not in f.flags:
        return WRITE_FLAG_RO
    h = S.Host(view, None, now_ms, db)
    return S.run_function(h, lib.code, f.name, argv, chance.rng().getrandbits(64))
