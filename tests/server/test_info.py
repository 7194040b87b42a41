"""INFO against a real redis-server 7.0: the same sections, the same field names in the same
order, values of the same shape; and Seshat's counters moving when what they count happens.

The shape of a value is what a monitoring tool parses: an integer, a float (`1.23`), a size
(`919.23K`), a percentage (`100.20%`), a word, or a comma-separated list of `key=value` of
those (`count=3`, `keys=2,expires=1,avg_ttl=0`). Seshat may add fields after Redis's in a
section (node_id, raft_*) and adds the `# Raft` section; nothing else may differ.

Counters are compared before and after the event that moves them, and a counter that moves
later (an expiry, a 100 ms rate sample) is polled for, never waited for with a fixed sleep.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
import redis

from seshat.info_sections import ERROR_CODES_MAX, Stats, bytes_to_human
from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import WireClient, parse
from tests.waiting import poll_until

Section = list[tuple[str, str]]

# The sections `INFO` prints with no argument, in Redis 7.0's order.
DEFAULT_TITLES = [
    "Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
    "Errorstats", "Cluster", "Keyspace",
]  # fmt: skip
COMPARED = [
    "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
    "errorstats", "cluster", "keyspace",
]  # fmt: skip
# The same commands go to both servers first, so errorstats and keyspace have rows on both.
SETUP = [
    [b"SET", b"info:a", b"1"],
    [b"SET", b"info:b", b"2", b"EX", b"1000"],
    [b"NOSUCHCOMMAND"],
    [b"LPUSH", b"info:a", b"x"],
    [b"GET", b"info:a"],
    [b"GET", b"info:missing"],
]


def info_text(port: int, *sections: str) -> str:
    client = WireClient(port)
    try:
        raw = client.call([b"INFO", *(s.encode() for s in sections)])
    finally:
        client.close()
    node, _ = parse(raw)
    assert node.marker == b"$", raw[:80]
    assert node.value is not None
    return node.value.decode()


def parse_info(text: str) -> dict[str, Section]:
    """Title -> [(field, value)] in printed order; checks the line syntax on the way."""
    sections: dict[str, Section] = {}
    current: Section | None = None
    assert text == "" or text.endswith("\r\n"), text[-40:]
    for line in text.split("\r\n")[:-1]:
        if line.startswith("# "):
            current = sections.setdefault(line[2:], [])
        elif line:
            assert current is not None, line
            name, sep, value = line.partition(":")
            assert sep and re.fullmatch(r"[\w|]+", name), line  # `|`: cmdstat_config|get
            current.append((name, value))
    return sections


def shape(value: str) -> object:
    if re.fullmatch(r"-?\d+", value):
        return "int"
    if re.fullmatch(r"-?\d+\.\d+", value):
        return "float"
    if re.fullmatch(r"\d+(\.\d+)?[BKMGTP]", value):
        return "human"
    if re.fullmatch(r"\d+\.\d+%", value):
        return "percent"
    if "=" in value:
        return [(k, shape(v)) for k, _, v in (item.partition("=") for item in value.split(","))]
    return "word"


@pytest.fixture
def prepared(redis_port: int, seshat_port: int) -> tuple[int, int]:  # noqa: F811
    for port in (redis_port, seshat_port):
        client = WireClient(port)
        try:
            for argv in SETUP:
                client.call(argv)
        finally:
            client.close()
    return redis_port, seshat_port


@pytest.fixture
def r(seshat_port: int) -> Iterator[redis.Redis]:  # noqa: F811
    client = redis.Redis(port=seshat_port, protocol=2, socket_timeout=10)
    yield client
    client.close()


# ---- the same fields as Redis -------------------------------------------------------------------


@pytest.mark.parametrize("section", COMPARED)
def test_section_has_redis_fields_in_order_with_same_shapes(
    section: str, prepared: tuple[int, int]
) -> None:
    redis_port, seshat_port = prepared
    theirs = parse_info(info_text(redis_port, section))
    ours = parse_info(info_text(seshat_port, section))
    assert list(ours) == list(theirs), (list(theirs), list(ours))
    for title, their_rows in theirs.items():
        our_rows = ours[title]
        their_names = [name for name, _ in their_rows]
        our_names = [name for name, _ in our_rows]
        assert our_names[: len(their_names)] == their_names, (title, their_names, our_names)
        for (name, their_value), (_, our_value) in zip(their_rows, our_rows):
            assert shape(our_value) == shape(their_value), (name, their_value, our_value)


@pytest.mark.parametrize("argv", [[], ["default"], ["DEFAULT"]])
def test_default_sections_as_redis_then_raft(argv: list[str], prepared: tuple[int, int]) -> None:
    redis_port, seshat_port = prepared
    assert list(parse_info(info_text(redis_port, *argv))) == DEFAULT_TITLES
    assert list(parse_info(info_text(seshat_port, *argv))) == [*DEFAULT_TITLES, "Raft"]


@pytest.mark.parametrize("word", ["all", "everything"])
def test_all_sections_are_redis_ones_then_raft(word: str, prepared: tuple[int, int]) -> None:
    redis_port, seshat_port = prepared
    theirs = list(parse_info(info_text(redis_port, word)))
    assert list(parse_info(info_text(seshat_port, word))) == [*theirs, "Raft"]


PER_COMMAND = [[b"SET", b"cs:a", b"1"], *[[b"GET", b"cs:a"]] * 3, *[[b"INCR", b"cs:n"]] * 2,
               [b"HSET", b"cs:h", b"f", b"v"], [b"CONFIG", b"GET", b"hz"]]  # fmt: skip


def after_resetstat(
    port: int, commands: list[list[bytes]], *sections: str
) -> dict[str, dict[str, str]]:
    """INFO `sections` (title -> field -> value) after CONFIG RESETSTAT and `commands`."""
    client = WireClient(port)
    try:
        client.call([b"CONFIG", b"RESETSTAT"])
        for argv in commands:
            client.call(argv)
    finally:
        client.close()
    info = parse_info(info_text(port, *sections))
    return {title: dict(section) for title, section in info.items()}


def test_commandstats_and_latencystats_count_calls_as_redis(prepared: tuple[int, int]) -> None:
    """After CONFIG RESETSTAT, the same commands on both servers: the same calls per command,
    rows of the same shape (times and percentiles differ, and Seshat's are bucket bounds)."""
    theirs, ours = (
        after_resetstat(port, PER_COMMAND, "commandstats", "latencystats") for port in prepared
    )
    for name in ("set", "get", "incr", "hset", "config|get"):
        their_row = theirs["Commandstats"][f"cmdstat_{name}"]
        our_row = ours["Commandstats"][f"cmdstat_{name}"]
        assert shape(our_row) == shape(their_row), (name, their_row, our_row)
        calls = [row.split(",")[0] for row in (their_row, our_row)]
        assert calls[0] == calls[1], (name, calls)
        key = f"latency_percentiles_usec_{name}"
        assert shape(ours["Latencystats"][key]) == shape(theirs["Latencystats"][key])
    client = WireClient(prepared[1])
    try:
        client.call([b"CONFIG", b"RESETSTAT"])
    finally:
        client.close()
    assert "cmdstat_get" not in info_text(prepared[1], "commandstats")


# Refused before running (rejected_calls), ran and answered an error (failed_calls), or never
# resolved to a command (no row at all), as Redis 7.0's processCommand and call() count them.
OUTCOMES = [
    [b"SET", b"oc:k"],  # wrong arity: rejected, not a call
    [b"SET", b"oc:s", b"v"],
    [b"HGET", b"oc:s", b"f"],  # WRONGTYPE: failed
    [b"INCR", b"oc:s"],  # not an integer: failed
    [b"GET", b"oc:s"],
    [b"CONFIG", b"FOO"],  # unknown subcommand: no row
    [b"NOSUCHCOMMAND"],  # unknown command: no row
    [b"SELECT", b"99"],  # failed
    [b"MULTI"], [b"SET", b"oc:x"], [b"EXEC"],  # a queuing error is rejected; EXECABORT failed
    [b"MULTI"], [b"EXEC"],
    [b"EXEC"], [b"DISCARD"],  # without MULTI: failed
    [b"MULTI"], [b"MULTI"], [b"WATCH", b"oc:a"], [b"DISCARD"],  # nested, inside: failed
    [b"WATCH", b"oc:a"], [b"UNWATCH"],
]  # fmt: skip


def test_commandstats_count_rejected_and_failed_calls_as_redis(
    prepared: tuple[int, int],
) -> None:
    """The same refusals and errors on both servers after CONFIG RESETSTAT: the same rows, with
    the same calls, rejected_calls and failed_calls."""
    counts = []
    for port in prepared:
        rows = after_resetstat(port, OUTCOMES, "commandstats")["Commandstats"]
        counts.append(
            {
                name: [f for f in row.split(",") if f.split("=")[0] in COUNTED]
                for name, row in rows.items()
                if not name.startswith(("cmdstat_config|resetstat", "cmdstat_command"))
            }
        )
    theirs, ours = counts
    assert ours == theirs
    assert ours["cmdstat_set"] == ["calls=1", "rejected_calls=2", "failed_calls=0"], ours


COUNTED = ("calls", "rejected_calls", "failed_calls")


@pytest.mark.parametrize(
    "argv", [["clients", "server"], ["keyspace", "CPU", "nosuch"], ["nosuch"], ["modules"]]
)
def test_chosen_sections_come_in_redis_order(argv: list[str], prepared: tuple[int, int]) -> None:
    redis_port, seshat_port = prepared
    theirs = info_text(redis_port, *argv)
    ours = info_text(seshat_port, *argv)
    assert list(parse_info(ours)) == list(parse_info(theirs))
    if not theirs:
        assert ours == ""


def test_arch_bits_and_raft_for_redis_py(r: redis.Redis) -> None:
    """redis-py's own test suite reads `arch_bits`; Seshat's own tools read `# Raft`."""
    assert r.info("server")["arch_bits"] in (32, 64)
    assert r.info()["role"] in ("master", "leader")  # redis-py merges the default sections
    assert r.info("raft")["role"] == "leader"


# ---- counters move -----------------------------------------------------------------------------


def test_net_bytes_and_io_counts_follow_a_command(
    r: redis.Redis,
    seshat_port: int,  # noqa: F811
) -> None:
    before = r.info("stats")
    client = WireClient(seshat_port)
    try:
        command = b"*3\r\n$3\r\nSET\r\n$8\r\ninfo:net\r\n$5\r\nvalue\r\n"
        client.send(command)
        assert client.reply() == b"+OK\r\n"
    finally:
        client.close()
    after = r.info("stats")
    # INFO's own request and reply move them too: at least the SET's bytes, both ways.
    assert after["total_net_input_bytes"] >= before["total_net_input_bytes"] + len(command)
    assert after["total_net_output_bytes"] >= before["total_net_output_bytes"] + len(b"+OK\r\n")
    assert after["total_reads_processed"] >= before["total_reads_processed"] + 1
    assert after["total_writes_processed"] >= before["total_writes_processed"] + 1
    assert after["total_commands_processed"] >= before["total_commands_processed"] + 1


def test_expired_keys_counts_a_key_that_expires(r: redis.Redis) -> None:
    before = r.info("stats")["expired_keys"]
    r.set("info:short", "v", px=50)
    moved = poll_until(lambda: r.info("stats")["expired_keys"] > before, timeout_s=10)
    assert moved, "expired_keys did not count the expired key"
    assert r.exists("info:short") == 0


def test_errorstats_count_each_error_code(r: redis.Redis) -> None:
    def errors() -> tuple[int, dict[str, int]]:
        info = r.info("everything")
        codes = {k[len("errorstat_"):]: v["count"] for k, v in info.items()
                 if k.startswith("errorstat_")}  # fmt: skip
        return info["total_error_replies"], codes

    total, codes = errors()
    r.set("info:str", "x")
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError):
        r.lpush("info:str", "y")
    pipe = r.pipeline(transaction=True)  # an error inside EXEC's array counts too, as in Redis
    pipe.lpush("info:str", "z")
    pipe.execute(raise_on_error=False)
    total_after, codes_after = errors()
    assert total_after == total + 3
    assert codes_after["ERR"] == codes.get("ERR", 0) + 1
    assert codes_after["WRONGTYPE"] == codes.get("WRONGTYPE", 0) + 2


