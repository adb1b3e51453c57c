"""Turn batches of lines into the values of the ``[metrics]`` declared in the config.

Hot path: one call per batch. A batch is read column-wise (one list per field a metric needs,
built once per batch and shared by every metric), filtered into a list of row indices, and
aggregated into a plain dict keyed by the raw label values (``collections.Counter`` does the
counting in C where a metric just counts lines). Only then is the series store touched, once per
distinct label set, under one lock per batch: no per-line lock and no per-line prometheus_client
call. The store is exposed by :class:`LogMetricsCollector`, a prometheus_client collector in the
agent's registry, so the derived metrics are served on ``/metrics`` beside the self-metrics.

Where a field's value comes from, first found wins: the named groups of the metric's ``match``
regex, the parsed record's fields, its ``level``/``message``, the source-given fields, the batch
labels, and ``source`` (the source's name). Without a parser, ``message`` is the raw line. A
missing value (or JSON null) is None here; as a label it is the empty string.

Where every value of a column is of one suitable kind (the usual case), filters and aggregation
run as ``map``/``compress``/``Counter`` over C callables; mixed or invalid values take a per-line
path that applies the same definitions and counts what it skips.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import weakref
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from itertools import compress, repeat
from operator import attrgetter, eq, ge, gt, itemgetter, le, lt, ne, not_
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from logagent.logmetrics.config import Condition, MetricDef, MetricsSection, as_number

if TYPE_CHECKING:
    from prometheus_client import Metric

    from logagent.config.model import Config
    from logagent.event import Batch
    from logagent.metrics import AgentMetrics

log = logging.getLogger(__name__)

LabelValues = tuple[str, ...]
Predicate = Callable[[Any], bool]
_FIELDS = attrgetter("fields")
_ERROR = attrgetter("error")


def text(value: Any) -> str:
    """A field value as a label value (or a string to compare): ``true``/``false``, ``200`` not ``200.0``."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def predicate(cond: Condition) -> Predicate:
    """A function deciding whether a field value satisfies ``cond`` (None means missing).

    Equality is numeric when both sides are numbers (``status = 200`` matches "200" and 200.0),
    else textual; regexes are anchored, as in PromQL; order comparisons hold only for numbers; a
    missing field compares as the empty string.
    """
    value, number, op = cond.value, cond.number, cond.op
    if op in ("=", "!="):

        def equal(v: Any) -> bool:
            if number is not None:
                x = as_number(v)
                if x is not None:
                    return x == number
            return text(v) == value

        if op == "=":
            return equal
        return lambda v: not equal(v)
    if op in ("=~", "!~"):
        assert cond.pattern is not None
        fullmatch = cond.pattern.fullmatch
        if op == "=~":
            return lambda v: fullmatch(text(v)) is not None
        return lambda v: fullmatch(text(v)) is None
    assert number is not None
    if op == "<":
        return lambda v: (x := as_number(v)) is not None and x < number
    if op == "<=":
        return lambda v: (x := as_number(v)) is not None and x <= number
    if op == ">":
        return lambda v: (x := as_number(v)) is not None and x > number
    return lambda v: (x := as_number(v)) is not None and x >= number


# partial(F, n)(v) is `v OP n`: the operand order is swapped so the value comes last.
_ORDER: dict[str, Callable[[Any, Any], bool]] = {"<": gt, "<=": ge, ">": lt, ">=": le}
_NUMBERS = frozenset({int, float})
_NUMBERS_OR_MISSING = frozenset({int, float, type(None)})
_NAN = float("nan")


class RowFilter:
    """One ``where`` condition applied to a column at once.

    When the column's values are all of one suitable kind (numbers for a numeric comparison,
    strings for a text or regex one), the test runs as ``compress(rows, map(C function, values))``
    with no Python frame per line; otherwise the per-value :func:`predicate` decides.
    """

    def __init__(self, cond: Condition) -> None:
        self.cond = cond
        self.field = cond.field
        self.pred = predicate(cond)

    def apply(self, col: list[Any], sel: list[int] | None) -> list[int]:
        """The rows of ``sel`` (None: every row) whose value in ``col`` meets the condition."""
        rows: Iterable[int] = range(len(col)) if sel is None else sel
        vals = col if sel is None else [col[i] for i in sel]
        tests = self._vectorised(vals)
        return list(compress(rows, map(self.pred, vals) if tests is None else tests))

    def _vectorised(self, vals: list[Any]) -> Iterable[Any] | None:
        c = self.cond
        kinds = set(map(type, vals))
        if c.op in _ORDER:
            test = partial(_ORDER[c.op], c.number)
            if kinds <= _NUMBERS:
                return map(test, vals)
            if kinds <= _NUMBERS_OR_MISSING:  # a missing value fails every comparison, as NaN does
                return map(test, [_NAN if v is None else v for v in vals])
            if kinds == {str}:  # numbers as text (regex groups)
                try:
                    return map(test, list(map(float, vals)))
                except ValueError:
                    return None
            return None
        if c.op in ("=", "!="):
            cmp = eq if c.op == "=" else ne
            if c.number is not None and kinds <= _NUMBERS:
                return map(partial(cmp, c.number), vals)
            if c.number is None and kinds == {str}:
                return map(partial(cmp, c.value), vals)
            return None
        if kinds == {str}:
            assert c.pattern is not None
            found = map(c.pattern.fullmatch, vals)
            return found if c.op == "=~" else map(not_, found)
        return None


