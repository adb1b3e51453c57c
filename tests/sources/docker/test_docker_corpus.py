"""Fluent Bit's Docker-mode test logs (by path in the shared corpus) through the Docker source,
checked against Fluent Bit's expected outputs, and the joined-size cap."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.conftest import require_corpus
from tests.sources.docker.harness import (
    append,
    container_id,
    create_container,
    docker_line,
    docker_source,
    events,
    log_path,
    metric,
    running_agent,
    wait_until,
)

# Fluent Bit's expected outputs for these also apply its multiline (first-line) parser on top of
# the 16 KiB rejoin: the rejoined text is the same, cut into lines differently. "exact" cases
# have no multiline step, so the messages must match one for one.
CASES = [
    ("dockermode", True),
    ("dockermode_splitted_line", True),
    ("dockermode_splitted_multiple_lines", False),
    ("dockermode_multiple_lines", False),
    ("dockermode_firstline_detection", False),
]


@pytest.mark.parametrize(("case", "exact"), CASES)
async def test_fluent_bit_dockermode_cases(tmp_path: Path, case: str, exact: bool) -> None:
    log_file = require_corpus("docker", f"fluent-bit_tail_log_{case}.log")
    expected_file = require_corpus("docker", f"fluent-bit_tail_out_{case}.out")
    expected = [orjson.loads(line)["log"] for line in expected_file.read_bytes().splitlines() if line]
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    cid = container_id(20)
    create_container(root, cid, "fb")
    log_path(root, cid).write_bytes(log_file.read_bytes())
    want_text = "".join(expected)
    async with running_agent(data, out, docker_source(root)):
        await wait_until(
            lambda: "".join(e["line"] + "\n" for e in events(out)) == want_text, what=f"{case} output"
        )
    got = [e["line"] for e in events(out)]
    if exact:
        assert got == [m.removesuffix("\n") for m in expected]
    # The Fluent Bit files carry no stream or time: no stream field, read time as event time.
    assert all(e["fields"] == {} for e in events(out))


async def test_joined_message_is_capped_and_flagged(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    cid = container_id(21)
    create_container(root, cid, "app")
    path = log_path(root, cid)
    for piece in ("a" * 800, "b" * 800, "c" * 800):
        append(path, docker_line(piece))
    append(path, docker_line("tail of the long one\n"))
    append(path, docker_line("short\n"))
    src = docker_source(root, "max_message_bytes = 1024")
    async with running_agent(data, out, src) as agent:
        await wait_until(lambda: len(events(out)) == 2, what="capped message and next line")
        assert metric(agent, "logagent_lines_flagged_total", source="ctr", flag="truncated") == 1
    capped, short = events(out)
    assert capped["line"] == "a" * 800 + "b" * 224
    assert capped["flags"] == ["truncated"]
    assert short["line"] == "short"
