"""``logagent grep --patterns``: matches grouped by template with counts."""

from __future__ import annotations

import argparse

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
