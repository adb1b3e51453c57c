"""Each built-in on hand-written lines: time, level, message and the documented fields."""

from __future__ import annotations

from typing import Any

import pytest

from parsers.base import LEVELS, Record
from parsers.registry import get_parser, get_parser_class
from tests.parsers.conftest import FIXED_NOW, ns

# (parser, line, expected ts, level, message or None to skip, subset of fields)
CASES: list[tuple[str, str, int | None, str | None, str | None, dict[str, Any]]] = [
    (
        "nginx",
        '203.0.113.9 - alice [02/Mar/2026:10:00:01 +0100] "POST /api/v1/items?x=1 HTTP/2.0" 201 512 '
        '"https://example.org/" "Mozilla/5.0 (X11)" 0.250 0.248',
        ns(2026, 3, 2, 9, 0, 1),
        "info",
        None,
        {
            "remote_addr": "203.0.113.9",
            "remote_user": "alice",
            "method": "POST",
            "path": "/api/v1/items?x=1",
            "protocol": "HTTP/2.0",
            "status": 201,
            "body_bytes_sent": 512,
            "http_referer": "https://example.org/",
            "http_user_agent": "Mozilla/5.0 (X11)",
            "request_time": 0.25,
            "upstream_response_time": 0.248,
        },
    ),
    (
        "nginx",
        '198.51.100.7 - - [02/Mar/2026:10:00:02 +0000] "GET /x HTTP/1.1" 503 0 "-" "curl/8.5" "10.0.0.1"',
        ns(2026, 3, 2, 10, 0, 2),
        "error",
        None,
        {"status": 503, "http_x_forwarded_for": "10.0.0.1", "body_bytes_sent": 0},
    ),
    (
        "nginx",
        "2026/03/02 10:00:03 [crit] 811#811: *42 connect() failed (111: Connection refused) while connecting "
        'to upstream, client: 192.0.2.5, server: shop, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:9000/"',
        ns(2026, 3, 2, 10, 0, 3),
        "critical",
        "connect() failed (111: Connection refused) while connecting to upstream",
        {
            "pid": 811,
            "connection": 42,
            "client": "192.0.2.5",
            "server": "shop",
            "upstream": "http://127.0.0.1:9000/",
        },
    ),
    (
        "apache",
        '192.0.2.1 - - [02/Mar/2026:10:00:04 +0000] "GET /index.html HTTP/1.0" 200 2326',
        ns(2026, 3, 2, 10, 0, 4),
        "info",
        None,
        {"remote_addr": "192.0.2.1", "status": 200, "body_bytes_sent": 2326, "path": "/index.html"},
    ),
    (
        "apache",
        "[Mon Mar 02 10:00:05.123456 2026] [proxy:warn] [pid 77:tid 88] [client 192.0.2.2:5000] AH01144: bad",
        ns(2026, 3, 2, 10, 0, 5) + 123_456_000,
        "warning",
        "AH01144: bad",
        {"module": "proxy", "pid": 77, "tid": 88, "client": "192.0.2.2:5000"},
    ),
    (
        "syslog",
        "<34>Mar  2 10:00:06 gw01 su[311]: 'su root' failed for lonvick on /dev/pts/8",
        ns(2026, 3, 2, 10, 0, 6),
        "critical",
        "'su root' failed for lonvick on /dev/pts/8",
        {"facility": "auth", "host": "gw01", "app": "su", "pid": 311},
    ),
    (
        "syslog",
        '<165>1 2026-03-02T10:00:07.5Z web1 shop 99 ORDER [meta seq="3" note="a \\"q\\" \\]"] payment ok',
        ns(2026, 3, 2, 10, 0, 7) + 500_000_000,
        "notice",
        "payment ok",
        {
            "app": "shop",
            "pid": 99,
            "msgid": "ORDER",
            "structured_data": {"meta": {"seq": "3", "note": 'a "q" ]'}},
        },
    ),
    (
        "json",
        '{"time":"2026-03-02T10:00:08Z","level":"WARN","msg":"disk low","free_mb":12,"tags":["a"]}',
        ns(2026, 3, 2, 10, 0, 8),
        "warning",
        "disk low",
        {"free_mb": 12, "tags": ["a"]},
    ),
    ("json", '{"ts":1772445609,"level":50,"msg":"boom"}', ns(2026, 3, 2, 10, 0, 9), "error", "boom", {}),
    (
        "logfmt",
        'ts=2026-03-02T10:00:10Z level=debug msg="cache \\"miss\\"" key=user:1 hit',
        ns(2026, 3, 2, 10, 0, 10),
        "debug",
        'cache "miss"',
        {"key": "user:1", "hit": True},
    ),
    (
        "docker",
        '{"log":"hello\\n","stream":"stderr","time":"2026-03-02T10:00:11.000000001Z"}',
        ns(2026, 3, 2, 10, 0, 11) + 1,
        None,
        "hello",
        {"stream": "stderr"},
    ),
    (
        "docker",
        '{"log":"part","stream":"stdout","time":"2026-03-02T10:00:11Z"}',
        ns(2026, 3, 2, 10, 0, 11),
        None,
        "part",
        {"partial": True},
    ),
    (
        "cri",
        "2026-03-02T10:00:12.000000002Z stdout P first half",
        ns(2026, 3, 2, 10, 0, 12) + 2,
        None,
        "first half",
        {"stream": "stdout", "partial": True},
    ),
    (
        "aws_alb",
        "https 2026-03-02T10:00:13.000001Z app/lb/abc 192.0.2.10:4444 10.0.0.5:80 0.001 0.200 "
        "0.000 502 502 90 "
        '310 "GET https://shop.example:443/cart HTTP/1.1" "Mozilla/5.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
        'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1 "Root=1-abc" "shop.example" "-" 0 '
        '2026-03-02T10:00:12.800000Z "forward" "-" "-" "10.0.0.5:80" "502" "-" "-"',
        ns(2026, 3, 2, 10, 0, 13) + 1000,
        "error",
        None,
        {
            "remote_addr": "192.0.2.10",
            "remote_port": 4444,
            "method": "GET",
            "status": 502,
            "target_status_code": 502,
            "body_bytes_sent": 310,
            "request_time": 0.201,
            "domain_name": "shop.example",
            "type": "https",
        },
    ),
    (
        "aws_alb",
        "2026-03-02T10:00:14.000000Z my-elb 192.0.2.11:5555 10.0.0.6:80 0.00004 0.001 0.00002 200 200 0 57 "
        '"GET http://shop.example:80/ HTTP/1.1" "curl/8" - -',
        ns(2026, 3, 2, 10, 0, 14),
        "info",
        None,
        {"elb": "my-elb", "backend": "10.0.0.6:80", "status": 200, "backend_status_code": 200},
    ),
    (
        "haproxy",
        "Mar  2 10:00:15 lb1 haproxy[123]: 192.0.2.20:40000 [02/Mar/2026:10:00:15.250] web~ api/s1 "
        '1/0/2/30/33 404 120 - - ---- 3/3/1/1/0 0/0 "GET /missing HTTP/1.1"',
        ns(2026, 3, 2, 10, 0, 15) + 250_000_000,
        "warning",
        None,
        {
            "frontend": "web~",
            "backend": "api",
            "server": "s1",
            "status": 404,
            "time_total": 33,
            "path": "/missing",
        },
    ),
    (
        "postgresql",
        '2026-03-02 11:00:16.100 CET [4242] app@shop ERROR:  relation "foo" does not exist',
        ns(2026, 3, 2, 10, 0, 16) + 100_000_000,
        "error",
        'relation "foo" does not exist',
        {"pid": 4242, "user": "app", "database": "shop", "severity": "ERROR"},
    ),
    (
        "postgresql",
        "2026-03-02 10:00:17.000 UTC [7] LOG:  duration: 1500.250 ms  statement: SELECT 1",
        ns(2026, 3, 2, 10, 0, 17),
        "info",
        None,
        {"duration_ms": 1500.25, "statement": "SELECT 1"},
    ),
    (
        "mysql",
        "2026-03-02T10:00:18.000001Z 12 [Warning] [MY-010055] [Server] IP address could not be resolved",
        ns(2026, 3, 2, 10, 0, 18) + 1000,
        "warning",
        "IP address could not be resolved",
        {"thread": 12, "error_code": "MY-010055", "subsystem": "Server"},
    ),
    (
        "mysql",
        "# Time: 2026-03-02T10:00:19.000000Z\n# User@Host: app[app] @ web [192.0.2.30]  Id: 9\n"
        "# Query_time: 2.5  Lock_time: 0.1 Rows_sent: 1  Rows_examined: 1000\nSET timestamp=1772445619;\n"
        "SELECT * FROM t;",
        ns(2026, 3, 2, 10, 0, 19),
        "warning",
        "SELECT * FROM t;",
        {"user": "app", "client_ip": "192.0.2.30", "query_time": 2.5, "rows_examined": 1000},
    ),
    (
        "auth",
        "Mar  2 10:00:20 bastion sshd[900]: Failed password for invalid user admin from 192.0.2.40 "
        "port 5022 ssh2",
        ns(2026, 3, 2, 10, 0, 20),
        "warning",
        None,
        {"event": "failed", "user": "admin", "remote_addr": "192.0.2.40", "remote_port": 5022},
    ),
    (
        "auth",
        "Mar  2 10:00:21 bastion sudo:    bob : TTY=pts/2 ; PWD=/srv ; USER=root ; COMMAND=/usr/bin/id",
        ns(2026, 3, 2, 10, 0, 21),
        "notice",
        None,
        {"event": "command", "user": "bob", "run_as": "root", "command": "/usr/bin/id", "tty": "pts/2"},
    ),
    (
        "auth",
        "Mar  2 10:00:22 bastion sshd[901]: pam_unix(sshd:session): session opened for user "
        "carol(uid=1000) by (uid=0)",
        ns(2026, 3, 2, 10, 0, 22),
        "info",
        None,
        {
            "event": "session_opened",
            "pam_module": "pam_unix",
            "pam_service": "sshd",
            "user": "carol(uid=1000)",
        },
    ),
    (
        "kernel",
        "<3>[  12.500000] EXT4-fs error (device sda1): bad block",
        None,
        "error",
        "EXT4-fs error (device sda1): bad block",
        {"uptime_s": 12.5},
    ),
    (
        "kernel",
        "4,100,5000000,-;usb 1-1: reset",
        None,
        "warning",
        "usb 1-1: reset",
        {"seq": 100, "uptime_s": 5.0},
    ),
    (
        "iptables",
        "Mar  2 10:00:23 fw kernel: [5.000001] [UFW BLOCK] IN=eth0 OUT= MAC=aa:bb SRC=192.0.2.50 "
        "DST=198.51.100.1 "
        "LEN=60 TTL=50 ID=1 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 SYN URGP=0",
        ns(2026, 3, 2, 10, 0, 23),
        "warning",
        None,
        {
            "action": "BLOCK",
            "IN": "eth0",
            "OUT": "",
            "SRC": "192.0.2.50",
            "PROTO": "TCP",
            "SPT": 40000,
            "DPT": 22,
        },
    ),
    (
        "gpu_xid",
        "Mar  2 10:00:24 gpu7 kernel: NVRM: Xid (PCI:0000:3b:00): 79, pid=4321, name=python3, GPU "
        "has fallen off the bus.",
        ns(2026, 3, 2, 10, 0, 24),
        "critical",
        None,
        {"xid": 79, "pci_bus": "0000:3b:00", "pid": 4321, "process": "python3"},
    ),
    (
        "postfix",
        "Mar  2 10:00:25 mx postfix/smtp[555]: 4F2A1B3C: to=<dave@example.org>, "
        "relay=mx.example.org[192.0.2.60]:25, "
        "delay=1.2, dsn=5.1.1, status=bounced (user unknown)",
        ns(2026, 3, 2, 10, 0, 25),
        "warning",
        None,
        {
            "process": "smtp",
            "queue_id": "4F2A1B3C",
            "to": "dave@example.org",
            "status": "bounced",
            "delay": 1.2,
        },
    ),
    (
        "postfix",
        "Mar  2 10:00:26 mx postfix/postscreen[77]: PASS OLD [192.0.2.61]:40001",
        ns(2026, 3, 2, 10, 0, 26),
        "info",
        "PASS OLD [192.0.2.61]:40001",
        {"process": "postscreen", "event": "PASS OLD", "client_ip": "192.0.2.61", "client_port": 40001},
    ),
    (
        "rabbitmq",
        "2026-03-02 10:00:26.000001+00:00 [error] <0.1.0> connection closed",
        ns(2026, 3, 2, 10, 0, 26) + 1000,
        "error",
        "connection closed",
        {"erlang_pid": "0.1.0"},
    ),
    (
        "java",
        "2026-03-02 10:00:27.123 [main] ERROR com.example.App - failed\n\tat "
        "com.example.App.run(App.java:10)",
        ns(2026, 3, 2, 10, 0, 27) + 123_000_000,
        "error",
        "failed\n\tat com.example.App.run(App.java:10)",
        {"thread": "main", "logger": "com.example.App"},
    ),
    (
        "java",
        "2026-03-02 10:00:28,001 WARN [pool-1] org.acme.Cache: evicting",
        ns(2026, 3, 2, 10, 0, 28) + 1_000_000,
        "warning",
        "evicting",
        {"thread": "pool-1", "logger": "org.acme.Cache"},
    ),
]


