"""Tail -> Loki (protobuf + snappy) on the nginx corpus: lines/s, MiB/s, agent CPU, peak RSS, requests.

Run: ``python -m bench.bench_loki [--lines N] [--endpoint null|fake] [--encoding protobuf|json]``.

The agent runs as a real subprocess pinned to one core (taskset when available), raw lines (no
parser), and pushes to ``--endpoint``. ``wall_s`` counts from the agent's launch (Python start
included) to the last line delivered, which includes the final ``batch.timeout_secs`` (1 s) the
last, partial push waits; ``MiB_per_s_after_start`` counts from "Agent started".

- ``null`` (default): a minimal HTTP endpoint that answers 204 and discards the body, so the
  figures are the agent's own cost (tail, encode, snappy, HTTP).
- ``fake``: the strict test receiver (``tests/sinks/loki/receiver.py``), which decodes and
  validates every entry in Python; slower, but proves every line arrived.

Also prints a micro-benchmark of the encoder alone (protobuf + snappy of 1 MiB pushes).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.agentrun import (
    cpu_secs,
    drop_proxy_env,
    link_corpus,
    metric,
    peak_rss_mib,
    start_agent,
    stop_agent,
    wait_metric,
)
from bench.corpus import nginx_corpus, nginx_lines


class NullLoki:
    """Answers every push with 204 and discards it; counts pushes and body bytes."""

    def __init__(self) -> None:
        owner = self
        self.pushes = 0
        self.bytes = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.pushes += 1
                owner.bytes += len(body)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def write_config(tmp: Path, target: Path, endpoint: str, encoding: str) -> Path:
    cfg = tmp / "bench.toml"
    cfg.write_text(
        f"""
[agent]
data_dir = "{tmp / "data"}"
listen = "127.0.0.1:0"

[sources.bench]
type = "file"
include = ["{target}"]

[sinks.loki]
type = "loki"
endpoint = "{endpoint}"
encoding = "{encoding}"
labels = {{ job = "bench" }}
"""
    )
    return cfg


def encoder_microbench(seconds: float = 2.0) -> dict[str, float]:
    """Encode + compress 1 MiB pushes of raw nginx lines in-process (one core)."""
    import cramjam

    from logagent.sinks.loki.encode import Segment, encode_protobuf

    lines = [ln.rstrip("\n") for ln in nginx_lines(5000)]
    size = sum(len(ln) for ln in lines)
    done = 0
    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        blines = list(map(str.encode, lines))
        body = encode_protobuf([('{job="bench"}', [Segment(blines, time.time_ns())])])
        cramjam.snappy.compress_raw(body)
        done += size
    cpu = time.process_time() - t0
    return {"encode+snappy_MiB_per_cpu_s": done / 2**20 / cpu}


def run(lines: int, endpoint_kind: str, encoding: str) -> dict[str, float]:
    corpus = nginx_corpus(lines)
    size = corpus.stat().st_size
    drop_proxy_env()
    null = fake = None
    if endpoint_kind == "null":
        null = NullLoki()
        url = null.url
    else:
        from tests.sinks.loki.receiver import ThreadedReceiver

        fake = ThreadedReceiver().start()
        url = fake.url
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            (tmp / "logs").mkdir()
            target = tmp / "logs" / "access.log"
            link_corpus(corpus, target)
            t0 = time.monotonic()
            proc, port = start_agent(write_config(tmp, target, url, encoding))
            t_ready = time.monotonic()
            cpu_ready = cpu_secs(proc.pid)
            wait_metric(port, 'logagent_events_sent_total{sink="loki"}', lines, 0.05, proc)
            t_end = time.monotonic()
            elapsed = t_end - t0
            cpu = cpu_secs(proc.pid)
            rss = peak_rss_mib(proc.pid)
            requests = metric(port, 'logagent_sink_request_seconds_count{sink="loki"}')
            retries = metric(port, 'logagent_sink_retries_total{sink="loki"}')
            sent_bytes = metric(port, 'logagent_bytes_sent_total{sink="loki"}')
            stop_agent(proc)
        result = {
            "lines": lines,
            "MiB": size / 2**20,
            "wall_s": elapsed,
            "lines_per_s": lines / elapsed,
            "MiB_per_s": size / 2**20 / elapsed,
            "MiB_per_s_after_start": size / 2**20 / (t_end - t_ready),
            "agent_cpu_s": cpu,
            "MiB_per_agent_cpu_s": size / 2**20 / cpu,
            "agent_cpu_after_start_s": cpu - cpu_ready,
            "MiB_per_agent_cpu_s_after_start": size / 2**20 / (cpu - cpu_ready),
            "agent_peak_rss_MiB": rss,
            "requests_sent": requests,
            "retries": retries,
            "body_MiB_sent": sent_bytes / 2**20,
        }
        if fake is not None:
            result["entries_stored"] = fake.rx.entry_count()
        return result
    finally:
        if null is not None:
            null.stop()
        if fake is not None:
            fake.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--endpoint", choices=["null", "fake"], default="null")
    ap.add_argument("--encoding", choices=["protobuf", "json"], default="protobuf")
    args = ap.parse_args()
    print("encoder alone")
    for k, v in encoder_microbench().items():
        print(f"  {k:>28}: {v:,.2f}")
    result = run(args.lines, args.endpoint, args.encoding)
    print(f"tail -> loki ({args.encoding}, {args.endpoint} endpoint)")
    for k, v in result.items():
        print(f"  {k:>28}: {v:,.2f}")


if __name__ == "__main__":
    main()
