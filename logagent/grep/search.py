"""The local search engine: which lines of a buffer match, found without a Python loop per line.

A buffer ("chunk") is a run of whole lines, each ending in ``\\n``. The engine looks for the
pattern in the whole chunk with one C call (``bytes.find`` for literals, a compiled ``regex`` for
the rest) and only around each hit finds the line's bounds; consecutive matching lines are merged
into one *run* ``(start, end)`` so plain output is a slice per run. A regex is not run over every
line: the literals every match must contain (``POST|DELETE`` -> ``{POST, DELETE}``) are found with
``bytes.find`` first, and only the lines holding one are checked by the regex. ``-i`` searches a
lower-cased copy of the chunk (byte offsets are unchanged in the C locale).

Readers turn a file (plain, gzip, zstd) into such chunks, streaming: a file is never loaded
whole.
"""

from __future__ import annotations

import os
import re
import zlib
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing `typing` slows every start
if TYPE_CHECKING:
    from typing import IO, Any, BinaryIO, NamedTuple

    import regex

# `regex`, `typing` and `subprocess` are imported when first needed, and the regex analysis
# below compiles its own helpers lazily: `grep -F` starts faster without them.

NL = b"\n"
#: Bytes per chunk: big enough that per-chunk overhead vanishes, and kept under glibc's mmap
#: threshold (128 KiB) so each chunk reuses heap memory: 1 MiB chunks cost a fresh mmap and a page
#: fault per 4 KiB, which tripled the system time of `grep -F`.
CHUNK_BYTES = 120 * 1024
#: Compressed bytes fed to the decompressor per call.
COMPRESSED_READ_BYTES = 256 * 1024
#: ASCII word constituents, as GNU grep's ``-w`` defines them in the C locale.
_WORD = "A-Za-z0-9_"
#: At most this many alternative literals are used to pre-filter a regex.
_MAX_LITERALS = 8
#: Several literals sharing a prefix this long are searched by the prefix alone.
_MIN_SHARED_PREFIX = 3
#: Cross products of literal sets (``(a|b)(c|d)``) are kept up to this size.
_MAX_EXACT = 16

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class PatternError(ValueError):
    """The pattern cannot be compiled."""


if TYPE_CHECKING:

    class MatchOptions(NamedTuple):
        """How patterns are interpreted (grep's ``-F``, ``-i``, ``-w``, ``-x``)."""

        fixed: bool = False
        ignore_case: bool = False
        word: bool = False
        line: bool = False

else:  # the same tuple, built without `typing`

    class MatchOptions(namedtuple("MatchOptions", "fixed ignore_case word line", defaults=(False,) * 4)):
        """How patterns are interpreted (grep's ``-F``, ``-i``, ``-w``, ``-x``)."""

        __slots__ = ()


def split_patterns(patterns: list[str]) -> list[str]:
    """GNU grep treats each newline-separated part of a pattern as its own pattern."""
    out: list[str] = []
    for p in patterns:
        out.extend(p.split("\n"))
    return out


