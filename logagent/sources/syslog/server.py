"""The syslog receiver: UDP and unix datagram sockets, TCP (optionally TLS) and unix stream servers.

Datagram sockets are read by the source task itself: on each wake-up it drains up to
``max_datagrams_per_batch`` datagrams (one ``recvmsg`` each, no callback per datagram) into one
batch and emits it. While the emit blocks (sinks behind), nothing is read and the kernel's
receive buffer absorbs the burst; what overflows it is dropped by the kernel and counted from the
``SO_RXQ_OVFL`` ancillary data (UDP has no way to push back on a sender).

Stream connections each run a task that reads a chunk, splits it into frames
(:mod:`~logagent.sources.syslog.framing`) and emits them as one batch; while the emit blocks the
connection is not read, so TCP flow control pushes back on the sender.

There is no checkpoint for network input: a message is delivered once it has been received, and
messages held in memory are lost if the agent is killed (a graceful stop delivers them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import stat
import struct
from typing import Any

from logagent.components import Source, SourceContext
from logagent.event import FLAG_INVALID_UTF8, FLAG_TRUNCATED, FLAG_UNTERMINATED, Batch
from logagent.sources.syslog.config import SyslogSourceConfig
from logagent.sources.syslog.framing import FrameDecoder
from parsers.syslog import SyslogParser

log = logging.getLogger(__name__)

#: Linux: ancillary data with the socket's cumulative count of datagrams dropped (socket(7)).
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
_U32 = struct.Struct("=I")
STREAM_READ_BYTES = 256 * 1024
#: How often a quiet datagram socket looks up its drop count in /proc/net/udp.
DROP_CHECK_SECS = 1.0
_FLAG_NAMES = (
    (FLAG_TRUNCATED, "truncated"),
    (FLAG_INVALID_UTF8, "invalid_utf8"),
    (FLAG_UNTERMINATED, "unterminated"),
)


def decode_frames(frames: list[bytes], flags: list[int]) -> tuple[list[str], list[int] | None]:
    """Frames as text (invalid UTF-8 replaced and flagged); flags is None when all are 0."""
    lines: list[str] = []
    any_flag = False
    for i, frame in enumerate(frames):
        try:
            lines.append(frame.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(frame.decode("utf-8", "replace"))
            flags[i] |= FLAG_INVALID_UTF8
        if flags[i]:
            any_flag = True
    return lines, (flags if any_flag else None)


class DatagramReceiver:
    """A bound datagram socket drained in bursts, counting kernel drops (SO_RXQ_OVFL)."""

    def __init__(self, sock: socket.socket, max_bytes: int) -> None:
        self.sock = sock
        self.max_bytes = max_bytes
        self.kernel_drops = 0  # cumulative, as the kernel reports it
        self._ancbuf = socket.CMSG_SPACE(_U32.size)
        self._inode = os.fstat(sock.fileno()).st_ino
        self._proc_tables = (
            ("/proc/net/udp", "/proc/net/udp6") if sock.family in (socket.AF_INET, socket.AF_INET6) else ()
        )

    def proc_drops(self) -> int:
        """Drops not yet counted, from /proc/net/udp{,6} (for when no datagram follows a drop).

        SO_RXQ_OVFL reports the count only with the next datagram queued; when a burst ends in
        drops, this table (the same kernel counter) shows them while the socket is quiet.
        """
        needle = f" {self._inode} "
        for table in self._proc_tables:
            try:
                with open(table, encoding="ascii") as f:
                    for line in f:
                        if needle in line:
                            total = int(line.split()[-1])
                            new = max(0, total - self.kernel_drops)
                            self.kernel_drops = max(total, self.kernel_drops)
                            return new
            except (OSError, ValueError):
                continue
        return 0

    def drain(self, limit: int) -> tuple[list[bytes], list[int], list[Any], int]:
        """Up to ``limit`` datagrams without blocking: (data, flags, peers, new kernel drops)."""
        frames: list[bytes] = []
        flags: list[int] = []
        peers: list[Any] = []
        recvmsg = self.sock.recvmsg
        size = self.max_bytes
        anc = self._ancbuf
        drops = self.kernel_drops
        for _ in range(limit):
            try:
                data, ancdata, msg_flags, addr = recvmsg(size, anc)
            except (BlockingIOError, InterruptedError):
                break
            for level, kind, value in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(value) >= 4:
                    drops = max(drops, _U32.unpack_from(value)[0])
            # One message per datagram (RFC 5426); trailing newlines/NULs are framing noise.
            data = data.rstrip(b"\n\r\0")
            if not data and not msg_flags & socket.MSG_TRUNC:
                continue
            frames.append(data)
            flags.append(FLAG_TRUNCATED if msg_flags & socket.MSG_TRUNC else 0)
            peers.append(addr)
        new = drops - self.kernel_drops
        self.kernel_drops = drops
        return frames, flags, peers, new


def open_datagram_socket(cfg: SyslogSourceConfig) -> socket.socket:
    """Bind the UDP or unix datagram socket, with a large receive buffer and drop counting."""
    addr = cfg.address
    if addr.scheme == "udp":
        family = socket.AF_INET6 if ":" in addr.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bind_to: Any = (addr.host, addr.port)
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        _remove_stale_socket(addr.path)
        bind_to = addr.path
    try:
        _set_rcvbuf(sock, cfg.receive_buffer_bytes)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
        sock.bind(bind_to)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _set_rcvbuf(sock: socket.socket, size: int) -> None:
    # SO_RCVBUFFORCE (root / CAP_NET_ADMIN) may exceed net.core.rmem_max; else the capped one.
    force = getattr(socket, "SO_RCVBUFFORCE", 33)
    try:
        sock.setsockopt(socket.SOL_SOCKET, force, size)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def _remove_stale_socket(path: str) -> None:
    """Remove a socket file left by a previous run (never a regular file)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(st.st_mode):
        os.unlink(path)


