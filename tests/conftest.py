"""Test-session guards and shared fixtures.

No test may reach a real cloud endpoint: the proxies point at a dead local port (with loopback
exempt), and AWS credentials are dummies.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Set at import time so every client created anywhere in the session sees them.
os.environ["HTTPS_PROXY"] = os.environ["HTTP_PROXY"] = "http://127.0.0.1:9"
os.environ["https_proxy"] = os.environ["http_proxy"] = "http://127.0.0.1:9"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("LOGAGENT_CONFIG", None)

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str) -> str:
    """The path of a system tool; skip when missing outside CI (in CI a missing tool fails)."""
    path = shutil.which(name) or (name if os.path.exists(name) else None)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required in CI (installed by .ci/system-deps.sh)")
        pytest.skip(f"{name} not installed")
    return path


def require_corpus(*parts: str) -> Path:
    """A path under ../shared/corpus; skip when shared/ is absent (it is present in CI)."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        if IN_CI:
            pytest.fail(f"corpus file {path} missing in CI")
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d
