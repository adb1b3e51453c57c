"""``type = "file"``: the file source's config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from logagent.config.model import SourceConfig, StrictModel


class MultilineConfig(StrictModel):
    """Join continuation lines (stack traces) into the record whose first line matches ``start``."""

    #: A regex matching a record's first line, or a preset: java, python, go.
    start: str
    #: A record is shipped when it reaches this many lines.
    max_lines: int = Field(default=500, ge=1)
    #: A record is shipped after this long without a new line.
    timeout_ms: int = Field(default=1000, ge=1)

    @field_validator("start")
    @classmethod
    def _compiles(cls, value: str) -> str:
        from parsers.multiline import compile_start

        try:
            compile_start(value)
        except Exception as exc:
            raise ValueError(f"not a preset or a valid regex: {exc}") from None
        return value


if TYPE_CHECKING:
    from logagent.components import Source, SourceContext


class FileSourceConfig(SourceConfig):
    """Tail files matching globs (``**`` spans directories)."""

    type: Literal["file"] = "file"
    include: list[str]
    exclude: list[str] = Field(default_factory=list)
    #: Where a file never seen before starts, for files found at the source's first start. Files
    #: that appear later (or after a restart) are always read from their beginning.
    read_from: Literal["beginning", "end"] = "beginning"
    #: Longer lines are cut to this many bytes, flagged "truncated" and counted.
    max_line_bytes: int = Field(default=256 * 1024, ge=16)
    #: Files not modified for this long are not read (until they change again).
    ignore_older_secs: float | None = Field(default=None, gt=0)
    #: Bytes skipped before the fingerprint (for files that all start with the same header).
    ignored_header_bytes: int = Field(default=0, ge=0)
    #: The fingerprint is a checksum of the first line, or of this many bytes if it is longer.
    fingerprint_bytes: int = Field(default=1024, ge=16)
    #: Tracked files are checked for growth this often even when inotify is quiet. Default: 1 s
    #: without inotify, 5 s with it (inotify wakes the reader at once; polling is the safety net).
    poll_interval_secs: float | None = Field(default=None, gt=0)
    #: Globs are re-expanded this often even when inotify is quiet.
    rescan_interval_secs: float = Field(default=10.0, gt=0)
    #: A file rotated away or deleted is kept open this long after its last growth, to drain it;
    #: then its unterminated last line, if any, is shipped flagged "unterminated".
    rotate_wait_secs: float = Field(default=5.0, ge=0)
    #: Read size per call.
    read_chunk_bytes: int = Field(default=256 * 1024, ge=4096)
    #: Use inotify (watchdog) for prompt wake-ups; polling always runs as the fallback.
    inotify: bool = True
    #: Join multiline records (e.g. ``{ start = "java" }``); default: one event per line.
    multiline: MultilineConfig | None = None

    @field_validator("include", mode="before")
    @classmethod
    def _globs(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise ValueError("expected a list of globs")
        for v in value:
            if not v.startswith("/"):
                raise ValueError(f"glob {v!r} must be an absolute path")
        return value

    @field_validator("exclude", mode="before")
    @classmethod
    def _exclude_globs(cls, value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError("expected a list of globs")
        return value

    def build(self, name: str, ctx: SourceContext) -> Source:
        from logagent.sources.file.source import FileSource

        return FileSource(name, self, ctx)
