"""The agent's HTTP endpoint: ``/metrics``, ``/health``, ``/ready`` (and routes other parts add)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from logagent.metrics import AgentMetrics

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpServer:
    """An aiohttp server embedded in the agent's event loop."""

    def __init__(self, host: str, port: int, metrics: AgentMetrics) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
        self.is_ready: Callable[[], bool] = lambda: False
        self.extra_routes: dict[str, Handler] = {}
        self._runner: web.AppRunner | None = None

    def add_route(self, path: str, handler: Handler) -> None:
        """Serve GET ``path`` with ``handler`` (call before :meth:`start`)."""
        self.extra_routes[path] = handler

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        app.router.add_get("/ready", self._ready)
        for path, handler in self.extra_routes.items():
            app.router.add_get(path, handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        # Port 0 means "any": report the one chosen.
        # The site's server is a loop server (`loop.create_server`): typed AbstractServer, which
        # declares no `.sockets`, though every event loop's server has it.
        server = site._server
        if server is not None and server.sockets:  # type: ignore[attr-defined]
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        log.info("Serving /metrics, /health and /ready on http://%s:%d.", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = self.metrics.exposition()
        resp = web.Response(body=body)
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _ready(self, request: web.Request) -> web.Response:
        if self.is_ready():
            return web.json_response({"status": "ready"})
        return web.json_response({"status": "starting"}, status=503)
