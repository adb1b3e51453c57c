"""Glob expansion (with ``**``), excludes, and the directories to watch for a set of globs."""

from __future__ import annotations

import fnmatch
import glob
import os

_MAGIC = set("*?[")


def has_magic(part: str) -> bool:
    return any(c in _MAGIC for c in part)


def expand(include: list[str], exclude: list[str]) -> list[str]:
    """Existing regular files (or symlinks to them) matching ``include`` and no ``exclude``.

    An exclude glob containing ``/`` is matched against the whole path, otherwise against the
    file name (so ``*.gz`` excludes every gzip file).
    """
    seen: set[str] = set()
    out: list[str] = []
    for pattern in include:
        for path in glob.iglob(pattern, recursive=True):
            if path in seen or is_excluded(path, exclude):
                continue
            seen.add(path)
            if os.path.isfile(path):
                out.append(path)
    out.sort()
    return out


def is_excluded(path: str, exclude: list[str]) -> bool:
    name = os.path.basename(path)
    for pattern in exclude:
        if fnmatch.fnmatchcase(path if "/" in pattern else name, pattern):
            return True
    return False


def watch_roots(include: list[str]) -> dict[str, bool]:
    """Directory -> recursive?, covering every directory a glob can match files in."""
    roots: dict[str, bool] = {}
    for pattern in include:
        parts = pattern.split("/")
        fixed: list[str] = []
        for part in parts[:-1]:
            if has_magic(part):
                break
            fixed.append(part)
        base = "/".join(fixed) or "/"
        recursive = len(fixed) < len(parts) - 1
        roots[base] = roots.get(base, False) or recursive
    return roots


def symlink_target_dirs(paths: list[str]) -> set[str]:
    """The directories holding the targets of the symlinks among ``paths``."""
    return {os.path.dirname(os.path.realpath(p)) for p in paths if os.path.islink(p)}
