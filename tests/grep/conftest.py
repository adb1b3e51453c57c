"""Fixtures for ``logagent grep`` tests: sample log files and runners for our grep and GNU grep."""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from logagent.cli import grep as grep_cli
from logagent.grep.run import GrepError, run
from tests.conftest import require_tool

_METHODS = ["GET"] * 6 + ["POST", "PUT", "DELETE", "HEAD"]
_PATHS = ["/", "/api/v1/users", "/api/v1/orders", "/static/app.js", "/login", "/health", "/Curl-test"]
_AGENTS = ["curl/8.4.0", "Mozilla/5.0 (X11; Linux x86_64)", "Googlebot/2.1", "python-requests/2.31", "CURL/7"]
_STATUS = [200] * 10 + [301, 404, 500, 502, 503]


def nginx_lines(n: int, seed: int = 7, t0: int = 1_700_000_000) -> list[str]:
    """``n`` access-log lines, one every 3 s from ``t0``, deterministic."""
    import time

    rng = random.Random(seed)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    out = []
    for i in range(n):
        tm = time.gmtime(t0 + 3 * i)
        day = f"{tm.tm_mday:02d}/{months[tm.tm_mon - 1]}/{tm.tm_year}"
        stamp = f"{day}:{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
        request = f"{rng.choice(_METHODS)} {rng.choice(_PATHS)} HTTP/1.1"
        out.append(
            f"10.0.{rng.randint(0, 3)}.{rng.randint(1, 250)} - - [{stamp} +0000] "
            f'"{request}" {rng.choice(_STATUS)} {rng.randint(10, 9999)} "-" "{rng.choice(_AGENTS)}"'
        )
    return out


@dataclass
class Result:
    rc: int
    out: bytes


def ours(argv: list[str], cwd: Path | None = None) -> Result:
    """Run ``logagent grep ARGV`` in-process (stdout captured as bytes)."""
    parser = argparse.ArgumentParser(prog="logagent grep")
    grep_cli.add_arguments(parser)
    args = parser.parse_args(argv)
    buf = io.BytesIO()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        rc = run(args, out=buf)
    except GrepError:
        rc = 2
    finally:
        os.chdir(old)
    return Result(rc, buf.getvalue())


def gnu(argv: list[str], cwd: Path | None = None) -> Result:
    """Run GNU grep with LC_ALL=C."""
    grep = require_tool("/bin/grep")
    env = {**os.environ, "LC_ALL": "C"}
    env.pop("GREP_COLORS", None)
    p = subprocess.run([grep, *argv], capture_output=True, env=env, cwd=cwd, timeout=30)
    return Result(p.returncode, p.stdout)


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files GNU grep and ours are compared on."""
    d = tmp_path_factory.mktemp("grepcorpus")
    lines = nginx_lines(3000)
    (d / "access.log").write_text("\n".join(lines) + "\n")
    (d / "other.log").write_text("\n".join(nginx_lines(500, seed=9)) + "\n")
    # Edge cases: no final newline, empty lines, a long line, words glued to the pattern.
    (d / "edge.txt").write_bytes(
        b"curl\n\ncurlx curl_ Curl\n" + b"x" * 300_000 + b" curl\n\n" + b"a-curl-b\nend curl without newline"
    )
    (d / "empty.txt").write_bytes(b"")
    return d
