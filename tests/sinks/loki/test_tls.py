"""TLS: the server certificate is verified by default; ``ca_file`` trusts a private CA."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from logagent.components import SinkUnavailable
from logagent.event import Batch
from tests.conftest import require_tool
from tests.sinks.loki.conftest import Harness, sink_config, wait_until
from tests.sinks.loki.receiver import start_receiver


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = require_tool("openssl")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
         "-keyout", str(key), "-out", str(crt)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return crt, key


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


async def test_https_with_ca_file_delivers(cert: tuple[Path, Path], data_dir: Path) -> None:
    async with start_receiver(ssl_context=server_context(cert)) as rx:
        assert rx.url.startswith("https://")
        h = Harness(sink_config(rx.url, labels={"job": "tls"}, ca_file=str(cert[0])), data_dir).start()
        await h.sink.healthcheck()
        await h.feed(Batch(source="app", lines=["over tls"]))
        await h.close()
        assert rx.lines() == ["over tls"]


async def test_unknown_ca_is_refused_by_default_and_nothing_acked(
    cert: tuple[Path, Path], data_dir: Path
) -> None:
    async with start_receiver(ssl_context=server_context(cert)) as rx:
        h = Harness(sink_config(rx.url, labels={"job": "tls"}), data_dir)
        with pytest.raises(SinkUnavailable, match=r"(?i)certificate"):
            await h.sink.healthcheck()
        h.start()
        await h.feed(Batch(source="app", lines=["kept"]))
        await wait_until(
            lambda: h.value("logagent_sink_errors_total", sink="loki", reason="connection") >= 3,
            what="refused handshakes",
        )
        assert h.order.committed is None and rx.entry_count() == 0
        await h.cancel()


async def test_tls_verify_false_skips_verification(cert: tuple[Path, Path], data_dir: Path) -> None:
    async with start_receiver(ssl_context=server_context(cert)) as rx:
        h = Harness(sink_config(rx.url, labels={"job": "tls"}, tls_verify=False), data_dir).start()
        await h.feed(Batch(source="app", lines=["unverified"]))
        await h.close()
        assert rx.lines() == ["unverified"]
