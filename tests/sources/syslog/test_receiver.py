"""The syslog receiver in the real agent: the real `logger` client, raw sockets, UDP/TCP/unix/TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from logagent import registry
from logagent.buffer import Inbox
from logagent.components import Sink, SinkContext
from logagent.config import SinkConfig, load_config_text
from logagent.errors import LogagentError
from tests.conftest import require_tool
from tests.sources.syslog.agent_harness import InProcessAgent, file_sink_config


def syslog_config(tmp_path: Path, listen: str, **opts: object) -> str:
    extra = "".join(f"{k} = {v}\n" for k, v in opts.items())
    return (
        file_sink_config(tmp_path / "data", tmp_path / "out")
        + f'[sources.s]\ntype = "syslog"\nlisten = "{listen}"\n{extra}'
    )


def port_of(agent: InProcessAgent) -> int:
    return agent.source("s").bound[1]


async def logger(*args: str) -> None:
    """Run the real util-linux logger client (blocking call off the loop)."""
    exe = require_tool("logger")
    await asyncio.to_thread(subprocess.run, [exe, *args], check=True, timeout=20, capture_output=True)


async def test_logger_udp_rfc3164_and_rfc5424(tmp_path: Path) -> None:
    async with InProcessAgent(syslog_config(tmp_path, "udp://127.0.0.1:0"), tmp_path / "out") as agent:
        port = str(port_of(agent))
        common = ["--server", "127.0.0.1", "--port", port, "--udp", "-t", "demo"]
        await logger(*common, "--rfc3164", "-p", "local0.warning", "old style")
        await agent.wait_events(1)
        await logger(*common, "--rfc5424", "-p", "auth.err", "--msgid", "M1", "new style")
        events = await agent.wait_events(2)
    old, new = events
    assert old["message"] == "old style" and old["level"] == "warning"
    assert old["fields"]["facility"] == "local0" and old["fields"]["app"] == "demo"
    assert old["fields"]["host"] and old["fields"]["peer"].startswith("127.0.0.1:")
    assert old["line"].startswith("<132>")
    assert new["message"] == "new style" and new["level"] == "error" and new["fields"]["msgid"] == "M1"
    assert new["fields"]["structured_data"]["timeQuality"]["tzKnown"] == "1"
    assert "parse_error" not in old and "parse_error" not in new


@pytest.mark.parametrize("framing", [[], ["--octet-count"]], ids=["lf", "octet-count"])
async def test_logger_tcp_both_framings(tmp_path: Path, framing: list[str]) -> None:
    async with InProcessAgent(syslog_config(tmp_path, "tcp://127.0.0.1:0"), tmp_path / "out") as agent:
        common = ["--server", "127.0.0.1", "--port", str(port_of(agent)), "--tcp", "-t", "tcpdemo", *framing]
        await logger(*common, "--rfc5424", "-p", "daemon.notice", "first")
        await logger(*common, "--rfc3164", "-p", "user.debug", "second")
        events = await agent.wait_events(2)
    assert [(e["message"], e["level"], e["fields"]["app"]) for e in events] == [
        ("first", "notice", "tcpdemo"),
        ("second", "debug", "tcpdemo"),
    ]


async def test_malformed_and_oversized_frames_are_counted_and_kept_raw(tmp_path: Path) -> None:
    cfg = syslog_config(tmp_path, "tcp://127.0.0.1:0", max_message_bytes=600)
    big = "<13>1 - h app - - - " + "x" * 2000
    stream = (
        b"not syslog at all\n"
        + f"{len(big)} {big}".encode()  # octet-counted, oversized: cut, then the rest skipped
        + b"<13>1 - h app - - - after-octet\n"
        + big.encode()
        + b"\n"  # LF-framed, oversized: cut, discarded to the LF
        + b"<999>bad pri\n"
        + b"<13>1 - h app - - - bad utf8 \xff\n"
        + b"<13>1 - h app - - - last"  # no LF before the connection closes
    )
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        with socket.create_connection(("127.0.0.1", port_of(agent))) as sock:
            sock.sendall(stream)
        events = await agent.wait_events(7)
        malformed = agent.metric("logagent_parse_errors_total", source="s", parser="syslog")
        truncated = agent.metric("logagent_lines_flagged_total", source="s", flag="truncated")
    lines = [e["line"] for e in events]
    assert lines[0] == "not syslog at all" and "syslog" in events[0]["parse_error"]
    assert len(lines[1]) == 600 and events[1]["flags"] == ["truncated"]
    assert events[2]["message"] == "after-octet"
    assert len(lines[3]) == 600 and events[3]["flags"] == ["truncated"]
    assert "syslog" in events[4]["parse_error"] and lines[4] == "<999>bad pri"
    assert events[5]["message"] == "bad utf8 \ufffd" and events[5]["flags"] == ["invalid_utf8"]
    assert events[6]["message"] == "last" and events[6]["flags"] == ["unterminated"]
    assert len(events) == 7
    assert malformed == 2 and truncated == 2


async def test_rfc3164_stamps_use_the_configured_zone(tmp_path: Path) -> None:
    cfg = syslog_config(tmp_path, "udp://127.0.0.1:0", timezone='"Europe/Berlin"')
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.sendto(b"<38>Jul  5 10:00:01 gw sshd[812]: Accepted key", ("127.0.0.1", port_of(agent)))
        (event,) = await agent.wait_events(1)
    assert event["ts"].endswith("-07-05T08:00:01.000000000Z")  # CEST is UTC+2
    assert event["fields"]["host"] == "gw" and event["fields"]["app"] == "sshd"
    assert event["fields"]["pid"] == 812 and event["fields"]["facility"] == "auth"
    assert event["message"] == "Accepted key" and event["level"] == "info"


async def test_ten_thousand_messages_over_one_tcp_connection_without_loss(tmp_path: Path) -> None:
    n = 10_000
    msgs = [f"<134>1 2024-01-01T00:00:00Z h app 1 - - message {i:05d}".encode() for i in range(n)]
    payload = b"".join(b"%d %s" % (len(m), m) for m in msgs)
    async with InProcessAgent(syslog_config(tmp_path, "tcp://127.0.0.1:0"), tmp_path / "out") as agent:
        port = port_of(agent)

        def send() -> None:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(payload)

        await asyncio.to_thread(send)
        events = await agent.wait_events(n, timeout=60)
    assert [e["message"] for e in events] == [f"message {i:05d}" for i in range(n)]
    assert all(e["level"] == "info" for e in events)


async def test_unix_stream_and_datagram_sockets(tmp_path: Path) -> None:
    stream_path = tmp_path / "s.sock"
    dgram_path = tmp_path / "d.sock"
    cfg = syslog_config(tmp_path, f"unix://{stream_path}") + (
        f'[sources.d]\ntype = "syslog"\nlisten = "unixgram://{dgram_path}"\n'
    )
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(stream_path))
            sock.sendall(b"<13>Jan  1 00:00:00 h streamer: via stream\n")
        await agent.wait_events(1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"<13>Jan  1 00:00:00 h dgrammer: via datagram", str(dgram_path))
        events = await agent.wait_events(2)
    assert [(e["source"], e["message"]) for e in events] == [("s", "via stream"), ("d", "via datagram")]
    assert "peer" not in events[0]["fields"]  # unnamed unix peers have no address
    assert not stream_path.exists() and not dgram_path.exists()  # removed on stop


async def test_connections_beyond_the_limit_are_closed_and_counted(tmp_path: Path) -> None:
    cfg = syslog_config(tmp_path, "tcp://127.0.0.1:0", max_connections=2)
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        port = port_of(agent)
        first = socket.create_connection(("127.0.0.1", port))
        second = socket.create_connection(("127.0.0.1", port))
        first.sendall(b"<13>1 - h a - - - one\n")
        second.sendall(b"<13>1 - h a - - - two\n")
        await agent.wait_events(2)
        assert agent.metric("logagent_source_connections", source="s") == 2
        third = socket.create_connection(("127.0.0.1", port))
        third.settimeout(10)
        assert await asyncio.to_thread(third.recv, 10) == b""  # closed by the agent at once
        assert agent.metric("logagent_source_errors_total", source="s", reason="too_many_connections") == 1
        # The accepted ones still work.
        first.sendall(b"<13>1 - h a - - - three\n")
        events = await agent.wait_events(3)
        for s in (first, second, third):
            s.close()
    assert [e["message"] for e in events] == ["one", "two", "three"]


async def test_idle_connections_are_closed(tmp_path: Path) -> None:
    cfg = syslog_config(tmp_path, "tcp://127.0.0.1:0", idle_timeout_secs=0.3)
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        with socket.create_connection(("127.0.0.1", port_of(agent))) as quiet:
            quiet.sendall(b"<13>1 - h a - - - then silence\n")
            quiet.settimeout(10)
            assert await asyncio.to_thread(quiet.recv, 10) == b""  # closed by the agent
        await agent.wait_metric("logagent_source_errors_total", 1, source="s", reason="idle_timeout")
        await agent.wait_events(1)
        assert agent.metric("logagent_source_connections", source="s") == 0


async def test_tls_with_certificate_and_key(tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    cfg = syslog_config(tmp_path, "tcp://127.0.0.1:0", tls_cert_file=f'"{cert}"', tls_key_file=f'"{key}"')
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        port = port_of(agent)
        context = ssl.create_default_context(cafile=str(cert))

        def send() -> None:
            with socket.create_connection(("127.0.0.1", port)) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    msg = b"<165>1 2024-01-01T00:00:00Z h app - - - over tls"
                    tls.sendall(b"%d %s" % (len(msg), msg))

        await asyncio.to_thread(send)
        events = await agent.wait_events(1)
        # A plain-text client is refused by the TLS handshake and sends nothing through.
        with socket.create_connection(("127.0.0.1", port)) as plain:
            plain.sendall(b"<13>1 - h a - - - plain\n")
            plain.settimeout(10)
            await asyncio.to_thread(plain.recv, 100)
    assert [e["message"] for e in events] == ["over tls"]
    assert len(agent.events()) == 1


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('listen = "http://x:1"', "listen"),
        ('listen = "tcp://127.0.0.1"', "listen"),
        ('listen = "unix://relative"', "listen"),
        ('listen = "udp://127.0.0.1:1"\ntimezone = "Mars/Olympus"', "timezone"),
        ('listen = "udp://127.0.0.1:1"\nmax_message_bytes = 10', "max_message_bytes"),
    ],
)
def test_config_errors_name_the_key(line: str, key: str) -> None:
    with pytest.raises(LogagentError) as err:
        load_config_text(f'[sources.s]\ntype = "syslog"\n{line}\n[sinks.o]\ntype = "stdout"\n')
    assert f"sources.s.{key}" in str(err.value)


def test_tls_needs_tcp_and_both_files() -> None:
    for extra in ('listen = "udp://127.0.0.1:1"\ntls_cert_file = "/c"\ntls_key_file = "/k"',
                  'listen = "tcp://127.0.0.1:1"\ntls_cert_file = "/c"'):  # fmt: skip
        with pytest.raises(LogagentError) as err:
            load_config_text(f'[sources.s]\ntype = "syslog"\n{extra}\n[sinks.o]\ntype = "stdout"\n')
        assert "sources.s" in str(err.value) and "tls" in str(err.value)


def test_udp_receive_buffer_drops_are_counted_from_the_kernel() -> None:
    from logagent.sources.syslog.server import DatagramReceiver, open_datagram_socket

    cfg = load_config_text(
        '[sources.s]\ntype = "syslog"\nlisten = "udp://127.0.0.1:0"\nreceive_buffer_bytes = 4096\n'
        '[sinks.o]\ntype = "stdout"\n'
    ).sources["s"]
    sock = open_datagram_socket(cfg)
    try:
        sent = 300
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            for i in range(sent):
                client.sendto(b"<13>1 - h a - - - %04d " % i + b"p" * 400, sock.getsockname())
            receiver = DatagramReceiver(sock, cfg.max_message_bytes)

            def drain_all() -> tuple[int, int]:
                got = drops = 0
                while True:
                    frames, _flags, _peers, new = receiver.drain(64)
                    got, drops = got + len(frames), drops + new
                    if not frames:
                        return got, drops

            got, drops = drain_all()
            # Drops at the end of a burst show in /proc/net/udp while the socket is quiet...
            drops += receiver.proc_drops()
            assert drops > 0, "a 4 KiB buffer cannot hold 300 datagrams"
            assert got + drops == sent
            # ...and SO_RXQ_OVFL on the next datagram reports the same total: not counted twice.
            client.sendto(b"<13>1 - h a - - - after", sock.getsockname())
            sent += 1
            more, drops2 = drain_all()
            got, drops = got + more, drops + drops2
            assert receiver.kernel_drops == drops
            # A second burst, now counted by SO_RXQ_OVFL alone (no /proc lookup).
            for i in range(300):
                client.sendto(b"<13>1 - h a - - - %04d " % i + b"q" * 400, sock.getsockname())
            got2, _ = drain_all()
            client.sendto(b"<13>1 - h a - - - after", sock.getsockname())
            _, rxq_drops = drain_all()
            assert rxq_drops > 0 and got2 + rxq_drops == 300
        assert drops > 0, "a 4 KiB buffer cannot hold 300 datagrams"
        assert got + drops == sent
    finally:
        sock.close()


async def test_udp_burst_is_read_in_batches_and_every_datagram_accounted_for(tmp_path: Path) -> None:
    async with InProcessAgent(syslog_config(tmp_path, "udp://127.0.0.1:0"), tmp_path / "out") as agent:
        port = port_of(agent)
        sent = 5000

        def burst() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                for i in range(sent):
                    client.sendto(b"<13>1 - h a - - - burst %05d" % i, ("127.0.0.1", port))

        await asyncio.to_thread(burst)
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            read = agent.metric("logagent_lines_read_total", source="s")
            dropped = agent.metric(
                "logagent_events_dropped_total", component="s", reason="receive_buffer_full"
            )
            if read + dropped >= sent or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        events = await agent.wait_events(int(read))
    assert read + dropped == sent
    assert len(events) == read
    messages = [e["message"] for e in events]
    assert messages == sorted(messages)  # one socket, read in order


class GateSinkConfig(SinkConfig):
    """A sink that delivers only while its gate is open (a stalled endpoint)."""

    type: str = "gate"

    def build(self, name: str, ctx: SinkContext) -> Sink:
        return GateSink(name, self, ctx)


class GateSink(Sink):
    gate: asyncio.Event
    delivered: list[str]

    async def run(self, inbox: Inbox) -> None:
        while (batch := await inbox.get()) is not None:
            await GateSink.gate.wait()
            GateSink.delivered.extend(batch.records[i].message or "" for i in range(len(batch)))
            if batch.ack is not None:
                batch.ack.done()


async def test_tcp_backpressure_stops_reading_while_the_sink_is_stalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.SINKS, "gate", f"{__name__}:GateSinkConfig")
    GateSink.gate = asyncio.Event()
    GateSink.delivered = []
    cfg = f"""
