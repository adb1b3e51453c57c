"""``logagent patterns``: mine log templates from files (or stdin) and print them.

Without ``--json``: a table of templates, most frequent first (``--top N`` keeps the first N).
With ``--json``: one object per input line, in input order, with ``template_id``, ``template``
(the template as it stands once every input is mined) and ``line``. ``--parser`` strips the
headers first (timestamps, hosts, levels...) so only the ``message`` is mined; without it the
whole line is. Exit 0; a bad parser name is a usage error (2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

HELP = "mine log templates (Drain-like) from files or stdin: counts per template, or per-line JSON"

BATCH_LINES = 4096


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parser", "-p", help="parser that strips headers first (e.g. auto); default: none")
    parser.add_argument("--top", type=int, default=None, metavar="N", help="show the N most frequent only")
    parser.add_argument("--json", action="store_true", help="one JSON object per input line, in order")
    parser.add_argument("files", nargs="*", type=Path, help="files to read (default: stdin)")


def _batches(stream: BinaryIO) -> Iterator[list[str]]:
    batch: list[str] = []
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if line.endswith("\r"):
            line = line[:-1]
        batch.append(line)
        if len(batch) >= BATCH_LINES:
            yield batch
            batch = []
    if batch:
        yield batch


def _streams(files: list[str] | list[Path]) -> Iterator[BinaryIO]:
    if not files:
        yield sys.stdin.buffer
        return
    for path in files:
        try:
            f = open(path, "rb")
        except OSError as exc:
            print(f"logagent: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            continue
        with f:
            yield f


def mine_files(files: list[str] | list[Path], parser_name: str | None) -> list[dict[str, Any]]:
    """Mine every line of ``files``; one dict per line (``template_id``, ``template``, ``line``)."""
    from logagent.patterns.hook import messages_of
    from logagent.patterns.miner import Miner

    parser = None
    if parser_name:
        from parsers.registry import get_parser

        parser = get_parser(parser_name)
    miner = Miner()
    lines: list[str] = []
    clusters = []
    for stream in _streams(files):
        for batch in _batches(stream):
            records = parser.parse_batch(batch) if parser is not None else None
            lines.extend(batch)
            clusters.extend(miner.add_batch(messages_of(batch, records)))
    clusters = [c.resolve() for c in clusters]
    return [
        {"template_id": c.id, "template": c.template, "line": line}
        for c, line in zip(clusters, lines, strict=True)
    ]


def main(args: argparse.Namespace) -> int:
    from parsers.registry import DuplicateParser, ParserNotFound

    try:
        rows = mine_files(args.files, args.parser)
    except (ParserNotFound, DuplicateParser) as exc:
        print(f"logagent: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    if args.json:
        opt = orjson.OPT_APPEND_NEWLINE
        out.write(b"".join(orjson.dumps(r, option=opt) for r in rows))
        return 0
    counts: dict[str, list[Any]] = {}
    for r in rows:
        entry = counts.get(r["template_id"])
        if entry is None:
            counts[r["template_id"]] = [1, r["template"]]
        else:
            entry[0] += 1
    ordered = sorted(counts.items(), key=lambda kv: -kv[1][0])
    if args.top is not None:
        ordered = ordered[: args.top]
    total = len(rows)
    lines = [f"{'COUNT':>9}  {'SHARE':>6}  {'ID':<12}  TEMPLATE"]
    for tid, (n, text) in ordered:
        lines.append(f"{n:>9}  {100 * n / total:5.1f}%  {tid:<12}  {text}")
    lines.append(f"{len(counts)} templates, {total} lines")
    out.write(("\n".join(lines) + "\n").encode())
    return 0
