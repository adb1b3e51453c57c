"""Retry policy shared by network sinks: what to retry, and how long to wait.

``classify`` is pure and table-tested: a sink maps its transport's outcome to an :class:`Outcome`
and the loop does the rest. Backoff is capped exponential with full jitter, and a server's
``Retry-After`` (seconds or HTTP date) wins when it is longer.
"""

from __future__ import annotations

import enum
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: 429, 5xx, connection errors, throttling
    REJECTED = "rejected"  # permanent: other 4xx; dead-letter, count, never resend


def classify_http(status: int | None) -> Outcome:
    """HTTP status (None: no response, a connection error) -> outcome."""
    if status is None:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 429 or status == 408 or status >= 500:
        return Outcome.RETRY
    return Outcome.REJECTED


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter."""

    initial_secs: float = 0.5
    max_secs: float = 30.0
    multiplier: float = 2.0
    attempt: int = 0
    rng: random.Random | None = None

    def next_delay(self, retry_after: float | None = None) -> float:
        """The wait before the next attempt (and count the attempt)."""
        cap = min(self.max_secs, self.initial_secs * (self.multiplier**self.attempt))
        self.attempt += 1
        delay = (self.rng or random).uniform(cap / 2, cap)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_secs * 4))
        return delay

    def reset(self) -> None:
        self.attempt = 0
