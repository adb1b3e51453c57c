"""The agent's self-metrics. This is the only place their names are spelled.

Each :class:`AgentMetrics` owns its own registry (no module-level globals), so tests get a fresh
one and a reload keeps counting where it was. Components count per batch, not per line.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest


class AgentMetrics:
    """Every self-metric of one agent, registered in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.lines_read = Counter("logagent_lines_read", "Lines read by a source.", ["source"], registry=r)
        self.bytes_read = Counter("logagent_bytes_read", "Bytes read by a source.", ["source"], registry=r)
        self.lines_flagged = Counter(
            "logagent_lines_flagged",
            "Lines passed on with a flag (truncated, invalid_utf8, unterminated).",
            ["source", "flag"],
            registry=r,
        )
        self.parse_errors = Counter(
            "logagent_parse_errors",
            "Lines a parser could not parse (shipped raw with parse_error).",
            ["source", "parser"],
            registry=r,
        )
        self.events_sent = Counter(
            "logagent_events_sent", "Events a sink delivered and acknowledged.", ["sink"], registry=r
        )
        self.bytes_sent = Counter(
            "logagent_bytes_sent", "Encoded bytes a sink delivered.", ["sink"], registry=r
        )
        self.events_dropped = Counter(
            "logagent_events_dropped",
            "Events dropped on purpose, by component and reason.",
            ["component", "reason"],
            registry=r,
        )
        self.files_tracked = Gauge(
            "logagent_files_tracked", "Files a file source has open.", ["source"], registry=r
        )
        self.checkpoint_lag_bytes = Gauge(
            "logagent_checkpoint_lag_bytes",
            "Bytes present in tracked files beyond their committed checkpoint.",
            ["source"],
            registry=r,
        )
        self.source_errors = Counter(
            "logagent_source_errors",
            "Source errors by reason (unreadable file, journal unavailable, ...).",
            ["source", "reason"],
            registry=r,
        )
        self.sink_errors = Counter(
            "logagent_sink_errors", "Sink errors by reason.", ["sink", "reason"], registry=r
        )
        self.sink_retries = Counter("logagent_sink_retries", "Sink request retries.", ["sink"], registry=r)
        self.sink_up = Gauge(
            "logagent_sink_up", "1 when the sink's last request succeeded.", ["sink"], registry=r
        )
        self.sink_request_seconds = Histogram(
            "logagent_sink_request_seconds",
            "Duration of sink requests.",
            ["sink"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.buffer_events = Gauge(
            "logagent_buffer_events", "Events waiting in a sink's buffer.", ["sink"], registry=r
        )
        self.buffer_bytes = Gauge(
            "logagent_buffer_bytes", "Bytes waiting in a sink's buffer.", ["sink"], registry=r
        )
        self.buffer_damaged_records = Counter(
            "logagent_buffer_damaged_records",
            "Damaged records skipped in a sink's disk buffer (a write cut by a crash, or disk damage).",
            ["sink"],
            registry=r,
        )
        self.checkpoint_writes = Counter("logagent_checkpoint_writes", "Checkpoint file writes.", registry=r)
        self.config_reloads = Counter(
            "logagent_config_reloads", "Config reloads by result.", ["result"], registry=r
        )
        self.up = Gauge("logagent_up", "1 while the agent runs.", registry=r)
        # Network sources (syslog): open stream connections.
        self.source_connections = Gauge(
            "logagent_source_connections", "Stream connections a source has open.", ["source"], registry=r
        )
        # Metrics derived from logs ([metrics] section, logagent.logmetrics).
        self.metric_series = Gauge(
            "logagent_metric_series", "Series a log-derived metric holds.", ["metric"], registry=r
        )
        self.metric_series_dropped = Counter(
            "logagent_metric_series_dropped",
            "New label sets of a log-derived metric refused by its max_series cap (counted once per batch).",
            ["metric"],
            registry=r,
        )
        self.metric_series_expired = Counter(
            "logagent_metric_series_expired",
            "Series of a log-derived metric forgotten after expire_secs without a line.",
            ["metric"],
            registry=r,
        )
        self.metric_value_errors = Counter(
            "logagent_metric_value_errors",
            "Lines a log-derived metric skipped because its value field was missing or not a number.",
            ["metric"],
            registry=r,
        )

        # Template mining (logagent.patterns).
        self.pattern_templates = Gauge(
            "logagent_pattern_templates", "Templates a source's miner holds.", ["source"], registry=r
        )
        self.pattern_new = Counter(
            "logagent_pattern_new", "Templates seen for the first time, per source.", ["source"], registry=r
        )
        self.pattern_evicted = Counter(
            "logagent_pattern_evicted",
            "Templates forgotten by a source's miner (least recently seen, past max_templates).",
            ["source"],
            registry=r,
        )
        self.pattern_top_lines = Gauge(
            "logagent_pattern_top_lines",
            "Lines seen per template, for the top_metrics most frequent templates of a source only.",
            ["source", "template_id"],
            registry=r,
        )

    def exposition(self) -> bytes:
        """The Prometheus text exposition of the registry."""
        return generate_latest(self.registry)


class SinkMetrics:
    """One network sink's children of the sink metrics, bound once (not looked up per batch)."""

    def __init__(self, metrics: AgentMetrics, sink: str) -> None:
        self._metrics = metrics
        self._sink = sink
        self.component = f"sink:{sink}"  # the component label of logagent_events_dropped
        self.sent = metrics.events_sent.labels(sink)
        self.bytes = metrics.bytes_sent.labels(sink)
        self.up = metrics.sink_up.labels(sink)
        self.retries = metrics.sink_retries.labels(sink)
        self.seconds = metrics.sink_request_seconds.labels(sink)

    def drop(self, reason: str, n: int) -> None:
        """Count ``n`` events dropped for ``reason`` (nothing when n is 0)."""
        if n:
            self._metrics.events_dropped.labels(self.component, reason).inc(n)

    def error(self, reason: str) -> None:
        self._metrics.sink_errors.labels(self._sink, reason).inc()
