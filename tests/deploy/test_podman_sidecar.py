"""The image as a sidecar, for real: a log-writing container and the agent share a volume.

The agent image (built from the Dockerfile on a locally made Debian base) tails the shared
``/logs`` into its file sink; ``podman stop`` must end it with exit code 0 (SIGTERM reached the
agent, it drained and wrote its final checkpoint), and a restart resumes exactly there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.agentproc import read_events
from tests.deploy.conftest import podman, wait_for

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(1800)]

FIRST, TOTAL = 200, 2200
#: 200 lines, then (when the test creates /logs/go) a stream of appends up to 2200, which the
#: test's `podman stop` interrupts.
WRITER = f"""
i=1; while [ $i -le {TOTAL} ]; do
  [ $i -ne {FIRST + 1} ] || while [ ! -e /logs/go ]; do sleep 0.1; done
  echo "sidecar line $i" >> /logs/app.log; i=$((i+1))
done
exec sleep 1000
"""
AGENT_UID = 10001


def lines_in_sink(out: Path) -> list[str]:
    return [e["line"] for e in read_events(out)]


def exit_code(name: str) -> int:
    return int(podman("inspect", name, "--format", "{{.State.ExitCode}}").stdout.strip())


def checkpoint_offset(data: Path, path: str) -> int:
    entries = orjson.loads((data / "checkpoints.json").read_bytes())["entries"]
    offsets = [
        e["value"]["offset"]
        for e in entries.values()
        if isinstance(e["value"], dict) and e["value"].get("path") == path
    ]
    assert len(offsets) == 1, entries
    return offsets[0]


def test_sidecar_ships_shared_volume_and_stops_cleanly(
    agent_image: str, base_image: str, container_name: Callable[[str], str], tmp_path: Path
) -> None:
    logs, data = tmp_path / "logs", tmp_path / "data"
    logs.mkdir()
    data.mkdir()
    logs.chmod(0o755)
    os.chown(data, AGENT_UID, AGENT_UID)
    app_log, out = logs / "app.log", data / "out"
    writer, agent = container_name("writer"), container_name("agent")

    writer_run = ["run", "-d", "--name", writer, "--network=none"]
    podman(*writer_run, "-v", f"{logs}:/logs", base_image, "sh", "-c", WRITER)
    agent_run = ["run", "-d", "--init", "--name", agent, "--network=none"]
    podman(*agent_run, "-v", f"{logs}:/logs:ro", "-v", f"{data}:/var/lib/logagent", agent_image)

    # HEALTHCHECK (GET /health inside the container) passes once the agent is up.
    healthy = lambda: podman("healthcheck", "run", agent, check=False).returncode == 0  # noqa: E731
    wait_for(healthy, 60, "a healthy agent")
    expected = [f"sidecar line {i}" for i in range(1, TOTAL + 1)]
    wait_for(lambda: len(lines_in_sink(out)) >= FIRST, 60, f"{FIRST} lines at the file sink")
    assert lines_in_sink(out) == expected[:FIRST]
    first_event = read_events(out)[0]
    assert first_event["path"] == "/logs/app.log" and first_event["labels"] == {"job": "sidecar"}

    # Stop in the middle of a burst: whatever was read must be delivered and checkpointed.
    size_first = app_log.stat().st_size
    (logs / "go").touch()
    wait_for(lambda: app_log.stat().st_size > size_first, 30, "the writer's burst")
    stop = podman("stop", "-t", "30", agent)
    assert stop.returncode == 0
    assert exit_code(agent) == 0, podman("logs", agent).stderr[-3000:]  # 137 would mean SIGKILL
    assert "Stopping: draining sinks" in podman("logs", agent).stderr
    delivered = lines_in_sink(out)
    offset = checkpoint_offset(data, "/logs/app.log")
    assert offset >= size_first
    # The final checkpoint sits exactly after the last delivered line.
    assert app_log.read_bytes()[:offset].decode().splitlines() == delivered == expected[: len(delivered)]

    # A restart resumes from the checkpoint: the rest arrives, nothing twice.
    wait_for(lambda: app_log.read_bytes().count(b"\n") == TOTAL, 60, "the writer to finish")
    podman("start", agent)
    wait_for(healthy, 60, "the restarted agent to be healthy")
    wait_for(lambda: len(lines_in_sink(out)) >= TOTAL, 60, f"all {TOTAL} lines at the file sink")
    podman("stop", "-t", "30", agent)
    assert exit_code(agent) == 0
    assert lines_in_sink(out) == expected
    assert checkpoint_offset(data, "/logs/app.log") == app_log.stat().st_size


def test_image_runs_the_compiled_nginx_reader(agent_image: str) -> None:
    # The Dockerfile builds the wheel in a stage with a C compiler: the image must carry it.
    r = podman("run", "--rm", "--network=none", agent_image, "parsers")
    (row,) = [line for line in r.stdout.splitlines() if line.startswith("nginx ")]
    assert "compiled" in row, row
