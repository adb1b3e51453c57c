"""The file sink's crash recovery, and backpressure from a slow sink to the sources."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from logagent import registry
from logagent.agent import Agent
from logagent.buffer import Inbox
from logagent.components import Sink, SinkContext
from logagent.config import SinkConfig, load_config_text
from logagent.encode import encode_ndjson
from logagent.event import FLAG_TRUNCATED, Batch
from logagent.sinks.file import recover_torn_tail


def test_file_sink_cuts_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"line":"a"}\n{"line":"b"}\n{"line":"tor')
    assert recover_torn_tail(path) == len(b'{"line":"tor')
    assert path.read_bytes() == b'{"line":"a"}\n{"line":"b"}\n'
    assert recover_torn_tail(path) == 0
    path.write_bytes(b"no newline at all")
    assert recover_torn_tail(path) == len(b"no newline at all")
    assert path.read_bytes() == b""


def test_encoding_matches_the_general_path() -> None:
    import orjson

    lines = ["plain", 'quote " inside', 'comma "," trap', "back\\slash", "tab\tand \u00e9\u4e2d", ""]
    fast = encode_ndjson(Batch(source="s", lines=lines, read_ts_ns=1_700_000_000_123_456_789, path="/p"))
    slow = encode_ndjson(
        Batch(
            source="s", lines=lines, read_ts_ns=1_700_000_000_123_456_789, path="/p", flags=[0] * len(lines)
        )
    )
    assert fast == slow
    events = [orjson.loads(x) for x in fast.splitlines()]
    assert [e["line"] for e in events] == lines
    assert events[0]["ts"] == "2023-11-14T22:13:20.123456789Z"
    flagged = encode_ndjson(Batch(source="s", lines=["x"], flags=[FLAG_TRUNCATED]))
    assert orjson.loads(flagged)["flags"] == ["truncated"]


class GateSinkConfig(SinkConfig):
    """A sink that delivers only while its gate is open (a stand-in for a slow endpoint)."""

    type: str = "gate"

    def build(self, name: str, ctx: SinkContext) -> Sink:
        return GateSink(name, self, ctx)


class GateSink(Sink):
    gate = asyncio.Event()
    delivered: list[str] = []

    async def run(self, inbox: Inbox) -> None:
        while (batch := await inbox.get()) is not None:
            await self.gate.wait()
            GateSink.delivered.extend(batch.lines)
            if batch.ack is not None:
                batch.ack.done()


async def test_slow_sink_slows_reading_and_memory_stays_bounded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(registry.SINKS, "gate", f"{__name__}:GateSinkConfig")
    GateSink.gate = asyncio.Event()
    GateSink.delivered = []
    logs = tmp_path / "logs"
    logs.mkdir()
    total = 200_000
    (logs / "big.log").write_text("".join(f"line {i:06d}\n" for i in range(total)))
    cfg = load_config_text(f"""
[agent]
data_dir = "{tmp_path / "data"}"
listen = ""
[sources.app]
type = "file"
include = ["{logs}/*.log"]
read_chunk_bytes = 16384
[sinks.slow]
type = "gate"
buffer = {{ max_events = 5000, max_bytes = 1048576 }}
""")
    agent = Agent(cfg)
    task = asyncio.create_task(agent.run(install_signals=False))
    await asyncio.wait_for(agent.ready.wait(), 10)
    metrics = agent.metrics.registry

    # With the sink stalled, the buffer fills to its bound and the source then blocks in emit:
    # from then on, what was read is what is buffered, plus the sink's one batch in hand and the
    # source's one batch waiting to be put (16 KiB reads: under 2,000 lines each).
    def buffered() -> float:
        return metrics.get_sample_value("logagent_buffer_events", {"sink": "slow"}) or 0.0

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while buffered() < 5000 - 2000:
        assert loop.time() < deadline, f"buffer never filled: {buffered()}"
        await asyncio.sleep(0.01)
    read = metrics.get_sample_value("logagent_lines_read_total", {"source": "app"}) or 0.0
    assert buffered() <= 5000
    assert read <= buffered() + 2 * 2000, f"read {read} lines, {buffered()} buffered, with the sink stalled"
    GateSink.gate.set()
    while len(GateSink.delivered) < total:
        await asyncio.sleep(0.02)
    agent.request_stop()
    await asyncio.wait_for(task, 20)
    assert GateSink.delivered == [f"line {i:06d}" for i in range(total)]


def test_default_config_runs_as_a_plain_user(tmp_path: Path) -> None:
    """The packaged default validates and resolves a per-user data dir when not root."""
    import subprocess
    import sys

    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    code = (
        "import os; os.geteuid = lambda: 1000\n"
        "from logagent.config import load_config\n"
        "c = load_config(None)\n"
        "print(c.agent.data_dir, c.agent.listen, c.sources['varlog'].include)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == str(tmp_path / "state" / "logagent")
    assert "127.0.0.1:9880" in r.stdout and "/var/log/**/*.log" in r.stdout
