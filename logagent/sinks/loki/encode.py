"""Encode Loki push bodies: ``PushRequest`` protobuf (hand-written varints) and JSON.

Schema (grafana/loki ``pkg/push/push.proto``, field numbers in brackets)::

    PushRequest   { [1] repeated StreamAdapter streams }
    StreamAdapter { [1] string labels; [2] repeated EntryAdapter entries }
    EntryAdapter  { [1] Timestamp timestamp; [2] string line;
                    [3] repeated LabelPairAdapter structuredMetadata }
    LabelPairAdapter { [1] string name; [2] string value }
    Timestamp     { [1] int64 seconds; [2] int32 nanos }

The hot path is a raw batch: lines without their own time, which get ``base + i`` ns (distinct
times, so Loki never de-duplicates two equal lines of one batch). Their entries are built with
no per-line Python: every entry is a few byte strings taken from tables keyed by the line length
(or the low 14 bits of the nanoseconds) and one ``bytes.join`` interleaves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson

NS = 1_000_000_000

#: Structured metadata of one entry: (name, value) pairs, or None.
Metadata = tuple[tuple[str, str], ...] | None


def varint(n: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int."""
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [bytes([i]) for i in range(0x80)]


class _VarintTable(dict[int, bytes]):
    """``table[n]`` = varint(n), computed once per n."""

    def __missing__(self, n: int) -> bytes:
        v = self[n] = varint(n)
        return v


_VARINT = _VarintTable()
#: The two low varint bytes of a value whose higher bits are not all zero, by its low 14 bits.
_HEAD14 = [bytes([(lo & 0x7F) | 0x80, (lo >> 7) | 0x80]) for lo in range(1 << 14)]


@dataclass(slots=True)
class Segment:
    """Entries of one stream from one batch, sorted by time.

    ``ts`` is an int ``base`` (entry ``i`` is at ``base + i`` ns) or a list of per-entry times.
    ``md`` is per-entry structured metadata, or None when no entry has any.
    """

    lines: list[bytes]
    ts: int | list[int]
    md: list[Metadata] | None = None

    @property
    def first_ts(self) -> int:
        return self.ts if isinstance(self.ts, int) else self.ts[0]

    @property
    def last_ts(self) -> int:
        return self.ts + len(self.lines) - 1 if isinstance(self.ts, int) else self.ts[-1]

    def times(self) -> list[int]:
        return list(range(self.ts, self.ts + len(self.lines))) if isinstance(self.ts, int) else self.ts

    def split(self, n: int) -> tuple[Segment, Segment]:
        """The first ``n`` entries and the rest."""
        ts = self.ts
        md = self.md
        head_ts: int | list[int] = ts if isinstance(ts, int) else ts[:n]
        tail_ts: int | list[int] = ts + n if isinstance(ts, int) else ts[n:]
        return (
            Segment(self.lines[:n], head_ts, md[:n] if md is not None else None),
            Segment(self.lines[n:], tail_ts, md[n:] if md is not None else None),
        )


def merge_segments(segments: Sequence[Segment]) -> list[Segment]:
    """The segments in time order: as they are when they do not overlap, else one merged segment
    (a stable sort: equal times keep their arrival order)."""
    prev = None
    for seg in segments:
        if prev is not None and seg.first_ts < prev:
            break
        prev = seg.last_ts
    else:
        return list(segments)
    triples: list[tuple[int, bytes, Metadata]] = []
    for seg in segments:
        md = seg.md if seg.md is not None else [None] * len(seg.lines)
        triples.extend(zip(seg.times(), seg.lines, md, strict=True))
    triples.sort(key=itemgetter(0))
    mds = [t[2] for t in triples]
    return [
        Segment(
            [t[1] for t in triples],
            [t[0] for t in triples],
            mds if any(m is not None for m in mds) else None,
        )
    ]


# -- protobuf ----------------------------------------------------------------------------------


def _timestamp(ts: int) -> bytes:
    secs, nanos = divmod(ts, NS)
    msg = b"\x08" + varint(secs) if secs else b""
    if nanos:
        msg += b"\x10" + varint(nanos)
    return b"\x0a" + varint(len(msg)) + msg


def _metadata(md: Metadata) -> bytes:
    if not md:
        return b""
    out = []
    for name, value in md:
        nb = name.encode()
        vb = value.encode("utf-8", "replace")
        pair = b"\x0a" + varint(len(nb)) + nb + b"\x12" + varint(len(vb)) + vb
        out.append(b"\x1a" + varint(len(pair)) + pair)
    return b"".join(out)


