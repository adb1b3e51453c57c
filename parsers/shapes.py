"""Common application-log line shapes: ``timestamp level logger: message`` and friends.

Each :class:`Shape` is one anchored regex with named groups (``ts``, ``level``, ``msg`` and any
fields) plus the format of its ``ts`` group. ``java`` uses the log4j/logback ones; ``auto`` uses
them all (they cover the loghub systems: HDFS, Hadoop, Spark, Zookeeper, OpenStack, Android,
Windows CBS, BGL, HPC, Thunderbird, Proxifier, HealthApp, Kafka...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parsers.base import Record, normalise_level
from parsers.timestamps import NS, StrptimeFormat, Zone, frac_ns, parse_rfc3339

LEVEL_RE = (
    r"(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|SEVERE|CRITICAL|CRIT|ALERT|EMERG|"
    r"FINEST|FINER|FINE|CONFIG|FAILURE|trace|debug|info|notice|warn|warning|error|fatal|critical|"
    r"Trace|Debug|Info|Notice|Warn|Warning|Error|Fatal|Critical)"
)
_ISO = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?"

#: Android's one-letter priorities.
ANDROID_LEVELS = {
    "V": "debug",
    "D": "debug",
    "I": "info",
    "W": "warning",
    "E": "error",
    "F": "critical",
    "A": "critical",
}
_EXTRA_LEVELS = {"config": "info", "system": "info"}

INT_FIELDS = frozenset({"pid", "tid", "line"})


@dataclass(frozen=True)
class ShapeSpec:
    """A shape: ``pattern`` (named groups) and how to read its ``ts`` group (``iso``, ``unix``
    or a strptime format)."""

    name: str
    pattern: str
    ts_format: str
    levels: dict[str, str] | None = None


class Shape:
    """A compiled :class:`ShapeSpec` bound to a zone and clock."""

    def __init__(self, spec: ShapeSpec, zone: Zone, now: Callable[[], float] | None) -> None:
        self.name = spec.name
        self.regex = re.compile(spec.pattern, re.DOTALL)
        self.levels = spec.levels
        self.zone = zone
        fmt = spec.ts_format
        self._ts: Callable[[str], int | None]
        if fmt == "iso":
            self._ts = lambda t: parse_rfc3339(t, zone)
        elif fmt == "unix":
            self._ts = lambda t: int(t) * NS if t.isdigit() else None
        else:
            self._ts = StrptimeFormat(fmt, zone, now).parse
        self._field_names = [
            g for g in self.regex.groupindex if g not in ("ts", "level", "msg", "frac", "trace")
        ]

    def match(self, line: str) -> Record | None:
        m = self.regex.match(line)
        if m is None:
            return None
        g = m.groupdict()
        ts = self._ts(g["ts"])
        if ts is None:
            return None
        if g.get("frac"):
            ts += frac_ns(g["frac"])
        level = None
        lv = g.get("level")
        if lv:
            level = (self.levels or {}).get(lv) or normalise_level(lv) or _EXTRA_LEVELS.get(lv.lower())
        fields: dict[str, Any] = {}
        for name in self._field_names:
            v = g[name]
            if v is not None:
                fields[name] = int(v) if name in INT_FIELDS and v.isdigit() else v
        msg = g.get("msg") or ""
        if g.get("trace"):
            msg += g["trace"]
        return Record(ts_ns=ts, level=level, message=msg, fields=fields)


JAVA_SPECS: tuple[ShapeSpec, ...] = (
    # Hadoop/log4j: 2015-10-18 18:01:47,978 INFO [main] org.apache...MRAppMaster: message
    ShapeSpec(
        "log4j",
        rf"(?P<ts>{_ISO}) +{LEVEL_RE} +\[(?P<thread>[^\]]*)\] (?P<logger>[^\s:]+): (?P<msg>.*)",
        "iso",
    ),
    # Zookeeper: 2015-07-29 17:41:44,747 - INFO  [thread:Class@123] - message
    ShapeSpec(
        "log4j_dash",
        rf"(?P<ts>{_ISO}) - {LEVEL_RE} +\[(?P<thread>.*?)\] - (?P<msg>.*)",
        "iso",
    ),
    # logback default: 2024-01-01 12:00:00.123 [main] INFO  com.example.App - message
    ShapeSpec(
        "logback",
        rf"(?P<ts>{_ISO}) +\[(?P<thread>[^\]]*)\] +{LEVEL_RE} +(?P<logger>\S+) +- (?P<msg>.*)",
        "iso",
    ),
    # Kafka: [2016-12-20 00:04:03,231] TRACE message (kafka.controller.KafkaController)
    ShapeSpec(
        "log4j_bracket",
        rf"\[(?P<ts>{_ISO})\] {LEVEL_RE} (?P<msg>[^\n]*?)(?: \((?P<logger>[\w.$-]+)\))?(?P<trace>\n.*)?$",
        "iso",
    ),
    # Spring Boot: 2024-01-01 12:00:00.123  INFO 1234 --- [main] c.e.App : message
    ShapeSpec(
        "spring",
        rf"(?P<ts>{_ISO}) +{LEVEL_RE} +(?P<pid>\d+) --- \[ *(?P<thread>[^\]]*)\] "
        r"(?P<logger>\S+) +: (?P<msg>.*)",
        "iso",
    ),
    # Spark: 17/06/09 20:10:40 INFO spark.SecurityManager: message
    ShapeSpec(
        "spark",
        rf"(?P<ts>\d\d/\d\d/\d\d \d\d:\d\d:\d\d) {LEVEL_RE} (?P<logger>[^\s:]+): (?P<msg>.*)",
        "%y/%m/%d %H:%M:%S",
    ),
    # HDFS: 081109 203615 148 INFO dfs.DataNode$PacketResponder: message
    ShapeSpec(
        "hdfs",
        rf"(?P<ts>\d{{6}} \d{{6}}) (?P<pid>\d+) {LEVEL_RE} (?P<logger>[^\s:]+): (?P<msg>.*)",
        "%y%m%d %H%M%S",
    ),
    # Generic: ISO stamp, level (maybe bracketed), logger, message.
    ShapeSpec(
        "iso_level",
        rf"\[?(?P<ts>{_ISO})\]? +\[?{LEVEL_RE}\]?:? +(?P<msg>.*)",
        "iso",
    ),
)

OTHER_SPECS: tuple[ShapeSpec, ...] = (
    # OpenStack: nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.x [req-...] msg
    ShapeSpec(
        "openstack",
        rf"(?:(?P<file>\S+) )?(?P<ts>{_ISO}) (?P<pid>\d+) {LEVEL_RE} (?P<logger>\S+) "
        r"(?:\[(?P<request>[^\]]*)\] )?(?P<msg>.*)",
        "iso",
    ),
    # Windows CBS: 2016-09-28 04:30:30, Info                  CBS    message
    ShapeSpec(
        "windows_cbs",
        rf"(?P<ts>\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d), {LEVEL_RE} +(?P<component>\S+) +(?P<msg>.*)",
        "iso",
    ),
    # Android logcat (threadtime): 03-17 16:13:38.811  1702  2395 D WindowManager: message
    ShapeSpec(
        "android",
        r"(?P<ts>\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) +(?P<pid>\d+) +(?P<tid>\d+) (?P<level>[VDIWEFA]) "
        r"(?P<tag>.*?) ?: (?P<msg>.*)",
        "%m-%d %H:%M:%S.%f",
        ANDROID_LEVELS,
    ),
    # BGL: - 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-... RAS KERNEL INFO msg
    ShapeSpec(
        "bgl",
        r"(?P<alert>\S+) (?P<ts>\d{9,10}) \d{4}\.\d\d\.\d\d (?P<node>\S+) "
        r"\d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d\.(?P<frac>\d{6}) \S+ (?P<type>\S+) (?P<component>\S+) "
        rf"{LEVEL_RE} (?P<msg>.*)",
        "unix",
    ),
    # Thunderbird: - 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: msg
    ShapeSpec(
        "thunderbird",
        r"(?P<alert>\S+) (?P<ts>\d{9,10}) \d{4}\.\d\d\.\d\d (?P<node>\S+) [A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d "
        r"(?P<host>\S+) (?:(?P<app>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: )?(?P<msg>.*)",
        "unix",
    ),
    # Proxifier: [10.30 16:49:06] chrome.exe - message
    ShapeSpec(
        "proxifier",
        r"\[(?P<ts>\d\d\.\d\d \d\d:\d\d:\d\d)\] (?P<program>.+?) - (?P<msg>.*)",
        "%m.%d %H:%M:%S",
    ),
    # HealthApp: 20171223-22:15:29:606|Step_LSC|30002312|message
    ShapeSpec(
        "healthapp",
        r"(?P<ts>\d{8}-\d\d?:\d\d?:\d\d?:\d{1,3})\|(?P<component>[^|]*)\|(?P<pid>\d+)\|(?P<msg>.*)",
        "%Y%m%d-%H:%M:%S:%q",
    ),
    # NVIDIA Fabric Manager and similar: [Feb 25 2025 13:59:45] [INFO] [tid 1803] message
    ShapeSpec(
        "bracket_date_level",
        rf"\[(?P<ts>[A-Z][a-z]{{2}} \d\d \d{{4}} \d\d:\d\d:\d\d)\] \[{LEVEL_RE}\] "
        r"(?:\[tid (?P<tid>\d+)\] )?(?P<msg>.*)",
        "%b %d %Y %H:%M:%S",
    ),
    # HPC: 134681 node-246 unix.hw state_change.unavailable 1077804742 1 message
    ShapeSpec(
        "hpc",
        r"(?P<log_id>\d+) (?P<node>\S+) (?P<component>\S+) (?P<state>\S+) (?P<ts>\d{9,10}) "
        r"(?P<flag>-?\d+) (?P<msg>.*)",
        "unix",
    ),
)


def build_shapes(
    specs: tuple[ShapeSpec, ...], tz: str | None = None, now: Callable[[], float] | None = None
) -> list[Shape]:
    zone = Zone(tz)
    return [Shape(s, zone, now) for s in specs]