def test_used_cpu_grows_with_work(r: redis.Redis) -> None:
    def cpu() -> float:
        info = r.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    before = cpu()
    r.eval("local i = 0 while i < 3000000 do i = i + 1 end return i", 0)
    assert cpu() > before


def test_keyspace_expires_follows_expire_and_persist(r: redis.Redis) -> None:
    db = 7
    client = redis.Redis(port=r.connection_pool.connection_kwargs["port"], db=db, protocol=2)
    try:
        client.flushdb()
        client.set("a", "1")
        client.set("b", "2")
        assert r.info("keyspace")[f"db{db}"] == {"keys": 2, "expires": 0, "avg_ttl": 0}
        client.expire("a", 100)
        row = r.info("keyspace")[f"db{db}"]
        assert row["keys"] == 2 and row["expires"] == 1
        assert 0 < row["avg_ttl"] <= 100_000
        client.persist("a")
        assert r.info("keyspace")[f"db{db}"]["expires"] == 0
        client.flushdb()
    finally:
        client.close()


def test_keyspace_hits_and_misses_count_read_lookups(r: redis.Redis) -> None:
    r.set("info:hit", "v")
    before = r.info("stats")
    r.get("info:hit")
    r.get("info:nosuch")
    r.mget("info:hit", "info:hit", "info:nosuch")
    after = r.info("stats")
    assert after["keyspace_hits"] == before["keyspace_hits"] + 3
    assert after["keyspace_misses"] == before["keyspace_misses"] + 2


