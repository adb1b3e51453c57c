"""Timestamp parsing: layouts, zones, detection cache, year-less stamps around New Year."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parsers.timestamps import (
    StrptimeFormat,
    TimestampParser,
    YearlessResolver,
    Zone,
    compile_strptime,
    parse_clf,
    parse_rfc3339,
    resolve_year,
)
from tests.parsers.conftest import ns


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", ns(2024, 5, 1, 12)),
        ("2024-05-01T12:00:00.123456789Z", ns(2024, 5, 1, 12) + 123456789),
        ("2024-05-01 14:00:00,5+02:00", ns(2024, 5, 1, 12) + 500_000_000),
        ("2024-05-01T07:00:00-0500", ns(2024, 5, 1, 12)),
        ("2024-05-01T12:00:00", ns(2024, 5, 1, 12)),
        ("2024-05-01", ns(2024, 5, 1)),
    ],
)
def test_rfc3339_variants(text: str, expected: int) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text", ["2024-13-01T00:00:00Z", "2024-05-01X12:00:00Z", "nope", "", "2024-05-01T12:00:00+9"]
)
def test_rfc3339_rejects_malformed(text: str) -> None:
    assert parse_rfc3339(text) is None


def test_clf_with_offset_and_millis() -> None:
    assert parse_clf("10/Oct/2000:13:55:36 -0700") == ns(2000, 10, 10, 20, 55, 36)
    assert parse_clf("30/Jul/2018:09:03:52.726") == ns(2018, 7, 30, 9, 3, 52) + 726_000_000
    assert parse_clf("10/Foo/2000:13:55:36 -0700") is None


def test_naive_times_use_the_configured_zone_with_dst() -> None:
    paris = Zone("Europe/Paris")
    assert paris.civil(2024, 1, 15, 12, 0, 0) == ns(2024, 1, 15, 11)  # CET, +1
    assert paris.civil(2024, 7, 15, 12, 0, 0) == ns(2024, 7, 15, 10)  # CEST, +2
    assert Zone("+05:30").civil(2024, 1, 1, 5, 30, 0) == ns(2024, 1, 1)
    with pytest.raises(ValueError, match="unknown time zone"):
        Zone("Mars/Olympus")


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("%Y-%m-%d %H:%M:%S", "2024-02-29 23:59:59", ns(2024, 2, 29, 23, 59, 59)),
        ("%d/%b/%Y:%H:%M:%S %z", "01/Feb/2024:00:00:00 +0100", ns(2024, 1, 31, 23)),
        ("%y%m%d %H%M%S", "081109 203615", ns(2008, 11, 9, 20, 36, 15)),
        ("%Y%m%d-%H:%M:%S:%q", "20171223-22:16:0:9", ns(2017, 12, 23, 22, 16) + 9_000_000),
        ("%s", "1700000000.25", 1_700_000_000_250_000_000),
        ("%b %d, %Y %I:%M:%S %p", "Jan 02, 2024 01:02:03 PM", ns(2024, 1, 2, 13, 2, 3)),
    ],
)
def test_strptime_formats(fmt: str, text: str, expected: int) -> None:
    assert StrptimeFormat(fmt).parse(text) == expected


def test_unknown_directive_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported directive %Q"):
        compile_strptime("%Y %Q")
    with pytest.raises(ValueError, match="unknown timestamp format"):
        TimestampParser("yesterday")


def test_auto_detects_and_keeps_the_last_format() -> None:
    tp = TimestampParser("auto", now=lambda: datetime(2026, 3, 15, tzinfo=UTC).timestamp())
    assert tp.parse("17/06/09 20:10:40") == ns(2017, 6, 9, 20, 10, 40)
    first = tp._last
    assert tp.parse("17/06/09 20:10:41") == ns(2017, 6, 9, 20, 10, 41)
    assert tp._last is first  # the cached format answered
    assert tp.parse(1_700_000_000_123) == 1_700_000_000_123_000_000  # ms by magnitude
    assert tp.parse("Mar  1 10:00:00") == ns(2026, 3, 1, 10)
    assert tp.parse("not a time") is None
    assert tp.parse(None) is None
    assert tp.parse(True) is None


def _at(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("ref", "month", "day", "year"),
    [
        (_at(2027, 1, 1, 0, 5), 12, 31, 2026),  # last year's line read just after New Year
        (_at(2026, 12, 31, 23, 59), 1, 1, 2027),  # sender's clock slightly ahead
        (_at(2026, 6, 1), 5, 31, 2026),
        (_at(2026, 6, 1), 6, 2, 2026),  # a day and a half ahead: still this year
        (_at(2026, 6, 1), 8, 1, 2025),  # months ahead: last year's (old rotated file)
        (_at(2025, 3, 1), 2, 29, 2024),  # Feb 29 only exists in leap years
    ],
)
def test_yearless_year_resolution(ref: float, month: int, day: int, year: int) -> None:
    assert resolve_year(month, day, 12, 0, 0, ref) == year


def test_yearless_resolver_follows_an_injected_clock() -> None:
    clock = [_at(2026, 12, 31, 23, 0)]
    r = YearlessResolver(lambda: clock[0])
    assert r.ns(12, 31, 22, 0, 0) == ns(2026, 12, 31, 22)
    clock[0] = _at(2027, 1, 1, 0, 30)  # a minute later the cache is dropped
    assert r.ns(12, 31, 22, 0, 0) == ns(2026, 12, 31, 22)
    assert r.ns(1, 1, 0, 10, 0) == ns(2027, 1, 1, 0, 10)
