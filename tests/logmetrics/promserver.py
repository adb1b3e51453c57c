"""A real Prometheus (Debian's ``prometheus``) for tests: started on 127.0.0.1, tsdb in a temp dir."""

from __future__ import annotations

import json
import math
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.moto_server import free_port


class PrometheusServer:
    def __init__(self, binary: str, config: Path, workdir: Path) -> None:
        self.binary = binary
        self.config = config
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        tsdb = self.workdir / "tsdb"
        tsdb.mkdir()
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.config}",
                f"--storage.tsdb.path={tsdb}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector, or [] while Prometheus is not up yet."""
        try:
            data = self.api("query", query=expr)
        except OSError:
            return []
        assert data["resultType"] == "vector", (expr, data)
        return data["result"]

    def wait_for(self, expr: str, pred: Any, timeout: float = 30) -> list[dict[str, Any]]:
        """Poll ``expr`` until ``pred(result)`` holds; the result."""
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log_path.read_text()[-3000:]
            result = self.query(expr)
            if pred(result):
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting on {expr!r}; last result {result}")


def values(result: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    """A query result as {label values: float value}."""
    return {tuple(r["metric"].get(k, "") for k in labels): float(r["value"][1]) for r in result}


def has_number(result: list[dict[str, Any]]) -> bool:
    return any(not math.isnan(float(r["value"][1])) for r in result)
