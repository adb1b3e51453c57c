"""``type = "cloudwatch"``: the config keys of the CloudWatch Logs sink and its name templates.

Templates are plain strings with placeholders ``{source}`` (the source's name), ``{host}`` (this
machine's hostname), ``{path}`` (the file a line came from, ``-`` when none) and
``{labels.NAME}`` (the source label ``NAME``, ``-`` when the batch has no such label). Anything
else in braces is a config error.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from logagent.config.model import SinkConfig, StrictModel
from logagent.sinks.cloudwatch import limits

if TYPE_CHECKING:
    from logagent.components import Sink, SinkContext

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
MISSING = "-"


def check_template(template: str) -> str:
    """Raise ValueError naming an unknown placeholder or a stray brace."""
    if not template:
        raise ValueError("must not be empty")
    for m in _PLACEHOLDER.finditer(template):
        name = m.group(1)
        if name in ("source", "host", "path"):
            continue
        if name.startswith("labels.") and _LABEL_NAME.match(name[7:]):
            continue
        raise ValueError(
            f"unknown placeholder {{{name}}} (use {{source}}, {{host}}, {{path}} or {{labels.NAME}})"
        )
    if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
        raise ValueError("unbalanced brace")
    return template


def render(template: str, source: str, host: str, path: str | None, labels: Mapping[str, str]) -> str:
    """Fill a (validated) template."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "source":
            return source
        if name == "host":
            return host
        if name == "path":
            return path or MISSING
        return labels.get(name[7:], MISSING)

    return _PLACEHOLDER.sub(sub, template)


def clean_group_name(name: str) -> str:
    """A valid log group name: invalid characters become '_', cut to the maximum length."""
    if any(c not in limits.GROUP_NAME_CHARS for c in name):
        name = "".join(c if c in limits.GROUP_NAME_CHARS else "_" for c in name)
    return name[: limits.MAX_GROUP_NAME] or "_"


def clean_stream_name(name: str) -> str:
    """A valid log stream name: ':' and '*' become '_', cut to the maximum length."""
    if any(c in limits.STREAM_NAME_FORBIDDEN for c in name):
        name = "".join("_" if c in limits.STREAM_NAME_FORBIDDEN else c for c in name)
    return name[: limits.MAX_STREAM_NAME] or "_"


class CloudWatchBatchConfig(StrictModel):
    """``batch``: when a request is sent (whichever limit is reached first)."""

    #: Events gathered before sending (capped at the API's 10,000 per request).
    max_events: int = Field(default=limits.MAX_REQUEST_EVENTS, gt=0, le=limits.MAX_REQUEST_EVENTS)
    #: Bytes gathered before sending, counted as the API does (message + 26 per event).
    max_bytes: int = Field(
        default=limits.MAX_REQUEST_BYTES, ge=limits.MIN_EVENT_BYTES, le=limits.MAX_REQUEST_BYTES
    )
    #: Send what has gathered this long after the first event arrived.
    timeout_secs: float = Field(default=1.0, gt=0)


class CloudWatchSinkConfig(SinkConfig):
    """Ship lines to AWS CloudWatch Logs with PutLogEvents."""

    type: Literal["cloudwatch"] = "cloudwatch"
    #: AWS region; default: the standard chain (AWS_REGION, AWS_DEFAULT_REGION, the profile).
    region: str | None = None
    #: Another endpoint (moto, LocalStack, a VPC endpoint); default: the region's public one.
    endpoint_url: str | None = None
    #: Named profile of the shared config/credentials files; default: the standard chain.
    profile: str | None = None
    #: Log group name template, e.g. ``"/logagent/{source}"``.
    log_group: str
    #: Log stream name template.
    log_stream: str = "{host}/{source}"
    #: Create a missing log group or stream (and then resend); false: wait and retry until it exists.
    create_missing: bool = True
    #: Retention set on log groups this sink creates (one of the values the API accepts).
    retention_days: int | None = None
    #: What an event's message is: the raw line, or the NDJSON event (time, source, labels,
    #: fields, flags, line) as one JSON object.
    format: Literal["raw", "json"] = "raw"
    #: Largest event (message + 26 bytes); longer messages are split into several events.
    max_event_bytes: int = Field(
        default=limits.MAX_EVENT_BYTES, ge=limits.MIN_EVENT_BYTES, le=limits.MAX_EVENT_BYTES
    )
    #: PutLogEvents requests in flight at once (each runs in a worker thread).
    max_in_flight: int = Field(default=4, ge=1, le=64)
    #: Requests in flight to one stream. 1 keeps a stream's lines in order; more is faster, but
    #: lines sharing a millisecond at a request boundary may then be stored out of order.
    max_in_flight_per_stream: int = Field(default=1, ge=1, le=64)
    #: Seconds to connect / to wait for a response before the request counts as failed (and is retried).
    connect_timeout_secs: float = Field(default=10.0, gt=0)
    read_timeout_secs: float = Field(default=30.0, gt=0)
    #: Retry waits: capped exponential backoff with jitter, forever (lines stay unacknowledged).
    retry_initial_secs: float = Field(default=0.5, gt=0)
    retry_max_secs: float = Field(default=30.0, gt=0)
    #: ``{host}`` in templates; default: this machine's hostname.
    hostname: str | None = None
    batch: CloudWatchBatchConfig = Field(default_factory=CloudWatchBatchConfig)

    @field_validator("log_group", "log_stream")
    @classmethod
    def _check_template(cls, value: str) -> str:
        return check_template(value)

    @field_validator("retention_days")
    @classmethod
    def _check_retention(cls, value: int | None) -> int | None:
        if value is not None and value not in limits.RETENTION_DAYS:
            allowed = ", ".join(str(v) for v in sorted(limits.RETENTION_DAYS))
            raise ValueError(f"{value} is not a retention CloudWatch Logs accepts (one of: {allowed})")
        return value

    @property
    def host(self) -> str:
        return self.hostname or socket.gethostname()

    def build(self, name: str, ctx: SinkContext) -> Sink:
        from logagent.sinks.cloudwatch.sink import CloudWatchSink

        return CloudWatchSink(name, self, ctx)
