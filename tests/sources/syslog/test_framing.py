"""RFC 6587 framing: octet counting vs non-transparent (LF/NUL) chosen per frame, size cap, resync."""

from __future__ import annotations

import pytest

from logagent.event import FLAG_TRUNCATED, FLAG_UNTERMINATED
from logagent.sources.syslog.framing import FrameDecoder
from tests.conftest import require_corpus

T = FLAG_TRUNCATED
U = FLAG_UNTERMINATED

# (name, stream, max bytes, expected frames with flags, expected finish() frames)
CASES = [
    ("lf", b"<13>a\n<13>b\n", 64, [(b"<13>a", 0), (b"<13>b", 0)], []),
    ("crlf", b"<13>a\r\n<13>b\r\n", 64, [(b"<13>a", 0), (b"<13>b", 0)], []),
    ("nul", b"<13>a\0<13>b\0", 64, [(b"<13>a", 0), (b"<13>b", 0)], []),
    ("nul before lf", b"<13>a\0<13>b\n", 64, [(b"<13>a", 0), (b"<13>b", 0)], []),
    ("blank lines skipped", b"\n\n<13>a\n\0\r\n", 64, [(b"<13>a", 0)], []),
    ("octet", b"5 <13>a6 <13>bc", 64, [(b"<13>a", 0), (b"<13>bc", 0)], []),
    ("octet keeps LF inside", b"7 <13>a\nb", 64, [(b"<13>a\nb", 0)], []),
    ("octet keeps spaces", b"8 <13>  a ", 64, [(b"<13>  a ", 0)], []),
    ("mixed per frame", b"5 <13>a<13>b\n5 <13>c", 64, [(b"<13>a", 0), (b"<13>b", 0), (b"<13>c", 0)], []),
    ("digit without space is LF framing", b"2018-08-14 x\n", 64, [(b"2018-08-14 x", 0)], []),
    ("zero is not a count", b"0 x\n", 64, [(b"0 x", 0)], []),
    (
        "lf oversized cut, rest discarded",
        b"<13>" + b"x" * 20 + b"\n<13>ok\n",
        10,
        [(b"<13>xxxxxx", T), (b"<13>ok", 0)],
        [],
    ),
    (
        "octet oversized cut, rest skipped",
        b"20 <13>" + b"y" * 16 + b"5 <13>z",
        10,
        [(b"<13>yyyyyy", T), (b"<13>z", 0)],
        [],
    ),
    ("partial lf at end", b"<13>a\n<13>tail", 64, [(b"<13>a", 0)], [(b"<13>tail", U)]),
    ("partial octet at end", b"9 <13>ab", 64, [], [(b"<13>ab", U)]),
]


def run(
    decoder: FrameDecoder, chunks: list[bytes]
) -> tuple[list[tuple[bytes, int]], list[tuple[bytes, int]]]:
    got: list[tuple[bytes, int]] = []
    for chunk in chunks:
        frames, flags = decoder.feed(chunk)
        assert len(frames) == len(flags)
        got.extend(zip(frames, flags, strict=True))
    frames, flags = decoder.finish()
    return got, list(zip(frames, flags, strict=True))


@pytest.mark.parametrize(("name", "stream", "limit", "want", "want_tail"), CASES, ids=[c[0] for c in CASES])
def test_frames_whole(name: str, stream: bytes, limit: int, want: list, want_tail: list) -> None:
    got, tail = run(FrameDecoder(limit), [stream])
    assert got == want
    assert tail == want_tail


@pytest.mark.parametrize(("name", "stream", "limit", "want", "want_tail"), CASES, ids=[c[0] for c in CASES])
def test_frames_byte_by_byte(name: str, stream: bytes, limit: int, want: list, want_tail: list) -> None:
    # Every split point must give the same frames: reads end anywhere in a TCP stream.
    got, tail = run(FrameDecoder(limit), [stream[i : i + 1] for i in range(len(stream))])
    assert got == want
    assert tail == want_tail


def test_oversized_lf_frame_without_delimiter_yet_is_cut_and_resyncs() -> None:
    d = FrameDecoder(8)
    frames, flags = d.feed(b"<13>" + b"z" * 30)
    assert frames == [b"<13>zzzz"] and flags == [T]
    assert d.pending_bytes == 0  # memory stays bounded while the rest is discarded
    frames, flags = d.feed(b"z" * 30 + b"\n<13>ok\n")
    assert frames == [b"<13>ok"] and flags == [0]


def test_huge_octet_count_is_skipped_across_reads() -> None:
    d = FrameDecoder(8)
    frames, flags = d.feed(b"1000 <13>abcd")
    assert frames == [b"<13>abcd"] and flags == [T]
    # 992 bytes of the big frame are still to come and must not be read as frames.
    assert d.feed(b"x" * 500) == ([], [])
    frames, flags = d.feed(b"x" * 492 + b"3 <1>3 <2>")
    assert frames == [b"<1>", b"<2>"] and flags == [0, 0]


def test_corpus_framing_samples() -> None:
    base = require_corpus("syslog", "dynatrace-otelcol_syslog_testdata")
    octet = (base / "rfc6587-octet-counting").read_bytes()
    frames, _ = FrameDecoder(4096).feed(octet)
    assert len(frames) == 1 and frames[0].startswith(b"<86>1 ") and frames[0].endswith(b"profile")
    spaced = (base / "rfc6587-octet-counting-preserve-space").read_bytes()
    frames, _ = FrameDecoder(4096).feed(spaced)
    assert frames[0].endswith(b"-  partition is p2 ")  # spaces kept verbatim
    nul = (base / "rfc6587-non-transparent-framing").read_bytes()
    frames, _ = FrameDecoder(4096).feed(nul + nul)
    assert len(frames) == 2 and frames[0] == nul[:-1]
