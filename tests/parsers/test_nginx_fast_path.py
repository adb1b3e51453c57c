"""The nginx batch fast path gives exactly what the per-line implementation it replaced gave.

``reference_batch`` is a frozen copy of the previous ``AccessLogMatcher.match_many`` loop (plain
regex, ``Record()`` per line, a dict time cache). Every record of the fast path must equal it:
time, level, message, error, and every field with its type and the key order. Each test runs
twice: with the compiled reader (parsers/_speedups.c) and with the pure-Python batch path.
"""

from __future__ import annotations

import gc
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import nginx
from parsers.base import Record
from parsers.nginx import _STATUS, ACCESS_COMBINED, ACCESS_COMBINED_ASCII, NginxParser
from tests.conftest import require_corpus
from tests.parsers.compiled import require_compiled


@pytest.fixture(params=[True, False], ids=["compiled", "python"], autouse=True)
def compiled(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Which batch path NginxParser() uses in this test (the reference never changes)."""
    if request.param:
        require_compiled()
    else:  # as if the module were not built
        monkeypatch.setattr(nginx, "_scan_combined", None)
    return bool(request.param)


_REFERENCE_COMBINED = re.compile(
    r'(\S+) - (\S+) \[([^\]]+)\] "([A-Z]+) ([^ "]*) (HTTP/[\d.]+)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"'
    r"(?: (\d+\.\d+)(?: (\d+\.\d+|-))?)?\Z"
)


def reference_batch(parser: NginxParser, lines: list[str]) -> list[Record]:
    """The previous implementation of ``NginxParser.parse_batch`` (kept as the oracle)."""
    ts_cache: dict[str, int] = {}
    out: list[Record] = []
    for line in lines:
        try:
            m = _REFERENCE_COMBINED.match(line)
            if m is None:
                out.append(parser.parse_line(line))
                continue
            addr, user, tstr, method, path, proto, status, nbytes, ref, ua, rt, urt = m.groups()
            ts = ts_cache.get(tstr)
            if ts is None:
                ts = parser.access._time(tstr)
                if ts is None:
                    out.append(parser.parse_line(line))
                    continue
                ts_cache[tstr] = ts
            st_, level = _STATUS[status]
            fields = {
                "remote_addr": addr,
                "remote_user": user,
                "method": method,
                "path": path,
                "protocol": proto,
                "status": st_,
                "body_bytes_sent": int(nbytes),
                "http_referer": ref,
                "http_user_agent": ua,
            }
            if rt is not None:
                fields["request_time"] = float(rt)
                if urt is not None and urt != "-":
                    fields["upstream_response_time"] = float(urt)
            out.append(Record(ts, level, line, fields))
        except Exception:
            out.append(parser.parse_line(line))
    return out


def _shape(rec: Record) -> tuple[Any, ...]:
    # Types and key order count, not only ==: 200 vs 200.0 or "200" must differ.
    return (
        type(rec),
        rec.ts_ns,
        rec.level,
        rec.message,
        rec.error,
        [(k, type(v), v) for k, v in rec.fields.items()],
    )


def assert_same(lines: list[str]) -> None:
    fast = NginxParser().parse_batch(lines)
    ref = reference_batch(NginxParser(), lines)
    assert len(fast) == len(ref) == len(lines)
    for line, a, b in zip(lines, fast, ref, strict=True):
        assert _shape(a) == _shape(b), line
        assert a == b
        # The tuned regex (possessive, spelled-out path set) reads exactly what the plain one does.
        m_new, m_ref = ACCESS_COMBINED.match(line), _REFERENCE_COMBINED.match(line)
        assert (m_new and m_new.groups()) == (m_ref and m_ref.groups()), line
        # ... and the ASCII-digit one a subset of those lines, with the same groups.
        m_ascii = ACCESS_COMBINED_ASCII.match(line)
        assert m_ascii is None or (m_ref is not None and m_ascii.groups() == m_ref.groups()), line


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _generated(n: int, seed: int) -> list[str]:
    """Access lines of every shape the fast path handles, and near misses it must hand on."""
    r = random.Random(seed)
    out = []
    for _ in range(n):
        addr = r.choice(["192.0.2.7", "2001:db8::1", "10.0.0.1,192.0.2.1", "-", "a\tb"])
        user = r.choice(["-", "-", "bob", "ü"])
        day = r.choice(["02", "31", "29", "00", "7"])
        month = r.choice([*_MONTHS, "Foo", "jan"])
        sec = r.choice(["00", "07", "59", "60", "61", "5x"])
        zone = r.choice(["+0000", "-0130", "+0530", "+00:00", "UTC", "+0000 "])
        tstr = f"{day}/{month}/{r.choice(['2026', '2024', '0999'])}:{r.randint(0, 23):02d}:59:{sec} {zone}"
        method = r.choice(["GET", "POST", "PROPFIND", "get", "M-SEARCH"])
        path = r.choice(["/", "/a?b=c", "/x%20y", "", "/a b"])
        proto = r.choice(["HTTP/1.1", "HTTP/2.0", "HTTP/1", "HTTPS/1.1"])
        status = r.choice(["200", "304", "404", "499", "500", "503", "099", "999", "20", "٢٠٠"])
        nbytes = r.choice(["0", "512", "007", "-", "9" * 5000, "١٢"])
        ref = r.choice(["-", "https://r.example/", 'with "quote'])
        ua = r.choice(["curl/8", "Mozilla/5.0 (X11)", "", "ua\\x22"])
        tail = r.choice(
            ["", " 0.100", " 0.100 0.099", " 0.100 -", " 1.5 1.25", " - -", " 0.1 0.2, 0.3", " 12", " x"]
        )
        out.append(
            f'{addr} - {user} [{tstr}] "{method} {path} {proto}" {status} {nbytes} "{ref}" "{ua}"{tail}'
        )
    return out


def test_generated_lines_of_every_shape() -> None:
    lines = _generated(3000, seed=4)
    # The mix must exercise both paths, or the comparison proves nothing.
    recs = NginxParser().parse_batch(lines)
    assert sum(r.error is None and "upstream_response_time" in r.fields for r in recs) > 50
    assert sum(r.error is None and "request_time" not in r.fields for r in recs) > 50
    assert sum(r.error is not None for r in recs) > 50
    assert_same(lines)


def test_the_benchmark_corpus_shape(tmp_path: Path) -> None:
    from bench.gen_nginx import generate

    path = tmp_path / "gen.log"
    generate(path, lines=8000, seed=3)
    lines = path.read_text().splitlines()
    assert_same(lines)
    # ... and the same lines without upstream_response_time, then without request_time.
    assert_same([re.sub(r" [\d.-]+\Z", "", ln) for ln in lines[:3000]])
    assert_same([re.sub(r"( [\d.-]+){2}\Z", "", ln) for ln in lines[:3000]])


def test_real_corpus_access_and_error_logs() -> None:
    lines: list[str] = []
    for name in ("beats_nginx_access_test.log", "beats_nginx_error_error.log"):
        lines += require_corpus("nginx", name).read_text().splitlines()
    assert len(lines) > 10
    assert_same(lines)
    assert_same(lines * 3)  # cached times and numbers on the second pass


def test_a_batch_restores_the_gc_state() -> None:
    assert gc.isenabled()
    NginxParser().parse_batch(_generated(10, seed=1))
    assert gc.isenabled()
    gc.disable()
    try:
        NginxParser().parse_batch(_generated(10, seed=1))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_time_cache_stays_bounded(compiled: bool) -> None:
    p = NginxParser()
    lines = [
        f'192.0.2.1 - - [01/Jan/2026:{h:02d}:{m:02d}:{s:02d} +0000] "GET / HTTP/1.1" 200 1 "-" "c" '
        f"{h}.{m:02d}{s:02d}"  # 5400 distinct request times: the number cache is cleared too
        for h in range(3)
        for m in range(60)
        for s in range(0, 60, 2)
    ]
    recs = p.parse_batch(lines)
    assert all(r.error is None for r in recs)
    # 180 minutes of 61 stamps: the cache was cleared on the way and holds at most ~4096.
    assert 0 < len(p.access._ts_cache) <= 4096 + 61
    # The Python path caches number strings too (the compiled one reads them directly).
    assert len(p.access._floats) < 4096 and (compiled or len(p.access._floats) > 0)
    assert_same(lines)


_SAMPLES = [
    *_generated(40, seed=9),
    '192.0.2.1 - - [02/Mar/2026:10:00:04 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8" 0.100 0.050',
]


@st.composite
def _mutated(draw: Any) -> str:
    line = draw(st.sampled_from(_SAMPLES))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(["cut", "insert", "replace"]))
        if op == "cut":
            line = line[:i] + line[draw(st.integers(i, len(line))) :]
        elif op == "insert":
            line = line[:i] + draw(st.text(max_size=6)) + line[i:]
        else:
            line = line[:i] + draw(st.sampled_from(list(' "[]:-.0959\n\x00é'))) + line[i + 1 :]
    return line


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(_mutated(), st.text(max_size=80)), min_size=1, max_size=6))
def test_mutated_lines_agree_with_the_reference(lines: list[str]) -> None:
    assert_same(lines)


def test_the_spelled_out_path_set_is_exactly_not_space_or_quote() -> None:
    every_char = "".join(map(chr, range(0x110000)))
    spelled = re.search(r"\(\[(\\x00[^]]*)\]\*\+\)", ACCESS_COMBINED.pattern)
    assert spelled is not None
    assert re.sub(f"[{spelled.group(1)}]", "", every_char) == ' "'
    assert re.sub(r'[^ "]', "", every_char) == ' "'


def test_the_fast_path_sets_every_record_slot() -> None:
    # match_many builds records with object.__new__ and one store per slot: a slot added to
    # Record must be added there too (an unset slot would raise on first read).
    import dataclasses

    assert [f.name for f in dataclasses.fields(Record)] == ["ts_ns", "level", "message", "fields", "error"]
    rec = NginxParser().parse_batch(_SAMPLES[-1:])[0]
    assert rec.error is None and all(hasattr(rec, f.name) for f in dataclasses.fields(Record))
