"""The agent process: owns the TaskGroup, the checkpoint store, the HTTP server and the topology.

Signals only set events: SIGTERM/SIGINT request a graceful stop (sources stop reading, sinks
flush, checkpoints are written, exit 0 within ``shutdown_timeout_secs``); SIGHUP requests a
reload. A reload validates the new config first; a bad one is logged and the running pipeline
keeps going. A good one drains the running topology (every line read is delivered and
checkpointed) and starts the new one, which resumes from those checkpoints: nothing is lost and
nothing is read twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from logagent.checkpoint import CheckpointStore
from logagent.config import Config, load_config
from logagent.errors import LogagentError
from logagent.metrics import AgentMetrics
from logagent.notify import Notifier, heartbeat, watchdog_interval
from logagent.server import HttpServer
from logagent.topology import Topology

log = logging.getLogger(__name__)

#: Hooks called with the agent once it is started (HTTP routes, notifiers, ...).
STARTUP_HOOKS: list[Callable[[Agent], None]] = [
    # /patterns (logagent.patterns): the module is imported on first use.
    lambda agent: importlib.import_module("logagent.patterns.hook").startup(agent),
]


class Agent:
    """One running agent."""

    def __init__(self, config: Config, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.metrics = AgentMetrics()
        self.checkpoints = CheckpointStore(config.agent.data_dir, self.metrics)
        self.stop_requested = asyncio.Event()
        self.reload_requested = asyncio.Event()
        self.topology: Topology | None = None
        self.server: HttpServer | None = None
        self.ready = asyncio.Event()
        self.reloads = 0
        self.notifier = Notifier()

    def request_stop(self) -> None:
        self.stop_requested.set()

    def request_reload(self) -> None:
        self.reload_requested.set()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)

    async def run(self, install_signals: bool = True) -> None:
        """Run until a stop is requested; return after a graceful shutdown."""
        self.config.agent.data_dir.mkdir(parents=True, exist_ok=True)
        self.checkpoints.load()
        if install_signals:
            self._install_signals()
        if self.config.agent.listen:
            host, port = self.config.agent.listen_host_port
            self.server = HttpServer(host, port, self.metrics)
            self.server.is_ready = self.ready.is_set
        for hook in STARTUP_HOOKS:
            hook(self)
        if self.server is not None:
            try:
                await self.server.start()
            except OSError as exc:
                raise LogagentError(
                    f"agent.listen: cannot listen on {self.config.agent.listen}: {exc.strerror or exc} "
                    '(another agent running? set agent.listen to a free port, or "" to disable)'
                ) from None
        self.metrics.up.set(1)
        checkpoint_stop = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.checkpoints.run(checkpoint_stop), name="checkpoints")
                if self.notifier.enabled:
                    tg.create_task(
                        heartbeat(self.notifier, checkpoint_stop, self.status_line, watchdog_interval()),
                        name="sd-notify",
                    )
                await self._run_topologies()
                checkpoint_stop.set()
        finally:
            self.notifier.close()
            self.metrics.up.set(0)
            # The final checkpoint: everything acknowledged so far.
            try:
                await self.checkpoints.flush()
            except OSError as exc:
                log.error("Cannot write final checkpoints: %s.", exc)
            if self.server is not None:
                await self.server.stop()

    async def _run_topologies(self) -> None:
        while True:
            topology = Topology(self.config, self.checkpoints, self.metrics)
            self.topology = topology
            outcome = await self._run_one(topology)
            if outcome == "stop":
                return

    async def _run_one(self, topology: Topology) -> str:
        """Run ``topology`` until a stop or a valid reload; returns "stop" or "reload"."""
        timeout = self.config.agent.shutdown_timeout_secs
        async with asyncio.TaskGroup() as tg:
            run_task = tg.create_task(self._run_bounded(topology, timeout), name="topology")
            ready_task = tg.create_task(topology.ready(), name="topology-ready")
            await ready_task
            self.ready.set()
            self.notifier.ready(self.status_line())
            log.info("Agent started: %d sources, %d sinks.", len(topology.sources), len(topology.sinks))
            while True:
                stop_wait = tg.create_task(self.stop_requested.wait())
                reload_wait = tg.create_task(self.reload_requested.wait())
                await asyncio.wait({stop_wait, reload_wait, run_task}, return_when=asyncio.FIRST_COMPLETED)
                stop_wait.cancel()
                reload_wait.cancel()
                if self.stop_requested.is_set() or run_task.done():
                    self.notifier.stopping()
                    log.info("Stopping: draining sinks and writing checkpoints.")
                    topology.stop()
                    return "stop"
                self.reload_requested.clear()
                new = self._load_new_config()
                if new is None:
                    continue
                log.info("Reloading the config: draining the running pipeline first.")
                self.notifier.reloading()
                topology.stop()
                await run_task
                await self.checkpoints.flush()
                self.config = new
                self.reloads += 1
                self.metrics.config_reloads.labels("success").inc()
                return "reload"

    async def _run_bounded(self, topology: Topology, timeout: float) -> None:  # noqa: ASYNC109
        """Run the topology; once stopping, give it ``timeout`` seconds to drain."""
        task = asyncio.create_task(topology.run(timeout), name="topology-run")
        stop_wait = asyncio.create_task(topology.stopping.wait(), name="topology-stopping")
        try:
            await asyncio.wait({task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                # Sinks drain within `timeout` inside run(); the extra second covers sources
                # blocked on a full buffer behind a sink that never drains.
                done, _ = await asyncio.wait({task}, timeout=timeout + 1)
                if not done:
                    log.error(
                        "Shutdown deadline (%.0fs) passed; unacknowledged lines will be read again "
                        "after restart.",
                        timeout,
                    )
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            stop_wait.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def status_line(self) -> str:
        """One line for systemd's STATUS=: what runs and how much went through."""
        reg = self.metrics.registry
        read = sent = 0.0
        for metric in reg.collect():
            if metric.name == "logagent_lines_read":
                read = sum(s.value for s in metric.samples if s.name.endswith("_total"))
            elif metric.name == "logagent_events_sent":
                sent = sum(s.value for s in metric.samples if s.name.endswith("_total"))
        topo = self.topology
        parts = f"{len(topo.sources)} sources, {len(topo.sinks)} sinks; " if topo else ""
        return f"Running: {parts}{int(read)} lines read, {int(sent)} events sent"

    def _load_new_config(self) -> Config | None:
        path = self.config_path or self.config.path
        try:
            new = load_config(path)
        except LogagentError as exc:
            log.error("Reload rejected, the running config stays: %s", exc)
            self.metrics.config_reloads.labels("failure").inc()
            return None
        if new.agent != self.config.agent:
            log.warning("Changes to [agent] take effect only after a restart; the rest is reloaded.")
            new = Config(
                agent=self.config.agent,
                sources=new.sources,
                sinks=new.sinks,
                sections=new.sections,
                path=new.path,
            )
        return new