def test_instantaneous_ops_per_sec_is_sampled(
    r: redis.Redis,
    seshat_port: int,  # noqa: F811
) -> None:
    stop = threading.Event()

    def load() -> None:
        client = redis.Redis(port=seshat_port, protocol=2)
        try:
            while not stop.is_set():
                client.ping()
        finally:
            client.close()

    worker = threading.Thread(target=load)
    worker.start()
    try:
        busy = poll_until(lambda: r.info("stats")["instantaneous_ops_per_sec"] > 0, 10)
        assert busy, "instantaneous_ops_per_sec stayed 0 under load"
        assert float(r.info("stats")["instantaneous_input_kbps"]) >= 0.0
    finally:
        stop.set()
        worker.join()


def test_config_resetstat_zeroes_the_counters(r: redis.Redis) -> None:
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    r.get("info:nosuch")
    assert r.config_resetstat()
    info = r.info("everything")
    assert info["total_error_replies"] == 0
    assert not [k for k in info if k.startswith("errorstat_")]
    assert info["keyspace_misses"] == 0
    assert info["expired_keys"] == 0


def test_memory_fields_agree_with_each_other(r: redis.Redis) -> None:
    info = r.info("memory")
    assert info["used_memory"] > 0
    assert info["used_memory_human"] == bytes_to_human(info["used_memory"])
    assert info["used_memory_peak"] >= info["used_memory_startup"] > 0
    assert info["mem_allocator"] == "libc"
    assert info["maxmemory_policy"] == "noeviction"


