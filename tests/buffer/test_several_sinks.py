"""Several sinks on one source (real agent subprocess): independent acks, checkpoint = minimum.

The "down" sink is a file sink whose output is /dev/full: every write fails and is retried, so it
acknowledges nothing. What the healthy sink gets depends on the down sink's buffer:

* memory + block: the down sink's buffer fills, the source waits (backpressure by design), so the
  healthy sink stalls too; the checkpoint stays where the down sink is (nothing acknowledged).
* disk: the disk buffer acknowledges the source once a batch is on disk, so the healthy sink gets
  every line and the checkpoint reaches the end of the file; the backlog waits on disk.
* memory + drop_newest: the healthy sink gets every line; the down sink's overflow is counted,
  and the checkpoint stays before the batches the down sink still holds.
"""

from __future__ import annotations

from pathlib import Path

from tests.agentproc import AgentProcess, wait_for
from tests.buffer.helpers import (
    assert_no_loss_in_order,
    down_sink_dir,
    file_offsets,
    line_numbers,
    metric_value,
    read_events,
)

TOTAL = 6_000


def setup(tmp: Path) -> Path:
    logs = tmp / "logs"
    logs.mkdir()
    log = logs / "app.log"
    with log.open("w") as f:
        f.write("".join(f"line {i:08d} some text\n" for i in range(TOTAL)))
    return log


def write_config(tmp: Path, down_path: Path, down_buffer: str) -> Path:
    cfg = tmp / "agent.toml"
    cfg.write_text(
        f"""
[agent]
data_dir = "{tmp / "data"}"
listen = "127.0.0.1:0"
shutdown_timeout_secs = 1

[sources.app]
type = "file"
include = ["{tmp / "logs"}/*.log"]
read_chunk_bytes = 4096

[sinks.good]
type = "file"
path = "{tmp / "good"}"

[sinks.down]
type = "file"
path = "{down_path}"

[sinks.down.buffer]
{down_buffer}
"""
    )
    return cfg


def test_memory_block_checkpoint_is_the_minimum_and_the_source_waits(tmp_path: Path) -> None:
    log = setup(tmp_path)
    # ~170 lines per batch: the down sink's buffer holds one batch.
    cfg = write_config(tmp_path, down_sink_dir(tmp_path / "down"), "max_events = 300")
    good = tmp_path / "good"
    with AgentProcess(cfg) as agent:
        agent.start()
        # The down sink holds one batch (retrying) and its buffer is full: the source waits.
        wait_for(
            lambda: metric_value(agent.port, "logagent_buffer_events", sink="down") > 0,
            what="down sink's buffer full",
        )
        wait_for(lambda: metric_value(agent.port, "logagent_sink_errors_total", sink="down") > 0)
        wait_for(lambda: len(read_events(good)) > 0, what="the healthy sink delivered")
        delivered = len(read_events(good))
        assert 0 < delivered < TOTAL // 2
        # The healthy sink acknowledged `delivered` lines, the down one none: no checkpoint moved.
        assert file_offsets(tmp_path / "data", "app").get(str(log), 0) == 0
        assert agent.stop() == 0
    assert file_offsets(tmp_path / "data", "app").get(str(log), 0) == 0
    # The down sink is back: both get every line; the healthy one sees its first lines again.
    fixed = tmp_path / "fixed"
    cfg = write_config(tmp_path, fixed, "max_events = 300")
    with AgentProcess(cfg) as agent:
        agent.start()
        wait_for(lambda: len(read_events(fixed)) >= TOTAL, what="every line in the fixed sink")
        wait_for(lambda: len(set(line_numbers(read_events(good)))) == TOTAL, what="every line in good")
        wait_for(lambda: file_offsets(tmp_path / "data", "app").get(str(log)) == log.stat().st_size)
        assert agent.stop() == 0
    assert line_numbers(read_events(fixed)) == list(range(TOTAL))
    assert_no_loss_in_order(line_numbers(read_events(good)), TOTAL)


def test_disk_buffer_keeps_the_other_sink_delivering_through_an_outage(tmp_path: Path) -> None:
    log = setup(tmp_path)
    cfg = write_config(tmp_path, down_sink_dir(tmp_path / "down"), 'type = "disk"')
    good = tmp_path / "good"
    with AgentProcess(cfg) as agent:
        agent.start()
        wait_for(lambda: len(read_events(good)) >= TOTAL, what="every line in the healthy sink")
        wait_for(lambda: file_offsets(tmp_path / "data", "app").get(str(log)) == log.stat().st_size)
        assert metric_value(agent.port, "logagent_events_sent_total", sink="down") == 0
        # What the down sink holds (one batch, retrying) is still unacknowledged in its buffer.
        assert metric_value(agent.port, "logagent_buffer_events", sink="down") == TOTAL
        assert agent.stop() == 0
    # Each line once, in order (the replay after the outage: test_disk_buffer_agent.py).
    assert line_numbers(read_events(good)) == list(range(TOTAL))


def test_memory_drop_newest_keeps_the_other_sink_delivering_and_counts_drops(tmp_path: Path) -> None:
    log = setup(tmp_path)
    cfg = write_config(
        tmp_path, down_sink_dir(tmp_path / "down"), 'max_events = 1000\nwhen_full = "drop_newest"'
    )
    good = tmp_path / "good"
    with AgentProcess(cfg) as agent:
        agent.start()
        wait_for(lambda: len(read_events(good)) >= TOTAL, what="every line in the healthy sink")
        dropped = metric_value(
            agent.port, "logagent_events_dropped_total", component="sink:down", reason="buffer_full"
        )
        held = metric_value(agent.port, "logagent_buffer_events", sink="down")
        assert dropped > TOTAL // 2
        # Every line is accounted for: dropped (counted), queued, or the one batch being retried.
        assert TOTAL - 1000 <= dropped + held <= TOTAL
        # Dropped batches count as done, but the first ones wait (unacknowledged) for the down
        # sink: the checkpoint stays before them, so they are read again after a restart.
        assert file_offsets(tmp_path / "data", "app").get(str(log), 0) == 0
        assert agent.stop() == 0
    assert line_numbers(read_events(good)) == list(range(TOTAL))
