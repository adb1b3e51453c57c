"""Lines reach a real (moto) CloudWatch Logs endpoint; acks follow delivery; requests stay valid."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from logagent.buffer import MemoryBuffer
from logagent.components import SinkContext
from logagent.event import Batch
from logagent.metrics import AgentMetrics
from logagent.sinks.cloudwatch import limits
from logagent.sinks.cloudwatch.sink import CloudWatchSink
from tests.moto_server import MotoServer
from tests.sinks.cloudwatch.faultproxy import FaultProxy
from tests.sinks.cloudwatch.helpers import (
    Acks,
    build_sink,
    counter,
    filter_all_events,
    get_all_events,
    run_sink,
    sink_config,
    until,
)


def now_ns() -> int:
    return time.time_ns()


async def test_every_line_arrives_and_every_batch_is_acked(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, rec = build_sink(moto.url, data_dir)
    acks = Acks()
    base = now_ns()
    batches = [
        acks.attach(Batch("app", [f"line {b}-{i}" for i in range(4000)], read_ts_ns=base + b * 1_000_000), b)
        for b in range(3)
    ]
    await run_sink(sink, batches, metrics)

    assert acks.commits[-1] == 2 and acks.order.pending == 0
    client = moto.client("logs")
    got = get_all_events(client, "/test/app", "stream-app")
    assert [e["message"] for e in got] == [f"line {b}-{i}" for b in range(3) for i in range(4000)]
    filtered, pages = filter_all_events(client, "/test/app")
    assert len(filtered) == 12_000 and pages >= 2
    assert counter(metrics, "logagent_events_sent_total", sink="cw") == 12_000
    assert counter(metrics, "logagent_sink_up", sink="cw") == 1
    assert all(len(p["logEvents"]) <= limits.MAX_REQUEST_EVENTS for p in rec.puts)
    # 12,000 events: two requests, the third batch split across them. The first request found
    # no group: the sink created group and stream and resent it.
    assert len(rec.puts) == 3 and rec.puts[0] == rec.puts[1]
    assert [len(p["logEvents"]) for p in rec.puts[1:]] == [10_000, 2_000]
    assert counter(metrics, "logagent_sink_request_seconds_count", sink="cw") == 3
    assert counter(metrics, "logagent_bytes_sent_total", sink="cw") == sum(
        len(f"line {b}-{i}") for b in range(3) for i in range(4000)
    )
    assert counter(metrics, "logagent_sink_errors_total", sink="cw", reason="resource_not_found") == 1


async def test_group_and_stream_come_from_templates_and_labels(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, _ = build_sink(
        moto.url, data_dir, log_group="/logagent/{labels.env}/{source}", log_stream="{host}/{labels.job}"
    )
    acks = Acks()
    batches = [
        acks.attach(Batch("web", ["a"], labels={"env": "prod", "job": "nginx"}), 0),
        acks.attach(Batch("web", ["b"], labels={"env": "prod"}), 1),
        acks.attach(Batch("db", ["c"], labels={"env": "dev", "job": "pg:main"}), 2),
    ]
    await run_sink(sink, batches, metrics)
    client = moto.client("logs")
    assert [e["message"] for e in get_all_events(client, "/logagent/prod/web", "testhost/nginx")] == ["a"]
    assert [e["message"] for e in get_all_events(client, "/logagent/prod/web", "testhost/-")] == ["b"]
    # ':' is not allowed in a stream name: it becomes '_'.
    assert [e["message"] for e in get_all_events(client, "/logagent/dev/db", "testhost/pg_main")] == ["c"]
    assert acks.commits[-1] == 2


async def test_missing_group_is_created_with_its_retention(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, _ = build_sink(moto.url, data_dir, retention_days=30)
    acks = Acks()
    await run_sink(sink, [acks.attach(Batch("app", ["x"]), 0)], metrics)
    groups = moto.client("logs").describe_log_groups(logGroupNamePrefix="/test/app")["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [("/test/app", 30)]
    assert acks.commits == [0]


async def test_existing_group_is_used_and_its_retention_left_alone(moto: MotoServer, data_dir: Path) -> None:
    client = moto.client("logs")
    client.create_log_group(logGroupName="/test/app")
    client.put_retention_policy(logGroupName="/test/app", retentionInDays=7)
    sink, metrics, _ = build_sink(moto.url, data_dir, retention_days=30)
    await run_sink(sink, [Batch("app", ["x"])], metrics)
    groups = client.describe_log_groups(logGroupNamePrefix="/test/app")["logGroups"]
    assert groups[0]["retentionInDays"] == 7
    assert [e["message"] for e in get_all_events(client, "/test/app", "stream-app")] == ["x"]


async def test_json_format_sends_the_ndjson_event(moto: MotoServer, data_dir: Path) -> None:
    import orjson

    sink, metrics, _ = build_sink(moto.url, data_dir, format="json")
    await run_sink(sink, [Batch("app", ["hello"], path="/var/log/a.log", labels={"k": "v"})], metrics)
    got = get_all_events(moto.client("logs"), "/test/app", "stream-app")
    event = orjson.loads(got[0]["message"])
    assert event["line"] == "hello" and event["labels"] == {"k": "v"} and event["path"] == "/var/log/a.log"


async def test_a_stock_boto3_client_can_be_injected(moto: MotoServer, data_dir: Path) -> None:
    # A default client validates parameters; the sink's pre-encoded body must still go through.
    client = moto.client("logs")
    config = sink_config(moto.url)
    metrics = AgentMetrics()
    sink = CloudWatchSink("cw", config, SinkContext("cw", metrics, data_dir), client=client)
    await run_sink(sink, [Batch("app", ["one", "two"])], metrics)
    assert [e["message"] for e in get_all_events(client, "/test/app", "stream-app")] == ["one", "two"]


async def test_a_slow_endpoint_never_blocks_the_event_loop(moto: MotoServer, data_dir: Path) -> None:
    with FaultProxy(moto.url) as proxy:
        proxy.delay_secs = 0.5
        sink, metrics, _ = build_sink(proxy.url, data_dir)
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        started = time.monotonic()
        await run_sink(sink, [Batch("app", ["slow"])], metrics)
        elapsed = time.monotonic() - started
        tick.cancel()
    # Three requests (miss, create, resend...) each held 0.5 s, yet the loop kept ticking.
    assert elapsed >= 1.0
    assert max(gaps) < 0.4


async def test_a_full_batch_is_sent_without_waiting_for_the_timeout(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, rec = build_sink(moto.url, data_dir, batch={"max_events": 100, "timeout_secs": 3600})
    acks = Acks()
    buf = MemoryBuffer("cw", metrics)
    task = asyncio.create_task(sink.run(buf))
    for b in range(3):
        await buf.put(acks.attach(Batch("app", [f"{b}-{i}" for i in range(50)]), b))
    # 150 events: one request of 100 goes at once; the last 50 wait for more or for the timeout.
    await until(lambda: acks.commits[-1:] == [1])
    assert [len(p["logEvents"]) for p in rec.puts[1:]] == [100]
    await buf.close()
    await asyncio.wait_for(task, 20)
    assert acks.commits[-1] == 2


async def test_a_partial_batch_is_sent_when_the_timeout_expires(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, _ = build_sink(moto.url, data_dir, batch={"timeout_secs": 0.2})
    acks = Acks()
    buf = MemoryBuffer("cw", metrics)
    task = asyncio.create_task(sink.run(buf))
    await buf.put(acks.attach(Batch("app", ["lonely"]), 0))
    await until(lambda: acks.commits == [0])  # the buffer is still open
    assert [e["message"] for e in get_all_events(moto.client("logs"), "/test/app", "stream-app")] == [
        "lonely"
    ]
    await buf.close()
    await asyncio.wait_for(task, 20)
