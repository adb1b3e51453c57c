"""A Loki outage with a disk buffer (real agent subprocess, strict fake Loki).

While Loki is down, the file sink next to it keeps delivering and the disk buffer takes the Loki
sink's lines, acknowledging them to the source. A kill -9 during the outage, the log file deleted:
after restart, the buffer alone delivers every line to Loki, in order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agentproc import AgentProcess, wait_for
from tests.buffer.helpers import file_offsets, line_numbers, metric_value, read_events

receiver = pytest.importorskip("tests.sinks.loki.receiver", reason="the Loki sink's fake receiver is absent")


def write_config(tmp: Path, url: str) -> Path:
    cfg = tmp / "agent.toml"
    cfg.write_text(
        f"""
[agent]
data_dir = "{tmp / "data"}"
listen = "127.0.0.1:0"
shutdown_timeout_secs = 2

[sources.app]
type = "file"
include = ["{tmp / "logs"}/*.log"]
poll_interval_secs = 0.05
read_chunk_bytes = 4096

[sinks.loki]
type = "loki"
endpoint = "{url}"
labels = {{ job = "outage" }}
min_backoff_secs = 0.05
max_backoff_secs = 0.3
batch = {{ timeout_secs = 0.1 }}

[sinks.loki.buffer]
type = "disk"

[sinks.local]
type = "file"
path = "{tmp / "local"}"
"""
    )
    return cfg


def append(log: Path, start: int, stop: int) -> None:
    with log.open("a") as f:
        f.write("".join(f"line {i:06d} GET /x?id={i} 200\n" for i in range(start, stop)))


def test_loki_down_kill9_file_gone_then_the_disk_buffer_delivers_every_line(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    local = tmp_path / "local"
    append(log, 0, 200)
    with receiver.ThreadedReceiver() as loki:
        cfg = write_config(tmp_path, loki.url)
        with AgentProcess(cfg) as agent:
            agent.start()
            wait_for(lambda: loki.rx.entry_count() >= 200, what="first 200 lines in Loki")
            loki.stop()  # outage: nothing listens on the port
            append(log, 200, 3000)
            # The other sink is not held up by Loki's outage...
            wait_for(lambda: len(read_events(local)) >= 3000, what="every line in the file sink")
            # ...because the disk buffer took Loki's lines and acknowledged them to the source.
            wait_for(
                lambda: file_offsets(tmp_path / "data", "app").get(str(log)) == log.stat().st_size,
                what="checkpoint at the end of the file",
            )
            assert metric_value(agent.port, "logagent_buffer_events", sink="loki") >= 2800
            agent.kill9()
        assert loki.rx.entry_count() == 200
        log.unlink()
        loki.start()  # back, on the same port
        with AgentProcess(cfg) as agent:
            agent.start()
            wait_for(lambda: loki.rx.entry_count() >= 3000, what="every line in Loki")
            wait_for(
                lambda: metric_value(agent.port, "logagent_buffer_events", sink="loki") == 0,
                what="the Loki sink's buffer empty",
            )
            assert agent.stop() == 0
        [entries] = loki.rx.streams().values()
        numbers = [int(e.line.split()[1]) for e in entries]
        assert numbers == list(range(3000))
    assert line_numbers(read_events(local)) == list(range(3000))
