"""The compiled combined-line reader (parsers/_speedups.c) against the regex it stands in for.

test_nginx_fast_path.py compares whole records with a frozen reference; here the compiled
scanner is driven directly: which lines it takes (exactly ACCESS_COMBINED_ASCII's, ASCII only),
the numbers it reads itself (floats and ints equal to float() and int()), no leaked references,
and the switch that turns it off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.base import Record
from parsers.nginx import _COMBINED_KEYS, _LEVELS_BY_CLASS, ACCESS_COMBINED_ASCII, NginxParser
from tests.parsers.compiled import require_compiled

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _compiled() -> None:
    require_compiled()


class _AnyTime(dict[str, int]):
    """A time cache that takes every string (its length as the time): acceptance is then the
    scanner's alone."""

    def __missing__(self, key: str) -> int:
        return len(key)


def scan(lines: list[str]) -> tuple[list[Any], int]:
    from parsers._speedups import scan_combined

    return scan_combined(lines, Record, _AnyTime(), _LEVELS_BY_CLASS, _COMBINED_KEYS)


def expected_take(line: str) -> bool:
    """Whether the compiled scanner should read ``line`` itself."""
    if not line.isascii():
        return False
    m = ACCESS_COMBINED_ASCII.match(line)
    # Status 0xx and byte counts past 18 digits are left to the Python path on purpose.
    return m is not None and m.group(7) >= "100" and len(m.group(8)) <= 18


def assert_scanned_like_the_regex(lines: list[str]) -> None:
    records, misses = scan(lines)
    assert misses == sum(r is None for r in records)
    for line, rec in zip(lines, records, strict=True):
        assert (rec is not None) == expected_take(line), line
        if rec is None:
            continue
        addr, user, tstr, method, path, proto, status, nbytes, ref, ua, rt, urt = ACCESS_COMBINED_ASCII.match(
            line
        ).groups()  # type: ignore[union-attr]
        want: dict[str, Any] = {
            "remote_addr": addr,
            "remote_user": user,
            "method": method,
            "path": path,
            "protocol": proto,
            "status": int(status),
            "body_bytes_sent": int(nbytes),
            "http_referer": ref,
            "http_user_agent": ua,
        }
        if rt is not None:
            want["request_time"] = float(rt)
            if urt is not None and urt != "-":
                want["upstream_response_time"] = float(urt)
        assert list(rec.fields.items()) == list(want.items()), line
        assert [type(v) for v in rec.fields.values()] == [type(v) for v in want.values()]
        assert rec.ts_ns == len(tstr) and rec.message is line and rec.error is None
        assert rec.level == ("error" if int(status) >= 500 else "warning" if int(status) >= 400 else "info")


_GOOD = (
    '192.0.2.1 - bob [02/Mar/2026:10:00:04 +0000] "GET /a?b=1 HTTP/1.1" 404 512 "-" "curl/8.5" 0.100 0.050'
)
_EDGES = [
    _GOOD,
    _GOOD[: _GOOD.index(" 0.100")],  # no times
    _GOOD[: _GOOD.index(" 0.050")],  # request_time only
    _GOOD.replace("0.050", "-"),  # no upstream
    _GOOD.replace("0.050", "--"),
    _GOOD.replace("0.050", "-1"),
    _GOOD.replace("0.050", "0.050 "),  # trailing space: no match
    _GOOD + "\n",  # \Z is the end of the string only
    _GOOD.replace("0.100", "1"),
    _GOOD.replace("0.100", ".5"),
    _GOOD.replace("0.100", "5."),
    _GOOD.replace('"GET /a?b=1 HTTP/1.1"', '"GET  HTTP/1.1"'),  # empty path
    _GOOD.replace('"GET /a?b=1 HTTP/1.1"', '"GET /a HTTP/"'),
    _GOOD.replace('"GET /a?b=1 HTTP/1.1"', '"get /a HTTP/1.1"'),
    _GOOD.replace('"GET /a?b=1 HTTP/1.1"', '"GET /a HTTP/1.1 x"'),
    _GOOD.replace('"GET /a?b=1 HTTP/1.1"', '"GET /a\tb HTTP/1.1"'),  # a tab is in the path set
    _GOOD.replace("192.0.2.1", "192.0.2.1\x1c"),  # \x1c-\x1f are whitespace to \S
    _GOOD.replace("192.0.2.1", "192.0.2.1\x1b"),  # ... \x1b is not
    _GOOD.replace("192.0.2.1", ""),
    _GOOD.replace("bob", ""),
    _GOOD.replace("[02/Mar/2026:10:00:04 +0000]", "[]"),
    _GOOD.replace("[02/Mar/2026:10:00:04 +0000]", "[a]b]"),
    _GOOD.replace(" 404 ", " 099 "),
    _GOOD.replace(" 404 ", " 40 "),
    _GOOD.replace(" 404 ", " 4040 "),
    _GOOD.replace(" 512 ", " 999999999999999999 "),  # 18 digits: read here
    _GOOD.replace(" 512 ", " 1000000000000000000 "),  # 19: the Python path's
    _GOOD.replace(" 512 ", " 0007 "),
    _GOOD.replace(" 512 ", " - "),
    _GOOD.replace('"-"', '""'),
    _GOOD.replace('"curl/8.5"', '""'),
    _GOOD.replace('"curl/8.5"', '"a"b"'),
    _GOOD.replace(" - bob", " x bob"),
    _GOOD.replace("192.0.2.1", "é"),  # not ASCII: the Python path's
    "",
    " ",
    '"',
]


def test_edge_lines_are_taken_exactly_when_the_regex_matches() -> None:
    assert sum(map(expected_take, _EDGES)) >= 10  # both outcomes are exercised
    assert_scanned_like_the_regex(_EDGES)


