"""An unreadable file is reported and retried; once readable, its lines ship.

The agent runs as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (setpriv), so file modes
bind it like any user.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess, read_events

NOBODY = 65534
DROP_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_permissions_restored_later(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    out = tmp_path / "out"
    secret = logs / "app.log"
    secret.write_text("hidden 1\nhidden 2\n")
    os.chown(secret, NOBODY, NOBODY)
    secret.chmod(0o600)  # nobody's, private: unreadable without DAC override
    (logs / "open.log").write_text("visible\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""
[agent]
data_dir = "{tmp_path / "data"}"
listen = "127.0.0.1:0"
[sources.app]
type = "file"
include = ["{logs}/*.log"]
poll_interval_secs = 0.2
rescan_interval_secs = 0.5
[sinks.out]
type = "file"
path = "{out}"
""")
    with AgentProcess(cfg, prefix=DROP_DAC).start() as agent:
        agent.wait_for_log("Cannot open")
        secret.chmod(0o644)
        deadline = time.monotonic() + 30
        while len(read_events(out)) < 3:
            assert time.monotonic() < deadline, agent.log()
            time.sleep(0.05)
        assert agent.stop() == 0
    assert sorted(e["line"] for e in read_events(out)) == ["hidden 1", "hidden 2", "visible"]
    # Reported once, not once per retry.
    assert sum("Cannot open" in line for line in agent.stderr_lines) == 1
