"""The shipped Prometheus config and alert rules: valid for promtool, and the rules' unit tests pass."""

from __future__ import annotations

import subprocess

from tests.conftest import REPO, require_tool

PROM_DIR = REPO / "config" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("promtool"), *args], cwd=PROM_DIR, capture_output=True, text=True, timeout=60
    )


def test_alert_rules_are_valid():
    res = promtool("check", "rules", "logagent-alerts.yml")
    assert res.returncode == 0, res.stdout + res.stderr


def test_alert_rule_unit_tests_pass():
    res = promtool("test", "rules", "logagent-alerts.test.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_scrape_config_is_valid():
    res = promtool("check", "config", "prometheus.yml")
    assert res.returncode == 0, res.stdout + res.stderr
