"""The request planner keeps every PutLogEvents rule (pure, no server)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logagent.sinks.cloudwatch import limits
from logagent.sinks.cloudwatch.batching import (
    Event,
    cut_requests,
    drop_out_of_range,
    plan,
    rejected_counts,
    request_bytes,
    utf8_pieces,
)

NOW = 1_700_000_000_000
HOUR = 3600 * 1000


def ev(ts: int, msg: str = "x", tag: int = 0) -> Event:
    return Event(ts, msg, len(msg.encode()), tag)


def assert_valid(requests: list[list[Event]]) -> None:
    for req in requests:
        assert 0 < len(req) <= limits.MAX_REQUEST_EVENTS
        assert request_bytes(req) <= limits.MAX_REQUEST_BYTES
        assert [e.ts_ms for e in req] == sorted(e.ts_ms for e in req)
        assert req[-1].ts_ms - req[0].ts_ms < limits.MAX_REQUEST_SPAN_MS
        for e in req:
            assert 1 <= e.nbytes <= limits.MAX_EVENT_BYTES - limits.EVENT_OVERHEAD_BYTES


def test_10001_events_become_two_requests() -> None:
    events = [ev(NOW, "m") for _ in range(10_001)]
    reqs = plan(events, NOW).requests
    assert [len(r) for r in reqs] == [10_000, 1]
    assert_valid(reqs)


def test_one_byte_over_a_mebibyte_is_cut() -> None:
    # Two events whose total, counting 26 bytes each, is exactly 1 MiB + 1.
    half = (limits.MAX_REQUEST_BYTES + 1) // 2 - limits.EVENT_OVERHEAD_BYTES
    a = ev(NOW, "a" * half)
    b = ev(NOW, "b" * (limits.MAX_REQUEST_BYTES + 1 - 2 * limits.EVENT_OVERHEAD_BYTES - half))
    assert request_bytes([a, b]) == limits.MAX_REQUEST_BYTES + 1
    reqs = plan([a, b], NOW).requests
    assert len(reqs) == 2
    assert_valid(reqs)
    # Exactly 1 MiB still fits in one request.
    b2 = ev(NOW, b.message[:-1])
    assert len(plan([a, b2], NOW).requests) == 1


def test_26_bytes_per_event_are_counted() -> None:
    # 1000 messages of 1024 bytes: 1,024,000 bytes of text, but 1,050,000 with the overhead.
    events = [ev(NOW, "z" * 1024) for _ in range(1000)]
    reqs = plan(events, NOW).requests
    assert len(reqs) == 2
    assert_valid(reqs)


def test_a_25_hour_span_is_cut_in_two() -> None:
    events = [ev(NOW - 25 * HOUR + i * HOUR) for i in range(26)]
    reqs = plan(events, NOW).requests
    assert len(reqs) == 2
    assert_valid(reqs)
    assert sum(len(r) for r in reqs) == 26


def test_unsorted_input_is_sorted_stably() -> None:
    rng = random.Random(7)
    events = [ev(NOW - rng.randrange(0, 10 * HOUR), f"m{i}", tag=i) for i in range(5000)]
    reqs = plan(events, NOW).requests
    assert_valid(reqs)
    flat = [e for r in reqs for e in r]
    assert flat == sorted(events, key=lambda e: e.ts_ms)
    # Equal timestamps keep their input order.
    same = [ev(NOW, str(i), tag=i) for i in range(10)]
    assert [e.tag for e in plan(list(reversed(same)), NOW).requests[0]] == list(range(9, -1, -1))


def test_a_2mb_line_is_split_on_character_boundaries() -> None:
    line = ("é" * 1000 + "x") * 1000  # 2,001,000 bytes, multi-byte characters
    p = plan([ev(NOW, line, tag=3)], NOW)
    assert p.split_lines == 1
    assert_valid(p.requests)
    pieces = [e for r in p.requests for e in r]
    assert len(pieces) >= 2
    assert "".join(e.message for e in pieces) == line
    assert all(e.tag == 3 and e.ts_ms == NOW for e in pieces)


def test_a_smaller_max_event_bytes_is_honoured() -> None:
    p = plan([ev(NOW, "y" * 300_000)], NOW, max_event_bytes=262_144)
    assert [len(e.message) for r in p.requests for e in r] == [262_118, 37_882]


def test_old_new_expired_and_empty_are_counted_drops() -> None:
    events = [
        ev(NOW - 15 * 24 * HOUR),  # too old
        ev(NOW - 3 * 24 * HOUR),  # older than a 1-day retention
        ev(NOW + 3 * HOUR),  # too new
        ev(NOW, ""),  # empty
        ev(NOW - HOUR),
        ev(NOW + HOUR),
    ]
    p = plan(events, NOW, retention_days=1)
    assert dict(p.dropped) == {"too_old": 1, "expired": 1, "too_new": 1, "empty": 1}
    assert [e.ts_ms for r in p.requests for e in r] == [NOW - HOUR, NOW + HOUR]


def test_the_edges_of_the_time_window_are_kept() -> None:
    edge = [ev(NOW - limits.MAX_EVENT_AGE_MS), ev(NOW + limits.MAX_EVENT_FUTURE_MS)]
    kept, dropped = drop_out_of_range(edge, NOW)
    assert kept == edge and not dropped


@pytest.mark.parametrize("max_bytes", [4, 5, 7, 100])
def test_utf8_pieces_never_cut_a_character(max_bytes: int) -> None:
    text = "a€𝄞ü" * 50
    pieces = utf8_pieces(text, max_bytes)
    assert "".join(pieces) == text
    assert all(0 < len(p.encode()) <= max_bytes for p in pieces)


def test_configured_request_limits_are_lower_bounds_only() -> None:
    events = [ev(NOW) for _ in range(25)]
    assert [len(r) for r in cut_requests(events, max_events=10)] == [10, 10, 5]
    assert len(cut_requests(events, max_events=50_000)) == 1


@pytest.mark.parametrize(
    ("info", "n", "expected"),
    [
        ({}, 5, {}),
        ({"tooOldLogEventEndIndex": 2}, 5, {"too_old": 2}),
        ({"tooNewLogEventStartIndex": 3}, 5, {"too_new": 2}),
        ({"expiredLogEventEndIndex": 3}, 5, {"expired": 3}),
        ({"tooOldLogEventEndIndex": 1, "expiredLogEventEndIndex": 3}, 5, {"too_old": 1, "expired": 2}),
        ({"tooOldLogEventEndIndex": 2, "tooNewLogEventStartIndex": 4}, 5, {"too_old": 2, "too_new": 1}),
        ({"tooOldLogEventEndIndex": 9, "tooNewLogEventStartIndex": 0}, 5, {"too_old": 5}),
    ],
)
def test_rejected_log_events_info_is_read_as_documented(info: dict, n: int, expected: dict) -> None:
    assert dict(rejected_counts(info, n)) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-30 * 24 * HOUR, max_value=4 * HOUR),
            st.text(alphabet="ab€\U0001d11e", max_size=600),
        ),
        max_size=100,
    ),
    st.integers(min_value=5, max_value=50),
    st.integers(min_value=1100, max_value=5000),
    st.integers(min_value=1024, max_value=1100),
)
def test_any_input_gives_valid_requests_and_loses_nothing_uncounted(
    items: list[tuple[int, str]], max_events: int, max_bytes: int, max_event_bytes: int
) -> None:
    events = [ev(NOW + offset, msg, tag=i) for i, (offset, msg) in enumerate(items)]
    p = plan(events, NOW, max_events=max_events, max_bytes=max_bytes, max_event_bytes=max_event_bytes)
    for req in p.requests:
        assert len(req) <= max_events
        assert request_bytes(req) <= max_bytes
        assert [e.ts_ms for e in req] == sorted(e.ts_ms for e in req)
        assert req[-1].ts_ms - req[0].ts_ms < limits.MAX_REQUEST_SPAN_MS
        assert all(e.nbytes + limits.EVENT_OVERHEAD_BYTES <= max_event_bytes for e in req)
    sent: dict[int, str] = {}
    for e in (e for r in p.requests for e in r):
        sent[e.tag] = sent.get(e.tag, "") + e.message
    assert len(sent) + sum(p.dropped.values()) == len(events)
    assert all(sent[tag] == events[tag].message for tag in sent)
