"""The real agent as a subprocess: HTTP endpoints, graceful stop, restart, SIGHUP, kill -9."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess, read_events


def config(tmp_path: Path, logs: Path, extra: str = "", sources: str | None = None) -> Path:
    data = tmp_path / "data"
    src = (
        sources
        or f"""
[sources.app]
type = "file"
include = ["{logs}/*.log*"]
exclude = ["*.gz"]
labels = {{ job = "app" }}
poll_interval_secs = 0.2
rotate_wait_secs = 0.5
"""
    )
    text = f"""
[agent]
data_dir = "{data}"
listen = "127.0.0.1:0"
shutdown_timeout_secs = 10
{src}
[sinks.out]
type = "file"
path = "{tmp_path / "out"}"
{extra}
"""
    path = tmp_path / "logagent.toml"
    path.write_text(text)
    return path


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_events(
    out: Path, n: int, agent: AgentProcess, timeout: float = 30, distinct: bool = False
) -> list[dict]:
    """Wait for ``n`` events (``distinct``: ``n`` different lines, as duplicates may follow a kill)."""
    deadline = time.monotonic() + timeout
    while True:
        events = read_events(out)
        if (len({e["line"] for e in events}) if distinct else len(events)) >= n:
            return events
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(events)} of {n} events arrived:\n{agent.log()}")
        time.sleep(0.05)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d


def test_event_shape_http_endpoints_and_graceful_stop(tmp_path: Path, logs: Path) -> None:
    (logs / "a.log").write_text("hello\nworld\n")
    with AgentProcess(config(tmp_path, logs)).start() as agent:
        events = wait_events(tmp_path / "out", 2, agent)
        e = events[0]
        assert e["line"] == "hello" and e["source"] == "app" and e["labels"] == {"job": "app"}
        assert e["path"] == str(logs / "a.log") and e["fields"] == {}
        assert e["ts"].endswith("Z") and len(e["ts"]) == len("2024-01-01T00:00:00.123456789Z")
        assert get(agent.port, "/health")[0] == 200
        assert get(agent.port, "/ready")[0] == 200
        status, body = get(agent.port, "/metrics")
        text = body.decode()
        assert status == 200
        assert 'logagent_lines_read_total{source="app"} 2.0' in text
        assert 'logagent_events_sent_total{sink="out"} 2.0' in text
        assert 'logagent_files_tracked{source="app"} 1.0' in text
        assert "logagent_checkpoint_lag_bytes" in text
        assert agent.stop() == 0
    cp = json.loads((tmp_path / "data" / "checkpoints.json").read_text())
    offsets = [
        e["value"]["offset"]
        for k, e in cp["entries"].items()
        if k.startswith("file:app:") and k != "file:app:started"
    ]
    assert offsets == [12]


def test_restart_resumes_without_loss_or_duplicates(tmp_path: Path, logs: Path) -> None:
    path = logs / "a.log"
    path.write_text("".join(f"l{i}\n" for i in range(100)))
    cfg = config(tmp_path, logs)
    with AgentProcess(cfg).start() as agent:
        wait_events(tmp_path / "out", 100, agent)
        assert agent.stop() == 0
    with open(path, "a") as f:
        f.write("".join(f"l{i}\n" for i in range(100, 150)))
    with AgentProcess(cfg).start() as agent:
        events = wait_events(tmp_path / "out", 150, agent)
        assert agent.stop() == 0
    assert [e["line"] for e in events] == [f"l{i}" for i in range(150)]


def test_sighup_reload_adds_source_and_rejects_bad_config(tmp_path: Path, logs: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (logs / "a.log").write_text("a1\n")
    (other / "b.log").write_text("b1\n")
    cfg = config(tmp_path, logs)
    with AgentProcess(cfg).start() as agent:
        wait_events(tmp_path / "out", 1, agent)
        # A bad config is rejected; the running one keeps going.
        good_text = cfg.read_text()
        cfg.write_text(good_text + '\n[sources.broken]\ntype = "file"\ninclude = "nope"\n')
        agent.signal(signal.SIGHUP)
        agent.wait_for_log("Reload rejected")
        with open(logs / "a.log", "a") as f:
            f.write("a2\n")
        wait_events(tmp_path / "out", 2, agent)
        # A good config adds a source without re-reading the first one.
        cfg.write_text(
            good_text
            + f'\n[sources.other]\ntype = "file"\ninclude = ["{other}/*.log"]\npoll_interval_secs = 0.2\n'
        )
        mark = len(agent.stderr_lines)
        agent.signal(signal.SIGHUP)
        agent.wait_for_log("Agent started", start=mark)
        with open(logs / "a.log", "a") as f:
            f.write("a3\n")
        events = wait_events(tmp_path / "out", 4, agent)
        assert agent.stop() == 0
    lines = sorted(e["line"] for e in events)
    assert lines == ["a1", "a2", "a3", "b1"]


class Writer(threading.Thread):
    """Writes numbered lines as fast as it can, rotating by rename every `rotate_every` lines."""

    def __init__(self, logs: Path, total: int, rotate_every: int) -> None:
        super().__init__(daemon=True)
        self.logs, self.total, self.rotate_every = logs, total, rotate_every
        self.rotations = 0

    def run(self) -> None:
        path = self.logs / "storm.log"
        f = open(path, "a")
        for i in range(self.total):
            f.write(f"storm {i:07d} {'x' * 60}\n")
            if i % 50 == 0:
                f.flush()
            if i and i % self.rotate_every == 0:
                f.close()
                self.rotations += 1
                os.rename(path, self.logs / f"storm.log.{self.rotations}")
                f = open(path, "a")
        f.close()


@pytest.mark.slow
def test_kill_9_during_write_storm_with_rotations_loses_nothing(tmp_path: Path, logs: Path) -> None:
    total = 60_000
    cfg = config(tmp_path, logs)
    writer = Writer(logs, total, rotate_every=7_000)
    rng = random.Random(1234)
    agent = AgentProcess(cfg).start()
    writer.start()
    kills = 0
    try:
        while writer.is_alive() or kills < 3:
            # Let it work a random while, then kill -9 at a random moment.
            agent.wait_for_log("Agent started")
            time.sleep(rng.uniform(0.05, 0.6))
            agent.kill9()
            kills += 1
            agent = AgentProcess(cfg).start()
        writer.join()
        events = wait_events(tmp_path / "out", total, agent, timeout=120, distinct=True)
        assert agent.stop() == 0
    finally:
        if agent.proc and agent.proc.poll() is None:
            agent.proc.kill()
    lines = [e["line"] for e in read_events(tmp_path / "out")]
    unique = set(lines)
    expected = {f"storm {i:07d} {'x' * 60}" for i in range(total)}
    assert unique == expected, f"lost {len(expected - unique)} lines after {kills} kills"
    dups = len(lines) - len(unique)
    print(f"kill -9 storm: {kills} kills, {len(lines)} events, {dups} duplicates")
    # Duplicates are only what was delivered in the last checkpoint window before each kill.
    assert dups <= kills * 20_000, f"{dups} duplicates after {kills} kills"
    assert events


def test_sighup_change_and_removal_of_sources_rereads_nothing(tmp_path: Path, logs: Path) -> None:
    (logs / "a.log").write_text("a1\na2\n")
    cfg = config(tmp_path, logs)
    with AgentProcess(cfg).start() as agent:
        wait_events(tmp_path / "out", 2, agent)
        # Change the source (new labels): the new one resumes from the old one's checkpoints.
        cfg.write_text(cfg.read_text().replace('job = "app"', 'job = "changed"'))
        mark = len(agent.stderr_lines)
        agent.signal(signal.SIGHUP)
        agent.wait_for_log("Agent started", start=mark)
        with open(logs / "a.log", "a") as f:
            f.write("a3\n")
        events = wait_events(tmp_path / "out", 3, agent)
        assert [(e["line"], e["labels"]["job"]) for e in events] == [
            ("a1", "app"),
            ("a2", "app"),
            ("a3", "changed"),
        ]
        # Remove every source: nothing more is read, nothing is lost.
        text = cfg.read_text()
        cfg.write_text(text[: text.index("[sources.app]")] + text[text.index("[sinks.out]") :])
        mark = len(agent.stderr_lines)
        agent.signal(signal.SIGHUP)
        agent.wait_for_log("Agent started", start=mark)
        assert agent.stop() == 0
    assert [e["line"] for e in read_events(tmp_path / "out")] == ["a1", "a2", "a3"]


def test_reload_command_validates_before_signalling(tmp_path: Path, logs: Path) -> None:
    import subprocess
    import sys

    (logs / "a.log").write_text("a1\n")
    cfg = config(tmp_path, logs)
    with AgentProcess(cfg).start() as agent:
        assert agent.proc is not None
        good = cfg.read_text()
        cfg.write_text(good.replace("[sinks.out]", "[sinks.out]\nbogus = 1"))
        r = subprocess.run(
            [sys.executable, "-m", "logagent", "reload", "--config", str(cfg), "--pid", str(agent.proc.pid)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 2 and "sinks.out.bogus: unknown key" in r.stderr
        assert not any("Reload" in line for line in agent.stderr_lines)
        cfg.write_text(good)
        r = subprocess.run(
            [sys.executable, "-m", "logagent", "reload", "--config", str(cfg), "--pid", str(agent.proc.pid)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        agent.wait_for_log("Reloading the config")
        assert agent.stop() == 0


def test_port_in_use_is_a_clear_error(tmp_path: Path, logs: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = config(tmp_path, logs)
        cfg.write_text(cfg.read_text().replace('listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{port}"'))
        r = subprocess.run(
            [sys.executable, "-m", "logagent", "run", "--config", str(cfg)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 1
    assert f"agent.listen: cannot listen on 127.0.0.1:{port}" in r.stderr


def test_a_stalled_stdout_reader_does_not_freeze_the_agent(tmp_path: Path, logs: Path) -> None:
    import fcntl
    import termios

    n = 3000
    lines = [f"stdout line {i:05d} " + "x" * 100 for i in range(n)]
    (logs / "a.log").write_text("\n".join(lines) + "\n")
    cfg = config(tmp_path, logs, extra='\n[sinks.console]\ntype = "stdout"\n')
    read_fd, write_fd = os.pipe()
    fcntl.fcntl(read_fd, 1031, 4096)  # F_SETPIPE_SZ: a small pipe, full after a few events
    pipe = os.fdopen(read_fd, "rb")
    with pipe, AgentProcess(cfg, stdout=write_fd).start() as agent:
        os.close(write_fd)  # the agent holds the only write end: EOF when it exits

        def buffered() -> int:
            return int.from_bytes(fcntl.ioctl(read_fd, termios.FIONREAD, b"\0\0\0\0"), "little")

        # Nobody reads: the pipe fills and the stdout sink's write waits on it...
        deadline = time.monotonic() + 30
        while buffered() < 4096:
            assert time.monotonic() < deadline, f"the pipe never filled:\n{agent.log()}"
            time.sleep(0.05)
        # ... while the agent itself keeps answering (the write waits in a worker thread).
        for _ in range(3):
            assert get(agent.port, "/health")[0] == 200
        status, body = get(agent.port, "/metrics")
        assert status == 200 and b"logagent_lines_read_total" in body

        # A reader again: every line reaches stdout, and the file sink, exactly once.
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.extend(pipe.read().splitlines()), daemon=True)
        reader.start()
        wait_events(tmp_path / "out", n, agent)
        assert agent.stop() == 0
        reader.join(30)
        assert [json.loads(x)["line"] for x in got] == lines
        assert [e["line"] for e in read_events(tmp_path / "out")] == lines
