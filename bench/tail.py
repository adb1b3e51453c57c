"""Tail -> file sink on the 1,000,000-line nginx corpus: lines/s, MiB/s, CPU s, peak RSS; then the
idle CPU of 1,000 tailed files that do not change.

Run: ``python -m bench.tail [--lines N] [--idle-files N] [--idle-secs S]``. The agent runs as a
real subprocess pinned to one core (taskset when available).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.agentrun import cpu_secs, link_corpus, peak_rss_mib, start_agent, stop_agent, wait_metric

# bench.bench_patterns imports cpu_secs, metric, start_agent (and write_config) from here.
from bench.agentrun import metric as metric
from bench.corpus import nginx_corpus


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
        link_corpus(corpus, target)
        cfg = write_config(tmp, str(target))
        t0 = time.monotonic()
        proc, port = start_agent(cfg)
        cpu0 = cpu_secs(proc.pid)
        wait_metric(port, "logagent_events_sent_total", lines, 0.05)
        elapsed = time.monotonic() - t0
        cpu = cpu_secs(proc.pid)
        rss = peak_rss_mib(proc.pid)
        stop_agent(proc)
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
        wait_metric(port, "logagent_events_sent_total", files, 0.1)
        time.sleep(1.0)  # settle
        c0, t0 = cpu_secs(proc.pid), time.monotonic()
        time.sleep(secs)
        c1, t1 = cpu_secs(proc.pid), time.monotonic()
        rss = peak_rss_mib(proc.pid)
        stop_agent(proc)
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
