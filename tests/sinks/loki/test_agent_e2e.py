"""End to end: the real agent process tails a file into the fake Loki, through an outage and a
``kill -9``; after restart every line is in Loki (at-least-once: the checkpoint had not moved)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess, wait_for
from tests.sinks.loki.receiver import ThreadedReceiver


def write_config(tmp_path: Path, log: Path, url: str) -> Path:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f"""
[agent]
data_dir = "{tmp_path / "data"}"
listen = "127.0.0.1:0"
shutdown_timeout_secs = 5

[sources.app]
type = "file"
include = ["{log}"]
poll_interval_secs = 0.2

[sinks.loki]
type = "loki"
endpoint = "{url}"
labels = {{ job = "e2e" }}
label_fields = ["source"]
min_backoff_secs = 0.05
max_backoff_secs = 0.3
batch = {{ timeout_secs = 0.2 }}
"""
    )
    return cfg


def append(log: Path, start: int, n: int) -> list[str]:
    lines = [f"line {i:06d} GET /x?id={i} 200" for i in range(start, start + n)]
    with log.open("a") as f:
        f.write("".join(line + "\n" for line in lines))
    return lines


def test_kill_9_during_outage_then_restart_loses_nothing(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    with ThreadedReceiver() as loki:
        cfg = write_config(tmp_path, log, loki.url)
        sent = append(log, 0, 200)
        with AgentProcess(cfg) as agent:
            agent.start()
            wait_for(lambda: loki.rx.entry_count() >= 200, what="first 200 lines in Loki")
            loki.stop()  # outage: nothing listens on the port
            sent += append(log, 200, 300)
            agent.wait_for_log("push failed", timeout=30)
            agent.kill9()
        assert loki.rx.entry_count() == 200
        loki.start()  # back on the same port
        with AgentProcess(cfg) as agent:
            agent.start()
            wait_for(lambda: set(loki.rx.lines()) >= set(sent), what="every line after restart")
            assert agent.stop() == 0
        stored = loki.rx.lines()
        assert set(stored) == set(sent)
        assert stored[:200] == sent[:200]
        assert list(loki.rx.streams()) == [(("job", "e2e"), ("source", "app"))]


def test_check_config_check_sinks_says_which_failed_and_why(tmp_path: Path) -> None:
    import subprocess
    import sys

    token = tmp_path / "token"
    token.write_text("tok-wrong-123")
    log = tmp_path / "app.log"
    with ThreadedReceiver(bearer_token="right") as loki:
        cfg = write_config(tmp_path, log, loki.url)
        cfg.write_text(cfg.read_text() + f'bearer_token_file = "{token}"\n')

        def check() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "logagent", "check-config", "--config", str(cfg), "--check-sinks"],
                capture_output=True,
                text=True,
                timeout=60,
            )

        bad = check()
        assert bad.returncode == 1, bad.stderr
        assert "loki" in bad.stderr and "authentication failed (HTTP 401)" in bad.stderr
        assert "tok-wrong-123" not in bad.stderr + bad.stdout
        token.write_text("right")
        good = check()
        assert good.returncode == 0, good.stderr
        assert "sink loki (loki): ok" in good.stdout


def test_sigterm_during_outage_exits_within_the_deadline_and_resends_after_restart(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    with ThreadedReceiver() as loki:
        cfg = write_config(tmp_path, log, loki.url)
        cfg.write_text(cfg.read_text().replace("shutdown_timeout_secs = 5", "shutdown_timeout_secs = 1"))
        loki.stop()
        sent = append(log, 0, 100)
        with AgentProcess(cfg) as agent:
            agent.start()
            agent.wait_for_log("push failed", timeout=30)
            t0 = time.monotonic()
            assert agent.stop(timeout=30) == 0
            assert time.monotonic() - t0 < 10
        loki.start()
        with AgentProcess(cfg) as agent:
            agent.start()
            wait_for(lambda: set(loki.rx.lines()) >= set(sent), what="every line after restart")
            assert agent.stop() == 0
        assert sorted(set(loki.rx.lines())) == sent


@pytest.mark.slow
def test_loki_down_for_60_seconds_then_back_loses_nothing(tmp_path: Path) -> None:
    """The outage the issue names: 60 s with lines written throughout, then Loki returns."""
    log = tmp_path / "app.log"
    log.touch()
    with ThreadedReceiver() as loki:
        cfg = write_config(tmp_path, log, loki.url)
        cfg.write_text(cfg.read_text().replace("max_backoff_secs = 0.3", "max_backoff_secs = 5"))
        sent = append(log, 0, 100)
        with AgentProcess(cfg) as agent:
            agent.start()
            wait_for(lambda: loki.rx.entry_count() >= 100, what="first 100 lines in Loki")
            loki.stop()
            outage_start = time.monotonic()
            sent += append(log, len(sent), 50)
            agent.wait_for_log("push failed", timeout=30)
            # Lines keep coming during the outage; the scenario's clock, not a synchronisation.
            while time.monotonic() - outage_start < 60:
                sent += append(log, len(sent), 50)
                time.sleep(5)
            assert loki.rx.entry_count() == 100
            loki.start()
            wait_for(
                lambda: set(loki.rx.lines()) >= set(sent), what="every line after the outage", timeout=60
            )
            assert agent.stop() == 0
        stored = loki.rx.lines()
        assert set(stored) == set(sent) and len(sent) >= 100 + 12 * 50
