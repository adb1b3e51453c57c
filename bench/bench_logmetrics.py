"""Logs -> metrics on the 1,000,000-line nginx corpus, side by side with mtail.

Both count requests by status and observe $request_time in a histogram with the same buckets.
logagent runs its real stages in-process, batch by batch as the agent does (256 KiB reads cut at
the last newline, a parser, the ``[metrics]`` engine), twice: with the built-in ``nginx`` parser
(every field of the line), and with a config-defined regex parser extracting just the two fields
mtail's program extracts (the like-for-like comparison). mtail runs the equivalent program with
``--one_shot`` (wall time of the whole process). All results are checked to agree.

    .venv/bin/python -m bench.bench_logmetrics [--lines N]
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import line_chunks, nginx_corpus
from logagent.config.loader import load_config_text
from logagent.event import Batch
from logagent.logmetrics.engine import engine_for
from logagent.metrics import AgentMetrics
from logagent.topology import build_parser

BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

# The same regex as the mtail program below.
LINE_RE = r'^\S+ \S+ \S+ \[[^\]]+\] "[^"]*" (?P<status>\d{3}) (?:\d+|-) "[^"]*" "[^"]*" (?P<rt>\d+\.\d+)$'

CONFIG = f"""
[sources.nginx]
type = "file"
include = ["/nonexistent"]
parser = "nginx"

[parsers.status_rt]
type = "regex"
pattern = '{LINE_RE}'
types = {{ rt = "float" }}

[metrics.nginx_http_requests_total]
type = "counter"
labels = ["status"]

[metrics.nginx_http_request_duration_seconds]
type = "histogram"
field = "request_time"
buckets = {BUCKETS}

# The same two metrics for the regex parser's field names.
[metrics.rx_http_requests_total]
type = "counter"
labels = ["status"]

[metrics.rx_http_request_duration_seconds]
type = "histogram"
field = "rt"
buckets = {BUCKETS}

# mtail's model: no parser, the metric's own regex extracts the fields (one pass, shared).
[metrics.mt_http_requests_total]
type = "counter"
labels = ["status"]
match = '{LINE_RE}'

[metrics.mt_http_request_duration_seconds]
type = "histogram"
field = "rt"
match = '{LINE_RE}'
buckets = {BUCKETS}
"""

MTAIL_PROGRAM = f"""
counter nginx_http_requests_total by status
histogram nginx_http_request_duration_seconds buckets {", ".join(map(str, BUCKETS))}

/{LINE_RE}/ {{
  nginx_http_requests_total[$status]++
  nginx_http_request_duration_seconds = $rt
}}
"""

CHUNK = 256 * 1024


def run_logagent(path: Path, parser_name: str) -> tuple[float, float, float, int, dict[str, float], float]:
    """(total s, parse s, metrics s, lines, status counts, histogram count)."""
    config = load_config_text(CONFIG)
    parser = build_parser(config, parser_name) if parser_name else None
    prefix = {"nginx": "nginx", "status_rt": "rx", "": "mt"}[parser_name]
    section = config.sections["metrics"]
    metrics = AgentMetrics()
    engine = engine_for(metrics)
    engine.configure(type(section)({k: v for k, v in section.metrics.items() if k.startswith(prefix + "_")}))
    parse_s = metrics_s = 0.0
    n = 0
    t0 = time.perf_counter()
    for lines in line_chunks(path, CHUNK):
        batch = Batch("nginx", lines)
        t1 = time.perf_counter()
        if parser is not None:
            batch.records = parser.parse_batch(lines)
        t2 = time.perf_counter()
        engine(batch)
        t3 = time.perf_counter()
        parse_s += t2 - t1
        metrics_s += t3 - t2
        n += len(lines)
    total = time.perf_counter() - t0
    text = metrics.exposition().decode().replace("rx_http_", "nginx_http_").replace("mt_http_", "nginx_http_")
    return total, parse_s, metrics_s, n, statuses(text), hist_count(text)


def statuses(exposition: str) -> dict[str, float]:
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^nginx_http_requests_total\{.*?status="(\d+)".*?\} (\S+)$', exposition, re.M)
    }


def hist_count(exposition: str) -> float:
    m = re.search(r"^nginx_http_request_duration_seconds_count(?:\{.*?\})? (\S+)$", exposition, re.M)
    return float(m.group(1)) if m else -1.0


def run_mtail(mtail: str, path: Path) -> tuple[float, float, dict[str, float], float]:
    """(wall s, CPU s, status counts, histogram count)."""
    with tempfile.TemporaryDirectory() as tmp:
        prog = Path(tmp) / "progs"
        prog.mkdir()
        (prog / "nginx.mtail").write_text(MTAIL_PROGRAM)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        res = subprocess.run(
            [
                mtail,
                "--one_shot",
                "--one_shot_format",
                "prometheus",
                "--progs",
                str(prog),
                "--logs",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, statuses(res.stdout), hist_count(res.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()
    path = nginx_corpus(args.lines)
    size_mb = path.stat().st_size / 1e6
    print(f"corpus: {path} ({args.lines:,} lines, {size_mb:.0f} MB)")

    results = {}
    variants = (("nginx", "nginx parser"), ("status_rt", "regex parser"), ("", "metric regex, no parser"))
    for parser_name, label in variants:
        cpu0 = time.process_time()
        total, parse_s, metrics_s, n, ours, our_count = run_logagent(path, parser_name)
        cpu = time.process_time() - cpu0
        assert n == args.lines, n
        results[label] = (n / total, n / cpu, ours, our_count)
        print(f"logagent, {label}:")
        print(
            f"    read+parse+metrics: {n / total:>10,.0f} lines/s ({total:.2f} s wall; "
            f"{n / cpu:,.0f} lines/CPU-s, 1 thread)"
        )
        if parser_name:
            print(f"    parse:              {n / parse_s:>10,.0f} lines/s ({parse_s:.2f} s)")
        print(f"    metrics engine:     {n / metrics_s:>10,.0f} lines/s ({metrics_s:.2f} s)")

    mtail = shutil.which("mtail")
    if mtail is None:
        print("mtail: not installed (apt-get install mtail); no comparison")
        return 0
    wall, mcpu, theirs, their_count = run_mtail(mtail, path)
    print("mtail --one_shot (same regex, same two metrics):")
    print(
        f"    whole process:      {n / wall:>10,.0f} lines/s ({wall:.2f} s wall; {n / mcpu:,.0f} lines/CPU-s)"
    )
    status = 0
    # On a shared machine wall time swings with the load; CPU time is the steadier comparison.
    for label, (rate, cpu_rate, ours, our_count) in results.items():
        print(
            f"ratio logagent ({label}) / mtail: {rate / (n / wall):.2f}x wall, "
            f"{cpu_rate / (n / mcpu):.2f}x per CPU-s  (target >= 2x)"
        )
        if ours != theirs or our_count != their_count:
            print(f"  RESULTS DIFFER: logagent {ours} count={our_count}; mtail {theirs} count={their_count}")
            status = 1
    if status == 0:
        print(f"results agree: {len(theirs)} status series, {their_count:,.0f} observations")
    return status


if __name__ == "__main__":
    sys.exit(main())
