"""``type = "loki"``: the Loki sink's config, validated at load (label names, auth, encodings).

Secrets never appear in the config text: the password or token is read from a file or an
environment variable named here, at request time (so a rotated token is picked up).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from logagent.config.model import SinkConfig, StrictModel
from logagent.sinks.loki.labels import MAX_LABELS, MAX_VALUE_BYTES, label_name_error

if TYPE_CHECKING:
    from logagent.components import Sink, SinkContext

#: Loki's default ``max_line_size`` (256KB).
LOKI_MAX_LINE_BYTES = 256 * 1024
#: Loki's default ``reject_old_samples_max_age`` (7 d).
LOKI_MAX_AGE_SECS = 7 * 86400.0
#: Loki's default ``creation_grace_period`` (10 min).
LOKI_MAX_FUTURE_SECS = 600.0
#: Half of Loki's default ``max_chunk_age`` (2 h): older entries in a stream are "too far behind".
LOKI_OUT_OF_ORDER_WINDOW_SECS = 3600.0
#: Loki's default ``max_streams_per_user``.
LOKI_MAX_STREAMS = 5000

#: Field names that are not looked up in the parsed fields but taken from the batch/record.
SPECIAL_FIELDS = ("source", "path", "level")

#: Headers set from other keys; a secret must not be pasted into ``headers``.
_RESERVED_HEADERS = {"authorization", "x-scope-orgid", "content-type", "content-encoding", "content-length"}


class LokiBatchConfig(StrictModel):
    """``batch``: when a push request is sent (whichever comes first)."""

    #: Uncompressed entry bytes per push (Alloy's default: 1 MiB).
    max_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    #: A push is sent at most this long after its first line arrived.
    timeout_secs: float = Field(default=1.0, gt=0)


def _check_fields(value: list[str], what: str) -> list[str]:
    seen: set[str] = set()
    for item in value:
        name, _, field = item.partition("=")
        if not field:
            field = name
        err = label_name_error(name)
        if err:
            raise ValueError(err)
        if not field:
            raise ValueError(f"empty field name in {item!r}")
        if name in seen:
            raise ValueError(f"{what} {name!r} listed twice")
        seen.add(name)
    return value


class LokiSinkConfig(SinkConfig):
    """Push to Grafana Loki's ``/loki/api/v1/push``."""

    type: Literal["loki"] = "loki"
    #: Base URL, e.g. ``http://loki:3100`` (the push path is appended).
    endpoint: str
    #: Sent as ``X-Scope-OrgID`` (multi-tenant Loki).
    tenant_id: str | None = None
    #: Basic auth user; the password comes from ``password_file`` or ``password_env``.
    username: str | None = None
    password_file: Path | None = None
    password_env: str | None = None
    #: Bearer token from a file or an environment variable (exclusive with basic auth).
    bearer_token_file: Path | None = None
    bearer_token_env: str | None = None
    #: Verify the server's TLS certificate (against ``ca_file`` if set, else the system CAs).
    tls_verify: bool = True
    ca_file: Path | None = None
    #: Extra request headers (not Authorization, X-Scope-OrgID or Content-*).
    headers: dict[str, str] = Field(default_factory=dict)
    #: ``protobuf`` (snappy block-compressed, as Promtail/Alloy) or ``json``.
    encoding: Literal["protobuf", "json"] = "protobuf"
    #: JSON only: ``gzip`` the body.
    json_gzip: bool = False
    #: Static labels on every stream (the source's labels are added too).
    labels: dict[str, str] = Field(default_factory=dict)
    #: Fields promoted to labels: ``"level"`` or ``"label_name=field_name"``. ``source``, ``path``
    #: and ``level`` name the batch's source, file path and parsed level; others are parsed fields.
    label_fields: list[str] = Field(default_factory=list)
    #: Fields sent as structured metadata (same syntax as ``label_fields``).
    structured_metadata: list[str] = Field(default_factory=list)
    #: Flags (truncated, invalid_utf8, ...) as structured metadata ``flags`` on flagged lines.
    flags_metadata: bool = True
    #: Longer lines are cut to this size and flagged "truncated".
    max_line_bytes: int = Field(default=LOKI_MAX_LINE_BYTES, ge=64)
    #: Lines older than this are dropped (reason ``too_old``): Loki would reject them. 0 disables.
    max_age_secs: float = Field(default=LOKI_MAX_AGE_SECS, ge=0)
    #: Lines dated further ahead are sent with the current time instead (Loki rejects them).
    max_future_secs: float = Field(default=LOKI_MAX_FUTURE_SECS, gt=0)
    #: Entries this much older than the newest sent to their stream are dropped (``too_far_behind``).
    #: 0 disables the check.
    out_of_order_window_secs: float = Field(default=LOKI_OUT_OF_ORDER_WINDOW_SECS, ge=0)
    #: Cardinality guard: distinct streams in one source batch; lines of extra streams are dropped.
    max_streams_per_batch: int = Field(default=1000, gt=0)
    #: Cardinality guard: distinct streams this sink keeps (idle ones expire); extra are dropped.
    max_streams: int = Field(default=LOKI_MAX_STREAMS, gt=0)
    #: A stream unused this long no longer counts against ``max_streams``.
    stream_idle_secs: float = Field(default=1800.0, gt=0)
    batch: LokiBatchConfig = Field(default_factory=LokiBatchConfig)
    #: Push requests in flight at once.
    max_in_flight: int = Field(default=2, ge=1, le=64)
    request_timeout_secs: float = Field(default=30.0, gt=0)
    #: Retry backoff: starts here, doubles, capped (with jitter); ``Retry-After`` is honoured.
    min_backoff_secs: float = Field(default=0.5, gt=0)
    max_backoff_secs: float = Field(default=30.0, gt=0)
    #: Rejected pushes are kept under ``<data_dir>/deadletter/<sink>/``; oldest removed past this.
    deadletter_max_bytes: int = Field(default=100 * 1024 * 1024, ge=0)

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL, e.g. http://loki:3100")
        if parts.username or parts.password:
            raise ValueError("credentials in the URL are not allowed: use username + password_file")
        if parts.query or parts.fragment:
            raise ValueError("expected a base URL without query or fragment")
        return value.rstrip("/")

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for name, val in value.items():
            err = label_name_error(name)
            if err:
                raise ValueError(err)
            if not val:
                raise ValueError(f"label {name!r} has an empty value")
            if len(val.encode()) > MAX_VALUE_BYTES:
                raise ValueError(f"label {name!r}: value longer than {MAX_VALUE_BYTES} bytes")
        return value

    @field_validator("label_fields")
    @classmethod
    def _check_label_fields(cls, value: list[str]) -> list[str]:
        return _check_fields(value, "label")

    @field_validator("structured_metadata")
    @classmethod
    def _check_metadata(cls, value: list[str]) -> list[str]:
        return _check_fields(value, "structured metadata field")

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by the sink (use tenant_id / auth keys)")
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> LokiSinkConfig:
        basic = self.username is not None
        if basic and (self.password_file is None) == (self.password_env is None):
            raise ValueError("username needs exactly one of password_file or password_env")
        if not basic and (self.password_file is not None or self.password_env is not None):
            raise ValueError("password_file/password_env need username")
        if self.bearer_token_file is not None and self.bearer_token_env is not None:
            raise ValueError("set only one of bearer_token_file or bearer_token_env")
        if basic and (self.bearer_token_file is not None or self.bearer_token_env is not None):
            raise ValueError("basic auth (username) and a bearer token are exclusive")
        if self.json_gzip and self.encoding != "json":
            raise ValueError("json_gzip needs encoding = 'json' (protobuf is always snappy-compressed)")
        names = set(self.labels) | {f.partition("=")[0] for f in self.label_fields}
        if len(names) > MAX_LABELS:
            raise ValueError(f"{len(names)} labels configured; Loki allows {MAX_LABELS} per stream")
        overlap = set(self.labels) & {f.partition("=")[0] for f in self.label_fields}
        if overlap:
            raise ValueError(f"label {sorted(overlap)[0]!r} is both static and a label field")
        if self.min_backoff_secs > self.max_backoff_secs:
            raise ValueError("min_backoff_secs is larger than max_backoff_secs")
        return self

    def field_map(self, items: list[str]) -> list[tuple[str, str]]:
        """``["a", "b=c"]`` -> ``[("a", "a"), ("b", "c")]`` (target name, field name)."""
        out = []
        for item in items:
            name, _, field = item.partition("=")
            out.append((name, field or name))
        return out

    def build(self, name: str, ctx: SinkContext) -> Sink:
        from logagent.sinks.loki.sink import LokiSink

        return LokiSink(name, self, ctx)
