"""RFC 3339 timestamps (Docker's and CRI's RFC3339Nano) to nanoseconds since the epoch.

Docker trims trailing zeros of the fraction, so its length varies; CRI may carry a numeric
offset. The date-and-seconds prefix repeats from line to line, so its conversion is cached: a
line costs a dict lookup and an ``int()`` of the fraction.
"""

from __future__ import annotations

import calendar
import time

_CACHE_MAX = 4096
_seconds: dict[str, int] = {}


#: Multipliers from a fraction of n digits to nanoseconds.
_SCALE = tuple(10 ** (9 - n) for n in range(10))


def _seconds_of(head: str) -> int | None:
    base = _seconds.get(head)
    if base is None:
        if len(head) != 19 or head[10] not in "Tt ":
            return None
        try:
            base = calendar.timegm(time.strptime(head[:10] + "T" + head[11:], "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            return None
        if len(_seconds) >= _CACHE_MAX:
            _seconds.clear()
        _seconds[head] = base
    return base


def parse_rfc3339_ns(value: str) -> int | None:
    """``2024-05-01T12:00:00.1234567Z`` (or ``+02:00``) -> ns since the epoch; None if malformed."""
    base = _seconds.get(value[:19])
    if base is None:
        base = _seconds_of(value[:19])
        if base is None:
            return None
    n = len(value)
    # Fast path, every Docker line: UTC with 1 to 9 fraction digits.
    if n > 21 and value[n - 1] == "Z" and value[19] == "." and n <= 30:
        digits = value[20 : n - 1]
        if digits.isdigit() and digits.isascii():
            return base * 1_000_000_000 + int(digits) * _SCALE[n - 21]
        return None
    rest = value[19:]
    frac = 0
    if rest[:1] == ".":
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        digits = rest[1:end]
        if not digits or not digits.isascii():
            return None
        frac = int(digits[:9].ljust(9, "0"))
        rest = rest[end:]
    if rest == "Z" or rest == "z":
        offset = 0
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":" and rest[1:3].isdigit() and rest[4:].isdigit():
        offset = int(rest[1:3]) * 3600 + int(rest[4:]) * 60
        if rest[0] == "-":
            offset = -offset
    else:
        return None
    return (base - offset) * 1_000_000_000 + frac
