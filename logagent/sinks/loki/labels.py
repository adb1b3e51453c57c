"""Loki label rules: name syntax, limits, and the ``{a="b", c="d"}`` stream-selector string.

The limits are Loki's defaults (grafana/loki ``pkg/validation/limits.go``); Loki measures lengths
with Go's ``len``, i.e. in bytes, so we do too. Label names follow the Prometheus syntax the
push API parses them with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: ``max_label_names_per_series``.
MAX_LABELS = 15
#: ``max_label_name_length`` (bytes).
MAX_NAME_BYTES = 1024
#: ``max_label_value_length`` (bytes).
MAX_VALUE_BYTES = 2048

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def label_name_error(name: str) -> str | None:
    """Why ``name`` is not a valid Loki label name, or None when it is."""
    if not _NAME.match(name):
        return f"invalid label name {name!r}: must match [a-zA-Z_][a-zA-Z0-9_]*"
    if name.startswith("__"):
        return f"invalid label name {name!r}: names starting with '__' are reserved"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"label name {name[:40]!r}... is longer than {MAX_NAME_BYTES} bytes"
    return None


def sanitize_label_name(name: str) -> str:
    """A valid label name made from ``name`` (bad characters become ``_``)."""
    out = _BAD_CHARS.sub("_", name)[:MAX_NAME_BYTES] or "_"
    if out[0].isdigit():
        out = "_" + out[: MAX_NAME_BYTES - 1]
    while out.startswith("__"):
        out = out[1:]
    return out


def cut_utf8(value: str, max_bytes: int) -> str:
    """``value`` cut to at most ``max_bytes`` UTF-8 bytes, on a character boundary."""
    raw = value.encode("utf-8", "replace")
    if len(raw) <= max_bytes:
        return value
    return raw[:max_bytes].decode("utf-8", "ignore")


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def format_labels(pairs: Iterable[tuple[str, str]]) -> str:
    """The label string Loki's push API takes, names sorted: ``{app="web", env="prod"}``."""
    return "{" + ", ".join(f'{k}="{v.translate(_ESCAPES)}"' for k, v in sorted(pairs)) + "}"
