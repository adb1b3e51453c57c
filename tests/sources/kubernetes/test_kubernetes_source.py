"""The Kubernetes source: CRI logs in the kubelet's /var/log/pods layout, in a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from logagent.sources.kubernetes import pod_labels
from tests.conftest import require_corpus
from tests.sources.docker.harness import append, events, metric, running_agent, wait_until

UID = "e9f2963f-55f2-11e9-84c5-02e422b8a84a"


def pod_log(root: Path, namespace: str, pod: str, container: str, restarts: int = 0) -> Path:
    d = root / f"{namespace}_{pod}_{UID}" / container
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{restarts}.log"


def source(root: Path, extra: str = "") -> str:
    return f"""
[sources.k8s]
type = "kubernetes"
root = "{root}"
poll_interval_secs = 0.1
rotate_wait_secs = 0.2
rescan_interval_secs = 0.5
{extra}
"""


async def test_partial_pieces_rejoined_with_path_labels(tmp_path: Path) -> None:
    root, data, out = tmp_path / "pods", tmp_path / "data", tmp_path / "out"
    path = pod_log(root, "shop", "web-7d4b9c-x2x9q", "nginx")
    append(path, b"2024-05-01T12:00:00.000000001Z stdout F first line\n")
    async with running_agent(data, out, source(root)) as agent:
        read = lambda: metric(agent, "logagent_lines_read_total", source="k8s")  # noqa: E731
        await wait_until(lambda: len(events(out)) == 1, what="first line")
        # A long stdout message in pieces, read one by one, with stderr lines in between.
        append(path, b"2024-05-01T12:00:01.5Z stdout P " + b"a" * 16384 + b"\n")
        await wait_until(lambda: read() == 2, what="first piece read")
        append(path, b"2024-05-01T14:00:01.6+02:00 stderr F warning: disk 91%\n")
        append(path, b"2024-05-01T12:00:01.7Z stdout P " + b"b" * 16384 + b"\n")
        await wait_until(lambda: read() == 4, what="second piece read")
        append(path, b"2024-05-01T12:00:01.8Z stdout F:x-tag end\n")
        append(path, b"2024-05-01T12:00:02Z stdout F \n")
        append(path, b"garbage without the cri prefix\n")
        await wait_until(lambda: len(events(out)) == 5, what="every message")
        assert metric(agent, "logagent_parse_errors_total", source="k8s", parser="cri") == 1
    first, warn, joined, empty, raw = events(out)
    labels = {"namespace": "shop", "pod": "web-7d4b9c-x2x9q", "pod_uid": UID, "container": "nginx"}
    assert first["labels"] == labels
    assert first["line"] == "first line"
    assert first["ts"] == "2024-05-01T12:00:00.000000001Z"
    assert warn["line"] == "warning: disk 91%"
    assert warn["fields"] == {"stream": "stderr"}
    assert warn["ts"] == "2024-05-01T12:00:01.600000000Z"
    assert joined["line"] == "a" * 16384 + "b" * 16384 + "end"
    assert joined["ts"] == "2024-05-01T12:00:01.500000000Z"  # the first piece's time
    assert joined["fields"] == {"stream": "stdout"}
    assert empty["line"] == ""
    assert raw["line"] == "garbage without the cri prefix"
    assert raw["fields"] == {"decode_error": "not a container log line"}


async def test_hadoop_stack_trace_from_corpus_and_kubelet_rotation(tmp_path: Path) -> None:
    corpus = require_corpus("cri", "fluent-bit_avro_multiline.json")
    cri_lines = orjson.loads(corpus.read_bytes())[0]["log"].rstrip("\n").split("\n")
    root, data, out = tmp_path / "pods", tmp_path / "data", tmp_path / "out"
    path = pod_log(root, "hadoop", "hdfs-client-0", "client", restarts=2)
    half = len(cri_lines) // 2
    append(path, "".join(line + "\n" for line in cri_lines[:half]).encode())
    src = source(root, 'include_namespaces = ["hadoop", "kube-*"]\nexclude_namespaces = ["kube-system"]')
    skipped = pod_log(root, "kube-system", "coredns-1", "coredns")
    append(skipped, b"2024-05-01T12:00:00Z stdout F not shipped\n")
    async with running_agent(data, out, src):
        await wait_until(lambda: len(events(out)) == half, what="first half")
        # The kubelet rotates: 2.log -> 2.log.<timestamp>, a new 2.log.
        os.rename(path, path.with_name("2.log.20200819-210625"))
        append(path, "".join(line + "\n" for line in cri_lines[half:]).encode())
        await wait_until(lambda: len(events(out)) == len(cri_lines), what="second half")
    evs = events(out)
    want = [line.split(" ", 3)[3] for line in cri_lines]
    assert [e["line"] for e in evs] == want
    assert evs[0]["ts"] == "2020-08-19T21:06:24.337499838Z"
    assert evs[1]["ts"] == "2020-08-19T21:06:24.337540770Z"
    assert all(e["labels"]["container"] == "client" for e in evs)
    assert all(e["fields"] == {"stream": "stderr"} for e in evs)


def test_pod_labels_from_path() -> None:
    root = "/var/log/pods"
    assert pod_labels(root, f"/var/log/pods/default_api-5f8d_{UID}/api/0.log") == {
        "namespace": "default",
        "pod": "api-5f8d",
        "pod_uid": UID,
        "container": "api",
    }
    assert pod_labels(root, "/var/log/pods/odd/c/0.log") == {"container": "c"}


async def test_docker_json_lines_under_pods_dir(tmp_path: Path) -> None:
    # Docker Engine through cri-dockerd: the kubelet's path links to Docker's json-file log.
    root, data, out = tmp_path / "pods", tmp_path / "data", tmp_path / "out"
    path = pod_log(root, "default", "api-0", "api")
    append(path, b'{"log":"part one ","stream":"stdout","time":"2024-05-01T12:00:00.5Z"}\n')
    append(path, b'{"log":"and two\\n","stream":"stdout","time":"2024-05-01T12:00:00.5Z"}\n')
    async with running_agent(data, out, source(root)):
        await wait_until(lambda: len(events(out)) == 1, what="joined docker line")
    (ev,) = events(out)
    assert ev["line"] == "part one and two"
    assert ev["ts"] == "2024-05-01T12:00:00.500000000Z"
    assert ev["labels"]["pod"] == "api-0"
