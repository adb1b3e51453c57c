"""DiskBuffer: throughput through disk (group commit) and memory with a large backlog.

Run: ``python -m bench.bench_buffer [--backlog-mib N] [--lines-per-batch N] [--dir PATH]``.

1. Streaming: a producer puts batches while a consumer gets and acks them (the usual state: the
   sink keeps up). Prints MiB/s of lines, batches/s and fsyncs per second.
2. Backlog: ``--backlog-mib`` of batches put with nobody reading (a sink outage), then read back
   and acked. Prints the traced Python memory (tracemalloc) and RSS while filling and replaying:
   both stay flat, whatever the backlog.
3. Reopen: the time to scan the backlog when the buffer is opened again (after a restart).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

from logagent.buffer.disk import DiskBuffer
from logagent.event import Batch
from logagent.metrics import AgentMetrics
from parsers.base import Record


def rss_mib() -> float:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_batch(i: int, n: int, parsed: bool) -> Batch:
    lines = [
        f'10.0.0.{j % 250} - - [01/May/2024:12:00:00 +0000] "GET /api/v1/items/{i}/{j} HTTP/1.1" 200 512'
        for j in range(n)
    ]
    b = Batch(source="app", lines=lines, path="/var/log/nginx/access.log", labels={"env": "bench"})
    b.nbytes = sum(map(len, lines)) + n
    if parsed:
        b.records = [Record(1_714_564_800_000_000_000, "info", ln, {"status": 200}, None) for ln in lines]
    return b


async def streaming(root: Path, batches: int, per_batch: int, parsed: bool) -> None:
    fsyncs = 0
    buf = DiskBuffer("bench", AgentMetrics(), root / "stream", max_bytes=256 << 20)
    real = buf._write_group

    def counting(records: list[bytes]) -> None:
        nonlocal fsyncs
        fsyncs += 1
        real(records)

    buf._write_group = counting  # type: ignore[method-assign]
    template = make_batch(0, per_batch, parsed)
    payload = template.nbytes * batches

    async def consume() -> None:
        got = 0
        while got < batches:
            b = await buf.get()
            assert b is not None
            b.ack.done()  # type: ignore[union-attr]
            got += 1

    t0 = time.perf_counter()
    c0 = time.process_time()
    consumer = asyncio.create_task(consume())
    for _ in range(batches):
        await buf.put(_copy(template))
    await consumer
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    await buf.close()
    kind = "parsed" if parsed else "raw"
    print(
        f"streaming ({kind}, {per_batch} lines/batch): {payload / dt / 2**20:.1f} MiB/s of lines, "
        f"{batches * per_batch / dt:,.0f} lines/s, {batches / dt:,.0f} batches/s, "
        f"{fsyncs / dt:,.0f} fsyncs/s; CPU {cpu:.2f}s = {payload / cpu / 2**20:.1f} MiB/CPU-s"
    )


def _copy(b: Batch) -> Batch:
    return Batch(
        source=b.source, lines=b.lines, path=b.path, labels=b.labels, records=b.records, nbytes=b.nbytes
    )


async def backlog(root: Path, mib: int, per_batch: int) -> None:
    d = root / "backlog"
    buf = DiskBuffer("bench", AgentMetrics(), d, max_bytes=(mib + 64) << 20)
    template = make_batch(0, per_batch, True)
    tracemalloc.start()
    rss0 = rss_mib()
    t0 = time.perf_counter()
    n = 0
    checkpoints = {mib // 4, mib // 2, mib}
    while buf.unacked_bytes < mib << 20:
        await buf.put(_copy(template))
        n += 1
        if buf.unacked_bytes >> 20 in checkpoints:
            checkpoints.discard(buf.unacked_bytes >> 20)
            cur, peak = tracemalloc.get_traced_memory()
            print(
                f"  filling: backlog {buf.unacked_bytes / 2**20:7.1f} MiB  traced {cur / 2**20:5.1f} MiB "
                f"(peak {peak / 2**20:5.1f})  RSS {rss_mib():6.1f} MiB"
            )
    while buf.unwritten:
        await asyncio.sleep(0.01)
    fill = time.perf_counter() - t0
    print(f"backlog: {n} batches, {buf.unacked_bytes / 2**20:.0f} MiB on disk in {fill:.1f}s")
    await buf.close()

    t0 = time.perf_counter()
    again = DiskBuffer("bench", AgentMetrics(), d, max_bytes=(mib + 64) << 20)
    print(f"reopen: scanned {again.unacked_bytes / 2**20:.0f} MiB in {time.perf_counter() - t0:.2f}s")
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    read = 0
    step = max(1, n // 4)
    while (b := again.get_nowait()) is not None:
        b.ack.done()  # type: ignore[union-attr]
        read += 1
        if read % step == 0:
            cur, peak = tracemalloc.get_traced_memory()
            print(
                f"  replaying: {read:6d}/{n} batches  traced {cur / 2**20:5.1f} MiB "
                f"(peak {peak / 2**20:5.1f})  RSS {rss_mib():6.1f} MiB"
            )
    dt = time.perf_counter() - t0
    print(f"replay: {read} batches, {mib / dt:.1f} MiB/s of records; RSS at start {rss0:.1f} MiB")
    left = sum(p.stat().st_size for p in d.glob("*.seg"))
    print(f"after replay: {left} bytes of segments left")
    await again.close()
    tracemalloc.stop()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backlog-mib", type=int, default=256)
    ap.add_argument("--batches", type=int, default=4000)
    ap.add_argument("--lines-per-batch", type=int, default=500)
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-buffer-", dir=args.dir))
    try:
        await streaming(root, args.batches, args.lines_per_batch, parsed=False)
        await streaming(root, args.batches, args.lines_per_batch, parsed=True)
        await backlog(root, args.backlog_mib, args.lines_per_batch)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
