"""Parser speed: lines/s and MiB/s per built-in parser on generated corpora, and ``nginx`` on the
1,000,000-line nginx corpus (bench/gen_nginx.py).

Run: ``.venv/bin/python -m bench.bench_parsers [--nginx PATH] [--lines N] [--only NAME ...] [--repeat N]``

Each parser reads its corpus in 4096-line batches (what the file source hands it) and the
records are dropped after each batch, as the pipeline does; the nginx file is streamed in 1 MiB
reads, split and parsed right away, as the file source does. ``cpu`` figures use the process's
CPU time (one core, so a loaded machine disturbs them less than wall time); ``wall`` is given too.
With ``--repeat N`` each row is the fastest of N passes (what ``timeit`` does too: the other
passes measure the machine's other load, not the parser). ``nginx`` runs with the compiled
reader (parsers/_speedups.c) when it is built; the ``nginx-python`` row is the same parser kept to
its pure-Python path (what an install without a C compiler runs).
For scale, the same loop with a bare ``re.match`` + ``groups()`` per line is printed as
``baseline``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import line_chunks
from parsers.base import Parser
from parsers.registry import get_parser

OUT = Path(__file__).resolve().parent / "out"
BATCH = 4096
_BASELINE = re.compile(r'(\S+) \S+ (\S+) \[([^\]]+)\] "([^"]*)" (\d+) (\d+) "([^"]*)" "([^"]*)"')


def _stamp(r: random.Random) -> str:
    return f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}"


def _json(r: random.Random) -> str:
    lvl = r.choice(["info", "warn", "error"])
    return (
        f'{{"time":"{_stamp(r)}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z","level":"{lvl}",'
        f'"msg":"request done","path":"/api/{r.randint(1, 999)}","status":200,'
        f'"took_ms":{r.randint(1, 900)},"user":{{"id":{r.randint(1, 10**6)}}}}}'
    )


def _logfmt(r: random.Random) -> str:
    lvl = r.choice(["info", "debug", "error"])
    return (
        f'ts={_stamp(r)}:{r.randint(0, 59):02d}Z level={lvl} msg="request done" '
        f"path=/api/{r.randint(1, 999)} status=200 took={r.randint(1, 900)}ms"
    )


def _syslog_head(r: random.Random) -> str:
    mon = r.choice(["Jan", "Feb", "Mar"])
    return f"{mon} {r.randint(1, 28):2d} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"


def _syslog(r: random.Random) -> str:
    app = f"app{r.randint(1, 5)}[{r.randint(100, 9999)}]"
    pri = r.randint(0, 191)
    return (
        f"<{pri}>{_syslog_head(r)} host{r.randint(1, 9)} {app}: something happened id={r.randint(1, 10**6)}"
    )


def _auth(r: random.Random) -> str:
    return (
        f"{_syslog_head(r)} bastion sshd[{r.randint(100, 9999)}]: Failed password for invalid user "
        f"u{r.randint(1, 99)} from 192.0.2.{r.randint(1, 254)} port {r.randint(1024, 65535)} ssh2"
    )


def _kernel(r: random.Random) -> str:
    up = f"{r.randint(0, 99999):6d}.{r.randint(0, 999999):06d}"
    vendor = f"{r.randint(0, 65535):04x}"
    return f"<{r.randint(0, 7)}>[{up}] usb 1-{r.randint(1, 9)}: new device found, idVendor={vendor}"


def _iptables(r: random.Random) -> str:
    return (
        f"{_syslog_head(r)} fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=aa:bb:cc "
        f"SRC=198.51.100.{r.randint(1, 254)} "
        f"DST=192.0.2.1 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID={r.randint(1, 65535)} DF PROTO=TCP "
        f"SPT={r.randint(1024, 65535)} DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0"
    )


def _rfc3339(r: random.Random) -> str:
    return f"2026-03-02T10:00:{r.randint(0, 59):02d}.{r.randint(0, 10**9 - 1):09d}Z"


def _docker(r: random.Random) -> str:
    log = f"GET /api/{r.randint(1, 999)} 200 {r.randint(1, 900)}ms\\n"
    return f'{{"log":"{log}","stream":"stdout","time":"{_rfc3339(r)}"}}'


def _cri(r: random.Random) -> str:
    return f"{_rfc3339(r)} stdout F GET /api/{r.randint(1, 999)} 200 {r.randint(1, 900)}ms"


def _java(r: random.Random) -> str:
    lvl = r.choice(["INFO", "WARN", "ERROR"])
    thread = f"pool-{r.randint(1, 4)}-thread-{r.randint(1, 16)}"
    ts = f"{_stamp(r).replace('T', ' ')}:{r.randint(0, 59):02d},{r.randint(0, 999):03d}"
    return f"{ts} {lvl} [{thread}] com.example.service.OrderService: order {r.randint(1, 10**6)} processed"


def _postgresql(r: random.Random) -> str:
    ts = f"2026-03-02 10:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d} UTC"
    took = f"{r.randint(0, 5000)}.{r.randint(0, 999):03d}"
    return f"{ts} [{r.randint(100, 9999)}] app@shop LOG:  duration: {took} ms  statement: SELECT 1"


def _haproxy(r: random.Random) -> str:
    accept = f"02/Mar/2026:10:00:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}"
    timers = f"1/0/2/{r.randint(1, 99)}/{r.randint(100, 200)}"
    return (
        f"Mar  2 10:00:{r.randint(0, 59):02d} lb1 haproxy[123]: "
        f"192.0.2.{r.randint(1, 254)}:{r.randint(1024, 65535)} "
        f"[{accept}] web~ api/s{r.randint(1, 4)} {timers} {r.choice([200, 404, 503])} {r.randint(100, 9999)} "
        f'- - ---- 3/3/1/1/0 0/0 "GET /api/{r.randint(1, 999)} HTTP/1.1"'
    )


def _aws_alb(r: random.Random) -> str:
    client = f"192.0.2.{r.randint(1, 254)}:{r.randint(1024, 65535)}"
    return (
        f"https {_rfc3339(r)[:-4]}Z app/lb/abc {client} 10.0.0.5:80 0.001 0.{r.randint(0, 999):03d} 0.000 "
        f'200 200 90 {r.randint(100, 9999)} "GET https://shop.example:443/api/{r.randint(1, 999)} HTTP/1.1" '
        '"Mozilla/5.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
        "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1 "
        '"Root=1-abc" "shop.example" "-" 0 2026-03-02T10:00:00.000000Z "forward" "-" "-" '
        '"10.0.0.5:80" "200" "-" "-"'
    )


# One line maker per parser: rng -> a realistic line of that format.
MAKERS: dict[str, Callable[[random.Random], str]] = {
    "json": _json,
    "logfmt": _logfmt,
    "syslog": _syslog,
    "auth": _auth,
    "kernel": _kernel,
    "iptables": _iptables,
    "docker": _docker,
    "cri": _cri,
    "java": _java,
    "postgresql": _postgresql,
    "haproxy": _haproxy,
    "aws_alb": _aws_alb,
}
MAKERS["auto"] = lambda r: MAKERS[r.choice(["syslog", "json", "java"])](r)


def corpus(name: str, n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    maker = MAKERS[name]
    return [maker(rng) for _ in range(n)]


def _baseline(batch: list[str]) -> None:
    """The ``baseline`` row's work: a bare regex match + ``groups()`` per line."""
    match = _BASELINE.match
    for ln in batch:
        m = match(ln)
        if m is not None:
            m.groups()


