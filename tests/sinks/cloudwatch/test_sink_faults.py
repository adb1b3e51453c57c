"""Faults: throttling and outages are retried until delivered (nothing acked meanwhile);
invalid requests are dead-lettered and counted, never retried; missing resources are created."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from logagent.event import Batch
from logagent.metrics import AgentMetrics
from logagent.sinks.cloudwatch.sink import CloudWatchSink
from tests.moto_server import MotoServer, free_port
from tests.sinks.cloudwatch.faultproxy import FaultProxy
from tests.sinks.cloudwatch.helpers import Acks, build_sink, counter, get_all_events, run_sink, until

GROUP, STREAM = "/test/app", "stream-app"


def start_sink(sink: CloudWatchSink, batches: list[Batch], metrics: AgentMetrics) -> asyncio.Task[None]:
    return asyncio.create_task(run_sink(sink, batches, metrics))


def retries(metrics: AgentMetrics) -> float:
    return counter(metrics, "logagent_sink_retries_total", sink="cw")


def messages(moto: MotoServer) -> list[str]:
    return [e["message"] for e in get_all_events(moto.client("logs"), GROUP, STREAM)]


async def test_throttling_is_retried_and_nothing_acked_until_delivered(
    moto: MotoServer, data_dir: Path
) -> None:
    with FaultProxy(moto.url) as proxy:
        proxy.inject("PutLogEvents", "ThrottlingException")
        sink, metrics, _ = build_sink(proxy.url, data_dir)
        acks = Acks()
        task = start_sink(sink, [acks.attach(Batch("app", ["a", "b"]), 0)], metrics)
        await until(lambda: retries(metrics) >= 3)
        assert acks.commits == []
        assert counter(metrics, "logagent_sink_up", sink="cw") == 0
        assert counter(metrics, "logagent_sink_errors_total", sink="cw", reason="throttled") >= 3
        proxy.clear()
        await asyncio.wait_for(task, 20)
    assert acks.commits == [0]
    assert messages(moto) == ["a", "b"]
    assert counter(metrics, "logagent_sink_up", sink="cw") == 1
    assert counter(metrics, "logagent_events_sent_total", sink="cw") == 2


async def test_a_storm_of_n_throttles_costs_n_retries(moto: MotoServer, data_dir: Path) -> None:
    with FaultProxy(moto.url) as proxy:
        proxy.inject("PutLogEvents", "ThrottlingException", count=5)
        sink, metrics, _ = build_sink(proxy.url, data_dir)
        await run_sink(sink, [Batch("app", ["x"])], metrics)
    assert retries(metrics) == 5
    assert messages(moto) == ["x"]


async def test_service_unavailable_is_retried(moto: MotoServer, data_dir: Path) -> None:
    with FaultProxy(moto.url) as proxy:
        proxy.inject("PutLogEvents", "ServiceUnavailableException", count=2)
        sink, metrics, _ = build_sink(proxy.url, data_dir)
        await run_sink(sink, [Batch("app", ["x"])], metrics)
    assert counter(metrics, "logagent_sink_errors_total", sink="cw", reason="unavailable") == 2
    assert messages(moto) == ["x"]


async def test_connection_refused_then_endpoint_up_loses_nothing(moto: MotoServer, data_dir: Path) -> None:
    port = free_port()  # nothing listens here yet
    sink, metrics, _ = build_sink(f"http://127.0.0.1:{port}", data_dir)
    acks = Acks()
    batches = [acks.attach(Batch("app", [f"{b}-{i}" for i in range(100)]), b) for b in range(3)]
    task = start_sink(sink, batches, metrics)
    await until(lambda: retries(metrics) >= 2)
    assert counter(metrics, "logagent_sink_errors_total", sink="cw", reason="connection") >= 2
    assert acks.commits == [] and counter(metrics, "logagent_sink_up", sink="cw") == 0
    with FaultProxy(moto.url, port=port):
        await asyncio.wait_for(task, 20)
    assert acks.commits[-1] == 2
    assert messages(moto) == [f"{b}-{i}" for b in range(3) for i in range(100)]


async def test_bad_credentials_are_retried_with_nothing_acked(moto: MotoServer, data_dir: Path) -> None:
    with FaultProxy(moto.url) as proxy:
        proxy.inject("PutLogEvents", "UnrecognizedClientException")
        sink, metrics, _ = build_sink(proxy.url, data_dir)
        acks = Acks()
        task = start_sink(sink, [acks.attach(Batch("app", ["x"]), 0)], metrics)
        await until(lambda: retries(metrics) >= 2)
        assert acks.commits == []
        assert counter(metrics, "logagent_sink_errors_total", sink="cw", reason="auth") >= 2
        proxy.clear()
        await asyncio.wait_for(task, 20)
    assert acks.commits == [0]


async def test_invalid_parameter_is_dead_lettered_not_retried(moto: MotoServer, data_dir: Path) -> None:
    with FaultProxy(moto.url) as proxy:
        proxy.inject("PutLogEvents", "InvalidParameterException", count=1)
        # One event per request, so the rejection hits exactly the first line.
        sink, metrics, _ = build_sink(proxy.url, data_dir, batch={"max_events": 1, "timeout_secs": 0.05})
        acks = Acks()
        batches = [acks.attach(Batch("app", ["bad"]), 0), acks.attach(Batch("app", ["good"]), 1)]
        await run_sink(sink, batches, metrics)
        assert proxy.injected == [("PutLogEvents", "InvalidParameterException")]
    assert acks.commits[-1] == 1
    assert retries(metrics) == 0
    drops = counter(metrics, "logagent_events_dropped_total", component="sink:cw", reason="invalid_parameter")
    assert drops == 1
    files = list((data_dir / "deadletter" / "cw").glob("*.json"))
    assert len(files) == 1
    record = orjson.loads(files[0].read_bytes())
    assert record["error_code"] == "InvalidParameterException"
    assert [e["message"] for e in record["logEvents"]] == ["bad"]
    assert (record["logGroupName"], record["logStreamName"]) == (GROUP, STREAM)
    assert messages(moto) == ["good"]


async def test_without_create_missing_the_sink_waits_for_the_stream(moto: MotoServer, data_dir: Path) -> None:
    sink, metrics, _ = build_sink(moto.url, data_dir, create_missing=False)
    acks = Acks()
    task = start_sink(sink, [acks.attach(Batch("app", ["x"]), 0)], metrics)
    await until(lambda: retries(metrics) >= 2)
    assert acks.commits == []
    client = moto.client("logs")
    assert client.describe_log_groups()["logGroups"] == []  # the sink created nothing
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    await asyncio.wait_for(task, 20)
    assert acks.commits == [0]
    assert messages(moto) == ["x"]
