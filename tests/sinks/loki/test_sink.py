"""The Loki sink against the strict fake Loki: encodings, labels, batching, retries, acks."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import orjson
import pytest

from logagent.event import FLAG_TRUNCATED, Batch
from parsers.base import Record
from tests.sinks.loki.conftest import Harness, sink_config, wait_until
from tests.sinks.loki.receiver import Fault, LokiReceiver, decode_protobuf, start_receiver

NS = 1_000_000_000


def lines(prefix: str, n: int) -> list[str]:
    return [f"{prefix} line {i} ✓" for i in range(n)]


async def test_protobuf_push_delivers_every_line_and_acks(loki: LokiReceiver, data_dir: Path) -> None:
    cfg = sink_config(loki.url, tenant_id="team-a", labels={"job": "web"}, headers={"X-Extra": "yes"})
    h = Harness(cfg, data_dir).start()
    sent = []
    for b in range(3):
        batch_lines = lines(f"b{b}", 50)
        sent += batch_lines
        await h.feed(Batch(source="app", lines=batch_lines, labels={"env": "prod"}))
    await h.close()
    assert loki.lines() == sent
    assert list(loki.streams()) == [(("env", "prod"), ("job", "web"))]
    assert h.all_acked() and h.committed[-1] == 3
    for req in loki.requests:
        assert req.status == 204
        assert req.headers["Content-Type"] == "application/x-protobuf"
        assert "Content-Encoding" not in req.headers
        assert req.headers["X-Scope-OrgID"] == "team-a"
        assert req.headers["X-Extra"] == "yes"
        assert "Authorization" not in req.headers
    assert h.value("logagent_events_sent_total", sink="loki") == 150
    assert h.value("logagent_sink_request_seconds_count", sink="loki") == len(loki.requests)
    assert h.value("logagent_bytes_sent_total", sink="loki") == sum(r.body_bytes for r in loki.requests)
    assert h.value("logagent_sink_up", sink="loki") == 1


async def test_equal_lines_in_one_batch_are_not_deduplicated(loki: LokiReceiver, data_dir: Path) -> None:
    h = Harness(sink_config(loki.url, labels={"job": "x"}), data_dir).start()
    await h.feed(Batch(source="app", lines=["same"] * 5))
    await h.feed(Batch(source="app", lines=["same"] * 5))
    await h.close()
    (entries,) = loki.streams().values()
    assert [e.line for e in entries] == ["same"] * 10
    ts = [e.ts_ns for e in entries]
    assert ts == sorted(ts) and len(set(ts)) == 10


async def test_json_gzip_push(loki: LokiReceiver, data_dir: Path) -> None:
    cfg = sink_config(loki.url, encoding="json", json_gzip=True, labels={"job": "j"})
    h = Harness(cfg, data_dir).start()
    await h.feed(Batch(source="app", lines=['quote " and \\ backslash', "tab\there"]))
    await h.close()
    assert loki.lines() == ['quote " and \\ backslash', "tab\there"]
    req = loki.requests[0]
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["Content-Encoding"] == "gzip"
    assert h.all_acked()


async def test_label_fields_metadata_and_per_stream_sorting(loki: LokiReceiver, data_dir: Path) -> None:
    cfg = sink_config(
        loki.url,
        labels={"job": "api"},
        label_fields=["level", "svc=service"],
        structured_metadata=["trace_id"],
    )
    h = Harness(cfg, data_dir).start()
    now = time.time_ns()
    # Out of time order on purpose; two levels, one service.
    spec = [(5, "error", "e5"), (1, "info", "i1"), (3, "error", "e3"), (2, "info", "i2"), (4, None, "n4")]
    records = [
        Record(
            ts_ns=now - 10 * NS + s * NS, level=lv, message=m, fields={"service": "pay", "trace_id": f"t{s}"}
        )
        for s, lv, m in spec
    ]
    await h.feed(Batch(source="app", lines=[m for _, _, m in spec], records=records))
    await h.close()
    streams = loki.streams()
    assert set(streams) == {
        (("job", "api"), ("level", "error"), ("svc", "pay")),
        (("job", "api"), ("level", "info"), ("svc", "pay")),
        (("job", "api"), ("svc", "pay")),
    }
    err = streams[(("job", "api"), ("level", "error"), ("svc", "pay"))]
    assert [e.line for e in err] == ["e3", "e5"]
    assert [e.metadata for e in err] == [{"trace_id": "t3"}, {"trace_id": "t5"}]
    info = streams[(("job", "api"), ("level", "info"), ("svc", "pay"))]
    assert [e.line for e in info] == ["i1", "i2"]
    # The wire order inside each stream is sorted, not just the stored order.
    for req in loki.requests:
        for st in req.streams:
            ts = [e.ts_ns for e in st.entries]
            assert ts == sorted(ts)


async def test_batches_split_by_max_bytes_and_sent_on_timeout(loki: LokiReceiver, data_dir: Path) -> None:
    cfg = sink_config(loki.url, labels={"job": "b"}, batch={"max_bytes": 4096, "timeout_secs": 0.2})
    h = Harness(cfg, data_dir).start()
    big = [f"{i:05d} " + "x" * 200 for i in range(100)]  # ~22 KB: at least 5 pushes
    await h.feed(Batch(source="app", lines=big))
    await wait_until(lambda: loki.entry_count() == 100, what="all lines")
    assert len(loki.requests) >= 5
    for req in loki.requests:
        assert sum(len(e.line) + 20 for s in req.streams for e in s.entries) <= 4096
    await wait_until(h.all_acked, what="ack")
    # After an idle spell, a small batch goes out on the timeout counted from its arrival.
    await asyncio.sleep(0.3)
    fed = time.monotonic()
    await h.feed(Batch(source="app", lines=["late"]))
    await wait_until(lambda: loki.entry_count() == 101, what="timeout flush")
    assert loki.requests[-1].at - fed >= 0.19
    await h.close()
    assert loki.lines() == [*big, "late"]


async def test_429_storm_with_retry_after_is_retried_until_delivered(
    loki: LokiReceiver, data_dir: Path
) -> None:
    loki.fail_next(6, 429, retry_after="0")
    loki.fail_next(1, 503, retry_after="1")
    h = Harness(sink_config(loki.url, labels={"job": "s"}, max_backoff_secs=0.5), data_dir).start()
    await h.feed(Batch(source="app", lines=lines("storm", 20)))
    await h.close()
    assert loki.lines() == lines("storm", 20)
    statuses = [r.status for r in loki.requests]
    assert statuses == [429] * 6 + [503, 204]
    # Retry-After: 1 was honoured (longer than the 0.5 s backoff cap).
    assert loki.requests[7].at - loki.requests[6].at >= 0.95
    assert h.value("logagent_sink_retries_total", sink="loki") == 7
    assert h.value("logagent_sink_errors_total", sink="loki", reason="http_429") == 6
    assert h.all_acked()


async def test_rejected_push_is_dead_lettered_acked_and_not_retried(
    loki: LokiReceiver, data_dir: Path
) -> None:
    # The local age check is off, so Loki itself rejects the 30-day-old entry (400, partial accept).
    cfg = sink_config(loki.url, labels={"job": "d"}, max_age_secs=0)
    h = Harness(cfg, data_dir).start()
    now = time.time_ns()
    recs = [Record(ts_ns=now - 30 * 86400 * NS), Record(ts_ns=now)]
    await h.feed(Batch(source="app", lines=["ancient", "fresh"], records=recs))
    await h.close()
    assert [r.status for r in loki.requests] == [400]
    assert loki.lines() == ["fresh"]  # the partial accept stored the valid entry
    assert h.all_acked()
    assert h.value("logagent_events_dropped_total", component="sink:loki", reason="rejected") == 2
    assert h.value("logagent_sink_errors_total", sink="loki", reason="http_400") == 1
    dl = data_dir / "deadletter" / "loki"
    (meta_path,) = dl.glob("*.json")
    meta = orjson.loads(meta_path.read_bytes())
    assert meta["status"] == 400 and "too old" in meta["response"] and meta["entries"] == 2
    import cramjam

    body = meta_path.with_suffix(".body").read_bytes()
    (stream,) = decode_protobuf(bytes(cramjam.snappy.decompress_raw(body)))
    assert [e.line for e in stream.entries] == ["ancient", "fresh"]


async def test_too_old_lines_are_dropped_locally_with_a_reason(loki: LokiReceiver, data_dir: Path) -> None:
    h = Harness(sink_config(loki.url, labels={"job": "o"}), data_dir).start()
    now = time.time_ns()
    recs = [Record(ts_ns=now - 8 * 86400 * NS), Record(ts_ns=now), Record(ts_ns=now + 3600 * NS)]
    await h.feed(Batch(source="app", lines=["old", "now", "future"], records=recs))
    await h.close()
    assert loki.lines() == ["now", "future"]  # the future one is sent at the current time
    assert all(r.status == 204 for r in loki.requests)
    assert h.value("logagent_events_dropped_total", component="sink:loki", reason="too_old") == 1
    assert h.value("logagent_sink_errors_total", sink="loki", reason="future_ts_clamped") == 1
    assert h.all_acked()


async def test_status_260_stores_nothing_so_the_push_is_retried(loki: LokiReceiver, data_dir: Path) -> None:
    loki.fail_next(3, 260)
    h = Harness(sink_config(loki.url, labels={"job": "b"}), data_dir).start()
    await h.feed(Batch(source="app", lines=["x", "y"]))
    await wait_until(lambda: len(loki.requests) >= 2, what="260 answers")
    assert h.order.committed is None  # 260 is a 2xx, but nothing was stored: no ack
    await h.close()
    assert [r.status for r in loki.requests] == [260, 260, 260, 204]
    assert loki.lines() == ["x", "y"]
    assert h.value("logagent_sink_errors_total", sink="loki", reason="ingestion_blocked") == 3
    assert h.all_acked()


async def test_bad_token_is_a_clear_error_and_nothing_is_acknowledged(
    data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = tmp_path / "token"
    token.write_text("wrong-secret-123\n")
    async with start_receiver(bearer_token="right-secret-456") as rx:
        cfg = sink_config(rx.url, labels={"job": "t"}, bearer_token_file=str(token))
        h = Harness(cfg, data_dir).start()
        with caplog.at_level(logging.WARNING, logger="logagent"):
            await h.feed(Batch(source="app", lines=["secret stuff"]))
            await wait_until(lambda: len(rx.requests) >= 5, what="401s")
            assert h.order.committed is None
            assert rx.entry_count() == 0
            assert h.value("logagent_sink_up", sink="loki") == 0
            assert h.value("logagent_sink_errors_total", sink="loki", reason="unauthorized") >= 5
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert errors and "401" in errors[0].getMessage()
            assert all("secret-" not in r.getMessage() for r in caplog.records)
            assert not (data_dir / "deadletter").exists()
            # Fixing the token file is picked up without a restart; nothing was lost.
            token.write_text("right-secret-456\n")
            await h.close()
        assert rx.lines() == ["secret stuff"]
        assert h.all_acked()


async def test_sink_down_then_back_loses_nothing(data_dir: Path) -> None:
    async with start_receiver() as rx:
        port = rx.port
        await rx.stop()
        h = Harness(sink_config(rx.url, labels={"job": "down"}, max_in_flight=3), data_dir).start()
        sent = []
        for b in range(10):
            sent += lines(f"b{b}", 30)
            await h.feed(Batch(source="app", lines=lines(f"b{b}", 30)))
        await wait_until(
            lambda: h.value("logagent_sink_errors_total", sink="loki", reason="connection") >= 5,
            what="connection errors",
        )
        assert h.value("logagent_sink_up", sink="loki") == 0
        assert h.order.committed is None
        await rx.start()
        assert rx.port == port
        await h.close()
        assert sorted(rx.lines()) == sorted(sent)
        assert rx.entry_count() == len(sent)
        assert h.all_acked()
        assert h.value("logagent_sink_up", sink="loki") == 1


async def test_dropped_connections_and_slow_responses_are_retried_without_duplicates(
    loki: LokiReceiver, data_dir: Path
) -> None:
    loki.inject(Fault(drop=True), 2)
    loki.inject(Fault(delay_secs=1.0))  # longer than the request timeout: stored, but the sink resends
    h = Harness(sink_config(loki.url, labels={"job": "f"}, request_timeout_secs=0.3), data_dir).start()
    await h.feed(Batch(source="app", lines=lines("f", 10)))
    await wait_until(h.all_acked, what="ack")
    await wait_until(lambda: loki.faults_left() == 0 and len(loki.requests) >= 4, what="slow push")
    await h.close()
    # The resent body is byte-identical, so Loki's exact-duplicate rule keeps one copy.
    assert loki.lines() == lines("f", 10)
    assert h.value("logagent_sink_errors_total", sink="loki", reason="connection") == 3


async def test_long_lines_are_truncated_and_flagged(loki: LokiReceiver, data_dir: Path) -> None:
    h = Harness(sink_config(loki.url, labels={"job": "t"}, max_line_bytes=100), data_dir).start()
    long = "é" * 80  # 160 bytes
    await h.feed(Batch(source="app", lines=["short", long]))
    await h.close()
    (entries,) = loki.streams().values()
    assert entries[0].line == "short" and entries[0].metadata == {}
    assert entries[1].line == "é" * 50
    assert entries[1].metadata == {"flags": "truncated"}
    assert h.value("logagent_sink_errors_total", sink="loki", reason="line_truncated") == 1


async def test_source_flags_travel_as_metadata(loki: LokiReceiver, data_dir: Path) -> None:
    h = Harness(sink_config(loki.url, labels={"job": "t"}), data_dir).start()
    await h.feed(Batch(source="app", lines=["a", "b"], flags=[0, FLAG_TRUNCATED]))
    await h.close()
    (entries,) = loki.streams().values()
    assert [e.metadata for e in entries] == [{}, {"flags": "truncated"}]


async def test_cardinality_guard_drops_and_counts_new_streams(loki: LokiReceiver, data_dir: Path) -> None:
    cfg = sink_config(
        loki.url, labels={"job": "c"}, label_fields=["user"], max_streams=3, max_streams_per_batch=2
    )
    h = Harness(cfg, data_dir).start()
    users = ["u1", "u2", "u3", "u1", "u4", "u2"]
    recs = [Record(fields={"user": u}) for u in users]
    await h.feed(Batch(source="app", lines=users, records=recs))  # 4 streams in one batch: 2 kept
    recs = [Record(fields={"user": u}) for u in ("u1", "u5", "u6")]
    await h.feed(Batch(source="app", lines=["u1", "u5", "u6"], records=recs))  # u6: 3rd in batch
    await h.feed(Batch(source="app", lines=["u7"], records=[Record(fields={"user": "u7"})]))  # 4th stream
    await h.close()
    assert sorted(loki.lines()) == ["u1", "u1", "u1", "u2", "u2", "u5"]
    dropped = h.value("logagent_events_dropped_total", component="sink:loki", reason="stream_limit_batch")
    assert dropped == 3  # u3, u4, u6
    assert h.value("logagent_events_dropped_total", component="sink:loki", reason="stream_limit") == 1
    assert h.all_acked()


async def test_many_pushes_in_flight_ack_every_batch_exactly_once(loki: LokiReceiver, data_dir: Path) -> None:
    loki.inject(Fault(delay_secs=0.2), 3)
    cfg = sink_config(loki.url, labels={"job": "m"}, max_in_flight=4, batch={"max_bytes": 2048})
    h = Harness(cfg, data_dir).start()
    sent = []
    for b in range(40):
        sent += lines(f"b{b}", 7)
        await h.feed(Batch(source="app", lines=lines(f"b{b}", 7)))
    await h.feed(Batch(source="app", lines=[]))  # an empty batch still carries a checkpoint
    await h.close()
    assert sorted(loki.lines()) == sorted(sent)
    assert h.all_acked()
    assert h.committed == sorted(h.committed) and h.committed[-1] == 41


async def test_basic_auth_from_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOKI_TEST_PW", "pw")
    async with start_receiver(basic_auth=("user", "pw"), multi_tenant=True) as rx:
        cfg = sink_config(
            rx.url, labels={"job": "a"}, username="user", password_env="LOKI_TEST_PW", tenant_id="t1"
        )
        h = Harness(cfg, data_dir).start()
        await h.sink.healthcheck()
        await h.feed(Batch(source="app", lines=["hello"]))
        await h.close()
        assert rx.lines() == ["hello"]


async def test_healthcheck_says_why(data_dir: Path, tmp_path: Path) -> None:
    from logagent.components import SinkUnavailable

    async with start_receiver(bearer_token="good") as rx:
        tok = tmp_path / "tok"
        tok.write_text("bad")
        h = Harness(sink_config(rx.url, labels={"job": "h"}, bearer_token_file=str(tok)), data_dir)
        with pytest.raises(SinkUnavailable, match="authentication failed"):
            await h.sink.healthcheck()
        tok.write_text("good")
        await h.sink.healthcheck()
        h2 = Harness(sink_config(rx.url, bearer_token_file=str(tmp_path / "missing")), data_dir)
        with pytest.raises(SinkUnavailable, match="cannot read bearer token file"):
            await h2.sink.healthcheck()
        await rx.stop()
        with pytest.raises(SinkUnavailable, match="cannot reach"):
            await h.sink.healthcheck()


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
async def test_shutdown_flushes_the_open_batch(loki: LokiReceiver, data_dir: Path, encoding: str) -> None:
    cfg = sink_config(loki.url, labels={"job": "s"}, encoding=encoding, batch={"timeout_secs": 60})
    h = Harness(cfg, data_dir).start()
    await h.feed(Batch(source="app", lines=["one", "two"]))
    await asyncio.sleep(0)
    await h.close(timeout=5)
    assert loki.lines() == ["one", "two"]
    assert h.all_acked()


async def test_streams_without_configured_labels_get_the_source_label(
    loki: LokiReceiver, data_dir: Path
) -> None:
    h = Harness(sink_config(loki.url), data_dir).start()
    await h.feed(Batch(source="app", lines=["raw"]))
    await h.feed(Batch(source="app", lines=["parsed"], records=[Record(level="info")]))
    await h.close()
    assert loki.streams() == {(("source", "app"),): loki.streams()[(("source", "app"),)]}
    assert loki.lines() == ["raw", "parsed"]
    assert all(r.status == 204 for r in loki.requests)


async def test_raw_batch_replayed_after_the_age_limit_is_dropped_with_a_reason(
    loki: LokiReceiver, data_dir: Path
) -> None:
    h = Harness(sink_config(loki.url, labels={"job": "r"}), data_dir).start()
    old = time.time_ns() - 8 * 86400 * NS  # e.g. a disk-buffer replay after a week offline
    await h.feed(Batch(source="app", lines=["stale 1", "stale 2"], read_ts_ns=old))
    await h.feed(Batch(source="app", lines=["fresh"]))
    await h.close()
    assert loki.lines() == ["fresh"]
    assert h.value("logagent_events_dropped_total", component="sink:loki", reason="too_old") == 2
    assert h.all_acked()


async def test_413_is_not_retried(data_dir: Path) -> None:
    async with start_receiver(max_body_bytes=200) as rx:
        h = Harness(sink_config(rx.url, labels={"job": "big"}), data_dir).start()
        await h.feed(
            Batch(source="app", lines=[f"{i} incompressible {i * 7919 % 10007}" for i in range(100)])
        )
        await h.close()
        assert [r.status for r in rx.requests] == [413]
        assert h.value("logagent_events_dropped_total", component="sink:loki", reason="rejected") == 100
        assert len(list((data_dir / "deadletter" / "loki").glob("*.body"))) == 1
        assert h.all_acked()


async def test_source_fields_can_be_labels_without_a_parser(loki: LokiReceiver, data_dir: Path) -> None:
    # e.g. journald or syslog sources give per-line fields with no parser configured.
    cfg = sink_config(loki.url, labels={"job": "j"}, label_fields=["unit"], structured_metadata=["pid"])
    h = Harness(cfg, data_dir).start()
    fields = [{"unit": "ssh.service", "pid": 12}, {"unit": "cron.service", "pid": 7}, {}]
    await h.feed(Batch(source="journal", lines=["a", "b", "c"], fields=fields))
    await h.close()
    streams = loki.streams()
    assert [e.metadata for e in streams[(("job", "j"), ("unit", "ssh.service"))]] == [{"pid": "12"}]
    assert [e.line for e in streams[(("job", "j"), ("unit", "cron.service"))]] == ["b"]
    assert [e.line for e in streams[(("job", "j"),)]] == ["c"]
