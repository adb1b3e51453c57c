"""Template mining speed: our miner beside drain3 (default settings) on the same lines, in one run;
then what ``patterns = true`` costs the agent.

1. Miner alone: the 1,000,000-line nginx corpus (``bench/corpus.py``), raw lines, both miners in
   this process one after the other; lines/s by wall clock and by CPU time (the CPU figure is
   the one to compare on a shared machine), and the ratio.
2. The loghub mix: the 16 loghub 2k samples' parsed messages (32,000 lines), same comparison.
3. The hook in process: per line, what the pipeline hook costs beside parsing (``auto``) and
   NDJSON encoding of the same batches (CPU time; steadier than whole-agent runs on a busy box).
4. Agent: ``bench/tail.py``'s run (file source with ``parser = "auto"`` -> file sink): without
   patterns, with ``patterns = true`` (``template_id`` only, the default), and with
   ``template_field = true`` too; the agent's CPU seconds for the corpus and the share mining adds.

Run: ``.venv/bin/python -m bench.bench_patterns [--lines N] [--agent-lines N] [--skip-agent]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.corpus import nginx_corpus
from bench.tail import cpu_secs, metric, start_agent, write_config

CHUNK = 4096


def read_lines(path: Path, limit: int) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    return lines[:limit]


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def ours(lines: list[str]) -> int:
    from logagent.patterns.miner import Miner

    miner = Miner()
    for i in range(0, len(lines), CHUNK):
        miner.add_batch(lines[i : i + CHUNK])
    return len(miner.clusters)


def drain3(lines: list[str]) -> int:
    from drain3 import TemplateMiner

    logging.getLogger("drain3").setLevel(logging.ERROR)
    miner = TemplateMiner()
    add = miner.add_log_message
    for line in lines:
        add(line)
    return len(miner.drain.clusters)


def compare(name: str, lines: list[str]) -> None:
    n = len(lines)
    print(f"{name}: {n:,} lines")
    results = {}
    for label, fn in (("logagent", ours), ("drain3", drain3)):
        templates: list[int] = []
        wall, cpu = timed(lambda fn=fn, out=templates: out.append(fn(lines)))
        results[label] = (wall, cpu)
        print(
            f"  {label:<9} {n / wall:>10,.0f} lines/s wall  {n / cpu:>10,.0f} lines/CPU-s  "
            f"{templates[0]:>6} templates"
        )
    (w_ours, c_ours), (w_d3, c_d3) = results["logagent"], results["drain3"]
    print(f"  speed vs drain3: {w_d3 / w_ours:.2f}x (wall), {c_d3 / c_ours:.2f}x (CPU)")


def loghub_messages() -> list[str]:
    from parsers.registry import get_parser

    base = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "loghub"
    out: list[str] = []
    for log in sorted(base.glob("*/*_2k.log")):
        lines = read_lines(log, 10**9)
        recs = get_parser("auto").parse_batch(lines)
        out.extend(r.message if r.message is not None else ln for r, ln in zip(recs, lines, strict=True))
    return out


def hook_cost(lines: list[str]) -> None:
    from logagent.encode import encode_ndjson
    from logagent.event import Batch
    from logagent.metrics import AgentMetrics
    from logagent.patterns.config import PatternsConfig
    from logagent.patterns.hook import SourceMiner
    from parsers.registry import get_parser

    parser = get_parser("auto")
    chunks = [lines[i : i + CHUNK] for i in range(0, len(lines), CHUNK)]
    with tempfile.TemporaryDirectory() as d:
        miner = SourceMiner("bench", PatternsConfig(persist=False), AgentMetrics(), Path(d))
        parse = hook = encode = 0.0
        for chunk in chunks:
            t0 = time.process_time()
            batch = Batch(source="bench", lines=chunk, records=parser.parse_batch(chunk))
            t1 = time.process_time()
            miner.mine(batch)
            t2 = time.process_time()
            encode_ndjson(batch)
            t3 = time.process_time()
            parse, hook, encode = parse + t1 - t0, hook + t2 - t1, encode + t3 - t2
    n = len(lines)
    print(f"hook in process, {n:,} lines (CPU per line):")
    print(
        f"  parse (auto) {1e6 * parse / n:.2f} us, encode {1e6 * encode / n:.2f} us, "
        f"mining hook {1e6 * hook / n:.2f} us"
    )
    print(f"  the hook adds {100 * hook / (parse + encode):.1f} % to parse + encode")


def agent_cpu(corpus: Path, lines: int, extra: str) -> tuple[float, float]:
    """(wall s, agent CPU s) to ship ``lines`` lines of ``corpus``."""
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "logs").mkdir()
        target = tmp / "logs" / "access.log"
        if lines >= sum(1 for _ in open(corpus, "rb")):
            try:
                os.link(corpus, target)
            except OSError:
                shutil.copy(corpus, target)
        else:
            with open(corpus, "rb") as src, open(target, "wb") as dst:
                for i, raw in enumerate(src):
                    if i >= lines:
                        break
                    dst.write(raw)
        cfg = write_config(tmp, str(target), 'parser = "auto"\n' + extra)
        t0 = time.monotonic()
        proc, port = start_agent(cfg)
        try:
            while metric(port, "logagent_events_sent_total") < lines:
                time.sleep(0.05)
            return time.monotonic() - t0, cpu_secs(proc.pid)
        finally:
            proc.terminate()
            proc.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--agent-lines", type=int, default=1_000_000)
    ap.add_argument("--skip-agent", action="store_true")
    args = ap.parse_args()
    corpus = nginx_corpus(max(args.lines, args.agent_lines))
    compare("nginx corpus (raw lines)", read_lines(corpus, args.lines))
    mix = loghub_messages()
    if mix:
        compare("loghub 16 x 2k (parsed messages)", mix)
    hook_cost(read_lines(corpus, args.lines))
    if args.skip_agent:
        return
    print(f"agent, file -> file sink, parser auto: {args.agent_lines:,} lines")
    wall0, cpu0 = agent_cpu(corpus, args.agent_lines, "")
    print(
        f"  without patterns: {wall0:6.1f} s wall, {cpu0:6.1f} CPU s, "
        f"{args.agent_lines / cpu0:,.0f} lines/CPU-s"
    )
    for label, extra in (
        ("patterns = true", "patterns = true"),
        ("+ template text", "[sources.bench.patterns]\ntemplate_field = true"),
    ):
        wall1, cpu1 = agent_cpu(corpus, args.agent_lines, extra)
        print(
            f"  {label + ':':<18}{wall1:6.1f} s wall, {cpu1:6.1f} CPU s, "
            f"{args.agent_lines / cpu1:,.0f} lines/CPU-s; mining costs {100 * (1 - cpu0 / cpu1):.1f} % "
            "of the agent's throughput (CPU)"
        )


if __name__ == "__main__":
    main()
