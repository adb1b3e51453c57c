"""Fixtures for parser tests: a fixed clock for year-less stamps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

#: 2026-03-15 12:00:00 UTC: year-less stamps resolve to 2026 unless they are >2 days ahead.
FIXED_NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC).timestamp()


def ns(*args: int) -> int:
    """UTC civil time -> ns (test helper)."""
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1_000_000_000


@pytest.fixture
def now() -> float:
    return FIXED_NOW
