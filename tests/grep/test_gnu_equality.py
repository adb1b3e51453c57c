"""Our output equals GNU grep's (LC_ALL=C), byte for byte, option by option, on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from logagent.grep import search
from tests.conftest import require_corpus
from tests.grep.conftest import gnu, ours

PATTERNS = {
    "literal-few": ["-F", "Googlebot"],
    "literal-many": ["-F", "GET"],
    "regex-alt": ["-E", "POST|DELETE"],
    "regex-class": ["-E", r'" (500|502|503) [0-9]+'],
    "icase-word": ["-i", "-w", "curl"],
    "no-match": ["-F", "zzz-not-there"],
    "regex-required-literal": ["-E", '[0-9]{4} "-"'],
    "regex-no-literal": ["-E", r"[0-9]{3}[.][0-9]|\s[A-Z]{6}\s"],
    "multi-e": ["-e", "login", "-e", "health"],
    "posix-class": ["-E", '[[:upper:]]{4,} /api|[[:digit:]]{4} "-"'],
}

OPTIONS = [
    [],
    ["-n"],
    ["-c"],
    ["-v"],
    ["-v", "-c"],
    ["-l"],
    ["-H"],
    ["-x"],
    ["-A", "2"],
    ["-B", "3"],
    ["-C", "1"],
    ["-n", "-C", "2"],
    ["-m", "5"],
    ["-m", "2", "-A", "3", "-n"],
    ["-v", "-n", "-B", "1"],
    ["-i"],
    ["-w"],
    ["--color=always"],
    ["--color=always", "-n", "-H", "-C", "1"],
    ["--color=always", "-v", "-A", "1"],
    ["-c", "-m", "3"],
    ["-l", "-v"],
    ["--color=always", "-i", "-w", "-n", "-B", "2"],
]


def _files(d: Path, which: str) -> list[str]:
    if which == "one":
        return [str(d / "access.log")]
    return [str(d / "access.log"), str(d / "other.log"), str(d / "edge.txt"), str(d / "empty.txt")]


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: " ".join(o) or "plain")
@pytest.mark.parametrize("pattern", list(PATTERNS), ids=str)
def test_same_output_as_gnu_grep_one_file(corpus_dir: Path, pattern: str, opts: list[str]) -> None:
    argv = [*opts, *PATTERNS[pattern], *_files(corpus_dir, "one")]
    want = gnu(argv)
    got = ours(argv)
    assert got.out == want.out
    assert got.rc == want.rc


@pytest.mark.parametrize(
    "opts",
    [
        [],
        ["-n"],
        ["-c"],
        ["-l"],
        ["-h"],
        ["-C", "1"],
        ["--color=always", "-n"],
        ["--color=always", "-c"],
        ["--color=always", "-l"],
        ["-v", "-c"],
        ["-m", "1"],
    ],
    ids=lambda o: " ".join(o) or "plain",
)
@pytest.mark.parametrize("pattern", ["icase-word", "literal-few", "regex-alt"], ids=str)
def test_same_output_as_gnu_grep_many_files(corpus_dir: Path, pattern: str, opts: list[str]) -> None:
    argv = [*opts, *PATTERNS[pattern], *_files(corpus_dir, "many")]
    want = gnu(argv)
    got = ours(argv)
    assert got.out == want.out
    assert got.rc == want.rc


@pytest.mark.parametrize(
    "opts", [["-n", "-C", "3"], ["-B", "5"], ["-A", "4", "-m", "7"], ["-v", "-n"], ["-c"], ["-w", "-i", "-n"]]
)
def test_same_output_across_chunk_boundaries(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch, opts: list[str]
) -> None:
    # Tiny chunks: context and line numbers must carry over from one chunk to the next, and a
    # line longer than a chunk must still come out whole.
    monkeypatch.setattr(search, "CHUNK_BYTES", 4096)
    argv = [*opts, "-e", "curl", "-e", "Googlebot", *_files(corpus_dir, "many")]
    want = gnu(argv)
    assert ours(argv).out == want.out


def test_recursive_directory(corpus_dir: Path) -> None:
    # GNU grep walks a directory in readdir order, we walk it sorted: compare as sets.
    argv = ["-r", "-n", "Googlebot", str(corpus_dir)]
    want = gnu(argv)
    got = ours(argv)
    assert sorted(got.out.splitlines()) == sorted(want.out.splitlines())
    assert got.rc == want.rc == 0


def test_recursive_names_as_gnu_grep(corpus_dir: Path) -> None:
    # One file operand: no name; no operand: `.` searched, names without `./`.
    one = ["-r", "-c", "Googlebot", "access.log"]
    assert ours(one, cwd=corpus_dir).out == gnu(one, cwd=corpus_dir).out
    dot = ["-r", "-c", "Googlebot"]
    assert sorted(ours(dot, cwd=corpus_dir).out.splitlines()) == sorted(
        gnu(dot, cwd=corpus_dir).out.splitlines()
    )


def test_real_corpus_file() -> None:
    path = require_corpus("nginx", "beats_nginx_access_test.log")
    for argv in (["-n", "GET"], ["-c", "-i", "mozilla"], ["-v", "-w", "200"]):
        want = gnu([*argv, str(path)])
        got = ours([*argv, str(path)])
        assert (got.out, got.rc) == (want.out, want.rc)


def test_exit_status_two_on_missing_file_even_with_a_match(corpus_dir: Path) -> None:
    argv = ["Googlebot", str(corpus_dir / "access.log"), str(corpus_dir / "missing.log")]
    want = gnu(argv)
    got = ours(argv)
    assert want.rc == got.rc == 2
    assert got.out == want.out


def test_binary_file_reports_a_match_and_stops(tmp_path: Path) -> None:
    f = tmp_path / "bin.dat"
    f.write_bytes(b"abc\nfoo\0bar\nfoo2\n")
    want = gnu(["foo", str(f)])
    got = ours(["foo", str(f)])
    assert got.out == want.out == b""
    assert got.rc == want.rc == 0
    assert ours(["-c", "foo", str(f)]).out == gnu(["-c", "foo", str(f)]).out == b"2\n"
    assert ours(["-a", "foo", str(f)]).out == gnu(["-a", "foo", str(f)]).out


def test_pattern_with_newline_is_two_patterns(corpus_dir: Path) -> None:
    argv = ["-F", "login\nhealth", str(corpus_dir / "access.log")]
    assert ours(argv).out == gnu(argv).out


def test_empty_pattern_matches_every_line(corpus_dir: Path) -> None:
    argv = ["-c", "", str(corpus_dir / "edge.txt")]
    assert ours(argv).out == gnu(argv).out


def test_directory_operand_without_recursion_is_an_error(corpus_dir: Path, tmp_path: Path) -> None:
    argv = ["Googlebot", str(tmp_path), str(corpus_dir / "other.log")]
    want, got = gnu(argv), ours(argv)
    assert (got.out, got.rc) == (want.out, want.rc)
    assert got.rc == 2