def _entries_general(lines: list[bytes], times: list[int], md: list[Metadata] | None) -> bytes:
    parts = []
    for i, line in enumerate(lines):
        body = _timestamp(times[i]) + b"\x12" + varint(len(line)) + line
        if md is not None and md[i]:
            body += _metadata(md[i])
        parts.append(b"\x12" + varint(len(body)) + body)
    return b"".join(parts)


def _entries_run(lines: list[bytes], secs: int, nanos0: int) -> bytes:
    """Entries at consecutive ns ``nanos0 + i`` within second ``secs``; all ``nanos >> 14`` equal
    and non-zero, so each nanos varint is ``_HEAD14[low 14 bits] + varint(nanos >> 14)``."""
    n = len(lines)
    hi_bytes = varint(nanos0 >> 14)
    lo = nanos0 & 0x3FFF
    vsecs = varint(secs)
    ts_len = 1 + len(vsecs) + 1 + 2 + len(hi_bytes)
    # entry = [0x12 len 0x0a ts_len 0x08 secs 0x10] [head] [hi 0x12 varint(L)] [line]: the first
    # and third parts depend only on the line length, the second on the low 14 bits of nanos.
    fixed = 2 + ts_len + 1
    ts_pre = b"\x0a" + bytes([ts_len]) + b"\x08" + vsecs + b"\x10"
    mid = hi_bytes + b"\x12"
    vtab = _VARINT
    lens = list(map(len, lines))
    uniq = set(lens)
    prefix = {ln: b"\x12" + vtab[fixed + len(vtab[ln]) + ln] + ts_pre for ln in uniq}
    suffix = {ln: mid + vtab[ln] for ln in uniq}
    parts: list[bytes] = [b""] * (4 * n)
    parts[0::4] = map(prefix.__getitem__, lens)
    parts[1::4] = _HEAD14[lo : lo + n]
    parts[2::4] = map(suffix.__getitem__, lens)
    parts[3::4] = lines
    return b"".join(parts)


def _entries_consecutive(lines: list[bytes], base: int) -> bytes:
    """Entries at ``base + i`` ns, cut into runs the table method can do."""
    out = []
    i = 0
    n = len(lines)
    while i < n:
        ts = base + i
        secs, nanos = divmod(ts, NS)
        # The run ends where the second or nanos >> 14 changes.
        run = min(n - i, NS - nanos, 0x4000 - (nanos & 0x3FFF))
        chunk = lines[i : i + run]
        if nanos >> 14 and secs:
            out.append(_entries_run(chunk, secs, nanos))
        else:
            out.append(_entries_general(chunk, list(range(ts, ts + run)), None))
        i += run
    return b"".join(out)


def encode_entries(seg: Segment) -> bytes:
    """The ``entries`` fields (StreamAdapter field 2) of one segment."""
    if isinstance(seg.ts, int) and seg.md is None:
        return _entries_consecutive(seg.lines, seg.ts)
    return _entries_general(seg.lines, seg.times(), seg.md)


def encode_protobuf(streams: Sequence[tuple[str, Sequence[Segment]]]) -> bytes:
    """An uncompressed ``PushRequest`` of ``(label string, segments)`` streams."""
    parts = []
    for labels, segments in streams:
        lb = labels.encode()
        blobs = [encode_entries(s) for s in merge_segments(segments)]
        head = b"\x0a" + varint(len(lb)) + lb
        parts.append(b"\x0a" + varint(len(head) + sum(map(len, blobs))))
        parts.append(head)
        parts.extend(blobs)  # joined once, below
    return b"".join(parts)


# -- JSON --------------------------------------------------------------------------------------


def encode_json(streams: Sequence[tuple[dict[str, str], Sequence[Segment]]]) -> bytes:
    """A JSON push body: ``{"streams":[{"stream":{...},"values":[["<ns>","line",{md}],...]}]}``."""
    out: list[dict[str, Any]] = []
    for labels, segments in streams:
        values: list[list[Any]] = []
        for seg in merge_segments(segments):
            times = seg.times()
            md = seg.md
            for i, line in enumerate(seg.lines):
                text = line.decode("utf-8", "replace")
                meta = md[i] if md is not None else None
                if meta:
                    values.append([str(times[i]), text, dict(meta)])
                else:
                    values.append([str(times[i]), text])
        out.append({"stream": labels, "values": values})
    return orjson.dumps({"streams": out})
