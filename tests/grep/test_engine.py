"""The byte engine's shortcuts (literal pre-filters, exact literal sets, word checks without a
regex, lower-cased haystacks) select exactly the lines a plain per-line regex selects."""

from __future__ import annotations

import random

import pytest
import regex

from logagent.grep.search import Matcher, MatchOptions, exact_literals, required_literals

WORDS = [
    "curl",
    "Curl",
    "CURL",
    "curl_",
    "xcurl",
    "POST",
    "post",
    "DELETE",
    "GET /api",
    "a.b",
    "ab",
    "-",
    " ",
    "\t",
]
PATTERNS = [
    (["curl"], MatchOptions(fixed=True)),
    (["curl"], MatchOptions(fixed=True, ignore_case=True, word=True)),
    (["curl", "POST"], MatchOptions(fixed=True, word=True)),
    (["a.b"], MatchOptions(fixed=True)),
    (["DELETE"], MatchOptions(fixed=True)),  # 'D' is rare here: found by memchr on it
    (["POST|DELETE"], MatchOptions()),
    (["POST|DELETE"], MatchOptions(ignore_case=True, word=True)),
    (["POST|DELETE"], MatchOptions(ignore_case=True)),
    (["curl"], MatchOptions(fixed=True, ignore_case=True)),
    (["GET /(api|x)"], MatchOptions()),
    ([r"(?<=GET )/api"], MatchOptions()),
    ([r"cu(rl)+"], MatchOptions(ignore_case=True)),
    ([r"\bcurl\b"], MatchOptions()),
    ([r"x(?i:curl)"], MatchOptions()),
    ([r"[0-9]+|\s-\s"], MatchOptions()),
    (["curl"], MatchOptions(line=True)),
    (["POST|curl"], MatchOptions(line=True, ignore_case=True)),
    (["^POST", "DELETE$"], MatchOptions()),
    ([""], MatchOptions(fixed=True)),
    ([r"[[:upper:]]{4}"], MatchOptions()),  # a POSIX class, not a set of ':', 'u', 'p', ...
    ([r"x[[:alpha:]]+"], MatchOptions(ignore_case=True)),
]


def _reference(patterns: list[str], o: MatchOptions, lines: list[bytes]) -> list[int]:
    body = "|".join(regex.escape(p) if o.fixed else f"(?:{p})" for p in patterns)
    if o.line:
        body = f"^(?:{body})$"
    elif o.word:
        body = f"(?<![A-Za-z0-9_])(?:{body})(?![A-Za-z0-9_])"
    rx = regex.compile(body.encode(), regex.IGNORECASE if o.ignore_case else 0)
    return [i for i, line in enumerate(lines) if rx.search(line)]


def _selected(m: Matcher, chunk: bytes, invert: bool = False) -> list[int]:
    starts = [0, *[i + 1 for i, c in enumerate(chunk) if c == 10][:-1]]
    index = {s: i for i, s in enumerate(starts)}
    out = []
    for s, e in m.runs(chunk, invert):
        out.extend(index[s] + k for k in range(chunk.count(b"\n", s, e)))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("patterns,opts", PATTERNS, ids=lambda x: str(x))
def test_runs_equal_per_line_regex(patterns: list[str], opts: MatchOptions, seed: int) -> None:
    rng = random.Random(seed)
    lines = [
        "".join(
            rng.choice(WORDS) + rng.choice(["", " ", "_", "."]) for _ in range(rng.randint(0, 6))
        ).encode()
        for _ in range(300)
    ]
    chunk = b"\n".join(lines) + b"\n"
    m = Matcher(patterns, opts)
    want = _reference(patterns, opts, lines)
    assert _selected(m, chunk) == want
    assert _selected(m, chunk, invert=True) == [i for i in range(len(lines)) if i not in set(want)]


def test_literal_sets() -> None:
    assert exact_literals(["POST|DELETE"]) == [b"DELETE", b"POST"]
    assert exact_literals(["GET /(api|x)"]) == [b"GET /api", b"GET /x"]
    assert exact_literals(["^GET"]) is None  # anchored: not a plain literal search
    assert exact_literals(["a(?i:b)"]) is None
    assert required_literals([r'" (500|502|503) [0-9]+']) == ([b'" 500 ', b'" 502 ', b'" 503 '], False)
    assert required_literals([r"\d+"]) is None
    assert required_literals(["x[[:digit:]]y"]) is None  # `regex` reads a POSIX class here
    m = Matcher(["POST|DELETE"], MatchOptions())
    assert m.exact and m.literals == [b"DELETE", b"POST"]


def test_rare_byte_strategy_is_taken_and_exact() -> None:
    rng = random.Random(5)
    lines = [" ".join(rng.choice(["aaa", "bbb", "xylophone", "cab"]) for _ in range(5)) for _ in range(2000)]
    lines[::97] = ["has xylophone here"] * len(lines[::97])
    chunk = ("\n".join(lines) + "\n").encode()
    m = Matcher(["phone here"], MatchOptions(fixed=True))
    got = _selected(m, chunk)
    assert m._rare and m._rare[0]  # the literal's rare byte ('h' or 'r' only occur inside it) was chosen
    assert got == [i for i, line in enumerate(lines) if "phone here" in line]
