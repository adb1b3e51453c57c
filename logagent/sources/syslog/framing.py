"""RFC 6587 stream framing: split a TCP / unix-stream byte stream into syslog frames.

Pure (no I/O): :class:`FrameDecoder` is fed whatever a read returned and hands back the complete
frames. The framing is chosen per frame by its first byte, so one connection may mix both:

* ``1``-``9``: octet counting (RFC 6587 §3.4.1), ``MSGLEN SP MSG``, when digits and a space follow;
* anything else: non-transparent framing (§3.4.2), the frame ends at LF, or at NUL (some senders
  use it). A CR before the LF is dropped.

A frame longer than ``max_frame_bytes`` is cut to that length and flagged truncated; the rest of it
is discarded (exactly ``MSGLEN`` bytes for octet counting, up to the next LF or NUL otherwise), so
the frames after it are read correctly. Nothing is dropped silently: every frame, cut or not, is
returned. At end of stream, :meth:`FrameDecoder.finish` returns a partial last frame flagged
unterminated.
"""

from __future__ import annotations

from logagent.event import FLAG_TRUNCATED, FLAG_UNTERMINATED

#: An octet count has at most this many digits (10 digits already means gigabytes).
MAX_COUNT_DIGITS = 10
_DIGITS = frozenset(b"0123456789")
_COUNT_START = frozenset(b"123456789")


class FrameDecoder:
    """Incremental frame splitter for one stream (one connection)."""

    __slots__ = ("_discard_to_delim", "_rest", "_skip", "max_frame_bytes")

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._rest = b""
        #: Bytes still to skip of an oversized octet-counted frame.
        self._skip = 0
        #: Discarding the tail of an oversized non-transparent frame, up to its delimiter.
        self._discard_to_delim = False

    @property
    def pending_bytes(self) -> int:
        """Bytes held back waiting for the end of a frame."""
        return len(self._rest)

    def feed(self, data: bytes) -> tuple[list[bytes], list[int]]:
        """Frames completed by ``data``, and a flag per frame (0 or FLAG_TRUNCATED)."""
        frames: list[bytes] = []
        flags: list[int] = []
        buf = self._rest + data if self._rest else data
        pos = 0
        n = len(buf)
        limit = self.max_frame_bytes
        if self._skip:
            take = min(self._skip, n)
            self._skip -= take
            pos = take
        if self._discard_to_delim and pos < n:
            end = _find_delim(buf, pos, n)
            if end < 0:
                self._rest = b""
                return frames, flags
            self._discard_to_delim = False
            pos = end + 1
        while pos < n:
            first = buf[pos]
            if first in _COUNT_START:
                # Octet counting when digits then a space follow; else a non-transparent frame
                # that happens to start with a digit (e.g. a PRI-less timestamp).
                i = pos + 1
                stop = min(n, pos + MAX_COUNT_DIGITS + 1)
                while i < stop and buf[i] in _DIGITS:
                    i += 1
                if i == n and i - pos <= MAX_COUNT_DIGITS:
                    break  # the count may go on in the next read
                if i < n and buf[i] == 0x20 and i - pos <= MAX_COUNT_DIGITS:
                    length = int(buf[pos:i])
                    start = i + 1
                    if length <= limit:
                        if start + length > n:
                            break  # wait for the whole frame
                        frames.append(buf[start : start + length])
                        flags.append(0)
                        pos = start + length
                        continue
                    # Oversized: keep the first `limit` bytes, skip the rest exactly.
                    if start + limit > n:
                        break
                    frames.append(buf[start : start + limit])
                    flags.append(FLAG_TRUNCATED)
                    remaining = length - limit
                    avail = n - (start + limit)
                    if remaining > avail:
                        self._skip = remaining - avail
                        pos = n
                    else:
                        pos = start + limit + remaining
                    continue
            end = _find_delim(buf, pos, n)
            if end < 0:
                if n - pos > limit:
                    frames.append(buf[pos : pos + limit])
                    flags.append(FLAG_TRUNCATED)
                    self._discard_to_delim = True
                    pos = n
                break
            frame_end = end - 1 if end > pos and buf[end - 1] == 0x0D and buf[end] == 0x0A else end
            if frame_end - pos > limit:
                frames.append(buf[pos : pos + limit])
                flags.append(FLAG_TRUNCATED)
            elif frame_end > pos:
                frames.append(buf[pos:frame_end])
                flags.append(0)
            # else: an empty frame (blank line, CRLF, NUL padding) carries no message.
            pos = end + 1
        self._rest = buf[pos:] if pos < n else b""
        return frames, flags

    def finish(self) -> tuple[list[bytes], list[int]]:
        """At end of stream: the partial last frame (flagged unterminated), if any."""
        rest = self._rest
        self._rest = b""
        if not rest or self._discard_to_delim or self._skip:
            return [], []
        if rest[0] in _COUNT_START:
            # An incomplete octet-counted frame: ship what arrived of its message.
            head, sep, body = rest.partition(b" ")
            if sep and head.isdigit():
                rest = body
        if rest.endswith(b"\r"):
            rest = rest[:-1]
        if not rest:
            return [], []
        flag = FLAG_UNTERMINATED
        if len(rest) > self.max_frame_bytes:
            rest = rest[: self.max_frame_bytes]
            flag |= FLAG_TRUNCATED
        return [rest], [flag]


def _find_delim(buf: bytes, start: int, end: int) -> int:
    """Index of the first LF or NUL in ``buf[start:end]``, or -1."""
    lf = buf.find(b"\n", start, end)
    # NUL is rare: look for it only before the LF (or anywhere when there is none).
    nul = buf.find(b"\0", start, lf if lf >= 0 else end)
    if nul >= 0:
        return nul
    return lf
