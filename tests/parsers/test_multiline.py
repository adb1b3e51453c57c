"""Multiline joining: presets for Java, Python and Go traces; the open record stays with the caller."""

from __future__ import annotations

import pytest

from parsers.multiline import PRESETS, compile_start, split_records

JAVA = [
    "2026-03-02 10:00:00.000 [main] ERROR App - request failed",
    "java.lang.IllegalStateException: bad state",
    "\tat com.example.App.handle(App.java:42)",
    "\tat com.example.App.main(App.java:10)",
    "Caused by: java.io.IOException: closed",
    "\t... 2 more",
    "2026-03-02 10:00:01.000 [main] INFO  App - recovered",
]
PYTHON = [
    "2026-03-02 10:00:00,000 ERROR worker crashed",
    "Traceback (most recent call last):",
    '  File "/app/w.py", line 3, in <module>',
    "    main()",
    "ValueError: bad input",
    "2026-03-02 10:00:01,000 INFO worker restarted",
]
GO = [
    "panic: runtime error: index out of range [3] with length 3",
    "",
    "goroutine 1 [running]:",
    "main.main()",
    "\t/src/main.go:8 +0x1d",
    "exit status 2",
    "2026/03/02 10:00:01 server started",
]


@pytest.mark.parametrize(
    ("preset", "lines", "first_len"), [("java", JAVA, 6), ("python", PYTHON, 5), ("go", GO, 6)]
)
def test_presets_join_a_trace_to_its_first_line(preset: str, lines: list[str], first_len: int) -> None:
    records, used = split_records(lines, compile_start(preset), 100)
    assert records == ["\n".join(lines[:first_len])]
    assert used == first_len  # the last line opens a record that is still held by the caller


def test_open_record_is_left_to_the_caller() -> None:
    start = compile_start(r"^\d{4}-")
    records, used = split_records(["2026-01 a", "  cont", "2026-02 b", "  more"], start, 10)
    assert records == ["2026-01 a\n  cont"]
    assert used == 2
    assert split_records([], start, 10) == ([], 0)


def test_leading_continuation_lines_form_their_own_record() -> None:
    records, used = split_records(["  orphan", "2026-01 a", "2026-02 b"], compile_start(r"^\d{4}-"), 10)
    assert records == ["  orphan", "2026-01 a"]
    assert used == 2


def test_max_lines_cuts_a_runaway_record() -> None:
    lines = ["start"] + [f"  {i}" for i in range(7)]
    records, used = split_records(lines, compile_start("^start"), 3)
    assert records == ["start\n  0\n  1", "  2\n  3\n  4"]
    assert used == 6  # "  5", "  6" stay open: fewer than max_lines, no start seen yet
    records, used = split_records(lines[:6], compile_start("^start"), 3)
    assert used == 6  # a record that reaches max_lines is complete even at the end


def test_bad_regex_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="invalid multiline start regex"):
        compile_start("(unclosed")
    assert set(PRESETS) == {"java", "python", "go"}
