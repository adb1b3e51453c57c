"""A tiny HTTP proxy in front of moto that injects CloudWatch Logs errors (moto never throttles).

Requests whose ``X-Amz-Target`` ends with an action in ``faults`` get a real-looking AWS JSON
error (``{"__type": ..., "message": ...}`` with the status AWS uses) instead of being forwarded;
everything else goes to moto unchanged. Each injected error decrements its count; a count of -1
injects until cleared.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

#: The HTTP status AWS returns with each error code.
STATUS = {
    "ThrottlingException": 400,
    "ServiceUnavailableException": 503,
    "InvalidParameterException": 400,
    "UnrecognizedClientException": 400,
    "ResourceNotFoundException": 400,
}


class FaultProxy:
    def __init__(self, upstream: str, port: int = 0) -> None:
        host, _, up_port = upstream.removeprefix("http://").partition(":")
        self.upstream = (host, int(up_port))
        self.lock = threading.Lock()
        #: action -> [error code, remaining count (-1: until cleared)]
        self.faults: dict[str, list[Any]] = {}
        self.injected: list[tuple[str, str]] = []
        self.forwarded: list[str] = []
        #: Seconds to hold each forwarded request before passing it on (a slow endpoint).
        self.delay_secs = 0.0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                code = proxy._take(action)
                if code is not None:
                    payload = orjson.dumps({"__type": code, "message": f"injected {code}"})
                    self.send_response(STATUS.get(code, 400))
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if proxy.delay_secs:
                    time.sleep(proxy.delay_secs)
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    conn.request("POST", self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                with proxy.lock:
                    proxy.forwarded.append(action)
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in (
                        "content-length",
                        "connection",
                        "transfer-encoding",
                        "server",
                        "date",
                    ):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _take(self, action: str) -> str | None:
        with self.lock:
            fault = self.faults.get(action)
            if fault is None or fault[1] == 0:
                return None
            if fault[1] > 0:
                fault[1] -= 1
            self.injected.append((action, fault[0]))
            return fault[0]

    def inject(self, action: str, code: str, count: int = -1) -> None:
        with self.lock:
            self.faults[action] = [code, count]

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