class Matcher:
    """Finds matching lines of a chunk.

    Built once per search; :meth:`runs` is the hot path.
    """

    def __init__(self, patterns: list[str], options: MatchOptions) -> None:
        self.options = options
        pats = split_patterns(patterns)
        bpats = [p.encode("utf-8", "surrogateescape") for p in pats]
        self.match_all = False
        self.literals: list[bytes] | None = None  # candidates come from these (in `hay`)
        self.lower_hay = False  # search a lower-cased copy of the chunk
        self.exact = False  # a literal hit is a match, no verification needed
        self.word_literals = False  # a literal hit with word boundaries around it is a match
        if options.fixed:
            body = b"|".join(re.escape(p) for p in bpats)
        else:
            body = b"|".join(b"(?:" + p + b")" for p in bpats) if len(bpats) > 1 else bpats[0]
        if options.line:
            body = b"^(?:" + body + b")$"
        elif options.word:
            w = _WORD.encode()
            body = b"(?<![" + w + b"])(?:" + body + b")(?![" + w + b"])"
        self._body = body
        self._flags = options.ignore_case
        self._rx: Any = None
        if options.fixed and not options.word and not options.line:
            if any(p == b"" for p in bpats):
                self.match_all = True
            self.literals = sorted(set(bpats))
            self.lower_hay = options.ignore_case
            self.exact = True
        elif options.fixed:
            lits = sorted({p for p in bpats if p})
            if lits and len(lits) <= _MAX_LITERALS:
                self.literals = lits
                self.lower_hay = options.ignore_case
                self.word_literals = options.word and not options.line
        else:
            texts = [p.decode("utf-8", "surrogateescape") for p in bpats]
            exact = exact_literals(texts)
            found = required_literals(texts) if exact is None else None
            if exact is not None and not options.line:
                self.literals = exact
                self.lower_hay = options.ignore_case
                self.exact = not options.word
                self.word_literals = options.word
            elif exact is not None:  # -x: the literals find candidates, the regex decides
                self.literals = exact
                self.lower_hay = options.ignore_case
            if found is not None:
                lits, icase = found
                self.literals = sorted(set(lits))
                self.lower_hay = icase or options.ignore_case
        if self.lower_hay and self.literals is not None:
            self.literals = sorted({lit.lower() for lit in self.literals})
        if self.literals is not None and len(self.literals) > 1:
            # Literals sharing a long prefix (`" 500 `, `" 502 `): one pass for the prefix, then
            # the regex checks each candidate line, beats one pass per literal.
            lcp = os.path.commonprefix(self.literals)  # noqa: RUF071 (bytes, not paths)
            # Typeshed says `bytes | ''` (the empty-list case): the list has >1 bytes items here.
            assert isinstance(lcp, bytes)
            if len(lcp) >= _MIN_SHARED_PREFIX:
                self.literals = [lcp]
                self.exact = self.word_literals = False
        if self.match_all:
            self.literals = None
        elif self.literals is None or not (self.exact or self.word_literals):
            # Compile now: a bad pattern is an error before any file is read. Searches that only
            # find literals skip it (`import regex` costs ~15 ms of start-up): `-F` patterns are
            # valid by construction, and exact strings were only found if the pattern parsed.
            _ = self.regex
        self._rare: list[int] | None = None  # per literal, see _rare_byte; set on the first chunk
        # A C-level per-line predicate, for chunks where most lines match (see output.py).
        self.line_filter: Callable[[bytes], object] | None = None
        if self.literals is not None and len(self.literals) == 1 and self.exact and not self.lower_hay:
            self.line_filter = re.compile(re.escape(self.literals[0])).search

    @property
    def regex(self) -> regex.Pattern[bytes]:
        """The whole pattern as one compiled ``regex`` (compiled on first use)."""
        if self._rx is None:
            import regex

            flags = regex.MULTILINE | (regex.IGNORECASE if self._flags else 0)
            try:
                self._rx = regex.compile(self._body, flags)
            except (regex.error, OverflowError) as exc:
                raise PatternError(f"invalid regular expression: {exc}") from None
        return self._rx

    # --- per line (colour, fields mode) -------------------------------------------------

    def line_matches(self, line: bytes) -> bool:
        return self.match_all or self.regex.search(line) is not None

    def spans(self, line: bytes) -> list[tuple[int, int]]:
        """Non-empty match spans in ``line`` (for colour)."""
        return [m.span() for m in self.regex.finditer(line) if m.end() > m.start()]

    # --- per chunk ----------------------------------------------------------------------

    def runs(self, chunk: bytes, invert: bool = False) -> list[tuple[int, int]]:
        """Maximal runs ``(start, end)`` of consecutive selected lines of ``chunk``.

        ``chunk`` is whole lines, each ending in ``\\n``; ``end`` is just past a newline.
        """
        n = len(chunk)
        if self.match_all:
            return [] if invert else ([(0, n)] if n else [])
        matched = self._matched_runs(chunk)
        if not invert:
            return matched
        out: list[tuple[int, int]] = []
        prev = 0
        for s, e in matched:
            if s > prev:
                out.append((prev, s))
            prev = e
        if prev < n:
            out.append((prev, n))
        return out

    def _matched_runs(self, chunk: bytes) -> list[tuple[int, int]]:
        lits = self.literals
        if lits is not None and self.exact:
            # Runs found in the lower-cased copy are the same offsets in the chunk.
            hay = chunk.lower() if self.lower_hay else chunk
            if self._rare is None:
                self._rare = [_rare_byte(hay, lit) for lit in lits]
            parts = [
                _runs_rare_byte(hay, lit, rare) if rare else _runs_single_literal(hay, lit)
                for lit, rare in zip(lits, self._rare, strict=True)
            ]
            return parts[0] if len(parts) == 1 else _merge_runs(parts)
        if lits is not None:
            hay = chunk.lower() if self.lower_hay else chunk
            if self.word_literals and len(lits) == 1:
                return _runs_word_literal(hay, lits[0])
            cand = _candidate_finder(hay, lits)
            if self.word_literals:
                return _runs_word_literals(chunk, hay, cand, lits)
            verify = None if self.exact else self.regex.search
            return _runs_candidates(chunk, cand, verify)
        return _runs_regex(chunk, self.regex.search)


