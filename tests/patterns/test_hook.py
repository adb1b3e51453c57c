"""The pipeline hook in process: fields on records, the engine across reloads, the gauges."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from logagent.config.loader import load_config_text
from logagent.event import Batch
from logagent.metrics import AgentMetrics
from logagent.patterns.hook import batch_hook, engine_for, messages_of
from parsers.base import Record


def config(tmp_path: Path, patterns: str) -> object:
    return load_config_text(
        f"""
[agent]
data_dir = "{tmp_path}"
listen = ""
[sources.app]
type = "stdin"
{patterns}
[sinks.out]
type = "stdout"
"""
    )


def sample(metrics: AgentMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_no_mining_source_no_hook(tmp_path: Path):
    metrics = AgentMetrics()
    assert batch_hook(config(tmp_path, ""), metrics) is None  # type: ignore[arg-type]
    assert batch_hook(config(tmp_path, "patterns = false"), metrics) is None  # type: ignore[arg-type]


def test_fields_counts_and_gauges(tmp_path: Path):
    metrics = AgentMetrics()
    cfg = config(tmp_path, "[sources.app.patterns]\ntemplate_field = true")
    hook = batch_hook(cfg, metrics)  # type: ignore[arg-type]
    assert hook is not None
    lines = ["t1 worker 1 up", "t2 worker 2 up", "t3 bad", "t4 disk /dev/sda full"]
    records = [Record(message=ln.split(" ", 1)[1]) for ln in lines]
    records[2] = Record(message=None, error="no message")  # mined as its raw line
    assert messages_of(lines, records) == ["worker 1 up", "worker 2 up", "t3 bad", "disk /dev/sda full"]
    batch = Batch(source="app", lines=lines, records=records)
    hook(batch)  # no running loop: the gauges are refreshed at once
    assert [r.fields["template"] for r in records] == [
        "worker <*> up",
        "worker <*> up",
        "<*> bad",
        "disk <*> full",
    ]
    assert records[0].fields["template_id"] == records[1].fields["template_id"]
    assert sample(metrics, "logagent_pattern_new_total", source="app") == 3
    assert sample(metrics, "logagent_pattern_templates", source="app") == 3
    tid = records[0].fields["template_id"]
    assert sample(metrics, "logagent_pattern_top_lines", source="app", template_id=tid) == 2
    # Another source's batch is left alone.
    other = Batch(source="other", lines=["x 1"])
    hook(other)
    assert other.fields is None


def test_gauges_follow_a_timer_on_the_event_loop(tmp_path: Path):
    metrics = AgentMetrics()
    hook = batch_hook(config(tmp_path, "patterns = true"), metrics)  # type: ignore[arg-type]
    assert hook is not None

    async def feed() -> None:
        for i in range(3):
            hook(Batch(source="app", lines=[f"job {i} done"]))
        # Nothing refreshed yet: the timer runs a second after the first batch.
        assert sample(metrics, "logagent_pattern_templates", source="app") == 0
        deadline = asyncio.get_running_loop().time() + 10
        while sample(metrics, "logagent_pattern_templates", source="app") != 1:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)

    asyncio.run(feed())
    engine = engine_for(metrics)
    (entry,) = engine.listing()["app"]
    assert entry["template"] == "job <*> done" and entry["count"] == 3


def test_reload_keeps_unchanged_miners_and_saves_the_others(tmp_path: Path):
    metrics = AgentMetrics()
    engine = engine_for(metrics)
    batch_hook(config(tmp_path, "patterns = true"), metrics)  # type: ignore[arg-type]
    miner = engine.sources["app"].miner
    engine(Batch(source="app", lines=["job 1 done", "job 2 done"]))
    batch_hook(config(tmp_path, "patterns = true"), metrics)  # type: ignore[arg-type]
    assert engine.sources["app"].miner is miner
    # Changed options: a new miner, restored from what the old one saved.
    batch_hook(config(tmp_path, "[sources.app.patterns]\nsimilarity = 0.8"), metrics)  # type: ignore[arg-type]
    assert engine.sources["app"].miner is not miner
    assert [c.count for c in engine.sources["app"].miner.clusters.values()] == [2]
    # Mining turned off: the hook goes, the store stays.
    assert batch_hook(config(tmp_path, ""), metrics) is None  # type: ignore[arg-type]
    assert "app" not in engine.sources
    assert sample(metrics, "logagent_pattern_templates", source="app") is None  # series gone
    saved = orjson.loads((tmp_path / "patterns" / "app.json").read_bytes())
    assert [c["template"] for c in saved["clusters"]] == ["job <*> done"]


def test_a_miner_failure_passes_the_batch_on(tmp_path: Path, caplog):
    metrics = AgentMetrics()
    hook = batch_hook(config(tmp_path, "patterns = true"), metrics)  # type: ignore[arg-type]
    assert hook is not None
    sm = engine_for(metrics).sources["app"]
    sm.miner.add_batch = None  # type: ignore[assignment,method-assign]  # any failure inside the miner
    batch = Batch(source="app", lines=["a 1", "b 2"])
    hook(batch)  # does not raise
    assert batch.lines == ["a 1", "b 2"] and batch.fields is None
    assert "Template mining failed" in caplog.text
    assert sample(metrics, "logagent_source_errors_total", source="app", reason="patterns") == 1
