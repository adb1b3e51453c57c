"""Masking of variable parts of a message before grouping: numbers, hex, IPs, UUIDs, paths, durations.

Masking is per whitespace-delimited token, with a bounded cache: most tokens of a log are
constant words seen before, so a line costs one ``split`` and one dict lookup per token; only an
unseen token goes through the regex (every enabled kind is one alternative of a single compiled
pattern; a masked part becomes ``<*>``). A token left with only wildcards and punctuation
(``<*>:<*>``, ``(<*>)``) becomes one wildcard.

With ``digit_tokens`` (the default) a word holding a digit is a variable as a whole
(``blk_-1608999687919862906``, ``r27-m1-n4``, ``MSRA-SA-39.fareast.corp.microsoft.com``): in logs a
word with a digit is an id far more often than a keyword. Letters ending in one digit (``SOCKS5``,
``ssh2``, ``ipv6``) keep their letters (``SOCKS<*>``): those name protocols and versions. Any
digit still left is masked too, so no digit survives: the miner relies on it to cache by shape.

Shapes that span tokens are handled on the token list, only when a line holds one of their
words (a set test in C): a date with a month name (``Fri Jun 17 07:07:00 2005`` -> one ``<*>``),
under ``times``; under ``durations``, a number with its unit (``<1 sec``, ``250 ms`` -> ``<*>``)
and a size restated in parentheses (``(1.16 KB)`` in ``1190 bytes (1.16 KB) sent``), which is
dropped so that lines with and without it share a template. Under ``quoted``, the quoted value
of a key (``tag="View Lock"``) is one variable, spaces and all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

WILDCARD = "<*>"
W = WILDCARD

#: Kind -> regex applied to one token (the first alternative that matches wins).
PATTERNS: dict[str, str] = {
    "uuids": r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
    "ips": r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])"
    r"|(?<![\w:])(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}(?![\w:])",
    "hex": r"\b0[xX][0-9a-fA-F]+\b"
    r"|(?<![\w.-])(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{4,}(?![\w-])",
    "paths": r"(?<![\w.])(?:/[\w.@%+~-]+){2,}/?",
    "durations": r"(?<![\w.])\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|min|mins|h)\b",
    # Not the front of a hyphenated word ("0-baff-0ad" is one id).
    "numbers": r"(?<![\w.])[-+]?\d+(?:\.\d+)*(?![\w.-])",
    #: Month-name dates spanning tokens (see the module docstring).
    "times": "",
    #: Quoted values of keys (``tag="View Lock"``), spaces and all.
    "quoted": "",
}
KINDS: tuple[str, ...] = tuple(PATTERNS)
#: A word with a digit in it, except letters ending in a single digit (SOCKS5, ssh2).
DIGIT_WORD = r"(?<![\w.\-/@])(?![A-Za-z]{2,}\d(?![\w.\-/@]))[\w.\-/@]*\d[\w.\-/@]*"
_QUOTED_VALUE = re.compile(r'="[^"]*"')
_DIGIT_RUNS = re.compile(r"\d+")
#: A token of wildcards and punctuation only.
_ONLY_WILD = re.compile(r"[^\w\s]*<\*>(?:[^\w\s]*<\*>)*[^\w\s]*")

_MONTHS = frozenset("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())
_DAYS = frozenset("Mon Tue Wed Thu Fri Sat Sun".split())
_UNITS = frozenset("ns us µs ms s sec secs second seconds min mins minutes h hours".split())
#: A size restated in parentheses closes with one of these: "1190 bytes (1.16 KB) sent".
_SIZE_CLOSE = frozenset(u + ")" for u in "B KB MB GB TB KiB MiB GiB TiB bytes".split())


@dataclass(frozen=True, slots=True)
class Masking:
    """Which variable kinds are masked; see :data:`KINDS`."""

    kinds: tuple[str, ...] = KINDS
    digit_tokens: bool = True

    def compile(self) -> re.Pattern[str] | None:
        parts = [PATTERNS[k] for k in KINDS if k in self.kinds and PATTERNS[k]]
        if self.digit_tokens:
            parts.append(DIGIT_WORD)
        return re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None


class Masker:
    """Turns a message into its list of masked tokens."""

    def __init__(self, masking: Masking, cache_size: int = 50_000) -> None:
        self._re = masking.compile()
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size
        special: set[str] = set()
        if "times" in masking.kinds:
            special |= _MONTHS
        if "durations" in masking.kinds:
            special |= _UNITS | _SIZE_CLOSE
        self._special = frozenset(special)
        self._times = "times" in masking.kinds
        self._quoted = "quoted" in masking.kinds
        self._digit_runs = masking.digit_tokens
        self._plain_digits = masking.digit_tokens or "numbers" in masking.kinds
        self._units = "durations" in masking.kinds

    def mask_token(self, token: str) -> str:
        """One token, masked (and remembered; bare numbers skip the regex and the cache)."""
        if self._plain_digits and token.isdigit():
            return W
        out = token
        if self._re is not None:
            out = self._re.sub(W, token)
            if self._digit_runs:
                # Digits the shapes above left (inside a path, after an underscore): variables too.
                # So no digit survives masking, which the miner's shape cache relies on.
                out = _DIGIT_RUNS.sub(W, out)
            if W in out and _ONLY_WILD.fullmatch(out):
                out = W
        cache = self._cache
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[token] = out
        return out

    def tokens(self, message: str) -> list[str]:
        """The message's tokens, variables masked as ``<*>``."""
        if self._quoted and '="' in message:
            message = _QUOTED_VALUE.sub('="<*>"', message)
        toks = message.split()
        # One C-level pass of cache lookups; only the misses (None) go through mask_token().
        out = list(map(self._cache.get, toks))
        if None in out:
            mask = self.mask_token
            i = -1
            index = out.index
            try:
                while True:
                    i = index(None, i + 1)
                    out[i] = mask(toks[i])
            except ValueError:
                pass
        if self._special and not self._special.isdisjoint(out):
            return self._spans(cast("list[str]", out))
        return out  # type: ignore[return-value]

    def _spans(self, toks: list[str]) -> list[str]:
        out: list[str] = []
        in_date = False
        for t in toks:
            if t == W:
                if in_date:
                    continue  # the day, time and year of a date: one wildcard for all
                if self._times and out and out[-1] in _MONTHS:
                    # "Jun <*> ..." is a date: the month (and a day name before it) is variable.
                    out[-1] = W
                    if len(out) >= 2 and out[-2] in _DAYS:
                        del out[-2]
                    in_date = True
                    continue
            elif self._units and t in _UNITS and out and out[-1] == W:
                continue  # "<1 sec", "250 ms": the unit belongs to the number
            elif self._units and t in _SIZE_CLOSE and out and out[-1] == W:
                # "(1.16 KB)": a size restating the one before it, printed or not: dropped,
                # so "0 bytes sent" and "1190 bytes (1.16 KB) sent" are one template.
                out.pop()
                continue
            in_date = False
            out.append(t)
        return out
