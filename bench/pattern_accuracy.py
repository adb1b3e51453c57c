"""Grouping accuracy of the template miner on the loghub 2k benchmark, beside Drain's figures.

For each system in ``../shared/corpus/loghub``: the ``<System>_2k.log`` lines are mined with
``logagent patterns --parser auto --json`` (one configuration for all systems) and the result is
compared with the ``EventId`` column of ``<System>_2k.log_structured.csv``. A line is correct when
the set of lines sharing its template is exactly the set sharing its ground-truth event;
accuracy = correct lines / all lines (the published benchmark's "grouping accuracy").

Run: ``.venv/bin/python bench/pattern_accuracy.py`` (``--inprocess`` mines in this process,
faster while tuning; the default runs the real CLI as a subprocess). ``--show SYSTEM`` prints the
wrongly grouped templates of one system.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CORPUS = Path(os.environ.get("LOGAGENT_CORPUS", REPO.parent / "shared" / "corpus")) / "loghub"

#: Drain's published grouping accuracy (tuned per system) on loghub 2k.
DRAIN: dict[str, float] = {
    "HDFS": 0.9975,
    "Hadoop": 0.9475,
    "Spark": 0.92,
    "Zookeeper": 0.9665,
    "BGL": 0.9625,
    "HPC": 0.887,
    "Thunderbird": 0.955,
    "Windows": 0.997,
    "Linux": 0.69,
    "Android": 0.911,
    "HealthApp": 0.78,
    "Apache": 1.0,
    "Proxifier": 0.5265,
    "OpenSSH": 0.7875,
    "OpenStack": 0.7325,
    "Mac": 0.7865,
}


def grouping_accuracy(predicted: list[str], truth: list[str]) -> float:
    """The share of lines whose predicted group is exactly their ground-truth group."""
    by_pred: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(predicted):
        by_pred[p].append(i)
    truth_sizes = Counter(truth)
    correct = 0
    for members in by_pred.values():
        events = {truth[i] for i in members}
        if len(events) == 1 and truth_sizes[truth[members[0]]] == len(members):
            correct += len(members)
    return correct / len(truth) if truth else 1.0


def system_files(system: str) -> tuple[Path, Path]:
    log = CORPUS / system / f"{system}_2k.log"
    return log, log.with_name(log.name + "_structured.csv")


def ground_truth(system: str) -> tuple[list[str], list[str]]:
    """(EventId per line, Content per line)."""
    _, structured = system_files(system)
    with open(structured, encoding="utf-8", errors="replace", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["EventId"] for r in rows], [r["Content"] for r in rows]


def mine_cli(path: Path) -> list[dict]:
    """Run ``logagent patterns --parser auto --json`` on one file."""
    out = subprocess.run(
        [sys.executable, "-m", "logagent", "patterns", "--parser", "auto", "--json", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    return [orjson.loads(ln) for ln in out.splitlines()]


def mine_inprocess(path: Path) -> list[dict]:
    from logagent.cli.patterns import mine_files

    return mine_files([str(path)], "auto")


def evaluate(system: str, inprocess: bool) -> tuple[float, list[dict], list[str], list[str]]:
    log, _ = system_files(system)
    truth, content = ground_truth(system)
    rows = mine_inprocess(log) if inprocess else mine_cli(log)
    if len(rows) != len(truth):
        raise SystemExit(f"{system}: {len(rows)} output lines for {len(truth)} ground-truth lines")
    return grouping_accuracy([r["template_id"] for r in rows], truth), rows, truth, content


def show(system: str, rows: list[dict], truth: list[str], content: list[str]) -> None:
    """Print each wrongly grouped ground-truth event with the templates its lines got."""
    by_truth: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(truth):
        by_truth[t].append(i)
    by_pred: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_pred[r["template_id"]].append(i)
    for event, members in sorted(by_truth.items(), key=lambda kv: -len(kv[1])):
        preds = Counter(rows[i]["template_id"] for i in members)
        if len(preds) == 1 and len(by_pred[next(iter(preds))]) == len(members):
            continue
        print(f"{event} ({len(members)} lines) e.g. {content[members[0]][:140]!r}")
        for pid, n in preds.most_common(6):
            others = Counter(truth[i] for i in by_pred[pid])
            tmpl = rows[by_pred[pid][0]]["template"]
            print(f"    {n:5d} -> {tmpl[:120]!r}  (template holds {dict(others.most_common(4))})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inprocess", action="store_true", help="mine in this process (no subprocess)")
    ap.add_argument("--show", metavar="SYSTEM", help="print the wrongly grouped events of SYSTEM")
    ap.add_argument("systems", nargs="*", default=list(DRAIN))
    args = ap.parse_args()
    if not CORPUS.is_dir():
        print(f"loghub corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    print(f"{'system':<12} {'ours':>7} {'Drain':>7} {'diff':>7}")
    ours_all = []
    for system in args.systems:
        acc, rows, truth, content = evaluate(system, args.inprocess)
        ours_all.append(acc)
        mark = "" if acc >= DRAIN[system] else "  < Drain"
        print(f"{system:<12} {acc:7.4f} {DRAIN[system]:7.4f} {acc - DRAIN[system]:+7.4f}{mark}")
        if args.show == system:
            show(system, rows, truth, content)
    drain_avg = sum(DRAIN[s] for s in args.systems) / len(args.systems)
    avg = sum(ours_all) / len(ours_all)
    print(f"{'average':<12} {avg:7.4f} {drain_avg:7.4f} {avg - drain_avg:+7.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
