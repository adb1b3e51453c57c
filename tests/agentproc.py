"""Run the real agent as a subprocess (for restart, SIGKILL, SIGHUP and shutdown tests), read what its
file sink wrote, and poll for a condition with a deadline."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson

_SERVING = re.compile(r"on http://[^:]+:(\d+)\.")


class AgentProcess:
    """``python -m logagent run --config PATH`` with its stderr collected and parsed."""

    def __init__(
        self,
        config: Path,
        env: dict[str, str] | None = None,
        prefix: list[str] | None = None,
        stdout: int = subprocess.DEVNULL,
    ) -> None:
        self.config = config
        self.stdout = stdout
        self.prefix = prefix or []
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.stderr_lines: list[str] = []
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None

    def start(self, wait_ready: bool = True, timeout: float = 30) -> AgentProcess:
        self.proc = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "logagent", "run", "--config", str(self.config)],
            stdout=self.stdout,
            stderr=subprocess.PIPE,
            env=self.env,
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if wait_ready:
            try:
                self.wait_for_log("Agent started", timeout)
            except BaseException:
                # start() failing inside a `with AgentProcess(...).start()` never reaches __exit__:
                # do not leave the process behind.
                self.__exit__(None, None, None)
                raise
        return self

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self.stderr_lines.append(line)
                m = _SERVING.search(line)
                if m:
                    self.port = int(m.group(1))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for_log(self, text: str, timeout: float = 30, start: int = 0) -> int:
        """Block until a stderr line containing ``text`` appears (index >= start); its index."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(start, len(self.stderr_lines)):
                    if text in self.stderr_lines[i]:
                        return i
                if self.proc is not None and self.proc.poll() is not None and not self._reader_alive():
                    raise AssertionError(
                        f"agent exited ({self.proc.returncode}) before {text!r}:\n{self.log()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {text!r}:\n{self.log()}")
                self._cond.wait(left)

    def _reader_alive(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def log(self) -> str:
        with self._cond:
            return "\n".join(self.stderr_lines[-60:])

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        if self._reader:
            self._reader.join(5)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM and wait; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        if self._reader:
            self._reader.join(5)
        return rc

    def __enter__(self) -> AgentProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def read_events(out_dir: Path) -> list[dict]:
    """Every event the file sink wrote under ``out_dir`` (rotated files first)."""
    files = [
        *sorted(out_dir.glob("events.ndjson.*"), key=lambda p: -int(p.suffix[1:])),
        out_dir / "events.ndjson",
    ]
    events = []
    for f in files:
        if f.exists():
            for line in f.read_bytes().splitlines():
                if line:
                    events.append(orjson.loads(line))
    return events


def wait_for(cond: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``cond`` (blocking, every 50 ms) until true, or fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
