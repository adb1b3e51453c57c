"""Pure planning of PutLogEvents requests: from a list of events to requests the service accepts.

Nothing here does I/O. :func:`plan` takes the events bound for one log stream and returns the
requests to send plus the events dropped on purpose, by reason:

- an empty message is dropped ("empty": the API requires at least one character);
- an event older than 14 days or than the group's retention, or more than 2 hours ahead, is
  dropped ("too_old", "expired", "too_new"): the service would reject it anyway;
- a message longer than the maximum event size is split into several consecutive events with
  the same timestamp, cut on UTF-8 character boundaries (nothing is lost);
- events are sorted by timestamp (stable), then cut into requests of at most 10,000 events,
  1,048,576 bytes counting 26 bytes per event, spanning less than 24 hours.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add, itemgetter
from typing import NamedTuple

from logagent.sinks.cloudwatch import limits

DAY_MS = 24 * 3600 * 1000


class Event(NamedTuple):
    """One log event: time (ms), message, its UTF-8 size, and the caller's tag (its source batch)."""

    ts_ms: int
    message: str
    nbytes: int
    tag: int


@dataclass
class Plan:
    """What to send for one stream, and what was dropped (reason -> events) or split."""

    requests: list[list[Event]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    #: Lines that were longer than the event size limit and became several events.
    split_lines: int = 0


def utf8_pieces(message: str, max_bytes: int) -> list[str]:
    """``message`` cut into pieces of at most ``max_bytes`` UTF-8 bytes, on character boundaries."""
    data = message.encode("utf-8")
    if len(data) <= max_bytes:
        return [message]
    if max_bytes < 4:
        raise ValueError("max_bytes must hold at least one UTF-8 character (4 bytes)")
    pieces = []
    start = 0
    n = len(data)
    while start < n:
        end = min(start + max_bytes, n)
        # Back off over continuation bytes (0b10xxxxxx) so a character is never cut.
        while end < n and (data[end] & 0xC0) == 0x80:
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start = end
    return pieces


def max_message_bytes(max_event_bytes: int = limits.MAX_EVENT_BYTES) -> int:
    """The largest message of one event: the event size minus the per-event overhead."""
    return max_event_bytes - limits.EVENT_OVERHEAD_BYTES


def drop_out_of_range(
    events: list[Event], now_ms: int, retention_days: int | None = None
) -> tuple[list[Event], Counter[str]]:
    """Events the service would accept by time, and counts of the others by reason."""
    oldest = now_ms - limits.MAX_EVENT_AGE_MS
    expired_before = now_ms - retention_days * DAY_MS if retention_days is not None else oldest
    newest = now_ms + limits.MAX_EVENT_FUTURE_MS
    low = max(oldest, expired_before)
    dropped: Counter[str] = Counter()
    if not events:
        return events, dropped
    stamps = list(map(_TS, events))
    if low <= min(stamps) and max(stamps) <= newest:
        return events, dropped  # the usual case, checked at C speed
    kept = [e for e in events if low <= e[0] <= newest]
    for e in events:
        if e[0] > newest:
            dropped["too_new"] += 1
        elif e[0] < oldest:
            dropped["too_old"] += 1
        elif e[0] < expired_before:
            dropped["expired"] += 1
    return kept, dropped


def split_long(events: list[Event], max_bytes: int) -> tuple[list[Event], int]:
    """Events with every message over ``max_bytes`` split into several; and how many were split."""
    if not events or max(map(_NBYTES, events)) <= max_bytes:
        return events, 0
    out: list[Event] = []
    split = 0
    for e in events:
        if e.nbytes <= max_bytes:
            out.append(e)
            continue
        split += 1
        for piece in utf8_pieces(e.message, max_bytes):
            out.append(Event(e.ts_ms, piece, len(piece.encode("utf-8")), e.tag))
    return out, split


def cut_requests(
    events: list[Event],
    max_events: int = limits.MAX_REQUEST_EVENTS,
    max_bytes: int = limits.MAX_REQUEST_BYTES,
) -> list[list[Event]]:
    """Sort ``events`` by time (stable) and cut them into requests within every request limit.

    ``max_events``/``max_bytes`` may be lower than the API's limits, never higher. The work is
    per request, not per event: prefix sums and binary search find each cut.
    """
    max_events = min(max_events, limits.MAX_REQUEST_EVENTS)
    max_bytes = min(max_bytes, limits.MAX_REQUEST_BYTES)
    stamps = list(map(_TS, events))
    if stamps != sorted(stamps):
        events = sorted(events, key=_TS)
        stamps = list(map(_TS, events))
    # costs[k]: the size of events[0:k] as the service counts it (message bytes + 26 each).
    sizes = map(add, map(_NBYTES, events), repeat(limits.EVENT_OVERHEAD_BYTES))
    costs = list(accumulate(sizes, initial=0))
    n = len(events)
    requests: list[list[Event]] = []
    i = 0
    while i < n:
        by_count = min(n, i + max_events)
        by_bytes = bisect_right(costs, costs[i] + max_bytes, i, n + 1) - 1
        by_span = bisect_left(stamps, stamps[i] + limits.MAX_REQUEST_SPAN_MS, i, n)
        j = min(by_count, by_bytes, by_span)
        if j <= i:
            raise ValueError(f"an event of {events[i][2]} bytes cannot fit a request of {max_bytes} bytes")
        requests.append(events[i:j])
        i = j
    return requests


_TS = itemgetter(0)
_NBYTES = itemgetter(2)


def request_bytes(events: list[Event]) -> int:
    """A request's size as the service counts it."""
    return sum(map(_NBYTES, events)) + limits.EVENT_OVERHEAD_BYTES * len(events)


def plan(
    events: list[Event],
    now_ms: int,
    *,
    retention_days: int | None = None,
    max_event_bytes: int = limits.MAX_EVENT_BYTES,
    max_events: int = limits.MAX_REQUEST_EVENTS,
    max_bytes: int = limits.MAX_REQUEST_BYTES,
) -> Plan:
    """The requests for one stream's ``events`` (see the module docstring for every rule)."""
    result = Plan()
    nonempty = events
    if events and min(map(_NBYTES, events)) == 0:
        nonempty = [e for e in events if e.nbytes > 0]
        result.dropped["empty"] += len(events) - len(nonempty)
    kept, dropped = drop_out_of_range(nonempty, now_ms, retention_days)
    result.dropped.update(dropped)
    # A request smaller than one event would loop forever: the event size yields to the request size.
    limit = min(
        max_message_bytes(max_event_bytes),
        min(max_bytes, limits.MAX_REQUEST_BYTES) - limits.EVENT_OVERHEAD_BYTES,
    )
    kept, result.split_lines = split_long(kept, limit)
    result.requests = cut_requests(kept, max_events, max_bytes)
    return result


def rejected_counts(info: dict[str, int], n: int) -> Counter[str]:
    """Events of an ``n``-event request the service refused, by reason, from its
    ``rejectedLogEventsInfo``: events before ``tooOldLogEventEndIndex`` are too old, those before
    ``expiredLogEventEndIndex`` expired, those from ``tooNewLogEventStartIndex`` on too new."""
    drops: Counter[str] = Counter()
    old_end = 0
    too_old = info.get("tooOldLogEventEndIndex")
    if too_old is not None:
        old_end = min(max(int(too_old), 0), n)
        drops["too_old"] = old_end
    expired = info.get("expiredLogEventEndIndex")
    if expired is not None:
        end = min(max(int(expired), 0), n)
        drops["expired"] = max(0, end - old_end)
        old_end = max(old_end, end)
    too_new = info.get("tooNewLogEventStartIndex")
    if too_new is not None:
        drops["too_new"] = max(0, n - max(int(too_new), old_end))
    return +drops  # without zero counts
