"""``--follow``: keep reading files as they grow, like ``tail -F | grep``, through rotations.

Each file is read from its current end. The follower polls (``stat`` + ``read``, every
:data:`POLL_SECS`): while the path names no file (rotated away, not yet re-created) the old file
is still read; when it names a new file (rotation: rename + create, or delete + create), the old
one is read to its end first, then the new one from its start; a file that
shrinks (copytruncate) is read again from its start. Only whole lines are searched; a partial last
line waits for its newline. Stops on SIGINT/SIGTERM, or when ``stop`` is set.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from logagent.grep.output import Printer
from logagent.grep.search import NL

if TYPE_CHECKING:
    from logagent.grep.events import EventSink

POLL_SECS = 0.2
READ_BYTES = 1 << 20


@dataclass
class _Followed:
    path: str
    fh: IO[bytes] | None = None
    ident: tuple[int, int] | None = None
    carry: bytes = b""
    writer: Any = None


def follow_files(
    paths: list[str],
    printer: Printer,
    sink: EventSink | None = None,
    stop: threading.Event | None = None,
    poll_secs: float = POLL_SECS,
) -> int:
    """Follow ``paths`` until stopped; the exit status (0 when a line was selected)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    files = [_Followed(p) for p in paths]
    for f in files:
        _open(f, at_end=True)
    selected = 0
    try:
        while not stop.is_set():
            for f in files:
                selected += _poll(f, printer, sink)
            printer.out.flush()
            limit = printer.o.max_count
            if (limit is not None and selected >= limit) or (sink is not None and sink.stopped):
                break  # -m N: done, like `tail -f | grep -m N`
            stop.wait(poll_secs)
    except KeyboardInterrupt:
        pass
    finally:
        for f in files:
            if f.fh is not None:
                f.fh.close()
    printer.out.flush()
    return 0 if selected else 1


def _open(f: _Followed, at_end: bool) -> None:
    try:
        fh = open(f.path, "rb")  # kept open across polls
    except OSError:
        f.fh, f.ident = None, None
        return
    st = os.fstat(fh.fileno())
    if at_end:
        fh.seek(0, os.SEEK_END)
    f.fh, f.ident, f.carry = fh, (st.st_dev, st.st_ino), b""


def _read_new(f: _Followed) -> bytes:
    """Whole lines appended since the last read."""
    assert f.fh is not None
    parts = [f.carry]
    while True:
        data = f.fh.read(READ_BYTES)
        if not data:
            break
        parts.append(data)
    buf = b"".join(parts)
    cut = buf.rfind(NL) + 1
    f.carry = buf[cut:]
    return buf[:cut]


def _poll(f: _Followed, printer: Printer, sink: EventSink | None) -> int:
    selected = 0
    if f.fh is not None:
        selected += _search(f, _read_new(f), printer, sink)
        try:
            st = os.stat(f.path)
            now = (st.st_dev, st.st_ino)
        except OSError:
            now = None
        if now is None:
            pass  # renamed or deleted, nothing new yet: keep reading the old file meanwhile
        elif now != f.ident:
            # A new file at the path: finish the old one, then read the new one from its start.
            selected += _search(f, _read_new(f), printer, sink)
            if f.carry:
                selected += _search(f, f.carry + NL, printer, sink)
            f.fh.close()
            f.fh = None
            _restart(f, sink)
            _open(f, at_end=False)
            if f.fh is not None:
                selected += _search(f, _read_new(f), printer, sink)
        elif st.st_size < f.fh.tell():
            f.fh.seek(0)  # truncated in place
            f.carry = b""
            _restart(f, sink)
            selected += _search(f, _read_new(f), printer, sink)
    else:
        _open(f, at_end=False)  # appeared (again): read it whole
        if f.fh is not None:
            selected += _search(f, _read_new(f), printer, sink)
    return selected


def _restart(f: _Followed, sink: EventSink | None) -> None:
    """A new file at the path: line numbers start again."""
    f.writer = None
    if sink is not None:
        sink.restart_file(f.path)


def _search(f: _Followed, chunk: bytes, printer: Printer, sink: EventSink | None) -> int:
    if not chunk:
        return 0
    if sink is not None:
        before = sink.selected
        sink.feed(f.path, chunk)
        return sink.selected - before
    if f.writer is None:
        f.writer = printer.file_writer(f.path)
    before = f.writer.selected
    f.writer.feed(chunk)
    return f.writer.selected - before
