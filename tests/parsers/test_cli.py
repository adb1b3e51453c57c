"""``logagent parse`` and ``logagent parsers``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from logagent.cli import main


def test_parse_reads_stdin_and_prints_one_json_record_per_line() -> None:
    lines = (
        '192.0.2.1 - - [02/Mar/2026:10:00:04 +0000] "GET /a HTTP/1.1" 404 7 "-" "curl/8"\n'
        "this is not an access log line\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "logagent", "parse", "--parser", "nginx"],
        input=lines.encode(),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = [orjson.loads(x) for x in proc.stdout.splitlines()]
    assert len(out) == 2
    assert out[0]["ts"] == "2026-03-02T10:00:04.000000000Z"
    assert out[0]["level"] == "warning"
    assert out[0]["fields"]["status"] == 404 and out[0]["fields"]["path"] == "/a"
    assert out[0]["line"] == lines.splitlines()[0]
    assert "parse_error" not in out[0]
    assert (
        out[1]["parse_error"] and out[1]["line"] == "this is not an access log line" and out[1]["ts"] is None
    )


def test_parse_files_with_a_config_defined_parser_and_multiline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[parsers.kv]\ntype = "regex"\n'
        "pattern = '^(?P<time>\\S+) (?P<level>\\w+) (?P<message>.*)'\n"
        'time_key = "time"\n'
    )
    log = tmp_path / "app.log"
    log.write_text("2026-03-02T10:00:00Z ERROR boom\n  at frame1\n2026-03-02T10:00:01Z INFO ok\r\n")
    assert main(["parse", "-p", "kv", "-c", str(cfg), "--multiline", r"^\d{4}-", str(log)]) == 0
    out = [orjson.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [o["message"] for o in out] == ["boom\n  at frame1", "ok"]
    assert [o["level"] for o in out] == ["error", "info"]


def test_parse_unknown_parser_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "-p", "nope", "/dev/null"]) == 2
    assert "unknown parser 'nope'" in capsys.readouterr().err


def test_parsers_lists_builtins_and_config_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[parsers.mine]\ntype = "logfmt"\ndescription = "Our app."\n')
    assert main(["parsers", "-c", str(cfg)]) == 0
    rows = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines()}
    for name in ("json", "logfmt", "syslog", "nginx", "auto", "gpu_xid", "java"):
        assert "built-in" in rows[name]
    assert "config" in rows["mine"] and rows["mine"].endswith("Our app.")
