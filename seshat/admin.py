"""Connection and server commands: PING ECHO QUIT HELLO AUTH CLIENT COMMAND INFO CONFIG TIME.

These touch the connection or the node, not the keyspace, so they never go through Raft. Each
handler takes the connection and argv (arity already checked by kv's command table) and returns
a typed reply; replies follow Redis 7.0.15 (`HELLO 3` answers a map, `CLIENT INFO` and `INFO`
a verbatim string, `COMMAND DOCS` a map).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from seshat.acl.commands import acl_command
from seshat.admin_commands import HANDLERS as ADMIN_COMMAND_HANDLERS
from seshat.client_controls import CLIENT_HANDLERS as CLIENT_CONTROL_HANDLERS
from seshat.cluster_commands import cluster_command
from seshat.kv import errors as E
from seshat.kv.commands import (
    FLAG_BITS,
    SUBCOMMANDS,
    TABLE,
    CommandSpec,
    command_docs_reply,
    command_info_reply,
    lookup,
    lookup_subcommand,
)
from seshat.kv.key_specs import find_keys, ordered
from seshat.kv.numbers import parse_int
from seshat.protocol.replies import (
    OK,
    PONG,
    ErrorReply,
    Map,
    Reply,
    Set,
    SimpleString,
    Verbatim,
)
from seshat.pubsub import CHANNELS, PATTERNS, SHARD_CHANNELS
from seshat.pubsub import HANDLERS as PUBSUB_HANDLERS
from seshat.tracking import CLIENT_HANDLERS as TRACKING_HANDLERS

if TYPE_CHECKING:
    from seshat.client import ClientConnection
    from seshat.server import Server

DEFERRED: Any = object()
"""A handler's answer when the reply will come later (through `conn.await_admin`)."""

REDIS_VERSION = "7.0.15"  # the Redis whose behaviour we reproduce; clients branch on it

Handler = Callable[["Admin", "ClientConnection", list[bytes]], Reply]


def _is_valid_client_name(name: bytes) -> bool:
    return all(33 <= b <= 126 for b in name)


