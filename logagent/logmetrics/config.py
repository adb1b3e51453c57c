"""``[metrics.NAME]``: validate the declarations of metrics derived from logs.

Each table declares one Prometheus metric. Everything that can be checked without data is checked
here, at config load, with the dotted key in the error: the metric and label names (Prometheus
naming rules, no clash with the agent's own ``logagent_`` metrics or between two declared
metrics), the ``where`` expressions, the regexes and the buckets.

Naming rule: the configured name is exactly the name you query. A counter's name must therefore
end in ``_total`` (the exposition's family name is the name without it, as the OpenMetrics and
prometheus_client conventions have it); gauges and histograms must not end in ``_total``, and no
name may end in a suffix the histogram samples use (``_bucket``, ``_sum``, ``_count``) or
``_created``, so that every exposed sample name belongs to one declared metric only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from logagent.config.model import StrictModel
from logagent.errors import ConfigError, ConfigErrors

if TYPE_CHECKING:
    from logagent.config.model import Config

#: Prometheus metric names (colons are reserved for recording rules, so refused here).
METRIC_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
SELF_PREFIX = "logagent_"
RESERVED_SUFFIXES = ("_bucket", "_sum", "_count", "_created")
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
DEFAULT_MAX_SERIES = 1000

# A where expression: FIELD OP VALUE. Two-character operators first so "<=" is not read as "<".
_WHERE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=~|!~|==|!=|<=|>=|=|<|>)\s*(.*?)\s*$", re.S)
Op = Literal["=", "!=", "=~", "!~", "<", "<=", ">", ">="]


def as_number(value: Any) -> float | None:
    """``value`` as a float when it is a number or a numeric string, else None (bools are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return None
        return f if not math.isnan(f) else None
    return None


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed ``where`` expression."""

    field: str
    op: Op
    value: str
    #: The value as a number, when it is one (for numeric comparisons).
    number: float | None
    pattern: re.Pattern[str] | None

    @classmethod
    def parse(cls, text: str) -> Condition:
        m = _WHERE.match(text)
        if not m:
            raise ValueError(
                f"cannot parse {text!r}: expected FIELD OP VALUE with OP one of = != =~ !~ < <= > >= "
                '(e.g. "status >= 500")'
            )
        field, op, raw = m.group(1), m.group(2), m.group(3)
        if op == "==":
            op = "="
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            value, quoted = raw[1:-1], True
        else:
            value, quoted = raw, False
        if not value and not quoted:
            raise ValueError(f'{text!r} has no value after {op!r} (write "" for the empty string)')
        pattern = None
        if op in ("=~", "!~"):
            try:
                pattern = re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex {value!r} in {text!r}: {exc}") from None
        number = None if quoted else as_number(value)
        if op in ("<", "<=", ">", ">=") and number is None:
            raise ValueError(f"{op!r} in {text!r} needs a number on the right")
        return cls(field, op, value, number, pattern)  # type: ignore[arg-type]


class MetricDef(StrictModel):
    """One ``[metrics.NAME]`` table (``name`` is filled in from the table's key)."""

    name: str = ""
    type: Literal["counter", "gauge", "histogram"]
    help: str = ""
    #: Sources whose lines feed the metric; None means every source.
    sources: list[str] | None = None
    #: Label name -> field name (a list of fields means each label is named after its field).
    labels: dict[str, str] = Field(default_factory=dict)
    where: list[str] = Field(default_factory=list)
    match: str | None = None
    field: str | None = None
    buckets: list[float] | None = None
    max_series: int = Field(default=DEFAULT_MAX_SERIES, gt=0)
    expire_secs: float | None = Field(default=None, gt=0)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise ValueError("expected a list of field names or a table label -> field")
            if len(set(value)) != len(value):
                raise ValueError("a field is listed twice")
            return {v: v for v in value}
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return value
        raise ValueError("expected a list of field names or a table label -> field")

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for label, field in value.items():
            if not LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(
                    f"invalid label name {label!r}: letters, digits and '_', not starting with a digit "
                    "or '__' (map it with a table, e.g. labels = { code = \"status-code\" })"
                )
            if not field:
                raise ValueError(f"label {label!r} maps to an empty field name")
        return value

    @field_validator("where")
    @classmethod
    def _where(cls, value: list[str]) -> list[str]:
        for text in value:
            Condition.parse(text)
        return value

    @field_validator("match")
    @classmethod
    def _match(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from None
        return value

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("expected at least one bucket bound")
        if any(math.isnan(b) for b in value):
            raise ValueError("a bucket bound is NaN")
        if any(b >= a for a, b in zip(value[1:], value, strict=False)):
            raise ValueError("bucket bounds must be strictly increasing")
        if math.isinf(value[-1]):
            value = value[:-1]  # +Inf is always there
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MetricDef:
        if self.type in ("gauge", "histogram") and self.field is None:
            raise ValueError(f"a {self.type} needs `field`: the numeric field it observes")
        if self.buckets is not None and self.type != "histogram":
            raise ValueError("`buckets` applies to histograms only")
        if self.type == "histogram" and "le" in self.labels:
            raise ValueError("a histogram cannot have a label called 'le'")
        if "quantile" in self.labels:
            raise ValueError("the label name 'quantile' is reserved")
        return self

    # -- derived, used by the engine --------------------------------------------------------

    @property
    def conditions(self) -> list[Condition]:
        return [Condition.parse(w) for w in self.where]

    @property
    def bucket_bounds(self) -> tuple[float, ...]:
        return tuple(self.buckets) if self.buckets is not None else DEFAULT_BUCKETS

    @property
    def family(self) -> str:
        """The exposition's family name (a counter's without ``_total``)."""
        return self.name[: -len("_total")] if self.type == "counter" else self.name

    def exposed_names(self) -> list[str]:
        """The family name and every sample name this metric exposes."""
        if self.type == "histogram":
            return [self.name, f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count"]
        return [self.family, self.name] if self.type == "counter" else [self.name]


def _check_name(name: str, kind: str) -> str | None:
    """Why ``name`` is not acceptable for a metric of type ``kind``, or None."""
    if not METRIC_NAME.match(name):
        return "invalid metric name: letters, digits and '_', not starting with a digit"
    if name.startswith(SELF_PREFIX):
        return f"names starting with {SELF_PREFIX!r} are reserved for the agent's own metrics"
    if kind == "counter":
        if not name.endswith("_total") or name == "_total":
            return "a counter's name must end in '_total' (e.g. http_requests_total)"
        stem = name[: -len("_total")]
        if stem.endswith(RESERVED_SUFFIXES) or stem.endswith("_total"):
            return f"a counter's name must not end in {stem.rsplit('_', 1)[-1]!r} before '_total'"
    else:
        if name.endswith("_total"):
            return f"only counters end in '_total'; rename this {kind}"
        if name.endswith(RESERVED_SUFFIXES):
            return f"names ending in {', '.join(RESERVED_SUFFIXES)} are reserved for histogram samples"
    return None


@dataclass(frozen=True)
class MetricsSection:
    """The validated ``[metrics]`` section: metric name -> definition, in config order."""

    metrics: dict[str, MetricDef]

    def cross_check(self, config: Config) -> list[ConfigError]:
        """Every source a metric names exists."""
        return [
            ConfigError(f"metrics.{name}.sources[{i}]", f"unknown source {src!r}")
            for name, m in self.metrics.items()
            for i, src in enumerate(m.sources or [])
            if src not in config.sources
        ]


def load_section(raw: dict[str, Any], prefix: str) -> MetricsSection:
    """Validate ``[metrics]`` (registered in ``logagent.registry.SECTIONS``)."""
    from logagent.config.loader import validation_errors

    errors: list[ConfigError] = []
    metrics: dict[str, MetricDef] = {}
    owners: dict[str, str] = {}  # exposed family or sample name -> metric declaring it
    for name, table in raw.items():
        key = f"{prefix}.{name}"
        if not isinstance(table, dict):
            errors.append(ConfigError(key, "expected a table"))
            continue
        if "name" in table:
            errors.append(ConfigError(f"{key}.name", "unknown key (the metric's name is the table's name)"))
            continue
        try:
            mdef = MetricDef.model_validate({**table, "name": name})
        except ValidationError as exc:
            errors.extend(validation_errors(exc, key))
            continue
        why = _check_name(name, mdef.type)
        if why:
            errors.append(ConfigError(key, why))
            continue
        clash = [owners[s] for s in mdef.exposed_names() if s in owners]
        if clash:
            errors.append(ConfigError(key, f"its samples clash with metric {clash[0]!r}"))
            continue
        for s in mdef.exposed_names():
            owners[s] = name
        metrics[name] = mdef
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return MetricsSection(metrics)
