"""ROLE, WAIT, SLOWLOG, LATENCY, MEMORY, LASTSAVE, SAVE, BGSAVE, BGREWRITEAOF and LOLWUT on a
real Seshat node, compared with a real redis-server 7.0 where the two should agree.

Replies that are facts about one server (ids, times, durations, addresses, byte counts) are
masked before comparing; everything else (errors, arities, HELP texts, reply types, entry
shapes, CONFIG values) must match byte for byte, in RESP2 and RESP3. No test asserts how long
anything took: SLOWLOG tests log everything (`slowlog-log-slower-than 0`) or nothing (-1), and
the latency-monitor test runs a Lua loop far slower than its 1 ms threshold.
"""

from __future__ import annotations

import time

from tests.server.test_differential_wire import redis_port, seshat_port  # noqa: F401
from tests.server.wire import Node, Pair, WireClient, parse
from tests.waiting import poll_until

PROTOCOLS = [2, 3]
# Bounds Redis prints for its histogram buckets (HDR, 1024 ns doubling, in µs).
REDIS_BUCKETS = {(((1024 << k) + (1024 << k >> 7)) - 1) // 1000 for k in range(40)}
BUSY_SCRIPT = b"local i = 0 while i < 5000000 do i = i + 1 end return i"


def value(node: Node) -> object:
    """A reply as plain Python: scalars as bytes or int, aggregates as lists, maps as pairs."""
    if node.marker in (b"*", b"~", b">"):
        return None if node.value is None else [value(c) for c in node.children]
    if node.marker == b"%":
        kids = node.children
        return [(value(kids[i]), value(kids[i + 1])) for i in range(0, len(kids), 2)]
    if node.marker == b":":
        assert node.value is not None
        return int(node.value)
    if node.marker == b"=":
        assert node.value is not None
        return node.value[4:]
    return node.value


def decoded(raw: bytes) -> object:
    node, end = parse(raw)
    assert end == len(raw), raw
    return value(node)


# ---- errors, arities, HELP texts and fixed replies: byte for byte ------------------------------

SAME = [
    # ROLE and WAIT
    "ROLE extra",
    "WAIT 1",
    "WAIT 0 0",
    "WAIT -1 0",
    "WAIT 0 -1",
    "WAIT a 0",
    "WAIT 0 a",
    "WAIT 0 9223372036854775808",
    "WAIT 99999999999999999999 0",
    "WAIT 1 30",  # no replica acknowledges: the timeout passes, then 0
    # SLOWLOG
    "SLOWLOG",
    "SLOWLOG HELP",
    "SLOWLOG HELP x",
    "SLOWLOG foo",
    "SLOWLOG GET -2",
    "SLOWLOG GET a",
    "SLOWLOG GET 1 2",
    "SLOWLOG LEN x",
    "SLOWLOG RESET x",
    "SLOWLOG GET 0",
    # LATENCY, with the monitor off (Redis's default)
    "LATENCY",
    "LATENCY HELP",
    "LATENCY foo",
    "LATENCY LATEST",
    "LATENCY LATEST x",
    "LATENCY HISTORY",
    "LATENCY HISTORY command",
    "LATENCY GRAPH",
    "LATENCY GRAPH command",
    "LATENCY GRAPH x y",
    "LATENCY DOCTOR",
    "LATENCY DOCTOR x",
    "LATENCY RESET",
    "LATENCY RESET command nosuch",
    "LATENCY HISTOGRAM nosuch",
    # MEMORY
    "MEMORY",
    "MEMORY HELP",
    "MEMORY HELP x",
    "MEMORY foo",
    "MEMORY USAGE",
    "MEMORY USAGE nosuchkey",
    "MEMORY USAGE nosuchkey SAMPLES 0",
    "MEMORY USAGE k samples",
    "MEMORY USAGE k samples a",
    "MEMORY USAGE k SAMPLES -3",
    "MEMORY USAGE k foo 1",
    "MEMORY STATS x",
    "MEMORY DOCTOR x",
    "MEMORY MALLOC-STATS x",
    "MEMORY PURGE x",
    "MEMORY PURGE",
    # persistence
    "LASTSAVE x",
    "SAVE x",
    "BGSAVE foo",
    "BGSAVE SCHEDULE x",
    "BGREWRITEAOF x",
    # LOLWUT
    "LOLWUT VERSION x",
    "LOLWUT VERSION 5 x",
    # CONFIG of the new parameters
    "CONFIG GET slowlog-log-slower-than",
    "CONFIG GET slowlog-max-len",
    "CONFIG GET latency-monitor-threshold",
    "CONFIG GET latency-tracking",
    "CONFIG SET slowlog-log-slower-than -2",
    "CONFIG SET slowlog-log-slower-than abc",
    "CONFIG SET slowlog-max-len -1",
    "CONFIG SET slowlog-max-len x",
    "CONFIG SET latency-monitor-threshold -1",
    "CONFIG SET latency-monitor-threshold x",
    "CONFIG SET latency-tracking maybe",
]


def test_same_replies(pair: Pair) -> None:
    for line in SAME:
        pair.same(line)


def test_in_multi_and_in_scripts(pair: Pair) -> None:
    for line in ["MULTI", "WAIT 1 1000", "ROLE", "EXEC"]:  # WAIT never blocks inside MULTI
        theirs, ours = pair.both(line)
        if line != "EXEC":
            assert ours == theirs, line
    assert decoded(ours)[0] == decoded(theirs)[0] == 0  # type: ignore[index]
    for line in ["MULTI", "SAVE", "EXEC"]:  # SAVE is no_multi
        pair.same(line)
    pair.same([b"EVAL", b"return redis.call('wait', 0, 0)", b"0"])  # WAIT is noscript
    pair.same([b"EVAL", b"return redis.call('role')", b"0"])


def test_role_of_a_single_node(pair: Pair) -> None:
    theirs, ours = pair.both("ROLE")
    assert decoded(theirs)[::2] == decoded(ours)[::2] == [b"master", []]  # type: ignore[index]
    assert isinstance(decoded(ours)[1], int)  # type: ignore[index]  # the offset


def test_persistence_replies(pair: Pair) -> None:
    # BGREWRITEAOF first: while Redis's BGSAVE child runs it would answer "scheduled".
    pair.same("BGREWRITEAOF")
    poll_until(lambda: b"aof_rewrite_in_progress:0" in pair.redis.call([b"INFO", b"persistence"]))
    before = time.time()
    pair.same("BGSAVE")
    poll_until(lambda: b"rdb_bgsave_in_progress:0" in pair.redis.call([b"INFO", b"persistence"]))
    pair.same("SAVE")
    theirs, ours = pair.both("LASTSAVE")
    assert ours[:1] == theirs[:1] == b":"
    assert int(decoded(ours)) >= int(before) - 1  # type: ignore[call-overload]
    ours_bg = pair.seshat.call([b"BGSAVE", b"SCHEDULE"])
    assert ours_bg == b"+Background saving started\r\n"


def test_lolwut_names_seshat_and_redis(pair: Pair) -> None:
    for line in ["LOLWUT", "LOLWUT VERSION 6", "LOLWUT VERSION 1 2"]:
        theirs, ours = pair.both(line)
        assert ours[:1] == theirs[:1]  # verbatim in RESP3, bulk in RESP2, as Redis
        text = decoded(ours)
        assert isinstance(text, bytes) and text.startswith(b"Seshat ver. ")
        assert text.endswith(b"Redis ver. 7.0.15\n")


# ---- SLOWLOG ------------------------------------------------------------------------------------


def slowlog_shape(raw: bytes) -> object:
    """Entries with id, time, duration and client port masked; the rest kept."""
    entries = decoded(raw)
    assert isinstance(entries, list)
    shaped = []
    for entry in entries:
        entry_id, at_s, duration_us, args, addr, name = entry
        assert isinstance(entry_id, int) and isinstance(duration_us, int) and duration_us >= 0
        assert abs(at_s - time.time()) < 60
        assert addr.startswith(b"127.0.0.1:")
        shaped.append(["id", "time", "us", args, b"127.0.0.1:*", name])
    return shaped


def test_slowlog_entries_match_redis(pair: Pair) -> None:
    big = b"v" * 200
    pair.same("CONFIG SET slowlog-log-slower-than 0")  # log everything
    pair.same("CLIENT SETNAME admin-test")
    pair.same("SLOWLOG RESET")
    pair.same("SET slowkey v")
    pair.same([b"MSET"] + [b"k%d" % i if i % 2 == 0 else big for i in range(40)])
    pair.same("GET slowkey")
    pair.same("NOSUCHCOMMAND x")  # refused, never run: not logged
    theirs, ours = pair.both("SLOWLOG GET 4")
    assert slowlog_shape(ours) == slowlog_shape(theirs)
    entries = slowlog_shape(ours)
    assert isinstance(entries, list) and len(entries) == 4
    mset_args = entries[1][3]
    assert len(mset_args) == 32 and mset_args[-1] == b"... (10 more arguments)"  # 41 - 32 + 1
    assert mset_args[2] == b"v" * 128 + b"... (72 more bytes)"
    theirs, ours = pair.both("SLOWLOG GET -1")
    assert slowlog_shape(ours) == slowlog_shape(theirs)
    theirs, ours = pair.both("SLOWLOG GET")  # default count 10
    assert slowlog_shape(ours) == slowlog_shape(theirs)
    pair.same("SLOWLOG LEN")
    pair.same("CONFIG SET slowlog-max-len 2")
    pair.same("SLOWLOG LEN")
    pair.same("CONFIG SET slowlog-log-slower-than -1")  # log nothing
    pair.same("SLOWLOG RESET")
    pair.same("SET slowkey w")
    pair.same("SLOWLOG LEN")
    assert pair.seshat.call([b"SLOWLOG", b"LEN"]) == b":0\r\n"
    pair.same("CONFIG SET slowlog-log-slower-than 10000")
    pair.same("CONFIG SET slowlog-max-len 128")


# ---- LATENCY -------------------------------------------------------------------------------------


def test_latency_monitor_records_slow_commands(pair: Pair) -> None:
    pair.same("LATENCY RESET")
    pair.same("CONFIG SET latency-monitor-threshold 1")
    pair.same([b"EVAL", BUSY_SCRIPT, b"0"])  # far slower than 1 ms on any machine
    theirs, ours = pair.both("LATENCY LATEST")
    for raw in (theirs, ours):
        latest = decoded(raw)
        assert isinstance(latest, list) and len(latest) == 1
        name, _at_s, latest_ms, max_ms = latest[0]
        assert name == b"command" and latest_ms >= 1 and max_ms >= latest_ms
    theirs, ours = pair.both("LATENCY HISTORY command")
    assert len(decoded(ours)) == len(decoded(theirs)) == 1  # type: ignore[arg-type]
    ours = pair.seshat.call([b"LATENCY", b"GRAPH", b"command"])
    assert ours[:1] in (b"$", b"=") and b"command" in ours
    theirs, ours = pair.both("LATENCY DOCTOR")
    assert ours[:1] == theirs[:1]
    pair.same("LATENCY RESET command")  # 1: one event reset
    pair.same("LATENCY LATEST")
    pair.same("CONFIG SET latency-monitor-threshold 0")
    pair.same("LATENCY DOCTOR")


def histogram_shape(raw: bytes) -> object:
    """{command: calls}, after checking the buckets are Redis's and cumulative."""
    reply = decoded(raw)
    node, _ = parse(raw)
    shaped = {}
    for name, body in reply if node.marker == b"%" else zip(reply[::2], reply[1::2]):  # type: ignore[index,union-attr]
        fields = dict(body) if node.marker == b"%" else dict(zip(body[::2], body[1::2]))
        points = fields[b"histogram_usec"]
        pairs = points if node.marker == b"%" else list(zip(points[::2], points[1::2]))
        counts = [count for _, count in pairs]
        assert all(bucket in REDIS_BUCKETS for bucket, _ in pairs), pairs
        assert counts == sorted(counts) and counts[-1] == fields[b"calls"]
        shaped[name] = fields[b"calls"]
    return shaped


def test_latency_histogram_counts_calls(pair: Pair) -> None:
    pair.same("CONFIG SET latency-tracking yes")
    theirs_before, ours_before = pair.both("LATENCY HISTOGRAM get config")
    for _ in range(5):
        pair.same("GET histokey")
    theirs, ours = pair.both("LATENCY HISTOGRAM get config")
    redis_calls, seshat_calls = histogram_shape(theirs), histogram_shape(ours)
    redis_base, seshat_base = histogram_shape(theirs_before), histogram_shape(ours_before)
    assert seshat_calls[b"get"] - seshat_base.get(b"get", 0) == 5  # type: ignore[attr-defined,index]
    assert redis_calls[b"get"] - redis_base.get(b"get", 0) == 5  # type: ignore[attr-defined,index]
    assert b"config|set" in seshat_calls and b"config|set" in redis_calls  # type: ignore[operator]
    pair.same("CONFIG SET latency-tracking no")
    pair.same("GET histokey")
    assert histogram_shape(pair.seshat.call([b"LATENCY", b"HISTOGRAM", b"get"])) == {
        b"get": seshat_calls[b"get"]  # type: ignore[index]
    }
    pair.same("CONFIG SET latency-tracking yes")
    assert histogram_shape(pair.seshat.call([b"LATENCY", b"HISTOGRAM"]))  # every command


# ---- MEMORY --------------------------------------------------------------------------------------


def test_memory_usage_estimates(pair: Pair) -> None:
    pair.same("DEL mstr mhash")
    pair.same("SET mstr " + "x" * 100)
    pair.same(
        [b"HSET", b"mhash"] + [b"f%d" % (i // 2) if i % 2 == 0 else b"v" * 50 for i in range(200)]
    )
    for line in ["MEMORY USAGE mstr", "MEMORY USAGE mhash", "MEMORY USAGE mhash SAMPLES 0"]:
        theirs, ours = pair.both(line)
        assert ours[:1] == theirs[:1] == b":"
    string_bytes = decoded(pair.seshat.call([b"MEMORY", b"USAGE", b"mstr"]))
    hash_bytes = decoded(pair.seshat.call([b"MEMORY", b"USAGE", b"mhash", b"SAMPLES", b"0"]))
    assert isinstance(string_bytes, int) and string_bytes > 100 + len("mstr")
    assert isinstance(hash_bytes, int) and hash_bytes > 100 * 50  # every field counted


def test_memory_stats_doctor_malloc_stats(pair: Pair) -> None:
    theirs, ours = pair.both("MEMORY STATS")
    assert ours[:1] == theirs[:1]
    redis_fields = [name for name, _ in _pairs(theirs)]
    seshat_fields = dict(_pairs(ours))
    assert set(seshat_fields) <= set(redis_fields)
    for name in (b"peak.allocated", b"total.allocated", b"keys.count", b"dataset.bytes"):
        assert isinstance(seshat_fields[name], int), name
    assert seshat_fields[b"total.allocated"] <= seshat_fields[b"peak.allocated"]  # type: ignore[operator]
    theirs, ours = pair.both("MEMORY DOCTOR")
    assert ours[:1] == theirs[:1]
    # What Redis built without jemalloc answers (a bulk string); this redis-server has it.
    ours = pair.seshat.call([b"MEMORY", b"MALLOC-STATS"])
    assert ours == b"$45\r\nStats not supported for the current allocator\r\n"


def _pairs(raw: bytes) -> list[tuple[object, object]]:
    reply = decoded(raw)
    assert isinstance(reply, list)
    if reply and isinstance(reply[0], tuple):
        return reply
    return list(zip(reply[::2], reply[1::2]))


# ---- CLIENT PAUSE / UNPAUSE / UNBLOCK / REPLY -----------------------------------------------------

CONTROL_ERRORS = [
    "CLIENT PAUSE",
    "CLIENT PAUSE a",
    "CLIENT PAUSE -1",
    "CLIENT PAUSE 10 foo",
    "CLIENT PAUSE 10 write x",
    "CLIENT UNPAUSE x",
    "CLIENT UNBLOCK",
    "CLIENT UNBLOCK a",
    "CLIENT UNBLOCK 999999",
    "CLIENT UNBLOCK 999999 foo",
    "CLIENT UNBLOCK 999999 error",
    "CLIENT UNBLOCK 999999 timeout x",
    "CLIENT REPLY",
    "CLIENT REPLY foo",
    "CLIENT UNPAUSE",
]


def test_client_control_errors(pair: Pair) -> None:
    for line in CONTROL_ERRORS:
        pair.same(line)


def _pending(client: WireClient) -> bytes:
    """The next reply if one is already there (within a short grace), else b"<held>"."""
    client.sock.settimeout(0.3)
    try:
        return client.reply()
    except TimeoutError:
        return b"<held>"
    finally:
        client.sock.settimeout(10)


def control_transcript(port: int) -> list[bytes]:
    """CLIENT REPLY, PAUSE and UNBLOCK driven over three connections; what each one sees."""
    a, b, c = WireClient(port), WireClient(port), WireClient(port)
    seen: list[bytes] = []
    try:
        # REPLY OFF, ON, SKIP: the silenced replies never arrive, the rest in order.
        for argv in ([b"CLIENT", b"REPLY", b"OFF"], [b"SET", b"ck", b"1"], [b"GET", b"ck"]):
            a.send(_encode(argv))
        seen.append(a.call([b"CLIENT", b"REPLY", b"ON"]))
        seen.append(a.call([b"GET", b"ck"]))
        a.send(_encode([b"CLIENT", b"REPLY", b"SKIP"]) + _encode([b"SET", b"ck", b"2"]))
        seen.append(a.call([b"GET", b"ck"]))
        # PAUSE WRITE: reads go on, a write waits until UNPAUSE.
        seen.append(a.call([b"CLIENT", b"PAUSE", b"60000", b"WRITE"]))
        b.send(_encode([b"SET", b"ck", b"3"]))
        seen.append(c.call([b"GET", b"ck"]))
        seen.append(_pending(b))
        seen.append(a.call([b"CLIENT", b"UNPAUSE"]))
        seen.append(b.reply())
        seen.append(c.call([b"GET", b"ck"]))
        # A pause ends by itself: the held commands then run (ALL holds reads too).
        seen.append(a.call([b"CLIENT", b"PAUSE", b"100", b"WRITE"]))
        seen.append(b.call([b"SET", b"ck", b"4"]))
        seen.append(a.call([b"CLIENT", b"PAUSE", b"100", b"ALL"]))
        seen.append(c.call([b"GET", b"ck"]))
        # UNBLOCK a blocked pop, as its timeout and with the error, and a WAIT.
        b_id = b.call([b"CLIENT", b"ID"])[1:-2]
        for extra in ([], [b"ERROR"]):
            unblock = [b"CLIENT", b"UNBLOCK", b_id, *extra]
            b.send(_encode([b"BLPOP", b"nolist", b"0"]))
            assert poll_until(lambda argv=unblock: a.call(argv) == b":1\r\n")
            seen.append(b.reply())
        b.send(_encode([b"WAIT", b"1", b"0"]))
        assert poll_until(lambda: a.call([b"CLIENT", b"UNBLOCK", b_id]) == b":1\r\n")
        seen.append(b.reply())
        seen.append(a.call([b"CLIENT", b"UNBLOCK", b_id]))  # no longer blocked
    finally:
        for client in (a, b, c):
            client.close()
    return seen


def _encode(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(x), x) for x in argv)


def test_client_controls_match_redis(redis_port: int, seshat_port: int) -> None:  # noqa: F811
    ours = control_transcript(seshat_port)
    assert ours == control_transcript(redis_port)
    assert ours[5] == b"<held>" and ours[7] == b"+OK\r\n"


# ---- COMMAND INFO / DOCS of the new rows -------------------------------------------------------

NEW_COMMANDS = ["role", "wait", "slowlog", "latency", "memory", "lastsave", "save", "bgsave"]
NEW_COMMANDS += ["bgrewriteaof", "lolwut"]


def docs_fields(raw: bytes) -> dict[bytes, object]:
    """COMMAND DOCS of one command: field -> exact bytes, subcommands -> {name: bytes} (Redis
    lists subcommands in its dict's order, which a random hash seed picks per process)."""
    top, _ = parse(raw)
    doc = top.children[1]
    fields: dict[bytes, object] = {}
    for key, val in zip(doc.children[::2], doc.children[1::2]):
        assert key.value is not None
        if key.value == b"subcommands":
            subs = val.children
            fields[key.value] = {k.value: v.raw for k, v in zip(subs[::2], subs[1::2])}
        else:
            fields[key.value] = val.raw
    return fields


def test_command_info_and_docs_match_redis(pair: Pair) -> None:
    for name in NEW_COMMANDS:
        theirs, ours = pair.both(f"COMMAND DOCS {name}")
        assert ours[:4] == theirs[:4] and docs_fields(ours) == docs_fields(theirs), name
        theirs, ours = pair.both(f"COMMAND INFO {name}")
        info_ours, info_theirs = parse(ours)[0].children[0], parse(theirs)[0].children[0]
        assert [c.raw for c in info_ours.children[:9]] == [c.raw for c in info_theirs.children[:9]]
        subs_ours = sorted(c.raw for c in info_ours.children[9].children)
        assert subs_ours == sorted(c.raw for c in info_theirs.children[9].children), name
    theirs, ours = pair.both("COMMAND DOCS client")
    subs_ours, subs_theirs = docs_fields(ours)[b"subcommands"], docs_fields(theirs)[b"subcommands"]
    for sub in [b"client|pause", b"client|unpause", b"client|reply", b"client|unblock"]:
        assert subs_ours[sub] == subs_theirs[sub], sub  # type: ignore[index]
