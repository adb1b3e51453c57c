"""Multiline records in the file source: joined, flushed on timeout, never split by a restart."""

from __future__ import annotations

from pathlib import Path

from tests.core.harness import RunningSource, source_config

TRACE = (
    "2024-05-01 12:00:00 ERROR boom\n"
    "java.lang.IllegalStateException: bad\n"
    "\tat com.example.A.run(A.java:10)\n"
    "\tat com.example.B.main(B.java:5)\n"
)
START = r"^\d{4}-\d\d-\d\d "


def ml(**kw: object) -> dict:
    return {"start": START, "timeout_ms": 300, **kw}


async def test_stack_trace_joined_into_one_event(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("2024-05-01 11:59:59 INFO ok\n" + TRACE + "2024-05-01 12:00:01 INFO next\n")
    cfg = source_config([str(path)], multiline=ml())
    async with RunningSource(data_dir, cfg) as src:
        got = await src.out.wait_lines(3)
        assert got == ["2024-05-01 11:59:59 INFO ok", TRACE.rstrip("\n"), "2024-05-01 12:00:01 INFO next"]
        assert src.metric("logagent_lines_read_total") == 6


async def test_held_record_flushed_after_timeout(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text(TRACE)
    async with RunningSource(data_dir, source_config([str(path)], multiline=ml())) as src:
        assert await src.out.wait_lines(1) == [TRACE.rstrip("\n")]


async def test_restart_rereads_a_held_record_whole(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("2024-05-01 11:59:59 INFO ok\n" + TRACE[: TRACE.index("\tat com.example.B")])
    cfg = source_config([str(path)], multiline=ml(timeout_ms=60_000))
    async with RunningSource(data_dir, cfg) as src:
        assert await src.out.wait_lines(1) == ["2024-05-01 11:59:59 INFO ok"]
        await src.stop()
    with open(path, "a") as f:
        f.write("\tat com.example.B.main(B.java:5)\n2024-05-01 12:00:01 INFO next\n")
    async with RunningSource(data_dir, cfg) as src:
        got = await src.out.wait_lines(1)
        assert got == [TRACE.rstrip("\n")]


async def test_max_lines_caps_a_record(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("2024-05-01 12:00:00 start\n" + "".join(f"  cont {i}\n" for i in range(9)))
    async with RunningSource(data_dir, source_config([str(path)], multiline=ml(max_lines=4))) as src:
        got = await src.out.wait_lines(3)
        assert [r.count("\n") + 1 for r in got] == [4, 4, 2]


async def test_java_preset(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text(TRACE + "2024-05-01 12:00:01 INFO next\n")
    cfg = source_config([str(path)], multiline={"start": "java", "timeout_ms": 300})
    async with RunningSource(data_dir, cfg) as src:
        got = await src.out.wait_lines(2)
        assert got[0].startswith("2024-05-01 12:00:00 ERROR boom\njava.lang.IllegalStateException")
        assert got[0].endswith("(B.java:5)")
