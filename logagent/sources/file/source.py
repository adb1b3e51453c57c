"""The file source: keeps every matching file tracked from discovery to rotation and deletion.

One task per source does all the reading (no thread or poll loop per file): it waits for an
inotify wake-up or the poll tick, re-expands the globs when files were created, moved or deleted
(and every ``rescan_interval_secs``), reads whatever grew, and retires files that were rotated
away or deleted once drained. Identity is the content fingerprint (first line), checked against
the open descriptors so that rotation by rename, copytruncate, truncation in place,
delete-and-recreate and inode reuse are told apart:

* a new path whose inode is already open: the same file, renamed (rotation by rename);
* a new inode whose fingerprint is tracked and the tracked file shrank: a copytruncate copy, which
  takes over the old identity and is drained from the old position; the shrunk file starts anew;
* a new inode whose fingerprint is tracked and the tracked file was deleted: a new file;
* otherwise a known fingerprint with the same leading bytes is a duplicate (copy) and is skipped,
  and a different file sharing only the first line is told apart by its inode.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import time
from typing import Any

from logagent.components import Source
from logagent.event import Batch
from logagent.sources.file import discovery
from logagent.sources.file.config import FileSourceConfig
from logagent.sources.file.fingerprint import fingerprint, is_compressed
from logagent.sources.file.multiline import MultilineJoiner
from logagent.sources.file.reader import Chunk, TrackedFile
from logagent.sources.file.watcher import DirectoryWatcher, Wakeups

log = logging.getLogger(__name__)

#: Read at most this much from one file before giving the others a turn.
FAIR_SHARE_BYTES = 4 * 1024 * 1024
#: Checkpoints of files not seen for this long are forgotten.
CHECKPOINT_EXPIRY_SECS = 7 * 24 * 3600
#: A live file's checkpoint is re-stamped when older than this, so it never expires.
CHECKPOINT_TOUCH_SECS = 24 * 3600


def raise_nofile_limit() -> None:
    """Thousands of tailed files need thousands of descriptors: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class FileSource(Source):
    config: FileSourceConfig

    def __init__(self, name: str, config: FileSourceConfig, ctx: Any) -> None:
        super().__init__(name, config, ctx)
        self.files: dict[str, TrackedFile] = {}  # key -> tracked
        self.by_inode: dict[tuple[int, int], TrackedFile] = {}
        self.by_path: dict[str, TrackedFile] = {}
        #: Paths skipped on purpose (compressed, duplicate, too old): (dev, ino, size) when skipped.
        self.skipped: dict[str, tuple[int, int, int]] = {}
        #: Old files not read (ignore_older_secs): inode -> size at the time, where reading starts.
        self.ignored_old: dict[tuple[int, int], int] = {}
        #: Paths that failed to open (reported once per path until they open).
        self.unreadable: set[str] = set()
        self.first_start = False
        self.scanned_once = False
        #: Directories of symlink targets (watched too: a target's writes happen there).
        self.link_dirs: dict[str, bool] = {}
        self._started_key = f"file:{name}:started"
        self._multiline_start = None
        if config.multiline is not None:
            from parsers.multiline import compile_start

            self._multiline_start = compile_start(config.multiline.start)
        m = ctx.metrics
        self._m_lines = m.lines_read.labels(name)
        self._m_bytes = m.bytes_read.labels(name)
        self._m_tracked = m.files_tracked.labels(name)
        self._m_lag = m.checkpoint_lag_bytes.labels(name)

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        cfg = self.config
        ctx = self.ctx
        raise_nofile_limit()
        self.first_start = ctx.checkpoints.get(self._started_key) is None
        # Forget files not seen for a week (live files are touched by every scan, see below).
        ctx.checkpoints.prune(CHECKPOINT_EXPIRY_SECS, prefix=f"file:{self.name}:", keep={self._started_key})
        wakeups = Wakeups(asyncio.get_running_loop())
        watcher = DirectoryWatcher(wakeups) if cfg.inotify else None
        roots = discovery.watch_roots(cfg.include)
        try:
            if watcher is not None:
                await asyncio.to_thread(watcher.ensure, roots)
            await self.scan()
            if watcher is not None and self.link_dirs:
                await asyncio.to_thread(watcher.ensure, self.link_dirs)
            ctx.checkpoints.set(self._started_key, True)
            ctx.started.set()
            next_rescan = time.monotonic() + cfg.rescan_interval_secs
            watched_links: dict[str, bool] = {}
            read_all = True
            modified: set[str] = set()
            while not ctx.stopping.is_set():
                if read_all:
                    targets = list(self.files.values())
                else:
                    targets = [f for p in modified if (f := self.by_path.get(p)) is not None]
                behind = await self.read_files(targets)
                if ctx.stopping.is_set():
                    break
                await self.retire_finished()
                record_due = await self.flush_due_records()
                if behind:
                    # Some file still has unread data (fair share used up): go round again now.
                    modified, read_all = {t.path for t in behind}, False
                    modified |= wakeups.take()[0]
                    continue
                poll = cfg.poll_interval_secs
                if poll is None:
                    poll = 5.0 if watcher is not None and not watcher.failed else 1.0
                timeout = min(poll, max(0.0, next_rescan - time.monotonic()))
                if record_due is not None:
                    timeout = min(timeout, max(0.0, record_due))
                woke = await _wait_any(wakeups.event, ctx.stopping, timeout)
                modified, structural = wakeups.take()
                read_all = not woke
                now = time.monotonic()
                if structural or now >= next_rescan or self.unreadable:
                    if watcher is not None and (now >= next_rescan):
                        await asyncio.to_thread(watcher.ensure, roots)
                    await self.scan()
                    if watcher is not None and self.link_dirs != watched_links:
                        # Writes to a symlink's target land in the target's directory: watch it.
                        watched_links = dict(self.link_dirs)
                        await asyncio.to_thread(watcher.ensure, watched_links)
                    next_rescan = now + cfg.rescan_interval_secs
                    read_all = True
        finally:
            ctx.started.set()
            if watcher is not None:
                await asyncio.to_thread(watcher.stop)
            for tracked in self.files.values():
                tracked.close()
            self._m_tracked.set(0)

    # -- discovery ---------------------------------------------------------------------------

    async def scan(self) -> None:
        """Re-expand the globs; start new files, notice renamed, rotated and deleted ones."""
        cfg = self.config
        paths = await asyncio.to_thread(discovery.expand, cfg.include, cfg.exclude)
        for target_dir in await asyncio.to_thread(discovery.symlink_target_dirs, paths):
            self.link_dirs.setdefault(target_dir, False)
        seen_inodes: set[tuple[int, int]] = set()
        now_wall = time.time()
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                continue
            inode = (st.st_dev, st.st_ino)
            seen_inodes.add(inode)
            tracked = self.by_inode.get(inode)
            if tracked is not None:
                self.ctx.checkpoints.touch(tracked.key, CHECKPOINT_TOUCH_SECS)
                if tracked.path != path and self.by_path.get(tracked.path) is tracked:
                    del self.by_path[tracked.path]
                tracked.path = path
                self.by_path[path] = tracked
                tracked.gone_since = None
                continue
            skipped = self.skipped.get(path)
            if skipped is not None and skipped[:2] == inode and skipped[2] == st.st_size:
                continue
            if cfg.ignore_older_secs is not None and now_wall - st.st_mtime > cfg.ignore_older_secs:
                self.ignored_old.setdefault(inode, st.st_size)
                continue
            await self._open_new(path, st)
        # Files no longer at any matching path: rotated away or deleted. Keep draining them.
        now = time.monotonic()
        for tracked in list(self.files.values()):
            if (tracked.dev, tracked.ino) not in seen_inodes and tracked.gone_since is None:
                tracked.gone_since = now
                if self.by_path.get(tracked.path) is tracked:
                    del self.by_path[tracked.path]
        self.skipped = {p: v for p, v in self.skipped.items() if p in set(paths)}
        self.scanned_once = True
        self._update_gauges()

    async def _open_new(self, path: str, st: os.stat_result) -> None:
        cfg = self.config
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            if path not in self.unreadable:
                reason = "permission_denied" if exc.errno in (errno.EACCES, errno.EPERM) else "open_failed"
                log.warning("Cannot open %s (%s); will retry.", path, exc.strerror)
                self.ctx.metrics.source_errors.labels(self.name, reason).inc()
                self.unreadable.add(path)
            return
        self.unreadable.discard(path)
        keep_fd = False
        try:
            fst = os.fstat(fd)
            inode = (fst.st_dev, fst.st_ino)
            if is_compressed(fd):
                self.skipped[path] = (*inode, fst.st_size)
                log.debug("Skipping compressed file %s.", path)
                return
            fp = fingerprint(fd, cfg.fingerprint_bytes, cfg.ignored_header_bytes)
            if fp is None:
                return  # first line still incomplete: look again when it grows
            key = f"file:{self.name}:{fp}"
            holder = self.files.get(key)
            if holder is not None:
                resolved = await self._resolve_collision(holder, path, fd, fst, key)
                if resolved is None:
                    self.skipped[path] = (*inode, fst.st_size)
                    return
                key = resolved
            start = self._start_offset(key, inode, fst)
            self._track(key, fp, path, fd, fst, start)
            keep_fd = True
        finally:
            if not keep_fd:
                os.close(fd)

    async def _resolve_collision(
        self, holder: TrackedFile, path: str, fd: int, fst: os.stat_result, key: str
    ) -> str | None:
        """A new inode has a tracked file's fingerprint. Returns the key to use, or None to skip."""
        try:
            hst = os.fstat(holder.fd)
        except OSError:
            hst = None
        if hst is None or hst.st_nlink == 0:
            # The holder was deleted: this is a new file. Drain and retire the holder first.
            holder.deleted = True
            holder.gone_since = holder.gone_since or time.monotonic()
            await self._drain_and_retire(holder)
            return key
        # Compare what both files hold now, then look at the holder again: it may be truncated
        # between our two reads (copytruncate runs while we look).
        n = min(hst.st_size, fst.st_size, 65536)
        holder_head = os.pread(holder.fd, n, 0)
        copy_head = os.pread(fd, n, 0)
        shrunk = os.fstat(holder.fd).st_size < holder.pos or len(holder_head) < n
        if shrunk and fst.st_size >= holder.line_start:
            # copytruncate: this inode is the copy of what the holder read. It takes over the
            # identity at the holder's position; the truncated file is re-fingerprinted anew.
            log.info("%s was copied to %s and truncated; continuing in the copy.", holder.path, path)
            old_fd = holder.fd
            holder.fd = os.dup(fd)
            self.by_inode.pop((holder.dev, holder.ino), None)
            holder.dev, holder.ino = fst.st_dev, fst.st_ino
            holder.pos = holder.line_start + len(holder.partial) if not holder.skipping else holder.pos
            self.by_inode[(holder.dev, holder.ino)] = holder
            if self.by_path.get(holder.path) is holder:
                del self.by_path[holder.path]
            holder.path = path
            self.by_path[path] = holder
            os.close(old_fd)
            return None
        # Same first line, both alive: a copy if the leading bytes agree, else a different file.
        if holder_head == copy_head:
            log.debug("Skipping %s: same content as %s.", path, holder.path)
            return None
        return f"{key}:{fst.st_dev}:{fst.st_ino}"

    def _start_offset(self, key: str, inode: tuple[int, int], st: os.stat_result) -> int:
        saved = self.ctx.checkpoints.get(key)
        if isinstance(saved, dict) and isinstance(saved.get("offset"), int):
            offset = saved["offset"]
            if offset <= st.st_size:
                return offset
            log.info("File %s is shorter than its checkpoint: truncated; reading from the start.", key)
            return 0
        if inode in self.ignored_old:
            return min(self.ignored_old.pop(inode), st.st_size)
        if not self.scanned_once and self.first_start and self.config.read_from == "end":
            return st.st_size
        return 0

    def _track(self, key: str, fp: str, path: str, fd: int, st: os.stat_result, start: int) -> TrackedFile:
        store = self.ctx.checkpoints
        holder: list[TrackedFile] = []

        def on_commit(offset: int) -> None:
            tracked = holder[0]
            if self.files.get(key) is not tracked:
                return  # retired and its key released (deleted, truncated): late acks change nothing
            store.set(key, {"offset": offset, "path": tracked.path, "dev": tracked.dev, "ino": tracked.ino})
            if tracked.retired and tracked.order.pending == 0:
                del self.files[key]  # rotated away and fully delivered: the key is free

        order = self.ctx.ack_order(on_commit, start)
        tracked = TrackedFile(key, fp, path, fd, st.st_dev, st.st_ino, start, order, size=st.st_size)
        if self._multiline_start is not None:
            ml = self.config.multiline
            assert ml is not None
            tracked.joiner = MultilineJoiner(self._multiline_start, ml.max_lines, ml.timeout_ms / 1000)
        holder.append(tracked)
        self.files[key] = tracked
        self.by_inode[(st.st_dev, st.st_ino)] = tracked
        self.by_path[path] = tracked
        if store.get(key) is None:
            store.set(key, {"offset": start, "path": path, "dev": st.st_dev, "ino": st.st_ino})
        log.debug("Tracking %s from offset %d (%s).", path, start, key)
        return tracked

    # -- reading -----------------------------------------------------------------------------

    async def read_files(self, targets: list[TrackedFile]) -> list[TrackedFile]:
        """Read what grew in ``targets``; returns the files left with unread data."""
        cfg = self.config
        behind: list[TrackedFile] = []
        for tracked in targets:
            if tracked.fd < 0 or tracked.retired:
                continue
            try:
                size = os.fstat(tracked.fd).st_size
            except OSError:
                continue
            tracked.size = size
            if size < tracked.pos:
                await self._truncated(tracked)
                continue
            if size == tracked.pos:
                continue
            budget = FAIR_SHARE_BYTES
            while budget > 0 and not self.ctx.stopping.is_set():
                try:
                    chunk = tracked.read_chunk(cfg.read_chunk_bytes, cfg.max_line_bytes)
                except OSError as exc:
                    log.warning("Read error on %s: %s; will retry.", tracked.path, exc.strerror)
                    self.ctx.metrics.source_errors.labels(self.name, "read_failed").inc()
                    break
                if chunk is None:
                    break
                budget -= chunk.nbytes or cfg.read_chunk_bytes
                await self._emit(tracked, chunk)
            else:
                if budget <= 0:
                    behind.append(tracked)
        return behind

    async def _truncated(self, tracked: TrackedFile) -> None:
        """The file shrank under us: copytruncate or truncation in place."""
        # A copytruncate copy (rotated name matching the globs) carries on the old identity;
        # copies skipped as duplicates while the original was whole are looked at again.
        self.skipped.clear()
        inode = (tracked.dev, tracked.ino)
        await self.scan()
        if tracked.retired or self.files.get(tracked.key) is not tracked or tracked.fd < 0:
            return
        if (tracked.dev, tracked.ino) != inode:
            return  # the identity moved to the copy; the truncated file is tracked anew by a scan
        log.info("%s was truncated; reading it from the start.", tracked.path)
        await self._flush_multiline(tracked)
        # Truncated in place: a new content, a new identity.
        fd = os.dup(tracked.fd)
        path = tracked.path
        st = os.fstat(fd)
        self._retire(tracked, drop_checkpoint=False, take_key=True)
        fp = fingerprint(fd, self.config.fingerprint_bytes, self.config.ignored_header_bytes)
        if fp is None:
            os.close(fd)  # empty for now: rediscovered by the next scan once it has a line
            self.skipped.pop(path, None)
            return
        key = f"file:{self.name}:{fp}"
        if key in self.files:
            key = f"{key}:{st.st_dev}:{st.st_ino}"
        self.ctx.checkpoints.remove(key)
        self._track(key, fp, path, fd, st, 0)

    async def _emit(self, tracked: TrackedFile, chunk: Chunk) -> None:
        if chunk.nbytes:
            self._m_bytes.inc(chunk.nbytes)
        if not chunk.lines:
            return
        self._m_lines.inc(len(chunk.lines))
        if tracked.joiner is not None:
            chunk = tracked.joiner.feed(chunk)
            if not chunk.lines:
                return  # all held in an open multiline record; the checkpoint stays before it
        await self._ship(tracked, chunk)

    async def _ship(self, tracked: TrackedFile, chunk: Chunk) -> None:
        flagged = self.ctx.metrics.lines_flagged
        if chunk.truncated:
            flagged.labels(self.name, "truncated").inc(chunk.truncated)
        if chunk.invalid:
            flagged.labels(self.name, "invalid_utf8").inc(chunk.invalid)
        if chunk.unterminated:
            flagged.labels(self.name, "unterminated").inc(chunk.unterminated)
        batch = self.make_batch(tracked, chunk)
        batch.ack = tracked.order.new_ack(chunk.commit_offset, self.ctx.sink_count)
        await self.ctx.emit(batch)

    def make_batch(self, tracked: TrackedFile, chunk: Chunk) -> Batch:
        """The batch for the lines of ``chunk``. Subclasses (Docker, CRI) decode the lines here:
        they may join or drop lines, set per-line times and fields, and add labels, but must
        return a batch (possibly empty of lines) since it carries the checkpoint. They may lower
        ``chunk.commit_offset`` (read after this returns) to keep a held partial message uncommitted."""
        return Batch(
            source=self.name,
            lines=chunk.lines,
            path=tracked.path,
            labels=self.config.labels,
            flags=chunk.flags,
            nbytes=chunk.nbytes,
        )

    # -- retirement --------------------------------------------------------------------------

    async def retire_finished(self) -> None:
        """Close files that were rotated away or deleted, once drained and quiet."""
        now = time.monotonic()
        wait = self.config.rotate_wait_secs
        for tracked in list(self.files.values()):
            if tracked.retired or tracked.gone_since is None:
                continue
            try:
                st = os.fstat(tracked.fd)
            except OSError:
                st = None
            if st is not None and st.st_size > tracked.pos:
                continue  # still has unread data
            if now - max(tracked.last_growth, tracked.gone_since) < wait:
                continue
            # It can no longer grow: ship a held record and the unterminated last line, then close.
            tracked.deleted = st is None or st.st_nlink == 0
            await self._ship_held(tracked)
            self._retire(tracked, drop_checkpoint=tracked.deleted, take_key=tracked.deleted)
        self._update_gauges()

    async def _drain_and_retire(self, tracked: TrackedFile) -> None:
        """Read a file that can no longer grow to its end, ship everything it holds, retire it."""
        cfg = self.config
        while tracked.fd >= 0:
            try:
                chunk = tracked.read_chunk(cfg.read_chunk_bytes, cfg.max_line_bytes)
            except OSError:
                break
            if chunk is None:
                break
            await self._emit(tracked, chunk)
        await self._ship_held(tracked)
        self._retire(tracked, drop_checkpoint=True, take_key=True)

    async def _ship_held(self, tracked: TrackedFile) -> None:
        """The file can no longer grow: ship its held multiline record and unterminated last line."""
        await self._flush_multiline(tracked)
        chunk = tracked.flush_partial(self.config.max_line_bytes)
        if chunk is not None:
            self._m_lines.inc(1)
            await self._ship(tracked, chunk)

    async def _flush_multiline(self, tracked: TrackedFile, now: float | None = None) -> None:
        """Ship the file's held multiline record (all of it, or only if its timeout passed)."""
        joiner = tracked.joiner
        if joiner is None or (now is not None and not joiner.due(now)):
            return
        chunk = joiner.flush()
        if chunk is not None:
            await self._ship(tracked, chunk)

    async def flush_due_records(self) -> float | None:
        """Ship held multiline records whose timeout passed; seconds until the next one is due."""
        if self._multiline_start is None:
            return None
        now = time.monotonic()
        next_due: float | None = None
        for tracked in list(self.files.values()):
            if tracked.joiner is None or tracked.retired:
                continue
            await self._flush_multiline(tracked, now)
            held = tracked.joiner.held
            if held.lines:
                left = tracked.joiner.timeout_secs - (now - held.since)
                next_due = left if next_due is None else min(next_due, left)
        return next_due

    def _retire(self, tracked: TrackedFile, drop_checkpoint: bool, take_key: bool) -> None:
        """Stop tracking ``tracked``.

        A file rotated away keeps its key until its pending batches are acknowledged, so their
        commits still land. A deleted file (``drop_checkpoint``) or one whose key another file
        needs now (``take_key``) releases it at once: its checkpoint could only mislead the file
        that takes the key (a deleted file cannot be read again anyway).
        """
        tracked.retired = True
        tracked.deleted = tracked.deleted or drop_checkpoint
        tracked.close()
        if self.by_inode.get((tracked.dev, tracked.ino)) is tracked:
            del self.by_inode[(tracked.dev, tracked.ino)]
        if self.by_path.get(tracked.path) is tracked:
            del self.by_path[tracked.path]
        if self.files.get(tracked.key) is tracked and (
            take_key or tracked.deleted or tracked.order.pending == 0
        ):
            del self.files[tracked.key]
            if tracked.deleted:
                self.ctx.checkpoints.remove(tracked.key)
        log.debug("Stopped tracking %s (%s).", tracked.path, "deleted" if tracked.deleted else "rotated away")

    def _update_gauges(self) -> None:
        live = [f for f in self.files.values() if not f.retired]
        self._m_tracked.set(len(live))
        lag = 0
        for f in live:
            committed = f.order.committed if isinstance(f.order.committed, int) else 0
            lag += max(0, f.size - committed)
        self._m_lag.set(lag)


async def _wait_any(event: asyncio.Event, stopping: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109
    """Wait for ``event`` or ``stopping`` up to ``timeout``; True if either was set."""
    if event.is_set() or stopping.is_set():
        return True
    waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(stopping.wait())}
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
    return bool(done)
