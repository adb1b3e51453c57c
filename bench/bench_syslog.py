"""Syslog over TCP with octet counting -> file sink: messages/s and the agent's CPU.

Run: ``python -m bench.bench_syslog [--messages N]``.

The agent runs as a real subprocess pinned to one core (taskset when available) with a
``tcp://`` syslog source and the file sink. This process sends N RFC 5424 messages (about 110
bytes each, octet-counted) over one connection as fast as the agent takes them, and waits until
the sink has written all of them. The figures cover receiving, framing, parsing, NDJSON encoding
and writing.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from pathlib import Path

from bench.agentrun import cpu_secs, metric, peak_rss_mib, print_figures, start_agent, stop_agent, wait_metric


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload(n: int) -> bytes:
    parts = []
    for i in range(n):
        msg = (
            b"<134>1 2024-05-01T12:00:00.123456Z fw01.example.net kernel 4711 FW "
            b'[meta seq="%d"] DROP IN=eth0 SRC=10.0.%d.%d DST=10.1.0.1 PROTO=TCP' % (i, i % 256, i % 251)
        )
        parts.append(b"%d %s" % (len(msg), msg))
    return b"".join(parts)


def bench(messages: int) -> dict[str, float]:
    data = payload(messages)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        port = free_port()
        cfg = tmp / "bench.toml"
        cfg.write_text(
            f"""
[agent]
data_dir = "{tmp / "data"}"
listen = "127.0.0.1:0"
[sources.net]
type = "syslog"
listen = "tcp://127.0.0.1:{port}"
[sinks.out]
type = "file"
path = "{tmp / "out"}"
max_file_bytes = 1073741824
"""
        )
        proc, http_port = start_agent(cfg)
        try:
            cpu0 = cpu_secs(proc.pid)
            t0 = time.monotonic()
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(data)
            wait_metric(http_port, "logagent_events_sent_total", messages, 0.02)
            elapsed = time.monotonic() - t0
            cpu = cpu_secs(proc.pid) - cpu0
            rss = peak_rss_mib(proc.pid)
            malformed = metric(http_port, "logagent_parse_errors_total")
        finally:
            stop_agent(proc)
    return {
        "messages": messages,
        "MiB_sent": len(data) / 2**20,
        "wall_s": elapsed,
        "messages_per_s": messages / elapsed,
        "agent_cpu_s": cpu,
        "agent_cpu_pct": 100 * cpu / elapsed,
        "cpu_us_per_message": 1e6 * cpu / messages,
        # What one core would sustain: the wall rate is lower on a machine shared with other work.
        "messages_per_cpu_s": messages / cpu if cpu else 0.0,
        "peak_rss_MiB": rss,
        "parse_errors": malformed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=300_000)
    args = ap.parse_args()
    print_figures(bench(args.messages), 20)


if __name__ == "__main__":
    main()
