"""``logagent parse``: run one parser over files (or stdin) and print each record as JSON.

A tool for checking what a parser makes of real lines before shipping them: one JSON object per
record with ``ts`` (RFC 3339 UTC, null when the line has none), ``level``, ``message``,
``fields``, ``line`` and ``parse_error`` when the parser could not read it. Always exit 0 once
running; a bad parser name or config is a usage error (2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from logagent.cli.common import line_batches, load_or_report
from logagent.encode import format_ts

HELP = "parse lines from files or stdin with a parser and print one JSON record per line"

BATCH_LINES = 4096


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parser", "-p", required=True, help="parser name (built-in, plugin or [parsers.NAME])"
    )
    parser.add_argument("--config", "-c", type=Path, help="config file defining [parsers.NAME] entries")
    parser.add_argument(
        "--multiline",
        metavar="START",
        help="join lines into records first: a preset (java, python, go) or a start-of-record regex",
    )
    parser.add_argument("--max-lines", type=int, default=500, help="most lines in one multiline record")
    parser.add_argument("files", nargs="*", type=Path, help="files to read (default: stdin)")


def _records(stream: BinaryIO, start: Any, max_lines: int) -> Iterator[list[str]]:
    if start is None:
        yield from line_batches(stream, BATCH_LINES)
        return
    from parsers.multiline import split_records

    pending: list[str] = []
    for batch in line_batches(stream, BATCH_LINES):
        pending.extend(batch)
        done, used = split_records(pending, start, max_lines)
        if done:
            yield done
        pending = pending[used:]
    if pending:
        yield ["\n".join(pending)]


def main(args: argparse.Namespace) -> int:
    from parsers.base import Parser
    from parsers.registry import DuplicateParser, ParserNotFound, get_parser

    parser: Parser
    if args.config is not None:
        config = load_or_report(args.config)
        if config is None:
            return 2
        from logagent.topology import build_parser

        builder = lambda: build_parser(config, args.parser)  # noqa: E731
    else:
        builder = lambda: get_parser(args.parser)  # noqa: E731
    try:
        parser = builder()
    except (ParserNotFound, DuplicateParser) as exc:
        print(f"logagent: {exc}", file=sys.stderr)
        return 2
    start = None
    if args.multiline:
        from parsers.multiline import compile_start

        try:
            start = compile_start(args.multiline)
        except ValueError as exc:
            print(f"logagent: --multiline: {exc}", file=sys.stderr)
            return 2
    out = sys.stdout.buffer
    dumps = orjson.dumps
    sources: list[Path | None] = list(args.files) or [None]
    for path in sources:
        if path is None:
            stream: BinaryIO = sys.stdin.buffer
        else:
            try:
                stream = path.open("rb")
            except OSError as exc:
                print(f"logagent: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
                continue
        try:
            for lines in _records(stream, start, args.max_lines):
                chunks = []
                for line, rec in zip(lines, parser.parse_batch(lines), strict=True):
                    obj: dict[str, Any] = {
                        "ts": format_ts(rec.ts_ns) if rec.ts_ns is not None else None,
                        "level": rec.level,
                        "message": rec.message,
                        "fields": rec.fields,
                        "line": line,
                    }
                    if rec.error is not None:
                        obj["parse_error"] = rec.error
                    chunks.append(dumps(obj, default=str, option=orjson.OPT_APPEND_NEWLINE))
                out.write(b"".join(chunks))
            out.flush()
        finally:
            if path is not None:
                stream.close()
    return 0
