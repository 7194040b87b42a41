"""Lua scripts through a real Seshat process and real clients: redis-py's `Lock` and `Script`
(RESP3, EVALSHA with the NOSCRIPT fallback), pipelines, MULTI/EXEC, and a script that runs past
the budget while other clients keep being served."""

from __future__ import annotations

import threading

import pytest
import redis

from tests.server.conftest import SeshatProcess


def test_redis_py_lock_serialises_holders(seshat_server: SeshatProcess) -> None:
    """redis-py's Lock releases and extends with Lua scripts (EVALSHA, then EVAL-free retries)."""
    client = seshat_server.client()
    counter_key = "counter"
    client.set(counter_key, 0)
    errors: list[BaseException] = []

    def worker() -> None:
        mine = seshat_server.client()
        try:
            for _ in range(20):
                with mine.lock("the-lock", timeout=10, blocking_timeout=30):
                    value = int(mine.get(counter_key) or 0)
                    mine.set(counter_key, value + 1)  # a lost update if the lock let two in
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert int(client.get(counter_key)) == 80
    lock = client.lock("other", timeout=5)
    assert lock.acquire(blocking=False)
    assert lock.extend(5)  # adds to the time left
    assert 5000 < client.pttl("other") <= 10000
    assert lock.reacquire()  # back to the lock's timeout
    assert 0 < client.pttl("other") <= 5000
    impostor = client.lock("other", timeout=5)
    impostor.local.token = b"not-the-owner"
    with pytest.raises(redis.exceptions.LockNotOwnedError):  # the release script said 0
        impostor.release()
    lock.release()
    assert client.exists("other") == 0


def test_redis_py_script_objects_and_pipelines(seshat_server: SeshatProcess) -> None:
    client = seshat_server.client()
    incr_by = client.register_script(
        "local v = redis.call('incrby', KEYS[1], ARGV[1]) return {v, redis.call('type', KEYS[1])}"
    )
    assert incr_by(keys=["n"], args=[5]) == [5, b"string"]
    client.script_flush()  # the next call meets NOSCRIPT and loads the script again
    assert client.script_exists(incr_by.sha) == [False]
    assert incr_by(keys=["n"], args=[1]) == [6, b"string"]
    assert client.script_exists(incr_by.sha) == [True]
    pipe = client.pipeline(transaction=True)
    pipe.set("p", "1")
    incr_by(keys=["p"], args=[2], client=pipe)
    pipe.eval("return redis.call('get', KEYS[1])", 1, "p")
    results = pipe.execute()
    assert results[0] is True and results[2] == b"3"
    assert client.eval_ro("return redis.call('get', KEYS[1])", 1, "p") == b"3"
    with pytest.raises(redis.exceptions.ResponseError, match="read-only scripts"):
        client.eval_ro("return redis.call('set', KEYS[1], 'x')", 1, "p")
    with pytest.raises(redis.exceptions.NoScriptError):
        client.evalsha("0" * 40, 0)


def test_resp3_script_replies_reach_redis_py_typed(seshat_server: SeshatProcess) -> None:
    client = seshat_server.client()
    assert client.eval("redis.setresp(3) return {map={a=1}}", 0) == {b"a": 1}
    assert client.eval("return {double=2.5}", 0) == 2.5
    assert client.eval("redis.setresp(3) return true", 0) is True
    assert client.eval("return {set={x=true}}", 0) in ([b"x"], {b"x"})  # redis-py's choice


def test_a_runaway_script_fails_alone_and_the_server_goes_on(
    seshat_server: SeshatProcess,
) -> None:
    client = seshat_server.client()
    with pytest.raises(redis.exceptions.ResponseError, match="deterministic budget"):
        client.eval("redis.call('set', 'half', 'done') while true do end", 0)
    assert client.get("half") == b"done"
    assert client.ping() is True
    assert client.set("after", "1") and client.get("after") == b"1"
