"""Typed config objects: the agent section and the base classes of component configs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from logagent.patterns.config import PATTERNS_OFF, PatternsOption

if TYPE_CHECKING:
    from logagent.components import Sink, SinkContext, Source, SourceContext


class StrictModel(BaseModel):
    """Frozen, and every unknown key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def default_data_dir() -> Path:
    """/var/lib/logagent for root, else the user's XDG state dir."""
    if os.geteuid() == 0:
        return Path("/var/lib/logagent")
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "logagent"


class AgentSection(StrictModel):
    """``[agent]``: process-wide settings."""

    data_dir: Path = Field(default_factory=default_data_dir)
    listen: str = "127.0.0.1:9880"
    shutdown_timeout_secs: float = Field(default=30.0, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        if value == "":
            return value
        _host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9880 (empty string disables)")
        return value

    @property
    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)


class SourceConfig(StrictModel):
    """Keys every source has. Subclasses add their own and implement :meth:`build`."""

    type: str
    parser: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    #: Template mining (logagent.patterns): true, or a table of options.
    patterns: PatternsOption = PATTERNS_OFF

    def build(self, name: str, ctx: SourceContext) -> Source:
        raise NotImplementedError


class BufferConfig(StrictModel):
    """A sink's buffer: memory (bounded by events and bytes) or disk (segment files, bounded by bytes)."""

    type: Literal["memory", "disk"] = "memory"
    #: Memory buffers only: a disk buffer is bounded by max_bytes.
    max_events: int = Field(default=10_000, gt=0)
    max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    when_full: Literal["block", "drop_newest"] = "block"
    #: Disk buffers only: a segment file is sealed past this size (at most max_bytes / 4).
    max_segment_bytes: int = Field(default=8 * 1024 * 1024, ge=4096)

    @field_validator("max_events")
    @classmethod
    def _memory_only(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("type") == "disk":
            raise ValueError("applies to memory buffers only; a disk buffer is bounded by max_bytes")
        return value

    @field_validator("max_segment_bytes")
    @classmethod
    def _disk_only(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("type") == "memory":
            raise ValueError('applies to disk buffers only (type = "disk")')
        return value


class SinkConfig(StrictModel):
    """Keys every sink has. Subclasses add their own and implement :meth:`build`."""

    type: str
    inputs: list[str] | None = None
    buffer: BufferConfig = Field(default_factory=BufferConfig)

    def build(self, name: str, ctx: SinkContext) -> Sink:
        raise NotImplementedError


@dataclass(frozen=True)
class Config:
    """A whole, validated config."""

    agent: AgentSection
    sources: dict[str, SourceConfig]
    sinks: dict[str, SinkConfig]
    #: Extra top-level sections (parsers, metrics, ...), each validated by its registered model.
    sections: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def sink_inputs(self, sink: str) -> list[str]:
        """The sources a sink takes: its ``inputs``, or every source."""
        inputs = self.sinks[sink].inputs
        return list(self.sources) if inputs is None else list(inputs)

    def sinks_for(self, source: str) -> list[str]:
        """The sinks that take a source's lines."""
        return [s for s in self.sinks if source in self.sink_inputs(s)]
