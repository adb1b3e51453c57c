"""The unit file passes systemd's own checks: verify (any output fails) and the security gate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO, require_tool

UNIT = REPO / "systemd" / "logagent.service"


def make_root(tmp_path: Path) -> Path:
    """A root with the unit, a stub logagent binary and systemd's own units (verify needs them)."""
    root = tmp_path / "root"
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "lib").mkdir()
    stub = root / "usr/local/bin/logagent"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    shutil.copytree("/lib/systemd", root / "lib/systemd", symlinks=True)
    shutil.copy(UNIT, root / "etc/systemd/system/logagent.service")
    return root


def test_unit_verifies_without_any_warning(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    root = make_root(tmp_path)
    r = subprocess.run(
        [analyze, "verify", f"--root={root}", "/etc/systemd/system/logagent.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stdout + r.stderr


def test_unit_verify_catches_a_bad_key(tmp_path: Path) -> None:
    """The check above can fail: a typo produces output."""
    analyze = require_tool("systemd-analyze")
    root = make_root(tmp_path)
    unit = root / "etc/systemd/system/logagent.service"
    unit.write_text(unit.read_text().replace("NoNewPrivileges=yes", "NoNewPrivilegez=yes"))
    r = subprocess.run(
        [analyze, "verify", f"--root={root}", "/etc/systemd/system/logagent.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "NoNewPrivilegez" in r.stderr


def test_unit_hardening_exposure_is_ok() -> None:
    analyze = require_tool("systemd-analyze")
    r = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=20", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout[-2000:]
    assert "OK" in r.stdout.splitlines()[-1], r.stdout.splitlines()[-1]


def test_unit_is_notify_with_watchdog_and_validated_reload() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "StateDirectory=logagent",
        "ExecStartPre=/usr/local/bin/logagent check-config",
        "ExecReload=/usr/local/bin/logagent reload --config /etc/logagent/logagent.toml --pid $MAINPID",
        "SupplementaryGroups=adm systemd-journal",
    ):
        assert line in text
