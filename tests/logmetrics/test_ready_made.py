"""The ready-made metric sets in config/: valid, their own test cases pass, and on the real log
samples of the shared corpus they count what an independent regex counts."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from logagent.cli import main
from logagent.config.loader import load_config
from logagent.event import Batch
from logagent.logmetrics.engine import engine_for
from logagent.metrics import AgentMetrics
from logagent.topology import build_parser
from tests.conftest import REPO, require_corpus
from tests.logmetrics.helpers import series_of

SETS = {
    "metrics-nginx.toml": "nginx",
    "metrics-sshd.toml": "auth",
    "metrics-firewall.toml": "iptables",
    "metrics-gpu-xid.toml": "gpu_xid",
}


def require_parser(name: str) -> None:
    """Skip while the parser this set needs is not written yet (it lives in parsers/)."""
    from parsers.registry import get_parser

    try:
        get_parser(name)
    except Exception as exc:  # not registered yet, or its module not there yet
        pytest.skip(f"parser {name!r} not available yet: {exc}")


@pytest.mark.parametrize("filename", SETS)
def test_set_is_valid_and_its_cases_pass(filename, capsys):
    require_parser(SETS[filename])
    path = REPO / "config" / filename
    assert main(["check-config", "--config", str(path)]) == 0, capsys.readouterr().err
    rc = main(["test", "--config", str(path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert " 0 failed" in out and "FAIL" not in out


def run_set(filename: str, corpus: Path) -> tuple[AgentMetrics, list[str]]:
    """Feed a corpus file through the set's only source (its parser, then its metrics)."""
    config = load_config(REPO / "config" / filename)
    ((source, src_cfg),) = config.sources.items()
    lines = corpus.read_text(encoding="utf-8").splitlines()
    batch = Batch(source, lines)
    assert src_cfg.parser is not None
    batch.records = build_parser(config, src_cfg.parser).parse_batch(lines)
    metrics = AgentMetrics()
    engine = engine_for(metrics)
    engine.configure(config.sections["metrics"])
    engine(batch)
    return metrics, lines


def by(series: dict, label: str) -> dict[str, float]:
    out: Counter[str] = Counter()
    for labels, v in series.items():
        out[dict(labels)[label]] += v
    return dict(out)


def test_nginx_requests_by_status_match_the_corpus():
    require_parser("nginx")
    m, lines = run_set("metrics-nginx.toml", require_corpus("nginx", "beats_nginx_access_test.log"))
    expected = Counter(re.search(r'" (\d{3}) ', ln).group(1) for ln in lines)
    assert by(series_of(m, "nginx_http_requests_total"), "status") == expected


def test_sshd_logins_match_the_corpus():
    require_parser("auth")
    m, lines = run_set("metrics-sshd.toml", require_corpus("auth", "beats_system_auth_test.log"))
    accepted = Counter(x.group(1) for ln in lines if (x := re.search(r"sshd\[\d+\]: Accepted (\S+) for", ln)))
    failed = Counter(x.group(1) for ln in lines if (x := re.search(r"sshd\[\d+\]: Failed (\S+) for", ln)))
    invalid = sum(1 for ln in lines if re.search(r"sshd\[\d+\]: [Ii]nvalid user ", ln))
    assert accepted and (failed or invalid)
    assert by(series_of(m, "sshd_logins_total"), "auth_method") == accepted
    assert by(series_of(m, "sshd_failed_logins_total"), "auth_method") == failed
    assert sum(series_of(m, "sshd_invalid_users_total").values()) == invalid


@pytest.mark.parametrize("name", ["beats_iptables_iptables.log", "beats_iptables_ubiquiti.log"])
def test_firewall_drops_match_the_corpus(name):
    require_parser("iptables")
    m, lines = run_set("metrics-firewall.toml", require_corpus("iptables", name))
    # A drop: the log prefix (before IN=) names a blocking verdict, or an EdgeOS "-D]" rule.
    verdict = re.compile(r"^\w{3} +\d+ [\d:]+ \S+ (?:kernel: )?(?:\[[\d. ]+\] )?(.*?)\s?IN=")
    drops = [ln for ln in lines if re.search(r"DROP|BLOCK|REJECT|DENY|-[DR]\]", verdict.search(ln).group(1))]
    assert sum(series_of(m, "firewall_dropped_packets_total").values()) == len(drops)
    protos = Counter(re.search(r" PROTO=(\S+)", ln).group(1) for ln in drops)
    assert by(series_of(m, "firewall_dropped_packets_total"), "protocol") == protos
    assert sum(series_of(m, "firewall_logged_packets_total").values()) == len(lines)


@pytest.mark.parametrize("name", ["gpud_dmesg-with-xid-119.log", "gpud_memory_dmesg.decode.iso.log"])
def test_gpu_xid_errors_match_the_corpus(name):
    require_parser("gpu_xid")
    m, lines = run_set("metrics-gpu-xid.toml", require_corpus("gpu", name))
    expected = Counter(x.group(1) for ln in lines if (x := re.search(r"NVRM: Xid \([^)]*\): (\d+),", ln)))
    assert expected
    assert by(series_of(m, "gpu_xid_errors_total"), "xid") == expected
