"""sd_notify over a real AF_UNIX datagram socket: READY=1, STATUS=, WATCHDOG=1, STOPPING=1.

The credentials of each datagram (SO_PASSCRED) must name the agent's own pid, as systemd's
NotifyAccess=main requires.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

from tests.agentproc import AgentProcess


class NotifySocket:
    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(str(path))
        self.sock.settimeout(30)
        self.path = path

    def receive(self) -> tuple[int, list[str]]:
        data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = -1
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        return pid, data.decode().split("\n")

    def wait_for(self, field: str, timeout: float = 30) -> tuple[int, list[str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, fields = self.receive()
            if any(f.startswith(field) for f in fields):
                return pid, fields
        raise AssertionError(f"no {field} message")


def test_agent_speaks_the_notify_protocol(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_text("x\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""
[agent]
data_dir = "{tmp_path / "data"}"
listen = "127.0.0.1:0"
[sources.app]
type = "file"
include = ["{logs}/*.log"]
[sinks.out]
type = "file"
""")
    ns = NotifySocket(tmp_path / "notify.sock")
    env = {"NOTIFY_SOCKET": str(ns.path), "WATCHDOG_USEC": "400000"}
    with AgentProcess(cfg, env=env).start(wait_ready=False) as agent:
        assert agent.proc is not None
        pid, fields = ns.wait_for("READY=1")
        assert pid == agent.proc.pid
        assert any(f.startswith("STATUS=Running: 1 sources, 1 sinks") for f in fields), fields
        # The watchdog is pinged from the event loop at half of WATCHDOG_USEC.
        pid, _ = ns.wait_for("WATCHDOG=1", timeout=10)
        assert pid == agent.proc.pid
        agent.stop()
        pid, fields = ns.wait_for("STOPPING=1")
        assert pid == agent.proc.pid
    assert agent.proc.returncode == 0
