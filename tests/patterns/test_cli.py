"""``logagent patterns``: the table and the per-line JSON, through the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

LINES = [
    "2024-05-01T12:00:00Z INFO worker 3 started",
    "2024-05-01T12:00:01Z INFO Connection from 10.0.0.1 port 22 closed",
    "2024-05-01T12:00:02Z INFO worker 4 started",
    "2024-05-01T12:00:03Z INFO Connection from 10.0.0.2 port 23 closed",
    "2024-05-01T12:00:04Z INFO worker 5 started",
]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "logagent", "patterns", *args], input=stdin, capture_output=True, timeout=60
    )


def test_json_one_object_per_line_in_order(tmp_path: Path):
    f = tmp_path / "app.log"
    f.write_text("\n".join(LINES) + "\n")
    out = run("--parser", "auto", "--json", str(f))
    assert out.returncode == 0, out.stderr
    rows = [orjson.loads(x) for x in out.stdout.splitlines()]
    assert [r["line"] for r in rows] == LINES
    assert {r["template"] for r in rows} == {"worker <*> started", "Connection from <*> port <*> closed"}
    ids = [r["template_id"] for r in rows]
    assert ids[0] == ids[2] == ids[4] != ids[1] == ids[3]


def test_table_most_frequent_first_and_top(tmp_path: Path):
    f = tmp_path / "app.log"
    f.write_text("\n".join(LINES) + "\n")
    out = run("--parser", "auto", str(f)).stdout.decode().splitlines()
    assert out[0].split() == ["COUNT", "SHARE", "ID", "TEMPLATE"]
    assert out[1].split()[0] == "3" and out[1].endswith("worker <*> started")
    assert out[2].split()[0] == "2" and out[2].endswith("Connection from <*> port <*> closed")
    assert out[-1] == "2 templates, 5 lines"
    top = run("--parser", "auto", "--top", "1", str(f)).stdout.decode().splitlines()
    assert len(top) == 3 and top[1].endswith("worker <*> started")


def test_without_parser_the_whole_line_is_mined_from_stdin():
    out = run("--json", stdin=b"a 1\na 2\n")
    rows = [orjson.loads(x) for x in out.stdout.splitlines()]
    assert [r["template"] for r in rows] == ["a <*>", "a <*>"]


def test_bad_parser_is_a_usage_error(tmp_path: Path):
    out = run("--parser", "no-such-parser", str(tmp_path))
    assert out.returncode == 2
    assert b"no-such-parser" in out.stderr
