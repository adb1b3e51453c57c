"""The Grafana dashboard's structure (its queries are run against a real Prometheus in
test_prometheus_live.py)."""

from __future__ import annotations

import json
import re

from logagent.config.loader import load_config
from tests.conftest import REPO

DASHBOARD = REPO / "config" / "grafana" / "logagent-dashboard.json"


def load() -> dict:
    return json.loads(DASHBOARD.read_text())


def test_panels_have_unique_ids_datasource_and_queries():
    dash = load()
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            # Every query follows the agent picker, so selecting an agent filters every panel.
            assert 'instance=~"$instance"' in t["expr"], (p["title"], t["expr"])


def test_variables_are_declared():
    names = {v["name"] for v in load()["templating"]["list"]}
    assert names == {"datasource", "instance"}


def test_nginx_panels_use_the_metrics_declared_in_the_nginx_set():
    declared = set(load_config(REPO / "config" / "metrics-nginx.toml").sections["metrics"].metrics)
    used = set()
    for p in load()["panels"]:
        for t in p.get("targets", []):
            used |= {
                re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"\b(nginx_[a-z_]+)\{", t["expr"])
            }
    assert used and used <= declared, used - declared
