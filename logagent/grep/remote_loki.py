"""Search Loki: ``GET /loki/api/v1/query_range``, paged by time the way logcli does.

The pattern becomes a LogQL line filter so Loki sends only candidate lines (``|= "x"`` for a
literal, ``|~ "..."`` for a regex RE2 can run, else for the literals every match must contain);
the exact grep semantics (``-w``, ``-x``, Python regex) are then applied locally. Pages go
forward in time (protocols.md §2): ``start`` is inclusive, so the next page starts at the last
timestamp seen and the entries already printed at that timestamp are dropped; if a whole page
shares one timestamp, paging cannot advance and the search fails rather than loop or skip.
"""

from __future__ import annotations

import argparse
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from logagent.grep.events import Entry
from logagent.grep.fields import parse_time
from logagent.grep.search import required_literals, split_patterns

#: Loki's default and maximum ``limit`` (protocols.md §2).
DEFAULT_PAGE = 1000
MAX_PAGE = 5000
#: Without --since, Loki's own default range: the last hour.
DEFAULT_RANGE_NS = 3600 * 1_000_000_000
REQUEST_TIMEOUT_SECS = 30.0

# Python-regex constructs RE2 (Loki) cannot run: lookaround, backreferences, possessive/atomic.
_NOT_RE2 = re.compile(r"\(\?[=!<>]|\(\?P=|\\[1-9]|\\g<|[*+?}]\+|\(\?>|\\[AZz]")


def _go_string(s: str) -> str:
    """A LogQL (Go) double-quoted string."""
    return orjson.dumps(s).decode()


def _re2_escape(s: str) -> str:
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", s)


def line_filter(patterns: list[str], fixed: bool, ignore_case: bool, invert: bool) -> str:
    """The LogQL line filter narrowing the search to candidate lines ('' when none is safe)."""
    pats = split_patterns(patterns)
    if any(p == "" for p in pats):
        return ""  # matches every line
    if invert:
        # Only a filter that keeps every line not matching any pattern is safe.
        if fixed and not ignore_case:
            return "".join(f" != {_go_string(p)}" for p in pats)
        if not fixed and not any(_NOT_RE2.search(p) for p in pats):
            flag = "(?i)" if ignore_case else ""
            return "".join(f" !~ {_go_string(flag + p)}" for p in pats)
        return ""
    if fixed:
        if len(pats) == 1 and not ignore_case:
            return f" |= {_go_string(pats[0])}"
        body = "|".join(_re2_escape(p) for p in pats)
        return f" |~ {_go_string(('(?i)' if ignore_case else '') + body)}"
    if not any(_NOT_RE2.search(p) for p in pats):
        body = "|".join(f"(?:{p})" for p in pats) if len(pats) > 1 else pats[0]
        return f" |~ {_go_string(('(?i)' if ignore_case else '') + body)}"
    found = required_literals(pats)
    if found is None:
        return ""
    lits, icase = found
    body = "|".join(_re2_escape(lit.decode("utf-8", "replace")) for lit in lits)
    return f" |~ {_go_string(('(?i)' if icase or ignore_case else '') + body)}"


def _labels_text(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={_go_string(v)}" for k, v in sorted(labels.items())) + "}"


@dataclass
class LokiQuery:
    url: str
    selector: str
    filter: str = ""
    start_ns: int = 0
    end_ns: int = 0
    page: int = DEFAULT_PAGE
    tenant: str | None = None
    timeout: float = REQUEST_TIMEOUT_SECS
    requests: int = 0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LokiQuery:
        if not args.loki_url:
            raise ValueError("--from loki needs --loki-url")
        if not args.selector:
            raise ValueError("--from loki needs --selector, e.g. --selector '{job=\"nginx\"}'")
        now = time.time_ns()
        end = parse_time(args.until, now) if args.until else now
        start = parse_time(args.since, now) if args.since else end - DEFAULT_RANGE_NS
        patterns = list(args.regexp) if args.regexp else [args.pattern]
        page = args.page_size or DEFAULT_PAGE
        if not 0 < page <= MAX_PAGE:
            raise ValueError(f"--page-size must be 1..{MAX_PAGE} for Loki")
        return cls(
            url=args.loki_url.rstrip("/"),
            selector=args.selector.strip(),
            filter=line_filter(patterns, args.fixed_strings, args.ignore_case, args.invert_match),
            start_ns=start,
            end_ns=end,
            page=page,
            tenant=args.tenant,
        )

    @property
    def query(self) -> str:
        return self.selector + self.filter

    def _get(self, start: int) -> list[tuple[int, str, dict[str, str]]]:
        params = {
            "query": self.query,
            "start": str(start),
            "end": str(self.end_ns),
            "limit": str(self.page),
            "direction": "forward",
        }
        req = urllib.request.Request(f"{self.url}/loki/api/v1/query_range?{urllib.parse.urlencode(params)}")
        if self.tenant:
            req.add_header("X-Scope-OrgID", self.tenant)
        self.requests += 1
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace").strip()[:300]
            raise OSError(f"Loki answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError) as exc:
            raise OSError(f"cannot reach Loki at {self.url}: {getattr(exc, 'reason', exc)}") from None
        try:
            doc = orjson.loads(body)
            result = doc["data"]["result"]
            out = []
            for stream in result:
                labels = stream.get("stream", {})
                for ts, line, *_ in stream["values"]:
                    out.append((int(ts), line, labels))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise OSError(f"unexpected answer from Loki: {exc}") from None
        out.sort(key=lambda e: e[0])  # streams come separately: merge them by time
        return out

    def entries(self) -> Iterator[Entry]:
        """Every entry in [start, end), oldest first, each once."""
        start = self.start_ns
        seen_at: set[tuple[str, str]] = set()  # (labels, line) already yielded at timestamp `start`
        while True:
            page = self._get(start)
            last = page[-1][0] if page else start
            next_seen: set[tuple[str, str]] = set(seen_at) if last == start else set()
            for ts, line, labels in page:
                name = _labels_text(labels)
                if ts == start and (name, line) in seen_at:
                    continue  # the previous page's edge, sent again
                if ts == last:
                    next_seen.add((name, line))
                yield Entry(ts_ns=ts, line=line, name=name, labels=labels)
            if len(page) < self.page:
                return
            if page[0][0] == last == start:
                raise OSError(
                    f"{len(page)} or more entries share the timestamp {last}: paging cannot advance; "
                    f"raise --page-size (max {MAX_PAGE})"
                )
            start, seen_at = last, next_seen
