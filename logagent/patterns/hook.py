"""The per-batch pipeline hook: mine each line's message, set ``template_id``/``template`` fields.

One :class:`PatternEngine` per agent (per :class:`~logagent.metrics.AgentMetrics`), so a config
reload keeps every source's templates. Per batch: one miner call per line, then the fields are set
on the batch's records (or on ``batch.fields`` when the source has no parser), the new templates
are counted, and a second later the per-source gauges (templates held, top-N lines per
template) are refreshed and, when templates changed, the store is written (a timer on the event
loop, so nothing is left stale when lines stop). The last state is also written when the
process exits.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import attrgetter, setitem
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from aiohttp import web

    from logagent.agent import Agent
    from logagent.config.model import Config
    from logagent.event import Batch
    from logagent.metrics import AgentMetrics
    from logagent.patterns.config import PatternsConfig
    from logagent.patterns.miner import Miner
    from parsers.base import Record

log = logging.getLogger(__name__)
_MESSAGE = attrgetter("message")
_FIELDS = attrgetter("fields")
_ID = attrgetter("id")
_TEMPLATE = attrgetter("template")
#: Consume an iterator in C.
_drain: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend

#: Seconds between refreshes of the gauges and saves of the store.
REFRESH_SECS = 1.0
SAVE_SECS = 10.0


def messages_of(lines: Sequence[str], records: Sequence[Record] | None) -> list[str]:
    """What is mined: each record's parsed message, else the raw line."""
    if records is None:
        return list(lines)
    out = list(map(_MESSAGE, records))
    if None in out:
        out = [ln if m is None else m for m, ln in zip(out, lines, strict=True)]
    return out


class SourceMiner:
    """The miner of one source, with its options, store path and metric children."""

    def __init__(self, name: str, cfg: PatternsConfig, metrics: AgentMetrics, data_dir: Path) -> None:
        from logagent.patterns import store
        from logagent.patterns.miner import Miner

        self.name = name
        self.cfg = cfg
        self.miner: Miner = Miner(cfg.options())
        self.path = store.store_path(data_dir, name) if cfg.persist else None
        if self.path is not None:
            n = store.load(self.miner, self.path)
            if n:
                log.info("Source %s: %d templates restored from %s.", name, n, self.path)
        self.metrics = metrics
        self.new_counter = metrics.pattern_new.labels(name)
        self.templates_gauge = metrics.pattern_templates.labels(name)
        self.exported: set[str] = set()
        self.dirty = False
        self.evicted_seen = 0
        self.scheduled = False
        self.closed = False
        self.next_save = time.monotonic() + SAVE_SECS
        self.lock = threading.Lock()

    def mine(self, batch: Batch) -> None:
        records = batch.records
        miner = self.miner
        with self.lock:
            created = miner.created
            clusters = miner.add_batch(messages_of(batch.lines, records))
            new = miner.created - created
        if records is not None:
            targets = list(map(_FIELDS, records))
        else:
            if batch.fields is None:
                batch.fields = [{} for _ in batch.lines]
            targets = batch.fields
        # C-level loops: map() calls dict.__setitem__ on each line's fields.
        _drain(map(setitem, targets, repeat("template_id"), map(_ID, clusters)))
        if self.cfg.template_field:
            _drain(map(setitem, targets, repeat("template"), map(_TEMPLATE, clusters)))
        if new:
            self.new_counter.inc(new)
        self.dirty = True  # counts and last-seen times changed
        if not self.scheduled:
            # Gauges and the store are updated REFRESH_SECS after a batch, once for every batch
            # in between: cheap per batch, and never stale once lines stop coming.
            self.scheduled = True
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.tick()
            else:
                loop.call_later(REFRESH_SECS, self.tick)

    def tick(self) -> None:
        """Refresh the gauges; save the store when templates changed and SAVE_SECS passed."""
        self.scheduled = False
        if self.closed:
            return
        self.refresh()
        now = time.monotonic()
        if self.dirty and now >= self.next_save:
            self.save()
            self.next_save = now + SAVE_SECS

    def refresh(self) -> None:
        """Update the gauges: templates held, evictions, and lines of the top-N templates."""
        miner = self.miner
        with self.lock:
            self.templates_gauge.set(len(miner.clusters))
            if miner.evicted > self.evicted_seen:
                self.metrics.pattern_evicted.labels(self.name).inc(miner.evicted - self.evicted_seen)
                self.evicted_seen = miner.evicted
            top = miner.top(self.cfg.top_metrics) if self.cfg.top_metrics else []
        gauge = self.metrics.pattern_top_lines
        ids = set()
        for c in top:
            gauge.labels(self.name, c.id).set(c.count)
            ids.add(c.id)
        for gone in self.exported - ids:
            # Fell out of the top N (or merged, or evicted): the series goes, cardinality stays bounded.
            try:
                gauge.remove(self.name, gone)
            except KeyError:
                pass
        self.exported = ids

    def close(self) -> None:
        """Mining stops here (reload): save, and take this source's series off /metrics."""
        self.closed = True
        self.save()
        self.metrics.pattern_templates.remove(self.name)
        for tid in self.exported:
            self.metrics.pattern_top_lines.remove(self.name, tid)
        self.exported = set()

    def save(self) -> None:
        if self.path is None:
            return
        from logagent.patterns import store

        try:
            with self.lock:
                store.save(self.miner, self.path)
            self.dirty = False
        except OSError as exc:
            log.error("Cannot save the templates of %s to %s: %s.", self.name, self.path, exc)

    def listing(self, top: int | None) -> list[dict[str, Any]]:
        with self.lock:
            clusters = self.miner.top(top)
            return [
                {
                    "template_id": c.id,
                    "template": c.template,
                    "count": c.count,
                    "first_seen": _iso(c.first_seen),
                    "last_seen": _iso(c.last_seen),
                }
                for c in clusters
            ]


