"""A real agent process: derived metrics on /metrics, and SIGHUP keeps the unchanged ones."""

from __future__ import annotations

import signal
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.agentproc import AgentProcess


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)  # also proves there is no duplicate family
        for s in fam.samples
    }


def wait_sample(agent: AgentProcess, name: str, labels: dict[str, str], want: float) -> dict:
    assert agent.port
    deadline = time.monotonic() + 20
    while True:
        got = scrape(agent.port)
        if got.get((name, frozenset(labels.items()))) == want:
            return got
        assert time.monotonic() < deadline, (
            f"{name}{labels} never reached {want}: {got.get((name, frozenset()))}"
        )
        time.sleep(0.05)


def test_sighup_keeps_unchanged_metrics_and_applies_new_ones(tmp_path: Path):
    log = tmp_path / "app.log"
    log.write_text('{"status": 200}\n{"status": 500}\n{"status": 200}\n')
    base = f"""
[agent]
listen = "127.0.0.1:0"
data_dir = "{tmp_path / "data"}"
[sources.app]
type = "file"
include = ["{log}"]
parser = "json"
poll_interval_secs = 0.2
[sinks.out]
type = "file"
path = "{tmp_path / "out"}"
[metrics.app_requests_total]
type = "counter"
labels = ["status"]
"""
    cfg = tmp_path / "agent.toml"
    cfg.write_text(base)
    with AgentProcess(cfg).start() as agent:
        wait_sample(agent, "app_requests_total", {"status": "200"}, 2)
        cfg.write_text(base + '[metrics.app_errors_total]\ntype = "counter"\nwhere = ["status >= 500"]\n')
        mark = len(agent.stderr_lines)
        agent.signal(signal.SIGHUP)
        agent.wait_for_log("Agent started", start=mark)
        with log.open("a") as f:
            f.write('{"status": 503}\n{"status": 200}\n')
        got = wait_sample(agent, "app_requests_total", {"status": "200"}, 3)
        # Unchanged: kept counting across the reload. New: counts from the reload on.
        assert got[("app_requests_total", frozenset({("status", "500")}))] == 1
        assert got[("app_requests_total", frozenset({("status", "503")}))] == 1
        assert got[("app_errors_total", frozenset())] == 1
        assert agent.stop() == 0
