"""The file source's guarantees, scenario by scenario (real files, real inotify, in-process).

Cases after Vector's file-source correctness harness and Fluent Bit's in_tail integration tests.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import time
from pathlib import Path

import pytest

from tests.core.harness import RunningSource, source_config


def write(path: Path, text: str, mode: str = "a") -> None:
    with open(path, mode, encoding="utf-8") as f:
        f.write(text)


def lines(prefix: str, start: int, end: int) -> str:
    return "".join(f"{prefix} {i}\n" for i in range(start, end))


def expected(prefix: str, start: int, end: int) -> list[str]:
    return [f"{prefix} {i}" for i in range(start, end)]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d


async def test_new_file_read_from_head(logs: Path, data_dir: Path) -> None:
    write(logs / "a.log", lines("a", 0, 10))
    async with RunningSource(data_dir, source_config([f"{logs}/*.log"])) as src:
        assert await src.out.wait_lines(10) == expected("a", 0, 10)
        write(logs / "a.log", lines("a", 10, 15))
        assert await src.out.wait_lines(15) == expected("a", 0, 15)


async def test_read_from_end_applies_to_files_of_first_start_only(logs: Path, data_dir: Path) -> None:
    write(logs / "old.log", lines("old", 0, 5))
    cfg = source_config([f"{logs}/*.log"], read_from="end")
    async with RunningSource(data_dir, cfg) as src:
        write(logs / "old.log", lines("old", 5, 7))
        write(logs / "new.log", lines("new", 0, 3))
        got = await src.out.wait_lines(5)
        assert sorted(got) == sorted(expected("old", 5, 7) + expected("new", 0, 3))
    # Restart: a file created while the agent was down is read from its beginning.
    write(logs / "later.log", lines("later", 0, 4))
    async with RunningSource(data_dir, cfg) as src:
        assert await src.out.wait_lines(4) == expected("later", 0, 4)


async def test_single_short_line_file_ships(logs: Path, data_dir: Path) -> None:
    write(logs / "tiny.log", "x\n")
    async with RunningSource(data_dir, source_config([f"{logs}/*.log"])) as src:
        assert await src.out.wait_lines(1) == ["x"]


async def test_rotate_by_rename_and_create_loses_nothing(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, lines("one", 0, 100))
    cfg = source_config([f"{logs}/app.log"], rotate_wait_secs=0.2, poll_interval_secs=0.1)
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(100)
        # The writer still has the old file open: lines written after the rename go to it.
        with open(path, "a") as old_writer:
            os.rename(path, logs / "app.log.1")
            old_writer.write(lines("one", 100, 110))
        write(path, lines("two", 0, 50))
        got = await src.out.wait_lines(160)
        assert sorted(got) == sorted(expected("one", 0, 110) + expected("two", 0, 50))
        assert got[:100] == expected("one", 0, 100)
        assert len(got) == len(set(got))


async def test_multiple_rapid_rotations(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    cfg = source_config([f"{logs}/app.log*"], rotate_wait_secs=0.2, poll_interval_secs=0.1)
    total = []
    async with RunningSource(data_dir, cfg) as src:
        for gen in range(6):
            write(path, lines(f"g{gen}", 0, 20))
            total += expected(f"g{gen}", 0, 20)
            for i in range(gen, 0, -1):
                if (logs / f"app.log.{i}").exists():
                    os.rename(logs / f"app.log.{i}", logs / f"app.log.{i + 1}")
            os.rename(path, logs / "app.log.1")
        got = await src.out.wait_lines(len(total))
        await asyncio.sleep(0)  # let any duplicate arrive before we look (nothing should)
        assert sorted(got) == sorted(total)


async def test_copytruncate_copy_matching_globs_continues_without_loss(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, lines("a", 0, 50))
    cfg = source_config([f"{logs}/app.log*"], poll_interval_secs=0.1)
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(50)
        # A stale writer appends, then logrotate copies and truncates before we read again.
        write(path, lines("a", 50, 60))
        data = path.read_bytes()
        (logs / "app.log.1").write_bytes(data)
        with open(path, "r+") as f:
            f.truncate(0)
        write(path, lines("b", 0, 10))
        got = await src.out.wait_lines(70)
        assert sorted(got) == sorted(expected("a", 0, 60) + expected("b", 0, 10))


async def test_truncation_in_place_restarts_at_zero(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, lines("a", 0, 30))
    cfg = source_config([f"{logs}/app.log"], poll_interval_secs=0.1)
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(30)
        with open(path, "r+") as f:
            f.truncate(0)
        write(path, lines("b", 0, 5))
        got = await src.out.wait_lines(35)
        assert got == expected("a", 0, 30) + expected("b", 0, 5)


async def test_delete_while_open_drains_then_recreate_reads_again(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, lines("x", 0, 10))
    cfg = source_config([f"{logs}/app.log"], rotate_wait_secs=0.1, poll_interval_secs=0.1)
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(10)
        with open(path, "a") as writer:
            os.unlink(path)
            writer.write(lines("x", 10, 12))  # written after the delete: still shipped
        await src.out.wait_lines(12)
        # Same first line as the deleted file: a different file all the same.
        write(path, lines("x", 0, 3))
        got = await src.out.wait_lines(15)
        assert got == expected("x", 0, 12) + expected("x", 0, 3)


async def test_symlink_target_rotation(logs: Path, data_dir: Path) -> None:
    targets = logs / "real"
    targets.mkdir()
    write(targets / "app-1.log", lines("one", 0, 5))
    link = logs / "current.log"
    link.symlink_to(targets / "app-1.log")
    cfg = source_config([f"{logs}/current.log"], rotate_wait_secs=0.1, poll_interval_secs=0.1)
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(5)
        write(targets / "app-1.log", lines("one", 5, 7))
        await src.out.wait_lines(7)
        write(targets / "app-2.log", lines("two", 0, 4))
        tmp_link = logs / ".current.tmp"
        tmp_link.symlink_to(targets / "app-2.log")
        os.replace(tmp_link, link)
        got = await src.out.wait_lines(11)
        assert got == expected("one", 0, 7) + expected("two", 0, 4)


async def test_partial_line_held_until_newline(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, "complete\npart")
    cfg = source_config([f"{logs}/app.log"], poll_interval_secs=0.1)
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(1)
        write(path, "ial\n")
        assert await src.out.wait_lines(2) == ["complete", "partial"]
        assert src.out.flagged() == []


async def test_partial_line_of_rotated_file_ships_unterminated_after_timeout(
    logs: Path, data_dir: Path
) -> None:
    path = logs / "app.log"
    write(path, "a\nno newline")
    cfg = source_config([f"{logs}/app.log"], rotate_wait_secs=0.3, poll_interval_secs=0.1)
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(1)
        os.rename(path, logs / "gone.old")
        got = await src.out.wait_lines(2)
        assert got == ["a", "no newline"]
        assert src.out.flagged() == [("no newline", ["unterminated"])]


async def test_partial_line_not_shipped_at_shutdown_and_completed_once_after_restart(
    logs: Path, data_dir: Path
) -> None:
    path = logs / "app.log"
    write(path, "first\nhalf")
    cfg = source_config([f"{logs}/app.log"])
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(1)
        await src.stop()
        assert src.out.lines == ["first"]
    write(path, " done\nnext\n")
    async with RunningSource(data_dir, cfg) as src:
        assert await src.out.wait_lines(2) == ["half done", "next"]


async def test_long_lines_truncated_and_flagged(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    long = "x" * 5000
    write(path, f"short\n{long}\nafter\n")
    cfg = source_config([f"{logs}/app.log"], max_line_bytes=1000)
    async with RunningSource(data_dir, cfg) as src:
        got = await src.out.wait_lines(3)
        assert got == ["short", "x" * 1000, "after"]
        assert src.out.flagged() == [("x" * 1000, ["truncated"])]
        assert src.metric("logagent_lines_flagged_total", flag="truncated") == 1


async def test_line_longer_than_read_chunk_truncated_once(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, "a" * 20000 + "\nb\n")
    cfg = source_config([f"{logs}/app.log"], max_line_bytes=100, read_chunk_bytes=4096)
    async with RunningSource(data_dir, cfg) as src:
        got = await src.out.wait_lines(2)
        assert got == ["a" * 100, "b"]


async def test_invalid_utf8_kept_and_flagged(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    path.write_bytes(b"ok\nbad \xff\xfe here\nok2\n")
    async with RunningSource(data_dir, source_config([f"{logs}/app.log"])) as src:
        got = await src.out.wait_lines(3)
        assert got == ["ok", "bad \ufffd\ufffd here", "ok2"]
        assert src.out.flagged() == [("bad \ufffd\ufffd here", ["invalid_utf8"])]


async def test_exclude_globs(logs: Path, data_dir: Path) -> None:
    write(logs / "keep.log", "keep\n")
    write(logs / "skip.log", "skip\n")
    cfg = source_config([f"{logs}/*.log"], exclude=["skip.*"])
    async with RunningSource(data_dir, cfg) as src:
        assert await src.out.wait_lines(1) == ["keep"]
        write(logs / "keep.log", "keep2\n")
        assert await src.out.wait_lines(2) == ["keep", "keep2"]


async def test_ignore_older_skips_stale_files_until_they_change(logs: Path, data_dir: Path) -> None:
    old = logs / "old.log"
    write(old, "ancient\n")
    past = time.time() - 3600
    os.utime(old, (past, past))
    write(logs / "fresh.log", "fresh\n")
    cfg = source_config([f"{logs}/*.log"], ignore_older_secs=60, rescan_interval_secs=0.2)
    async with RunningSource(data_dir, cfg) as src:
        assert await src.out.wait_lines(1) == ["fresh"]
        write(old, "new in old\n")  # becomes recent: read from where it was when ignored
        got = await src.out.wait_lines(2)
        assert got == ["fresh", "new in old"]


async def test_gzip_rotated_files_not_reread(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, lines("a", 0, 5))
    cfg = source_config([f"{logs}/app.log*"], rotate_wait_secs=0.1, poll_interval_secs=0.1)
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(5)
        os.rename(path, logs / "app.log.1")
        with gzip.open(logs / "app.log.1.gz", "wb") as gz:
            gz.write((logs / "app.log.1").read_bytes())
        os.unlink(logs / "app.log.1")
        write(path, lines("b", 0, 2))
        got = await src.out.wait_lines(7)
        assert got == expected("a", 0, 5) + expected("b", 0, 2)


async def test_glob_double_star_discovers_new_directories(logs: Path, data_dir: Path) -> None:
    cfg = source_config([f"{logs}/**/*.log"])
    async with RunningSource(data_dir, cfg) as src:
        (logs / "x" / "y").mkdir(parents=True)
        write(logs / "x" / "y" / "deep.log", "deep\n")
        assert await src.out.wait_lines(1) == ["deep"]


async def test_restart_resumes_from_checkpoint(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, lines("a", 0, 10))
    cfg = source_config([f"{logs}/app.log"])
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(10)
    write(path, lines("a", 10, 13))
    async with RunningSource(data_dir, cfg) as src:
        assert await src.out.wait_lines(3) == expected("a", 10, 13)


async def test_checkpoint_does_not_pass_unacknowledged_lines(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, lines("a", 0, 10))
    cfg = source_config([f"{logs}/app.log"])
    async with RunningSource(data_dir, cfg, auto_ack=False) as src:
        await src.out.wait_lines(10)
        # Nothing acknowledged: a restart must deliver everything again.
    async with RunningSource(data_dir, cfg) as src:
        assert await src.out.wait_lines(10) == expected("a", 0, 10)


async def test_copytruncate_across_restart_reads_only_new_content(logs: Path, data_dir: Path) -> None:
    path = logs / "app.log"
    write(path, lines("a", 0, 20))
    cfg = source_config([f"{logs}/app.log"])
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(20)
    (logs / "app.log.1").write_bytes(path.read_bytes())
    with open(path, "r+") as f:
        f.truncate(0)
    write(path, lines("b", 0, 3))
    async with RunningSource(data_dir, cfg) as src:
        assert await src.out.wait_lines(3) == expected("b", 0, 3)


async def test_thousand_files_tracked(logs: Path, data_dir: Path) -> None:
    for i in range(1000):
        (logs / f"f{i:04d}.log").write_text(f"file {i}\n")
    cfg = source_config([f"{logs}/*.log"])
    async with RunningSource(data_dir, cfg) as src:
        got = await src.out.wait_lines(1000, timeout=60)
        assert sorted(got) == sorted(f"file {i}" for i in range(1000))
        assert src.metric("logagent_files_tracked") == 1000
        write(logs / "f0500.log", "again\n")
        await src.out.wait_lines(1001)


async def test_delete_and_recreate_before_the_old_file_was_drained(logs: Path, data_dir: Path) -> None:
    """The old file's unread lines still ship when a same-first-line file replaces it at once."""
    path = logs / "app.log"
    write(path, lines("x", 0, 5))
    cfg = source_config([f"{logs}/app.log"], poll_interval_secs=30, rescan_interval_secs=30, inotify=False)
    async with RunningSource(data_dir, cfg) as src:
        await src.out.wait_lines(5)
        with open(path, "a") as writer:
            writer.write(lines("x", 5, 8))
            writer.flush()
            os.unlink(path)
            write(path, lines("x", 0, 2))  # same first line, a new file
            # Make the source look now (the test disabled inotify and slowed polling, so the old
            # file's last lines are still unread when the new file is found).
            await src.source.scan()
            await src.source.read_files(list(src.source.files.values()))
        got = await src.out.wait_lines(10)
        assert got == expected("x", 0, 8) + expected("x", 0, 2)


