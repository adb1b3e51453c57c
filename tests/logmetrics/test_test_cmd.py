"""``logagent test``: declared cases pass or fail with reasons, and the exit code says which."""

from __future__ import annotations

from pathlib import Path

import pytest

from logagent.cli import main

BASE = """
[sources.app]
type = "file"
include = ["/nonexistent/app.log"]
parser = "json"
labels = { env = "prod" }

[metrics.app_requests_total]
type = "counter"
sources = ["app"]
labels = ["status"]

[metrics.app_seconds]
type = "histogram"
field = "rt"
buckets = [0.1, 1]
"""

PASSING = """
[tests.json_lines]
source = "app"
input = ['{"status": 200, "rt": 0.05, "msg": "hi"}', 'garbage', '{"status": 200, "rt": 3}']
fields = [{ status = 200, env = "prod", rt = 0.05 }, { parse_error = true }]
metrics = { 'app_requests_total{status="200"}' = 2, 'app_requests_total{status="500"}' = 0, \
'app_seconds_bucket{le="0.1"}' = 1, 'app_seconds_count' = 2, \
'logagent_parse_errors_total{source="app",parser="json"}' = 1 }

[tests.raw_override]
parser = "raw"
input = '''
first
second
'''
fields = [{ message = "first" }, { message = "second", parse_error = false }]
"""


def run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    path = tmp_path / "t.toml"
    path.write_text(text)
    rc = main(["test", "--config", str(path)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_passing_cases_exit_zero(tmp_path, capsys):
    rc, out, _ = run(tmp_path, BASE + PASSING, capsys)
    assert out.splitlines() == [
        "PASS json_lines (3 lines)",
        "PASS raw_override (2 lines)",
        "2 passed, 0 failed",
    ]
    assert rc == 0


def test_failures_are_explained_and_exit_one(tmp_path, capsys):
    failing = """
[tests.wrong]
source = "app"
input = ['{"status": 500}', '{"status": 500}', 'oops']
fields = [{ status = "500" }, { missing = 1 }, { parse_error = false }]
metrics = { 'app_requests_total{status="404"}' = 2 }
"""
    rc, out, _ = run(tmp_path, BASE + PASSING + failing, capsys)
    assert rc == 1
    assert out.splitlines() == [
        "PASS json_lines (3 lines)",
        "PASS raw_override (2 lines)",
        "FAIL wrong",
        "  line 1: field status: expected '500' (str), got 500 (int)",
        "  line 2: field missing: expected 1 (int), got nothing",
        "  line 3: expected the parser to accept it (its error: invalid JSON)",
        '  app_requests_total{status="404"}: expected 2, got absent (other series: {status="500"})',
        "2 passed, 1 failed",
    ]


def test_each_case_starts_from_empty_metrics(tmp_path, capsys):
    cases = """
[tests.one]
source = "app"
input = ['{"status": 200}']
metrics = { 'app_requests_total{status="200"}' = 1 }
[tests.two]
source = "app"
input = ['{"status": 200}']
metrics = { 'app_requests_total{status="200"}' = 1 }
"""
    rc, out, _ = run(tmp_path, BASE + cases, capsys)
    assert rc == 0, out


def test_no_cases_exit_one(tmp_path, capsys):
    rc, out, _ = run(tmp_path, BASE, capsys)
    assert rc == 1
    assert "no test cases" in out


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ('source = "nope"\ninput = ["x"]', "tests.bad.source: unknown source 'nope'"),
        ('input = ["x"]\nmetrics = { "a{b=c}" = 1 }', "tests.bad.metrics: 'a{b=c}': cannot read the labels"),
        ("input = []", "tests.bad.input: expected a non-empty list"),
        ('input = ["x"]\nfields = [{}, {}]', "tests.bad.fields: 2 entries for 1 input lines"),
        ('input = ["x"]\nexpect = 1', "tests.bad.expect: unknown key"),
    ],
)
def test_bad_cases_are_config_errors(tmp_path, capsys, case, error):
    rc, _, err = run(tmp_path, BASE + "[tests.bad]\n" + case + "\n", capsys)
    assert rc == 2
    assert f"config error: {error}" in err


def test_an_unknown_parser_fails_the_case(tmp_path, capsys):
    rc, out, _ = run(tmp_path, BASE + '[tests.p]\nparser = "nope"\ninput = ["x"]\n', capsys)
    assert rc == 1
    assert "parser 'nope'" in out
