"""Deterministic nginx-style corpora for the benchmarks (cached under bench/out/)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

_PATHS = [
    "/",
    "/index.html",
    "/api/v1/users",
    "/api/v1/orders",
    "/static/app.js",
    "/static/style.css",
    "/login",
    "/logout",
    "/api/v1/search?q=shoes&page=2",
    "/health",
    "/favicon.ico",
    "/img/logo.png",
]
_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "curl/8.4.0",
    "Prometheus/2.42.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
]
_METHODS = ["GET"] * 8 + ["POST", "PUT", "DELETE"]
_STATUS = [200] * 40 + [301, 304, 304, 400, 401, 403, 404, 404, 404, 500, 502, 503]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def nginx_lines(n: int, seed: int = 42) -> list[str]:
    """``n`` combined-format lines with a trailing request_time, about 200 bytes each."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        sec = i // 50
        ts = (
            f"{1 + (sec // 86400) % 28:02d}/{_MONTHS[(sec // (86400 * 28)) % 12]}/2024:"
            f"{(sec // 3600) % 24:02d}:{(sec // 60) % 60:02d}:{sec % 60:02d} +0000"
        )
        status = rng.choice(_STATUS)
        out.append(
            f'{ip} - - [{ts}] "{rng.choice(_METHODS)} {rng.choice(_PATHS)} HTTP/1.1" {status} '
            f'{rng.randint(0, 50000)} "https://example.com/ref/{rng.randint(0, 999)}" '
            f'"{rng.choice(_AGENTS)}" {rng.random() * 2:.3f}\n'
        )
    return out


def nginx_corpus(lines: int = 1_000_000) -> Path:
    """A cached file of ``lines`` nginx lines (~200 MB for a million)."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"nginx-{lines}.log"
    if not path.exists() or path.stat().st_size == 0:
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            step = 100_000
            for start in range(0, lines, step):
                f.writelines(nginx_lines(min(step, lines - start), seed=start))
        tmp.rename(path)
    return path


def line_chunks(path: Path, chunk_bytes: int) -> Iterator[list[str]]:
    """The lines of ``path`` (without newlines) as the file source reads them: ``chunk_bytes``
    reads cut at the last newline, decoded (invalid UTF-8 replaced) and split, one list per read.
    A last line without a newline is not returned."""
    with path.open("rb") as f:
        rest = b""
        while True:
            data = f.read(chunk_bytes)
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            lines = data[:cut].decode("utf-8", "replace").split("\n")
            lines.pop()  # after the last newline
            yield lines
