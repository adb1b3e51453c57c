"""``[tests.NAME]``: test cases declared in the config, run by ``logagent test``.

A case feeds input lines through a source's parser (or a named one) and the ``[metrics]`` engine,
then compares what came out with what the case expects: per-line fields, and metric samples.
Each case starts from empty metrics. Named tables rather than a ``[[tests]]`` array: the name is
then the key of every error (``tests.nginx_5xx.metrics``) and cannot be given twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, field_validator

from logagent.config.model import StrictModel
from logagent.errors import ConfigError, ConfigErrors

if TYPE_CHECKING:
    from logagent.config.model import Config

_SELECTOR = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$", re.S)
_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)', re.S)
_UNESCAPE = re.compile(r"\\(.)", re.S)


@dataclass(frozen=True)
class Sample:
    """A sample to check: exact name and exact label set."""

    name: str
    labels: frozenset[tuple[str, str]]
    text: str

    @classmethod
    def parse(cls, text: str) -> Sample:
        m = _SELECTOR.match(text)
        if not m:
            raise ValueError(f'{text!r} is not a sample: expected name or name{{label="value",...}}')
        name, body = m.group(1), m.group(2)
        labels: dict[str, str] = {}
        pos = 0
        body = (body or "").strip()
        while pos < len(body):
            pm = _PAIR.match(body, pos)
            if not pm or pm.end() == pos:
                raise ValueError(f'{text!r}: cannot read the labels (expected label="value", ...)')
            value = _UNESCAPE.sub(lambda e: "\n" if e.group(1) == "n" else e.group(1), pm.group(2))
            labels[pm.group(1)] = value
            pos = pm.end()
        return cls(name, frozenset(labels.items()), text.strip())


class CaseDef(StrictModel):
    """One ``[tests.NAME]`` table."""

    name: str = ""
    #: The source the lines come from: its parser and labels apply, and metrics filtered on it see them.
    source: str | None = None
    #: A parser to use instead of the source's.
    parser: str | None = None
    #: Input lines: a list, or one multi-line string.
    input: list[str]
    #: Expected fields per input line (a subset: keys not listed are not checked); `parse_error`
    #: (true or false) checks whether the parser rejected the line.
    fields: list[dict[str, Any]] = Field(default_factory=list)
    #: Expected metric samples: 'name{label="value"}' -> value. An absent sample counts as 0.
    metrics: dict[str, float] = Field(default_factory=dict)

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.splitlines()
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a non-empty list of lines (or a multi-line string)")
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: dict[str, float]) -> dict[str, float]:
        for text in value:
            Sample.parse(text)
        return value

    @property
    def samples(self) -> list[tuple[Sample, float]]:
        return [(Sample.parse(k), v) for k, v in self.metrics.items()]


@dataclass(frozen=True)
class CasesSection:
    """The validated ``[tests]`` section: case name -> case, in config order."""

    cases: dict[str, CaseDef] = field(default_factory=dict)

    def cross_check(self, config: Config) -> list[ConfigError]:
        """Every case names an existing source, and has lines for every ``fields`` entry."""
        errors = []
        for name, case in self.cases.items():
            if case.source is not None and case.source not in config.sources:
                errors.append(ConfigError(f"tests.{name}.source", f"unknown source {case.source!r}"))
            if len(case.fields) > len(case.input):
                errors.append(
                    ConfigError(
                        f"tests.{name}.fields",
                        f"{len(case.fields)} entries for {len(case.input)} input lines",
                    )
                )
        return errors


def load_section(raw: dict[str, Any], prefix: str) -> CasesSection:
    """Validate ``[tests]`` (registered in ``logagent.registry.SECTIONS``)."""
    from logagent.config.loader import validation_errors

    errors: list[ConfigError] = []
    cases: dict[str, CaseDef] = {}
    for name, table in raw.items():
        key = f"{prefix}.{name}"
        if not isinstance(table, dict):
            errors.append(ConfigError(key, "expected a table"))
            continue
        if "name" in table:
            errors.append(ConfigError(f"{key}.name", "unknown key (the case's name is the table's name)"))
            continue
        try:
            cases[name] = CaseDef.model_validate({**table, "name": name})
        except ValidationError as exc:
            errors.extend(validation_errors(exc, key))
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return CasesSection(cases)


def _show(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})" if value is not None else "nothing"


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return bool(expected == actual)


def run_case(config: Config, case: CaseDef) -> list[str]:
    """Run one case on fresh metrics; the list of its failures (empty: passed)."""
    from prometheus_client.parser import text_string_to_metric_families

    from logagent.event import Batch
    from logagent.logmetrics.engine import LogMetrics, engine_for
    from logagent.metrics import AgentMetrics
    from logagent.topology import build_parser
    from parsers.registry import ParserNotFound

    failures: list[str] = []
    src_cfg = config.sources.get(case.source) if case.source else None
    parser_name = case.parser or (src_cfg.parser if src_cfg is not None else None)
    source = case.source or "test"
    batch = Batch(source, list(case.input), labels=src_cfg.labels if src_cfg is not None else {})
    agent_metrics = AgentMetrics()
    if parser_name:
        try:
            parser = build_parser(config, parser_name)
        except ParserNotFound as exc:
            return [f"parser {parser_name!r}: {exc}"]
        batch.records = parser.parse_batch(batch.lines)
        failed = sum(1 for r in batch.records if r.error is not None)
        agent_metrics.parse_errors.labels(source, parser_name).inc(failed)
    engine: LogMetrics = engine_for(agent_metrics)
    engine.configure(config.sections.get("metrics"))
    engine(batch)

    for i, expected in enumerate(case.fields):
        rec = batch.records[i] if batch.records is not None else None
        got: dict[str, Any] = dict(batch.labels)
        if rec is not None:
            got.update(rec.fields)
            for pseudo in ("level", "message"):
                if getattr(rec, pseudo) is not None and pseudo not in rec.fields:
                    got[pseudo] = getattr(rec, pseudo)
        else:
            got["message"] = batch.lines[i]
        for key, want in expected.items():
            if key == "parse_error":
                error = rec.error if rec is not None else None
                if bool(want) != (error is not None):
                    failures.append(
                        f"line {i + 1}: expected the parser to {'reject' if want else 'accept'} it"
                        + (f" (its error: {error})" if error else "")
                    )
                continue
            if not _same(want, got.get(key)):
                failures.append(
                    f"line {i + 1}: field {key}: expected {_show(want)}, got {_show(got.get(key))}"
                )

    exposed: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for fam in text_string_to_metric_families(agent_metrics.exposition().decode()):
        for s in fam.samples:
            exposed[(s.name, frozenset(s.labels.items()))] = s.value
    for sample, want in case.samples:
        got_value = exposed.get((sample.name, sample.labels))
        if (got_value or 0.0) != want:
            shown = "absent" if got_value is None else f"{got_value:g}"
            line = f"{sample.text}: expected {want:g}, got {shown}"
            others = sorted(
                "{" + ",".join(f'{k}="{v}"' for k, v in sorted(lbl)) + "}"
                for (n, lbl) in exposed
                if n == sample.name and lbl != sample.labels
            )
            if others:
                line += f" (other series: {', '.join(others[:5])})"
            failures.append(line)
    return failures
