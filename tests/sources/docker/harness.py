"""Helpers for the container source tests: an in-process agent with the file sink, a Docker
container tree in the daemon's exact on-disk layout, and condition polling."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson

from logagent.agent import Agent
from logagent.config.loader import load_config_text
from tests.agentproc import read_events


async def wait_until(cond: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``cond`` until it returns a truthy value (returned) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def agent_config(data_dir: Path, out_dir: Path, source_toml: str) -> str:
    return f"""
[agent]
data_dir = "{data_dir}"
listen = "127.0.0.1:0"
shutdown_timeout_secs = 10

{source_toml}

[sinks.out]
type = "file"
path = "{out_dir}"
"""


@contextlib.asynccontextmanager
async def running_agent(data_dir: Path, out_dir: Path, source_toml: str) -> AsyncIterator[Agent]:
    """An :class:`Agent` running in this loop until the block ends (then stopped gracefully)."""
    agent = Agent(load_config_text(agent_config(data_dir, out_dir, source_toml)))
    task = asyncio.create_task(agent.run(install_signals=False))
    ready = asyncio.create_task(agent.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()
        raise AssertionError("agent ended before it was ready")
    try:
        yield agent
    finally:
        agent.request_stop()
        await asyncio.wait_for(task, 30)


def metric(agent: Agent, name: str, **labels: str) -> float:
    """A sample of the agent's registry (0 when absent)."""
    value = agent.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def events(out_dir: Path) -> list[dict]:
    return read_events(out_dir)


def docker_time(ns: int) -> str:
    """Docker's RFC3339Nano: UTC, trailing zeros of the fraction trimmed."""
    sec, frac = divmod(ns, 1_000_000_000)
    head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    digits = f"{frac:09d}".rstrip("0")
    return f"{head}.{digits}Z" if digits else f"{head}Z"


def docker_line(log: str, stream: str = "stdout", ts_ns: int = 1714564800_123456700) -> bytes:
    """One json-file line as the daemon writes it (Go's encoder escapes <, > and &)."""
    body = orjson.dumps({"log": log, "stream": stream, "time": docker_time(ts_ns)})
    body = body.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    return body + b"\n"


def container_id(n: int) -> str:
    return f"{n:02x}" * 32


def create_container(
    root: Path, cid: str, name: str, image: str = "nginx:1.25", labels: dict[str, str] | None = None
) -> Path:
    """``docker create``: the container directory and its config.v2.json (real field names)."""
    d = root / cid
    d.mkdir(parents=True)
    config = {
        "StreamConfig": {},
        "State": {
            "Running": False,
            "Paused": False,
            "Restarting": False,
            "OOMKilled": False,
            "RemovalInProgress": False,
            "Dead": False,
            "Pid": 0,
            "ExitCode": 0,
            "Error": "",
            "StartedAt": "0001-01-01T00:00:00Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
            "Health": None,
        },
        "ID": cid,
        "Created": "2024-05-01T11:59:58.904181512Z",
        "Managed": False,
        "Path": "/docker-entrypoint.sh",
        "Args": ["nginx", "-g", "daemon off;"],
        "Config": {
            "Hostname": cid[:12],
            "Domainname": "",
            "User": "",
            "AttachStdin": False,
            "AttachStdout": True,
            "AttachStderr": True,
            "ExposedPorts": {"80/tcp": {}},
            "Tty": False,
            "OpenStdin": False,
            "StdinOnce": False,
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "NGINX_VERSION=1.25.5",
            ],
            "Cmd": ["nginx", "-g", "daemon off;"],
            "Image": image,
            "Volumes": None,
            "WorkingDir": "",
            "Entrypoint": ["/docker-entrypoint.sh"],
            "OnBuild": None,
            "Labels": labels or {},
            "StopSignal": "SIGQUIT",
        },
        "Image": "sha256:" + "ab" * 32,
        "ImageManifest": None,
        "NetworkSettings": {"Bridge": "", "SandboxID": "", "Networks": {}},
        "LogPath": str(d / f"{cid}-json.log"),
        "Name": "/" + name,
        "Driver": "overlay2",
        "OS": "linux",
        "RestartCount": 0,
        "HasBeenStartedBefore": False,
        "HasBeenManuallyStopped": False,
        "MountPoints": {},
        "SecretReferences": None,
        "ConfigReferences": None,
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "docker-default",
        "SeccompProfile": "",
        "NoNewPrivileges": False,
        "HostnamePath": str(d / "hostname"),
        "HostsPath": str(d / "hosts"),
        "ResolvConfPath": str(d / "resolv.conf"),
    }
    (d / "config.v2.json").write_bytes(orjson.dumps(config))
    (d / "hostconfig.json").write_bytes(orjson.dumps({"LogConfig": {"Type": "json-file", "Config": {}}}))
    return d


def log_path(root: Path, cid: str) -> Path:
    return root / cid / f"{cid}-json.log"


def append(path: Path, data: bytes) -> None:
    """One write(2), as the daemon's log writer does per message."""
    with open(path, "ab") as f:
        f.write(data)


def docker_source(root: Path, extra: str = "") -> str:
    # Short waits keep the tests quick; inotify gives prompt wake-ups, polling is the fallback.
    return f"""
[sources.ctr]
type = "docker"
root = "{root}"
poll_interval_secs = 0.1
rotate_wait_secs = 0.2
rescan_interval_secs = 0.5
{extra}
"""
