"""Run the real agent as a benchmark subprocess and measure it from outside.

Shared by the agent benchmarks (``bench.tail``, ``bench.bench_loki``, ``bench.bench_cloudwatch``,
``bench.bench_syslog``, ``bench.bench_journald``): start ``python -m logagent run`` pinned to one
core, read its metrics port from stderr, poll ``/metrics``, and read CPU seconds and peak RSS of a
process from ``/proc``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CLK = os.sysconf("SC_CLK_TCK")
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def cpu_secs(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (from /proc/PID/stat)."""
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size (VmHWM) of ``pid`` in MiB; 0.0 when the kernel does not report it."""
    m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024 if m else 0.0


def metric(port: int, name: str) -> float:
    """Sum of every sample of the agent's ``/metrics`` whose line starts with ``name``."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def start_agent(config: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start the agent on ``config`` (on core 0 when taskset exists); (process, metrics port) once
    it logged "Agent started"."""
    cmd = [sys.executable, "-m", "logagent", "run", "--config", str(config)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    port = 0
    for raw in proc.stderr:
        line = raw.decode()
        m = re.search(r"on http://[^:]+:(\d+)\.", line)
        if m:
            port = int(m.group(1))
        if "Agent started" in line:
            break
    else:
        raise SystemExit("agent did not start")
    return proc, port


def stop_agent(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the agent and wait for it to exit."""
    proc.terminate()
    proc.wait(60)


def wait_metric(
    port: int,
    name: str,
    target: float,
    interval: float,
    proc: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll ``metric(port, name)`` every ``interval`` s until it reaches ``target``; with ``proc``,
    stop with an error if the agent exits first."""
    while metric(port, name) < target:
        if proc is not None and proc.poll() is not None:
            raise SystemExit("agent exited early")
        time.sleep(interval)


def link_corpus(corpus: Path, target: Path) -> None:
    """Put ``corpus`` at ``target`` (a hard link, or a copy across file systems)."""
    try:
        os.link(corpus, target)
    except OSError:
        shutil.copy(corpus, target)


def drop_proxy_env() -> None:
    """Remove HTTP(S) proxy variables from this process's environment (inherited by the agent):
    the benchmark endpoints are on 127.0.0.1."""
    for var in _PROXY_VARS:
        os.environ.pop(var, None)


def print_figures(figures: dict[str, float], width: int) -> None:
    """One ``name: value`` line per figure, names right-aligned to ``width``; ints printed as ints."""
    for key, value in figures.items():
        print(f"{key:>{width}}: {value:,.2f}" if isinstance(value, float) else f"{key:>{width}}: {value:,}")
