"""``logagent grep --patterns``: matches grouped by template with counts."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from logagent.patterns.grep import PatternCounts, enable
from parsers.base import Record


def test_counts_by_template_most_frequent_first():
    agg = PatternCounts()
    agg.add(None, b"job 1 failed\n")
    agg.add(Record(message="disk /dev/sda full"), b"t0 disk /dev/sda full")
    agg.add(None, "job 2 failed")
    out = agg.render().decode().splitlines()
    assert out[0].split() == ["COUNT", "ID", "TEMPLATE"]
    assert out[1].split()[0] == "2" and out[1].endswith("job <*> failed")
    assert out[2].split()[0] == "1" and out[2].endswith("disk <*> full")
    assert agg.selected == 3


def test_enable_takes_the_aggregation_slot():
    args = argparse.Namespace(count_by=None, histogram=None, parser=None, source=None)
    assert enable(args) is None
    assert isinstance(args.count_by, PatternCounts) and args.parser == "raw"
    args = argparse.Namespace(count_by="status", histogram=None, parser=None, source=None)
    assert "cannot be combined" in (enable(args) or "")


def run_grep(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "logagent", "grep", *args], capture_output=True, timeout=60, check=False
    )


def test_grep_patterns_groups_matches(tmp_path: Path):
    log = tmp_path / "app.log"
    log.write_text(
        "2024-05-01T12:00:00Z ERROR job 1 failed: disk full\n"
        "2024-05-01T12:00:01Z INFO job 2 done\n"
        "2024-05-01T12:00:02Z ERROR job 3 failed: disk full\n"
        "2024-05-01T12:00:03Z ERROR cannot open /var/x\n"
    )
    out = run_grep("--patterns", "--parser", "auto", "ERROR", str(log))
    assert out.returncode == 0, out.stderr
    rows = out.stdout.decode().splitlines()
    assert rows[0].split() == ["COUNT", "ID", "TEMPLATE"]
    assert rows[1].split()[0] == "2" and rows[1].endswith("job <*> failed: disk full")
    assert rows[2].split()[0] == "1" and rows[2].endswith("cannot open <*>")
    assert len(rows) == 3
    # Without a parser the whole line is mined; -v selects the others.
    rows = run_grep("--patterns", "-v", "ERROR", str(log)).stdout.decode().splitlines()
    assert len(rows) == 2 and rows[1].split()[0] == "1" and rows[1].endswith("INFO job <*> done")
    bad = run_grep("--patterns", "--count-by", "level", "--parser", "auto", "x", str(log))
    assert bad.returncode == 2 and b"cannot be combined" in bad.stderr
