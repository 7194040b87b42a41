"""Every Redis-exact error reply Seshat's command layer sends, in one module.

Clients branch on these texts (redis-py maps the first word, and for `ERR` sometimes the whole
line, to exception classes), so one changed word breaks a client. Each string below was checked
against redis-server 7.0.15. Fixed replies are module constants built once (as `shared.*` in
Redis `server.c`); the ones that echo user input are small functions.
"""

from __future__ import annotations

from seshat.protocol.replies import ErrorReply

# Echoed user input is cut to this many bytes, as `commandCheckExistence` does in Redis.
ECHO_BYTES_MAX = 128

WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INTEGER = ErrorReply("ERR value is not an integer or out of range")
INT32_RANGE = ErrorReply("ERR value is out of range, value must between -2147483648 and 2147483647")
NOT_FLOAT = ErrorReply("ERR value is not a valid float")
OVERFLOW = ErrorReply("ERR increment or decrement would overflow")
DECREMENT_OVERFLOW = ErrorReply("ERR decrement would overflow")
NAN_OR_INFINITY = ErrorReply("ERR increment would produce NaN or Infinity")
SYNTAX = ErrorReply("ERR syntax error")
DB_INDEX_OUT_OF_RANGE = ErrorReply("ERR DB index is out of range")
INVALID_FIRST_DB = ErrorReply("ERR invalid first DB index")
INVALID_SECOND_DB = ErrorReply("ERR invalid second DB index")
STRING_TOO_LONG = ErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
OFFSET_OUT_OF_RANGE = ErrorReply("ERR offset is out of range")
BIT_OFFSET = ErrorReply("ERR bit offset is not an integer or out of range")
BIT_VALUE = ErrorReply("ERR bit is not an integer or out of range")
BIT_ARGUMENT = ErrorReply("ERR The bit argument must be 1 or 0.")
BITOP_NOT_ONE_KEY = ErrorReply("ERR BITOP NOT must be called with a single source key.")
NO_SUCH_KEY = ErrorReply("ERR no such key")
SAME_OBJECT = ErrorReply("ERR source and destination objects are the same")
INVALID_CURSOR = ErrorReply("ERR invalid cursor")
EXPIRE_NX_XX_GT_LT = ErrorReply(
    "ERR NX and XX, GT or LT options at the same time are not compatible"
)
EXPIRE_GT_LT = ErrorReply("ERR GT and LT options at the same time are not compatible")


def _echo(arg: bytes) -> str:
    """User input as Redis echoes it in errors: 128 bytes at most, CR and LF made spaces."""
    text = arg[:ECHO_BYTES_MAX].decode("utf-8", "replace")
    return text.replace("\r", " ").replace("\n", " ")


def wrong_arity(name: bytes) -> ErrorReply:
    """`name` is the command name as the client typed it (Redis echoes the user's case)."""
    return ErrorReply(f"ERR wrong number of arguments for '{_echo(name)}' command")


def unknown_command(argv: list[bytes]) -> ErrorReply:
    """Redis quotes the name and then arguments while the quoted list is under 128 bytes,
    each cut to what is left of those 128 (`processCommand` in `server.c`)."""
    args = b""
    for arg in argv[1:]:
        if len(args) >= ECHO_BYTES_MAX:
            break
        args += b"'" + arg[: ECHO_BYTES_MAX - len(args)] + b"' "
    text = args.decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
    return ErrorReply(f"ERR unknown command '{_echo(argv[0])}', with args beginning with: {text}")


def unknown_subcommand(sub: bytes, command: str) -> ErrorReply:
    return ErrorReply(f"ERR unknown subcommand '{_echo(sub)}'. Try {command} HELP.")


def subcommand_syntax(sub: bytes, command: str) -> ErrorReply:
    """A known subcommand with arguments its container's handler does not take."""
    return ErrorReply(
        f"ERR unknown subcommand or wrong number of arguments for '{_echo(sub)}'. "
        f"Try {command} HELP."
    )


def only_pubsub_allowed(fullname: bytes) -> ErrorReply:
    """A RESP2 connection in pub/sub mode ran anything but the few commands it may."""
    return ErrorReply(
        f"ERR Can't execute '{fullname.decode(errors='replace')}': only (P|S)SUBSCRIBE / "
        "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )


def invalid_expire_time(command: str) -> ErrorReply:
    """`command` lowercased, as Redis prints `c->cmd->fullname`."""
    return ErrorReply(f"ERR invalid expire time in '{command}' command")


def unsupported_option(option: bytes) -> ErrorReply:
    return ErrorReply(f"ERR Unsupported option {_echo(option)}")

# --- connection, authentication and cluster state (the server layer answers these) ---
NOAUTH = ErrorReply("NOAUTH Authentication required.")
WRONGPASS = ErrorReply("WRONGPASS invalid username-password pair or user is disabled.")
AUTH_NOT_CONFIGURED = ErrorReply(
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
HELLO_NOAUTH = ErrorReply(
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
    "select the RESP protocol version at the same time"
)
NOPROTO = ErrorReply("NOPROTO unsupported protocol version")
PROTOVER_NOT_INTEGER = ErrorReply("ERR Protocol version is not an integer or out of range")
CLIENT_NAME_CHARS = ErrorReply(
    "ERR Client names cannot contain spaces, newlines or special characters."
)
NO_SUCH_CLIENT = ErrorReply("ERR No such client")
INVALID_COMMAND = ErrorReply("ERR Invalid command specified")
NO_KEY_ARGUMENTS = ErrorReply("ERR The command has no key arguments")
INVALID_ARGUMENTS = ErrorReply("ERR Invalid number of arguments specified for command")
CLUSTERDOWN_NO_LEADER = ErrorReply("CLUSTERDOWN no Raft leader is known (election in progress?)")
TRYAGAIN_UNCOMMITTED_LIMIT = ErrorReply("TRYAGAIN too many writes waiting to commit; retry")
TRYAGAIN_NO_LEADER = ErrorReply("TRYAGAIN the Raft leader could not confirm this request; retry")
WRITE_NOT_COMMITTED = ErrorReply(
    "TRYAGAIN the write was not committed (leadership changed) and was not applied; retry"
)
NODE_FAILED = ErrorReply(
    "ERR write outcome unknown: the node running it stopped on a storage error (see that "
    "node's log; it may or may not have been applied)"
)
UNKNOWN_OUTCOME = ErrorReply(
    "ERR write outcome unknown: leadership changed before it was known to commit "
    "(it may or may not have been applied)"
)
NO_SHUTDOWN_IN_PROGRESS = ErrorReply("ERR No shutdown in progress.")
NOT_ALLOWED_IN_MULTI = ErrorReply("ERR Command not allowed inside a transaction")
SHUTTING_DOWN = ErrorReply("ERR the server is shutting down")


def hello_syntax(option: bytes) -> ErrorReply:
    return ErrorReply(f"ERR Syntax error in HELLO option '{_echo(option)}'")


def config_set_failed(name: str, reason: str) -> ErrorReply:
    """Redis's refusal of a CONFIG SET value (the argument is known, the value is not allowed)."""
    return ErrorReply(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")


def config_set_unknown(name: bytes) -> ErrorReply:
    return ErrorReply(
        f"ERR Unknown option or number of arguments for CONFIG SET - '{_echo(name)}'"
    )
