"""End to end: the real agent process tails a file into CloudWatch Logs (moto); nothing is lost,
through a normal run and through an outage ended by kill -9 and a restart."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from tests.agentproc import AgentProcess
from tests.moto_server import MotoServer, free_port
from tests.sinks.cloudwatch.faultproxy import FaultProxy
from tests.sinks.cloudwatch.helpers import filter_all_events, get_all_events

GROUP = "/logagent/app"


def write_config(tmp_path: Path, logs: Path, endpoint: str, shutdown_secs: float = 10) -> Path:
    path = tmp_path / "logagent.toml"
    path.write_text(
        f"""
[agent]
data_dir = "{tmp_path / "data"}"
listen = "127.0.0.1:0"
shutdown_timeout_secs = {shutdown_secs}

[sources.app]
type = "file"
include = ["{logs}/*.log"]
poll_interval_secs = 0.2

[sinks.cw]
type = "cloudwatch"
region = "us-east-1"
endpoint_url = "{endpoint}"
log_group = "/logagent/{{source}}"
log_stream = "{{host}}/{{source}}"
hostname = "e2e"
retention_days = 7
retry_initial_secs = 0.1
retry_max_secs = 0.5
batch = {{ timeout_secs = 0.2 }}
"""
    )
    return path


def wait_arrived(moto: MotoServer, lines: list[str], agent: AgentProcess, timeout: float = 60) -> None:
    """Poll until moto holds as many message bytes as ``lines`` (cheap: no event paging)."""
    client = moto.client("logs")
    want = sum(len(line.encode()) for line in lines)
    deadline = time.monotonic() + timeout
    stored = 0
    while time.monotonic() < deadline:
        if client.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]:
            streams = client.describe_log_streams(logGroupName=GROUP)["logStreams"]
            stored = sum(st.get("storedBytes", 0) for st in streams)
            if stored >= want:
                return
        time.sleep(0.1)
    raise AssertionError(f"{stored} of {want} bytes arrived:\n{agent.log()}")


def committed_offsets(tmp_path: Path) -> list[int]:
    cp = json.loads((tmp_path / "data" / "checkpoints.json").read_text())
    return [
        e["value"]["offset"]
        for k, e in cp["entries"].items()
        if k.startswith("file:app:") and k != "file:app:started"
    ]


def test_agent_tails_a_file_into_cloudwatch_without_loss(moto: MotoServer, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "a.log"
    log.write_text("".join(f"first {i} " + "x" * 40 + "\n" for i in range(20_000)))
    with AgentProcess(write_config(tmp_path, logs, moto.url)).start() as agent:
        with open(log, "a") as f:
            f.write("".join(f"second {i}\n" for i in range(5_000)))
        wait_arrived(moto, log.read_text().splitlines(), agent)
        assert agent.stop() == 0
    client = moto.client("logs")
    got = [e["message"] for e in get_all_events(client, GROUP, "e2e/app")]
    assert got == log.read_text().splitlines()
    assert len(filter_all_events(client, GROUP)[0]) == 25_000
    assert client.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]["retentionInDays"] == 7
    assert committed_offsets(tmp_path) == [log.stat().st_size]


def test_kill_9_during_an_outage_then_restart_loses_nothing(moto: MotoServer, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "a.log"
    log.write_text("".join(f"line {i}\n" for i in range(3_000)))
    port = free_port()  # the endpoint is down: nothing listens here
    cfg = write_config(tmp_path, logs, f"http://127.0.0.1:{port}")
    with AgentProcess(cfg).start() as agent:
        agent.wait_for_log("PutLogEvents to /logagent/app/e2e/app failed")
        agent.kill9()
    with FaultProxy(moto.url, port=port), AgentProcess(cfg).start() as agent:
        wait_arrived(moto, [f"line {i}" for i in range(3_000)], agent)
        assert agent.stop() == 0
    got = [e["message"] for e in get_all_events(moto.client("logs"), GROUP, "e2e/app")]
    assert got == [f"line {i}" for i in range(3_000)]
    assert committed_offsets(tmp_path) == [log.stat().st_size]


def test_stop_with_a_silent_endpoint_exits_in_time_and_loses_nothing(
    moto: MotoServer, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "a.log"
    log.write_text("".join(f"quiet {i}\n" for i in range(500)))
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        cfg = write_config(tmp_path, logs, f"http://127.0.0.1:{silent.getsockname()[1]}", shutdown_secs=1)
        silent.settimeout(30)
        with AgentProcess(cfg).start() as agent:
            conn, _ = silent.accept()  # a request is out, and will hang (read_timeout_secs is 30)
            with conn:
                started = time.monotonic()
                assert agent.stop(timeout=20) == 0
                assert time.monotonic() - started < 10
    with AgentProcess(write_config(tmp_path, logs, moto.url)).start() as agent:
        wait_arrived(moto, [f"quiet {i}" for i in range(500)], agent)
        assert agent.stop() == 0
    got = [e["message"] for e in get_all_events(moto.client("logs"), GROUP, "e2e/app")]
    assert got == [f"quiet {i}" for i in range(500)]
