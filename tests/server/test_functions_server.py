"""Redis 7 functions through a real Seshat process and redis-py: FUNCTION LOAD, FCALL,
FCALL_RO and FUNCTION LIST in RESP2 and RESP3, inside MULTI/EXEC, and a library kept across a
restart (libraries are replicated state, stored with the data)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.server.conftest import SeshatProcess

LIBRARY = """#!lua name=counters
redis.register_function('bump', function(keys, args)
  return redis.call('incrby', keys[1], args[1] or 1)
end)
redis.register_function{
  function_name = 'peek',
  callback = function(keys) return redis.call('get', keys[1]) end,
  flags = {'no-writes'},
  description = 'read a counter',
}
redis.register_function('info', function(keys)
  redis.setresp(3)
  return {map = {counter = keys[1], value = redis.call('get', keys[1])}}
end)
"""


@pytest.mark.parametrize("protocol", [2, 3])
def test_load_call_and_list_through_redis_py(seshat_server: SeshatProcess, protocol: int) -> None:
    client = seshat_server.client(protocol=protocol)
    assert client.function_flush() is True
    assert client.function_load(LIBRARY) == b"counters"
    with pytest.raises(redis.ResponseError, match="Library 'counters' already exists"):
        client.function_load(LIBRARY)
    assert client.function_load(LIBRARY, replace=True) == b"counters"
    assert client.fcall("bump", 1, "n", 5) == 5
    assert client.fcall("bump", 1, "n") == 6
    assert client.fcall_ro("peek", 1, "n") == b"6"
    with pytest.raises(redis.ResponseError, match="Can not execute a script with write flag"):
        client.fcall_ro("bump", 1, "n")
    with pytest.raises(redis.ResponseError, match="Function not found"):
        client.fcall("nope", 0)
    info = client.fcall("info", 1, "n")
    if protocol == 3:
        assert info == {b"counter": b"n", b"value": b"6"}
    else:
        assert sorted(info) == sorted([b"counter", b"n", b"value", b"6"])
    [library] = client.function_list(library="count*", withcode=True)
    if protocol == 2:  # redis-py leaves RESP2's flat arrays as they come
        library = dict(zip(library[::2], library[1::2], strict=True))
        functions = [dict(zip(f[::2], f[1::2], strict=True)) for f in library[b"functions"]]
    else:
        functions = library[b"functions"]
    assert library[b"library_name"] == b"counters"
    assert library[b"engine"] == b"LUA"
    assert library[b"library_code"] == LIBRARY.encode()
    by_name = {f[b"name"]: f for f in functions}
    assert by_name[b"peek"][b"flags"] == [b"no-writes"]
    assert by_name[b"peek"][b"description"] == b"read a counter"
    assert by_name[b"bump"][b"description"] is None
    assert client.function_list(library="other") == []
    pipe = client.pipeline(transaction=True)  # MULTI/EXEC
    pipe.fcall("bump", 1, "n", 10)
    pipe.fcall_ro("peek", 1, "n")
    pipe.function_list(library="nomatch")
    assert pipe.execute() == [16, b"16", []]
    payload = client.function_dump()
    assert client.function_flush() is True
    assert client.function_list() == []
    assert client.function_restore(payload) is True
    assert client.fcall("bump", 1, "n") == 17
    assert client.function_delete("counters") is True
    with pytest.raises(redis.ResponseError, match="Library not found"):
        client.function_delete("counters")


def test_a_library_survives_a_restart(
    start_seshat: Callable[..., SeshatProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    node = start_seshat(data_dir=data_dir)
    client = node.client()
    assert client.function_load(LIBRARY) == b"counters"
    assert client.flushall() is True  # FLUSHALL keeps libraries, as in Redis
    assert client.fcall("bump", 1, "n", 2) == 2
    client.close()
    node.terminate()
    restarted = start_seshat(data_dir=data_dir, port=node.port)
    client = restarted.client()
    assert client.fcall("bump", 1, "n", 3) == 5
    assert client.fcall_ro("peek", 1, "n") == b"5"
    assert [lib[1] for lib in client.function_list()] == [b"counters"]
