"""``--from cloudwatch``: FilterLogEvents on a real moto server, seeded with PutLogEvents, read
over many pages; the pattern applied client-side."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from typing import Any

import pytest

from logagent.cli import grep as grep_cli
from logagent.grep.remote_cloudwatch import CloudWatchQuery
from tests.grep.conftest import nginx_lines, ours
from tests.moto_server import MotoServer

GROUP = "/app/web"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="module")
def seeded(moto: MotoServer) -> tuple[str, list[tuple[int, str, str]]]:
    """Two streams of 120 events in the last hour (one every 10 s, interleaved)."""
    logs = moto.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    t0 = (int(time.time()) - 3000) * 1000
    lines = nginx_lines(240, seed=31)
    events: list[tuple[int, str, str]] = []
    for k, stream in enumerate(("web-1", "web-2")):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        batch = [
            {"timestamp": t0 + 10_000 * i + 5_000 * k, "message": line}
            for i, line in enumerate(lines[k * 120 : (k + 1) * 120])
        ]
        resp = logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=batch)
        assert not resp.get("rejectedLogEventsInfo")
        events += [(e["timestamp"], stream, e["message"]) for e in batch]
    events.sort()
    return moto.url, events


def _base(url: str) -> list[str]:
    return ["--from", "cloudwatch", "--log-group", GROUP, "--endpoint-url", url, "--region", "us-east-1"]


def test_matches_across_pages_in_time_order(seeded) -> None:
    url, events = seeded
    want = [m for _, _, m in events if "POST" in m or "DELETE" in m]
    r = ours([*_base(url), "--page-size", "7", "-E", "POST|DELETE"])
    assert r.rc == 0
    assert r.out.decode().splitlines() == want


def test_query_really_pages(seeded) -> None:
    url, events = seeded
    parser = argparse.ArgumentParser()
    grep_cli.add_arguments(parser)
    args = parser.parse_args([*_base(url), "--page-size", "25", "x"])
    q = CloudWatchQuery.from_args(args)
    got = [e.line for e in q.entries()]
    assert got == [m for _, _, m in events]
    assert q.requests >= len(events) // 25


def test_stream_prefix_count_and_filename(seeded) -> None:
    url, events = seeded
    want = [m for _, s, m in events if s == "web-2" and "curl" in m]
    r = ours([*_base(url), "--log-stream-prefix", "web-2", "--page-size", "9", "-c", "-F", "curl"])
    assert r.out == f"{len(want)}\n".encode()
    r = ours([*_base(url), "--log-stream-prefix", "web-2", "-H", "-F", "curl"])
    assert r.out.decode().splitlines() == [f"web-2:{m}" for m in want]


def test_since_until_go_to_the_service(seeded) -> None:
    url, events = seeded
    lo, hi = events[40][0], events[100][0]
    fmt = "%Y-%m-%dT%H:%M:%S"
    since = time.strftime(fmt, time.gmtime(lo // 1000)) + f".{lo % 1000:03d}Z"
    until = time.strftime(fmt, time.gmtime(hi // 1000)) + f".{hi % 1000:03d}Z"
    r = ours([*_base(url), "--since", since, "--until", until, "-c", ""])
    assert r.out == b"60\n"


def test_missing_group_is_an_error(moto: MotoServer) -> None:
    r = ours(
        [
            "--from",
            "cloudwatch",
            "--log-group",
            "/nope",
            "--endpoint-url",
            moto.url,
            "--region",
            "us-east-1",
            "x",
        ]
    )
    assert r.rc == 2


class _ScriptedClient:
    """Pages as the service may send them: empty pages that still carry a token."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.calls: list[dict[str, Any]] = []

    def filter_log_events(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return self.pages[len(self.calls) - 1]


def test_empty_pages_with_a_token_do_not_end_the_search() -> None:
    # moto never sends an empty page with a token; the real service does.
    ev = {"timestamp": 1_700_000_000_000, "message": "hello\n", "logStreamName": "s"}
    client = _ScriptedClient(
        [{"events": [], "nextToken": "a"}, {"events": [], "nextToken": "b"}, {"events": [ev]}]
    )
    q = CloudWatchQuery(group="g", client=client)
    got = list(q.entries())
    assert [e.line for e in got] == ["hello"]
    assert [c.get("nextToken") for c in client.calls] == [None, "a", "b"]
