"""Helpers for the sink buffer tests."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import orjson

from logagent.metrics import AgentMetrics


def sample(metrics: AgentMetrics, name: str, **labels: str) -> float:
    """A metric's current value (0 when never set)."""
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``cond`` on the event loop until true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def metric_value(port: int, name: str, **labels: str) -> float:
    """A sample from a running agent's /metrics (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def file_offsets(data_dir: Path, source: str) -> dict[str, int]:
    """Committed offsets of a file source, by path, from the checkpoint file."""
    path = data_dir / "checkpoints.json"
    if not path.exists():
        return {}
    entries = orjson.loads(path.read_bytes())["entries"]
    return {
        e["value"]["path"]: e["value"]["offset"]
        for k, e in entries.items()
        if k.startswith(f"file:{source}:") and isinstance(e.get("value"), dict)
    }


def down_sink_dir(path: Path) -> Path:
    """A file sink directory whose output file is /dev/full: every write fails (ENOSPC), even as root."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "events.ndjson").symlink_to("/dev/full")
    return path


def line_numbers(events: list[dict]) -> list[int]:
    return [int(e["line"].split()[1]) for e in events]


def assert_no_loss_in_order(numbers: list[int], total: int) -> None:
    """Every line 0..total-1 arrived; in order, except that a replay may go back (duplicates)."""
    seen: set[int] = set()
    first = []
    for prev, cur in zip([-1, *numbers], numbers, strict=False):
        # Forward, only ever by one: a skip would be a loss or a reordering.
        assert cur <= prev + 1, f"line {cur} came right after line {prev}"
        if cur not in seen:
            seen.add(cur)
            first.append(cur)
    assert first == list(range(total))


def read_events(out_dir: Path) -> list[dict]:
    """Every complete event a file sink wrote under ``out_dir`` (rotated files first).

    Unlike ``tests.agentproc.read_events``, a last line still being written (no newline yet) is
    left out, so this can poll a running agent's output.
    """
    files = sorted(out_dir.glob("events.ndjson.*"), key=lambda p: -int(p.suffix[1:]))
    files.append(out_dir / "events.ndjson")
    events = []
    for f in files:
        if f.exists() and not f.is_symlink():
            complete = f.read_bytes().split(b"\n")[:-1]
            events.extend(orjson.loads(line) for line in complete if line)
    return events
