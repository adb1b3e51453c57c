"""The derived metrics on /metrics: valid for promtool, and parsed back to the same values."""

from __future__ import annotations

import subprocess

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import require_tool
from tests.logmetrics.helpers import batch, make_engine

METRICS = """
[metrics.app_requests_total]
type = "counter"
help = "Requests by status."
labels = ["status", "path"]
[metrics.app_bytes_total]
type = "counter"
field = "bytes"
[metrics.app_queue_depth]
type = "gauge"
field = "depth"
[metrics.app_request_seconds]
type = "histogram"
field = "t"
labels = ["status"]
buckets = [0.01, 0.5, 2]
"""

# Label values that need escaping in the text format.
AWKWARD = ['/a"quoted"', "/back\\slash", "/new\nline", "/ünïcödé", ""]


def exposition() -> str:
    engine, m = make_engine(METRICS)
    rows = [
        {"status": 200 + i % 3, "path": AWKWARD[i % len(AWKWARD)], "bytes": i, "depth": i, "t": i / 10}
        for i in range(40)
    ]
    engine(batch("web", rows))
    return m.exposition().decode()


def test_promtool_accepts_the_exposition():
    promtool = require_tool("promtool")
    text = exposition()
    res = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert res.returncode == 0, res.stdout.decode() + res.stderr.decode()


def test_exposition_parses_back_to_the_aggregated_values():
    fams = {f.name: f for f in text_string_to_metric_families(exposition())}
    assert fams["app_requests"].type == "counter"
    assert fams["app_requests"].documentation == "Requests by status."
    got = {(s.labels["status"], s.labels["path"]): s.value for s in fams["app_requests"].samples}
    expected: dict[tuple[str, str], float] = {}
    for i in range(40):
        k = (str(200 + i % 3), AWKWARD[i % len(AWKWARD)])
        expected[k] = expected.get(k, 0) + 1
    assert got == expected
    assert [s.value for s in fams["app_bytes"].samples] == [sum(range(40))]
    assert fams["app_queue_depth"].type == "gauge"
    assert [s.value for s in fams["app_queue_depth"].samples] == [39]
    hist = fams["app_request_seconds"]
    assert hist.type == "histogram"
    counts = {
        (s.labels["status"], s.labels["le"]): s.value for s in hist.samples if s.name.endswith("_bucket")
    }
    for status in ("200", "201", "202"):
        ts = [i / 10 for i in range(40) if str(200 + i % 3) == status]
        for le, bound in (("0.01", 0.01), ("0.5", 0.5), ("2.0", 2), ("+Inf", float("inf"))):
            assert counts[(status, le)] == sum(1 for t in ts if t <= bound)