[agent]
data_dir = "{tmp_path / "data"}"
listen = ""
[sources.s]
type = "syslog"
listen = "tcp://127.0.0.1:0"
[sinks.slow]
type = "gate"
buffer = {{ max_events = 1000, max_bytes = 1048576 }}
"""
    total = 150_000
    payload = b"".join(b"<13>1 - h a - - - m%06d\n" % i for i in range(total))  # ~4 MB
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        port = port_of(agent)

        def send() -> None:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(payload)

        sender = asyncio.create_task(asyncio.to_thread(send))
        # With the sink stalled, the agent stops reading once the bounded buffer is full: the
        # count settles far below the total (the rest waits in the kernel or in the sender).
        last, stable_since = -1.0, asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - stable_since < 0.5:
            read = agent.metric("logagent_lines_read_total", source="s")
            if read != last:
                last, stable_since = read, asyncio.get_running_loop().time()
            await asyncio.sleep(0.05)
        assert 0 < last < total // 2, f"{last} lines read with the sink stalled"
        GateSink.gate.set()
        await asyncio.wait_for(sender, 60)
        deadline = asyncio.get_running_loop().time() + 60
        while len(GateSink.delivered) < total and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
    assert GateSink.delivered == [f"m{i:06d}" for i in range(total)]


async def test_a_configured_parser_replaces_the_syslog_one(tmp_path: Path) -> None:
    cfg = syslog_config(tmp_path, "udp://127.0.0.1:0", parser='"json"')
    async with InProcessAgent(cfg, tmp_path / "out") as agent:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.sendto(b'{"msg": "from an app", "level": "warn"}', ("127.0.0.1", port_of(agent)))
        (event,) = await agent.wait_events(1)
    assert "parse_error" not in event and "facility" not in event["fields"]
    assert event["fields"]["peer"].startswith("127.0.0.1:")
    assert event["line"] == '{"msg": "from an app", "level": "warn"}'


async def test_ipv6_listener_and_peer_address(tmp_path: Path) -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    async with InProcessAgent(syslog_config(tmp_path, "udp://[::1]:0"), tmp_path / "out") as agent:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as client:
            client.sendto(b"<13>1 - h a - - - over v6", ("::1", port_of(agent)))
            client_port = client.getsockname()[1]
        (event,) = await agent.wait_events(1)
    assert event["fields"]["peer"] == f"[::1]:{client_port}" and event["message"] == "over v6"


async def test_an_address_in_use_is_reported_and_other_sources_keep_running(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = syslog_config(tmp_path, f"tcp://127.0.0.1:{port}") + (
            '[sources.ok]\ntype = "syslog"\nlisten = "udp://127.0.0.1:0"\n'
        )
        async with InProcessAgent(cfg, tmp_path / "out") as agent:
            assert agent.metric("logagent_source_errors_total", source="s", reason="listen_failed") == 1
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.sendto(b"<13>1 - h a - - - fine", ("127.0.0.1", agent.source("ok").bound[1]))
            (event,) = await agent.wait_events(1)
    assert event["source"] == "ok" and event["message"] == "fine"
