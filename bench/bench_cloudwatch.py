"""Tail -> CloudWatch Logs on the nginx corpus: lines/s, MiB/s, agent CPU and peak RSS, requests.

Run: ``python -m bench.bench_cloudwatch [--lines N] [--endpoint moto|null]``.

The agent runs as a real subprocess pinned to one core (taskset when available) and ships to
``--endpoint``:

- ``moto`` (default): a real moto server, started here. moto stores every event in Python
  objects and is usually the bottleneck, so its CPU is printed too; the check at the end compares
  moto's stored bytes with the corpus and reads back the last event.
- ``null``: a minimal local HTTP endpoint that accepts every PutLogEvents and discards it, to
  measure the agent's own cost (boto3 request building and signing included).
"""

from __future__ import annotations

import argparse
import os
import socket
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
from bench.corpus import nginx_corpus
from tests.moto_server import MotoServer


class NullEndpoint:
    """Answers every CloudWatch Logs call with an empty success; counts PutLogEvents bodies."""

    def __init__(self) -> None:
        owner = self
        self.puts = 0
        self.bytes = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if (self.headers.get("X-Amz-Target") or "").endswith("PutLogEvents"):
                    owner.puts += 1
                    owner.bytes += len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def write_config(tmp: Path, target: Path, endpoint: str, per_stream: int) -> Path:
    cfg = tmp / "bench.toml"
    cfg.write_text(
        f"""
[agent]
data_dir = "{tmp / "data"}"
listen = "127.0.0.1:0"

[sources.bench]
type = "file"
include = ["{target}"]

[sinks.cw]
type = "cloudwatch"
region = "us-east-1"
endpoint_url = "{endpoint}"
log_group = "/bench/{{source}}"
log_stream = "{{host}}/{{source}}"
max_in_flight_per_stream = {per_stream}
"""
    )
    return cfg


def run(lines: int, endpoint_kind: str, per_stream: int = 1) -> dict[str, float]:
    corpus = nginx_corpus(lines)
    size = corpus.stat().st_size
    env_backup = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    drop_proxy_env()
    moto = MotoServer().start() if endpoint_kind == "moto" else None
    null = NullEndpoint() if endpoint_kind == "null" else None
    url = moto.url if moto else null.url  # type: ignore[union-attr]
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            (tmp / "logs").mkdir()
            target = tmp / "logs" / "access.log"
            link_corpus(corpus, target)
            t0 = time.monotonic()
            proc, port = start_agent(write_config(tmp, target, url, per_stream))
            moto_cpu0 = cpu_secs(moto.proc.pid) if moto and moto.proc else 0.0
            wait_metric(port, 'logagent_events_sent_total{sink="cw"}', lines, 0.1, proc)
            elapsed = time.monotonic() - t0
            cpu = cpu_secs(proc.pid)
            rss = peak_rss_mib(proc.pid)
            requests = metric(port, 'logagent_sink_request_seconds_count{sink="cw"}')
            retries = metric(port, 'logagent_sink_retries_total{sink="cw"}')
            moto_cpu = cpu_secs(moto.proc.pid) - moto_cpu0 if moto and moto.proc else 0.0
            stop_agent(proc)
        result = {
            "lines": lines,
            "MiB": size / 2**20,
            "wall_s": elapsed,
            "lines_per_s": lines / elapsed,
            "MiB_per_s": size / 2**20 / elapsed,
            "agent_cpu_s": cpu,
            "MiB_per_agent_cpu_s": size / 2**20 / cpu,
            "agent_peak_rss_MiB": rss,
            "requests_sent": requests,
            "retries": retries,
        }
        if moto:
            result["moto_cpu_s"] = moto_cpu
            import boto3

            client = boto3.session.Session().client("logs", region_name="us-east-1", endpoint_url=url)
            # Paging a million events out of moto takes minutes (it sorts the stream per page), so
            # compare moto's stored message bytes with the corpus (ASCII: one byte per character).
            streams = client.describe_log_streams(logGroupName="/bench/bench")["logStreams"]
            stored = sum(st["storedBytes"] for st in streams)
            result["stored_bytes_match"] = float(stored == size - lines)
            last = client.get_log_events(
                logGroupName="/bench/bench", logStreamName=streams[0]["logStreamName"], limit=1
            )["events"]
            with open(corpus, "rb") as f:
                f.seek(-4096, os.SEEK_END)
                result["last_line_match"] = float(last[0]["message"] == f.read().decode().splitlines()[-1])
        else:
            assert null is not None
            result["put_bodies_MiB"] = null.bytes / 2**20
        return result
    finally:
        if moto:
            moto.stop()
        if null:
            null.stop()
        for k, v in env_backup.items():
            if v is None:
                os.environ.pop(k, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--endpoint", choices=["moto", "null"], default="moto")
    ap.add_argument("--per-stream", type=int, default=1, help="max_in_flight_per_stream (default 1)")
    args = ap.parse_args()
    result = run(args.lines, args.endpoint, args.per_stream)
    print(f"tail -> cloudwatch ({args.endpoint}, max_in_flight_per_stream={args.per_stream})")
    for k, v in result.items():
        print(f"  {k:>22}: {v:,.2f}")


if __name__ == "__main__":
    main()
