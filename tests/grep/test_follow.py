"""``--follow``: the real command as a subprocess keeps printing matches as a file grows, and
through a rename + create rotation and a copytruncate."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO


class _Lines:
    """Read a subprocess's stdout line by line with a deadline (no sleeps as synchronisation)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.fd = proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.fd, selectors.EVENT_READ)
        self.buf = b""

    def take(self, n: int, timeout: float = 15.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while self.buf.count(b"\n") < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"wanted {n} lines, got {self.buf!r}")
            if self.sel.select(left):
                data = os.read(self.fd, 65536)
                if not data:
                    break
                self.buf += data
        lines = self.buf.split(b"\n")
        out, self.buf = lines[:n], b"\n".join(lines[n:])
        return out


def _append(path: Path, *lines: str) -> None:
    with open(path, "a") as f:
        f.write("".join(line + "\n" for line in lines))


def test_follow_through_rotation_and_truncation(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("old ERROR before start\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "logagent", "grep", "-f", "-n", "ERROR", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        out = _Lines(proc)
        # The follower starts at the end: wait until it has opened the file, by growing it until
        # a first marker line comes out.
        deadline = time.monotonic() + 20
        while True:
            _append(log, "ERROR ready")
            try:
                first = out.take(1, timeout=0.5)
                break
            except AssertionError:
                assert time.monotonic() < deadline, "follower never printed"
        assert first[0].endswith(b":ERROR ready")
        out.buf = b""  # other markers may follow; skip them
        _append(log, "info fine", "ERROR one", "debug")
        got = out.take(1)
        while got[0].endswith(b"ERROR ready"):
            got = out.take(1)
        assert got[0].split(b":", 1)[1] == b"ERROR one"
        # Rotation: lines written to the old file just before the rename still come out.
        _append(log, "ERROR two (old file)")
        os.rename(log, tmp_path / "app.log.1")
        _append(tmp_path / "app.log.1", "ERROR three (after rename)")
        _append(log, "ERROR four (new file)")
        got = out.take(3)
        assert [g.split(b":", 1)[1] for g in got] == [
            b"ERROR two (old file)",
            b"ERROR three (after rename)",
            b"ERROR four (new file)",
        ]
        assert got[2].startswith(b"1:")  # numbering restarts in the new file
        # copytruncate: the file shrinks and is read again from its start. (Like tail, a shrink is
        # seen by size: the new content is shorter than what was read.)
        with open(log, "w") as f:
            f.write("ERROR 5\n")
        assert out.take(1)[0] == b"1:ERROR 5"
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode in (0, -15)
    assert b"old ERROR before start" not in out.buf


def test_follow_with_field_filters_prints_json_events(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text("")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "logagent",
            "grep",
            "-f",
            "--parser",
            "json",
            "--where",
            "status>=500",
            "--json",
            "",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        out = _Lines(proc)
        deadline = time.monotonic() + 20
        while True:  # wait until the follower has the file open
            _append(log, '{"status": 503, "msg": "ready"}')
            try:
                out.take(1, timeout=0.5)
                break
            except AssertionError:
                assert time.monotonic() < deadline, "follower never printed"
        out.buf = b""
        _append(log, '{"status": 200, "msg": "fine"}', '{"status": 502, "msg": "bad gateway"}')
        import orjson

        event = orjson.loads(out.take(1)[0])
        while event["message"] == "ready":
            event = orjson.loads(out.take(1)[0])
        assert event["message"] == "bad gateway" and event["fields"]["status"] == 502
        assert event["path"] == str(log)
    finally:
        proc.terminate()
        proc.wait(10)


def test_follow_stops_after_max_count(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    proc = subprocess.Popen(
        [sys.executable, "-m", "logagent", "grep", "-f", "-m", "2", "hit", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 20
        while proc.poll() is None:  # keep adding matches until the follower has seen two
            assert time.monotonic() < deadline, "follower did not stop after -m 2"
            _append(log, "a hit")
            try:
                proc.wait(0.3)
            except subprocess.TimeoutExpired:
                pass
        out = proc.stdout.read() if proc.stdout else b""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert proc.returncode == 0
    assert out == b"a hit\na hit\n"
