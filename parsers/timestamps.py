"""Timestamp parsing without dateutil: fixed-layout slicing, strptime-style formats compiled to
regexes, a detector that caches the last format that matched, and year-less syslog stamps.

Everything returns ns since the epoch (int) or None. Civil dates are turned into days with
integer arithmetic (no ``datetime`` object per line); time-zone offsets for named zones are looked
up once per (date, hour) and cached.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache, partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

NS = 1_000_000_000
#: The range of times accepted (years 1000-9999): anything outside is not a timestamp (and would
#: break RFC 3339 formatting downstream).
MIN_NS = -30_610_224_000 * NS
MAX_NS = 253_402_300_799 * NS

MONTHS: dict[str, int] = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
# Exact spellings seen in logs, so the hot path is one dict lookup without lower().
for _name, _num in list(MONTHS.items()):
    MONTHS[_name.capitalize()] = _num
    MONTHS[_name.upper()] = _num
MONTHS["Sept"] = 9


@lru_cache(maxsize=4096)
def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def to_ns(
    y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, frac_ns: int = 0, offset_s: int = 0
) -> int:
    """ns since the epoch of a civil time whose UTC offset is ``offset_s`` seconds."""
    if not (1 <= y <= 9999 and 1 <= mo <= 12 and 1 <= d <= 31 and h <= 24 and mi <= 59 and s <= 60):
        raise ValueError("field out of range")
    if d > 28 and d > _MONTH_DAYS[mo] + (mo == 2 and _leap(y)):
        raise ValueError("day out of range for month")
    ns = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_s) * NS + frac_ns
    if not MIN_NS <= ns <= MAX_NS:
        raise ValueError("time out of range")
    return ns


def frac_ns(digits: str) -> int:
    """A decimal fraction's digits (``"123"`` = .123 s) as ns."""
    if not digits:
        return 0
    return int((digits + "000000000")[:9])


_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)?")


_OFFSET_CACHE: dict[str, int | None] = {"Z": 0, "z": 0, "UTC": 0, "GMT": 0, "UT": 0, "": 0}


def parse_offset(text: str) -> int | None:
    """``Z``/``UTC``/``GMT``/``+01:00``/``+0100``/``-05`` -> seconds east of UTC; None if unknown."""
    try:
        return _OFFSET_CACHE[text]
    except KeyError:
        pass
    m = _OFFSET.fullmatch(text)
    if not m:
        return None
    secs = int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60
    off = -secs if m.group(1) == "-" else secs
    if len(_OFFSET_CACHE) < 256:
        _OFFSET_CACHE[text] = off
    return off


class Zone:
    """The UTC offset of naive civil times in one zone (fixed offsets are free; DST zones are
    looked up once per date and hour)."""

    def __init__(self, tz: str | tzinfo | None = None) -> None:
        if tz is None or tz in ("UTC", "utc", "Z"):
            self.fixed: int | None = 0
            self.tz: tzinfo = UTC
        elif isinstance(tz, tzinfo):
            self.tz = tz
            self.fixed = None
        else:
            off = parse_offset(tz)
            if off is not None:
                self.fixed = off
                self.tz = timezone(timedelta(seconds=off))
            else:
                if tz == "local":
                    self.tz = datetime.now().astimezone().tzinfo or UTC
                else:
                    try:
                        self.tz = ZoneInfo(tz)
                    except (ZoneInfoNotFoundError, ValueError):
                        raise ValueError(f"unknown time zone {tz!r}") from None
                self.fixed = None
        self._cache: dict[tuple[int, int, int, int], int] = {}

    def offset(self, y: int, mo: int, d: int, h: int) -> int:
        if self.fixed is not None:
            return self.fixed
        key = (y, mo, d, h)
        off = self._cache.get(key)
        if off is None:
            try:
                delta = datetime(y, mo, d, min(h, 23), tzinfo=self.tz).utcoffset()
            except ValueError:
                delta = None
            off = int(delta.total_seconds()) if delta is not None else 0
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[key] = off
        return off

    def civil(self, y: int, mo: int, d: int, h: int, mi: int, s: int, fns: int = 0) -> int:
        return to_ns(y, mo, d, h, mi, s, fns, self.offset(y, mo, d, h))


