"""Property tests: random and mutated lines never raise, and every input comes back as a record."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.base import LEVELS, Parser, Record
from parsers.configured import ChainParser, RegexParser
from parsers.registry import BUILTINS, get_parser
from parsers.timestamps import MAX_NS, MIN_NS
from tests.parsers.test_builtins import CASES

SAMPLES = [line for _, line, *_ in CASES] + [
    "<13>1 - - - - - -",
    "Jan  1 00:00:00 h k: [1.0] IN= OUT= SRC=1 DST=2",
    "2026-01-01 00:00:00,000 - INFO  [t] - x",
    '{"ts": 99999999999999999999999, "level": 70, "time": "9999-12-31T23:59:60+00:00"}',
    "# Time: 0000-00-00T00:00:00Z\nSET timestamp=99999999999999999999;",
]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _all_parsers() -> list[tuple[str, Parser]]:
    out = [(name, get_parser(name)) for name in BUILTINS]
    out.append(
        (
            "regex",
            RegexParser(r"^(?P<time>\S+) (?P<level>\w+) (?P<n>\d+)", types={"n": "int"}, time_key="time"),
        )
    )
    out.append(("chain", ChainParser([get_parser("docker"), get_parser("json")])))
    return out


PARSERS = _all_parsers()


@st.composite
def mutated(draw: Any) -> str:
    line = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cut", "insert", "replace", "truncate", "repeat"]))
        i = draw(st.integers(0, len(line)))
        if op == "cut":
            j = draw(st.integers(i, len(line)))
            line = line[:i] + line[j:]
        elif op == "insert":
            line = line[:i] + draw(st.text(max_size=8)) + line[i:]
        elif op == "replace" and line:
            line = line[:i] + draw(st.sampled_from(list(' "[]{}:=,\\\n\x00é9-'))) + line[i + 1 :]
        elif op == "truncate":
            line = line[:i]
        else:
            line = line[:i] + line[i : i + 20] * 3 + line[i:]
    return line


def _check(parser: Parser, lines: list[str]) -> None:
    recs = parser.parse_batch(lines)
    assert len(recs) == len(lines)
    for rec in recs:
        assert isinstance(rec, Record)
        assert rec.error is None or (isinstance(rec.error, str) and rec.error)
        assert rec.level is None or rec.level in LEVELS
        assert rec.message is None or isinstance(rec.message, str)
        # Any time a parser returns must be formattable downstream (RFC 3339, years 1000-9999).
        assert rec.ts_ns is None or (isinstance(rec.ts_ns, int) and MIN_NS <= rec.ts_ns <= MAX_NS)
        assert isinstance(rec.fields, dict)


@pytest.mark.parametrize(("name", "parser"), PARSERS, ids=[n for n, _ in PARSERS])
@SETTINGS
@given(lines=st.lists(st.text(max_size=200), max_size=5))
def test_random_text_never_raises_and_keeps_every_line(name: str, parser: Parser, lines: list[str]) -> None:
    _check(parser, lines)


@pytest.mark.parametrize(("name", "parser"), PARSERS, ids=[n for n, _ in PARSERS])
@SETTINGS
@given(lines=st.lists(mutated(), min_size=1, max_size=5))
def test_mutated_real_lines_never_raise_and_keep_every_line(
    name: str, parser: Parser, lines: list[str]
) -> None:
    _check(parser, lines)


@SETTINGS
@given(values=st.lists(st.one_of(st.text(max_size=40), st.integers(), st.floats(allow_nan=True), st.none())))
def test_timestamp_detection_never_raises(values: list[Any]) -> None:
    from parsers.timestamps import TimestampParser

    tp = TimestampParser("auto", now=lambda: 1_772_445_600.0)
    for value in values:
        ts = tp.parse(value)
        assert ts is None or (isinstance(ts, int) and MIN_NS <= ts <= MAX_NS)


@SETTINGS
@given(
    lines=st.lists(st.sampled_from(["S1", "S2", "  c", "\tat x", "", "S3 x"]), max_size=30),
    max_lines=st.integers(1, 6),
)
def test_split_records_loses_and_reorders_nothing(lines: list[str], max_lines: int) -> None:
    from parsers.multiline import compile_start, split_records

    records, used = split_records(lines, compile_start("^S"), max_lines)
    assert 0 <= used <= len(lines)
    joined = [ln for rec in records for ln in rec.split("\n")]
    assert joined == lines[:used]
    assert all(rec.count("\n") < max_lines for rec in records)
    assert len(lines) - used < max_lines or not lines  # the open record is never over the cap
