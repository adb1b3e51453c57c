"""Run by test_disk_buffer.py in a subprocess: a DiskBuffer whose writes fail for real.

RLIMIT_FSIZE makes the kernel refuse writes past a file size (EFBIG), like a full disk; it is
process-wide, hence the subprocess. Prints a JSON report on stdout.
"""

from __future__ import annotations

import asyncio
import resource
import signal
import sys
from pathlib import Path

import orjson

from logagent.acks import AckOrder
from logagent.buffer.disk import DiskBuffer
from logagent.event import Batch
from logagent.metrics import AgentMetrics


async def main(directory: Path) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    metrics = AgentMetrics()
    buf = DiskBuffer("s", metrics, directory)
    commits: list[int] = []
    order = AckOrder(commits.append)

    def batch(i: int) -> Batch:
        b = Batch(source="app", lines=[f"batch {i} line {j} {'x' * 100}" for j in range(5)])
        b.ack = order.new_ack(i, 1)
        return b

    def errors() -> float:
        labels = {"sink": "s", "reason": "buffer_write_failed"}
        return metrics.registry.get_sample_value("logagent_sink_errors_total", labels) or 0.0

    for i in range(5):
        await buf.put(batch(i))
    while commits[-1:] != [4]:
        await asyncio.sleep(0.01)
    # The next group can only be written in part: the partial record must be cut off.
    [seg] = directory.glob("*.seg")
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (seg.stat().st_size + 1000, hard))
    for i in range(5, 20):
        await buf.put(batch(i))
    while not errors():
        await asyncio.sleep(0.01)
    acked_while_failing = list(commits)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    while len(commits) == len(acked_while_failing) or commits[-1] != 19:
        await asyncio.sleep(0.01)
    got = []
    while (b := buf.get_nowait()) is not None:
        got.append(b.lines[0])
        b.ack.done()
    await buf.close()
    report = {"acked_while_failing": acked_while_failing, "commits": commits, "read": got, "errors": errors()}
    sys.stdout.buffer.write(orjson.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