class Columns:
    """A batch's fields, one list per field name, built on first use."""

    __slots__ = ("_dicts", "_matches", "_parsed", "batch", "cache", "filtered")

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.cache: dict[str, list[Any]] = {}
        self._parsed: list[int] | bool | None = False
        self._dicts: list[dict[str, Any]] | None = None
        self._matches: dict[str | None, list[Any]] = {}
        #: Rows meeting a condition over the whole batch, shared by metrics with the same condition.
        self.filtered: dict[Condition, list[int]] = {}

    def matches(self, search: Callable[[str], Any], pattern: str | None) -> list[Any]:
        """``search`` applied to every line, shared by the metrics with the same ``pattern``."""
        found = self._matches.get(pattern)
        if found is None:
            # One C-level pass: map() calls the compiled regex without a Python frame per line.
            found = self._matches[pattern] = list(map(search, self.batch.lines))
        return found

    def parsed_rows(self) -> list[int] | None:
        """Indices of the lines the parser did not reject, or None when that is all of them."""
        if self._parsed is False:
            recs = self.batch.records
            ok = None
            if recs is not None:
                errors = list(map(_ERROR, recs))
                if errors.count(None) != len(errors):
                    ok = [i for i, e in enumerate(errors) if e is None]
            self._parsed = ok
        return self._parsed  # type: ignore[return-value]

    def get(self, name: str) -> list[Any]:
        col = self.cache.get(name)
        if col is None:
            col = self.cache[name] = self._build(name)
        return col

    def _build(self, name: str) -> list[Any]:
        b = self.batch
        recs = b.records
        col: list[Any]
        if recs is not None:
            if self._dicts is None:
                self._dicts = list(map(_FIELDS, recs))
            # map() over C callables: no Python frame per line.
            col = list(map(dict.get, self._dicts, repeat(name)))
            if name in ("level", "message") and None in col:
                col = [getattr(r, name) if v is None else v for v, r in zip(col, recs, strict=True)]
        elif name == "message":
            return list(b.lines)
        else:
            col = [None] * len(b.lines)
        if b.fields is not None and None in col:
            col = [f.get(name) if v is None else v for v, f in zip(col, b.fields, strict=True)]
        if None in col:
            fallback = b.labels.get(name, b.source if name == "source" else None)
            if fallback is not None:
                col = [fallback if v is None else v for v in col]
        return col


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return text(value)
    return value


