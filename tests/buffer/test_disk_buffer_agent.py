"""The disk buffer in the real agent (subprocess): kill -9 and restart, replay, full under block."""

from __future__ import annotations

import signal
import threading
import time
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


def write_config(tmp: Path, out: Path, buffer: str, shutdown: float = 5, name: str = "agent.toml") -> Path:
    cfg = tmp / name
    cfg.write_text(
        f"""
[agent]
data_dir = "{tmp / "data"}"
listen = "127.0.0.1:0"
shutdown_timeout_secs = {shutdown}

[sources.app]
type = "file"
include = ["{tmp / "logs"}/*.log"]
poll_interval_secs = 0.05
read_chunk_bytes = 16384

[sinks.out]
type = "file"
path = "{out}"

[sinks.out.buffer]
{buffer}
"""
    )
    return cfg


def write_lines(path: Path, start: int, stop: int, width: int = 60) -> None:
    with path.open("a") as f:
        f.write("".join(f"line {i:08d} {'x' * width}\n" for i in range(start, stop)))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_kill9_mid_stream_then_restart_loses_nothing_and_keeps_order(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.touch()
    out = tmp_path / "out"
    cfg = write_config(tmp_path, out, 'type = "disk"\nmax_bytes = 4194304')
    written = [0]
    killed = threading.Event()

    def writer() -> None:
        # A steady stream that outlives the kill, so the kill lands mid-stream by construction.
        after_kill = 0
        while after_kill < 20:
            write_lines(log, written[0], written[0] + 100)
            written[0] += 100
            if killed.is_set():
                after_kill += 1
            time.sleep(0.01)

    with AgentProcess(cfg) as agent:
        agent.start()
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            wait_for(lambda: len(read_events(out)) >= 1000, what="1000 lines delivered")
            agent.kill9()
        finally:
            killed.set()
            thread.join()
    total = written[0]
    with AgentProcess(cfg) as agent:
        agent.start()
        wait_for(lambda: len(set(line_numbers(read_events(out)))) == total, what="every line delivered")
        assert agent.stop() == 0
    assert_no_loss_in_order(line_numbers(read_events(out)), total)


def test_kill9_during_an_outage_then_the_buffer_alone_replays_every_line(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    total = 5_000
    write_lines(log, 0, total)
    down = down_sink_dir(tmp_path / "down")
    cfg = write_config(tmp_path, down, 'type = "disk"')
    with AgentProcess(cfg) as agent:
        agent.start()
        # The disk buffer acknowledged every line to the source: the checkpoint is at the end...
        wait_for(
            lambda: file_offsets(tmp_path / "data", "app").get(str(log)) == log.stat().st_size,
            what="checkpoint at the end of the file",
        )
        assert metric_value(agent.port, "logagent_buffer_events", sink="out") == total
        assert metric_value(agent.port, "logagent_events_sent_total", sink="out") == 0
        agent.kill9()
    # ...so once the file is gone, only the buffer can deliver the lines.
    log.unlink()
    out = tmp_path / "out"
    cfg = write_config(tmp_path, out, 'type = "disk"')
    with AgentProcess(cfg) as agent:
        agent.start()
        wait_for(lambda: len(read_events(out)) >= total, what="every line delivered")
        wait_for(
            lambda: metric_value(agent.port, "logagent_buffer_events", sink="out") == 0, what="buffer empty"
        )
        assert agent.stop() == 0
    assert line_numbers(read_events(out)) == list(range(total))
    # Delivered and acknowledged: only the (empty) segment being written remains.
    segs = list((tmp_path / "data" / "buffer" / "out").glob("*.seg"))
    assert sum(p.stat().st_size for p in segs) == 0


def test_disk_buffer_full_under_block_leaves_lines_in_the_files_and_memory_flat(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.touch()
    max_bytes = 8 * 1024 * 1024
    down = down_sink_dir(tmp_path / "down")
    cfg = write_config(tmp_path, down, f'type = "disk"\nmax_bytes = {max_bytes}', shutdown=1)
    total = 150_000  # ~12 MB: more than the buffer holds
    with AgentProcess(cfg) as agent:
        agent.start()
        # A quarter of the buffer first, to measure memory with a backlog already on disk.
        write_lines(log, 0, 25_000)
        wait_for(lambda: metric_value(agent.port, "logagent_buffer_events", sink="out") == 25_000)
        baseline = rss_kib(agent.proc.pid)
        write_lines(log, 25_000, total)
        # Full: the next batch (~20 KB encoded) no longer fits.
        wait_for(
            lambda: metric_value(agent.port, "logagent_buffer_bytes", sink="out") > max_bytes - 64 * 1024,
            what="buffer full",
        )
        buffered = metric_value(agent.port, "logagent_buffer_events", sink="out")
        offset = file_offsets(tmp_path / "data", "app").get(str(log), 0)
        grown = rss_kib(agent.proc.pid) - baseline
        agent.kill9()
    # Backpressure: the rest waits in the log file, behind the checkpoint.
    assert 0 < buffered < total
    assert offset < log.stat().st_size
    # The backlog is on disk, not in memory: RSS grew by far less than the ~6 MiB added to it.
    assert grown < 3 * 1024, f"RSS grew {grown} KiB while the buffer filled"
    on_disk = sum(p.stat().st_size for p in (tmp_path / "data" / "buffer" / "out").glob("*.seg"))
    assert on_disk <= max_bytes + max_bytes // 4
    # When the sink comes back, every line is delivered: test_reload_while_the_source_waits_...


def test_reload_while_the_source_waits_on_a_full_disk_buffer_loses_nothing(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    total = 30_000
    write_lines(log, 0, total)
    buffer = 'type = "disk"\nmax_bytes = 262144'
    down = down_sink_dir(tmp_path / "down")
    cfg = write_config(tmp_path, down, buffer, shutdown=1)
    out = tmp_path / "out"
    with AgentProcess(cfg) as agent:
        agent.start()
        wait_for(
            lambda: metric_value(agent.port, "logagent_buffer_bytes", sink="out") > 262144 - 64 * 1024,
            what="buffer full",
        )
        # The sink is fixed by a reload. The old pipeline cannot drain (its source waits on the full
        # buffer, its sink cannot write): it is cut off at the deadline, and the new one must open
        # the same buffer directory only once the old buffer has stopped writing.
        write_config(tmp_path, out, buffer, shutdown=1)
        mark = len(agent.stderr_lines)
        agent.signal(signal.SIGHUP)
        agent.wait_for_log("Agent started", start=mark, timeout=30)
        wait_for(lambda: len(read_events(out)) >= total, what="every line delivered after the reload")
        assert agent.stop() == 0
    assert "in use by another buffer" not in agent.log()
    assert_no_loss_in_order(line_numbers(read_events(out)), total)
