"""Every request the sink sends keeps the PutLogEvents rules (checked on the wire, request by
request, with a botocore ``before-send`` hook), since moto does not check most of them."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from logagent.event import Batch
from logagent.sinks.cloudwatch import limits
from tests.moto_server import MotoServer
from tests.sinks.cloudwatch.helpers import Acks, build_sink, counter, get_all_events, run_sink

HOUR_NS = 3600 * 10**9
GROUP, STREAM = "/test/app", "stream-app"


def assert_valid_put(put: dict[str, Any]) -> None:
    events = put["logEvents"]
    assert 1 <= len(events) <= limits.MAX_REQUEST_EVENTS
    sizes = [len(e["message"].encode()) for e in events]
    assert sum(sizes) + limits.EVENT_OVERHEAD_BYTES * len(events) <= limits.MAX_REQUEST_BYTES
    assert all(1 <= s <= limits.MAX_EVENT_BYTES - limits.EVENT_OVERHEAD_BYTES for s in sizes)
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] < limits.MAX_REQUEST_SPAN_MS


def messages(moto: MotoServer) -> list[str]:
    return [e["message"] for e in get_all_events(moto.client("logs"), GROUP, STREAM)]


async def test_10001_events_take_two_requests(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, rec = build_sink(moto.url, data_dir)
    acks = Acks()
    lines = [f"e{i}" for i in range(10_001)]
    await run_sink(sink, [acks.attach(Batch("app", lines), 0)], metrics)
    for put in rec.puts:
        assert_valid_put(put)
    assert sorted(len(p["logEvents"]) for p in rec.puts[1:]) == [1, 10_000]
    assert messages(moto) == lines
    assert acks.commits == [0]


async def test_a_mebibyte_plus_one_byte_takes_two_requests(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, rec = build_sink(moto.url, data_dir)
    # 16 lines whose size, counting 26 bytes each, is exactly 1,048,577.
    n = 16
    size = (limits.MAX_REQUEST_BYTES + 1) // n - limits.EVENT_OVERHEAD_BYTES
    extra = limits.MAX_REQUEST_BYTES + 1 - n * (size + limits.EVENT_OVERHEAD_BYTES)
    lines = [chr(97 + i) * size for i in range(n)]
    lines[-1] += "z" * extra
    assert sum(len(s) + 26 for s in lines) == limits.MAX_REQUEST_BYTES + 1
    await run_sink(sink, [Batch("app", lines)], metrics)
    delivered = rec.puts[1:]  # the first request found no group and was resent
    assert len(delivered) == 2
    for put in rec.puts:
        assert_valid_put(put)
    assert messages(moto) == lines


async def test_a_25_hour_span_is_split_and_unsorted_input_sorted(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, rec = build_sink(moto.url, data_dir)
    now = time.time_ns()
    stamps = [now - 25 * HOUR_NS + i * HOUR_NS // 4 for i in range(101)]  # 25 h, every 15 min
    random.Random(3).shuffle(stamps)
    batch = Batch("app", [f"t{ts}" for ts in stamps], ts_ns=list(stamps))
    await run_sink(sink, [batch], metrics)
    assert len(rec.puts) >= 3  # one miss (group created), then at least two requests
    for put in rec.puts:
        assert_valid_put(put)
    assert messages(moto) == [f"t{ts}" for ts in sorted(stamps)]
    assert counter(metrics, "logagent_events_sent_total", sink="cw") == 101


async def test_a_2mb_line_is_split_into_events_that_rejoin(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, rec = build_sink(moto.url, data_dir)
    acks = Acks()
    big = "abc€é" * 262_144  # 2 MiB of UTF-8 with 2- and 3-byte characters
    assert len(big.encode()) == 2 * 1024 * 1024
    await run_sink(sink, [acks.attach(Batch("app", ["before", big, "after"]), 0)], metrics)
    for put in rec.puts:
        assert_valid_put(put)
    got = messages(moto)
    assert got[0] == "before" and got[-1] == "after"
    assert len(got) >= 4 and "".join(got[1:-1]) == big
    assert acks.commits == [0]


async def test_too_old_and_too_new_events_are_counted_not_sent(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, rec = build_sink(moto.url, data_dir)
    acks = Acks()
    now = time.time_ns()
    stamps = [now - 15 * 24 * HOUR_NS, now - HOUR_NS, now + 3 * HOUR_NS, now + 3 * HOUR_NS]
    batches = [
        acks.attach(Batch("app", ["old", "ok", "new1", "new2"], ts_ns=list(stamps)), 0),
        acks.attach(Batch("app", ["ancient"], ts_ns=[now - 30 * 24 * HOUR_NS]), 1),  # all dropped
        acks.attach(Batch("app", ["", "x"]), 2),
    ]
    await run_sink(sink, batches, metrics)
    sent = [e["message"] for p in rec.puts for e in p["logEvents"]]
    assert set(sent) == {"ok", "x"}
    assert messages(moto) == ["ok", "x"]
    drops = "logagent_events_dropped_total"
    assert counter(metrics, drops, component="sink:cw", reason="too_old") == 2
    assert counter(metrics, drops, component="sink:cw", reason="too_new") == 2
    assert counter(metrics, drops, component="sink:cw", reason="empty") == 1
    assert acks.commits[-1] == 2 and acks.order.pending == 0


async def test_rejected_log_events_info_becomes_counted_drops(moto: MotoServer, data_dir: Path) -> None:
    # Our clock runs 20 days late, so our own time check passes events the service finds too old.
    sink, metrics, rec = build_sink(moto.url, data_dir)
    skew = 20 * 24 * 3600
    sink._clock = lambda: time.time() - skew
    acks = Acks()
    stale = time.time_ns() - skew * 10**9
    batch = acks.attach(Batch("app", ["stale1", "stale2", "stale3"], ts_ns=[stale] * 3), 0)
    await run_sink(sink, [batch], metrics)
    assert rec.puts, "the events must have been sent"
    assert messages(moto) == []
    # moto reports the index of the last too-old event where AWS documents an exclusive end
    # index, so it under-reports by one here; the point is that refusals are counted, not silent.
    drops = "logagent_events_dropped_total"
    assert counter(metrics, drops, component="sink:cw", reason="too_old") >= 2
    assert acks.commits == [0]
