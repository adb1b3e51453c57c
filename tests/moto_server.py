"""A real moto server subprocess on 127.0.0.1 (reusable by any test package).

``MotoServer().start()`` runs ``.venv/bin/moto_server -H 127.0.0.1 -p PORT`` on a free port and
polls ``GET /moto-api/`` until it answers; ``reset()`` wipes every resource (``POST
/moto-api/reset``); ``stop()`` ends the process. ``client(service)`` is a boto3 client with dummy
credentials pointed at it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REGION = "us-east-1"
# Loopback only: never let a proxy setting route test traffic elsewhere.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_server_binary() -> str | None:
    """``moto_server`` next to this interpreter (the venv), else on PATH."""
    local = Path(sys.executable).parent / "moto_server"
    if local.exists():
        return str(local)
    return shutil.which("moto_server")


class MotoServer:
    """One moto_server process."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> MotoServer:
        if self.proc is not None and self.proc.poll() is None:
            return self  # already running (``with MotoServer().start()`` must not start a second)
        binary = moto_server_binary()
        if binary is None:
            raise RuntimeError("moto_server not found: pip install 'moto[server]'")
        self.proc = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode} before it was ready")
            try:
                with _NO_PROXY.open(f"{self.url}/moto-api/", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"moto_server not ready on {self.url} within {timeout}s")
            time.sleep(0.05)

    def reset(self) -> None:
        """Delete every resource in every service."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with _NO_PROXY.open(req, timeout=10) as resp:
            resp.read()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` talking to this server with dummy credentials."""
        import boto3

        return boto3.session.Session().client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            **kwargs,
        )

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
