"""systemd's notify protocol in pure Python: READY=1, STATUS=, WATCHDOG=1, STOPPING=1.

Messages are datagrams to ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace).
Without the variable every call is a no-op, so the agent runs the same outside systemd. The
watchdog ping is sent from the event loop itself, so a loop that hangs stops pinging and systemd
(``WatchdogSec=``) restarts the service.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)


class Notifier:
    """Sends notify messages to systemd, if it is listening."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None = None
        self._sock: socket.socket | None = None
        if address:
            self._address = "\0" + address[1:] if address.startswith("@") else address
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, *fields: str) -> None:
        if self._sock is None or self._address is None:
            return
        try:
            self._sock.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            log.debug("sd_notify failed: %s", exc)

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=Stopping: draining sinks and writing checkpoints")

    def reloading(self) -> None:
        self.send("RELOADING=1", "STATUS=Reloading the config")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval() -> float | None:
    """Half of ``$WATCHDOG_USEC`` in seconds (when it is meant for this process), else None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1e6 / 2
    except ValueError:
        return None


async def heartbeat(
    notifier: Notifier, stopping: asyncio.Event, status: Callable[[], str], interval: float | None
) -> None:
    """Ping the watchdog (if set) and refresh STATUS= until ``stopping`` is set."""
    period = interval if interval is not None else 10.0
    period = min(period, 10.0)
    while not stopping.is_set():
        fields = [f"STATUS={status()}"]
        if interval is not None:
            fields.insert(0, "WATCHDOG=1")
        notifier.send(*fields)
        try:
            await asyncio.wait_for(stopping.wait(), period)
        except TimeoutError:
            pass
