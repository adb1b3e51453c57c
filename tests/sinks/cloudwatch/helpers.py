"""Helpers for CloudWatch sink tests: build and run a sink, read back with paging, record requests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logagent.acks import AckOrder
from logagent.buffer import MemoryBuffer
from logagent.components import SinkContext
from logagent.event import Batch
from logagent.metrics import AgentMetrics
from logagent.sinks.cloudwatch.config import CloudWatchSinkConfig
from logagent.sinks.cloudwatch.sink import CloudWatchSink, make_client
from tests.moto_server import REGION

PUT_TARGET = "Logs_20140328.PutLogEvents"


async def until(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``cond`` on the event loop every 20 ms until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def sink_config(endpoint: str, **overrides: Any) -> CloudWatchSinkConfig:
    raw: dict[str, Any] = {
        "type": "cloudwatch",
        "region": REGION,
        "endpoint_url": endpoint,
        "log_group": "/test/{source}",
        "log_stream": "stream-{source}",
        "hostname": "testhost",
        "retry_initial_secs": 0.05,
        "retry_max_secs": 0.2,
        "batch": {"timeout_secs": 0.05},
    }
    raw.update(overrides)
    return CloudWatchSinkConfig.model_validate(raw)


class Recorder:
    """Keeps the decoded body of every PutLogEvents request a client sends."""

    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def __call__(self, request: Any, **_: Any) -> None:
        if request.headers.get("X-Amz-Target", b"") in (PUT_TARGET, PUT_TARGET.encode()):
            self.puts.append(json.loads(request.body))

    def events(self) -> list[dict[str, Any]]:
        return [e for p in self.puts for e in p["logEvents"]]


def build_sink(
    endpoint: str, data_dir: Path, name: str = "cw", **overrides: Any
) -> tuple[CloudWatchSink, AgentMetrics, Recorder]:
    """A sink on its own client with a request recorder registered on the client's events."""
    config = sink_config(endpoint, **overrides)
    client = make_client(config)
    recorder = Recorder()
    client.meta.events.register("before-send", recorder)
    metrics = AgentMetrics()
    sink = CloudWatchSink(name, config, SinkContext(name, metrics, data_dir), client=client)
    return sink, metrics, recorder


class Acks:
    """An ordered finalizer recording the committed positions."""

    def __init__(self) -> None:
        self.commits: list[int] = []
        self.order = AckOrder(self.commits.append)

    def attach(self, batch: Batch, position: int) -> Batch:
        batch.ack = self.order.new_ack(position, 1)
        return batch


async def run_sink(sink: CloudWatchSink, batches: list[Batch], metrics: AgentMetrics) -> None:
    """Feed ``batches`` through a closed memory buffer and run the sink until it drains."""
    buf = MemoryBuffer(sink.name, metrics)
    for b in batches:
        await buf.put(b)
    await buf.close()
    await sink.run(buf)


def get_all_events(client: Any, group: str, stream: str) -> list[dict[str, Any]]:
    """Every event of a stream with GetLogEvents, paging forward until the token stops changing."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    token = None
    while True:
        resp = client.get_log_events(**kwargs, **({"nextToken": token} if token else {}))
        events.extend(resp["events"])
        if resp["nextForwardToken"] == token:
            return events
        token = resp["nextForwardToken"]


def filter_all_events(client: Any, group: str, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    """Every event of a group with FilterLogEvents, following nextToken; and the pages read."""
    events: list[dict[str, Any]] = []
    pages = 0
    token = None
    while True:
        resp = client.filter_log_events(
            logGroupName=group, **kwargs, **({"nextToken": token} if token else {})
        )
        pages += 1
        events.extend(resp["events"])
        token = resp.get("nextToken")
        if not token:
            return events, pages


def counter(metrics: AgentMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value