def _runs_single_literal(chunk: bytes, lit: bytes) -> list[tuple[int, int]]:
    # The hot loop of `grep -F`: three C calls per matching line, none per other line.
    find = chunk.find
    rfind = chunk.rfind
    runs: list[tuple[int, int]] = []
    app = runs.append
    rs = re_ = -1
    p = find(lit)
    while p >= 0:
        ls = rfind(NL, 0, p) + 1
        le = find(NL, p) + 1
        if ls != re_:
            if rs >= 0:
                app((rs, re_))
            rs = ls
        re_ = le
        p = find(lit, le)
    if rs >= 0:
        app((rs, re_))
    return runs


def _rare_byte(sample: bytes, lit: bytes) -> int:
    """1 + the index in ``lit`` of a byte worth scanning for with ``memchr``, or 0.

    ``bytes.find`` scans at about 1 GB/s; ``memchr`` for a single byte is many times faster. When
    a byte of the literal is rare in the text (in the first chunk: nearly only inside the literal's
    own occurrences, or under one per 2 KB), finding it and checking the literal around it wins.
    """
    if len(lit) < 2 or len(sample) < 4096:
        return 0
    counts = [(sample.count(lit[i : i + 1]), i) for i in range(len(lit))]
    rare, i = min(counts)
    hits = sample.count(lit)
    if rare <= max(4, hits + hits // 4) or rare * 2048 < len(sample):
        return i + 1
    return 0


def _runs_rare_byte(chunk: bytes, lit: bytes, rare: int) -> list[tuple[int, int]]:
    # _runs_single_literal, with the literal found by memchr on its rarest byte.
    off = rare - 1
    rb = lit[off : off + 1]
    find = chunk.find
    rfind = chunk.rfind
    startswith = chunk.startswith
    runs: list[tuple[int, int]] = []
    app = runs.append
    rs = re_ = -1
    pos = 0
    while True:
        q = find(rb, pos + off)
        if q < 0:
            break
        p = q - off
        if not startswith(lit, p):
            pos = p + 1
            continue
        ls = rfind(NL, 0, p) + 1
        le = find(NL, p) + 1
        if ls != re_:
            if rs >= 0:
                app((rs, re_))
            rs = ls
        re_ = le
        pos = le
    if rs >= 0:
        app((rs, re_))
    return runs


def _merge_runs(parts: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    """The union of several sorted run lists (one per literal), merged where they touch."""
    allr = sorted([r for part in parts for r in part])
    if not allr:
        return allr
    out: list[tuple[int, int]] = []
    app = out.append
    cs, ce = allr[0]
    for s, e in allr:
        if s <= ce:
            if e > ce:
                ce = e
        else:
            app((cs, ce))
            cs, ce = s, e
    app((cs, ce))
    return out


def _candidate_finder(hay: bytes, lits: list[bytes]) -> Callable[[int], int]:
    """A function ``pos -> first offset >= pos where any literal starts, or -1``."""
    find = hay.find
    if len(lits) == 1:
        lit = lits[0]
        return lambda pos: find(lit, pos)
    nxt = [find(lit) for lit in lits]

    def cand(pos: int) -> int:
        best = -1
        for i, p in enumerate(nxt):
            if 0 <= p < pos:
                p = nxt[i] = find(lits[i], pos)
            if p >= 0 and (best < 0 or p < best):
                best = p
        return best

    return cand


def _runs_candidates(
    chunk: bytes, cand: Callable[[int], int], verify: Callable[..., object] | None
) -> list[tuple[int, int]]:
    find = chunk.find
    rfind = chunk.rfind
    runs: list[tuple[int, int]] = []
    app = runs.append
    rs = re_ = -1
    p = cand(0)
    while p >= 0:
        ls = rfind(NL, 0, p) + 1
        le = find(NL, p) + 1
        if verify is None or verify(chunk, ls, le - 1) is not None:
            if ls != re_:
                if rs >= 0:
                    app((rs, re_))
                rs = ls
            re_ = le
        p = cand(le)
    if rs >= 0:
        app((rs, re_))
    return runs


_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _runs_word_literal(hay: bytes, lit: bytes) -> list[tuple[int, int]]:
    # _runs_word_literals for one literal (`grep -w curl`), with no Python call per hit beyond
    # the C methods. Line bounds come from `hay`: lower-casing keeps every newline in place.
    find = hay.find
    rfind = hay.rfind
    n = len(hay)
    m = len(lit)
    word = _WORD_BYTES
    runs: list[tuple[int, int]] = []
    app = runs.append
    rs = re_ = -1
    p = find(lit)
    while p >= 0:
        e = p + m
        if (p and hay[p - 1] in word) or (e < n and hay[e] in word):
            p = find(lit, p + 1)
            continue
        ls = rfind(NL, 0, p) + 1
        le = find(NL, e) + 1
        if ls != re_:
            if rs >= 0:
                app((rs, re_))
            rs = ls
        re_ = le
        p = find(lit, le)
    if rs >= 0:
        app((rs, re_))
    return runs


def _runs_word_literals(
    chunk: bytes, hay: bytes, cand: Callable[[int], int], lits: list[bytes]
) -> list[tuple[int, int]]:
    # `-w` on literals: a hit counts when no word byte touches it on either side; otherwise the
    # search goes on from the next byte (GNU grep's rule), without running a regex.
    find = chunk.find
    rfind = chunk.rfind
    n = len(hay)
    word = _WORD_BYTES
    startswith = hay.startswith
    runs: list[tuple[int, int]] = []
    app = runs.append
    rs = re_ = -1
    p = cand(0)
    while p >= 0:
        ok = p == 0 or hay[p - 1] not in word
        if ok:
            ok = False
            for lit in lits:
                e = p + len(lit)
                if startswith(lit, p) and (e >= n or hay[e] not in word):
                    ok = True
                    break
        if not ok:
            p = cand(p + 1)
            continue
        ls = rfind(NL, 0, p) + 1
        le = find(NL, p) + 1
        if ls != re_:
            if rs >= 0:
                app((rs, re_))
            rs = ls
        re_ = le
        p = cand(le)
    if rs >= 0:
        app((rs, re_))
    return runs


def _runs_regex(chunk: bytes, search: Callable[..., regex.Match[bytes] | None]) -> list[tuple[int, int]]:
    # No literal to pre-filter on: let the regex engine scan the whole chunk, and check any match
    # that runs past its line's end (`\s`, `[^x]` can match a newline) against the line alone.
    find = chunk.find
    rfind = chunk.rfind
    runs: list[tuple[int, int]] = []
    app = runs.append
    rs = re_ = -1
    pos = 0
    n = len(chunk)
    while pos < n:
        m = search(chunk, pos)
        if m is None:
            break
        s, e = m.span()
        ls = rfind(NL, 0, s) + 1
        le = find(NL, s) + 1 or n
        if e <= le - 1 or search(chunk, ls, le - 1) is not None:
            if ls != re_:
                if rs >= 0:
                    app((rs, re_))
                rs = ls
            re_ = le
        pos = le
    if rs >= 0:
        app((rs, re_))
    return runs


# --- required literals of a regex ------------------------------------------------------------

try:  # the parser of the stdlib `re` (Python 3.11+); a pattern it rejects just gets no pre-filter
    # Private CPython modules: typeshed has no stubs for them, hence the ignores.
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _sre_parse = None


# An inline flag group turning on case-insensitivity, for all or part of a pattern.
# (Pattern text, compiled by `re`'s cache on first use: `-F` never needs it.)
_INLINE_I = r"\(\?[a-zA-Z]*i[a-zA-Z]*(?:-[a-zA-Z]*)?[:)]"


class _Info:
    __slots__ = ("exact", "must")

    def __init__(self, exact: set[bytes] | None, must: set[bytes] | None) -> None:
        self.exact = exact  # every string this piece can match, when few and known
        self.must = must  # every match contains one of these


def _best(cands: list[set[bytes]]) -> set[bytes] | None:
    best: set[bytes] | None = None
    best_key = (0, 0)
    for c in cands:
        if not c or b"" in c or len(c) > _MAX_LITERALS:
            continue
        key = (min(len(s) for s in c), -len(c))
        if key > best_key:
            best, best_key = c, key
    return best


def _info_seq(items: list) -> _Info:
    run: set[bytes] = {b""}
    cands: list[set[bytes]] = []
    broken = False
    for op, av in items:
        info = _info_item(op, av)
        if info.exact is not None and len(run) * len(info.exact) <= _MAX_EXACT:
            run = {a + b for a in run for b in info.exact}
            continue
        cands.append(run)
        if info.must:
            cands.append(info.must)
        broken = True
        if info.exact is not None and len(info.exact) <= _MAX_EXACT:
            run = set(info.exact)
        else:
            run = {b""}
    cands.append(run)
    return _Info(exact=None if broken else run, must=_best(cands))


def _info_item(op, av) -> _Info:
    if op is _c.LITERAL:
        return _Info({bytes([av])} if av < 256 else None, None)
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return _Info({b""}, None)
    if op is _c.IN:
        chars: set[bytes] = set()
        for iop, iav in av:
            if iop is _c.LITERAL and iav < 256:
                chars.add(bytes([iav]))
            elif iop is _c.RANGE and iav[1] - iav[0] < 8 and iav[1] < 256:
                chars.update(bytes([c]) for c in range(iav[0], iav[1] + 1))
            else:
                return _Info(None, None)
        return _Info(chars if len(chars) <= _MAX_EXACT else None, None)
    if op is _c.SUBPATTERN:
        return _info_seq(list(av[3]))
    if op is _c.ATOMIC_GROUP:
        return _info_seq(list(av))
    if op is _c.BRANCH:
        infos = [_info_seq(list(alt)) for alt in av[1]]
        exact: set[bytes] | None = set()
        for i in infos:
            if i.exact is None or exact is None:
                exact = None
            else:
                exact |= i.exact
        if exact is not None and len(exact) > _MAX_EXACT:
            exact = None
        must: set[bytes] | None = set()
        for i in infos:
            own = _best([s for s in (i.exact, i.must) if s is not None])
            if own is None or must is None:
                must = None
            else:
                must |= own
        return _Info(exact, must)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
        lo, hi, item = av
        inner = _info_seq(list(item))
        if lo == 0:
            return _Info({b""} if hi == 0 else None, None)
        own = _best([s for s in (inner.exact, inner.must) if s is not None])
        if lo == hi and inner.exact is not None and len(inner.exact) == 1 and lo <= 64:
            (s,) = inner.exact
            return _Info({s * lo}, own)
        return _Info(None, own)
    return _Info(None, None)


# Constructs `regex` reads differently from the stdlib parser used here for the literal analysis
# (POSIX classes like `[[:digit:]]`, nested sets, property classes, version flags): such
# patterns get no pre-filter rather than a wrong one.
_DIFFERS_FROM_RE = r"\[[:=.\[]|\\[pPXLNGKm]|\(\?[^)]*V\d|\(\?\|"


def _parse(pat: str) -> object | None:
    """The stdlib parse tree of ``pat`` (as bytes), or None when it may not mean what `regex`
    means by it."""
    if _sre_parse is None or re.search(_DIFFERS_FROM_RE, pat):
        return None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "possible nested set": treat as unknown
        try:
            return _sre_parse.parse(pat.encode("utf-8", "surrogateescape"), 0)
        except Exception:  # anything the stdlib parser rejects or doubts
            return None


def required_literals(patterns: list[str]) -> tuple[list[bytes], bool] | None:
    """Literals one of which every match of any pattern contains, and whether to compare
    them case-insensitively; None when no useful set is known (then the regex scans all).
    """
    lits: set[bytes] = set()
    icase = False
    for pat in patterns:
        parsed: Any = _parse(pat)
        if parsed is None:
            return None
        if parsed.state.flags & _c.SRE_FLAG_IGNORECASE or re.search(_INLINE_I, pat):
            # Inline flags may turn on case-insensitivity for a part: compare lower-cased.
            icase = True
        info = _info_seq(list(parsed))
        own = _best([s for s in (info.exact, info.must) if s is not None])
        if own is None:
            return None
        lits |= own
    if not lits or len(lits) > _MAX_LITERALS or min(len(s) for s in lits) < 2:
        return None
    return sorted(lits), icase


def _has_assertion(items: list) -> bool:
    for op, av in items:
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT, _c.GROUPREF):
            return True
        if op is _c.SUBPATTERN:
            if av[1] or av[2] or _has_assertion(list(av[3])):  # inline flags, or inside
                return True
        elif op is _c.BRANCH:
            if any(_has_assertion(list(alt)) for alt in av[1]):
                return True
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
            if _has_assertion(list(av[2])):
                return True
        elif op is _c.ATOMIC_GROUP and _has_assertion(list(av)):
            return True
    return False


def exact_literals(patterns: list[str]) -> list[bytes] | None:
    """The finite set of strings the patterns match exactly (``POST|DELETE``), when there is one:
    then finding a literal is finding a match, and no regex needs to run."""
    out: set[bytes] = set()
    for pat in patterns:
        parsed: Any = _parse(pat)
        if parsed is None:
            return None
        if parsed.state.flags & ~(_c.SRE_FLAG_UNICODE) or re.search(_INLINE_I, pat):
            return None
        items = list(parsed)
        if _has_assertion(items):
            return None
        info = _info_seq(items)
        if info.exact is None or b"" in info.exact:
            return None
        out |= info.exact
    if not out or len(out) > _MAX_LITERALS:
        return None
    return sorted(out)


# --- readers --------------------------------------------------------------------------------


def _whole_lines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Re-cut arbitrary blocks into chunks of whole lines (a line longer than a block is joined
    once, not re-copied per block)."""
    pending: list[bytes] = []
    for data in blocks:
        cut = data.rfind(NL) + 1
        if cut == 0:
            pending.append(data)
            continue
        if pending:
            pending.append(data[:cut])
            yield b"".join(pending)
            pending.clear()
        elif cut == len(data):
            yield data
        else:
            yield data[:cut]
        if cut < len(data):
            pending.append(data[cut:])
    if pending:
        yield b"".join(pending) + NL


_malloc_tuned = False


def _tune_malloc() -> None:
    """Let chunk buffers reuse heap memory instead of being faulted in afresh.

    glibc gives the top of its heap back to the OS once more than 128 KiB of it is free, and
    the buffers of one chunk (~120 KiB each) freed in turn cross that: every chunk was faulted in
    page by page again (10,000 page faults over 200 MB, as long as reading the file). Freeing one
    block above glibc's mmap threshold raises that threshold and the trim threshold with it
    (its "dynamic mmap threshold"). ``bytes(n)`` is calloc'd: the block is never touched.
    Harmless with other allocators.
    """
    global _malloc_tuned
    if not _malloc_tuned:
        _malloc_tuned = True
        block = bytes(4 << 20)
        del block


def _plain_chunks(f: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    # A block plus the rest of its last line (`readline`, from the reader's buffer): each byte
    # is copied once after read(). Cutting blocks at their last newline and joining the
    # remainder to the next block (_whole_lines) copied it twice: a slice, then a join.
    read = f.read
    readline = f.readline
    while True:
        data = read(chunk_bytes)
        if not data:
            return
        if data[-1] != 10:
            data += readline()
            if data[-1] != 10:  # the file's last line has no newline: grep prints one
                data += NL
        yield data


def _gzip_blocks(f: BinaryIO, first: bytes, chunk_bytes: int) -> Iterator[bytes]:
    d = zlib.decompressobj(31)
    fed = False  # has the current member been given any input?
    comp = first
    while True:
        if not comp:
            comp = f.read(COMPRESSED_READ_BYTES)
        if not comp:
            yield d.flush()
            break
        fed = True
        # Bounded output per call: a tiny compressed block can expand enormously.
        yield d.decompress(comp, chunk_bytes)
        comp = d.unconsumed_tail
        if d.eof:
            # Concatenated members (`cat a.gz b.gz`) form one valid gzip file.
            comp = (d.unused_data + comp).lstrip(b"\0")  # zero padding may follow
            d = zlib.decompressobj(31)
            fed = False
    if fed and not d.eof:
        raise zlib.error("unexpected end of file")


def _gzip_chunks(f: BinaryIO, first: bytes, chunk_bytes: int) -> Iterator[bytes]:
    return _whole_lines(b for b in _gzip_blocks(f, first, chunk_bytes) if b)


def _stream_chunks(stream: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    # Like _plain_chunks, but for pipes, where read() may return less than asked.
    yield from _plain_chunks(stream, chunk_bytes)


def _zstd_chunks(path: str, chunk_bytes: int) -> Iterator[bytes]:
    # The zstd CLI streams; cramjam's decompressor wants whole frames.
    import subprocess

    try:
        proc = subprocess.Popen(["zstd", "-dcq", "--", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise OSError(f"{path}: zstd-compressed, and the zstd command is not installed") from None
    assert proc.stdout is not None and proc.stderr is not None
    try:
        yield from _plain_chunks(proc.stdout, chunk_bytes)
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        rc = proc.wait()
    if rc != 0:
        raise OSError(f"{path}: zstd: {err or f'exit status {rc}'}")


def compression_of(head: bytes) -> str | None:
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head[:4] == ZSTD_MAGIC:
        return "zstd"
    return None


def open_chunks(path: str, chunk_bytes: int | None = None) -> Iterator[bytes]:
    """The chunks of ``path`` (``-`` is stdin), decompressing gzip and zstd by their magic.

    The last line gets a newline if it had none (grep prints one too). Raises OSError.
    """
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    _tune_malloc()
    if path == "-":
        import sys

        stdin = sys.stdin.buffer
        head = stdin.peek(4)[:4] if hasattr(stdin, "peek") else b""
        if compression_of(head) == "gzip":  # `zcat`-able input on a pipe
            try:
                yield from _gzip_chunks(stdin, b"", chunk_bytes)
            except zlib.error as exc:
                raise OSError(f"(standard input): invalid gzip data ({exc})") from None
            return
        yield from _stream_chunks(stdin, chunk_bytes)
        return
    with open(path, "rb") as f:
        head = f.read(4)
        kind = compression_of(head)
        if kind == "gzip":
            try:
                yield from _gzip_chunks(f, head, chunk_bytes)
            except zlib.error as exc:
                raise OSError(f"{path}: invalid gzip data ({exc})") from None
            return
        if kind == "zstd":
            yield from _zstd_chunks(path, chunk_bytes)
            return
        f.seek(0)
        yield from _plain_chunks(f, chunk_bytes)


def file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


__all__ = [
    "CHUNK_BYTES",
    "MatchOptions",
    "Matcher",
    "PatternError",
    "compression_of",
    "exact_literals",
    "open_chunks",
    "required_literals",
]