def measure(parser: Parser | None, lines: list[str]) -> dict[str, float]:
    """Parse ``lines`` in batches; returns lines/s and MiB/s (CPU and wall) and the error share."""
    nbytes = sum(len(ln) for ln in lines) + len(lines)
    errors = 0
    wall0 = time.perf_counter()
    cpu0 = time.process_time()
    for i in range(0, len(lines), BATCH):
        batch = lines[i : i + BATCH]
        if parser is None:
            _baseline(batch)
        else:
            errors += sum(1 for r in parser.parse_batch(batch) if r.error is not None)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    return {
        "lines_per_s_cpu": len(lines) / cpu,
        "mib_per_s_cpu": nbytes / 2**20 / cpu,
        "lines_per_s_wall": len(lines) / wall,
        "errors": errors / len(lines),
    }


def read_lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def measure_file(parser: Parser | None, path: Path, chunk_bytes: int = 1 << 20) -> dict[str, float]:
    """Stream ``path`` as the file source does (1 MiB reads, decode, split into lines, parse each
    batch right away, drop the records). ``cpu`` counts the parse calls only; ``wall`` the whole
    loop including reading and splitting."""
    nbytes = path.stat().st_size
    n = errors = 0
    parse_cpu = 0.0
    wall0 = time.perf_counter()
    for lines in line_chunks(path, chunk_bytes):
        for i in range(0, len(lines), BATCH):
            batch = lines[i : i + BATCH]
            cpu0 = time.process_time()
            if parser is None:
                _baseline(batch)
            else:
                recs = parser.parse_batch(batch)
            parse_cpu += time.process_time() - cpu0
            if parser is not None:
                errors += sum(1 for r in recs if r.error is not None)
            n += len(batch)
    wall = time.perf_counter() - wall0
    return {
        "lines": n,
        "lines_per_s_cpu": n / parse_cpu,
        "mib_per_s_cpu": nbytes / 2**20 / parse_cpu,
        "lines_per_s_wall": n / wall,
        "errors": errors / max(n, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="Parser throughput per built-in.")
    ap.add_argument(
        "--nginx", type=Path, default=OUT / "gen-nginx-1000000.log", help="nginx corpus (written if missing)"
    )
    ap.add_argument("--lines", type=int, default=100_000, help="lines per generated corpus")
    ap.add_argument("--only", nargs="*", help="parser names (default: all)")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="passes per measurement; the fastest (by CPU time) is shown (use 3 on a loaded machine)",
    )
    args = ap.parse_args()
    names = args.only or ["nginx", *MAKERS]
    print(
        f"{'parser':12} {'lines':>9} {'lines/s (cpu)':>14} {'MiB/s (cpu)':>12} "
        f"{'lines/s (wall)':>15} {'errors':>7}"
    )

    def row(name: str, n: int, res: dict[str, float]) -> None:
        print(
            f"{name:12} {n:9d} {res['lines_per_s_cpu']:14,.0f} {res['mib_per_s_cpu']:12.1f} "
            f"{res['lines_per_s_wall']:15,.0f} {res['errors']:7.2%}"
        )

    def best(run: Callable[[], dict[str, float]]) -> dict[str, float]:
        return max((run() for _ in range(max(args.repeat, 1))), key=lambda r: r["lines_per_s_cpu"])

    if "nginx" in names:
        if not args.nginx.exists():
            from bench.gen_nginx import generate

            args.nginx.parent.mkdir(parents=True, exist_ok=True)
            generate(args.nginx)
        from parsers.nginx import ACCELERATED, NginxParser

        makers: dict[str, Callable[[], Parser | None]] = {
            "baseline": lambda: None,
            "nginx": lambda: get_parser("nginx"),
            "nginx-python": lambda: NginxParser(compiled=False),
        }
        print(f"# nginx compiled reader (parsers._speedups): {'built' if ACCELERATED else 'NOT built'}")
        for name, make in makers.items():
            # A new parser per pass: every pass starts with cold caches.
            res = best(lambda make=make: measure_file(make(), args.nginx))
            row(name, int(res["lines"]), res)
    for name in names:
        if name == "nginx":
            continue
        lines = corpus(name, args.lines)
        res = best(lambda n=name, ls=lines: measure(get_parser(n), ls))
        row(name, len(lines), res)


if __name__ == "__main__":
    main()
