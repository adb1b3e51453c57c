"""Helpers for the log-derived metrics tests: build an engine from TOML, read samples back."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from logagent.config.loader import load_config_text
from logagent.event import Batch
from logagent.logmetrics.engine import LogMetrics, engine_for
from logagent.metrics import AgentMetrics
from parsers.base import Record

SOURCES = """
[sources.web]
type = "file"
include = ["/nonexistent/web.log"]
[sources.other]
type = "file"
include = ["/nonexistent/other.log"]
"""


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make_engine(metrics_toml: str, clock: FakeClock | None = None) -> tuple[LogMetrics, AgentMetrics]:
    """An engine configured from ``[metrics...]`` TOML, registered in a fresh AgentMetrics."""
    config = load_config_text(SOURCES + metrics_toml)
    agent_metrics = AgentMetrics()
    engine = engine_for(agent_metrics)
    if clock is not None:
        engine.now = clock
    engine.configure(config.sections["metrics"])
    return engine, agent_metrics


def batch(
    source: str, rows: list[dict[str, Any]] | None = None, lines: list[str] | None = None, **kw: Any
) -> Batch:
    """A batch whose records carry ``rows`` as parsed fields (lines default to placeholders)."""
    if rows is None:
        return Batch(source, lines or [], **kw)
    lines = lines or [f"line {i}" for i in range(len(rows))]
    b = Batch(source, lines, **kw)
    b.records = [Record(fields=dict(r)) for r in rows]
    return b


def samples(agent_metrics: AgentMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition: (sample name, label set) -> value."""
    out = {}
    for fam in text_string_to_metric_families(agent_metrics.exposition().decode()):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(agent_metrics: AgentMetrics, name: str, **labels: str) -> float | None:
    """One sample's value, or None when absent."""
    return samples(agent_metrics).get((name, frozenset(labels.items())))


def series_of(agent_metrics: AgentMetrics, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples(agent_metrics).items() if n == name}