UTC_ZONE = Zone()

#: How far in the future (s) a year-less stamp may be before we decide it belongs to last year.
YEARLESS_FUTURE_SLACK_S = 2 * 86400


def resolve_year(mo: int, d: int, h: int, mi: int, s: int, ref_s: float, zone: Zone = UTC_ZONE) -> int:
    """The year of a year-less stamp (syslog's ``Dec 31 23:59:59``) read at ``ref_s``.

    The latest of (ref year + 1, ref year, ref year - 1) that does not put the stamp more than two
    days after the reference: a ``Dec 31`` line read on Jan 1 is last year's, a ``Jan 1`` line read
    on Dec 31 (a sender whose clock is slightly ahead) is next year's.
    """
    ref_year = time.gmtime(ref_s).tm_year
    limit = (ref_s + YEARLESS_FUTURE_SLACK_S) * NS
    for year in (ref_year + 1, ref_year, ref_year - 1):
        if mo == 2 and d == 29 and not _leap(year):
            continue
        if zone.civil(year, mo, d, h, mi, s) <= limit:
            return year
    return ref_year - 1


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


class YearlessResolver:
    """Resolves year-less stamps against a reference clock, caching the answer per (month, day)
    for the current clock minute (the answer only changes around New Year)."""

    def __init__(self, now: Callable[[], float] | None = None, zone: Zone = UTC_ZONE) -> None:
        self.now = now or time.time
        self.zone = zone
        self._cache: dict[tuple[int, int], int] = {}
        self._cache_minute = -1

    def ns(self, mo: int, d: int, h: int, mi: int, s: int, fns: int = 0) -> int:
        ref = self.now()
        minute = int(ref // 60)
        if minute != self._cache_minute:
            self._cache.clear()
            self._cache_minute = minute
        key = (mo, d)
        year = self._cache.get(key)
        if year is None:
            # Resolve with the last second of the day so one answer fits the whole day.
            year = resolve_year(mo, d, 0, 0, 0, ref, self.zone)
            self._cache[key] = year
        return self.zone.civil(year, mo, d, h, mi, s, fns)


# --- Fixed layouts (the hot ones), each a function str -> ns | None --------------------------


def parse_rfc3339(text: str, zone: Zone = UTC_ZONE) -> int | None:
    """``2024-05-01T12:00:00.123Z`` / ``+02:00`` / space instead of T / comma fraction / naive."""
    try:
        y = int(text[0:4])
        mo = int(text[5:7])
        d = int(text[8:10])
        if text[4] != "-" or text[7] != "-":
            return None
        if len(text) == 10:
            return zone.civil(y, mo, d, 0, 0, 0)
        if text[10] not in "T t_":
            return None
        h = int(text[11:13])
        mi = int(text[14:16])
        s = int(text[17:19])
        if text[13] != ":" or text[16] != ":":
            return None
        rest = text[19:]
        fns = 0
        if rest[:1] in (".", ","):
            i = 1
            n = len(rest)
            while i < n and rest[i].isdigit():
                i += 1
            fns = frac_ns(rest[1:i])
            rest = rest[i:]
        rest = rest.strip()
        if not rest:
            return zone.civil(y, mo, d, h, mi, s, fns)
        off = parse_offset(rest)
        if off is None:
            return None
        return to_ns(y, mo, d, h, mi, s, fns, off)
    except (ValueError, IndexError):
        return None


def parse_clf(text: str) -> int | None:
    """Common Log Format: ``10/Oct/2000:13:55:36 -0700`` (optionally with ``.123`` ms, HAProxy)."""
    try:
        d = int(text[0:2])
        mo = MONTHS[text[3:6]]
        y = int(text[7:11])
        h = int(text[12:14])
        mi = int(text[15:17])
        s = int(text[18:20])
        rest = text[20:]
        fns = 0
        if rest[:1] == ".":
            sp = rest.find(" ")
            digits = rest[1:] if sp < 0 else rest[1:sp]
            fns = frac_ns(digits)
            rest = "" if sp < 0 else rest[sp:]
        off = parse_offset(rest.strip()) if rest else 0
        if off is None:
            return None
        return to_ns(y, mo, d, h, mi, s, fns, off)
    except (ValueError, KeyError, IndexError):
        return None


def parse_unix(text: str, unit: int = NS) -> int | None:
    """Epoch seconds (``unit=NS``), ms (1e6), µs (1e3) or ns (1), integer or decimal."""
    try:
        whole, _, frac = text.partition(".")
        value = int(whole) * unit
        if frac:
            value += int((frac + "000000000")[:9]) * unit // NS
    except ValueError:
        return None
    return value if MIN_NS <= value <= MAX_NS else None


# --- strptime-style formats compiled to a regex -------------------------------------------------

_DIRECTIVES: dict[str, str] = {
    "Y": r"(?P<Y>\d{4})",
    "y": r"(?P<y>\d\d)",
    "m": r"(?P<m>\d\d?)",
    "d": r"(?P<d>\d\d?)",
    "e": r" ?(?P<d>\d\d?)",
    "H": r"(?P<H>\d\d?)",
    "k": r" ?(?P<H>\d\d?)",
    "I": r"(?P<I>\d\d?)",
    "M": r"(?P<M>\d\d?)",
    "S": r"(?P<S>\d\d?)",
    "f": r"(?P<f>\d{1,9})",
    "L": r"(?P<f>\d{3})",
    "q": r"(?P<q>\d{1,3})",
    "z": r"(?P<z>Z|[+-]\d\d:?(?:\d\d)?)",
    "Z": r"(?P<Z>[A-Za-z][A-Za-z0-9_/+-]*)",
    "b": r"(?P<b>[A-Za-z]{3,4})",
    "h": r"(?P<b>[A-Za-z]{3,4})",
    "B": r"(?P<b>[A-Za-z]+)",
    "a": r"[A-Za-z]{3}",
    "A": r"[A-Za-z]+",
    "p": r"(?P<p>AM|PM|am|pm)",
    "j": r"(?P<j>\d{3})",
    "s": r"(?P<s>\d+(?:\.\d+)?)",
    "T": r"(?P<H>\d\d):(?P<M>\d\d):(?P<S>\d\d)",
    "F": r"(?P<Y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)",
    "%": "%",
}

_LONG_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}


