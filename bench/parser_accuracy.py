"""Parser accuracy on the shared corpus (../shared/corpus), printed as a table.

* loghub: for each system, the share of lines whose parsed timestamp and level equal the
  ``_structured.csv`` ground truth (parser ``auto``). The timestamp is compared in the ground
  truth's own resolution and layout (epoch seconds for BGL/HPC/Thunderbird, month-day-time for
  year-less stamps); the level only where the ground truth has a severity column (Linux's
  "Level" column is the host name and is not compared).
* nginx: field-by-field equality with the published filebeat expected output.
* every other kind: the share of records parsed without ``parse_error``.

Run: ``.venv/bin/python bench/parser_accuracy.py`` (tests/parsers/test_corpus.py asserts the
thresholds).
"""

from __future__ import annotations

import csv
import glob
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from parsers.base import Record, normalise_level
from parsers.multiline import split_records
from parsers.registry import get_parser
from parsers.shapes import ANDROID_LEVELS

CORPUS = Path(
    os.environ.get("LOGAGENT_CORPUS", Path(__file__).resolve().parent.parent.parent / "shared" / "corpus")
)


def _utc(rec: Record) -> datetime | None:
    if rec.ts_ns is None:
        return None
    return datetime.fromtimestamp(rec.ts_ns // 1_000_000_000, UTC).replace(
        microsecond=rec.ts_ns // 1000 % 1_000_000
    )


def _ms(dt: datetime) -> str:
    return f"{dt.microsecond // 1000:03d}"


