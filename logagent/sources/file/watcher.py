"""Prompt wake-ups from inotify (through watchdog), coalesced into the event loop.

The watchdog observer runs one thread for every watched directory of a source. Its handler only
records which paths changed and, at most once until the loop has looked, schedules a wake-up in
the event loop: a write storm costs one loop callback per look, not one per write. Polling in the
source remains the fallback, so a lost or overflowed inotify event delays a read, never loses it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)


class Wakeups(FileSystemEventHandler):
    """Collects changed paths from the observer thread; ``event`` wakes the source's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._modified: set[str] = set()
        self._structural = False
        self._scheduled = False
        self.event = asyncio.Event()

    def on_any_event(self, event: FileSystemEvent) -> None:  # observer thread
        if event.event_type in ("opened", "closed_no_write"):
            return
        with self._lock:
            if event.event_type in ("modified", "closed") and not event.is_directory:
                self._modified.add(os.fsdecode(event.src_path))
            else:
                self._structural = True
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # loop closed during shutdown
            pass

    def take(self) -> tuple[set[str], bool]:
        """(paths modified, whether files were created/moved/deleted) since the last take."""
        with self._lock:
            modified, structural = self._modified, self._structural
            self._modified, self._structural, self._scheduled = set(), False, False
            self.event.clear()
        return modified, structural


class DirectoryWatcher:
    """Watches directories with one watchdog observer; tolerates directories that come later."""

    def __init__(self, wakeups: Wakeups) -> None:
        self.wakeups = wakeups
        self._observer = Observer()
        self._watched: dict[str, bool] = {}
        self._started = False
        self.failed = False

    def ensure(self, roots: dict[str, bool]) -> None:
        """Watch each existing directory in ``roots`` (dir -> recursive) not yet watched."""
        for path, recursive in roots.items():
            if self._watched.get(path) is not None and (self._watched[path] or not recursive):
                continue
            if not os.path.isdir(path):
                continue
            try:
                self._observer.schedule(self.wakeups, path, recursive=recursive)
            except OSError as exc:
                # inotify limits (max_user_watches) or permissions: polling still covers it.
                if not self.failed:
                    log.warning("Cannot watch %s with inotify (%s); polling instead.", path, exc)
                self.failed = True
                continue
            self._watched[path] = recursive
        if not self._started:
            self._observer.start()
            self._started = True

    def stop(self) -> None:
        if self._started:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._started = False