class Admin:
    def __init__(self, server: Server) -> None:
        self.server = server
        self._handlers: dict[bytes, Handler] = {
            b"ping": Admin.ping,
            b"echo": Admin.echo,
            b"quit": Admin.quit,
            b"hello": Admin.hello,
            b"auth": Admin.auth,
            b"acl": acl_command,  # ACL's node-answered subcommands (seshat/acl/commands.py)
            b"client": Admin.client,
            b"command": Admin.command,
            b"info": Admin.info,
            b"config": Admin.config,
            b"time": Admin.time,
            b"shutdown": Admin.shutdown,
            b"cluster": cluster_command,
            b"readonly": _readonly,
            b"readwrite": _readwrite,
            b"raft.node": _raft_node,
            b"raft.transfer": _raft_transfer,
            b"raft.status": _raft_status,
            b"reset": Admin.reset,
            **PUBSUB_HANDLERS,
            **ADMIN_COMMAND_HANDLERS,  # ROLE WAIT SLOWLOG LATENCY MEMORY LASTSAVE SAVE ...
        }

    def execute(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        handler = self._handlers.get(argv[0].lower())
        if handler is None:
            return E.unknown_command(argv)
        return handler(self, conn, argv)

    # ------------------------------------------------------------------ connection

    def ping(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        if len(argv) > 2:
            return E.wrong_arity(b"ping")  # Redis names the command as its table does
        if conn.subscriptions is not None and conn.protocol == 2:
            return [b"pong", argv[1] if len(argv) == 2 else b""]  # as Redis in pub/sub mode
        return argv[1] if len(argv) == 2 else PONG

    def echo(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        return argv[1]

    def reset(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        """Back to a new connection's state, as Redis's `clearClientConnectionState`."""
        conn.reset()
        return SimpleString(b"RESET")

    def quit(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        conn.close_after_reply()
        return OK

    def auth(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        if len(argv) > 3:
            return E.SYNTAX
        acl = self.server.acl  # users, requirepass included: seshat/acl/state.py
        if len(argv) == 2 and acl.default_nopass():
            return E.AUTH_NOT_CONFIGURED
        user = argv[1] if len(argv) == 3 else b"default"
        if acl.authenticate(conn, user, argv[-1], argv[0]):
            return OK
        return E.WRONGPASS

    def hello(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        protocol = conn.protocol
        i = 1
        if len(argv) >= 2:
            parsed = parse_int(argv[1])  # Redis's strict int64: no sign, spaces or overflow
            if parsed is None:
                return E.PROTOVER_NOT_INTEGER
            protocol = parsed
            if protocol < 2 or protocol > 3:
                return E.NOPROTO
            i = 2
        auth: tuple[bytes, bytes] | None = None
        name: bytes | None = None
        while i < len(argv):
            option = argv[i].lower()
            if option == b"auth" and i + 2 < len(argv):
                auth = (argv[i + 1], argv[i + 2])
                i += 3
            elif option == b"setname" and i + 1 < len(argv):
                name = argv[i + 1]
                i += 2
            else:
                return E.hello_syntax(argv[i])
        if auth is not None and not self.server.acl.authenticate(conn, *auth, argv[0]):
            return E.WRONGPASS
        if not conn.authenticated:
            return E.HELLO_NOAUTH
        if name is not None:
            if not _is_valid_client_name(name):
                return E.CLIENT_NAME_CHARS
            conn.name = name
        conn.protocol = protocol
        return Map(
            [
                (b"server", b"redis"),
                (b"version", REDIS_VERSION.encode()),
                (b"proto", protocol),
                (b"id", conn.id),
                (b"mode", b"standalone"),
                (b"role", b"master" if self.server.node.is_leader() else b"replica"),
                (b"modules", []),
            ]
        )

    # ------------------------------------------------------------------ CLIENT

    def client(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        sub = argv[1].lower()
        n = len(argv)
        if sub == b"id" and n == 2:
            return conn.id
        if sub == b"getname" and n == 2:
            return conn.name or None
        if sub == b"setname" and n == 3:
            if not _is_valid_client_name(argv[2]):
                return E.CLIENT_NAME_CHARS
            conn.name = argv[2]
            return OK
        if sub == b"setinfo" and n == 4:
            attr = argv[2].lower()
            if attr == b"lib-name":
                conn.lib_name = argv[3]
            elif attr == b"lib-ver":
                conn.lib_ver = argv[3]
            else:
                return ErrorReply(f"ERR Unrecognized option '{argv[2].decode(errors='replace')}'")
            return OK
        if sub == b"info" and n == 2:
            return Verbatim(self._client_line(conn, conn, "client|info").encode())
        if sub == b"list":
            return self._client_list(conn, argv)
        if sub == b"kill":
            return self._client_kill(conn, argv)
        if sub in (b"no-evict", b"no-touch") and n == 3:
            if argv[2].lower() not in (b"on", b"off"):
                return E.SYNTAX
            return OK
        if sub == b"help" and n == 2:
            return _help(b"CLIENT")
        control = CLIENT_CONTROL_HANDLERS.get(sub) or TRACKING_HANDLERS.get(sub)
        if control is not None:
            return control(self, conn, argv)
        return ErrorReply(
            f"ERR unknown subcommand or wrong number of arguments for "
            f"'{argv[1].decode(errors='replace')[:128]}'. Try CLIENT HELP."
        )

    def _client_line(self, conn: ClientConnection, me: ClientConnection, current: str) -> str:
        """`current` is the full name (`client|list`) of the command `me` is running."""
        now = time.monotonic()
        cmd = conn.last_command.decode(errors="replace")
        cmd = current if conn is me else ("NULL" if cmd == "NULL" else cmd.lower())
        subs = conn.subscriptions
        families = (CHANNELS, PATTERNS, SHARD_CHANNELS)
        counts = [len(subs.by_family[f]) if subs else 0 for f in families]
        return (
            f"id={conn.id} addr={conn.addr} laddr={conn.laddr} fd=-1 "
            f"name={conn.name.decode(errors='replace')} age={int(now - conn.created_s)} "
            f"idle={int(now - conn.last_interaction_s)} flags={'P' if subs else 'N'} "
            f"db={conn.session.db} sub={counts[0]} psub={counts[1]} ssub={counts[2]} multi=-1 "
            f"qbuf={conn.parser.buffered_bytes()} qbuf-free=0 "
            f"argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r "
            f"cmd={cmd} user={conn.user_name.decode(errors='replace')} redir=-1 "
            f"resp={conn.protocol}\n"
        )

    def _client_list(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        clients = list(self.server.clients.values())
        if len(argv) > 2:
            option = argv[2].lower()
            if option == b"type" and len(argv) == 4:
                kind = argv[3].lower()
                if kind not in _CLIENT_TYPES:
                    return ErrorReply(
                        f"ERR Unknown client type '{argv[3].decode(errors='replace')}'"
                    )
                clients = [c for c in clients if _client_type(c) == kind]
            elif option == b"id" and len(argv) >= 4:
                wanted = set()
                for raw in argv[3:]:
                    try:
                        wanted.add(int(raw))
                    except ValueError:
                        return ErrorReply("ERR Invalid client ID")
                clients = [c for c in clients if c.id in wanted]
            else:
                return E.SYNTAX
        lines = (self._client_line(c, conn, "client|list") for c in clients)
        return Verbatim("".join(lines).encode())

    def _client_kill(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        clients = self.server.clients
        if len(argv) == 3:  # old form: CLIENT KILL addr:port
            target = argv[2].decode(errors="replace")
            for c in list(clients.values()):
                if c.addr == target:
                    c.kill()
                    return OK
            return E.NO_SUCH_CLIENT
        if len(argv) % 2 != 0:
            return E.SYNTAX
        killed = 0
        skipme = True
        filters: list[Callable[[ClientConnection], bool]] = []
        for i in range(2, len(argv), 2):
            option, value = argv[i].lower(), argv[i + 1]
            if option == b"id":
                wanted = parse_int(value)
                if wanted is None or wanted <= 0:
                    return ErrorReply("ERR client-id should be greater than 0")
                filters.append(lambda c, w=wanted: c.id == w)
            elif option == b"addr":
                filters.append(lambda c, a=value.decode(errors="replace"): c.addr == a)
            elif option == b"laddr":
                filters.append(lambda c, a=value.decode(errors="replace"): c.laddr == a)
            elif option == b"skipme":
                if value.lower() not in (b"yes", b"no"):
                    return E.SYNTAX
                skipme = value.lower() == b"yes"
            elif option == b"type":
                wanted_type = value.lower()
                if wanted_type not in _CLIENT_TYPES:
                    return ErrorReply(f"ERR Unknown client type '{value.decode(errors='replace')}'")
                filters.append(lambda c, t=wanted_type: _client_type(c) == t)
            elif option == b"user":
                if self.server.acl.user(value) is None:  # ACL users: seshat/acl
                    return ErrorReply(f"ERR No such user '{value.decode(errors='replace')}'")
                filters.append(lambda c, u=value: c.user_name == u)

            else:
                return E.SYNTAX
        for c in list(clients.values()):
            if skipme and c is conn:
                continue
            if all(f(c) for f in filters):
                if c is conn:
                    conn.close_after_reply()  # Redis answers, then closes its own killer
                else:
                    c.kill()
                killed += 1
        return killed

    # ------------------------------------------------------------------ COMMAND

    def command(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        if len(argv) == 1:
            return [command_info_reply(spec) for spec in TABLE]
        sub = argv[1].lower()
        if sub == b"count" and len(argv) == 2:
            return len(TABLE)
        if sub == b"info":
            specs = TABLE if len(argv) == 2 else [_lookup_full(name) for name in argv[2:]]
            return [command_info_reply(s) if s is not None else None for s in specs]
        if sub == b"docs":
            names = [s.name for s in TABLE] if len(argv) == 2 else argv[2:]
            items: list[tuple[Reply, Reply]] = []
            for name in names:
                spec = _lookup_full(name)
                if spec is not None:
                    items.append((spec.name, command_docs_reply(spec)))
            return Map(items)
        if sub == b"list" and len(argv) == 2:
            return [row.name for row in _command_rows()]  # as Redis: subcommands too
        if sub == b"list":
            return self._command_list_filtered(argv)
        if sub == b"help" and len(argv) == 2:
            return _help(b"COMMAND")
        if sub in (b"getkeys", b"getkeysandflags") and len(argv) >= 3:
            return _get_keys_reply(argv[2:], with_flags=sub == b"getkeysandflags")
        return ErrorReply(
            f"ERR unknown subcommand or wrong number of arguments for "
            f"'{argv[1].decode(errors='replace')[:128]}'. Try COMMAND HELP."
        )

    def _command_list_filtered(self, argv: list[bytes]) -> Reply:
        """COMMAND LIST FILTERBY MODULE|ACLCAT|PATTERN <value>: subcommands count too."""
        if len(argv) != 5 or argv[2].lower() != b"filterby":
            return E.SYNTAX
        kind, value = argv[3].lower(), argv[4].decode(errors="replace").lower()
        rows = _command_rows()
        if kind == b"pattern":
            return [r.name for r in rows if fnmatch.fnmatchcase(r.name.decode(), value)]
        if kind == b"aclcat":
            return [r.name for r in rows if "@" + value in r.acl_categories]
        if kind == b"module":
            return []
        return E.SYNTAX

    # ------------------------------------------------------------------ INFO

    def info(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        return self.server.info.render(argv)  # sections and fields: seshat/info_sections.py

    # ------------------------------------------------------------------ CONFIG

    def config(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        sub = argv[1].lower()
        params = self.server.config_params()
        if sub == b"get" and len(argv) >= 3:
            # As `configGetCommand`: a plain name is looked up and answered as the client spelt
            # it; a glob answers the parameters' own names. Each parameter appears once.
            items: list[tuple[Reply, Reply]] = []
            seen = set()
            for given in argv[2:]:
                pat = given.decode(errors="replace").lower()
                if not any(c in pat for c in "[*?"):
                    if pat in params and pat not in seen:
                        seen.add(pat)
                        items.append((given, params[pat]().encode()))
                    continue
                for name in sorted(params):
                    if name not in seen and fnmatch.fnmatchcase(name, pat):
                        seen.add(name)
                        items.append((name.encode(), params[name]().encode()))
            return Map(items)
        if sub == b"set" and len(argv) % 2 != 0:
            return E.SYNTAX
        if sub == b"set" and len(argv) >= 4:
            changes = {}
            known = self.server.settable_params()
            for i in range(2, len(argv), 2):
                name = argv[i].decode(errors="replace").lower()
                if name not in known:
                    if name in params:  # shown by CONFIG GET (raft-port...): fixed at start
                        return E.config_set_failed(name, "can't set immutable config")
                    return E.config_set_unknown(argv[i])
                if name in changes:
                    return E.config_set_failed(name, "duplicate parameter")
                changes[name] = argv[i + 1]
            # As Redis 7: all or nothing. What was set before a refusal is set back.
            setters = known
            before = {name: params[name]().encode() for name in changes if name in params}
            done: list[str] = []
            for name, value in changes.items():
                error = setters[name](value)
                if error is not None:
                    for undo in reversed(done):
                        if undo in before:
                            setters[undo](before[undo])
                    return error
                done.append(name)
            return OK
        if sub == b"resetstat" and len(argv) == 2:
            self.server.info.reset_stats()
            return OK
        if sub == b"rewrite" and len(argv) == 2:
            return ErrorReply("ERR The server is running without a config file")
        if sub == b"help" and len(argv) == 2:
            return _help(b"CONFIG")
        return ErrorReply(
            f"ERR unknown subcommand or wrong number of arguments for "
            f"'{argv[1].decode(errors='replace')[:128]}'. Try CONFIG HELP."
        )

    # ------------------------------------------------------------------ TIME

    def shutdown(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        """Stop this node as SIGTERM does. Every acknowledged write is already durable, so
        SAVE/NOSAVE change nothing, and with no shutdown to wait for there is none to ABORT.

        As in Redis, the client gets no reply: its earlier commands are answered, then the
        connection closes with the server.
        """
        flags: set[bytes] = set()
        abort = False
        for arg in argv[1:]:
            word = arg.lower()
            if word == b"abort":
                abort = True
            elif word in (b"nosave", b"save", b"now", b"force"):
                flags.add(word)
            else:
                return E.SYNTAX
        if (abort and flags) or {b"nosave", b"save"} <= flags:
            return E.SYNTAX
        if abort:
            return E.NO_SHUTDOWN_IN_PROGRESS
        self.server.log.info("shutdown_requested", command="SHUTDOWN", client=conn.addr)
        conn.close_after_reply()
        self.server.request_stop()
        return DEFERRED

    def time(self, conn: ClientConnection, argv: list[bytes]) -> Reply:
        now_ns = time.time_ns()
        return [str(now_ns // 1_000_000_000).encode(), str(now_ns // 1000 % 1_000_000).encode()]


_CLIENT_TYPES = frozenset({b"normal", b"master", b"replica", b"slave", b"pubsub"})


def _command_rows() -> list[Any]:
    """Every command and then its subcommands, the order COMMAND LIST names them in."""
    return [row for spec in TABLE for row in (spec, *SUBCOMMANDS.get(spec.name, ()))]


def _client_type(conn: ClientConnection) -> bytes:
    """CLIENT LIST TYPE / CLIENT KILL TYPE: a connection in pub/sub mode, or a normal one."""
    return b"pubsub" if conn.subscriptions is not None else b"normal"


def _lookup_full(name: bytes) -> CommandSpec | None:
    """A command by name, or a subcommand by its full name (`client|id`), as COMMAND INFO and
    COMMAND DOCS find them (Redis's `lookupCommandBySds`)."""
    container, bar, sub_name = name.partition(b"|")
    if not bar:
        return lookup(name)
    spec = lookup(container)
    if spec is None or not spec.subcommands:
        return None
    return lookup_subcommand(spec.name, sub_name)


def _get_keys_reply(args: list[bytes], with_flags: bool) -> Reply:
    """COMMAND GETKEYS / GETKEYSANDFLAGS, as Redis 7.0's `getKeysSubcommandImpl`."""
    spec = lookup(args[0])
    if spec is not None and spec.subcommands and len(args) > 1:
        spec = lookup_subcommand(spec.name, args[1])
    if spec is None:
        return E.INVALID_COMMAND
    if not any("not_key" not in ks.flags for ks in spec.key_specs):
        return E.NO_KEY_ARGUMENTS
    if not spec.arity_ok(len(args)):
        return E.INVALID_ARGUMENTS
    keys = find_keys(spec, args)
    if not keys:
        if spec.flags & FLAG_BITS["no_mandatory_keys"]:
            return []
        return ErrorReply("ERR Invalid arguments specified for command")
    if not with_flags:
        return [args[ref.position] for ref in keys]
    return [
        [args[ref.position], Set([SimpleString(f.encode()) for f in ordered(ref.flags)])]
        for ref in keys
    ]


def _help(container: bytes) -> Reply:
    """`<CONTAINER> HELP`: status lines, as Redis's `addReplyHelp`, naming our subcommands."""
    lines = [container + b" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"]
    for spec in SUBCOMMANDS[container.lower()]:
        lines.append(spec.name.split(b"|", 1)[1].upper())
    return [SimpleString(line) for line in lines]


# ---------------------------------------------------------------------- cluster commands
# CLUSTER itself is seshat/cluster_commands.py; READONLY and READWRITE only set a flag.


def _readonly(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    conn.readonly = True
    return OK


def _readwrite(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    conn.readonly = False
    return OK


def _raft_status(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    server = self.server
    raw = server.node.raw
    conf = raw.conf_state()
    cluster = server.cluster
    members: list[Reply] = []
    for n in conf.all_nodes():
        progress = raw.raft.progress.get(n) if raw.role().value == "leader" else None
        members.append(
            Map(
                [
                    (b"id", n),
                    (b"voter", n in conf.voters),
                    (b"raft", (cluster.raft_addresses.get(n, "") if cluster else "").encode()),
                    (b"client", (cluster.client_addresses.get(n, "") if cluster else "").encode()),
                    (b"match", progress.match if progress is not None else -1),
                ]
            )
        )
    return Map(
        [
            (b"node_id", raw.id),
            (b"role", raw.role().value.encode()),
            (b"term", raw.term()),
            (b"leader_id", raw.leader_id()),
            (b"commit_index", raw.committed()),
            (b"applied_index", server.node.applied),
            (b"members", members),
        ]
    )


def _raft_node(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    server = self.server
    cluster = server.cluster
    if cluster is None:
        return ErrorReply("ERR this node was started without --peers: membership is fixed")
    sub = argv[1].lower()
    try:
        node_id = int(argv[2])
    except ValueError:
        return E.NOT_INTEGER
    if not server.node.is_leader():
        return ErrorReply(f"ERR not the leader; run it on node {server.node.leader_id()}")
    if sub == b"add" and len(argv) == 5:
        conn.await_admin(cluster.add_node(node_id, argv[3].decode(), argv[4].decode()))
        return DEFERRED  # the reply comes from await_admin
    if sub == b"remove" and len(argv) == 3:
        from seshat.transport import api

        conn.await_admin(
            _membership_reply(
                cluster.handle_change_membership(
                    api.ChangeMembershipRequest(api.MembershipAction.REMOVE, node_id)
                )
            )
        )
        return DEFERRED
    return E.SYNTAX


async def _membership_reply(awaitable: Any) -> str:
    reply = await awaitable
    return reply.error if reply.status.value != 0 else ""


def _raft_transfer(self: Admin, conn: ClientConnection, argv: list[bytes]) -> Reply:
    server = self.server
    try:
        target = int(argv[1])
    except ValueError:
        return E.NOT_INTEGER
    if not server.node.is_leader():
        return ErrorReply(f"ERR not the leader; run it on node {server.node.leader_id()}")
    if target not in server.node.raw.conf_state().voters:
        return ErrorReply(f"ERR node {target} is not a voter")
    server.node.transfer_leader(target)
    return OK

