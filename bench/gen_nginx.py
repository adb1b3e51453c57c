"""Write a deterministic, realistic nginx access log (combined + $request_time
$upstream_response_time), ~200 bytes a line: 1,000,000 lines is ~200 MB.

Usage: ``.venv/bin/python bench/gen_nginx.py PATH [--lines 1000000] [--seed 1]``

Same arguments, same bytes (a seeded PRNG, a fixed start time). About 2-3 s per million lines:
pools of addresses, paths and agents are built once and lines are joined in chunks.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

START = 1_767_225_600  # 2026-01-01T00:00:00Z
METHODS = ["GET"] * 16 + ["POST"] * 3 + ["PUT", "DELETE", "HEAD", "OPTIONS"]
STATUSES = [200] * 40 + [304] * 6 + [301, 302, 201, 204] + [404] * 4 + [400, 401, 403, 499, 500, 502, 503]
PROTOCOLS = ["HTTP/1.1"] * 6 + ["HTTP/2.0"] * 3 + ["HTTP/1.0"]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Go-http-client/2.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Prometheus/2.51.0",
]
SECTIONS = [
    "api/v1/orders",
    "api/v1/users",
    "api/v2/search",
    "static/js",
    "static/css",
    "images/products",
    "cart",
]
REFERERS = ["-"] * 5 + [
    "https://shop.example.com/",
    "https://shop.example.com/cart",
    "https://www.google.com/",
    "https://shop.example.com/products/list?page=2",
]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _time_local(sec: int) -> str:
    t = time.gmtime(sec)
    day = f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}"
    return f"{day}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def generate(path: Path, lines: int = 1_000_000, seed: int = 1) -> int:
    """Write ``lines`` lines to ``path``; returns the bytes written."""
    rng = random.Random(seed)
    addrs = [
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(5000)
    ]
    users = ["-"] * 30 + ["alice", "bob", "svc-backup"]
    paths = []
    for _ in range(20000):
        sec = rng.choice(SECTIONS)
        ident = rng.randint(1, 999999)
        query = rng.choice(
            ["", "", f"?page={rng.randint(1, 50)}", f"?q=item{rng.randint(1, 9999)}&sort=price"]
        )
        ext = (
            ".js"
            if sec == "static/js"
            else ".css"
            if sec == "static/css"
            else ".jpg"
            if sec.startswith("im")
            else ""
        )
        paths.append(f"/{sec}/{ident}{ext}{query}")
    # Value pools drawn once; per line only list picks (drawn in bulk) and one f-string.
    sizes = [str(rng.randint(200, 60000)) for _ in range(10000)]
    timings_ok = [f"{x:.3f} {x * 0.95:.3f}" for x in (rng.random() * 0.3 for _ in range(10000))]
    timings_err = [f"{x:.3f} {x * 0.95:.3f}" for x in (rng.random() * 2.0 for _ in range(1000))]
    pick = rng.choices
    written = 0
    sec = START
    stamp = _time_local(sec)
    chunk = 20000
    with open(path, "wb") as f:
        done = 0
        while done < lines:
            n = min(chunk, lines - done)
            # Always draw whole chunks so a shorter file is a prefix of a longer one.
            a = pick(addrs, k=chunk)
            u = pick(users, k=chunk)
            m = pick(METHODS, k=chunk)
            p = pick(paths, k=chunk)
            pr = pick(PROTOCOLS, k=chunk)
            st = pick(STATUSES, k=chunk)
            ref = pick(REFERERS, k=chunk)
            ag = pick(AGENTS, k=chunk)
            sz = pick(sizes, k=chunk)
            tok = pick(timings_ok, k=chunk)
            terr = pick(timings_err, k=chunk)
            tick = [r < 0.3 for r in (rng.random() for _ in range(chunk))]
            out = []
            for i in range(n):
                if tick[i]:
                    sec += 1
                    stamp = _time_local(sec)
                status = st[i]
                size = "0" if status == 304 or status == 204 else sz[i]
                if status >= 500:
                    timing = terr[i]
                elif status == 499:
                    timing = tok[i].split(" ")[0] + " -"
                else:
                    timing = tok[i]
                request = f"{m[i]} {p[i]} {pr[i]}"
                out.append(
                    f'{a[i]} - {u[i]} [{stamp}] "{request}" {status} {size} "{ref[i]}" "{ag[i]}" {timing}\n'
                )
            data = "".join(out).encode()
            f.write(data)
            written += len(data)
            done += n
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    started = time.perf_counter()
    n = generate(args.path, args.lines, args.seed)
    took = time.perf_counter() - started
    print(f"wrote {args.lines} lines, {n / 2**20:.1f} MiB to {args.path} in {took:.1f}s")


if __name__ == "__main__":
    main()
