"""The journald source against real journal files read by the real journalctl, in the real agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from logagent.config import load_config_text
from logagent.sources.journald import decode_message
from tests.sources.journald.conftest import BASE_US, entry, write_journal
from tests.sources.syslog.agent_harness import InProcessAgent, file_sink_config


def journald_config(tmp_path: Path, journal: Path, name: str = "j", **opts: str) -> str:
    extra = "".join(f"{k} = {v}\n" for k, v in opts.items())
    return (
        file_sink_config(tmp_path / "data", tmp_path / "out")
        + f'[sources.{name}]\ntype = "journald"\ndirectory = "{journal}"\nread_from = "beginning"\n{extra}'
    )


async def test_maps_fields_levels_timestamps_and_binary_messages(tmp_path: Path, journal_dir: Path) -> None:
    data = (
        entry(1, "hello", PRIORITY="3")
        + entry(2, b"bin\xff\x07x")  # invalid UTF-8: a byte array in journalctl's JSON
        + entry(3, "two\nlines", _SOURCE_REALTIME_TIMESTAMP=str(BASE_US - 500))
        + entry(4, "\x07bell")  # valid UTF-8 with a control char: a byte array too, no flag
        # A field given twice: journalctl writes an array of the values.
        + b"__REALTIME_TIMESTAMP=%d\nMESSAGE=first\nMESSAGE=second\n\n" % (BASE_US + 5)
    )
    write_journal(journal_dir / "a.journal", data)
    cfg = journald_config(tmp_path, journal_dir, labels='{ env = "test" }', extra_fields='["_BOOT_ID"]')
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        events = await agent.wait_events(5)
    assert [e["line"] for e in events] == [
        "hello",
        "bin\ufffd\x07x",
        "two\nlines",
        "\x07bell",
        "first\nsecond",
    ]
    first = events[0]
    assert first["level"] == "error"
    assert first["labels"] == {"env": "test"}
    assert first["fields"] == {
        "unit": "app.service",
        "identifier": "app",
        "hostname": "host1",
        "pid": "42",
        "priority": "3",
        "boot_id": first["fields"]["boot_id"],
    }
    assert first["ts"] == "2023-11-14T22:13:20.000001000Z"
    assert events[1]["level"] == "info" and events[1]["flags"] == ["invalid_utf8"]
    assert "flags" not in events[3]
    # _SOURCE_REALTIME_TIMESTAMP (when the program logged) wins over the journal's receive time.
    assert events[2]["ts"] == "2023-11-14T22:13:19.999500000Z"
    assert agent.metric("logagent_lines_flagged_total", source="j", flag="invalid_utf8") == 1


def test_decode_message_forms() -> None:
    assert decode_message("plain") == ("plain", 0)
    assert decode_message([104, 105]) == ("hi", 0)
    assert decode_message([255]) == ("\ufffd", 2)
    assert decode_message(["a", [98]]) == ("a\nb", 0)  # a field with several values
    assert decode_message(None) == ("", 0)


async def test_follows_appended_entries_and_resumes_after_restart_without_loss_or_duplicates(
    tmp_path: Path, journal_dir: Path
) -> None:
    journal = journal_dir / "f.journal"
    write_journal(journal, b"".join(entry(i, f"m{i}") for i in range(5)))
    cfg = journald_config(tmp_path, journal_dir)
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        await agent.wait_events(5)
        # Appended by a second journal-remote run while journalctl follows.
        write_journal(journal, b"".join(entry(i, f"m{i}") for i in range(5, 10)))
        await agent.wait_events(10)
        proc = agent.source("j").proc
        assert proc is not None and proc.returncode is None
    # Stopping the agent terminated journalctl (and reaped it).
    assert proc.returncode is not None and not Path(f"/proc/{proc.pid}").exists()
    # Written while the agent is down (more than journalctl -f's default 10), then more after.
    write_journal(journal, b"".join(entry(i, f"m{i}") for i in range(10, 40)))
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        await agent.wait_events(40)
        write_journal(journal, b"".join(entry(i, f"m{i}") for i in range(40, 45)))
        events = await agent.wait_events(45)
    assert [e["line"] for e in events] == [f"m{i}" for i in range(45)]


async def test_read_from_end_skips_old_entries_but_not_those_written_while_down(
    tmp_path: Path, journal_dir: Path
) -> None:
    journal = journal_dir / "e.journal"
    write_journal(journal, b"".join(entry(i, f"old{i}") for i in range(3)))
    cfg = journald_config(tmp_path, journal_dir).replace('read_from = "beginning"', 'read_from = "end"')
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        write_journal(journal, entry(3, "new3"))
        await agent.wait_events(1)
    write_journal(journal, entry(4, "while-down4"))
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        events = await agent.wait_events(2)
    assert [e["line"] for e in events] == ["new3", "while-down4"]


async def test_files_option_is_polled_and_filters_apply(tmp_path: Path, journal_dir: Path) -> None:
    journal = journal_dir / "p.journal"
    write_journal(
        journal,
        entry(0, "keep0", PRIORITY="2")
        + entry(1, "drop-prio", PRIORITY="6")
        + entry(2, "drop-unit", PRIORITY="1", _SYSTEMD_UNIT="other.service"),
    )
    cfg = file_sink_config(tmp_path / "data", tmp_path / "out") + (
        f'[sources.j]\ntype = "journald"\nfiles = ["{journal}"]\nread_from = "beginning"\n'
        'units = ["app.service"]\npriority = "err"\npoll_interval_secs = 0.2\n'
        'label_fields = ["_SYSTEMD_UNIT"]\n'
    )
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        await agent.wait_events(1)
        write_journal(journal, entry(3, "keep3", PRIORITY="3") + entry(4, "drop4", PRIORITY="5"))
        events = await agent.wait_events(2)
    assert [e["line"] for e in events] == ["keep0", "keep3"]
    assert events[0]["labels"] == {"unit": "app.service"}


async def test_label_fields_group_consecutive_entries_into_batches(tmp_path: Path, journal_dir: Path) -> None:
    data = b"".join(
        entry(i, f"x{i}", _SYSTEMD_UNIT=unit)
        for i, unit in enumerate(["a.service", "a.service", "b.service", "a.service"])
    )
    write_journal(journal_dir / "l.journal", data)
    cfg = journald_config(tmp_path, journal_dir, label_fields='["_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER"]')
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        events = await agent.wait_events(4)
    assert [(e["line"], e["labels"]["unit"]) for e in events] == [
        ("x0", "a.service"),
        ("x1", "a.service"),
        ("x2", "b.service"),
        ("x3", "a.service"),
    ]
    assert events[0]["labels"]["identifier"] == "app"


async def test_missing_journalctl_is_reported_and_other_sources_keep_running(
    tmp_path: Path, journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_journal(journal_dir / "ok.journal", entry(0, "still flowing"))
    cfg = journald_config(tmp_path, journal_dir, name="good") + (
        f'[sources.broken]\ntype = "journald"\njournalctl_path = "{tmp_path}/no/such/journalctl"\n'
        "retry_initial_secs = 0.1\n"
        f'[sources.unreadable]\ntype = "journald"\ndirectory = "{tmp_path}/no-such-dir"\n'
        'retry_initial_secs = 0.1\nretry_max_secs = 0.3\nread_from = "beginning"\n'
    )
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        events = await agent.wait_events(1)
        # Retried with backoff: the counter keeps going up while the source stays alive.
        await agent.wait_metric(
            "logagent_source_errors_total", 2, source="broken", reason="journalctl_missing"
        )
        await agent.wait_metric(
            "logagent_source_errors_total", 1, source="unreadable", reason="journal_unreadable"
        )
        # Once the journal appears, the retried source picks it up.
        (tmp_path / "no-such-dir").mkdir()
        write_journal(tmp_path / "no-such-dir" / "late.journal", entry(1, "late but there"))
        events = await agent.wait_events(2)
    assert [(e["source"], e["line"]) for e in events] == [
        ("good", "still flowing"),
        ("unreadable", "late but there"),
    ]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("broken" in m and "no/such/journalctl not found" in m for m in errors), errors
    # journalctl's own reason is in the message.
    assert any("unreadable" in m and "No such file or directory" in m for m in errors), errors


def test_config_errors_name_the_key() -> None:
    from logagent.errors import LogagentError

    bad = [
        ('priority = "loud"', "priority"),
        ('matches = ["lower=x"]', "matches"),
        ('read_from = "middle"', "read_from"),
    ]
    for line, key in bad:
        with pytest.raises(LogagentError) as err:
            load_config_text(f'[sources.j]\ntype = "journald"\n{line}\n[sinks.s]\ntype = "stdout"\n')
        assert f"sources.j.{key}" in str(err.value)


def test_command_line_carries_every_filter() -> None:
    from logagent.checkpoint import CheckpointStore
    from logagent.components import SourceContext
    from logagent.metrics import AgentMetrics

    cfg = load_config_text(
        '[sources.j]\ntype = "journald"\njournalctl_path = "/usr/bin/journalctl"\n'
        'units = ["a.service", "b.service"]\npriority = "err..warning"\ncurrent_boot_only = true\n'
        'matches = ["_TRANSPORT=kernel", "+", "SYSLOG_IDENTIFIER=sshd"]\n[sinks.s]\ntype = "stdout"\n'
    ).sources["j"]
    ctx = SourceContext(
        "j", CheckpointStore(Path("/nonexistent")), AgentMetrics(), Path("/nonexistent"), None, 1
    )  # type: ignore[arg-type]
    source = cfg.build("j", ctx)
    argv = source.command(follow=True)
    assert argv[0] == "/usr/bin/journalctl"
    assert {"--output=json", "--all", "--no-pager", "--follow", "--boot"} <= set(argv)
    assert "--merge" not in argv  # --boot and --merge exclude each other
    assert argv[-3:] == ["_TRANSPORT=kernel", "+", "SYSLOG_IDENTIFIER=sshd"]
    assert "--unit=a.service" in argv and "--unit=b.service" in argv and "--priority=err..warning" in argv
    assert "--no-tail" in argv  # no cursor yet
    source.cursor = "s=abc;i=1"
    argv = source.command(follow=False)
    assert "--after-cursor=s=abc;i=1" in argv and "--follow" not in argv
    argv = source.command(follow=True)
    # journalctl -f stops after 10 entries past the cursor without --no-tail.
    assert "--after-cursor=s=abc;i=1" in argv and "--no-tail" in argv


def test_kill_9_then_restart_loses_nothing(tmp_path: Path, journal_dir: Path) -> None:
    """The real agent process, killed with SIGKILL mid-stream: after a restart every entry arrives
    (entries delivered but not yet checkpointed may arrive twice: at-least-once)."""
    import time

    from tests.agentproc import AgentProcess, read_events

    journal = journal_dir / "k.journal"
    write_journal(journal, b"".join(entry(i, f"k{i}") for i in range(200)))
    cfg_path = tmp_path / "agent.toml"
    cfg_path.write_text(journald_config(tmp_path, journal_dir))
    out = tmp_path / "out"

    def wait_for(n: int) -> list[dict]:
        # Count distinct lines: after a kill -9, re-delivered entries may arrive twice.
        deadline = time.monotonic() + 30
        while True:
            events = read_events(out)
            if len({e["line"] for e in events}) >= n:
                return events
            assert time.monotonic() < deadline, f"{len(events)} events, fewer than {n} distinct"
            time.sleep(0.05)

    with AgentProcess(cfg_path) as agent:
        agent.start()
        wait_for(200)
        write_journal(journal, b"".join(entry(i, f"k{i}") for i in range(200, 300)))
        wait_for(300)
        agent.kill9()
    write_journal(journal, b"".join(entry(i, f"k{i}") for i in range(300, 400)))
    with AgentProcess(cfg_path) as agent:
        agent.start()
        events = wait_for(400)
        assert agent.stop() == 0
    lines = [e["line"] for e in read_events(out)]
    assert set(lines) == {f"k{i}" for i in range(400)}
    # Duplicates, if any, are a replay of the tail before the kill, in order.
    assert lines[-100:] == [f"k{i}" for i in range(300, 400)]
    assert len(events) >= 400


def test_corpus_corner_cases_map_without_loss() -> None:
    """journalctl JSON from real systems: a multi-line core dump and a MESSAGE as a byte array."""
    import orjson

    from logagent.checkpoint import CheckpointStore
    from logagent.components import SourceContext
    from logagent.metrics import AgentMetrics
    from tests.conftest import require_corpus

    entries = orjson.loads(require_corpus("journald", "beats_journald_corner-cases.json").read_bytes())
    cfg = load_config_text('[sources.j]\ntype = "journald"\n[sinks.s]\ntype = "stdout"\n').sources["j"]
    ctx = SourceContext(
        "j", CheckpointStore(Path("/nonexistent")), AgentMetrics(), Path("/nonexistent"), None, 1
    )  # type: ignore[arg-type]
    source = cfg.build("j", ctx)
    lines = [orjson.dumps(e) for e in entries]
    ((batch, cursor),) = source.make_batches(source.decode_lines(lines))
    assert len(batch) == 2 and cursor == entries[1]["__CURSOR"]
    assert batch.lines[0].startswith("Process 3717 (kdeconnectd) of user 1000 dumped core.\n")
    assert batch.lines[1] == bytes(entries[1]["MESSAGE"]).decode("utf-8", "replace")
    assert [r.level for r in batch.records] == ["critical", "error"]
    assert batch.ts_ns == [1719834246841938000, 1719859366807129000]  # _SOURCE_REALTIME_TIMESTAMP


async def test_corpus_export_file_through_journal_remote(tmp_path: Path, journal_dir: Path) -> None:
    from tests.conftest import require_corpus

    export = require_corpus("journald", "beats_journald_journal1.export").read_bytes()
    write_journal(journal_dir / "corpus.journal", export)
    async with InProcessAgent(journald_config(tmp_path, journal_dir), tmp_path / "out") as agent:
        events = await agent.wait_events(10)
    assert [e["line"] for e in events] == [f"[{i:2d}] log entry" for i in range(1, 11)]
    assert {e["fields"]["identifier"] for e in events} == {"journald-test-1"}
