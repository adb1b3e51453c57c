"""The fake Loki is itself strict: what it rejects, and how query_range answers (grep relies on it)."""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import AsyncIterator

import aiohttp
import cramjam
import orjson
import pytest

from logagent.sinks.loki.encode import Segment, encode_protobuf
from tests.sinks.loki.receiver import LokiReceiver, ThreadedReceiver, parse_time, start_receiver

NS = 1_000_000_000
PUSH = "/loki/api/v1/push"


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def push_json(
    s: aiohttp.ClientSession, rx: LokiReceiver, doc: object, **headers: str
) -> tuple[int, str]:
    body = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    hdrs = {"Content-Type": "application/json", **headers}
    async with s.post(rx.url + PUSH, data=body, headers=hdrs) as r:
        return r.status, await r.text()


def stream(labels: dict[str, str], *values: list[object]) -> dict[str, object]:
    return {"streams": [{"stream": labels, "values": list(values)}]}


async def test_json_rules(loki: LokiReceiver, client: aiohttp.ClientSession) -> None:
    now = str(time.time_ns())
    assert (await push_json(client, loki, stream({"a": "b"}, [now, "ok"])))[0] == 204
    assert (await push_json(client, loki, stream({"a": "b"}, [int(now), "num ts"])))[0] == 400
    assert (await push_json(client, loki, {"streams": []}))[0] == 422
    assert (await push_json(client, loki, b"{not json"))[0] == 400
    assert (await push_json(client, loki, stream({}, [now, "no labels"])))[0] == 400
    assert (await push_json(client, loki, stream({"a-b": "c"}, [now, "bad name"])))[0] == 400
    many = {f"l{i}": "v" for i in range(16)}
    assert (await push_json(client, loki, stream(many, [now, "16 labels"])))[0] == 400
    gz = gzip.compress(orjson.dumps(stream({"a": "b"}, [now, "gz"])))
    assert (await push_json(client, loki, gz, **{"Content-Encoding": "gzip"}))[0] == 204
    df = zlib.compress(orjson.dumps(stream({"a": "b"}, [now, "df"])))
    assert (await push_json(client, loki, df, **{"Content-Encoding": "deflate"}))[0] == 204
    assert (await push_json(client, loki, gz, **{"Content-Encoding": "br"}))[0] == 400
    assert loki.lines() == ["ok", "gz", "df"]


async def test_limits_partial_accept_duplicates_and_order(
    loki: LokiReceiver, client: aiohttp.ClientSession
) -> None:
    now = time.time_ns()
    status, text = await push_json(
        client,
        loki,
        stream(
            {"a": "b"},
            [str(now), "fine"],
            [str(now), "fine"],  # exact duplicate: silently dropped
            [str(now - 8 * 86400 * NS), "too old"],
            [str(now + 3600 * NS), "too new"],
            [str(now - 2 * 3600 * NS), "too far behind"],
            [str(now), "x" * (256 * 1024 + 1)],
        ),
    )
    assert status == 400
    assert "too old" in text and "too new" in text and "too far behind" in text and "max entry size" in text
    assert loki.lines() == ["fine"]


async def test_protobuf_needs_snappy_block_format(loki: LokiReceiver, client: aiohttp.ClientSession) -> None:
    raw = encode_protobuf([('{a="b"}', [Segment([b"hello"], time.time_ns())])])
    hdrs = {"Content-Type": "application/x-protobuf"}
    async with client.post(loki.url + PUSH, data=bytes(cramjam.snappy.compress(raw)), headers=hdrs) as r:
        assert r.status == 400  # framed snappy is not what Loki takes
    async with client.post(loki.url + PUSH, data=raw, headers=hdrs) as r:
        assert r.status == 400
    async with client.post(loki.url + PUSH, data=bytes(cramjam.snappy.compress_raw(raw)), headers=hdrs) as r:
        assert r.status == 204
    bad_labels = encode_protobuf([("{a=b}", [Segment([b"x"], time.time_ns())])])
    async with client.post(
        loki.url + PUSH, data=bytes(cramjam.snappy.compress_raw(bad_labels)), headers=hdrs
    ) as r:
        assert r.status == 400 and "error parsing labels" in await r.text()
    assert loki.lines() == ["hello"]


async def test_query_range(loki: LokiReceiver, client: aiohttp.ClientSession) -> None:
    base = time.time_ns() - 60 * NS
    await push_json(
        client,
        loki,
        stream({"app": "web", "env": "p"}, *[[str(base + i * NS), f"web {i}"] for i in range(10)]),
    )
    await push_json(client, loki, stream({"app": "db"}, [str(base + 5 * NS), "db error"]))

    async def q(**params: str) -> dict:
        async with client.get(loki.url + "/loki/api/v1/query_range", params=params) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    doc = await q(query='{app="web"}', limit="3")
    assert doc["status"] == "success" and doc["data"]["resultType"] == "streams"
    (res,) = doc["data"]["result"]
    assert res["stream"] == {"app": "web", "env": "p"}
    assert [v[1] for v in res["values"]] == ["web 9", "web 8", "web 7"]  # backward by default
    doc = await q(query='{app="web"}', direction="forward", start=str(base + 2 * NS), end=str(base + 4 * NS))
    assert [v[1] for v in doc["data"]["result"][0]["values"]] == ["web 2", "web 3"]  # end exclusive
    doc = await q(query='{app=~"web|db"} |= "error"')
    assert [r["values"][0][1] for r in doc["data"]["result"]] == ["db error"]
    doc = await q(query='{app="web"} |~ "web [13]$" != "3"')
    assert [v[1] for v in doc["data"]["result"][0]["values"]] == ["web 1"]
    async with client.get(loki.url + "/loki/api/v1/query_range", params={"query": '{app=~".*"}'}) as r:
        assert r.status == 400
    async with client.get(loki.url + "/loki/api/v1/query_range", params={"query": "{app="}) as r:
        assert r.status == 400


def test_time_parameters() -> None:
    assert parse_time("1700000000") == 1_700_000_000 * NS
    assert parse_time("1700000000123456789") == 1_700_000_000_123_456_789
    assert parse_time("1700000000.5") == 1_700_000_000_500_000_000
    assert parse_time("2023-11-14T22:13:20.000000001Z") == 1_700_000_000_000_000_001
    assert parse_time("2023-11-14T23:13:20+01:00") == 1_700_000_000 * NS


def test_threaded_receiver_serves_a_plain_thread() -> None:
    import urllib.request

    with ThreadedReceiver() as rx:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(rx.url + "/ready", timeout=5) as r:
            assert r.status == 200


async def test_ready_and_auth() -> None:
    async with start_receiver(bearer_token="t") as rx, aiohttp.ClientSession() as s:
        async with s.get(rx.url + "/ready") as r:
            assert r.status == 401
        async with s.get(rx.url + "/ready", headers={"Authorization": "Bearer t"}) as r:
            assert r.status == 200


def test_seed_stores_without_http() -> None:
    rx = LokiReceiver()
    now = time.time_ns()
    assert rx.seed({"app": "x"}, [(now, "a"), (now + 1, "b")]) == []
    assert rx.seed({"bad-name": "x"}, [(now, "c")]) != []
    assert rx.lines() == ["a", "b"]