class MetricState:
    """One declared metric: how it reads a batch, and its series."""

    def __init__(self, mdef: MetricDef, now: Callable[[], float]) -> None:
        self.mdef = mdef
        self.kind = mdef.type
        self.label_names = tuple(mdef.labels)
        self.label_fields = tuple(mdef.labels.values())
        self.conditions = [RowFilter(c) for c in mdef.conditions]
        pattern = re.compile(mdef.match) if mdef.match is not None else None
        self.search = pattern.search if pattern is not None else None
        self.bounds = mdef.bucket_bounds
        self.group_names = tuple(pattern.groupindex) if pattern is not None else ()
        used = {
            *self.label_fields,
            *(f.field for f in self.conditions),
            *([mdef.field] if mdef.field else []),
        }
        # Fields the match regex's groups provide do not depend on the parser.
        self.reads_parsed = bool(used - set(self.group_names))
        self.sources = frozenset(mdef.sources) if mdef.sources is not None else None
        self.now = now
        #: label values -> float (counter, gauge) or [bucket counts..., +Inf count, sum] (histogram).
        self.series: dict[LabelValues, Any] = {}
        self.last_seen: dict[LabelValues, float] = {}
        self.last_sweep = now()
        # Self-metric deltas, read and reset by the engine after each batch.
        self.dropped = 0
        self.expired = 0
        self.value_errors = 0

    # -- per batch (hot path) ---------------------------------------------------------------

    def select(self, batch: Batch, cols: Columns) -> tuple[list[int] | None, dict[str, list[Any]]]:
        """Indices of the lines this metric takes (None: all of them), and the columns of the
        ``match`` regex's named groups."""
        sel: list[int] | None = None
        groups: dict[str, list[Any]] = {}
        if self.reads_parsed:
            # A line its parser rejected has no reliable fields: it feeds only metrics that read
            # the raw line (it is counted in logagent_parse_errors_total and shipped raw anyway).
            sel = cols.parsed_rows()
        if self.search is not None:
            found = cols.matches(self.search, self.mdef.match)
            if sel is not None:
                found = [found[i] for i in sel]
            if None in found:
                keep = [k for k, m in enumerate(found) if m is not None]
                sel = keep if sel is None else [sel[k] for k in keep]
                found = [found[k] for k in keep]
            # `found` is now aligned with `sel` (or with every line when sel is None).
            for g in self.group_names:
                compact = list(map(itemgetter(g), found))
                if sel is None:
                    groups[g] = compact
                else:  # full-length like every other column: None where there was no match
                    full: list[Any] = [None] * len(batch.lines)
                    for i, v in zip(sel, compact, strict=True):
                        full[i] = v
                    groups[g] = full
        if not groups:
            get = cols.get
        else:

            def get(name: str) -> list[Any]:
                return groups[name] if name in groups else cols.get(name)

        for flt in self.conditions:
            if sel is None and flt.field not in groups:
                rows = cols.filtered.get(flt.cond)
                if rows is None:
                    rows = cols.filtered[flt.cond] = flt.apply(cols.get(flt.field), None)
                sel = rows
            else:
                sel = flt.apply(get(flt.field), sel)
            if not sel:
                return sel, groups
        return sel, groups

    def aggregate(self, batch: Batch, cols: Columns) -> dict[Any, Any]:
        """This batch's contribution: raw label values -> count, sum, last value or bucket counts."""
        sel, groups = self.select(batch, cols)
        n = len(batch.lines) if sel is None else len(sel)
        if n == 0:
            return {}

        def get(name: str) -> list[Any]:
            return groups[name] if name in groups else cols.get(name)

        label_cols = [get(f) for f in self.label_fields]
        if sel is not None:
            label_cols = [[c[i] for i in sel] for c in label_cols]
        if self.kind == "counter" and self.mdef.field is None:
            if not label_cols:
                return {(): n}
            try:
                return Counter(zip(*label_cols, strict=True))
            except TypeError:  # an unhashable field value (a JSON list or object)
                return Counter(tuple(map(_hashable, k)) for k in zip(*label_cols, strict=True))
        assert self.mdef.field is not None
        vals = get(self.mdef.field)
        if sel is not None:
            vals = [vals[i] for i in sel]
        keys: Iterable[Any] = zip(*label_cols, strict=True) if label_cols else [()] * n
        try:
            return self._aggregate_values(list(keys), vals)
        except TypeError:
            keys = (
                [tuple(map(_hashable, k)) for k in zip(*label_cols, strict=True)] if label_cols else [()] * n
            )
            return self._aggregate_values(keys, vals)

    def _valid_floats(self, vals: list[Any]) -> list[float] | None:
        """``vals`` as floats when every one is a usable number (converted in C), else None."""
        kinds = set(map(type, vals))
        if kinds <= {float}:
            floats = vals
        elif kinds <= _NUMBERS or kinds == {str}:  # ints, or numbers as text (regex groups)
            try:
                floats = list(map(float, vals))
            except ValueError:
                return None
        else:  # missing values, bools, objects: the per-line path counts them
            return None
        total = sum(floats)
        if total != total:  # a NaN somewhere (or inf - inf): per line
            return None
        if self.kind == "counter" and floats and min(floats) < 0:
            return None
        return floats

    def _aggregate_values(self, keys: list[Any], vals: list[Any]) -> dict[Any, Any]:
        floats = self._valid_floats(vals)
        if not vals:
            return {}
        if floats is not None:
            return self._aggregate_floats(keys, floats)
        out: dict[Any, Any] = {}
        errors = 0
        kind = self.kind
        if kind == "histogram":
            bounds = self.bounds
            width = len(bounds) + 1
            for key, v in zip(keys, vals, strict=True):
                x = v if type(v) is float else as_number(v)
                if x is None or x != x:  # missing, not a number, or NaN
                    errors += 1
                    continue
                acc = out.get(key)
                if acc is None:
                    acc = out[key] = [0] * width + [0.0]
                acc[bisect_left(bounds, x)] += 1
                acc[-1] += x
        elif kind == "counter":
            for key, v in zip(keys, vals, strict=True):
                x = v if type(v) is float else as_number(v)
                if x is None or not x >= 0:  # a counter cannot go down (and NaN fails >=)
                    errors += 1
                    continue
                out[key] = out.get(key, 0.0) + x
        else:
            for key, v in zip(keys, vals, strict=True):
                x = v if type(v) is float else as_number(v)
                if x is None or x != x:
                    errors += 1
                    continue
                out[key] = x
        self.value_errors += errors
        return out

    def _aggregate_floats(self, keys: list[Any], floats: list[float]) -> dict[Any, Any]:
        """Aggregate values known to be valid: no checks per line, and C loops where possible."""
        kind = self.kind
        if kind == "gauge":
            return dict(zip(keys, floats, strict=True))  # the last value of each key wins
        if not self.label_fields:
            total = sum(floats)
            if kind == "counter":
                return {(): total}
            hist = [0] * (len(self.bounds) + 1) + [total]
            for i, c in Counter(map(partial(bisect_left, self.bounds), floats)).items():
                hist[i] = c
            return {(): hist}
        out: dict[Any, Any] = {}
        if kind == "counter":
            for key, x in zip(keys, floats, strict=True):
                out[key] = out.get(key, 0.0) + x
            return out
        bounds = self.bounds
        width = len(bounds) + 1
        for key, x in zip(keys, floats, strict=True):
            acc = out.get(key)
            if acc is None:
                acc = out[key] = [0] * width + [0.0]
            acc[bisect_left(bounds, x)] += 1
            acc[-1] += x
        return out

    def apply(self, agg: dict[Any, Any]) -> None:
        """Merge one batch's aggregate into the series (call with the engine's lock held)."""
        if not agg:
            return
        series = self.series
        cap = self.mdef.max_series
        expiring = self.mdef.expire_secs is not None
        now = self.now() if expiring else 0.0
        if expiring:
            self.sweep(now)  # first, so expired series free their slots under the cap
        kind = self.kind
        # Raw keys like (200,) and ("200",) name the same series: convert, then merge.
        for raw, delta in agg.items():
            key = tuple(map(text, raw))
            # Any: a counter's or gauge's float, or a histogram's bucket list, by `kind`.
            cur: Any = series.get(key)
            if cur is None:
                if len(series) >= cap:
                    self.dropped += 1
                    continue
                cur = series[key] = [0] * (len(self.bounds) + 1) + [0.0] if kind == "histogram" else 0.0
            if kind == "counter":
                series[key] = cur + delta
            elif kind == "gauge":
                series[key] = delta
            else:
                for i, c in enumerate(delta):
                    cur[i] += c
            if expiring:
                self.last_seen[key] = now

    def sweep(self, now: float, force: bool = False) -> None:
        """Forget series not seen for ``expire_secs`` (checked at most a few times per period)."""
        ttl = self.mdef.expire_secs
        if ttl is None or (not force and now - self.last_sweep < min(ttl / 4, 1.0)):
            return
        self.last_sweep = now
        old = [k for k, seen in self.last_seen.items() if now - seen >= ttl]
        for k in old:
            del self.last_seen[k]
            del self.series[k]
        self.expired += len(old)

    # -- exposition -------------------------------------------------------------------------

    def family(self) -> Metric:
        m = self.mdef
        doc = m.help or f"{m.type.capitalize()} derived from logs by logagent."
        names = list(self.label_names)
        if self.kind == "counter":
            fam: Any = CounterMetricFamily(m.name, doc, labels=names)
            for key, value in self.series.items():
                fam.add_metric(list(key), value)
        elif self.kind == "gauge":
            fam = GaugeMetricFamily(m.name, doc, labels=names)
            for key, value in self.series.items():
                fam.add_metric(list(key), value)
        else:
            fam = HistogramMetricFamily(m.name, doc, labels=names)
            les = [floatToGoString(b) for b in self.bounds] + ["+Inf"]
            for key, acc in self.series.items():
                cumulative, buckets = 0, []
                for le, c in zip(les, acc[:-1], strict=True):
                    cumulative += c
                    buckets.append((le, cumulative))
                fam.add_metric(list(key), buckets, acc[-1])
        return fam


