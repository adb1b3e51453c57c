"""Authentication logs (auth.log / secure): sshd, sudo, su and PAM messages on a syslog header.

The syslog header is parsed by :class:`parsers.syslog.SyslogParser`; :func:`enrich` reads the
program's message into fields (``event``, ``user``, ``remote_addr``, ``remote_port``,
``auth_method``, sudo's ``tty``/``pwd``/``run_as``/``command``...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsers.base import LineParser, Record
from parsers.syslog import SyslogParser

_SSHD: tuple[tuple[re.Pattern[str], str, tuple[str, ...], str], ...] = tuple(
    (re.compile(p), event, names, level)
    for p, event, names, level in (
        (
            r"Accepted (\S+) for (\S+) from (\S+) port (\d+)",
            "accepted",
            ("auth_method", "user", "remote_addr", "remote_port"),
            "info",
        ),
        (
            r"Failed (\S+) for (?:invalid user )?(\S*) from (\S+) port (\d+)",
            "failed",
            ("auth_method", "user", "remote_addr", "remote_port"),
            "warning",
        ),
        (
            r"[Ii]nvalid user (\S*) from (\S+)(?: port (\d+))?",
            "invalid_user",
            ("user", "remote_addr", "remote_port"),
            "warning",
        ),
        (
            r"Did not receive identification string from (\S+)",
            "no_identification",
            ("remote_addr",),
            "warning",
        ),
        (
            r"Connection closed by (?:(?:authenticating|invalid) user (\S+) )?(\S+) port (\d+)",
            "connection_closed",
            ("user", "remote_addr", "remote_port"),
            "info",
        ),
        (
            r"Disconnected from (?:(?:authenticating|invalid) user (\S+) )?(?:user (\S+) )?(\S+) port (\d+)",
            "disconnected",
            ("user", "user", "remote_addr", "remote_port"),
            "info",
        ),
        (
            r"Received disconnect from (\S+)(?: port (\d+))?",
            "disconnect",
            ("remote_addr", "remote_port"),
            "info",
        ),
        (
            r"reverse mapping checking getaddrinfo for (\S+) \[(\S+)\] failed",
            "reverse_mapping_failed",
            ("reverse_host", "remote_addr"),
            "warning",
        ),
        (
            r"error: maximum authentication attempts exceeded for (?:invalid user )?(\S+) "
            r"from (\S+) port (\d+)",
            "max_attempts",
            ("user", "remote_addr", "remote_port"),
            "warning",
        ),
        (r"Server listening on (\S+) port (\d+)", "listening", ("listen_addr", "listen_port"), "info"),
    )
)
_PAM = re.compile(r"pam_(\w+)\(([^:)]+):(\w+)\): (.*)")
_PAM_USER = re.compile(r"(?:for user |user=)(\S+)")
_PAM_RHOST = re.compile(r"rhost=(\S+)")
_SUDO = re.compile(r"\s*(\S+) : (?:(.*?) ; )?TTY=(\S+) ; PWD=(.*?) ; USER=(\S+) ; (?:.*?; )?COMMAND=(.*)")
_SU = re.compile(
    r"(?:\(to (?P<to>\S+)\) (?P<by>\S+) on (?P<tty>\S+)"
    r"|(?P<fail>FAILED )?(?:SU|su) (?:for )?(?P<to2>\S+) by (?P<by2>\S+)"
    r"|(?P<ok>Successful) su for (?P<to3>\S+) by (?P<by3>\S+)"
    r"|[+-] (?P<tty4>\S+) (?P<by4>\S+):(?P<to4>\S+))"
)
_INT_NAMES = frozenset({"remote_port", "listen_port"})


def _pam(msg: str, fields: dict[str, Any]) -> str | None:
    m = _PAM.match(msg)
    if m is None:
        return None
    fields["pam_module"] = "pam_" + m.group(1)
    fields["pam_service"] = m.group(2)
    fields["pam_type"] = m.group(3)
    rest = m.group(4)
    u = _PAM_USER.search(rest)
    if u:
        fields["user"] = u.group(1)
    r = _PAM_RHOST.search(rest)
    if r and r.group(1):
        fields["remote_addr"] = r.group(1)
    if rest.startswith("session opened"):
        fields["event"] = "session_opened"
    elif rest.startswith("session closed"):
        fields["event"] = "session_closed"
    elif "failure" in rest:
        fields["event"] = "authentication_failure"
        return "warning"
    return "info"


def enrich(app: str | None, msg: str, fields: dict[str, Any]) -> str | None:
    """Fields of an sshd/sudo/su/PAM message; returns a level."""
    if msg.startswith("pam_"):
        return _pam(msg, fields)
    prog = (app or "").split("(", 1)[0]
    if prog == "sshd":
        for regex, event, names, level in _SSHD:
            m = regex.search(msg)
            if m is not None:
                fields["event"] = event
                for name, value in zip(names, m.groups(), strict=True):
                    if value is not None:
                        fields[name] = int(value) if name in _INT_NAMES else value
                return level
        return None
    if prog == "sudo":
        m = _SUDO.match(msg)
        if m is None:
            return None
        fields["user"] = m.group(1)
        fields["tty"] = m.group(3)
        fields["pwd"] = m.group(4)
        fields["run_as"] = m.group(5)
        fields["command"] = m.group(6)
        if m.group(2):
            fields["event"] = "denied"
            fields["reason"] = m.group(2)
            return "warning"
        fields["event"] = "command"
        return "notice"
    if prog == "su":
        m = _SU.search(msg)
        if m is None:
            return None
        g = m.groupdict()
        fields["user"] = g["by"] or g["by2"] or g["by3"] or g["by4"]
        fields["run_as"] = g["to"] or g["to2"] or g["to3"] or g["to4"]
        if g["tty"] or g["tty4"]:
            fields["tty"] = g["tty"] or g["tty4"]
        failed = bool(g["fail"]) or msg.lstrip().startswith("-")
        fields["event"] = "failed" if failed else "switched"
        return "warning" if failed else "info"
    return None


class AuthParser(LineParser):
    name = "auth"
    description = (
        "auth.log/secure: syslog header plus sshd, sudo, su and PAM fields (event, user, remote_addr...)."
    )
    expected = "syslog (auth)"

    def __init__(self, now: Callable[[], float] | None = None, tz: str | None = None) -> None:
        self.syslog = SyslogParser(now=now, tz=tz, enrich=enrich)

    def match(self, line: str) -> Record | None:
        return self.syslog.match(line)
