"""``type = "docker"``: the json-file logging driver's files, read without the Docker daemon.

Every container has ``<root>/<id>/<id>-json.log`` (rotated to ``-json.log.1``, ``.2``, ... and
optionally gzipped, which the file source skips). The file source's discovery finds containers as
their log appears (inotify, with polling as the fallback) and retires them once their directory
is removed and drained; rotation by rename is followed as for any file. Each line is
``{"log": "text\\n", "stream": "stdout"|"stderr", "time": RFC3339Nano}``; ``log`` without the
trailing newline is a 16 KiB piece of a longer message, joined with the next pieces of the same
stream. Docker's ``time`` becomes the event time, ``stream`` a field, and the container's name,
id, image, Compose project/service and chosen labels become event labels.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import Field, field_validator

from logagent.sources.docker.joiner import ContainerLogSource, ContainerSourceConfig, Decoded
from logagent.sources.docker.metadata import ContainerCache, Selection
from logagent.sources.docker.rfc3339 import parse_rfc3339_ns
from logagent.sources.file.reader import TrackedFile

if TYPE_CHECKING:
    from logagent.components import Source, SourceContext


def _globs(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("expected a list of non-empty strings")
    return value


class DockerSourceConfig(ContainerSourceConfig):
    """Tail every container's json-file log under ``root``."""

    type: Literal["docker"] = "docker"
    root: str = "/var/lib/docker/containers"
    #: Container selection by name (without the leading "/"), image (as run) or label, with globs.
    #: Labels are ``"key"`` (present) or ``"key=glob"``. Every non-empty include list must match.
    include_names: list[str] = Field(default_factory=list)
    exclude_names: list[str] = Field(default_factory=list)
    include_images: list[str] = Field(default_factory=list)
    exclude_images: list[str] = Field(default_factory=list)
    include_labels: list[str] = Field(default_factory=list)
    exclude_labels: list[str] = Field(default_factory=list)
    #: Container labels copied to event labels (dots and dashes become "_" in the event label name).
    label_keys: list[str] = Field(default_factory=list)

    _check_globs = field_validator(
        "include_names",
        "exclude_names",
        "include_images",
        "exclude_images",
        "include_labels",
        "exclude_labels",
        "label_keys",
        mode="before",
    )(_globs)

    @field_validator("root")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute path")
        return value.rstrip("/") or "/"

    def selection(self) -> Selection:
        return Selection(
            include_names=self.include_names,
            exclude_names=self.exclude_names,
            include_images=self.include_images,
            exclude_images=self.exclude_images,
            include_labels=self.include_labels,
            exclude_labels=self.exclude_labels,
        )

    def build(self, name: str, ctx: SourceContext) -> Source:
        return DockerSource(name, self, ctx)


_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


def decode_docker_line(line: str) -> Decoded | None:
    """``(stream, text, complete, ts_ns)`` of one json-file line, or None if it is not one."""
    try:
        obj = _loads(line)
        text = obj["log"]
    except (_JSONDecodeError, KeyError, TypeError):
        return None
    if type(text) is not str:
        return None
    stream = obj.get("stream", "")
    if type(stream) is not str:
        stream = ""
    t = obj.get("time")
    ts = parse_rfc3339_ns(t) if type(t) is str else None
    if text.endswith("\n"):
        return stream, text[:-1], True, ts
    return stream, text, False, ts


class DockerSource(ContainerLogSource):
    """The json-file logs of the selected containers."""

    format_name = "docker"
    options: DockerSourceConfig

    def __init__(self, name: str, config: DockerSourceConfig, ctx: Any) -> None:
        include = [f"{config.root}/*/*-json.log*"]
        super().__init__(name, config, config.file_config(include, []), ctx)
        self.selection = config.selection()
        self.containers = ContainerCache(config.labels, config.label_keys)

    def decode_line(self, line: str) -> Decoded | None:
        return decode_docker_line(line)

    def labels_for(self, tracked: TrackedFile) -> Mapping[str, str]:
        return self.containers.get(os.path.dirname(tracked.path))[1]

    async def _open_new(self, path: str, st: os.stat_result) -> None:
        container, _ = self.containers.get(os.path.dirname(path))
        if not self.selection.selects(container):
            # Looked at again only when the file changes (size), through the cache.
            self.skipped[path] = (st.st_dev, st.st_ino, st.st_size)
            return
        await super()._open_new(path, st)

    async def scan(self) -> None:
        await super().scan()
        in_use = {os.path.dirname(t.path) for t in self.files.values()}
        self.containers.forget_missing(in_use | {os.path.dirname(t.path) for t in self._states})
