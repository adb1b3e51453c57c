"""Real journal files: export-format text turned into a .journal by systemd-journal-remote."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BASE_US = 1_700_000_000_000_000


def export_entry(fields: dict[str, str | bytes]) -> bytes:
    """One entry in journal export format; bytes values (or text with control chars) go binary."""
    out = []
    for name, value in fields.items():
        raw = value if isinstance(value, bytes) else value.encode()
        binary = isinstance(value, bytes) or any(c < 32 and c != 9 for c in raw)
        if binary:
            out.append(name.encode() + b"\n" + struct.pack("<Q", len(raw)) + raw + b"\n")
        else:
            out.append(name.encode() + b"=" + raw + b"\n")
    return b"".join(out) + b"\n"


def entry(i: int, message: str | bytes, **extra: str) -> bytes:
    """A typical service entry number ``i`` (its realtime stamp is BASE_US + i µs)."""
    fields: dict[str, str | bytes] = {
        "__REALTIME_TIMESTAMP": str(BASE_US + i),
        "_HOSTNAME": "host1",
        "PRIORITY": "6",
        "_SYSTEMD_UNIT": "app.service",
        "SYSLOG_IDENTIFIER": "app",
        "_PID": "42",
        "MESSAGE": message,
    }
    fields.update(extra)
    return export_entry(fields)


def write_journal(path: Path, data: bytes) -> None:
    """Append export-format ``data`` to the journal file ``path`` (created if missing)."""
    subprocess.run(
        [JOURNAL_REMOTE, "-o", str(path), "-"], input=data, check=True, capture_output=True, timeout=30
    )


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    require_tool(JOURNAL_REMOTE)
    require_tool("journalctl")
    d = tmp_path / "journal"
    d.mkdir()
    return d
