"""The Docker source end to end: an agent in this process tails a container tree laid out as the
daemon writes it, into the file sink."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from logagent.checkpoint import CheckpointStore
from logagent.metrics import AgentMetrics
from logagent.sources.docker.rfc3339 import parse_rfc3339_ns
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

T0 = 1714564800_123456700


def messages(out: Path) -> list[str]:
    return [e["line"] for e in events(out)]


async def test_containers_started_and_removed_while_running(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    root.mkdir()
    web = container_id(1)
    create_container(
        root,
        web,
        "shop-web-1",
        "nginx:1.25",
        {"com.docker.compose.project": "shop", "com.docker.compose.service": "web", "team": "storefront"},
    )
    append(log_path(root, web), docker_line("GET / 200 <ok> & done\n", "stdout", T0))
    src = docker_source(root, 'label_keys = ["team", "com.example.tier"]')
    async with running_agent(data, out, src) as agent:
        await wait_until(lambda: len(events(out)) == 1, what="first container's line")
        # A container starts while the agent runs: config first, then its log file.
        db = container_id(2)
        create_container(root, db, "shop-db-1", "postgres:16", {"com.example.tier": "data"})
        append(log_path(root, db), docker_line("ready to accept connections\n", "stderr", T0 + 1000))
        await wait_until(lambda: len(events(out)) == 2, what="second container's line")
        tracked = lambda: metric(agent, "logagent_files_tracked", source="ctr")  # noqa: E731
        assert tracked() == 2
        # docker rm: the directory goes away; the source lets go of the file.
        shutil.rmtree(root / db)
        await wait_until(lambda: tracked() == 1, what="removed container retired")
        append(log_path(root, web), docker_line("GET /cart 200\n", "stdout", T0 + 2000))
        await wait_until(lambda: len(events(out)) == 3, what="line after removal")

    evs = events(out)
    first, second, third = evs
    assert first["line"] == "GET / 200 <ok> & done"
    assert first["ts"] == "2024-05-01T12:00:00.123456700Z"
    assert first["fields"] == {"stream": "stdout"}
    assert first["labels"] == {
        "container_name": "shop-web-1",
        "container_id": web,
        "image": "nginx:1.25",
        "compose_project": "shop",
        "compose_service": "web",
        "team": "storefront",
    }
    assert second["labels"] == {
        "container_name": "shop-db-1",
        "container_id": db,
        "image": "postgres:16",
        "com_example_tier": "data",
    }
    assert second["fields"] == {"stream": "stderr"}
    assert third["line"] == "GET /cart 200"


async def test_40k_line_split_in_three_pieces_across_reads(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    cid = container_id(3)
    create_container(root, cid, "app")
    path = log_path(root, cid)
    append(path, docker_line("before\n", "stdout", T0))
    big = "".join(chr(ord("a") + i % 26) for i in range(40 * 1024))
    pieces = [big[:16384], big[16384:32768], big[32768:] + "\n"]
    async with running_agent(data, out, docker_source(root, "flush_timeout_secs = 30")) as agent:
        read = lambda: metric(agent, "logagent_lines_read_total", source="ctr")  # noqa: E731
        await wait_until(lambda: read() == 1, what="first line read")
        # Each piece is its own write; the agent reads each before the next one comes.
        for n, piece in enumerate(pieces, start=2):
            append(path, docker_line(piece, "stdout", T0 + 5))
            # A stderr line in between must not break the stdout message.
            append(path, docker_line(f"err {n}\n", "stderr", T0 + 6))
            await wait_until(lambda n=n: read() == 1 + 2 * (n - 1), what=f"piece {n} read")
        await wait_until(lambda: len(events(out)) == 5, what="joined message")
    evs = events(out)
    by_line = {e["line"]: e for e in evs}
    assert [e["line"] for e in evs if e["fields"]["stream"] == "stderr"] == ["err 2", "err 3", "err 4"]
    joined = by_line[big]
    assert joined["ts"] == "2024-05-01T12:00:00.123456705Z"
    assert "flags" not in joined
    assert [e["line"] for e in evs].count(big) == 1


async def test_held_pieces_are_not_checkpointed_and_rejoin_after_restart(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    cid = container_id(4)
    create_container(root, cid, "app")
    path = log_path(root, cid)
    first = docker_line("line one\n", "stdout", T0)
    append(path, first)
    src = docker_source(root, "flush_timeout_secs = 60")
    async with running_agent(data, out, src) as agent:
        read = lambda: metric(agent, "logagent_lines_read_total", source="ctr")  # noqa: E731
        await wait_until(lambda: len(events(out)) == 1, what="first line")
        append(path, docker_line("x" * 16384, "stdout", T0 + 1))
        append(path, docker_line("y" * 16384, "stdout", T0 + 1))
        await wait_until(lambda: read() == 3, what="two pieces read")
    # Stopped with a message held: the checkpoint stays at the first piece's line.
    store = CheckpointStore(data, AgentMetrics())
    store.load()
    saved = [store.get(k) for k in store.keys("file:ctr:")]
    offsets = [v["offset"] for v in saved if isinstance(v, dict)]
    assert offsets == [len(first)]
    assert messages(out) == ["line one"]
    append(path, docker_line("z\n", "stdout", T0 + 1))
    async with running_agent(data, out, src):
        await wait_until(lambda: len(events(out)) == 2, what="joined message after restart")
    assert messages(out) == ["line one", "x" * 16384 + "y" * 16384 + "z"]


async def test_unfinished_message_flushed_after_timeout(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    cid = container_id(5)
    create_container(root, cid, "app")
    path = log_path(root, cid)
    src = docker_source(root, "flush_timeout_secs = 0.3")
    async with running_agent(data, out, src):
        # A container that exits mid-line leaves its output without the newline.
        append(path, docker_line("Password: ", "stdout", T0))
        await wait_until(lambda: messages(out) == ["Password: "], what="timed-out flush")
        append(path, docker_line("next\n", "stdout", T0 + 1))
        await wait_until(lambda: len(events(out)) == 2, what="next line")
    assert messages(out) == ["Password: ", "next"]


async def test_invalid_lines_pass_raw_and_are_counted(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    cid = container_id(6)
    create_container(root, cid, "app")
    path = log_path(root, cid)
    append(path, docker_line("ok\n", "stdout", T0))
    append(path, b'not json at all\n{"log": 5, "stream": "stdout"}\n{"stream":"stdout"}\n')
    append(path, docker_line("ok again\n", "stdout", T0))
    async with running_agent(data, out, docker_source(root)) as agent:
        await wait_until(lambda: len(events(out)) == 5, what="all lines")
        assert metric(agent, "logagent_parse_errors_total", source="ctr", parser="docker") == 3
    evs = events(out)
    assert [e["line"] for e in evs] == [
        "ok",
        "not json at all",
        '{"log": 5, "stream": "stdout"}',
        '{"stream":"stdout"}',
        "ok again",
    ]
    assert evs[1]["fields"] == {"decode_error": "not a container log line"}
    assert evs[4]["fields"] == {"stream": "stdout"}


async def test_rotation_by_the_json_file_driver(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    cid = container_id(7)
    create_container(root, cid, "app")
    path = log_path(root, cid)
    async with running_agent(data, out, docker_source(root)):
        for i in range(3):
            append(path, docker_line(f"gen0 {i}\n", "stdout", T0 + i))
        await wait_until(lambda: len(events(out)) == 3, what="first generation")
        for gen in (1, 2):
            # Written, not yet read, then rotated: the renamed file is still drained.
            append(path, docker_line(f"gen{gen - 1} last\n", "stdout", T0 + 10))
            rotated = [p for p in sorted(path.parent.glob("*-json.log.*"), reverse=True)]
            for p in rotated:
                n = int(p.suffix[1:])
                os.rename(p, path.with_name(f"{path.name}.{n + 1}"))
            os.rename(path, path.with_name(path.name + ".1"))
            for i in range(3):
                append(path, docker_line(f"gen{gen} {i}\n", "stdout", T0 + 20 + i))
        await wait_until(lambda: len(events(out)) == 11, what="every generation")
    got = messages(out)
    assert sorted(got) == sorted(
        [f"gen{g} {i}" for g in range(3) for i in range(3)] + ["gen0 last", "gen1 last"]
    )
    assert len(set(got)) == len(got)
    # Within a file, order is kept.
    assert [m for m in got if m.startswith("gen2")] == ["gen2 0", "gen2 1", "gen2 2"]


async def test_selection_by_name_image_and_label(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    wanted = [
        ("api-1", "registry.local/api:2", {}),
        ("api-2", "registry.local/api:3", {"env": "prod"}),
    ]
    unwanted = [
        ("db-1", "registry.local/api:2", {}),  # name not included
        ("api-3", "busybox:latest", {}),  # image not included
        ("api-4", "registry.local/api:2", {"logging": "off"}),  # excluded by label
        ("api-debug", "registry.local/api:2", {}),  # excluded by name
    ]
    for n, (name, image, labels) in enumerate(wanted + unwanted, start=10):
        cid = container_id(n)
        create_container(root, cid, name, image, labels)
        append(log_path(root, cid), docker_line(f"from {name}\n", "stdout", T0))
    src = docker_source(
        root,
        """