class LogMetrics:
    """Every declared metric of one agent, fed batch by batch (the topology's batch hook)."""

    def __init__(self, metrics: AgentMetrics, now: Callable[[], float] = time.monotonic) -> None:
        self.agent_metrics = metrics
        self.now = now
        self.lock = threading.Lock()
        self.states: list[MetricState] = []
        self._by_source: dict[str, list[MetricState]] = {}
        self._failure_logged = False

    def configure(self, section: MetricsSection | None) -> None:
        """Use these declarations; a metric declared exactly as before keeps its series (reload)."""
        defs = section.metrics if section is not None else {}
        with self.lock:
            old = {s.mdef.name: s for s in self.states}
            self.states = [
                old[n] if n in old and old[n].mdef == d else MetricState(d, self.now) for n, d in defs.items()
            ]
            self._by_source = {}
        for name in old.keys() - defs.keys():
            with contextlib.suppress(KeyError):  # never fed a batch: no series gauge yet
                self.agent_metrics.metric_series.remove(name)

    def for_source(self, source: str) -> list[MetricState]:
        states = self._by_source.get(source)
        if states is None:
            states = self._by_source[source] = [
                s for s in self.states if s.sources is None or source in s.sources
            ]
        return states

    def __call__(self, batch: Batch) -> None:
        """Aggregate one batch (a hook in ``logagent.topology.BATCH_HOOKS``)."""
        states = self.for_source(batch.source)
        if not states or not batch.lines:
            return
        try:
            if batch.records is not None and len(batch.records) != len(batch.lines):
                raise ValueError(f"{len(batch.records)} parsed records for {len(batch.lines)} lines")
            cols = Columns(batch)
            aggs = [(s, s.aggregate(batch, cols)) for s in states]
        except Exception:
            # Metrics are derived data: a bug here (or a parser returning the wrong number of
            # records) must never stop the batch from being shipped. Report it once.
            if not self._failure_logged:
                self._failure_logged = True
                log.exception(
                    "Log-derived metrics skipped a batch of %s; further failures are not logged.",
                    batch.source,
                )
            return
        with self.lock:
            for s, agg in aggs:
                s.apply(agg)
        self._count(states)

    def _count(self, states: list[MetricState]) -> None:
        m = self.agent_metrics
        for s in states:
            name = s.mdef.name
            if s.dropped:
                m.metric_series_dropped.labels(name).inc(s.dropped)
                s.dropped = 0
            if s.value_errors:
                m.metric_value_errors.labels(name).inc(s.value_errors)
                s.value_errors = 0
            if s.expired:
                m.metric_series_expired.labels(name).inc(s.expired)
                s.expired = 0
            m.metric_series.labels(name).set(len(s.series))

    def collect(self) -> list[Metric]:
        with self.lock:
            now = self.now()
            for s in self.states:
                s.sweep(now)
            families = [s.family() for s in self.states]
        self._count(self.states)
        return families