def _peer_text(addr: Any) -> str | None:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = addr[0]
        return f"[{host}]:{addr[1]}" if ":" in host else f"{host}:{addr[1]}"
    if isinstance(addr, str) and addr:
        return addr
    if isinstance(addr, bytes) and addr:
        return addr.decode("utf-8", "replace")
    return None


class SyslogSource(Source):
    config: SyslogSourceConfig

    def __init__(self, name: str, config: SyslogSourceConfig, ctx: SourceContext) -> None:
        super().__init__(name, config, ctx)
        # The project's syslog parser (RFC 5424 / 3164, detected per message); one per source, as
        # it caches resolved year-less stamps.
        self.parser = SyslogParser(tz=config.timezone) if config.parser is None else None
        self.labels = dict(config.labels)
        #: The bound address (port 0 resolved), once started.
        self.bound: Any = None
        self.connections: set[asyncio.Task[None]] = set()
        m = ctx.metrics
        self._m_lines = m.lines_read.labels(name)
        self._m_bytes = m.bytes_read.labels(name)
        self._m_malformed = m.parse_errors.labels(name, "syslog")
        self._m_drops = m.events_dropped.labels(name, "receive_buffer_full")
        self._m_conns = m.source_connections.labels(name)
        self._flag_counters = {bit: m.lines_flagged.labels(name, fname) for bit, fname in _FLAG_NAMES}

    # -- batches ---------------------------------------------------------------------------

    def make_batch(self, frames: list[bytes], flags: list[int], peers: list[str | None]) -> Batch:
        """Decode, parse and count frames; one peer per frame (or one for all)."""
        lines, line_flags = decode_frames(frames, flags)
        nbytes = sum(map(len, frames))
        batch = Batch(source=self.name, lines=lines, labels=self.labels, flags=line_flags, nbytes=nbytes)
        if len(peers) == 1 and len(lines) > 1:
            peer = peers[0]
            batch.fields = [{"peer": peer} if peer else {}] * len(lines)
        else:
            batch.fields = [{"peer": p} if p else {} for p in peers]
        if self.parser is not None:
            # Parsed here (the raw frame stays the line); with `parser` set, that parser runs instead.
            records = self.parser.parse_batch(lines)
            bad = sum(1 for r in records if r.error is not None)
            if bad:
                self._m_malformed.inc(bad)
            batch.records = records
        self._m_lines.inc(len(lines))
        self._m_bytes.inc(nbytes)
        if line_flags is not None:
            for bit, counter in self._flag_counters.items():
                hits = sum(1 for f in line_flags if f & bit)
                if hits:
                    counter.inc(hits)
        return batch

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            if self.config.address.stream:
                await self._run_stream()
            else:
                await self._run_datagram()
        finally:
            self.ctx.started.set()

    def _bind_failed(self, exc: OSError) -> None:
        log.error("Syslog source %s cannot listen on %s: %s.", self.name, self.config.listen, exc)
        self.ctx.metrics.source_errors.labels(self.name, "listen_failed").inc()

    async def _run_datagram(self) -> None:
        cfg = self.config
        ctx = self.ctx
        try:
            sock = open_datagram_socket(cfg)
        except OSError as exc:
            self._bind_failed(exc)
            return
        loop = asyncio.get_running_loop()
        receiver = DatagramReceiver(sock, cfg.max_message_bytes)
        self.bound = sock.getsockname()
        log.info("Syslog source %s listening on %s.", self.name, self._describe())
        ctx.started.set()
        stop_wait = asyncio.ensure_future(ctx.stopping.wait())
        loop_time = loop.time
        next_proc_check = 0.0
        try:
            while not ctx.stopping.is_set():
                frames, flags, peers, drops = receiver.drain(cfg.max_datagrams_per_batch)
                if not frames and loop_time() >= next_proc_check:
                    # Quiet socket: pick up drops at the end of a burst (at most once a second).
                    drops += receiver.proc_drops()
                    next_proc_check = loop_time() + DROP_CHECK_SECS
                if drops:
                    self._m_drops.inc(drops)
                    log.warning(
                        "Syslog source %s: the kernel dropped %d datagrams (receive buffer full).",
                        self.name,
                        drops,
                    )
                if frames:
                    await ctx.emit(self.make_batch(frames, flags, [_peer_text(p) for p in peers]))
                    # A flood must not starve the sinks and the other sources of the loop.
                    await asyncio.sleep(0)
                    continue
                readable = loop.create_future()
                loop.add_reader(sock.fileno(), _set_once, readable)
                try:
                    await asyncio.wait(
                        {readable, stop_wait}, timeout=DROP_CHECK_SECS, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    loop.remove_reader(sock.fileno())
        finally:
            stop_wait.cancel()
            sock.close()
            if cfg.address.scheme == "unixgram":
                with contextlib.suppress(OSError):
                    os.unlink(cfg.address.path)

    def _describe(self) -> str:
        addr = self.config.address
        if addr.scheme in ("unix", "unixgram"):
            return f"{addr.scheme}://{addr.path}"
        host, port = self.bound[0], self.bound[1]
        scheme = "tls" if self.config.tls_cert_file else addr.scheme
        return f"{scheme}://{host}:{port}"

    def _ssl_context(self) -> ssl.SSLContext | None:
        cfg = self.config
        if cfg.tls_cert_file is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(cfg.tls_cert_file), str(cfg.tls_key_file))
        if cfg.tls_client_ca_file is not None:
            context.load_verify_locations(str(cfg.tls_client_ca_file))
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    async def _run_stream(self) -> None:
        cfg = self.config
        ctx = self.ctx
        addr = cfg.address
        try:
            tls = self._ssl_context()
        except (OSError, ssl.SSLError) as exc:
            log.error("Syslog source %s cannot load its TLS certificate or key: %s.", self.name, exc)
            ctx.metrics.source_errors.labels(self.name, "tls_config").inc()
            return
        try:
            if addr.scheme == "tcp":
                server = await asyncio.start_server(
                    self._handle,
                    addr.host,
                    addr.port,
                    ssl=tls,
                    # A client that never finishes the handshake holds a socket: bound it too.
                    ssl_handshake_timeout=min(cfg.idle_timeout_secs, 60.0) if tls else None,
                    limit=STREAM_READ_BYTES,
                    reuse_address=True,
                )
            else:
                _remove_stale_socket(addr.path)
                server = await asyncio.start_unix_server(self._handle, addr.path, limit=STREAM_READ_BYTES)
        except OSError as exc:
            self._bind_failed(exc)
            return
        self.bound = server.sockets[0].getsockname()
        log.info("Syslog source %s listening on %s.", self.name, self._describe())
        ctx.started.set()
        try:
            await ctx.stopping.wait()
        finally:
            server.close()
            # Connections see the stop, hand over what they read and return.
            if self.connections:
                await asyncio.gather(*self.connections, return_exceptions=True)
            await server.wait_closed()
            if addr.scheme == "unix":
                with contextlib.suppress(OSError):
                    os.unlink(addr.path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self.connections) >= self.config.max_connections:
            self.ctx.metrics.source_errors.labels(self.name, "too_many_connections").inc()
            log.warning(
                "Syslog source %s: refusing a connection from %s (max_connections = %d).",
                self.name,
                _peer_text(writer.get_extra_info("peername")) or "a local peer",
                self.config.max_connections,
            )
            writer.close()
            return
        self.connections.add(task)
        self._m_conns.inc()
        try:
            await self._read_connection(reader, writer)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            log.info("Syslog source %s: connection ended with %s.", self.name, exc)
        finally:
            self.connections.discard(task)
            self._m_conns.dec()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cfg = self.config
        ctx = self.ctx
        peer = [_peer_text(writer.get_extra_info("peername"))]
        decoder = FrameDecoder(cfg.max_message_bytes)
        stop_wait = asyncio.ensure_future(ctx.stopping.wait())
        try:
            while True:
                read = asyncio.ensure_future(reader.read(STREAM_READ_BYTES))
                done, _ = await asyncio.wait(
                    {read, stop_wait}, timeout=cfg.idle_timeout_secs, return_when=asyncio.FIRST_COMPLETED
                )
                if read not in done:
                    read.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await read
                    if not done:
                        ctx.metrics.source_errors.labels(self.name, "idle_timeout").inc()
                        log.info(
                            "Syslog source %s: closing a connection idle for %.0fs.",
                            self.name,
                            cfg.idle_timeout_secs,
                        )
                    break
                data = read.result()
                if not data:
                    break
                frames, flags = decoder.feed(data)
                if frames:
                    await ctx.emit(self.make_batch(frames, flags, peer))
        finally:
            stop_wait.cancel()
        # End of stream (or stop): a partial last frame is shipped flagged "unterminated".
        frames, flags = decoder.finish()
        if frames:
            await ctx.emit(self.make_batch(frames, flags, peer))


def _set_once(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
