"""The pipeline: sources -> parse -> fan-out to sink buffers -> sinks -> acks -> checkpoints.

A :class:`Topology` is built from one config and run once inside the agent's TaskGroup. Stopping
it drains in order: sources stop reading and return, every buffer is closed, sinks deliver what
they hold (within the deadline), and the caller writes the final checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from logagent.buffer import DiskBuffer, MemoryBuffer, build_buffer
from logagent.checkpoint import CheckpointStore
from logagent.components import Sink, SinkContext, Source, SourceContext
from logagent.config.model import Config
from logagent.event import Batch
from logagent.metrics import AgentMetrics
from logagent.registry import load_class
from parsers.base import Parser

log = logging.getLogger(__name__)

#: Hooks run on every batch after parsing (log-derived metrics, pattern mining...): name -> factory.
#: A factory takes (config, metrics) and returns a callable(batch) or None when not configured.
BATCH_HOOKS: dict[str, Callable[[Config, AgentMetrics], Callable[[Batch], None] | None]] = {
    # Metrics derived from logs ([metrics] section); the module is imported on first use.
    "logmetrics": lambda c, m: load_class("logagent.logmetrics.engine:batch_hook")(c, m),
    "patterns": lambda c, m: load_class("logagent.patterns.hook:batch_hook")(c, m),
}


def build_parser(config: Config, name: str) -> Parser:
    """The parser called ``name``: config-defined first, then the registry."""
    defined = config.sections.get("parsers") or {}
    if name in defined:
        return defined[name].build(defined)
    from parsers.registry import get_parser

    return get_parser(name)


class Topology:
    """One config's sources, buffers and sinks, wired together."""

    def __init__(self, config: Config, checkpoints: CheckpointStore, metrics: AgentMetrics) -> None:
        self.config = config
        self.checkpoints = checkpoints
        self.metrics = metrics
        self.stopping = asyncio.Event()
        self.buffers: dict[str, MemoryBuffer | DiskBuffer] = {}
        self.sinks: dict[str, Sink] = {}
        self.sources: dict[str, Source] = {}
        self.source_ctx: dict[str, SourceContext] = {}
        self.hooks = [h for f in BATCH_HOOKS.values() if (h := f(config, metrics)) is not None]
        data_dir = config.agent.data_dir
        for name, sink_cfg in config.sinks.items():
            self.buffers[name] = build_buffer(name, sink_cfg.buffer, metrics, data_dir)
            self.sinks[name] = sink_cfg.build(name, SinkContext(name, metrics, data_dir))
        for name, src_cfg in config.sources.items():
            targets = [self.buffers[s] for s in config.sinks_for(name)]
            if not targets:
                log.warning("Source %s feeds no sink; its lines are read and discarded.", name)
            parser = build_parser(config, src_cfg.parser) if src_cfg.parser else None
            ctx = SourceContext(
                name=name,
                checkpoints=checkpoints,
                metrics=metrics,
                data_dir=data_dir,
                emit=self._emitter(name, parser, targets),
                sink_count=len(targets),
                stopping=self.stopping,
            )
            self.source_ctx[name] = ctx
            self.sources[name] = src_cfg.build(name, ctx)

    def _emitter(
        self, source: str, parser: Parser | None, targets: list[MemoryBuffer | DiskBuffer]
    ) -> Callable[[Batch], Awaitable[None]]:
        metrics = self.metrics
        hooks = self.hooks
        parse_errors = metrics.parse_errors.labels(source, parser.name if parser else "")

        async def emit(batch: Batch) -> None:
            if parser is not None and batch.records is None:
                try:
                    batch.records = parser.parse_batch(batch.lines)
                except Exception:
                    # A parser bug must not lose lines: ship them raw, flagged as failed.
                    log.exception("Parser %s failed on a batch of %s; shipping raw.", parser.name, source)
                    from parsers.base import Record

                    batch.records = [Record(message=ln, error="parser crashed") for ln in batch.lines]
                failed = sum(1 for r in batch.records if r.error is not None)
                if failed:
                    parse_errors.inc(failed)
            for hook in hooks:
                hook(batch)
            for buf in targets:
                await buf.put(batch)

        return emit

    async def ready(self) -> None:
        """Wait until every source has started."""
        await asyncio.gather(*(ctx.started.wait() for ctx in self.source_ctx.values()))

    async def run(self, drain_timeout: float) -> None:
        """Run until :meth:`stop`; then drain sinks for at most ``drain_timeout`` seconds."""
        try:
            async with asyncio.TaskGroup() as tg:
                sink_tasks = [
                    tg.create_task(self._run_sink(name, sink), name=f"sink:{name}")
                    for name, sink in self.sinks.items()
                ]
                async with asyncio.TaskGroup() as sources_tg:
                    for name, source in self.sources.items():
                        sources_tg.create_task(self._run_source(name, source), name=f"source:{name}")
                if not self.sources:
                    # A config without sources (e.g. all removed by a reload) idles until stopped;
                    # only sources that end on their own (stdin) end the agent.
                    await self.stopping.wait()
                # Every source returned: nothing more will be emitted.
                for buf in self.buffers.values():
                    await buf.close()
                if sink_tasks:
                    _done, pending = await asyncio.wait(sink_tasks, timeout=drain_timeout)
                    for task in pending:
                        log.warning(
                            "Sink %s did not drain within %.0fs; stopping it.", task.get_name(), drain_timeout
                        )
                        task.cancel()
        finally:
            # Even when cancelled (shutdown deadline): a disk buffer stops writing before the next
            # topology (reload) opens its files.
            for buf in self.buffers.values():
                await buf.abort()

    async def _run_source(self, name: str, source: Source) -> None:
        try:
            await source.run()
        except Exception:
            # One broken source must not stop the others: report, count, and keep running.
            log.exception("Source %s failed.", name)
            self.metrics.source_errors.labels(name, "crashed").inc()
            self.source_ctx[name].started.set()

    async def _run_sink(self, name: str, sink: Sink) -> None:
        try:
            await sink.run(self.buffers[name])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Sink %s failed; its batches stay unacknowledged.", name)
            self.metrics.sink_errors.labels(name, "crashed").inc()
            self.metrics.sink_up.labels(name).set(0)

    def stop(self) -> None:
        self.stopping.set()
