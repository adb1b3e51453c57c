"""One ``logagent grep`` invocation: resolve the inputs, pick the path, print, return the exit code.

Paths: plain grep output straight from the byte engine (the fast path); the *event* path when
lines must be parsed (``--where``, ``--since``, ``--json``, ``--count-by``, ``--histogram``) or
come from Loki/CloudWatch; and ``--follow``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Iterator

from logagent.grep.output import Colors, OutputOptions, Printer, color_wanted
from logagent.grep.search import NL, Matcher, MatchOptions, PatternError, open_chunks

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing `typing` slows every start
if TYPE_CHECKING:
    from typing import BinaryIO

    from logagent.grep.events import EventSink


class GrepError(Exception):
    """A usage or input error: printed, exit status 2."""


STDIN_NAME = "-"
#: Progress is shown for searches over at least this many bytes.
PROGRESS_MIN_BYTES = 64 * 1024 * 1024


def run(args: argparse.Namespace, out: BinaryIO | None = None) -> int:
    out = out or sys.stdout.buffer
    patterns, paths = _patterns_and_paths(args)
    mopts = MatchOptions(
        fixed=args.fixed_strings,
        ignore_case=args.ignore_case,
        word=args.word_regexp,
        line=args.line_regexp,
    )
    try:
        matcher = Matcher(patterns, mopts)
    except PatternError as exc:
        raise GrepError(str(exc)) from None
    before = args.before_context if args.before_context is not None else (args.context or 0)
    after = args.after_context if args.after_context is not None else (args.context or 0)
    colors = Colors(os.environ.get("GREP_COLORS")) if color_wanted(args.color, out) else None
    fields_mode = bool(
        args.parser or args.where or args.since or args.until or args.json or args.count_by or args.histogram
    )
    if fields_mode and (before or after):
        raise GrepError("-A/-B/-C cannot be combined with --parser, --where, --json or aggregations")

    parser_name = args.parser
    source_name = None
    if args.origin != "files":
        if paths or args.source:
            raise GrepError(f"--from {args.origin} takes no paths or --source")
        return _run_remote(args, matcher, colors, out)
    if args.config or args.source:
        if not (args.config and args.source):
            raise GrepError("--config and --source go together")
        if paths:
            raise GrepError("--source takes no paths")
        from logagent.grep.sources import configured_files

        try:
            paths, src_parser = configured_files(args.config, args.source, rotated=not args.follow)
        except ValueError as exc:
            raise GrepError(str(exc)) from None
        parser_name = parser_name or src_parser
        source_name = args.source
        if not paths:
            return 1
    recursive = args.recursive or args.dereference_recursive
    if not paths:
        paths = ["."] if recursive else [STDIN_NAME]
        implicit_dot = recursive
    else:
        implicit_dot = False
    # As GNU grep: names are shown for several operands, or when a directory is searched.
    searches_dir = recursive and any(p != STDIN_NAME and os.path.isdir(p) for p in paths)
    with_filename = len(paths) > 1 or searches_dir or source_name is not None
    if args.with_filename:
        with_filename = True
    if args.no_filename:
        with_filename = False

    if args.follow:
        from logagent.grep.follow import follow_files

        oopts = OutputOptions(
            with_filename=with_filename,
            line_number=args.line_number,
            before=before,
            after=after,
            colors=colors,
            invert=args.invert_match,
            text=args.text,
            max_count=args.max_count,
        )
        printer = Printer(matcher, oopts, out)
        sink = _event_sink(args, matcher, colors, out, parser_name, with_filename=with_filename)
        return follow_files(paths, printer, sink)

    files, errors = _expand(paths, recursive, args.dereference_recursive, args.no_messages)
    if implicit_dot:  # `grep -r PAT` shows `a/b.log`, not `./a/b.log`
        files = [f[2:] if f.startswith("./") else f for f in files]
    progress = _Progress(files, args.progress)

    if fields_mode:
        sink = _event_sink(args, matcher, colors, out, parser_name, with_filename=with_filename)
        assert sink is not None
        for path in files:
            name = args.label if path == STDIN_NAME else path
            try:
                sink.search_file(name, progress.wrap(open_chunks(path)))
            except BrokenPipeError:
                raise  # the reader left (`| head`): not a file error
            except OSError as exc:
                errors = True
                _report(exc, path, args.no_messages)
            if sink.stopped:
                break
        progress.done()
        sink.finish()
        return 2 if errors and not (args.quiet and sink.selected) else (0 if sink.selected else 1)

    oopts = OutputOptions(
        with_filename=with_filename,
        line_number=args.line_number,
        before=before,
        after=after,
        count=args.count,
        files_with_matches=args.files_with_matches,
        quiet=args.quiet,
        max_count=args.max_count,
        invert=args.invert_match,
        colors=colors,
        text=args.text,
    )
    printer = Printer(matcher, oopts, out)
    printer.on_binary = lambda name: _binary_note(name, out)
    selected = 0
    for path in files:
        name = args.label if path == STDIN_NAME else path
        try:
            n = printer.search(name, progress.wrap(open_chunks(path)))
        except BrokenPipeError:
            raise  # the reader left (`| head`): not a file error
        except OSError as exc:
            errors = True
            _report(exc, path, args.no_messages)
            continue
        selected += n
        if n and args.quiet:
            break
    progress.done()
    out.flush()
    if errors and not (args.quiet and selected):
        return 2
    return 0 if selected else 1


def _binary_note(name: str, out: BinaryIO) -> None:
    out.flush()
    print(f"logagent grep: {name}: binary file matches", file=sys.stderr)


def _report(exc: OSError, path: str, quiet: bool) -> None:
    if quiet:
        return
    if exc.strerror:
        print(f"logagent grep: {path}: {exc.strerror}", file=sys.stderr)
    else:
        print(f"logagent grep: {exc}", file=sys.stderr)


def _patterns_and_paths(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    paths = list(args.paths)
    if args.regexp:
        if args.pattern is not None:
            paths.insert(0, args.pattern)
        return list(args.regexp), paths
    if args.pattern is None:
        raise GrepError("no pattern given (usage: logagent grep [OPTIONS] PATTERN [PATH...])")
    return [args.pattern], paths


def _expand(paths: list[str], recursive: bool, follow_links: bool, quiet: bool) -> tuple[list[str], bool]:
    """The files to search, and whether an operand was an error (a directory without -r)."""
    files: list[str] = []
    errors = False
    for p in paths:
        if p != STDIN_NAME and os.path.isdir(p):
            if recursive:
                files.extend(walk(p, follow_links))
            else:
                if not quiet:
                    print(f"logagent grep: {p}: Is a directory", file=sys.stderr)
                errors = True
        else:
            files.append(p)
    return files, errors


def walk(path: str, follow_links: bool) -> Iterator[str]:
    """Files under a directory, sorted by name at each level (GNU grep uses directory order)."""
    for root, dirs, names in os.walk(path, followlinks=follow_links):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(root, name)
            if not follow_links and os.path.islink(full):
                continue
            yield full


class _Progress:
    """``files 3/12, 412 MB`` on stderr, redrawn at most twice a second, when stderr is a TTY."""

    def __init__(self, files: list[str], mode: str) -> None:
        total = sum(os.path.getsize(f) for f in files if f != STDIN_NAME and os.path.isfile(f))
        tty = sys.stderr.isatty()
        self.on = mode == "always" or (mode == "auto" and tty and total >= PROGRESS_MIN_BYTES)
        self.nfiles = len(files)
        self.index = 0
        self.bytes = 0
        self.last = 0.0
        self.shown = False

    def wrap(self, chunks: Iterable[bytes]) -> Iterable[bytes]:
        if not self.on:
            return chunks
        self.index += 1
        return self._counting(chunks)

    def _counting(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.bytes += len(chunk)
            now = time.monotonic()
            if now - self.last >= 0.5:
                self.last = now
                self.shown = True
                sys.stderr.write(
                    f"\r\33[Kfile {self.index}/{self.nfiles}, {self.bytes / 1e6:,.0f} MB searched"
                )
                sys.stderr.flush()
            yield chunk

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\33[K")
            sys.stderr.flush()


# --- the event path -------------------------------------------------------------------------


def _event_sink(
    args: argparse.Namespace,
    matcher: Matcher,
    colors: Colors | None,
    out: BinaryIO,
    parser_name: str | None,
    remote: bool = False,
    with_filename: bool = False,
) -> EventSink | None:
    from logagent.grep.events import EventSink
    from logagent.grep.fields import FieldError, RecordFilter

    fields_mode = bool(
        args.parser or args.where or args.since or args.until or args.json or args.count_by or args.histogram
    )
    if not fields_mode and not remote:
        return None
    needs_fields = bool(args.where or args.count_by)
    needs_time = bool(args.since or args.until or args.histogram) and not remote
    if (needs_fields or needs_time) and not parser_name:
        what = "--where/--count-by" if needs_fields else "--since/--until/--histogram"
        raise GrepError(f"{what} need parsed lines: give --parser NAME (or a --source with a parser)")
    parser = None
    if parser_name:
        from parsers.registry import ParserNotFound, get_parser

        try:
            parser = get_parser(parser_name)
        except ParserNotFound as exc:
            raise GrepError(str(exc)) from None
    try:
        filt = RecordFilter(args.where, args.since, args.until)
    except FieldError as exc:
        raise GrepError(str(exc)) from None
    try:
        return EventSink(
            matcher=matcher,
            parser=parser,
            filt=filt,
            out=out,
            invert=args.invert_match,
            colors=colors,
            with_filename=with_filename,
            line_number=args.line_number,
            count=args.count,
            files_with_matches=args.files_with_matches,
            quiet=args.quiet,
            max_count=args.max_count,
            json=args.json,
            count_by=args.count_by,
            histogram=args.histogram,
        )
    except FieldError as exc:
        raise GrepError(str(exc)) from None


def _run_remote(args: argparse.Namespace, matcher: Matcher, colors: Colors | None, out: BinaryIO) -> int:
    with_filename = bool(args.with_filename) and not args.no_filename
    sink = _event_sink(args, matcher, colors, out, args.parser, remote=True, with_filename=with_filename)
    assert sink is not None
    try:
        if args.origin == "loki":
            from logagent.grep.remote_loki import LokiQuery

            entries = LokiQuery.from_args(args).entries()
        else:
            from logagent.grep.remote_cloudwatch import CloudWatchQuery

            entries = CloudWatchQuery.from_args(args).entries()
        sink.search_entries(entries)
    except (ValueError, OSError) as exc:
        sink.finish_remote()
        raise GrepError(str(exc)) from None
    sink.finish_remote()
    return 0 if sink.selected else 1


__all__ = ["NL", "GrepError", "run", "walk"]
