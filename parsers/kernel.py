"""Linux kernel messages in the forms they are read: kern.log (syslog ``kernel:`` lines),
``dmesg`` (``[uptime]``), ``dmesg -T`` (``[ctime]``), ``dmesg --decode --time-format iso``,
``/dev/kmsg`` records (``prio,seq,usec,flags;text``) and pstore dumps (``<prio>[uptime]``).

A raw ``[uptime]`` has no wall-clock time (``ts`` is then unset; ``uptime_s`` is kept). The body
is enriched by :mod:`parsers.iptables` (netfilter ``IN=... OUT=...``) and :mod:`parsers.gpu_xid`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsers.base import LineParser, Record, normalise_level
from parsers.syslog import FACILITIES, SEVERITIES, SyslogParser
from parsers.timestamps import StrptimeFormat, Zone, parse_rfc3339

_UPTIME = re.compile(r"\[ *(\d+\.\d+)\] ?")
_KMSG = re.compile(r"(\d+),(\d+),(\d+),([^;,]*)(?:,[^;]*)?;(.*)", re.DOTALL)
_PRINTK = re.compile(r"<(\d{1,3})>\[ *(\d+\.\d+)\] ?(.*)", re.DOTALL)
_CTIME = re.compile(r"\[(?:\w{3} )?(\w{3} +\d+ \d\d:\d\d:\d\d \d{4})\] ?(.*)", re.DOTALL)
_DECODE = re.compile(
    r"(\w+) *:(\w+) *: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[,.]\d+(?:[+-]\d\d:?\d\d|Z)?) (.*)", re.DOTALL
)
# pstore dump structure: "dmesg-erst-7530486857247752194:" and "Panic#1 Part2".
_PSTORE_HEADER = re.compile(r"(?:dmesg-[\w-]+:|(?:Panic|Oops|Emergency|Shutdown|Unknown)#\d+ Part\d+)\s*")
_PLAIN_UPTIME = re.compile(r"\[ *(\d+\.\d+)\] (.*)", re.DOTALL)


def enrich_body(msg: str, fields: dict[str, Any]) -> tuple[str, str | None]:
    """Strip a ``[uptime]`` prefix and read netfilter / Xid bodies. Returns (message, level)."""
    m = _UPTIME.match(msg)
    if m is not None:
        fields["uptime_s"] = float(m.group(1))
        msg = msg[m.end() :]
    level = None
    if "IN=" in msg and "OUT=" in msg:
        from parsers.iptables import netfilter_fields

        level = netfilter_fields(msg, fields)
    elif "Xid" in msg:
        from parsers.gpu_xid import xid_fields

        level = xid_fields(msg, fields)
    return msg, level


def _kernel_enrich(app: str | None, msg: str, fields: dict[str, Any]) -> str | None:
    if app != "kernel":
        return None
    return enrich_body(msg, fields)[1]


class KernelParser(LineParser):
    name = "kernel"
    description = (
        "Kernel messages: kern.log, dmesg (-T, --decode iso), /dev/kmsg, pstore; netfilter and Xid fields."
    )
    expected = "kernel log"

    def __init__(self, now: Callable[[], float] | None = None, tz: str | None = None) -> None:
        self.zone = Zone(tz)
        self.syslog = SyslogParser(now=now, tz=tz)
        self._ctime = StrptimeFormat("%b %d %H:%M:%S %Y", self.zone, now)

    def _body(self, rec: Record, msg: str) -> Record:
        msg, level = enrich_body(msg, rec.fields)
        rec.message = msg
        if rec.level is None:
            rec.level = level
        return rec

    def match(self, line: str) -> Record | None:
        c = line[:1]
        if c == "<":
            m = _PRINTK.match(line)
            if m is not None:
                prio = int(m.group(1))
                rec = Record(level=SEVERITIES[prio & 7], fields={"uptime_s": float(m.group(2))})
                return self._body(rec, m.group(3))
        elif c.isdigit():
            m = _KMSG.match(line)
            if m is not None:
                prio = int(m.group(1))
                fields: dict[str, Any] = {"seq": int(m.group(2)), "uptime_s": int(m.group(3)) / 1e6}
                fac = prio >> 3
                if fac:
                    fields["facility"] = FACILITIES[fac] if fac < len(FACILITIES) else str(fac)
                return self._body(Record(level=SEVERITIES[prio & 7], fields=fields), m.group(5))
        elif c == "[":
            m = _CTIME.match(line)
            if m is not None:
                ts = self._ctime.parse(m.group(1))
                if ts is not None:
                    return self._body(Record(ts_ns=ts, fields={}), m.group(2))
            m = _PLAIN_UPTIME.match(line)
            if m is not None:
                return self._body(Record(fields={"uptime_s": float(m.group(1))}), m.group(2))
            return None
        m = _DECODE.match(line)
        if m is not None:
            ts = parse_rfc3339(m.group(3), self.zone)
            if ts is not None:
                rec = Record(ts_ns=ts, level=normalise_level(m.group(2)), fields={"facility": m.group(1)})
                return self._body(rec, m.group(4))
        srec = self.syslog.match(line)
        if srec is None:
            if _PSTORE_HEADER.fullmatch(line):
                return Record(message=line, fields={"pstore_header": True})
            return None
        if srec.fields.get("app") == "kernel":
            return self._body(srec, srec.message or "")
        return srec
