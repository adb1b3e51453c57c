"""``[sinks.<name>.buffer]``: validation and which buffer gets built."""

from __future__ import annotations

from pathlib import Path

import pytest

from logagent.buffer import DiskBuffer, MemoryBuffer, build_buffer
from logagent.config.loader import load_config_text
from logagent.errors import ConfigError, ConfigErrors
from logagent.metrics import AgentMetrics


def config(buffer: str, data_dir: Path) -> str:
    return f"""
[agent]
data_dir = "{data_dir}"
[sources.app]
type = "file"
include = ["/tmp/none/*.log"]
[sinks.out]
type = "file"
[sinks.out.buffer]
{buffer}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises((ConfigError, ConfigErrors)) as info:
        load_config_text(text)
    exc = info.value
    return [str(e) for e in exc.errors] if isinstance(exc, ConfigErrors) else [str(exc)]


def test_max_events_on_a_disk_buffer_is_an_error_naming_the_key(tmp_path: Path) -> None:
    errors = errors_of(config('type = "disk"\nmax_events = 10', tmp_path))
    assert errors == [
        "sinks.out.buffer.max_events: applies to memory buffers only; a disk buffer is bounded by max_bytes"
    ]


def test_max_segment_bytes_on_a_memory_buffer_is_an_error_naming_the_key(tmp_path: Path) -> None:
    errors = errors_of(config("max_segment_bytes = 65536", tmp_path))
    assert errors == ['sinks.out.buffer.max_segment_bytes: applies to disk buffers only (type = "disk")']


def test_unknown_when_full_is_an_error(tmp_path: Path) -> None:
    errors = errors_of(config('when_full = "drop_oldest"', tmp_path))
    assert len(errors) == 1 and errors[0].startswith("sinks.out.buffer.when_full: expected one of")


async def test_the_configured_buffer_is_built(tmp_path: Path) -> None:
    disk = load_config_text(
        config(
            'type = "disk"\nmax_bytes = 1048576\nwhen_full = "drop_newest"\nmax_segment_bytes = 65536',
            tmp_path,
        )
    )
    buf = build_buffer("out", disk.sinks["out"].buffer, AgentMetrics(), tmp_path)
    assert isinstance(buf, DiskBuffer)
    assert buf.dir == tmp_path / "buffer" / "out"
    assert (buf.max_bytes, buf.when_full, buf.segment_bytes) == (1048576, "drop_newest", 65536)
    await buf.close()
    memory = load_config_text(config("max_events = 10", tmp_path))
    mbuf = build_buffer("out", memory.sinks["out"].buffer, AgentMetrics(), tmp_path)
    assert isinstance(mbuf, MemoryBuffer) and mbuf.max_events == 10
