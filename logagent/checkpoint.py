"""The checkpoint store: where each origin's delivered position is kept across restarts.

Positions are recorded only after the sinks acknowledged the lines before them (see
:mod:`logagent.acks`). The store is one versioned JSON file under ``data_dir``, written atomically
(temp file, fsync, rename, fsync of the directory). Writes are coalesced: after a change, the file
is rewritten within :data:`MAX_LAG_SECS`, and once more at shutdown.

Loading is strict: a corrupt or unknown-version file stops the agent with a clear error rather
than silently re-reading (or skipping) every log.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
import time
from pathlib import Path
from typing import Any

import orjson

from logagent.errors import LogagentError

log = logging.getLogger(__name__)

VERSION = 1
#: A change reaches disk at most this long after it was recorded.
MAX_LAG_SECS = 0.25
FILENAME = "checkpoints.json"


class CheckpointError(LogagentError):
    """The checkpoint file cannot be read or written."""


class CheckpointStore:
    """Key -> JSON-able position, persisted under ``data_dir``.

    Keys are chosen by the sources (``file:<source>:<fingerprint>``, ``journald:<source>``...).
    Each entry remembers when it was last set, so stale entries can be pruned.
    """

    def __init__(self, data_dir: Path, metrics: Any = None) -> None:
        self.path = Path(data_dir) / FILENAME
        self._entries: dict[str, dict[str, Any]] = {}
        self._dirty = asyncio.Event()
        self._metrics = metrics
        self._generation = 0
        self._written_generation = 0

    def load(self) -> None:
        """Read the file if present (strict)."""
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except OSError as exc:
            raise CheckpointError(f"cannot read checkpoints {self.path}: {exc.strerror}") from None
        except orjson.JSONDecodeError as exc:
            raise CheckpointError(
                f"checkpoint file {self.path} is corrupt ({exc}); move it away to start over "
                "(files would then be read again according to read_from)"
            ) from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise CheckpointError(
                f"checkpoint file {self.path} has unsupported version {data.get('version')!r} "
                f"(this agent reads version {VERSION})"
            )
        entries = data.get("entries", {})
        if not isinstance(entries, dict):
            raise CheckpointError(f"checkpoint file {self.path}: 'entries' is not an object")
        self._entries = entries

    def get(self, key: str) -> Any:
        """The position stored under ``key``, or None."""
        entry = self._entries.get(key)
        return None if entry is None else entry.get("value")

    def keys(self, prefix: str = "") -> list[str]:
        return [k for k in self._entries if k.startswith(prefix)]

    def set(self, key: str, value: Any) -> None:
        """Record a position; it reaches disk within MAX_LAG_SECS (while :meth:`run` runs)."""
        self._entries[key] = {"value": value, "updated": int(time.time())}
        self._generation += 1
        self._dirty.set()

    def remove(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._generation += 1
            self._dirty.set()

    def touch(self, key: str, older_than_secs: float) -> None:
        """Re-stamp ``key`` if it was last set more than ``older_than_secs`` ago (keeps it from expiring)."""
        entry = self._entries.get(key)
        if entry is not None and entry.get("updated", 0) < time.time() - older_than_secs:
            self.set(key, entry.get("value"))

    # `builtins.set`: inside this class body plain `set` names the method above.
    def prune(self, older_than_secs: float, prefix: str = "", keep: builtins.set[str] | None = None) -> int:
        """Forget entries under ``prefix`` not set for ``older_than_secs``; returns how many."""
        limit = time.time() - older_than_secs
        keep = keep or set()
        stale = [
            k
            for k, e in self._entries.items()
            if k.startswith(prefix) and k not in keep and e.get("updated", 0) < limit
        ]
        for key in stale:
            del self._entries[key]
        if stale:
            self._generation += 1
            self._dirty.set()
        return len(stale)

    def _snapshot(self) -> bytes:
        return orjson.dumps({"version": VERSION, "entries": self._entries})

    def write_now(self) -> None:
        """Write the file atomically (blocking)."""
        data = self._snapshot()
        self._write(data)
        self._written_generation = self._generation

    def _write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{FILENAME}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        if self._metrics is not None:
            self._metrics.checkpoint_writes.inc()

    async def flush(self) -> None:
        """Write now if anything changed since the last write."""
        if self._generation == self._written_generation:
            return
        generation = self._generation
        data = self._snapshot()
        await asyncio.to_thread(self._write, data)
        self._written_generation = max(self._written_generation, generation)

    async def run(self, stopping: asyncio.Event) -> None:
        """Write changes as they come, coalesced to at most one write per MAX_LAG_SECS."""
        while True:
            dirty = asyncio.ensure_future(self._dirty.wait())
            stop = asyncio.ensure_future(stopping.wait())
            try:
                await asyncio.wait({dirty, stop}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                dirty.cancel()
                stop.cancel()
            if stopping.is_set():
                return
            self._dirty.clear()
            started = time.monotonic()
            try:
                await self.flush()
            except OSError as exc:
                log.error("Cannot write checkpoints to %s: %s; will retry.", self.path, exc)
                self._dirty.set()
            # Rate limit: the next write waits out the rest of the window, so changes in between
            # are coalesced into it and no change waits longer than MAX_LAG_SECS.
            rest = MAX_LAG_SECS - (time.monotonic() - started)
            if rest > 0:
                try:
                    await asyncio.wait_for(stopping.wait(), rest)
                    return
                except TimeoutError:
                    pass