def _iso(ts: float) -> str:
    from logagent.encode import format_ts

    return format_ts(int(ts * 1_000_000_000))


class PatternEngine:
    """Every mining source of one agent; callable on a batch (the ``BATCH_HOOKS`` callable)."""

    def __init__(self, metrics: AgentMetrics) -> None:
        self.metrics = metrics
        self.sources: dict[str, SourceMiner] = {}

    def configure(self, config: Config) -> None:
        """Mine the sources that ask for it; keep the miners whose options did not change."""
        from logagent.patterns.config import patterns_of

        data_dir = config.agent.data_dir
        wanted = {}
        for name, src in config.sources.items():
            cfg = patterns_of(src.patterns)
            if cfg is not None:
                wanted[name] = cfg
        for name in list(self.sources):
            if name not in wanted or self.sources[name].cfg != wanted[name]:
                self.sources.pop(name).close()
        for name, cfg in wanted.items():
            if name not in self.sources:
                self.sources[name] = SourceMiner(name, cfg, self.metrics, data_dir)

    def __call__(self, batch: Batch) -> None:
        sm = self.sources.get(batch.source)
        if sm is not None and batch.lines:
            try:
                sm.mine(batch)
            except Exception:
                # A miner bug must not cost lines: the batch goes on without template fields.
                log.exception("Template mining failed on a batch of %s; shipped without templates.", sm.name)
                self.metrics.source_errors.labels(sm.name, "patterns").inc()

    def save_all(self) -> None:
        for sm in list(self.sources.values()):
            if sm.dirty:
                sm.save()

    def listing(self, source: str | None = None, top: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """Templates per source, most frequent first (``/patterns``)."""
        return {
            name: sm.listing(top) for name, sm in self.sources.items() if source is None or name == source
        }


_ENGINES: weakref.WeakKeyDictionary[AgentMetrics, PatternEngine] = weakref.WeakKeyDictionary()


def engine_for(metrics: AgentMetrics) -> PatternEngine:
    engine = _ENGINES.get(metrics)
    if engine is None:
        engine = _ENGINES[metrics] = PatternEngine(metrics)
        # The final state on a clean exit; a crash loses at most SAVE_SECS of counts, never ids.
        # (A weak reference: the exit hook must not keep an agent's engine and metrics alive.)
        ref = weakref.ref(engine)
        atexit.register(_save_at_exit, ref)
    return engine


def _save_at_exit(ref: weakref.ref[PatternEngine]) -> None:
    engine = ref()
    if engine is not None:
        engine.save_all()


def batch_hook(config: Config, metrics: AgentMetrics) -> PatternEngine | None:
    """The ``BATCH_HOOKS`` factory: the engine, or None when no source mines patterns."""
    from logagent.patterns.config import patterns_of

    mining = any(patterns_of(s.patterns) is not None for s in config.sources.values())
    engine = _ENGINES.get(metrics)
    if not mining and engine is None:
        return None
    engine = engine_for(metrics)
    engine.configure(config)
    return engine if mining else None


def startup(agent: Agent) -> None:
    """The agent ``STARTUP_HOOKS`` entry: serve ``/patterns`` on the HTTP endpoint."""
    if agent.server is None:
        return
    from aiohttp import web

    metrics = agent.metrics

    async def handler(request: web.Request) -> web.Response:
        top_arg = request.query.get("top", "100")
        if not top_arg.isdigit():
            return web.Response(status=400, text="top must be a non-negative integer\n")
        engine = _ENGINES.get(metrics)
        body = engine.listing(request.query.get("source"), int(top_arg)) if engine else {}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    agent.server.add_route("/patterns", handler)
