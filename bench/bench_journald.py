"""journald source -> file sink over 100,000 journal entries: entries/s, agent and journalctl CPU.

Run: ``python -m bench.bench_journald [--entries N]``.

A real journal file is written with ``systemd-journal-remote`` (export format in, about 200 bytes of
fields per entry, 1 in 10 with a binary MESSAGE). The agent runs as a real subprocess pinned to one
core (taskset when available) with a journald source on that directory (``read_from =
"beginning"``, following) and the file sink; the clock runs from the moment the agent is up until
the sink has written every entry. journalctl, the agent's child, is measured separately: it decodes the
journal and writes JSON, and is often the larger cost.
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from bench.agentrun import cpu_secs, metric, peak_rss_mib, print_figures, start_agent, stop_agent

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


def export_stream(n: int) -> bytes:
    out = []
    base = 1_700_000_000_000_000
    for i in range(n):
        unit = b"app%d.service" % (i % 8)
        head = (
            b"__REALTIME_TIMESTAMP=%d\n_HOSTNAME=bench-host\nPRIORITY=%d\n_SYSTEMD_UNIT=%s\n"
            b"SYSLOG_IDENTIFIER=app%d\n_PID=%d\n" % (base + i * 10, i % 8, unit, i % 8, 1000 + i % 50)
        )
        if i % 10 == 9:
            msg = b"binary \xff payload %d" % i
            out.append(head + b"MESSAGE\n" + struct.pack("<Q", len(msg)) + msg + b"\n\n")
        else:
            out.append(head + b"MESSAGE=request %d handled in 12ms status=200 path=/api/v1/items\n\n" % i)
    return b"".join(out)


def child_pids(pid: int) -> list[int]:
    pids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return pids


def bench(entries: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        journal_dir = tmp / "journal"
        journal_dir.mkdir()
        t = time.monotonic()
        subprocess.run(
            [JOURNAL_REMOTE, "-o", str(journal_dir / "bench.journal"), "-"],
            input=export_stream(entries),
            check=True,
            capture_output=True,
        )
        write_s = time.monotonic() - t
        cfg = tmp / "bench.toml"
        cfg.write_text(
            f"""
[agent]
data_dir = "{tmp / "data"}"
listen = "127.0.0.1:0"
[sources.journal]
type = "journald"
directory = "{journal_dir}"
read_from = "beginning"
[sinks.out]
type = "file"
path = "{tmp / "out"}"
max_file_bytes = 1073741824
"""
        )
        proc, http_port = start_agent(cfg)
        try:
            # The clock starts once the agent is up (Python start-up is not the source's cost);
            # entries already delivered by then are left out of the rate.
            t0 = time.monotonic()
            cpu0 = cpu_secs(proc.pid)
            sent0 = metric(http_port, "logagent_events_sent_total")
            jctl_cpu = 0.0
            while metric(http_port, "logagent_events_sent_total") < entries:
                for child in child_pids(proc.pid):
                    try:
                        jctl_cpu = max(jctl_cpu, cpu_secs(child))
                    except OSError:
                        pass
                time.sleep(0.05)
            elapsed = time.monotonic() - t0
            cpu = cpu_secs(proc.pid) - cpu0
            for child in child_pids(proc.pid):
                jctl_cpu = max(jctl_cpu, cpu_secs(child))
            rss = peak_rss_mib(proc.pid)
        finally:
            stop_agent(proc)
    return {
        "entries": entries,
        "journal_write_s": write_s,
        "wall_s": elapsed,
        "entries_timed": int(entries - sent0),
        "entries_per_s": (entries - sent0) / elapsed,
        "agent_cpu_s": cpu,
        "journalctl_cpu_s": jctl_cpu,
        "agent_cpu_us_per_entry": 1e6 * cpu / max(1.0, entries - sent0),
        # What one core each would sustain (agent and journalctl run in parallel).
        "entries_per_agent_cpu_s": (entries - sent0) / cpu if cpu else 0.0,
        "entries_per_journalctl_cpu_s": entries / jctl_cpu if jctl_cpu else 0.0,
        "peak_rss_MiB": rss,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=100_000)
    args = ap.parse_args()
    print_figures(bench(args.entries), 30)


if __name__ == "__main__":
    main()
