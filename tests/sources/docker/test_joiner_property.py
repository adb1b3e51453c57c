"""Property: however Docker's pieces fall across reads, and wherever the agent crashes, the
messages come out whole, in order per stream, exactly once (replaying from the committed offset).

The Docker source's ``make_batch`` is driven with real reads (``TrackedFile.read_chunk`` on a real
file) in tiny random chunk sizes, so held pieces straddle many batches.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logagent.acks import AckOrder
from logagent.checkpoint import CheckpointStore
from logagent.components import SourceContext
from logagent.metrics import AgentMetrics
from logagent.sources.docker.source import DockerSource, DockerSourceConfig
from logagent.sources.file.reader import TrackedFile
from tests.sources.docker.harness import docker_line

TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters="\n"))
MESSAGE = st.tuples(st.sampled_from(["stdout", "stderr"]), st.lists(TEXT, min_size=1, max_size=4))


def _source(tmp: Path) -> DockerSource:
    async def emit(batch: object) -> None:
        pass

    metrics = AgentMetrics()
    ctx = SourceContext("ctr", CheckpointStore(tmp, metrics), metrics, tmp, emit, 1)
    return DockerSource("ctr", DockerSourceConfig(root=str(tmp)), ctx)


def _read_all(tmp: Path, path: Path, start: int, chunk_sizes: list[int]) -> list[tuple[list, int]]:
    """[(events of the batch, committed offset)] reading ``path`` from ``start``."""
    source = _source(tmp)
    fd = os.open(path, os.O_RDONLY)
    try:
        tracked = TrackedFile("k", "fp", str(path), fd, 0, 0, start, AckOrder(lambda _p: None))
        batches = []
        i = 0
        while True:
            chunk = tracked.read_chunk(chunk_sizes[i % len(chunk_sizes)], 1 << 20)
            i += 1
            if chunk is None:
                return batches
            if not chunk.lines:
                continue
            batch = source.make_batch(tracked, chunk)
            fields = batch.fields or []
            events = [(fields[j].get("stream"), line) for j, line in enumerate(batch.lines)]
            batches.append((events, chunk.commit_offset))
    finally:
        os.close(fd)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    messages=st.lists(MESSAGE, min_size=1, max_size=12),
    chunk_sizes=st.lists(st.integers(min_value=20, max_value=400), min_size=1, max_size=5),
    crash_at=st.integers(min_value=0, max_value=1000),
)
def test_pieces_rejoin_and_commits_replay_exactly_once(
    tmp_path: Path, messages: list[tuple[str, list[str]]], chunk_sizes: list[int], crash_at: int
) -> None:
    # Interleave the pieces of messages on the two streams, as the daemon's copier may.
    lines: list[bytes] = []
    pending: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    expected: list[tuple[str, str]] = []
    for n, (stream, pieces) in enumerate(messages):
        encoded = [docker_line(p, stream) for p in pieces[:-1]] + [docker_line(pieces[-1] + "\n", stream)]
        expected.append((stream, "".join(pieces)))
        pending[stream].extend(encoded)
        if n % 2:
            lines.extend(pending["stdout"] + pending["stderr"])
            pending = {"stdout": [], "stderr": []}
    lines.extend(pending["stdout"] + pending["stderr"])
    path = tmp_path / f"log-{len(list(tmp_path.iterdir()))}.json"
    path.write_bytes(b"".join(lines))

    batches = _read_all(tmp_path, path, 0, chunk_sizes)
    got = [e for events, _ in batches for e in events]
    for stream in ("stdout", "stderr"):
        assert [t for s, t in got if s == stream] == [t for s, t in expected if s == stream]
    commits = [c for _, c in batches]
    assert commits == sorted(commits)
    assert commits[-1] == path.stat().st_size

    # Crash after batch k: what was delivered, plus a fresh read from its commit, is all, once.
    k = crash_at % len(batches)
    delivered = [e for events, _ in batches[: k + 1] for e in events]
    replayed = _read_all(tmp_path, path, batches[k][1], chunk_sizes[::-1])
    again = delivered + [e for events, _ in replayed for e in events]
    assert sorted(again) == sorted(got)
