"""The repo's docker-compose.yml brings up a working three-node cluster from nothing.

Skipped, with the reason, where no Docker engine or Compose answers, or where the base image
(scripts/build-base-image: debootstrap, needs root and Debian's archive) cannot be built.

Cost: the base image is built once per machine (about 75 s here) and then reused, because the
script skips an existing image; the Seshat image's dependency layers come from Docker's build
cache after the first run (which installs them from PyPI, about 3 minutes), so a warm run only
rebuilds the code layer (about 40 s on this machine's fuse-overlayfs) and starts three
containers. Each step has its own deadline, and pytest-timeout bounds the whole test. The
test image (`seshat:compose-test`) is kept as that cache; older untagged builds of it are
pruned at the end, so repeated runs do not fill the disk.

Each run uses its own Compose project name and free host ports (SESHAT_PORT_1..3, substituted
into docker-compose.yml), so it never clashes with a developer's cluster on 6379..6381, and
tears everything down (`down -v`: containers, network, volumes) in a finally.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.cluster.test_launcher import free_range

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("SESHAT_BASE_IMAGE", "seshat-base:bookworm")
TEST_IMAGE = "seshat:compose-test"  # kept between runs: its layers are the build cache
BUILD_BASE_TIMEOUT_S = 600
UP_TIMEOUT_S = 600

pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_BASE_TIMEOUT_S + UP_TIMEOUT_S + 240)]


def _run(
    args: list[str], timeout_s: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _compose_command() -> list[str] | None:
    """`docker compose` (v2) where it exists, else `docker-compose` (v1), else None."""
    if shutil.which("docker") and _run(["docker", "compose", "version"], 30).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose") and _run(["docker-compose", "version"], 30).returncode == 0:
        return ["docker-compose"]
    return None


@pytest.fixture(scope="module")
def compose() -> list[str]:
    """The Compose command, once the engine answers and the base image exists (or is built)."""
    if shutil.which("docker") is None:
        pytest.skip("no docker command on this machine")
    try:
        info = _run(["docker", "info"], 60)
    except subprocess.TimeoutExpired:
        pytest.skip("the Docker engine did not answer `docker info` within 60 s")
    if info.returncode != 0:
        pytest.skip(f"no Docker engine answers here: {info.stderr.strip()[:200]}")
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` works here")
    if _run(["docker", "image", "inspect", BASE_IMAGE], 60).returncode != 0:
        try:
            built = _run([str(ROOT / "scripts" / "build-base-image")], BUILD_BASE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.skip(f"building {BASE_IMAGE} took over {BUILD_BASE_TIMEOUT_S} s")
        if built.returncode != 0:
            pytest.skip(f"cannot build {BASE_IMAGE} here: {built.stderr.strip()[-400:]}")
    return command


def _info_raft(port: int) -> dict[str, str]:
    try:
        info = redis.Redis(port=port, socket_timeout=2, protocol=2).info("raft")
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
        return {}
    return {k: str(v) for k, v in info.items()}


def _agreed_leader(ports: dict[int, int], timeout_s: float) -> int:
    """The node every one of `ports` names as leader, polled until `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        infos = {n: _info_raft(p) for n, p in ports.items()}
        leaders = {i.get("leader_id") for i in infos.values()}
        if all(infos.values()) and len(leaders) == 1 and leaders != {"0"}:
            leader = int(leaders.pop())  # type: ignore[arg-type]
            if leader in ports and infos[leader].get("role") == "leader":
                return leader
        time.sleep(0.2)
    raise AssertionError(f"no agreed leader among nodes {sorted(ports)} in {timeout_s} s: {infos}")


def test_compose_cluster_survives_stopping_the_leaders_container(compose: list[str]) -> None:
    project = f"seshattest{uuid.uuid4().hex[:10]}"
    base = free_range(3)
    ports = {1: base, 2: base + 1, 3: base + 2}
    env = dict(
        os.environ,
        SESHAT_PORT_1=str(ports[1]),
        SESHAT_PORT_2=str(ports[2]),
        SESHAT_PORT_3=str(ports[3]),
        SESHAT_IMAGE=TEST_IMAGE,
        SESHAT_BASE_IMAGE=BASE_IMAGE,
    )
    cmd = [*compose, "-p", project, "-f", str(ROOT / "docker-compose.yml")]

    def logs() -> str:
        try:
            return _run([*cmd, "logs", "--no-color", "--tail", "40"], 60, env).stdout[-6000:]
        except subprocess.TimeoutExpired:
            return "(compose logs timed out)"

    try:
        started = time.monotonic()
        up = _run([*cmd, "up", "-d", "--build"], UP_TIMEOUT_S, env)
        assert up.returncode == 0, f"compose up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
        print(f"compose up --build took {time.monotonic() - started:.0f} s")
        try:
            leader = _agreed_leader(ports, 120)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{logs()}") from None

        # Every node advertises its host-published address, and forwards writes to the leader.
        follower = next(n for n in ports if n != leader)
        survivor = next(n for n in ports if n not in (leader, follower))
        writer = redis.Redis(port=ports[follower], socket_timeout=10, protocol=2)
        for i in range(50):
            assert writer.set(f"k{i}", i)
        assert writer.incr("counter") == 1
        reader = redis.Redis(port=ports[survivor], socket_timeout=10, protocol=2)
        assert reader.get("k49") == b"49"
        # Between the containers, Raft streams and forwarded writes go on plain TCP (the
        # second listener, found through the gRPC port by service name), not gRPC.
        lead = redis.Redis(port=ports[leader], socket_timeout=10, protocol=2).info("raft")
        ways = {lead[f"transport_peer{n}"]["stream"] for n in ports if n != leader}
        assert ways == {"tcp"}, lead
        assert writer.info("raft")["forwarded"]["stream"] == "tcp"
        status = redis.Redis(port=ports[leader], socket_timeout=10, protocol=3)
        members = status.execute_command("RAFT.STATUS")[b"members"]
        assert sorted(m[b"client"] for m in members) == sorted(
            f"127.0.0.1:{p}".encode() for p in ports.values()
        )

        stop = _run([*cmd, "stop", f"seshat{leader}"], 120, env)
        assert stop.returncode == 0, stop.stderr
        rest = {n: p for n, p in ports.items() if n != leader}
        try:
            new_leader = _agreed_leader(rest, 60)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{logs()}") from None
        assert new_leader != leader
        assert [reader.get(f"k{i}") for i in range(50)] == [str(i).encode() for i in range(50)]
        assert reader.incr("counter") == 2
        other = redis.Redis(port=ports[follower], socket_timeout=10, protocol=2)
        assert other.get("counter") == b"2"
    finally:
        down = _run([*cmd, "down", "-v", "--remove-orphans", "-t", "10"], 180, env)
        assert down.returncode == 0, down.stderr
        # The builds of earlier code versions, now untagged: only ours (the Dockerfile's label).
        _run(["docker", "image", "prune", "-f", "--filter", "label=org.seshat.image"], 120)
    leftovers = _run(
        ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}"], 60
    )
    assert leftovers.stdout.strip() == ""
    volumes = _run(["docker", "volume", "ls", "-q", "--filter", f"name={project}"], 60)
    assert volumes.stdout.strip() == ""
