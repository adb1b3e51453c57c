"""The Ansible role and the systemd unit, for real: systemd as PID 1 in a podman container.

The playbook (deploy/ansible/site.yml) runs inside the container against it, installing the
wheel built from this tree (from a local wheelhouse: pip needs no index), templating the config,
installing ``systemd/logagent.service`` and starting it. Then: the unit is active through
READY=1 and shows STATUS=, a rerun changes nothing, a changed variable reloads the agent, a broken
config is refused on reload, a frozen loop is killed by the watchdog and restarted, and a stop
drains and checkpoints. The tests share one container and run in file order.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO
from tests.deploy.conftest import build_env, podman, wait_for

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(1800)]

UNIT = "logagent"
APP_LOG = "/var/log/app/app.log"
SINK_OUT = "/var/lib/logagent/out/local/events.ndjson"
CHECKPOINTS = "/var/lib/logagent/checkpoints.json"
RECAP = re.compile(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
#: A playbook run: its output and the recap counts.
Run = tuple[str, dict[str, int]]
WHEEL_CACHE = Path(os.environ.get("LOGAGENT_CI_CACHE", "/var/cache/logagent-ci")) / "wheels"
DROP_IN = "/etc/systemd/system/logagent.service.d/10-test-watchdog.conf"


class Host:
    """The systemd container: run commands in it, read its units' state."""

    def __init__(self, name: str, wheel: str) -> None:
        self.name = name
        self.wheel = wheel

    def sh(self, script: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return podman("exec", self.name, "sh", "-c", script, check=check, timeout=timeout)

    def show(self, *props: str) -> dict[str, str]:
        out = self.sh(f"systemctl show {UNIT} " + " ".join(f"-p {p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal_since(self, cursor: str) -> str:
        return self.sh(f"journalctl -u {UNIT} --no-pager -o cat --after-cursor='{cursor}'").stdout

    def wait_journal(self, cursor: str, needle: str, timeout: float = 30) -> str:
        """The unit's journal after ``cursor`` once it contains ``needle`` (journald may lag)."""

        def found() -> str | None:
            text = self.journal_since(cursor)
            return text if needle in text else None

        return wait_for(found, timeout, f"{needle!r} in the journal")  # type: ignore[return-value]

    def cursor(self) -> str:
        out = self.sh("journalctl --no-pager -n 0 --show-cursor").stdout
        return out.strip().rsplit("cursor: ", 1)[-1]

    def playbook(self, extra: dict | None = None) -> Run:
        """Run site.yml; returns the output and the recap counts (ok, changed, unreachable, failed)."""
        variables = {
            "ansible_python_interpreter": "/usr/bin/python3",
            "logagent_package": f"/dist/{self.wheel}",
            # A local wheelhouse: the install needs no package index.
            "logagent_pip_environment": {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/dist"},
            # The image's apt lists (from its build) count as fresh: no mirror round trip per run.
            "logagent_apt_cache_valid_time": 10 * 365 * 86400,
            "logagent_sources": {"app": {"type": "file", "include": ["/var/log/app/*.log"]}},
            "logagent_sinks": {"local": {"type": "file"}},
            **(extra or {}),
        }
        r = podman(
            "exec",
            "-w",
            "/repo/deploy/ansible",
            self.name,
            "/opt/ansible/bin/ansible-playbook",
            "-i",
            "inventory.ini",
            "-e",
            json.dumps(variables),
            "site.yml",
            check=False,
            timeout=600,
        )
        match = RECAP.search(r.stdout)
        assert r.returncode == 0 and match, r.stdout[-4000:] + r.stderr[-2000:]
        counts = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))
        return r.stdout, counts

    def sink_lines(self, path: str) -> list[str]:
        out = self.sh(f"cat {SINK_OUT} 2>/dev/null || true").stdout
        return [e["line"] for e in map(orjson.loads, out.splitlines()) if e.get("path") == path]

    def checkpoint_offset(self, path: str) -> int | None:
        entries = orjson.loads(self.sh(f"cat {CHECKPOINTS}").stdout)["entries"]
        offsets = [
            e["value"]["offset"]
            for e in entries.values()
            if isinstance(e["value"], dict) and e["value"].get("path") == path
        ]
        return offsets[0] if offsets else None

    def wait_active(self, what: str, timeout: float = 60) -> dict[str, str]:
        def active() -> dict[str, str] | None:
            state = self.show("ActiveState", "SubState", "MainPID", "NRestarts", "StatusText")
            return state if state["ActiveState"] == "active" and state["SubState"] == "running" else None

        return wait_for(active, timeout, what, interval=0.5)  # type: ignore[return-value]


def pip_wheel(out: Path, *args: str) -> None:
    r = subprocess.run(
        [str(REPO / ".venv" / "bin" / "pip"), "wheel", "-q", "-w", str(out), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=build_env(),
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This tree's wheel and its dependencies' wheels (built on the host, same Python 3.11).

    The dependencies' wheels are kept in the CI cache, keyed by the dependency list: resolving
    them against the index is the slow part, and they change far less often than the code.
    """
    out = tmp_path_factory.mktemp("wheelhouse")
    deps = sorted(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    cache = WHEEL_CACHE / hashlib.sha256("\n".join(deps).encode()).hexdigest()[:16]
    if not (cache / ".complete").exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        pip_wheel(cache, *deps)
        (cache / ".complete").touch()
    for wheel in cache.glob("*.whl"):
        shutil.copy(wheel, out)
    pip_wheel(out, "--no-deps", str(REPO))
    (wheel,) = (p.name for p in out.glob("logagent-*.whl"))
    return out, wheel


@pytest.fixture(scope="module")
def host(
    systemd_image: str, wheelhouse: tuple[Path, str], container_name: Callable[[str], str]
) -> Iterator[Host]:
    wheels, wheel = wheelhouse
    name = container_name("systemd")
    podman(
        "run",
        "-d",
        "--name",
        name,
        "--network=host",
        "--systemd=always",
        # Without SYS_ADMIN the hardened unit fails to set up its namespaces (226/NAMESPACE).
        "--cap-add",
        "SYS_ADMIN",
        "-v",
        f"{REPO}:/repo:ro",
        "-v",
        f"{wheels}:/dist:ro",
        systemd_image,
    )
    h = Host(name, wheel)
    wait_for(
        lambda: h.sh("systemctl is-system-running", check=False).stdout.strip() in ("running", "degraded"),
        120,
        "systemd in the container to finish booting",
        interval=0.5,
    )
    # Lines waiting before the agent is installed: read from the beginning once it starts.
    h.sh(f"mkdir -p /var/log/app && printf 'before install %s\\n' 1 2 3 > {APP_LOG}")
    yield h
    podman("rm", "-f", "-t", "0", name, check=False)


@pytest.fixture(scope="module")
def first_run(host: Host) -> Run:
    return host.playbook()


def test_playbook_installs_and_the_unit_becomes_active_through_ready(host: Host, first_run: Run) -> None:
    _, counts = first_run
    assert counts["failed"] == 0 and counts["changed"] > 0
    state = host.show("Type", "ActiveState", "SubState", "StatusText", "Result")
    # Type=notify: systemd reports active only after the agent's READY=1.
    assert state["Type"] == "notify"
    assert (state["ActiveState"], state["SubState"], state["Result"]) == ("active", "running", "success")
    assert state["StatusText"].startswith("Running: 1 sources, 1 sinks;"), state
    assert "STATUS=" not in state["StatusText"]
    assert host.sh(f"systemctl is-enabled {UNIT}").stdout.strip() == "enabled"
    wait_for(lambda: host.sink_lines(APP_LOG) == [f"before install {i}" for i in (1, 2, 3)], 30, "the lines")


def test_second_run_changes_nothing(host: Host, first_run: Run) -> None:
    pid = host.show("MainPID")["MainPID"]
    _, counts = host.playbook()
    assert counts["changed"] == 0 and counts["failed"] == 0, counts
    assert host.show("MainPID")["MainPID"] == pid


def test_changed_variable_reloads_the_running_agent(host: Host, first_run: Run) -> None:
    before = host.show("MainPID", "NRestarts")
    cursor = host.cursor()
    out, counts = host.playbook({"logagent_labels": {"env": "ci"}})
    # Two changes: the config file and the reload handler it notified.
    assert counts["changed"] == 2 and counts["failed"] == 0, counts
    assert "RUNNING HANDLER [logagent : Reload logagent]" in out
    assert "Restart logagent" not in out
    # Same process, new config: the agent re-read it on SIGHUP.
    state = host.wait_active("the reloaded agent")
    assert (state["MainPID"], state["NRestarts"]) == (before["MainPID"], before["NRestarts"])
    host.wait_journal(cursor, "Reloading the config")
    host.sh(f"echo 'after reload' >> {APP_LOG}")

    def labelled() -> bool:
        out = host.sh(f"cat {SINK_OUT}").stdout
        events = [orjson.loads(line) for line in out.splitlines()]
        return any(e["line"] == "after reload" and e["labels"].get("env") == "ci" for e in events)

    wait_for(labelled, 30, "an event with the new label")


def test_reload_with_a_broken_config_is_refused(host: Host, first_run: Run) -> None:
    pid = host.wait_active("the agent")["MainPID"]
    host.sh("cp /etc/logagent/logagent.toml /root/good.toml")
    cursor = host.cursor()
    try:
        host.sh("printf '[sinks.bad]\\ntype = \"nope\"\\n' > /etc/logagent/logagent.toml")
        r = host.sh(f"systemctl reload {UNIT}", check=False)
        assert r.returncode != 0
        state = host.show("ActiveState", "SubState", "MainPID")
        assert (state["ActiveState"], state["SubState"], state["MainPID"]) == ("active", "running", pid)
        journal = host.wait_journal(cursor, "reload refused; the running config stays")
        assert "sinks.bad" in journal
    finally:
        host.sh("cp /root/good.toml /etc/logagent/logagent.toml")


def test_frozen_loop_is_killed_by_the_watchdog_and_restarted(host: Host, first_run: Run) -> None:
    # A short watchdog for the test (the unit's 30s is too long to wait for).
    host.sh(
        f"mkdir -p {Path(DROP_IN).parent} && "
        f"printf '[Service]\\nWatchdogSec=3s\\nTimeoutAbortSec=5s\\nRestartSec=1s\\n' > {DROP_IN} && "
        f"systemctl daemon-reload && systemctl restart {UNIT}"
    )
    try:
        before = host.wait_active("the agent with the short watchdog")
        assert host.show("WatchdogUSec")["WatchdogUSec"] == "3s"
        # A live loop pings (WATCHDOG=1 moves systemd's watchdog timestamp) and is left alone
        # for longer than WatchdogSec.
        pings = [host.show("WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]]

        def pinged_again() -> bool:
            ts = host.show("WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]
            if ts != pings[-1]:
                pings.append(ts)
            return len(pings) >= 4

        wait_for(pinged_again, 30, "three watchdog pings", interval=0.5)
        assert host.show("MainPID", "NRestarts").items() <= before.items()
        cursor = host.cursor()
        host.sh(f"systemctl kill -s SIGSTOP {UNIT}")

        def restarted() -> dict[str, str] | None:
            state = host.show("ActiveState", "SubState", "MainPID", "NRestarts")
            new = state["MainPID"] not in ("0", before["MainPID"])
            more = int(state["NRestarts"]) > int(before["NRestarts"])
            return state if new and more and state["SubState"] == "running" else None

        wait_for(restarted, 60, "the watchdog to restart the frozen agent", interval=0.5)
        host.wait_journal(cursor, "Watchdog timeout")
    finally:
        host.sh(f"rm -f {DROP_IN} && systemctl daemon-reload && systemctl restart {UNIT}")
    host.wait_active("the agent back on the unit's own watchdog")


def test_stop_drains_and_checkpoints(host: Host, first_run: Run) -> None:
    log = "/var/log/app/stop.log"
    host.wait_active("the agent")
    host.sh(f"echo 'stop 0' > {log}")
    cursor = host.cursor()
    wait_for(lambda: host.sink_lines(log) == ["stop 0"], 30, "the first line of stop.log")
    # Lines still streaming in while the stop arrives.
    host.sh(f"seq 1 20000 | sed 's/^/stop /' >> {log} && systemctl stop {UNIT}")
    state = host.show("ActiveState", "Result", "ExecMainCode", "ExecMainStatus")
    # ExecMainCode=1: exited by itself (not killed), with status 0.
    expected = {"ActiveState": "inactive", "Result": "success", "ExecMainCode": "1", "ExecMainStatus": "0"}
    assert state == expected
    delivered = host.sink_lines(log)
    offset = host.checkpoint_offset(log)
    assert offset is not None and offset > 0
    # The final checkpoint sits right after the last delivered line: nothing lost, nothing twice.
    written = host.sh(f"head -c {offset} {log}").stdout.splitlines()
    assert delivered == written
    host.wait_journal(cursor, "Stopping: draining sinks and writing checkpoints.")
