"""The real command: exit statuses, `-h` meaning --no-filename, GREP_COLORS, stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, require_tool


def _run(
    argv: list[str], stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "logagent", "grep", *argv],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_exit_status_and_no_filename_flag(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("one curl\ntwo\n")
    b.write_text("three curl\n")
    r = _run(["-h", "curl", str(a), str(b)])
    assert (r.returncode, r.stdout) == (0, b"one curl\nthree curl\n")
    assert _run(["nothing-matches", str(a)]).returncode == 1
    r = _run(["curl", str(tmp_path / "missing")])
    assert r.returncode == 2 and b"missing" in r.stderr
    assert _run(["(unclosed", str(a)]).returncode == 2
    assert _run(["--help"]).returncode == 0


def test_stdin_and_label() -> None:
    r = _run(["-H", "--label", "in", "-n", "b"], stdin=b"a\nb\nc\nb")
    assert r.stdout == b"in:2:b\nin:4:b\n"


def test_grep_colors_environment_as_gnu_grep(tmp_path: Path) -> None:
    grep = require_tool("/bin/grep")
    f = tmp_path / "a.log"
    f.write_text("x foo y foo\nbar\nfoo\n")
    colors = "ms=04;33:fn=01:ln=35:se=31:ne"
    argv = ["--color=always", "-n", "-H", "-A", "1", "foo", str(f)]
    env = {"GREP_COLORS": colors, "LC_ALL": "C"}
    want = subprocess.run([grep, *argv], capture_output=True, env={**os.environ, **env}).stdout
    got = _run(argv, env=env).stdout
    assert got == want
    assert b"\x1b[04;33m" in got and b"\x1b[K" not in got


def test_progress_goes_to_stderr_only(tmp_path: Path) -> None:
    f = tmp_path / "a.log"
    f.write_text("curl\n" * 1000)
    r = _run(["--progress", "always", "-c", "curl", str(f)])
    assert r.stdout == b"1000\n"
    assert b"file 1/1" in r.stderr


def test_gzip_on_stdin_is_decompressed() -> None:
    import gzip

    r = _run(["-c", "b"], stdin=gzip.compress(b"a\nb\nc\nb\n"))
    assert r.stdout == b"2\n"
