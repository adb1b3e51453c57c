"""Joining physical lines into records (stack traces, panics, multi-line SQL).

A record starts at a line matching the *start* pattern; every following line that does not
match belongs to it. :func:`split_records` is pure: the caller (the file source) holds the
trailing, still-open record and flushes it after its timeout, so nothing waits forever.
"""

from __future__ import annotations

import re
from typing import Protocol

#: Start-of-record patterns for common runtimes: a line that is not a continuation.
PRESETS: dict[str, str] = {
    # Java/JVM: anything but "\tat ...", "Caused by: ...", "... 12 more", "Suppressed:", or an
    # indented line; also not a line that starts with a blank.
    "java": (
        r"^(?![ \t]|at |Caused by:|Suppressed:|\.\.\. \d+ (?:more|common frames omitted)"
        r"|[\w.$]+(?:Exception|Error|Throwable)(?::|$))"
    ),
    # Python: not a traceback body line ("Traceback", indented frames, the final "Error: msg"
    # line that follows the frames is matched as a continuation by being non-timestamped).
    "python": (
        r"^(?![ \t]|Traceback \(most recent call last\):|During handling of the above exception"
        r"|The above exception was the direct cause|[\w.]+(?:Error|Exception|Exit|Interrupt|Warning)(?::|$))"
    ),
    # Go: not a goroutine dump line (panic bodies, "goroutine N [...]:", frames, blank lines).
    "go": (
        r"^(?![ \t]|goroutine \d+ \[|\[signal |created by |exit status |$"
        r"|[\w./*()-]+\(.*\)$|[\w./-]+\.go:\d+)"
    ),
}


class StartPattern(Protocol):
    def match(self, string: str, /) -> object: ...


def compile_start(spec: str) -> re.Pattern[str]:
    """A preset name (``java``, ``python``, ``go``) or a regex (matched at the line start).
    Raises ValueError naming the problem when the regex is invalid."""
    pattern = PRESETS.get(spec, spec)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid multiline start regex {spec!r}: {exc}") from None


def split_records(lines: list[str], start: StartPattern, max_lines: int) -> tuple[list[str], int]:
    """Complete records (lines joined with ``\\n``) and how many leading lines they used.

    A record is complete once the next record's start is seen, or when it reaches ``max_lines``
    lines (it is then cut there; the rest continues as a new record). Lines before the first
    start line form a record of their own. The trailing record is left open: ``lines[used:]``.
    """
    if max_lines < 1:
        max_lines = 1
    out: list[str] = []
    begin = 0
    n = len(lines)
    match = start.match
    for i in range(1, n):
        if match(lines[i]) or i - begin >= max_lines:
            out.append(lines[begin] if i - begin == 1 else "\n".join(lines[begin:i]))
            begin = i
    if n and n - begin >= max_lines:
        out.append("\n".join(lines[begin:n]))
        begin = n
    return out, begin
