"""``type = "kubernetes"``: CRI-format container logs (containerd, CRI-O) under ``/var/log/pods``.

The kubelet lays them out as ``<root>/<namespace>_<pod>_<uid>/<container>/<restarts>.log`` and
rotates ``0.log`` to ``0.log.<timestamp>`` (later gzipped, which is skipped). A line is
``<RFC3339Nano> <stdout|stderr> <tags> <content>``; the first tag is ``P`` (a partial piece) or
``F`` (the last piece): a message is the ``P`` pieces of one stream plus the ``F`` that follows,
joined by the shared machinery of :mod:`logagent.sources.docker.joiner`. The namespace, pod,
pod uid and container come from the path and become event labels. Lines in Docker's JSON
format (Docker Engine through cri-dockerd links its json-file logs here) are decoded as such.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from logagent.sources.docker.joiner import ContainerLogSource, ContainerSourceConfig, Decoded
from logagent.sources.docker.rfc3339 import parse_rfc3339_ns
from logagent.sources.docker.source import decode_docker_line
from logagent.sources.file.reader import TrackedFile

if TYPE_CHECKING:
    from logagent.components import Source, SourceContext

_STREAMS = ("stdout", "stderr")


class KubernetesSourceConfig(ContainerSourceConfig):
    """Tail every pod container's CRI log under ``root``."""

    type: Literal["kubernetes"] = "kubernetes"
    root: str = "/var/log/pods"
    #: Namespace selection (globs); empty ``include_namespaces`` means every namespace.
    include_namespaces: list[str] = Field(default_factory=list)
    exclude_namespaces: list[str] = Field(default_factory=list)

    @field_validator("include_namespaces", "exclude_namespaces", mode="before")
    @classmethod
    def _globs(cls, value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError("expected a list of non-empty strings")
        return value

    @field_validator("root")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute path")
        return value.rstrip("/") or "/"

    def build(self, name: str, ctx: SourceContext) -> Source:
        return KubernetesSource(name, self, ctx)


def pod_labels(root: str, path: str) -> dict[str, str]:
    """``namespace``, ``pod``, ``pod_uid`` and ``container`` from a path under ``root``."""
    parts = os.path.relpath(path, root).split(os.sep)
    labels: dict[str, str] = {}
    if len(parts) >= 3:
        pod_dir = parts[0].split("_")
        if len(pod_dir) == 3:
            labels["namespace"], labels["pod"], labels["pod_uid"] = pod_dir
        labels["container"] = parts[1]
    return labels


class KubernetesSource(ContainerLogSource):
    """CRI logs, decoded and rejoined, labelled from their path."""

    format_name = "cri"
    options: KubernetesSourceConfig

    def __init__(self, name: str, config: KubernetesSourceConfig, ctx: Any) -> None:
        # Rotated files are renamed "0.log.<timestamp>"; ".gz" and the kubelet's ".tmp" are skipped.
        file_config = config.file_config([f"{config.root}/*/*/*.log*"], ["*.gz", "*.tmp"])
        super().__init__(name, config, file_config, ctx)
        self._labels: dict[str, dict[str, str]] = {}

    def decode_line(self, line: str) -> Decoded | None:
        if line[:1] == "{":
            # cri-dockerd (and the old dockershim) link Docker's json-file logs here.
            return decode_docker_line(line)
        parts = line.split(" ", 3)
        if len(parts) < 3:
            return None
        stream = parts[1]
        if stream not in _STREAMS:
            return None
        tag = parts[2].partition(":")[0]
        if tag == "F":
            complete = True
        elif tag == "P":
            complete = False
        else:
            return None
        ts = parse_rfc3339_ns(parts[0])
        if ts is None:
            return None
        return stream, parts[3] if len(parts) == 4 else "", complete, ts

    def labels_for(self, tracked: TrackedFile) -> Mapping[str, str]:
        directory = os.path.dirname(tracked.path)
        labels = self._labels.get(directory)
        if labels is None:
            labels = self._labels[directory] = {
                **self.config.labels,
                **pod_labels(self.options.root, tracked.path),
            }
        return labels

    async def _open_new(self, path: str, st: os.stat_result) -> None:
        namespace = pod_labels(self.options.root, path).get("namespace", "")
        inc, exc = self.options.include_namespaces, self.options.exclude_namespaces
        if (inc and not any(fnmatch.fnmatchcase(namespace, p) for p in inc)) or any(
            fnmatch.fnmatchcase(namespace, p) for p in exc
        ):
            self.skipped[path] = (st.st_dev, st.st_ino, st.st_size)
            return
        await super()._open_new(path, st)

    async def scan(self) -> None:
        await super().scan()
        if len(self._labels) > 2 * len(self.files) + 64:
            live = {os.path.dirname(t.path) for t in self.files.values()}
            self._labels = {d: v for d, v in self._labels.items() if d in live}
