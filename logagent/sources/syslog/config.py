"""``type = "syslog"``: the syslog receiver's config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from logagent.config.model import SourceConfig

if TYPE_CHECKING:
    from logagent.components import Source, SourceContext

SCHEMES = ("udp", "tcp", "unix", "unixgram")


@dataclass(frozen=True)
class Listen:
    """A parsed ``listen`` address."""

    scheme: Literal["udp", "tcp", "unix", "unixgram"]
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def stream(self) -> bool:
        return self.scheme in ("tcp", "unix")


def parse_listen(value: str) -> Listen:
    """``udp://HOST:PORT``, ``tcp://HOST:PORT``, ``unix:///path`` (stream), ``unixgram:///path``."""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in SCHEMES:
        raise ValueError(
            f"expected udp://HOST:PORT, tcp://HOST:PORT, unix:///PATH or unixgram:///PATH, got {value!r}"
        )
    if scheme in ("unix", "unixgram"):
        if not rest.startswith("/"):
            raise ValueError(f"{scheme}:// needs an absolute socket path, e.g. {scheme}:///run/logagent.sock")
        return Listen(scheme, path=rest)  # type: ignore[arg-type]
    parts = urlsplit(f"//{rest}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"expected {scheme}://HOST:PORT (port 0 picks a free one), got {value!r}")
    return Listen(scheme, host=parts.hostname, port=port)  # type: ignore[arg-type]


class SyslogSourceConfig(SourceConfig):
    """Receive syslog over UDP, TCP (optionally TLS, RFC 5425) or a unix socket."""

    type: Literal["syslog"] = "syslog"
    #: Where to listen: ``udp://HOST:PORT``, ``tcp://HOST:PORT``, ``unix:///PATH`` or ``unixgram:///PATH``.
    listen: str
    #: Longer messages are cut to this size, flagged "truncated" and counted (RFC 5424 receivers
    #: must accept 480 bytes and should accept 2048).
    max_message_bytes: int = Field(default=64 * 1024, ge=480, le=16 * 1024 * 1024)
    #: Stream connections accepted at once; more are closed at once and counted.
    max_connections: int = Field(default=256, gt=0)
    #: A stream connection silent for this long is closed.
    idle_timeout_secs: float = Field(default=300.0, gt=0)
    #: SO_RCVBUF for datagram sockets (the kernel may cap it at net.core.rmem_max; root can exceed it).
    receive_buffer_bytes: int = Field(default=8 * 1024 * 1024, ge=4096)
    #: Datagrams read per wake-up (one batch).
    max_datagrams_per_batch: int = Field(default=1024, gt=0)
    #: Zone of stamps that carry none (RFC 3164): an IANA name, a fixed offset, or "local".
    timezone: str = "UTC"
    #: TLS (RFC 5425) for tcp://: certificate chain and key files (PEM).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    #: With TLS: require client certificates signed by this CA bundle.
    tls_client_ca_file: Path | None = None

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        from parsers.timestamps import Zone

        try:
            Zone(value)
        except ValueError:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as Europe/Berlin, an offset such as "
                "+02:00, or local)"
            ) from None
        return value

    @model_validator(mode="after")
    def _check_tls(self) -> SyslogSourceConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_client_ca_file needs tls_cert_file and tls_key_file")
        if self.tls_cert_file is not None and self.address.scheme != "tcp":
            raise ValueError("tls_cert_file / tls_key_file (TLS) work only with tcp://")
        return self

    @property
    def address(self) -> Listen:
        return parse_listen(self.listen)

    def build(self, name: str, ctx: SourceContext) -> Source:
        from logagent.sources.syslog.server import SyslogSource

        return SyslogSource(name, self, ctx)
