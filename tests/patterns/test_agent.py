"""A real agent with ``patterns = true`` on a file source: fields shipped, /patterns, metrics, restart."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.agentproc import AgentProcess, read_events

LINES = [
    "2024-05-01T12:00:00Z INFO worker 3 started",
    "2024-05-01T12:00:01Z INFO Connection from 10.0.0.1 port 22 closed",
    "2024-05-01T12:00:02Z INFO worker 4 started",
    "2024-05-01T12:00:03Z INFO Connection from 10.0.0.2 port 23 closed",
    "2024-05-01T12:00:04Z INFO worker 5 started",
]


def write_config(tmp_path: Path, log: Path, patterns: str, parser: str = 'parser = "auto"') -> Path:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f"""
[agent]
listen = "127.0.0.1:0"
data_dir = "{tmp_path / "data"}"
[sources.app]
type = "file"
include = ["{log}"]
{parser}
poll_interval_secs = 0.1
{patterns}
[sinks.out]
type = "file"
path = "{tmp_path / "out"}"
"""
    )
    return cfg


def wait_events(out: Path, n: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while True:
        events = read_events(out)
        if len(events) >= n:
            return events
        assert time.monotonic() < deadline, f"{len(events)} events of {n}"
        time.sleep(0.05)


def get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return resp.read()


def samples(port: int) -> dict[tuple[str, frozenset], float]:
    text = get(port, "/metrics").decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def wait_sample(port: int, name: str, labels: dict[str, str], want: float) -> dict:
    deadline = time.monotonic() + 20
    while True:
        got = samples(port)
        if got.get((name, frozenset(labels.items()))) == want:
            return got
        assert time.monotonic() < deadline, f"{name}{labels} != {want}"
        time.sleep(0.05)


def test_events_carry_template_fields_and_ids_survive_a_restart(tmp_path: Path):
    log = tmp_path / "app.log"
    log.write_text("\n".join(LINES) + "\n")
    cfg = write_config(tmp_path, log, "[sources.app.patterns]\ntemplate_field = true")
    with AgentProcess(cfg).start() as agent:
        events = wait_events(tmp_path / "out", 5)
        assert agent.port
        templates = [e["fields"]["template"] for e in events]
        assert templates == ["worker <*> started", "Connection from <*> port <*> closed"] * 2 + [
            "worker <*> started"
        ]
        ids = [e["fields"]["template_id"] for e in events]
        assert ids[0] == ids[2] == ids[4] != ids[1] == ids[3]
        got = wait_sample(agent.port, "logagent_pattern_templates", {"source": "app"}, 2)
        assert got[("logagent_pattern_new_total", frozenset({"source": "app"}.items()))] == 2
        top = {"source": "app", "template_id": ids[0]}
        assert got[("logagent_pattern_top_lines", frozenset(top.items()))] == 3
        listing = orjson.loads(get(agent.port, "/patterns"))
        assert [(t["template"], t["count"]) for t in listing["app"]] == [
            ("worker <*> started", 3),
            ("Connection from <*> port <*> closed", 2),
        ]
        first = listing["app"][0]
        assert first["template_id"] == ids[0]
        assert first["first_seen"].endswith("Z") and first["last_seen"] >= first["first_seen"]
        assert orjson.loads(get(agent.port, "/patterns?source=none")) == {}
        assert len(orjson.loads(get(agent.port, "/patterns?top=1"))["app"]) == 1
        assert agent.stop() == 0
    store = tmp_path / "data" / "patterns" / "app.json"
    assert store.exists()
    # Restarted: the templates come back from the store; a new line of a known kind keeps its id
    # and counts go on from the saved ones.
    with log.open("a") as f:
        f.write("2024-05-01T12:00:05Z INFO Connection from 10.0.0.9 port 99 closed\n")
    with AgentProcess(cfg).start() as agent:
        events = wait_events(tmp_path / "out", 6)
        assert events[-1]["fields"]["template_id"] == ids[1]
        assert agent.port
        listing = orjson.loads(get(agent.port, "/patterns"))
        assert {t["template_id"]: t["count"] for t in listing["app"]} == {ids[0]: 3, ids[1]: 3}
        got = wait_sample(agent.port, "logagent_pattern_templates", {"source": "app"}, 2)
        assert got.get(("logagent_pattern_new_total", frozenset({"source": "app"}.items())), 0) == 0
        assert agent.stop() == 0


def test_without_a_parser_the_raw_line_is_mined_into_batch_fields(tmp_path: Path):
    log = tmp_path / "raw.log"
    log.write_text("job 1 done\njob 2 done\n")
    cfg = write_config(tmp_path, log, "[sources.app.patterns]\npersist = false", parser="")
    with AgentProcess(cfg).start() as agent:
        events = wait_events(tmp_path / "out", 2)
        assert [set(e["fields"]) for e in events] == [{"template_id"}] * 2
        assert events[0]["fields"]["template_id"] == events[1]["fields"]["template_id"]
        assert agent.stop() == 0
    assert not (tmp_path / "data" / "patterns").exists()


def test_bad_patterns_option_names_the_key(tmp_path: Path):
    import subprocess
    import sys

    cfg = write_config(tmp_path, tmp_path / "x.log", '[sources.app.patterns]\nmask = ["bogus"]')
    out = subprocess.run(
        [sys.executable, "-m", "logagent", "check-config", "--config", str(cfg)],
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert b"sources.app.patterns.mask" in out.stderr and b"bogus" in out.stderr
