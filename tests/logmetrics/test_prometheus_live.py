"""A real Prometheus scraping a running agent fed a known nginx corpus: the query results equal
counts computed here from the generator's own records, the shipped alert rules load, and every
PromQL query of the Grafana dashboard returns data. One Prometheus start for all of it."""

from __future__ import annotations

import json
import random
import re
import subprocess
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.agentproc import AgentProcess
from tests.conftest import REPO, require_tool
from tests.logmetrics.promserver import PrometheusServer, has_number, values

METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
STATUSES = [200, 200, 200, 200, 201, 301, 304, 404, 500, 502, 503]


def generate(rng: random.Random, n: int, start: int) -> tuple[list[str], list[dict]]:
    """``n`` nginx access lines (combined + request_time) and the truth behind each."""
    lines, truth = [], []
    for i in range(start, start + n):
        t = {
            "status": rng.choice(STATUSES),
            "method": rng.choice(METHODS),
            "bytes": rng.randrange(0, 50_000),
            "rt": round(rng.expovariate(10), 3),
        }
        lines.append(
            f"10.1.{i % 250}.{i % 7} - - [27/Nov/2026:10:{i // 60 % 60:02d}:{i % 60:02d} +0000] "
            f'"{t["method"]} /item/{i} HTTP/1.1" {t["status"]} {t["bytes"]} "-" "loadgen/1.0" {t["rt"]:.3f}'
        )
        truth.append(t)
    return lines, truth


def agent_config(tmp: Path, log: Path) -> Path:
    """The shipped nginx metric set, pointed at ``log``, with a file sink and a free port."""
    text = (REPO / "config" / "metrics-nginx.toml").read_text()
    text = text.replace('listen = "127.0.0.1:9880"', f'listen = "127.0.0.1:0"\ndata_dir = "{tmp / "data"}"')
    text = re.sub(r"(?m)^include = .*$", f'include = ["{log}"]', text, count=1)
    assert str(log) in text
    text += f'\n[sinks.out]\ntype = "file"\npath = "{tmp / "out"}"\n'
    path = tmp / "agent.toml"
    path.write_text(text)
    return path


def prometheus_config(tmp: Path, target: str) -> Path:
    """The shipped scrape config with the agent as its only target, scraping every second."""
    prom_dir = REPO / "config" / "prometheus"
    cfg = yaml.safe_load((prom_dir / "prometheus.yml").read_text())
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    cfg["rule_files"] = [str(prom_dir / f) for f in cfg["rule_files"]]
    (job,) = cfg["scrape_configs"]
    assert job["job_name"] == "logagent"
    job.pop("file_sd_configs")
    job["static_configs"] = [{"targets": [target]}]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def dashboard_queries() -> list[tuple[str, str]]:
    dash = json.loads((REPO / "config" / "grafana" / "logagent-dashboard.json").read_text())
    out = []
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    assert len(out) >= 20
    return out


def grafana_to_promql(expr: str) -> str:
    """Substitute the dashboard's variables as Grafana would (all agents, a 1-minute window)."""
    return expr.replace("$instance", ".*").replace("$__rate_interval", "1m")


@pytest.mark.slow
def test_prometheus_scrapes_agent_and_dashboard_queries_return_data(tmp_path):
    prometheus = require_tool("prometheus")
    rng = random.Random(6)
    log = tmp_path / "access.log"
    chunks = [generate(rng, 1000, i * 1000) for i in range(3)]
    garbage = ["this is not an nginx line", "GET / HTTP/1.1 but no brackets"]
    log.write_text("\n".join(chunks[0][0] + garbage) + "\n")

    with AgentProcess(agent_config(tmp_path, log)) as agent:
        agent.start()
        assert agent.port
        prom = PrometheusServer(prometheus, prometheus_config(tmp_path, f"127.0.0.1:{agent.port}"), tmp_path)
        prom.start()
        try:
            # Append a chunk after each new scrape, so rates over the test's minute are not zero.
            samples = "count_over_time(logagent_lines_read_total{source='nginx'}[5m])"
            for k, (lines, _) in enumerate(chunks[1:], start=1):
                prom.wait_for(samples, lambda r, k=k: bool(r) and float(r[0]["value"][1]) >= k)
                with log.open("a") as f:
                    f.write("\n".join(lines) + "\n")

            truth = [t for _, ts in chunks for t in ts]
            total = len(truth) + len(garbage)
            prom.wait_for(
                'logagent_lines_read_total{source="nginx"}',
                lambda r: bool(r) and float(r[0]["value"][1]) == total,
            )
            prom.wait_for(
                'logagent_events_sent_total{sink="out"}',
                lambda r: bool(r) and float(r[0]["value"][1]) == total,
            )

            # Derived metrics against counts computed from the generator's records.
            by_status_method = Counter((str(t["status"]), t["method"]) for t in truth)
            got = values(
                prom.query("sum by (status, method) (nginx_http_requests_total)"), "status", "method"
            )
            assert got == {k: float(v) for k, v in by_status_method.items()}
            bytes_by_status = Counter()
            for t in truth:
                bytes_by_status[str(t["status"])] += t["bytes"]
            got = values(prom.query("sum by (status) (nginx_http_response_bytes_total)"), "status")
            assert got == {(k,): float(v) for k, v in bytes_by_status.items()}
            hist = "nginx_http_request_duration_seconds"
            assert values(prom.query(f"{hist}_count"))[()] == len(truth)
            for le in (0.005, 0.1, 1):
                got_le = values(prom.query(f'{hist}_bucket{{le="{float(le)}"}}'))[()]
                assert got_le == sum(1 for t in truth if t["rt"] <= le), le
            assert abs(values(prom.query(f"{hist}_sum"))[()] - sum(t["rt"] for t in truth)) < 1e-6
            assert values(prom.query('logagent_parse_errors_total{source="nginx"}'))[()] == len(garbage)

            # The shipped alert rules are loaded and healthy in a real Prometheus.
            rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
            assert len(rules) == 8 and all(r["health"] == "ok" for r in rules), rules

            # Every dashboard query returns at least one real number (and the check can fail).
            assert not has_number(prom.query("nginx_no_such_metric_total"))
            empty = []
            for title, expr in dashboard_queries():
                if not has_number(prom.query(grafana_to_promql(expr))):
                    empty.append(f"{title}: {expr}")
            assert not empty, "dashboard queries without data:\n" + "\n".join(empty)

            # And the agent's own /metrics says the same as Prometheus, in a form promtool accepts.
            with urllib.request.urlopen(f"http://127.0.0.1:{agent.port}/metrics", timeout=10) as resp:
                exposition = resp.read()
            assert f"nginx_http_request_duration_seconds_count {float(len(truth))}" in exposition.decode()
            lint = subprocess.run(
                [require_tool("promtool"), "check", "metrics"],
                input=exposition,
                capture_output=True,
                timeout=30,
            )
            assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()
        finally:
            prom.stop()
        assert agent.stop() == 0