include_names = ["api-*"]
exclude_names = ["*-debug"]
include_images = ["registry.local/*"]
exclude_labels = ["logging=off"]
""",
    )
    async with running_agent(data, out, src) as agent:
        await wait_until(lambda: len(events(out)) == 2, what="selected containers")
        assert metric(agent, "logagent_files_tracked", source="ctr") == 2
    assert sorted(messages(out)) == ["from api-1", "from api-2"]


def test_docker_time_parsing_trimmed_fractions() -> None:
    assert parse_rfc3339_ns("2024-05-01T12:00:00.1234567Z") == 1714564800_123456700
    assert parse_rfc3339_ns("2024-05-01T12:00:00.1Z") == 1714564800_100000000
    assert parse_rfc3339_ns("2024-05-01T12:00:00Z") == 1714564800_000000000
    assert parse_rfc3339_ns("2024-05-01T14:00:00.000000001+02:00") == 1714564800_000000001
    assert parse_rfc3339_ns("2024-05-01T12:00:00.Z") is None
    assert parse_rfc3339_ns("yesterday") is None


async def test_removed_container_ships_its_unfinished_message(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    cid = container_id(8)
    create_container(root, cid, "job")
    path = log_path(root, cid)
    src = docker_source(root, "flush_timeout_secs = 60")
    async with running_agent(data, out, src) as agent:
        read = lambda: metric(agent, "logagent_lines_read_total", source="ctr")  # noqa: E731
        append(path, docker_line("done\n", "stdout", T0))
        append(path, docker_line("exit status: ", "stdout", T0 + 1))
        await wait_until(lambda: read() == 2, what="lines read")
        assert messages(out) == ["done"]
        # The container exits mid-line and is removed: no next piece will come.
        shutil.rmtree(root / cid)
        await wait_until(lambda: len(events(out)) == 2, what="held message shipped at removal")
    assert messages(out) == ["done", "exit status: "]
    # Drained after removal, still with the container's labels (kept while its file is open).
    assert events(out)[1]["labels"]["container_name"] == "job"


async def test_container_without_config_is_shipped_with_its_id(tmp_path: Path) -> None:
    root, data, out = tmp_path / "containers", tmp_path / "data", tmp_path / "out"
    cid = container_id(9)
    (root / cid).mkdir(parents=True)
    append(log_path(root, cid), docker_line("orphan\n", "stdout", T0))
    async with running_agent(data, out, docker_source(root, 'labels = { host = "node-1" }')):
        await wait_until(lambda: len(events(out)) == 1, what="orphan line")
    assert events(out)[0]["labels"] == {"host": "node-1", "container_id": cid}


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    from logagent.config.loader import load_config_text
    from logagent.errors import LogagentError

    base = '[sinks.out]\ntype = "stdout"\n[sources.ctr]\ntype = "docker"\n'
    for extra, key in (
        ('root = "relative/dir"', "sources.ctr.root"),
        ('include_names = "web"', "sources.ctr.include_names"),
        ("flush_timeout_secs = 0", "sources.ctr.flush_timeout_secs"),
        ("follow = true", "sources.ctr.follow"),
    ):
        try:
            load_config_text(base + extra + "\n")
        except LogagentError as exc:
            assert key in str(exc), (extra, str(exc))
        else:
            raise AssertionError(f"{extra!r} was accepted")
