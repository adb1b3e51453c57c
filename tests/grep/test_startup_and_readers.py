"""The plain search path stays lean (no heavy imports at start-up) and the readers cut files into
whole lines however the reads fall."""

from __future__ import annotations

import gzip
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from logagent.grep.search import Matcher, MatchOptions, open_chunks

# Modules `logagent grep -F x FILE` must not import: each costs start-up time on every search,
# and none is needed to search local files (the first two come with argparse's help formatter).
HEAVY = [
    "shutil",
    "bz2",
    "typing",
    "regex",
    "pydantic",
    "orjson",
    "aiohttp",
    "boto3",
    "prometheus_client",
    "logagent.config",
    "parsers",
    "subprocess",
]

_PROBE = """
import sys
from logagent.cli import main
rc = main(sys.argv[1:])
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(argv: list[str]) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, check=False, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    return set(proc.stderr.decode().split()[-1000:])


@pytest.mark.parametrize(
    "argv",
    [["-F", "x"], ["-c", "-F", "x"], ["-E", "POST|DELETE"], ["-i", "-w", "curl"]],
    ids=lambda a: " ".join(a),
)
def test_plain_search_imports_nothing_heavy(tmp_path: Path, argv: list[str]) -> None:
    f = tmp_path / "a.log"
    f.write_bytes(b"GET / x\nPOST /curl\n")
    loaded = _modules_after(["grep", *argv, str(f)])
    assert "logagent.grep.search" in loaded  # the probe did run a search
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_a_regex_the_literals_cannot_answer_is_compiled_at_once() -> None:
    # Exact literal sets skip the `regex` compile; anything else is compiled (and checked) upfront.
    assert Matcher(["POST|DELETE"], MatchOptions())._rx is None
    assert Matcher(["a[0-9]+b"], MatchOptions())._rx is not None


def _content(lines: list[bytes], final_newline: bool) -> bytes:
    data = b"\n".join(lines)
    return data + b"\n" if final_newline else data


@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, 4096])
def test_chunks_are_whole_lines_and_lose_nothing(
    tmp_path: Path, final_newline: bool, compressed: bool, chunk_bytes: int
) -> None:
    lines = [b"short", b"", b"x" * 300, b"a\0b", b"tail line"] * 3
    data = _content(lines, final_newline)
    path = tmp_path / "f.log"
    path.write_bytes(gzip.compress(data) if compressed else data)
    chunks = list(open_chunks(str(path), chunk_bytes))
    assert all(c.endswith(b"\n") for c in chunks)
    assert b"".join(chunks) == _content(lines, True)
    if not compressed and chunk_bytes >= 64:
        # Each chunk is one read plus the rest of its last line, never more.
        assert max(len(c) for c in chunks) <= chunk_bytes + 300


_FAULTS = """
import resource, sys
from logagent.grep import search
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
n = sum(len(c) for c in search.open_chunks(sys.argv[1]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, n)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's heap trimming")
def test_reading_a_big_file_reuses_heap_memory(tmp_path: Path) -> None:
    # Without _tune_malloc every ~120 KiB chunk was faulted in afresh: ~1,800 minor page faults
    # for these 16 MB (30 with it).
    path = tmp_path / "big.log"
    line = b'10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /api/v1/x HTTP/1.1" 200 512 "-" "curl/8"\n'
    path.write_bytes(line * (16_000_000 // len(line)))
    proc = subprocess.run(
        [sys.executable, "-c", _FAULTS, str(path)], capture_output=True, check=True, timeout=60
    )
    faults, size = map(int, proc.stdout.split())
    assert size == path.stat().st_size
    assert faults < 500
