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

from logagent.cli.common import line_batches
from logagent.patterns.miner import Cluster, Miner, MinerOptions

HELP = "mine log templates (Drain-like) from files or stdin: counts per template, or per-line JSON"

BATCH_LINES = 4096


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parser", "-p", help="parser that strips headers first (e.g. auto); default: none")
    parser.add_argument("--top", type=int, default=None, metavar="N", help="show the N most frequent only")
    parser.add_argument("--json", action="store_true", help="one JSON object per input line, in order")
    parser.add_argument("files", nargs="*", type=Path, help="files to read (default: stdin)")


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


#: The CLI mines one-off inputs: a far higher cap than an agent source's default.
CLI_MAX_TEMPLATES = 100_000


def _mine(
    files: list[str] | list[Path], parser_name: str | None, keep: bool
) -> tuple[Miner, list[str], list[Cluster], int]:
    """Mine every line; with ``keep``, also each line and its cluster (for per-line output)."""
    from logagent.patterns.hook import messages_of

    parser = None
    if parser_name:
        from parsers.registry import get_parser

        parser = get_parser(parser_name)
    miner = Miner(MinerOptions(max_templates=CLI_MAX_TEMPLATES))
    lines: list[str] = []
    clusters: list[Cluster] = []
    total = 0
    for stream in _streams(files):
        for batch in line_batches(stream, BATCH_LINES):
            records = parser.parse_batch(batch) if parser is not None else None
            mined = miner.add_batch(messages_of(batch, records))
            total += len(batch)
            if keep:
                lines.extend(batch)
                clusters.extend(mined)
    return miner, lines, clusters, total


def mine_files(files: list[str] | list[Path], parser_name: str | None) -> list[dict[str, Any]]:
    """Mine every line of ``files``; one dict per line (``template_id``, ``template``, ``line``).

    A line's template is its template once every line is mined (merged templates resolved).
    """
    _miner, lines, clusters, _total = _mine(files, parser_name, keep=True)
    return [
        {"template_id": c.id, "template": c.template, "line": line}
        for c, line in zip((c.resolve() for c in clusters), lines, strict=True)
    ]


def main(args: argparse.Namespace) -> int:
    from parsers.registry import DuplicateParser, ParserNotFound

    out = sys.stdout.buffer
    try:
        if args.json:
            rows = mine_files(args.files, args.parser)
            opt = orjson.OPT_APPEND_NEWLINE
            for i in range(0, len(rows), BATCH_LINES):
                out.write(b"".join(orjson.dumps(r, option=opt) for r in rows[i : i + BATCH_LINES]))
            return 0
        miner, _lines, _clusters, total = _mine(args.files, args.parser, keep=False)
    except (ParserNotFound, DuplicateParser) as exc:
        print(f"logagent: {exc}", file=sys.stderr)
        return 2
    rows_out = [f"{'COUNT':>9}  {'SHARE':>6}  {'ID':<12}  TEMPLATE"]
    for c in miner.top(args.top):
        rows_out.append(f"{c.count:>9}  {100 * c.count / total:5.1f}%  {c.id:<12}  {c.template}")
    rows_out.append(f"{len(miner.clusters)} templates, {total} lines")
    out.write(("\n".join(rows_out) + "\n").encode())
    return 0
