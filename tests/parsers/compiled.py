"""Whether the compiled parser module is built; in CI it must be (the C compiler is installed)."""

from __future__ import annotations

import os

import pytest

from parsers.nginx import ACCELERATED


def require_compiled() -> None:
    """Skip when parsers._speedups is not built, except in CI, where that is a failure."""
    if ACCELERATED:
        return
    if os.environ.get("CI") and not os.environ.get("LOGAGENT_NO_EXTENSIONS"):
        pytest.fail("parsers._speedups is not built in CI: is a C compiler installed (.ci/system-deps.sh)?")
    pytest.skip("parsers._speedups is not built (no C compiler at install time)")