async def test_recreated_file_is_read_from_zero_while_the_deleted_ones_acks_are_pending(
    logs: Path, data_dir: Path
) -> None:
    """A deleted file's checkpoint never positions its successor, even with acks still pending."""
    path = logs / "app.log"
    write(path, lines("x", 0, 5))
    cfg = source_config([f"{logs}/app.log"], rotate_wait_secs=0.1, poll_interval_secs=0.1)
    async with RunningSource(data_dir, cfg, auto_ack=False) as src:
        await src.out.wait_lines(5)
        first = list(src.out.batches)
        for batch in first:  # delivered: the checkpoint moves to 20
            assert batch.ack is not None
            batch.ack.done()
        write(path, lines("x", 5, 7))
        await src.out.wait_lines(7)  # emitted, not yet acknowledged
        os.unlink(path)
        write(path, lines("x", 0, 10))  # same first line, longer than the old checkpoint
        got = await src.out.wait_lines(17)
        assert got == expected("x", 0, 7) + expected("x", 0, 10)
        for batch in src.out.batches[len(first) :]:
            assert batch.ack is not None
            batch.ack.done()
        await src.stop()
    offsets = [v["offset"] for k in src.store.keys("file:t:") if isinstance(v := src.store.get(k), dict)]
    assert offsets == [40]
