"""Rotated and compressed sets: a configured source's files in time order, and gzip/zstd read
transparently and streamed (compared with zgrep)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from logagent.grep import search
from logagent.grep.sources import configured_files
from tests.conftest import require_tool
from tests.grep.conftest import gnu, nginx_lines, ours


def _zgrep(argv: list[str]) -> bytes:
    zgrep = require_tool("zgrep")
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run([zgrep, *argv], capture_output=True, env=env, timeout=30).stdout


@pytest.fixture
def rotated(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    """access.log + .1 + .2.gz + .3.gz (oldest), an unrelated error.log, and a config."""
    d = tmp_path / "logs"
    d.mkdir()
    all_lines = nginx_lines(2000, seed=3)
    parts = [all_lines[i * 500 : (i + 1) * 500] for i in range(4)]  # oldest first
    names = ["access.log.3.gz", "access.log.2.gz", "access.log.1", "access.log"]
    paths = []
    for i, (name, lines) in enumerate(zip(names, parts, strict=True)):
        p = d / name
        data = ("\n".join(lines) + "\n").encode()
        p.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        os.utime(p, (1_700_000_000 + i * 3600, 1_700_000_000 + i * 3600))
        paths.append(p)
    (d / "error.log").write_text("curl in the error log\n")
    (d / "notes.txt.gz").write_bytes(gzip.compress(b"curl not a log\n"))
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f"""
[sources.web]
type = "file"
include = ["{d}/access*.log"]
exclude = ["*.gz", "*.1"]
parser = "nginx"

[sinks.out]
type = "file"
path = "{tmp_path}/out"
"""
    )
    return d, cfg, paths


def test_configured_source_files_oldest_first(rotated: tuple[Path, Path, list[Path]]) -> None:
    _, cfg, paths = rotated
    files, parser = configured_files(str(cfg), "web")
    assert files == [str(p) for p in paths]
    assert parser == "nginx"


def test_rotated_copy_is_dropped_when_exclude_names_its_base(tmp_path: Path) -> None:
    from logagent.grep.sources import rotated_files

    (tmp_path / "app.log.1.gz").write_bytes(gzip.compress(b"x\n"))
    (tmp_path / "debug.log.2").write_text("x\n")
    (tmp_path / "app.log.bak").write_text("x\n")  # not a rotation suffix
    found = rotated_files([f"{tmp_path}/*.log"], ["debug*"])
    assert found == [(f"{tmp_path}/app.log.1.gz", 1)]


def test_source_search_equals_zgrep_in_time_order(rotated: tuple[Path, Path, list[Path]]) -> None:
    _, cfg, paths = rotated
    want = _zgrep(["-H", "-i", "-w", "curl", *map(str, paths)])
    got = ours(["--config", str(cfg), "--source", "web", "-i", "-w", "curl"])
    assert got.out == want and got.rc == 0
    assert b"error.log" not in got.out and b"notes.txt" not in got.out


def test_count_over_gzip_equals_zgrep(rotated: tuple[Path, Path, list[Path]], monkeypatch) -> None:
    _, _, paths = rotated
    gz = str(paths[0])
    assert ours(["-c", "Googlebot", gz]).out == _zgrep(["-c", "Googlebot", gz])
    # Chunk edges inside the decompressed stream: lines must come out whole.
    monkeypatch.setattr(search, "CHUNK_BYTES", 1000)
    assert ours(["-n", "POST", gz]).out == _zgrep(["-n", "POST", gz])


def test_concatenated_gzip_members_are_one_stream(tmp_path: Path) -> None:
    a = ("\n".join(nginx_lines(100, seed=1)) + "\n").encode()
    b = ("\n".join(nginx_lines(100, seed=2)) + "\n").encode()
    f = tmp_path / "two.gz"
    f.write_bytes(gzip.compress(a) + gzip.compress(b))
    plain = tmp_path / "two.txt"
    plain.write_bytes(a + b)
    assert ours(["-n", "GET", str(f)]).out == gnu(["-n", "GET", str(plain)]).out


def test_truncated_gzip_prints_what_it_read_and_exits_2(tmp_path: Path) -> None:
    data = ("\n".join(nginx_lines(3000, seed=4)) + "\n").encode()
    comp = gzip.compress(data)
    f = tmp_path / "cut.gz"
    f.write_bytes(comp[: len(comp) // 2])
    got = ours(["-c", "GET", str(f)])
    assert got.rc == 2


def test_zstd_file_is_read_through_the_zstd_command(tmp_path: Path) -> None:
    zstd = require_tool("zstd")
    plain = tmp_path / "a.log"
    plain.write_text("\n".join(nginx_lines(1000, seed=5)) + "\n")
    subprocess.run([zstd, "-q", "-k", str(plain)], check=True)
    zst = tmp_path / "a.log.zst"
    assert zst.exists()
    assert ours(["-n", "-w", "curl", str(zst)]).out == gnu(["-n", "-w", "curl", str(plain)]).out


def test_gzip_without_gz_suffix_is_detected_by_magic(tmp_path: Path) -> None:
    plain = tmp_path / "a.log"
    plain.write_text("\n".join(nginx_lines(300, seed=6)) + "\n")
    rotated = tmp_path / "a.log.1"
    with open(plain, "rb") as src, gzip.open(rotated, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert ours(["DELETE", str(rotated)]).out == gnu(["DELETE", str(plain)]).out


def test_unknown_source_is_a_clear_error(rotated: tuple[Path, Path, list[Path]]) -> None:
    _, cfg, _ = rotated
    with pytest.raises(ValueError, match="no source 'nope'"):
        configured_files(str(cfg), "nope")
    assert ours(["--config", str(cfg), "--source", "nope", "x"]).rc == 2