def compile_strptime(fmt: str) -> re.Pattern[str]:
    """A regex for a strptime-style format (``%Y-%m-%d %H:%M:%S.%f``; ``%f`` takes 1-9 digits,
    ``%e`` a space-padded day, ``%s`` epoch seconds). Raises ValueError on an unknown directive."""
    out = []
    i = 0
    seen: set[str] = set()
    while i < len(fmt):
        c = fmt[i]
        if c == "%":
            if i + 1 >= len(fmt):
                raise ValueError("format ends with a lone '%'")
            k = fmt[i + 1]
            if k not in _DIRECTIVES:
                raise ValueError(f"unsupported directive %{k}")
            piece = _DIRECTIVES[k]
            # A group may appear once in a regex: repeated directives become plain digit matches.
            names = set(re.findall(r"\?P<(\w+)>", piece))
            if names & seen:
                piece = re.sub(r"\?P<\w+>", "?:", piece)
            seen |= names
            out.append(piece)
            i += 2
        else:
            out.append(r"\s+" if c == " " else re.escape(c))
            i += 1
    return re.compile("".join(out))


class StrptimeFormat:
    """A compiled strptime-style format: ``parse(text) -> ns | None`` (a full match is required)."""

    def __init__(
        self,
        fmt: str,
        zone: Zone = UTC_ZONE,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.fmt = fmt
        self.regex = compile_strptime(fmt)
        self.zone = zone
        self.yearless = "Y" not in self.regex.groupindex and "y" not in self.regex.groupindex
        self.resolver = YearlessResolver(now, zone)
        self._cache: dict[str, int | None] = {}

    def parse(self, text: str) -> int | None:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        m = self.regex.fullmatch(text.strip())
        if m is None:
            return None
        try:
            ns = self.from_groups(m.groupdict())
        except (ValueError, KeyError):
            return None
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[text] = ns
        return ns

    def from_groups(self, g: dict[str, Any]) -> int:
        if g.get("s") is not None:
            return parse_unix(g["s"]) or 0
        mo = int(g["m"]) if g.get("m") else 1
        if g.get("b"):
            b = g["b"]
            mo = MONTHS.get(b[:3]) or MONTHS.get(b[:3].lower()) or _LONG_MONTHS[b.lower()]
        d = int(g["d"]) if g.get("d") else 1
        if g.get("j"):
            jday = int(g["j"])
        else:
            jday = 0
        h = int(g["H"]) if g.get("H") else 0
        if g.get("I"):
            h = int(g["I"]) % 12 + (12 if (g.get("p") or "").lower() == "pm" else 0)
        mi = int(g["M"]) if g.get("M") else 0
        s = int(g["S"]) if g.get("S") else 0
        fns = frac_ns(g["f"]) if g.get("f") else int(g["q"]) * 1_000_000 if g.get("q") else 0
        if g.get("Y"):
            y = int(g["Y"])
        elif g.get("y"):
            y = 2000 + int(g["y"]) if int(g["y"]) < 69 else 1900 + int(g["y"])
        else:
            y = None
        off: int | None = None
        if g.get("z"):
            off = parse_offset(g["z"])
        elif g.get("Z"):
            off = parse_offset(g["Z"])
            if off is None:
                off = Zone(g["Z"]).offset(y or 2000, mo, d, h)
        if y is None:
            ns = self.resolver.ns(mo, d, h, mi, s, fns)
            if off is not None:
                ns += (self.zone.offset(2000, mo, d, h) - off) * NS
            return ns
        if jday:
            base = days_from_civil(y, 1, 1) + jday - 1
            secs = (
                base * 86400
                + h * 3600
                + mi * 60
                + s
                - (off if off is not None else self.zone.offset(y, 1, 1, h))
            )
            return secs * NS + fns
        if off is not None:
            return to_ns(y, mo, d, h, mi, s, fns, off)
        return self.zone.civil(y, mo, d, h, mi, s, fns)


# --- Named formats and auto-detection -----------------------------------------------------------

#: Named formats accepted wherever a timestamp ``format`` is configured.
NAMED_FORMATS = ("auto", "rfc3339", "iso8601", "clf", "syslog", "unix", "unix_ms", "unix_us", "unix_ns")

_SYSLOG_TS = re.compile(r"([A-Z][a-z]{2}) +(\d\d?) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?: (\d{4}))?")


class TimestampParser:
    """Parses timestamps in one configured format, or detects it (``auto``) and keeps using the
    format that matched last (the cache makes detection a one-off per source)."""

    def __init__(
        self, fmt: str = "auto", tz: str | tzinfo | None = None, now: Callable[[], float] | None = None
    ) -> None:
        self.zone = Zone(tz)
        self.now = now or time.time
        self.resolver = YearlessResolver(self.now, self.zone)
        self.fmt = fmt
        self._candidates: list[Callable[[str], int | None]]
        if fmt == "auto":
            self._candidates = [
                self._rfc3339,
                self._unix_auto,
                parse_clf,
                self._syslog,
                *(StrptimeFormat(f, self.zone, self.now).parse for f in _AUTO_STRPTIME),
            ]
        elif fmt in ("rfc3339", "iso8601"):
            self._candidates = [self._rfc3339]
        elif fmt == "clf":
            self._candidates = [parse_clf]
        elif fmt == "syslog":
            self._candidates = [self._syslog]
        elif fmt.startswith("unix"):
            unit = {"unix": NS, "unix_ms": 1_000_000, "unix_us": 1000, "unix_ns": 1}.get(fmt)
            if unit is None:
                raise ValueError(f"unknown timestamp format {fmt!r} (one of {', '.join(NAMED_FORMATS)})")
            self._candidates = [partial(parse_unix, unit=unit)]
        elif "%" in fmt:
            self._candidates = [StrptimeFormat(fmt, self.zone, self.now).parse]
        else:
            raise ValueError(
                f"unknown timestamp format {fmt!r}: a strptime pattern (%Y-%m-%d ...) or one of "
                f"{', '.join(NAMED_FORMATS)}"
            )
        self._last = self._candidates[0]

    def _rfc3339(self, text: str) -> int | None:
        return parse_rfc3339(text, self.zone)

    def _syslog(self, text: str) -> int | None:
        m = _SYSLOG_TS.fullmatch(text)
        if not m:
            return None
        mo = MONTHS.get(m.group(1))
        if mo is None:
            return None
        fns = frac_ns(m.group(6) or "")
        try:
            if m.group(7):
                return self.zone.civil(
                    int(m.group(7)),
                    mo,
                    int(m.group(2)),
                    int(m.group(3)),
                    int(m.group(4)),
                    int(m.group(5)),
                    fns,
                )
            return self.resolver.ns(
                mo, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)), fns
            )
        except ValueError:
            return None

    @staticmethod
    def _unix_auto(text: str) -> int | None:
        # Digits only: pick the unit from the magnitude (s: 10 digits, ms: 13, µs: 16, ns: 19).
        whole = text.partition(".")[0]
        if not whole.isdigit() or not 9 <= len(whole) <= 19:
            return None
        n = len(whole)
        unit = NS if n <= 11 else 1_000_000 if n <= 14 else 1000 if n <= 17 else 1
        return parse_unix(text, unit)

    def _number(self, value: float) -> int | None:
        if self.fmt == "auto":
            mag = abs(value)
            unit = NS if mag < 1e11 else 1_000_000 if mag < 1e14 else 1000 if mag < 1e17 else 1
        elif self.fmt.startswith("unix"):
            unit = {"unix": NS, "unix_ms": 1_000_000, "unix_us": 1000, "unix_ns": 1}[self.fmt]
        else:
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None
        ns = value * unit if isinstance(value, int) else round(value * unit)
        return ns if MIN_NS <= ns <= MAX_NS else None

    def parse(self, value: Any) -> int | None:
        """ns since the epoch, or None when ``value`` is not a timestamp in the format(s)."""
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return self._number(value)
        if not isinstance(value, str) or not value:
            return None
        ns = self._last(value)
        if ns is not None:
            return ns
        for cand in self._candidates:
            if cand is not self._last:
                ns = cand(value)
                if ns is not None:
                    self._last = cand
                    return ns
        return None