def _parser(name: str) -> Any:
    cls = get_parser_class(name)
    try:
        return cls(now=lambda: FIXED_NOW)  # type: ignore[call-arg]
    except TypeError:
        return cls()


@pytest.mark.parametrize(
    ("name", "line", "ts", "level", "message", "fields"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_builtin_reads_line(
    name: str, line: str, ts: int | None, level: str | None, message: str | None, fields: dict[str, Any]
) -> None:
    rec = _parser(name).parse_batch([line])[0]
    assert rec.error is None, rec.error
    assert rec.ts_ns == ts
    assert rec.level == level
    if message is not None:
        assert rec.message == message
    assert {k: rec.fields.get(k) for k in fields} == fields


@pytest.mark.parametrize(
    ("name", "line", "ts", "level", "message", "fields"),
    CASES,
    ids=[f"auto-{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_auto_reads_the_same_lines(
    name: str, line: str, ts: int | None, level: str | None, message: str | None, fields: dict[str, Any]
) -> None:
    rec = _parser("auto").parse_batch([line])[0]
    assert rec.error is None
    assert rec.ts_ns == ts


def test_unparseable_lines_come_back_with_an_error_and_the_text() -> None:
    for name in ("nginx", "syslog", "json", "logfmt", "cri", "aws_alb", "java", "auto"):
        recs = get_parser(name).parse_batch(["\x00garbage", "ok?"])
        assert len(recs) == 2
        assert all(isinstance(r, Record) and r.error and r.message for r in recs), name


def test_levels_are_normalised() -> None:
    for name, line, *_ in CASES:
        rec = _parser(name).parse_batch([line])[0]
        assert rec.level is None or rec.level in LEVELS


def test_auto_switches_format_per_line_and_sticks_per_source() -> None:
    auto = _parser("auto")
    lines = [
        '{"level":"info","msg":"a"}',
        "Mar  2 10:00:00 h app[1]: b",
        "Mar  2 10:00:01 h app[1]: c",
        '192.0.2.1 - - [02/Mar/2026:10:00:04 +0000] "GET / HTTP/1.0" 200 1',
    ]
    recs = auto.parse_batch(lines)
    assert [r.error for r in recs] == [None] * 4
    assert [r.message for r in recs[:3]] == ["a", "b", "c"]
    assert recs[3].fields["status"] == 200


NGINX_SHAPES = [
    '192.0.2.1 - - [02/Mar/2026:10:00:04 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8"',
    '192.0.2.1 - bob [02/Mar/2026:10:00:04 +0000] "GET /a HTTP/1.1" 499 0 "-" "curl/8" 0.100 -',
    '192.0.2.1 - - [02/Mar/2026:10:00:59 -0130] "POST /b?c=d HTTP/2.0" 502 9 "https://r/" "ua x" 1.5 1.25',
    '192.0.2.1 - - [02/Mar/2026:10:00:04 +0000] "GET /a HTTP/1.1" 099 5 "-" "curl/8"',
]


@pytest.mark.parametrize("line", NGINX_SHAPES)
def test_nginx_fast_path_agrees_with_the_general_matcher(line: str) -> None:
    from parsers.nginx import NginxParser

    p = NginxParser()
    fast = p.parse_batch([line])[0]
    general = p.access.match(line)
    assert general is not None and fast.error is None
    assert (fast.ts_ns, fast.level, fast.message, fast.fields) == (
        general.ts_ns,
        general.level,
        general.message,
        general.fields,
    )


def test_a_matcher_that_raises_costs_only_its_line() -> None:
    from parsers.base import LineParser

    class Fragile(LineParser):
        name = "fragile"

        def match(self, line: str) -> Record | None:
            return Record(message=line) if line != "boom" else Record(ts_ns=1 // 0)

    recs = Fragile().parse_batch(["a", "boom", "b"])
    assert [r.error for r in recs] == [None, "parser error: ZeroDivisionError", None]
    assert recs[1].message == "boom"


def test_auto_does_not_stick_to_a_loose_format() -> None:
    auto = _parser("auto")
    recs = auto.parse_batch(["a=1 b=2 c=3", "Mar  2 10:00:00 h app[1]: x=1 y=2"])
    assert recs[0].fields == {"a": "1", "b": "2", "c": "3"}
    assert recs[1].fields["app"] == "app" and recs[1].message == "x=1 y=2"
    assert auto.detected == "syslog"
