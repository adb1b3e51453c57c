"""The files of a configured file source, rotated and compressed ones included, oldest first.

The source's ``include`` globs are expanded as the agent does (``discovery.expand``, with its
``exclude``), and each glob is expanded again with a rotation suffix (``access.log.1``,
``access.log.2.gz``, ``access.log-20240501.gz``, ``.zst``). A rotated file is kept even when an
exclude matches only because of its suffix (``exclude = ["*.gz"]`` stops the agent from tailing
archives, not grep from searching them); it is dropped when the exclude matches its base name.
Files are ordered by modification time, oldest first; ties by rotation number, highest first.
"""

from __future__ import annotations

import fnmatch
import os
import re

from logagent.sources.file.discovery import expand, is_excluded

#: What rotation appends to a name: a number, a date (dateext), then maybe a compression suffix.
ROTATION_SUFFIX = re.compile(
    r"(?:[.-](?P<num>\d{1,4})|[.-]\d{8}(?:\d{2,6})?|[.-]\d{4}-\d{2}-\d{2}(?:[T_.-][\d:.-]+)?)?"
    r"(?:\.(?:gz|zst))?"
)


def _rotation_base(path: str, glob: str) -> tuple[str, int] | None:
    """``(base path, rotation number)`` if ``path`` is a rotated copy of a file ``glob`` matches."""
    d, name = os.path.split(path)
    for i in range(1, len(name)):  # longest suffix first
        if name[i] not in ".-":
            continue
        m = ROTATION_SUFFIX.fullmatch(name, i)
        if m is None:
            continue
        base = os.path.join(d, name[:i])
        # fnmatch's `*` also crosses `/`, which is what `**` needs.
        if fnmatch.fnmatchcase(base, glob):
            return base, int(m.group("num") or 0)
    return None


def rotated_files(include: list[str], exclude: list[str]) -> list[tuple[str, int]]:
    """Rotated copies of the files ``include`` matches, with their rotation numbers."""
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    for glob in include:
        for path in expand([glob + "[.-]*"], []):
            if path in seen:
                continue
            found = _rotation_base(path, glob)
            if found is None:
                continue
            base, num = found
            if is_excluded(base, exclude):
                continue
            seen.add(path)
            out.append((path, num))
    return out


def configured_files(config_path: str, source: str, rotated: bool = True) -> tuple[list[str], str | None]:
    """The files of file source ``source`` in ``config_path``, oldest first, and its parser.

    ``rotated=False``: only the files the agent itself would tail (for ``--follow``).

    Raises ValueError with a readable reason.
    """
    from logagent.config import load_config
    from logagent.errors import ConfigError, ConfigErrors

    try:
        config = load_config(config_path)
    except ConfigErrors as exc:
        raise ValueError("; ".join(str(e) for e in exc.errors)) from None
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    src = config.sources.get(source)
    if src is None:
        known = ", ".join(sorted(config.sources)) or "none"
        raise ValueError(f"no source {source!r} in {config_path} (sources: {known})")
    include = getattr(src, "include", None)
    if src.type != "file" or include is None:
        raise ValueError(f"source {source!r} is of type {src.type!r}; only file sources can be searched")
    exclude = list(getattr(src, "exclude", []))
    ranked: dict[str, int] = {p: 0 for p in expand(list(include), exclude)}
    if rotated:
        for path, num in rotated_files(list(include), exclude):
            ranked.setdefault(path, num)

    def key(path: str) -> tuple[float, int, str]:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            mtime = 0.0
        return (mtime, -ranked[path], path)

    return sorted(ranked, key=key), src.parser