def test_replication_offset_is_the_applied_index(r: redis.Redis) -> None:
    r.set("info:repl", "1")
    info = r.info("everything")
    assert info["master_repl_offset"] == info["applied_index"]
    assert info["repl_backlog_first_byte_offset"] == info["first_log_index"]


# ---- formats, without a server ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0B"), (1023, "1023B"), (941288, "919.23K"), (6492160, "6.19M"),
     (25276063744, "23.54G"), (1048576, "1.00M")],
)  # fmt: skip
def test_bytes_to_human_as_redis(n: int, text: str) -> None:
    assert bytes_to_human(n) == text


def test_error_codes_as_redis_takes_them() -> None:
    stats = Stats()
    stats.count_error("WRONGTYPE Operation against a key holding the wrong kind of value")
    stats.count_error("ERR unknown command")
    stats.count_error("NOSPACEHERE")  # no space: Redis files it under ERR
    stats.count_error("A" * 40 + " too long a code")  # the code must end within 32 bytes
    assert stats.errors == {"WRONGTYPE": 1, "ERR": 3}
    assert stats.error_replies == 4
    for i in range(ERROR_CODES_MAX + 10):
        stats.count_error(f"CODE{i} x")
    assert len(stats.errors) == ERROR_CODES_MAX
    assert stats.error_replies == 4 + ERROR_CODES_MAX + 10


def test_blocking_commands_are_counted_when_unblocked_as_in_redis(
    redis_port: int,  # noqa: F811
    seshat_port: int,  # noqa: F811
) -> None:
    """Redis counts a blocked command once it is served or times out (`updateStatsOnUnblock`),
    in INFO commandstats and, served, with slowlog-log-slower-than 0, in SLOWLOG; Seshat counted a
    blocking command nowhere (introspection-2.tcl, slowlog.tcl)."""
    seen = []
    for port in (redis_port, seshat_port):
        r = redis.Redis(port=port)
        r.delete("bl")
        r.config_set("slowlog-log-slower-than", 0)
        try:
            r.config_resetstat()
            r.slowlog_reset()
            waiter = WireClient(port)
            waiter.send(b"*3\r\n$5\r\nBRPOP\r\n$2\r\nbl\r\n$1\r\n5\r\n")
            assert poll_until(lambda r=r: int(r.info("clients")["blocked_clients"]) == 1, 5)
            r.lpush("bl", "a")
            assert waiter.reply() == b"*2\r\n$2\r\nbl\r\n$1\r\na\r\n"
            waiter.call([b"BLPOP", b"bl", b"0.05"])  # times out: counted too
            waiter.close()
            stats = r.info("commandstats")
            logged = [entry["command"] for entry in r.slowlog_get(10)]
            seen.append(
                (stats["cmdstat_brpop"]["calls"], stats["cmdstat_blpop"]["calls"],
                 b"BRPOP bl 5" in logged, b"BLPOP bl 0.05" in logged)
            )  # fmt: skip
        finally:
            r.config_set("slowlog-log-slower-than", 10000)
            r.close()
    assert seen[1] == seen[0] == (1, 1, True, False)  # a timeout is counted, not logged
