"""--where / --since / --until / --json / --count-by / --histogram, checked against counts
computed independently from the generated lines (not through the parser)."""

from __future__ import annotations

import calendar
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from logagent.grep.fields import FieldError, parse_time, parse_where
from parsers.base import Record
from tests.grep.conftest import nginx_lines, ours

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z; one line every 3 s


def _status(line: str) -> int:
    return int(line.split('"')[2].split()[0])


def _method_path(line: str) -> tuple[str, str]:
    method, path, _ = line.split('"')[1].split(" ")
    return method, path


@pytest.fixture(scope="module")
def access(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    lines = nginx_lines(2000, seed=11, t0=T0)
    p = tmp_path_factory.mktemp("fields") / "access.log"
    p.write_text("\n".join(lines) + "\n")
    return p, lines


def _count(argv: list[str]) -> int:
    r = ours(argv)
    assert r.rc in (0, 1), r
    return int(r.out)


def test_where_numeric_comparison(access: tuple[Path, list[str]]) -> None:
    p, lines = access
    want = sum(1 for line in lines if _status(line) >= 500)
    assert want > 0
    assert _count(["--parser", "nginx", "--where", "status>=500", "-c", "", str(p)]) == want


def test_where_conditions_are_anded_with_the_pattern(access: tuple[Path, list[str]]) -> None:
    p, lines = access
    want = sum(
        1
        for line in lines
        if _method_path(line)[0] == "POST" and _method_path(line)[1].startswith("/api") and "curl" in line
    )
    argv = [
        "--parser",
        "nginx",
        "--where",
        "path=~^/api",
        "--where",
        "method=POST",
        "-c",
        "-F",
        "curl",
        str(p),
    ]
    assert want > 0
    assert _count(argv) == want


def test_where_level_compares_by_severity(access: tuple[Path, list[str]]) -> None:
    p, lines = access
    # nginx access lines: 5xx -> error, 4xx -> warning (the parser's mapping).
    want = sum(1 for line in lines if _status(line) >= 400)
    assert _count(["--parser", "nginx", "--where", "level>=warning", "-c", "", str(p)]) == want


def test_since_until_rfc3339(access: tuple[Path, list[str]]) -> None:
    p, lines = access
    since, until = T0 + 600, T0 + 1500  # [since, until)
    want = sum(1 for i in range(len(lines)) if since <= T0 + 3 * i < until)
    s = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since))
    u = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(until))
    assert _count(["--parser", "nginx", "--since", s, "--until", u, "-c", "GET", str(p)]) == sum(
        1 for i, line in enumerate(lines) if since <= T0 + 3 * i < until and "GET" in line
    )
    assert _count(["--parser", "nginx", "--since", s, "--until", u, "-c", "", str(p)]) == want


def test_since_relative(tmp_path: Path) -> None:
    now = int(time.time())
    t0 = now - 3 * 3600 + 30  # lines every 60 s; the 1h boundary falls 30 s from any line
    lines = []
    for i in range(180):
        tm = time.gmtime(t0 + 60 * i)
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", tm)
        lines.append(f'10.0.0.1 - - [{stamp}] "GET /x HTTP/1.1" 200 1 "-" "t"')
    p = tmp_path / "a.log"
    p.write_text("\n".join(lines) + "\n")
    want = sum(1 for i in range(180) if t0 + 60 * i >= now - 3600)
    assert 50 < want < 70
    assert _count(["--parser", "nginx", "--since", "1h", "-c", "", str(p)]) == want


def test_json_events_as_logagent_parse_prints(access: tuple[Path, list[str]]) -> None:
    p, lines = access
    r = ours(["--parser", "nginx", "--json", "--where", "status=404", "-m", "3", "", str(p)])
    assert r.rc == 0
    events = [orjson.loads(x) for x in r.out.splitlines()]
    want = [(i, line) for i, line in enumerate(lines) if _status(line) == 404][:3]
    assert [e["line"] for e in events] == [line for _, line in want]
    for e, (i, _) in zip(events, want, strict=True):
        assert e["ts"] == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T0 + 3 * i)) + ".000000000Z"
        assert e["fields"]["status"] == 404
        assert e["level"] == "warning"
        assert e["path"] == str(p)
        assert list(e) == ["ts", "level", "message", "fields", "line", "path"]  # as `logagent parse`


def test_count_by_table(access: tuple[Path, list[str]]) -> None:
    p, lines = access
    r = ours(["--parser", "nginx", "--count-by", "method", "-F", "/api", str(p)])
    want = Counter(_method_path(line)[0] for line in lines if "/api" in line)
    rows = r.out.decode().splitlines()
    assert rows[0].split() == ["COUNT", "method"]
    got = {v: int(c) for c, v in (row.split() for row in rows[1:])}
    assert got == dict(want)
    counts = [int(row.split()[0]) for row in rows[1:]]
    assert counts == sorted(counts, reverse=True)


def test_histogram_buckets(access: tuple[Path, list[str]]) -> None:
    p, lines = access
    r = ours(["--parser", "nginx", "--histogram=15m", "-F", "Googlebot", str(p)])
    assert r.rc == 0
    want = Counter((T0 + 3 * i) // 900 * 900 for i, line in enumerate(lines) if "Googlebot" in line)
    rows = r.out.decode().splitlines()
    assert rows[0].startswith("bucket 15m")
    got = {}
    for row in rows[1:]:
        stamp, count = row.split()[:2]
        got[calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))] = int(count)
    assert {k: v for k, v in got.items() if v} == dict(want)
    assert "█" in r.out.decode()


def test_field_options_need_a_parser(access: tuple[Path, list[str]]) -> None:
    p, _ = access
    assert ours(["--where", "status>=500", "x", str(p)]).rc == 2
    assert ours(["--parser", "nginx", "--where", "status>>5", "x", str(p)]).rc == 2
    assert ours(["--parser", "no-such-parser", "--json", "x", str(p)]).rc == 2


def test_where_expression_semantics() -> None:
    rec = Record(level="error", message="m", fields={"status": "503", "http": {"host": "a.example"}, "n": 7})
    assert parse_where("status>=500")(rec)
    assert not parse_where("status<500")(rec)
    assert parse_where("http.host=~example$")(rec)
    assert parse_where("missing!=x")(rec) and not parse_where("missing=x")(rec)
    assert parse_where("level=err")(rec) and parse_where("level>warning")(rec)
    assert parse_where('n = "7"')(rec)
    with pytest.raises(FieldError):
        parse_where("level=loud")
    assert parse_time("2024-05-01T12:00:00.123456789Z") == 1714564800123456789
    assert parse_time("15m", now_ns=10**12) == 10**12 - 900 * 10**9
