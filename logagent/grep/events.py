"""The event path: selected lines are parsed, filtered by fields and time, then printed as grep
lines or JSON events, or aggregated. Used for ``--parser``/``--where``/``--since``/``--json``/
``--count-by``/``--histogram`` on files, and for every Loki/CloudWatch search.

Work stays per batch: the byte engine selects the lines of a chunk first, and only those are
decoded and parsed, in one ``parse_batch`` call per chunk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson

from logagent.encode import format_ts
from logagent.grep.analysis import CountBy, Histogram
from logagent.grep.fields import RecordFilter
from logagent.grep.output import Colors
from logagent.grep.search import NL, Matcher
from parsers.base import Parser, Record

#: Remote entries are matched and parsed this many at a time.
ENTRY_BATCH = 1000
_EMPTY = Record()


@dataclass(slots=True)
class Entry:
    """One line from a remote store: time (ns), text, and where it came from."""

    ts_ns: int | None
    line: str
    name: str = ""  # stream (Loki labels, CloudWatch stream name)
    labels: dict[str, str] = field(default_factory=dict)


class EventSink:
    def __init__(
        self,
        *,
        matcher: Matcher,
        parser: Parser | None,
        filt: RecordFilter,
        out: BinaryIO,
        invert: bool = False,
        colors: Colors | None = None,
        with_filename: bool = False,
        line_number: bool = False,
        count: bool = False,
        files_with_matches: bool = False,
        quiet: bool = False,
        max_count: int | None = None,
        json: bool = False,
        count_by: str | None = None,
        histogram: str | None = None,
    ) -> None:
        self.m = matcher
        self.parser = parser
        self.filt = filt
        self.out = out
        self.invert = invert
        self.colors = colors
        self.with_filename = with_filename
        self.line_number = line_number
        self.count = count
        self.files_with_matches = files_with_matches
        self.quiet = quiet
        self.max_count = max_count
        self.json = json
        # count_by: a field name, or an aggregation with CountBy's add/render (grep --patterns).
        self.count_by = (CountBy(count_by) if isinstance(count_by, str) else count_by) if count_by else None
        self.histogram = Histogram(histogram) if histogram else None
        self.selected = 0
        self.stopped = False
        self._file_selected = 0
        self._bases: dict[str, int] = {}

    # --- inputs ---------------------------------------------------------------------------

    def search_file(self, name: str, chunks: Iterable[bytes]) -> None:
        """Select, parse and filter the lines of one file."""
        self._file_selected = 0
        self._bases[name] = 1
        for chunk in chunks:
            self.feed(name, chunk)
            if self.stopped or (self.files_with_matches and self._file_selected):
                break
        self._end_file(name)

    def feed(self, name: str, chunk: bytes) -> None:
        """The next chunk of file ``name`` (whole lines)."""
        base = self._bases.get(name, 1)
        runs = self.m.runs(chunk, self.invert)
        if runs:
            lines: list[bytes] = []
            numbers: list[int] | None = [] if self.line_number else None
            cpos, cnum = 0, base
            for s, e in runs:
                part = chunk[s:e].split(NL)[:-1]
                if numbers is not None:
                    cnum += chunk.count(NL, cpos, s)
                    cpos = s
                    numbers.extend(range(cnum, cnum + len(part)))
                lines.extend(part)
            self._take(name, lines, numbers, None, None, path=name)
        if self.line_number:
            self._bases[name] = base + chunk.count(NL)

    def restart_file(self, name: str) -> None:
        """``name`` is a new file now (rotation): its lines are numbered from 1 again."""
        self._bases.pop(name, None)

    def search_entries(self, entries: Iterable[Entry]) -> None:
        """Match, parse and filter remote entries (already in time order)."""
        batch: list[Entry] = []
        for entry in entries:
            batch.append(entry)
            if len(batch) >= ENTRY_BATCH:
                self._take_entries(batch)
                batch = []
                if self.stopped:
                    return
        if batch:
            self._take_entries(batch)

    def _take_entries(self, batch: list[Entry]) -> None:
        m = self.m
        inv = self.invert
        # Group consecutive entries of one stream so JSON events keep their labels.
        group: list[Entry] = []
        for e in batch:
            if m.line_matches(e.line.encode("utf-8", "surrogateescape")) == inv:
                continue
            if group and (group[0].name != e.name):
                self._take_group(group)
                group = []
            group.append(e)
        if group:
            self._take_group(group)

    def _take_group(self, group: list[Entry]) -> None:
        if self.stopped:
            return
        lines = [e.line.encode("utf-8", "surrogateescape") for e in group]
        self._take(
            group[0].name,
            lines,
            None,
            [e.ts_ns for e in group],
            group[0].labels,
            path=None,
            texts=[e.line for e in group],
        )

    # --- the pipeline ---------------------------------------------------------------------

    def _take(
        self,
        name: str,
        lines: list[bytes],
        numbers: list[int] | None,
        ts: list[int | None] | None,
        labels: dict[str, str] | None,
        path: str | None,
        texts: list[str] | None = None,
    ) -> None:
        if texts is None:
            texts = [b.decode("utf-8", "replace") for b in lines]
        recs: list[Record] | None = self.parser.parse_batch(texts) if self.parser is not None else None
        keep: list[int] = []
        accepts = self.filt.accepts
        for i in range(len(lines)):
            rec = recs[i] if recs is not None else _EMPTY
            t = rec.ts_ns
            if t is None and ts is not None:
                t = ts[i]
            if accepts(rec, t):
                keep.append(i)
                if self.max_count is not None and self.selected + len(keep) >= self.max_count:
                    self.stopped = True
                    break
                if self.quiet or self.files_with_matches:
                    break
        if not keep:
            return
        self.selected += len(keep)
        self._file_selected += len(keep)
        if self.quiet:
            self.stopped = True
            return
        if (self.count or self.files_with_matches) and self.count_by is None and self.histogram is None:
            return
        if self.count_by is not None:
            for i in keep:
                self.count_by.add(recs[i] if recs is not None else None, lines[i])
            return
        if self.histogram is not None:
            for i in keep:
                rec = recs[i] if recs is not None else _EMPTY
                self.histogram.add(rec.ts_ns if rec.ts_ns is not None else (ts[i] if ts else None))
            return
        if self.json:
            # The shape `logagent parse` prints, plus where the line came from.
            dumps = orjson.dumps
            parts = []
            for i in keep:
                rec = recs[i] if recs is not None else _EMPTY
                t = rec.ts_ns if rec.ts_ns is not None else (ts[i] if ts is not None else None)
                obj: dict[str, Any] = {
                    "ts": format_ts(t) if t is not None else None,
                    "level": rec.level,
                    "message": rec.message,
                    "fields": rec.fields,
                    "line": texts[i],
                }
                if rec.error is not None:
                    obj["parse_error"] = rec.error
                if path is not None:
                    obj["path"] = path
                if labels:
                    obj["labels"] = labels
                parts.append(dumps(obj, default=str, option=orjson.OPT_APPEND_NEWLINE))
            self.out.write(b"".join(parts))
            return
        self._grep_lines(name, [lines[i] for i in keep], [numbers[i] for i in keep] if numbers else None)

    def _grep_lines(self, name: str, lines: list[bytes], numbers: list[int] | None) -> None:
        c = self.colors

        def sep(s: bytes) -> bytes:
            return c.wrap("se", s) if c else s

        pre = b""
        if self.with_filename:
            fn = name.encode("utf-8", "surrogateescape")
            pre = (c.wrap("fn", fn) if c else fn) + sep(b":")
        parts = []
        for i, line in enumerate(lines):
            text = line
            if c is not None and not self.invert:
                spans = self.m.spans(line)
                if spans:
                    pieces, prev = [], 0
                    for s, e in spans:
                        pieces += [line[prev:s], c.wrap("ms", line[s:e])]
                        prev = e
                    pieces.append(line[prev:])
                    text = b"".join(pieces)
            num = b""
            if numbers is not None:
                n = str(numbers[i]).encode()
                num = (c.wrap("ln", n) if c else n) + sep(b":")
            parts.append(pre + num + text + NL)
        self.out.write(b"".join(parts))

    def _end_file(self, name: str) -> None:
        if self.quiet:
            return
        if self.files_with_matches:
            if self._file_selected:
                self.out.write(name.encode("utf-8", "surrogateescape") + NL)
        elif self.count and not (self.count_by or self.histogram):
            n = str(self._file_selected).encode() + NL
            self.out.write(name.encode("utf-8", "surrogateescape") + b":" + n if self.with_filename else n)

    def finish(self) -> None:
        """Print what is printed at the end (aggregations, a remote search's count)."""
        if self.count_by is not None:
            self.out.write(self.count_by.render())
        elif self.histogram is not None:
            self.out.write(self.histogram.render(color=self.colors is not None))
        self.out.flush()

    def finish_remote(self) -> None:
        """:meth:`finish`, with ``-c``'s single count for a remote search."""
        if self.count and not self.quiet and not (self.count_by or self.histogram):
            self.out.write(str(self.selected).encode() + NL)
        self.finish()