class LogMetricsCollector(Collector):
    """Exposes a :class:`LogMetrics` in a prometheus_client registry."""

    def __init__(self, engine: LogMetrics) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        return self.engine.collect()

    def describe(self) -> Iterable[Metric]:
        # The set of metrics changes on reload, so none is declared up front (names are checked
        # against the self-metrics at config load instead).
        return []


# One engine per agent, so a reload reconfigures the engine already in the agent's registry
# instead of registering a second collector. Weak keys: an agent's registry dies with it.
_ENGINES: weakref.WeakKeyDictionary[AgentMetrics, LogMetrics] = weakref.WeakKeyDictionary()


def engine_for(metrics: AgentMetrics) -> LogMetrics:
    """The engine registered in ``metrics``' registry (created and registered on first use)."""
    engine = _ENGINES.get(metrics)
    if engine is None:
        engine = _ENGINES[metrics] = LogMetrics(metrics)
        metrics.registry.register(LogMetricsCollector(engine))
    return engine


def batch_hook(config: Config, metrics: AgentMetrics) -> Callable[[Batch], None] | None:
    """The ``BATCH_HOOKS`` factory: the engine configured from ``[metrics]``, or None if empty."""
    section: MetricsSection | None = config.sections.get("metrics")
    if section is None or not section.metrics:
        existing = _ENGINES.get(metrics)
        if existing is not None:
            existing.configure(None)  # a reload removed every metric
        return None
    engine = engine_for(metrics)
    engine.configure(section)
    return engine