_ALPHABET = st.sampled_from(list(' "[]-.0123456789/:+AGETHPaz\t\x1c\x1b\x00\x7f'))


@st.composite
def _mutated(draw: Any) -> str:
    line = draw(st.sampled_from(_EDGES[:4]))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(["cut", "insert", "replace"]))
        if op == "cut":
            line = line[:i] + line[draw(st.integers(i, len(line))) :]
        elif op == "insert":
            line = line[:i] + "".join(draw(st.lists(_ALPHABET, max_size=5))) + line[i:]
        else:
            line = line[:i] + draw(_ALPHABET) + line[i + 1 :]
    return line


_LINES = st.lists(st.one_of(_mutated(), st.text(alphabet=_ALPHABET, max_size=60)), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_LINES)
def test_mutated_lines_are_taken_exactly_when_the_regex_matches(lines: list[str]) -> None:
    assert_scanned_like_the_regex(lines)


def _line_with_times(rt: str, urt: str = "-") -> str:
    return _GOOD.replace("0.100 0.050", f"{rt} {urt}")


_DIGITS = st.text("0123456789", min_size=1, max_size=12)


@settings(max_examples=400, deadline=None)
@given(whole=_DIGITS, frac=_DIGITS)
def test_times_read_here_equal_float(whole: str, frac: str) -> None:
    # Up to 15 digits the scanner divides exact doubles; longer spans go through Python's dtoa.
    text = f"{whole}.{frac}"
    (rec,), misses = scan([_line_with_times(text, text)])
    assert misses == 0
    for key in ("request_time", "upstream_response_time"):
        value = rec.fields[key]
        assert type(value) is float and value.hex() == float(text).hex(), text


@pytest.mark.parametrize(
    "text",
    [
        "0.0",
        "0.1",
        "0.3",
        "2.675",
        "999999999999.999",  # 15 digits: the division
        "9999999999999.999",  # 16: dtoa
        "0.00000000000001",
        "000000000000001.0",
        "1" * 40 + ".5",  # past the 64-byte buffer: the Python path reads it
        "9" * 400 + ".0",  # inf, as float() says
    ],
)
def test_time_edge_values(text: str) -> None:
    line = _line_with_times(text)
    (rec,), misses = scan([line])
    if len(text) >= 64:
        assert rec is None and misses == 1
        rec = NginxParser().parse_batch([line])[0]  # the whole parser still reads it
    assert rec.fields["request_time"] == float(text)
    assert "upstream_response_time" not in rec.fields


def test_no_reference_is_leaked() -> None:
    lines = [_GOOD.replace("04 +0000", f"{s:02d} +0000").replace(" 512 ", f" {s} ") for s in range(60)] * 50
    lines += _EDGES * 20
    parser = NginxParser()
    line_refs = sys.getrefcount(lines[0])
    for _ in range(3):  # warm the caches
        parser.parse_batch(lines)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            parser.parse_batch(lines)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 20 x 4,000 lines: a leaked string or dict per line would be megabytes.
    assert grown < 64 * 1024
    # Records dropped: the line's references too (counted outside the assert, whose rewriting
    # holds the subexpressions it may have to show).
    line_refs_after = sys.getrefcount(lines[0])
    assert line_refs_after == line_refs


def test_a_record_type_without_the_five_slots_is_refused() -> None:
    from parsers._speedups import scan_combined

    class NotARecord:
        pass

    with pytest.raises(TypeError, match="slot named ts_ns"):
        scan_combined([_GOOD], NotARecord, {}, _LEVELS_BY_CLASS, _COMBINED_KEYS)
    with pytest.raises(ValueError, match="3 names"):
        scan_combined([_GOOD], Record, {}, ("info",), _COMBINED_KEYS)
    with pytest.raises(TypeError):
        scan_combined((_GOOD,), Record, {}, _LEVELS_BY_CLASS, _COMBINED_KEYS)


def _parse_cli(path: Path, **env: str) -> tuple[str, str]:
    run_env = {k: v for k, v in os.environ.items() if k != "LOGAGENT_NO_EXTENSIONS"} | env
    r = subprocess.run(
        [sys.executable, "-m", "logagent", "parse", "--parser", "nginx", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=run_env,
        cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "logagent", "parsers"], capture_output=True, text=True, timeout=60, env=run_env
    )
    (nginx_row,) = [row for row in listing.stdout.splitlines() if row.startswith("nginx ")]
    return r.stdout, nginx_row


def test_the_switch_turns_it_off_and_the_output_is_the_same(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("\n".join(_EDGES[:-3]) + "\n")
    compiled_out, compiled_row = _parse_cli(path)
    python_out, python_row = _parse_cli(path, LOGAGENT_NO_EXTENSIONS="1")
    assert "compiled" in compiled_row and "compiled" not in python_row
    assert compiled_out == python_out
    records = [json.loads(x) for x in compiled_out.splitlines()]
    assert sum("parse_error" not in r for r in records) >= 10


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_apache_batches_equal_its_line_by_line_reading(compiled: bool) -> None:
    from parsers.apache import ApacheParser
    from parsers.base import LineParser
    from tests.parsers.test_nginx_fast_path import _generated, _shape

    lines = _generated(2000, seed=5) + _EDGES
    lines += [
        "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration",
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
    ]
    parser = ApacheParser(compiled=compiled)
    batch = parser.parse_batch(lines)
    one_by_one = LineParser.parse_batch(ApacheParser(compiled=compiled), lines)
    assert [_shape(r) for r in batch] == [_shape(r) for r in one_by_one]
    assert sum(r.error is None for r in batch) > 200 and sum(r.error is not None for r in batch) > 100
