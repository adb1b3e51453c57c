"""Push-body encoding: the table-driven fast path equals the plain per-entry encoding."""

from __future__ import annotations

import cramjam
from hypothesis import given, settings
from hypothesis import strategies as st

from logagent.sinks.loki.encode import (
    NS,
    Segment,
    _entries_consecutive,
    _entries_general,
    encode_protobuf,
    merge_segments,
    varint,
)
from logagent.sinks.loki.labels import format_labels, label_name_error, sanitize_label_name
from tests.sinks.loki.receiver import _varint, decode_protobuf, parse_labels

line_lists = st.lists(st.text(max_size=300).map(lambda s: s.encode("utf-8", "replace")), max_size=60)
# Bases near the boundaries the fast path cuts at: seconds, and 2**14 ns blocks.
bases = st.one_of(
    st.integers(0, 2**63 - 10**6),
    st.integers(0, 10**6).map(lambda k: 1_700_000_000 * NS + k),
    st.integers(0, 100).map(lambda k: 1_700_000_001 * NS - k),
    st.integers(0, 100).map(lambda k: 1_700_000_000 * NS + 0x4000 * 7 - k),
)


@settings(max_examples=120, deadline=None)
@given(line_lists, bases)
def test_fast_path_bytes_equal_general_encoding(lines: list[bytes], base: int) -> None:
    times = list(range(base, base + len(lines)))
    assert _entries_consecutive(lines, base) == _entries_general(lines, times, None)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_varint_roundtrip(n: int) -> None:
    assert _varint(varint(n), 0) == (n, len(varint(n)))


def test_push_request_decodes_with_labels_metadata_and_order() -> None:
    a = Segment([b"late"], [5 * NS])
    b = Segment([b"early", b"mid"], [3 * NS, 4 * NS + 1], [(("trace_id", "x"),), None])
    labels = format_labels([("app", 'we"b'), ("env", "a\\b\nc")])
    raw = encode_protobuf([(labels, [a, b])])
    (stream,) = decode_protobuf(bytes(cramjam.snappy.decompress_raw(cramjam.snappy.compress_raw(raw))))
    assert parse_labels(stream.labels) == {"app": 'we"b', "env": "a\\b\nc"}
    assert [(e.ts_ns, e.line, e.metadata) for e in stream.entries] == [
        (3 * NS, "early", {"trace_id": "x"}),
        (4 * NS + 1, "mid", {}),
        (5 * NS, "late", {}),
    ]


def test_merge_keeps_ordered_segments_as_they_are() -> None:
    a, b = Segment([b"1"], 10), Segment([b"2", b"3"], 11)
    assert merge_segments([a, b]) == [a, b]


def test_label_name_rules() -> None:
    assert label_name_error("app_1") is None
    assert "must match" in (label_name_error("1app") or "")
    assert "must match" in (label_name_error("a-b") or "")
    assert "reserved" in (label_name_error("__name__") or "")
    assert sanitize_label_name("k8s.pod-name") == "k8s_pod_name"
    assert sanitize_label_name("9x") == "_9x"
