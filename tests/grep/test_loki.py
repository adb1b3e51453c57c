"""``--from loki``: query_range against the strict fake Loki, paged forward by time, page edges
deduplicated, the pattern sent as a LogQL line filter and re-applied locally, tenant header."""

from __future__ import annotations

import calendar
import time
import urllib.request
from collections.abc import Iterator

import orjson
import pytest

from logagent.grep.remote_loki import line_filter
from tests.grep.conftest import nginx_lines, ours
from tests.sinks.loki.receiver import ThreadedReceiver

NS = 1_000_000_000
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def push(url: str, streams: list[dict], tenant: str | None = None) -> None:
    req = urllib.request.Request(
        f"{url}/loki/api/v1/push",
        data=orjson.dumps({"streams": streams}),
        headers={"Content-Type": "application/json", **({"X-Scope-OrgID": tenant} if tenant else {})},
    )
    with _NO_PROXY.open(req, timeout=10) as resp:
        assert resp.status == 204


@pytest.fixture
def loki() -> Iterator[ThreadedReceiver]:
    with ThreadedReceiver(multi_tenant=True) as rx:
        yield rx


@pytest.fixture
def seeded(loki: ThreadedReceiver) -> tuple[str, int, list[tuple[int, str, str]]]:
    """Two streams of 300 entries over 10 minutes; groups of 3 entries share a timestamp, so
    page edges often fall inside a group."""
    t0 = (time.time_ns() - 20 * 60 * NS) // NS * NS
    lines = nginx_lines(600, seed=21)
    entries: list[tuple[int, str, str]] = []  # (ts, job, line)
    for job, part in (("web", lines[:300]), ("api", lines[300:])):
        values = []
        for i, line in enumerate(part):
            ts = t0 + (i // 3) * NS + (0 if job == "web" else 500_000_000)
            values.append([str(ts), line])
            entries.append((ts, job, line))
        push(loki.url, [{"stream": {"job": job, "env": "test"}, "values": values}], tenant="t1")
    # Another tenant's data must never show up.
    push(loki.url, [{"stream": {"job": "web"}, "values": [[str(t0), "curl other tenant"]]}], tenant="t2")
    return loki.url, t0, entries


def _since(t0: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 // NS - 60))


def test_all_matches_once_in_time_order_across_small_pages(seeded) -> None:
    url, t0, entries = seeded
    argv = ["--from", "loki", "--loki-url", url, "--tenant", "t1", "--selector", '{env="test"}']
    argv += ["--since", _since(t0), "--page-size", "7", "--json", "-i", "-w", "curl"]
    r = ours(argv)
    assert r.rc == 0
    events = [orjson.loads(x) for x in r.out.splitlines()]
    import regex

    rx = regex.compile(r"(?i)(?<![A-Za-z0-9_])curl(?![A-Za-z0-9_])")
    want = sorted((ts, line) for ts, _, line in entries if rx.search(line))
    got = [(e["ts"], e["line"]) for e in events]
    assert sorted(e["line"] for e in events) == sorted(line for _, line in want)
    assert [g[0] for g in got] == sorted(g[0] for g in got)  # time order
    assert len(want) > 30  # several pages
    assert all(e["labels"]["env"] == "test" for e in events)


def test_plain_output_and_count(seeded) -> None:
    url, t0, entries = seeded
    base = ["--from", "loki", "--loki-url", url, "--tenant", "t1", "--selector", '{job="web"}']
    base += ["--since", _since(t0), "--page-size", "5"]
    want = [line for _, job, line in sorted(entries, key=lambda e: e[0]) if job == "web" and "POST" in line]
    r = ours([*base, "-F", "POST"])
    assert r.out.decode().splitlines() == want
    assert ours([*base, "-c", "-v", "-F", "POST"]).out == f"{300 - len(want)}\n".encode()
    assert ours([*base, "-F", "no-such-text"]).rc == 1


def test_tenant_is_sent(seeded) -> None:
    url, t0, _ = seeded
    argv = ["--from", "loki", "--loki-url", url, "--selector", '{job="web"}', "--since", _since(t0), "curl"]
    assert ours(argv).rc == 2  # no tenant: the multi-tenant fake answers 401
    r = ours([*argv[:2], *argv[2:], "--tenant", "t2"])
    assert r.out == b"curl other tenant\n"


def test_a_page_of_one_timestamp_fails_instead_of_looping(loki: ThreadedReceiver) -> None:
    ts = time.time_ns() - 60 * NS
    push(loki.url, [{"stream": {"job": "x"}, "values": [[str(ts), f"line {i}"] for i in range(10)]}], "t1")
    argv = ["--from", "loki", "--loki-url", loki.url, "--tenant", "t1", "--selector", '{job="x"}']
    assert ours([*argv, "--since", "10m", "--page-size", "4", "line"]).rc == 2
    assert ours([*argv, "--since", "10m", "--page-size", "20", "-c", "line"]).out == b"10\n"


def test_line_filters() -> None:
    assert line_filter(["GET"], fixed=True, ignore_case=False, invert=False) == ' |= "GET"'
    assert line_filter(["a.b", "c"], fixed=True, ignore_case=True, invert=False) == ' |~ "(?i)a\\\\.b|c"'
    assert line_filter(["x"], fixed=True, ignore_case=False, invert=True) == ' != "x"'
    assert line_filter(["POST|PUT"], fixed=False, ignore_case=False, invert=False) == ' |~ "POST|PUT"'
    # Lookbehind is not RE2: fall back to the literals every match contains.
    assert line_filter([r"(?<=GET )/api/v\d"], fixed=False, ignore_case=False, invert=False) == ' |~ "/api/v"'
    assert line_filter([""], fixed=True, ignore_case=False, invert=False) == ""


def test_histogram_uses_loki_timestamps_without_a_parser(seeded) -> None:
    url, t0, entries = seeded
    argv = ["--from", "loki", "--loki-url", url, "--tenant", "t1", "--selector", '{env="test"}']
    r = ours([*argv, "--since", _since(t0), "--histogram=1m", "-F", "GET"])
    assert r.rc == 0
    from collections import Counter

    want = Counter(ts // (60 * NS) * 60 for ts, _, line in entries if "GET" in line)
    rows = r.out.decode().splitlines()[1:]
    got = {}
    for row in rows:
        stamp, count = row.split()[:2]
        got[calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))] = int(count)
    assert {k: v for k, v in got.items() if v} == dict(want)
