"""Tail -> file sink on the 1,000,000-line nginx corpus: lines/s, MiB/s, CPU s, peak RSS; then the
idle CPU of 1,000 tailed files that do not change.

Run: ``python -m bench.tail [--lines N] [--idle-files N] [--idle-secs S]``. The agent runs as a
real subprocess pinned to one core (taskset when available).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.corpus import nginx_corpus

CLK = os.sysconf("SC_CLK_TCK")


def cpu_secs(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def peak_rss_mib(pid: int) -> float:
    m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024 if m else 0.0


def metric(port: int, name: str) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def start_agent(config: Path) -> tuple[subprocess.Popen[bytes], int]:
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


def write_config(tmp: Path, include: str, extra: str = "") -> Path:
    cfg = tmp / "bench.toml"
    cfg.write_text(
        f"""
[agent]
data_dir = "{tmp / "data"}"
listen = "127.0.0.1:0"
[sources.bench]
type = "file"
include = ["{include}"]
{extra}
[sinks.out]
type = "file"
path = "{tmp / "out"}"
max_file_bytes = 1073741824
"""
    )
    return cfg


def bench_throughput(lines: int) -> dict[str, float]:
    corpus = nginx_corpus(lines)
    size = corpus.stat().st_size
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "logs").mkdir()
        target = tmp / "logs" / "access.log"
        try:
            os.link(corpus, target)
        except OSError:
            shutil.copy(corpus, target)
        cfg = write_config(tmp, str(target))
        t0 = time.monotonic()
        proc, port = start_agent(cfg)
        cpu0 = cpu_secs(proc.pid)
        while metric(port, "logagent_events_sent_total") < lines:
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        cpu = cpu_secs(proc.pid)
        rss = peak_rss_mib(proc.pid)
        proc.terminate()
        proc.wait(60)
    return {
        "lines": lines,
        "MiB": size / 2**20,
        "wall_s": elapsed,
        "cpu_s": cpu,
        "cpu_after_start_s": cpu - cpu0,
        "lines_per_s": lines / elapsed,
        "MiB_per_s": size / 2**20 / elapsed,
        "MiB_per_cpu_s": size / 2**20 / cpu,
        "peak_rss_MiB": rss,
    }


def bench_idle(files: int, secs: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        logs = tmp / "logs"
        logs.mkdir()
        for i in range(files):
            (logs / f"f{i:04d}.log").write_text(f"file {i} first line\n")
        cfg = write_config(tmp, f"{logs}/*.log")
        proc, port = start_agent(cfg)
        while metric(port, "logagent_events_sent_total") < files:
            time.sleep(0.1)
        time.sleep(1.0)  # settle
        c0, t0 = cpu_secs(proc.pid), time.monotonic()
        time.sleep(secs)
        c1, t1 = cpu_secs(proc.pid), time.monotonic()
        rss = peak_rss_mib(proc.pid)
        proc.terminate()
        proc.wait(60)
    return {
        "files": files,
        "idle_secs": t1 - t0,
        "cpu_percent": 100 * (c1 - c0) / (t1 - t0),
        "peak_rss_MiB": rss,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--idle-files", type=int, default=1000)
    ap.add_argument("--idle-secs", type=float, default=20.0)
    args = ap.parse_args()
    t = bench_throughput(args.lines)
    print("tail -> file sink")
    for k, v in t.items():
        print(f"  {k:>18}: {v:,.2f}")
    i = bench_idle(args.idle_files, args.idle_secs)
    print("idle")
    for k, v in i.items():
        print(f"  {k:>18}: {v:,.2f}")


if __name__ == "__main__":
    main()