# Formats tried by ``auto`` after the fixed layouts (cheapest and commonest first).
_AUTO_STRPTIME = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S.%f",
    "%a %b %d %H:%M:%S %Y",
    "%a %b %d %H:%M:%S.%f %Y",
    "%d-%b-%Y %H:%M:%S.%f",
    "%d-%b-%Y %H:%M:%S",
    "%d/%b/%Y:%H:%M:%S",
    "%y/%m/%d %H:%M:%S",
    "%Y%m%d-%H:%M:%S:%f",
    "%y%m%d %H%M%S",
    "%Y.%m.%d %H:%M:%S",
    "%Y-%m-%d-%H.%M.%S.%f",
    "%m/%d/%Y %H:%M:%S",
    "%m-%d %H:%M:%S.%f",
    "%b %d, %Y %I:%M:%S %p",
)

#: Zone abbreviations PostgreSQL/MySQL and friends print (seconds east of UTC). Ambiguous
#: ones (IST, CST) take their most common meaning.
TZ_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0,
    "GMT": 0,
    "UT": 0,
    "Z": 0,
    "WET": 0,
    "WEST": 3600,
    "BST": 3600,
    "CET": 3600,
    "CEST": 7200,
    "MET": 3600,
    "MEST": 7200,
    "EET": 7200,
    "EEST": 10800,
    "MSK": 10800,
    "IST": 19800,
    "JST": 32400,
    "KST": 32400,
    "HKT": 28800,
    "SGT": 28800,
    "AEST": 36000,
    "AEDT": 39600,
    "NZST": 43200,
    "NZDT": 46800,
    "EST": -18000,
    "EDT": -14400,
    "CST": -21600,
    "CDT": -18000,
    "MST": -25200,
    "MDT": -21600,
    "PST": -28800,
    "PDT": -25200,
    "AKST": -32400,
    "AKDT": -28800,
    "HST": -36000,
}
