"""Container metadata from ``<root>/<id>/config.v2.json`` (no Docker daemon), and selection.

The daemon writes ``config.v2.json`` when the container is created, before its log file exists.
Fields used: ``ID``, ``Name`` (with a leading ``/``), ``Config.Image`` (the name it was run
with; the top-level ``Image`` is the ``sha256:`` id, used only as a fallback) and
``Config.Labels`` (Compose sets ``com.docker.compose.project`` / ``.service``).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

log = logging.getLogger(__name__)

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
#: A container whose config could not be read is looked at again after this long.
RETRY_SECS = 5.0

_LABEL_NAME = re.compile(r"[^A-Za-z0-9_]")


def label_name(key: str) -> str:
    """A Docker label key as an event label name: ``com.example.team`` -> ``com_example_team``."""
    return _LABEL_NAME.sub("_", key)


@dataclass(frozen=True)
class Container:
    """What the agent knows of one container."""

    id: str
    name: str = ""
    image: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    #: False when config.v2.json was missing or unreadable (only the id is known).
    known: bool = True


def read_container(container_dir: str) -> Container:
    """The container whose directory is ``container_dir``, from its ``config.v2.json``."""
    cid = os.path.basename(container_dir.rstrip("/"))
    try:
        with open(os.path.join(container_dir, "config.v2.json"), "rb") as f:
            doc = orjson.loads(f.read())
        config = doc.get("Config") or {}
        labels = config.get("Labels") or {}
        return Container(
            id=str(doc.get("ID") or cid),
            name=str(doc.get("Name") or "").lstrip("/"),
            image=str(config.get("Image") or doc.get("Image") or ""),
            labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        )
    except (OSError, orjson.JSONDecodeError, AttributeError) as exc:
        log.warning("No metadata for container %s (%s); shipping its logs with the id only.", cid, exc)
        return Container(id=cid, known=False)


def _label_matches(labels: Mapping[str, str], patterns: list[str]) -> bool:
    """``key`` (present) or ``key=glob`` (value matches)."""
    for pattern in patterns:
        key, sep, value = pattern.partition("=")
        if key in labels and (not sep or fnmatch.fnmatchcase(labels[key], value)):
            return True
    return False


def _any_glob(value: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


@dataclass(frozen=True)
class Selection:
    """Include/exclude rules. Each non-empty include list must match; no exclude may match."""

    include_names: list[str] = field(default_factory=list)
    exclude_names: list[str] = field(default_factory=list)
    include_images: list[str] = field(default_factory=list)
    exclude_images: list[str] = field(default_factory=list)
    include_labels: list[str] = field(default_factory=list)
    exclude_labels: list[str] = field(default_factory=list)

    def selects(self, c: Container) -> bool:
        if self.include_names and not _any_glob(c.name, self.include_names):
            return False
        if self.include_images and not _any_glob(c.image, self.include_images):
            return False
        if self.include_labels and not _label_matches(c.labels, self.include_labels):
            return False
        if self.exclude_names and _any_glob(c.name, self.exclude_names):
            return False
        if self.exclude_images and _any_glob(c.image, self.exclude_images):
            return False
        return not (self.exclude_labels and _label_matches(c.labels, self.exclude_labels))


class ContainerCache:
    """Containers by directory, read once (a failed read is retried after :data:`RETRY_SECS`)."""

    def __init__(self, base_labels: Mapping[str, str], label_keys: list[str]) -> None:
        self._base = dict(base_labels)
        self._label_keys = [(k, label_name(k)) for k in label_keys]
        self._containers: dict[str, tuple[Container, dict[str, str], float]] = {}

    def get(self, container_dir: str) -> tuple[Container, dict[str, str]]:
        """The container and its event labels (a shared dict: do not mutate)."""
        entry = self._containers.get(container_dir)
        if entry is not None and (entry[0].known or time.monotonic() - entry[2] < RETRY_SECS):
            return entry[0], entry[1]
        c = read_container(container_dir)
        labels = self._event_labels(c)
        self._containers[container_dir] = (c, labels, time.monotonic())
        return c, labels

    def _event_labels(self, c: Container) -> dict[str, str]:
        labels = dict(self._base)
        if c.name:
            labels["container_name"] = c.name
        labels["container_id"] = c.id
        if c.image:
            labels["image"] = c.image
        if COMPOSE_PROJECT in c.labels:
            labels["compose_project"] = c.labels[COMPOSE_PROJECT]
        if COMPOSE_SERVICE in c.labels:
            labels["compose_service"] = c.labels[COMPOSE_SERVICE]
        for key, name in self._label_keys:
            if key in c.labels:
                labels[name] = c.labels[key]
        return labels

    def forget_missing(self, in_use: set[str]) -> None:
        """Drop containers whose directory is gone (``docker rm``) unless still ``in_use``
        (files still being drained keep their labels)."""
        for d in [d for d in self._containers if d not in in_use and not os.path.isdir(d)]:
            del self._containers[d]

    def __len__(self) -> int:
        return len(self._containers)
