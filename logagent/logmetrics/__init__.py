"""Prometheus metrics derived from log lines: the ``[metrics]`` section, the per-batch engine and
the collector that serves them on the agent's ``/metrics``. See docs/metrics.md."""
