"""``type = "stdin"``: the real agent process with lines piped into it."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.agentproc import read_events


def write_config(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    out = tmp_path / "out"
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f"""
[agent]
data_dir = "{tmp_path / "data"}"
listen = "127.0.0.1:0"

[sources.pipe]
type = "stdin"
labels = {{ app = "batch-job" }}
{extra}

[sinks.out]
type = "file"
path = "{out}"
"""
    )
    return cfg, out


def agent_cmd(cfg: Path) -> list[str]:
    return [sys.executable, "-m", "logagent", "run", "--config", str(cfg)]


def test_printf_pipe_exits_zero_after_eof_with_every_line(tmp_path: Path) -> None:
    cfg, out = write_config(tmp_path)
    cmd = "printf 'one\\ntwo\\n\\nthree' | " + shlex.join(agent_cmd(cfg))
    proc = subprocess.run(["sh", "-c", cmd], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    evs = read_events(out)
    assert [e["line"] for e in evs] == ["one", "two", "", "three"]
    assert evs[-1]["flags"] == ["unterminated"]
    assert all(e["labels"] == {"app": "batch-job"} and e["source"] == "pipe" for e in evs)
    assert "path" not in evs[0]


def test_large_input_in_order_with_long_and_invalid_lines(tmp_path: Path) -> None:
    cfg, out = write_config(tmp_path, "max_line_bytes = 1024")
    lines = [f"line {i} " + "x" * (i % 97) for i in range(10000)]
    payload = "\n".join(lines).encode() + b"\n" + b"y" * 5000 + b"\n" + b"bad \xff byte\n"
    proc = subprocess.run(agent_cmd(cfg), input=payload, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    evs = read_events(out)
    assert [e["line"] for e in evs[:-2]] == lines
    assert evs[-2]["line"] == "y" * 1024 and evs[-2]["flags"] == ["truncated"]
    assert evs[-1]["line"] == "bad \ufffd byte" and evs[-1]["flags"] == ["invalid_utf8"]


def test_regular_file_as_stdin(tmp_path: Path) -> None:
    cfg, out = write_config(tmp_path)
    src = tmp_path / "input.log"
    src.write_bytes(b"".join(b"entry %d\n" % i for i in range(1000)))
    with open(src, "rb") as f:
        proc = subprocess.run(agent_cmd(cfg), stdin=f, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert [e["line"] for e in read_events(out)] == [f"entry {i}" for i in range(1000)]


def test_sigterm_while_stdin_stays_open(tmp_path: Path) -> None:
    cfg, out = write_config(tmp_path)
    proc = subprocess.Popen(agent_cmd(cfg), stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"before the signal\nhalf a li")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while not (out / "events.ndjson").exists() or not read_events(out):
            assert time.monotonic() < deadline, "line never delivered"
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        # A read blocked on the open pipe must not hold the shutdown.
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdin:
            proc.stdin.close()
        if proc.stderr:
            proc.stderr.close()
    evs = read_events(out)
    assert [e["line"] for e in evs] == ["before the signal", "half a li"]
    assert evs[1]["flags"] == ["unterminated"]
