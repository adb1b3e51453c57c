"""The disk buffer's record encoding: any batch round-trips; what JSON cannot hold is repaired, not lost."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from logagent.buffer.disk import decode_batch, encode_batch, frame, read_record
from logagent.event import FLAG_INVALID_UTF8, FLAG_TRUNCATED, Batch
from parsers.base import Record

# Strings as sources produce them: any Unicode except lone surrogates (tested separately).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=5,
)
fields = st.dictionaries(text, json_value, max_size=3)
opt_ts = st.none() | st.integers(0, 2**63 - 1)
record = st.builds(Record, opt_ts, st.none() | text, st.none() | text, fields, st.none() | text)


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    lines = draw(st.lists(text, min_size=0, max_size=6))
    n = len(lines)

    def per_line(strategy: st.SearchStrategy) -> list | None:
        return draw(st.none() | st.lists(strategy, min_size=n, max_size=n))

    return Batch(
        source=draw(text),
        lines=lines,
        read_ts_ns=draw(st.integers(0, 2**63 - 1)),
        path=draw(st.none() | text),
        labels=draw(st.dictionaries(text, text, max_size=3)),
        flags=per_line(st.integers(0, 7)),
        ts_ns=per_line(opt_ts),
        fields=per_line(fields),
        records=per_line(record),
        nbytes=draw(st.integers(0, 2**31)),
    )


@settings(max_examples=50, deadline=None)
@given(batches())
def test_every_batch_round_trips(batch: Batch) -> None:
    got = decode_batch(encode_batch(batch))
    for name in ("source", "lines", "read_ts_ns", "path", "flags", "ts_ns", "fields", "records", "nbytes"):
        assert getattr(got, name) == getattr(batch, name), name
    assert got.labels == batch.labels


def test_lone_surrogates_and_huge_integers_are_repaired_and_flagged() -> None:
    batch = Batch(
        source="app",
        lines=["fine", "bad \udcff byte"],
        flags=[FLAG_TRUNCATED, 0],
        fields=[{"big": 2**70}, {"k\udc80": "v"}],
    )
    got = decode_batch(encode_batch(batch))
    assert got.lines == ["fine", "bad \ufffd byte"]
    assert got.flags == [FLAG_TRUNCATED, FLAG_INVALID_UTF8]
    assert got.fields == [{"big": str(2**70)}, {"k\ufffd": "v"}]


def test_a_framed_record_reads_back_and_a_cut_one_does_not(tmp_path: Path) -> None:
    payload = encode_batch(Batch(source="app", lines=["a", "b"]))
    rec = frame(payload, 2)
    path = tmp_path / "seg"
    path.write_bytes(rec + rec[:-1])
    fd = os.open(path, os.O_RDONLY)
    try:
        assert read_record(fd, 0, len(rec) * 2 - 1) == (payload, 2)
        assert read_record(fd, len(rec), len(rec) * 2 - 1) is None
    finally:
        os.close(fd)
