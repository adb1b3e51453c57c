"""Podman fixtures for the deployment stage (marker ``deploy``): images are built once a session.

The base image comes from ``.ci/base-image.sh`` (debootstrap from the machine's apt mirror: no
image registry is reachable), then ``podman build`` makes the agent image and the systemd host
image from it; podman's layer cache makes later sessions fast. Outside CI a machine without a
working podman skips these tests; in CI it fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.conftest import IN_CI, REPO

BASE_IMAGE = "localhost/debian-bookworm-minbase"
AGENT_IMAGE = "localhost/logagent:test"
SYSTEMD_IMAGE = "localhost/logagent-systemd-host:test"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
#: Cold builds on a loaded 2-core machine take minutes (debootstrap, apt, pip).
BUILD_TIMEOUT = 1500


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The deploy tests take minutes: they run only when asked for (``-m deploy``)."""
    if "deploy" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="deployment stage: run with -m deploy (make deploy-test)")
    for item in items:
        if item.get_closest_marker("deploy") is not None:
            item.add_marker(skip)


def unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"deploy stage: {reason}")
    pytest.skip(reason)


def build_env() -> dict[str, str]:
    """The environment for podman and builds, without the session's dead-port proxy guards.

    podman passes proxy variables into builds and containers; the guards (tests/conftest.py) are
    meant for the tests' own clients, not for pip or apt inside an image build.
    """
    return {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARS}


PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy")


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``podman ARGS``; with ``check`` a failure shows podman's own output."""
    r = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=build_env())
    if check and r.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} -> {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.25) -> object:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def pip_cert_args() -> list[str]:
    """Builds reach PyPI through the host's CA bundle (mounted, so it does not stay in the image)."""
    if not HOST_CA.exists():
        return []
    return ["--build-arg", "PIP_CERT=/host-ca.crt", "-v", f"{HOST_CA}:/host-ca.crt:ro"]


@pytest.fixture(scope="session")
def podman_ready() -> None:
    """podman works here: on the runc runtime with explicit rlimits (.ci/containers.conf)."""
    if shutil.which("podman") is None:
        unavailable("podman is not installed")
    os.environ.setdefault("CONTAINERS_CONF", str(REPO / ".ci" / "containers.conf"))
    r = subprocess.run(["podman", "info"], capture_output=True, text=True, timeout=120, env=build_env())
    if r.returncode != 0:
        unavailable(f"podman does not work here: {r.stderr.strip()[-500:]}")


@pytest.fixture(scope="session")
def base_image(podman_ready: None) -> str:
    r = subprocess.run(
        ["sh", str(REPO / ".ci" / "base-image.sh")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        env={**build_env(), "BASE_IMAGE": BASE_IMAGE},
    )
    if r.returncode != 0:
        unavailable(f".ci/base-image.sh failed: {r.stdout[-1000:]}{r.stderr[-2000:]}")
    return BASE_IMAGE


@pytest.fixture(scope="session")
def agent_image(base_image: str) -> str:
    """The Dockerfile built on the local Debian base (the same file builds on python:3.11-slim)."""
    podman(
        "build",
        "--format",
        "docker",
        "--network=host",
        "--build-arg",
        f"BASE={base_image}",
        *pip_cert_args(),
        "-t",
        AGENT_IMAGE,
        str(REPO),
        timeout=BUILD_TIMEOUT,
    )
    return AGENT_IMAGE


@pytest.fixture(scope="session")
def systemd_image(base_image: str) -> str:
    """A Debian host with systemd as PID 1 and ansible-core in /opt/ansible."""
    context = REPO / "deploy" / "podman"
    podman(
        "build",
        "--format",
        "docker",
        "--network=host",
        "--build-arg",
        f"BASE={base_image}",
        *pip_cert_args(),
        "-f",
        str(context / "systemd.Containerfile"),
        "-t",
        SYSTEMD_IMAGE,
        str(context),
        timeout=BUILD_TIMEOUT,
    )
    return SYSTEMD_IMAGE


@pytest.fixture(scope="session")
def container_name() -> Iterator[Callable[[str], str]]:
    """Unique container names for this session; every container made under one is removed."""
    made: list[str] = []

    def name(role: str) -> str:
        made.append(f"logagent-test-{os.getpid()}-{role}")
        return made[-1]

    yield name
    for n in made:
        subprocess.run(["podman", "rm", "-f", "-t", "0", n], capture_output=True, timeout=120)