# system -> (expected timestamp from a GT row, timestamp of a record in that layout, level column)
TsPair = tuple[Callable[[dict[str, str]], str], Callable[[datetime], str]]
LOGHUB: dict[str, tuple[TsPair, str | None]] = {
    "Android": (
        (lambda r: f"{r['Date']} {r['Time']}", lambda d: d.strftime("%m-%d %H:%M:%S.") + _ms(d)),
        "Level",
    ),
    "Apache": ((lambda r: r["Time"], lambda d: d.strftime("%a %b %d %H:%M:%S %Y")), "Level"),
    "BGL": ((lambda r: r["Timestamp"], lambda d: str(int(d.timestamp()))), "Level"),
    "HDFS": ((lambda r: f"{r['Date']} {r['Time']}", lambda d: d.strftime("%y%m%d %H%M%S")), "Level"),
    "HPC": ((lambda r: r["Time"], lambda d: str(int(d.timestamp()))), None),
    "Hadoop": (
        (lambda r: f"{r['Date']} {r['Time']}", lambda d: d.strftime("%Y-%m-%d %H:%M:%S,") + _ms(d)),
        "Level",
    ),
    # HealthApp writes its fields unpadded ("22:16:0:119"): compare as numbers.
    "HealthApp": (
        (
            lambda r: str([int(x) for x in re.split(r"[-:]", r["Time"])]),
            lambda d: str([int(d.strftime("%Y%m%d")), d.hour, d.minute, d.second, d.microsecond // 1000]),
        ),
        None,
    ),
    "Linux": (
        (lambda r: f"{r['Month']} {int(r['Date'])} {r['Time']}", lambda d: f"{d:%b} {d.day} {d:%H:%M:%S}"),
        None,
    ),
    "Mac": (
        (lambda r: f"{r['Month']} {int(r['Date'])} {r['Time']}", lambda d: f"{d:%b} {d.day} {d:%H:%M:%S}"),
        None,
    ),
    "OpenSSH": (
        (lambda r: f"{r['Date']} {int(r['Day'])} {r['Time']}", lambda d: f"{d:%b} {d.day} {d:%H:%M:%S}"),
        None,
    ),
    "OpenStack": (
        (lambda r: f"{r['Date']} {r['Time']}", lambda d: d.strftime("%Y-%m-%d %H:%M:%S.") + _ms(d)),
        "Level",
    ),
    "Proxifier": ((lambda r: r["Time"], lambda d: d.strftime("%m.%d %H:%M:%S")), None),
    "Spark": ((lambda r: f"{r['Date']} {r['Time']}", lambda d: d.strftime("%y/%m/%d %H:%M:%S")), "Level"),
    "Thunderbird": ((lambda r: r["Timestamp"], lambda d: str(int(d.timestamp()))), None),
    "Windows": ((lambda r: f"{r['Date']} {r['Time']}", lambda d: d.strftime("%Y-%m-%d %H:%M:%S")), "Level"),
    "Zookeeper": (
        (lambda r: f"{r['Date']} {r['Time']}", lambda d: d.strftime("%Y-%m-%d %H:%M:%S,") + _ms(d)),
        "Level",
    ),
}


def gt_level(system: str, value: str) -> str | None:
    if system == "Android":
        return ANDROID_LEVELS.get(value)
    return normalise_level(value)


@dataclass
class Result:
    kind: str
    name: str
    total: int
    good: int
    note: str = ""

    @property
    def share(self) -> float:
        return self.good / self.total if self.total else 1.0


def read_lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def loghub(system: str) -> Result:
    path = CORPUS / "loghub" / system / f"{system}_2k.log"
    lines = read_lines(path)
    with open(f"{path}_structured.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # loghub's 2k files hold one line per GT row; a few carry a stray CR inside (Apache).
    records = get_parser("auto").parse_batch(lines)
    (expected_ts, render), level_col = LOGHUB[system]
    good = 0
    bad: list[str] = []
    for rec, row, line in zip(records, rows, lines, strict=False):
        dt = _utc(rec)
        ok = dt is not None and render(dt) == expected_ts(row)
        if ok and level_col is not None:
            ok = rec.level == gt_level(system, row[level_col])
        good += ok
        if not ok and len(bad) < 3:
            bad.append(line[:120])
    return Result("loghub", system, len(rows), good, " | ".join(bad))


def nginx_expected() -> Result:
    """Field-by-field against filebeat's expected output (its ECS names mapped to ours)."""
    base = CORPUS / "nginx" / "beats_nginx_access_test.log"
    lines = read_lines(base)
    expected = orjson.loads((base.parent / (base.name + "-expected.json")).read_bytes())
    records = get_parser("nginx").parse_batch(lines)
    total = good = 0
    notes = []
    for rec, exp in zip(records, expected, strict=True):
        got = dict(rec.fields)
        xff = got.get("http_x_forwarded_for")
        xff = None if xff == "-" else xff
        pairs = {
            "@timestamp": (
                datetime.fromtimestamp(rec.ts_ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                if rec.ts_ns
                else None
            ),
            "http.request.method": got.get("method"),
            "url.original": got.get("path"),
            "http.version": (got.get("protocol") or "").removeprefix("HTTP/") or None,
            "http.response.status_code": got.get("status"),
            "http.response.body.bytes": got.get("body_bytes_sent"),
            "http.request.referrer": got.get("http_referer"),
            "user_agent.original": got.get("http_user_agent"),
            "user.name": got.get("remote_user"),
            "nginx.access.remote_ip_list": ([*(xff.split(", ") if xff else []), got.get("remote_addr")]),
        }
        for key, value in pairs.items():
            if key not in exp and value is None:
                continue
            total += 1
            if exp.get(key) == value:
                good += 1
            else:
                notes.append(f"{key}: {value!r} != {exp.get(key)!r}")
    return Result("nginx", "beats access (fields)", total, good, "; ".join(notes[:3]))


def wazuh_lines(path: Path) -> list[str]:
    out = []
    for ln in read_lines(path):
        m = re.match(r"log \d+ pass = (.*)", ln)
        if m:
            out.append(m.group(1))
    return out


def yaml_data(path: Path) -> list[str]:
    for ln in read_lines(path):
        if ln.startswith("data: "):
            value = ln[6:]
            if value.startswith('"'):
                return [orjson.loads(value)]
            if value.startswith("'"):
                return [value[1:-1].replace("''", "'")]
            return [value]
    return []


def _cri_lines(path: Path) -> list[str]:
    """The CRI lines held in the ``log`` values of a JSON array of records."""
    out: list[str] = []
    for rec in orjson.loads(path.read_bytes()):
        out.extend(ln for ln in rec.get("log", "").split("\n") if ln)
    return out


#: kind -> list of (parser, file glob, line reader, multiline start or None)
KINDS: list[tuple[str, str, str, Callable[[Path], list[str]], str | None]] = [
    ("alb", "aws_alb", "alb/*.log", read_lines, None),
    ("apache", "apache", "apache/elastic-examples_apache_logs", read_lines, None),
    ("apache", "apache", "apache/wazuh-ruleset_tests_apache.ini", wazuh_lines, None),
    ("auth", "auth", "auth/*.log", read_lines, None),
    ("auth", "auth", "auth/*.ini", wazuh_lines, None),
    (
        "cri",
        "cri",
        "cri/*.json",
        lambda p: _cri_lines(p),
        None,
    ),
    ("docker", "docker", "docker/*.log", read_lines, None),
    ("gpu", "gpu_xid", "gpu/gpud_dmesg-with-xid-119.log", read_lines, None),
    ("gpu", "gpu_xid", "gpu/gpud_memory_dmesg.decode.iso.log", read_lines, None),
    ("gpu", "auto", "gpu/gpud_fabricmanager.log", read_lines, r"^\["),
    ("haproxy", "haproxy", "haproxy/*.log", read_lines, None),
    ("iptables", "iptables", "iptables/beats_*.log", read_lines, None),
    ("iptables", "iptables", "iptables/*.ini", wazuh_lines, None),
    ("java", "java", "java/*.log", read_lines, "java"),
    ("json", "json", "json/*", read_lines, None),
    ("kernel", "kernel", "kernel/*", read_lines, None),
    ("mysql", "mysql", "mysql/*error*.log", read_lines, None),
    ("mysql", "mysql", "mysql/*slowlog*.log", read_lines, r"^# (Time|User@Host):"),
    ("nginx", "nginx", "nginx/*.log", read_lines, r"^\d{4}/\d\d/\d\d |^\S+ .* \["),
    ("nginx", "nginx", "nginx/*.ini", wazuh_lines, None),
    ("postfix", "postfix", "postfix/*.ini", wazuh_lines, None),
    ("postfix", "postfix", "postfix/whyscream-tests/*.yaml", yaml_data, None),
    ("postgresql", "postgresql", "postgresql/*", read_lines, r"^\d{4}-\d\d-\d\d "),
    ("rabbitmq", "rabbitmq", "rabbitmq/*", read_lines, None),
    ("syslog", "syslog", "syslog/beats_*.log", read_lines, r"^(?:<\d+>)?(?:[A-Z][a-z]{2} |\d{4}-)"),
    ("syslog", "syslog", "syslog/*.ini", wazuh_lines, None),
]


def corpus_kind(
    kind: str, parser: str, pattern: str, reader: Callable[[Path], list[str]], start: str | None
) -> Result:
    from parsers.multiline import compile_start

    total = good = 0
    bad: list[str] = []
    for name in sorted(glob.glob(str(CORPUS / pattern))):
        lines = [ln for ln in reader(Path(name)) if ln.strip()]
        if start is not None:
            recs, used = split_records(lines, compile_start(start), 10_000)
            lines = [*recs, *(["\n".join(lines[used:])] if used < len(lines) else [])]
        p = get_parser(parser)
        for line, rec in zip(lines, p.parse_batch(lines), strict=True):
            total += 1
            if rec.error is None:
                good += 1
            elif len(bad) < 3:
                bad.append(f"{Path(name).name}: {line[:100]!r}")
    return Result(kind, f"{parser} <- {pattern}", total, good, " | ".join(bad))


def all_results() -> list[Result]:
    results = [loghub(s) for s in LOGHUB]
    results.append(nginx_expected())
    results.extend(corpus_kind(*k) for k in KINDS)
    return results


def main() -> None:
    print(f"{'kind':10} {'set':48} {'ok':>6} {'total':>6} {'share':>8}")
    for r in all_results():
        print(f"{r.kind:10} {r.name:48} {r.good:6} {r.total:6} {r.share:8.2%}")
        if r.note and r.share < 1:
            print(f"{'':10}   e.g. {r.note[:300]}")


if __name__ == "__main__":
    main()
