"""Online template mining (Drain-like): one pass, bounded memory, stable ids.

A message is masked (:mod:`logagent.patterns.masking`), split into tokens, and routed by its
token count and first tokens to a small group of clusters; it joins the most similar cluster
when the share of matching tokens reaches ``similarity``, else it starts a new cluster, which
may then merge with siblings that show a variable position (``distinct``). Joining turns the
positions where the message differs into wildcards, so a template only ever gets more general
and a line that matched a cluster keeps matching it: that is what makes the caches (by message
shape, by masked tokens) and stable ids sound.

A cluster's id is derived from the template it was created with (a short hash), so the same
first line gives the same id on every host and after a restart; the store
(:mod:`logagent.patterns.store`) persists the clusters so generalised templates survive too.
"""

from __future__ import annotations

import hashlib
import heapq
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from logagent.patterns.masking import KINDS, WILDCARD, Masker, Masking

W = WILDCARD
#: Every digit reads as 0 in a message's shape.
_ZEROS = bytes.maketrans(b"123456789", b"000000000")


def shape(text: str) -> bytes:
    """``text`` as UTF-8 with every digit read as ``0``: one C-level translate."""
    return text.encode("utf-8", "surrogatepass").translate(_ZEROS)


def squeeze(shape: bytes) -> bytes:
    """A shape with every run of digits read as one ``0``: what the miner masks."""
    while b"00" in shape:
        shape = shape.replace(b"00", b"0")
    return shape


@dataclass(frozen=True, slots=True)
class MinerOptions:
    """Tuning of the miner (one default for every kind of log)."""

    similarity: float = 0.9
    #: Distinct constant values at one position that make it a variable (0: never).
    distinct: int = 4
    #: Most positions in which clusters may differ to be merged by ``distinct``.
    max_diff: int = 2
    depth: int = 2
    max_templates: int = 5000
    masking: Masking = field(default_factory=Masking)
    #: Entries of the caches of masked token lists and squeezed shapes already mined.
    cache_size: int = 20_000
    #: Entries of the cache of message shapes (hashes; 0 disables the shape path).
    shape_cache: int = 100_000


class Cluster:
    """One template: its tokens (``<*>`` where variable), counts and first/last seen times."""

    __slots__ = (
        "alive",
        "count",
        "first_seen",
        "first_seen_seq",
        "id",
        "key",
        "last_seen",
        "merged_into",
        "template",
        "tokens",
    )

    def __init__(self, cid: str, tokens: list[str], key: tuple[Any, ...], now: float) -> None:
        self.id = cid
        self.tokens = tokens
        self.key = key
        self.count = 0
        self.first_seen = now
        self.last_seen = now
        self.alive = True
        #: Set when merged into another cluster (follow with :meth:`resolve`).
        self.merged_into: Cluster | None = None
        self.first_seen_seq = 0
        #: The template text (kept with the tokens: read per line, changed rarely).
        self.template = " ".join(tokens)

    def set_tokens(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.template = " ".join(tokens)

    def resolve(self) -> Cluster:
        """The live cluster this one was merged into (itself when not merged)."""
        c = self
        while c.merged_into is not None:
            c = c.merged_into
        return c

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "template": self.template,
            "tokens": self.tokens,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


def _top_key(c: Cluster) -> tuple[int, float, str]:
    return (-c.count, c.first_seen, c.id)


def _route(token: str) -> str:
    """A token as a routing key: ``<*>`` when it holds a variable or is a dotted name.

    Dotted names (``com.apple.icloud.fmfd.heartbeat:``, ``proxy.example.org``, Java classes)
    vary where a keyword would not; as a key they would keep lines of one kind apart for good.
    """
    if W in token or "." in token.rstrip(".:,;"):
        return W
    return token


def _live(cluster: Cluster | None) -> Cluster | None:
    """The live cluster ``cluster`` is or was merged into; None when none (or evicted)."""
    if cluster is None:
        return None
    cluster = cluster.resolve()
    return cluster if cluster.alive else None


def template_id(tokens: Iterable[str]) -> str:
    """The id a cluster created with ``tokens`` gets: 12 hex digits of a hash of its template."""
    return hashlib.blake2b(" ".join(tokens).encode(), digest_size=6).hexdigest()


class Miner:
    """The clusters of one source."""

    def __init__(self, options: MinerOptions | None = None, clock: Any = time.time) -> None:
        self.options = options or MinerOptions()
        self.clock = clock
        self._masker = Masker(self.options.masking)
        self.tokenize = self._masker.tokens
        self.groups: dict[tuple[Any, ...], list[Cluster]] = {}
        #: id -> cluster, least recently used first.
        self.clusters: OrderedDict[str, Cluster] = OrderedDict()
        #: Masked tokens -> the cluster they joined (bounded: cleared when full).
        self._seen: dict[tuple[str, ...], Cluster] = {}
        #: Message shapes (see :func:`shape`) -> the cluster they joined (bounded likewise).
        #: Keyed by the shape's 64-bit hash, not the shape: 8 bytes instead of a line's length.
        self._shapes: dict[int, Cluster] = {}
        self._squeezed: dict[bytes, Cluster] = {}
        self.evicted = 0
        #: Lines that started a template of their own (not merged at once into an older one).
        self.created = 0
        self.merged = 0
        self._seq = 0

    # -- tokens -----------------------------------------------------------------------------

    def _key(self, tokens: list[str]) -> tuple[Any, ...]:
        # The first tokens route a message, but never the last one (a short message's variable
        # is often its last word); see _route for the tokens that route as "<*>".
        n = len(tokens)
        if n < 2:
            return (n, *tokens)
        head = tuple(_route(t) for t in tokens[: min(self.options.depth, n - 1)])
        return (n, *head)

    # -- mining -----------------------------------------------------------------------------

    def add(self, message: str) -> tuple[Cluster, bool]:
        """Mine one message; returns its cluster and whether the cluster is new."""
        created = self.created
        return self.add_batch([message])[0], self.created > created

    def add_batch(self, messages: Sequence[str]) -> list[Cluster]:
        """Mine messages in order; the cluster of each (``created`` counts the new ones).

        With ``digit_tokens`` (the default) what is masked is the message's squeezed shape
        (every run of digits read as one 0, see :func:`squeeze`): digits are variables anyway,
        and most lines of a log have a shape seen before. A known shape joins the cluster it
        joined before, which still fits it (templates only generalise): those lines are looked
        up and counted in bulk, with C-level calls. Only new shapes go through masking and the
        similarity search, one by one, in order.
        """
        now = self.clock()
        n = len(messages)
        shapes = self._shapes
        keys: list[bytes] | None = None
        hashes: list[int] = []
        found: list[Cluster | None]
        if self.options.masking.digit_tokens and self.options.shape_cache:
            keys = shape("\n".join(messages)).split(b"\n")
            if len(keys) != n:  # a message with a newline in it: one shape each
                keys = [shape(m) for m in messages]
            hashes = list(map(hash, keys))
            found = list(map(shapes.get, hashes))
        else:
            found = [None] * n
        if n - found.count(None):
            counted = Counter(found)
            counted.pop(None, None)
            counts = cast("Counter[Cluster]", counted)
            stale = [c for c in counts if c.merged_into is not None or not c.alive]
            if stale:
                gone = set(stale)
                found = [None if c in gone else c for c in found]
                for c in stale:
                    del counts[c]
            move = self.clusters.move_to_end
            for c, k in counts.items():
                c.count += k
                c.last_seen = now
                move(c.id)
        if None in found:
            self._mine_missing(messages, found, keys, hashes, now)
        return found  # type: ignore[return-value]

    def _mine_missing(
        self,
        messages: Sequence[str],
        found: list[Cluster | None],
        keys: list[bytes] | None,
        hashes: list[int],
        now: float,
    ) -> None:
        """Mine the lines whose shape was not known (``None`` in ``found``), in order."""
        tokenize = self.tokenize
        seen = self._seen
        shapes = self._shapes
        squeezed_shapes = self._squeezed
        limit = self.options.cache_size
        shape_limit = self.options.shape_cache
        missing = [i for i, c in enumerate(found) if c is None]
        squeezed_all: list[bytes] = []
        if keys is not None:
            # Masking reads the squeezed shape (no digit value or run length matters), and
            # squeezed shapes repeat far more than messages. Squeezed in one go for the batch.
            picked = [keys[i] for i in missing]
            squeezed_all = squeeze(b"\n".join(picked)).split(b"\n")
            if len(squeezed_all) != len(picked):  # a newline inside a message
                squeezed_all = [squeeze(k) for k in picked]
        for j, i in enumerate(missing):
            c: Cluster | None = None
            squeezed = b""
            if keys is not None:
                squeezed = squeezed_all[j]
                c = _live(squeezed_shapes.get(squeezed))
                if c is None:
                    tokens = tokenize(squeezed.decode("utf-8", "surrogatepass"))
            else:
                tokens = tokenize(messages[i])
            if c is None:
                sig = tuple(tokens)
                c = _live(seen.get(sig))
                if c is None:
                    c = self._mine(tokens, now)
                else:
                    c.count += 1
                    c.last_seen = now
                    self.clusters.move_to_end(c.id)
                if limit:
                    if len(seen) >= limit:
                        seen.clear()
                    seen[sig] = c
            else:
                c.count += 1
                c.last_seen = now
                self.clusters.move_to_end(c.id)
            if keys is not None:
                if len(shapes) >= shape_limit:
                    shapes.clear()
                if len(squeezed_shapes) >= limit:
                    squeezed_shapes.clear()
                shapes[hashes[i]] = c
                squeezed_shapes[squeezed] = c
            found[i] = c

    def _mine(self, tokens: list[str], now: float) -> Cluster:
        key = self._key(tokens)
        group = self.groups.get(key)
        best = self._best(group, tokens) if group else None
        if best is None:
            new = self._create(tokens, key, now)
            best = self._generalise(new, self.groups[key])
            if best is new:
                self.created += 1
            if W in best.tokens:
                self._subsume(best)
        else:
            self._merge(best, tokens)
        best.count += 1
        best.last_seen = now
        self.clusters.move_to_end(best.id)
        return best

    def _best(self, group: list[Cluster], tokens: list[str]) -> Cluster | None:
        n = len(tokens)
        if n == 0:
            return group[0]  # blank messages: one template, ""
        best = None
        best_sim = -1.0
        best_wild = -1
        for c in group:
            same = 0
            wild = 0
            for a, b in zip(c.tokens, tokens, strict=True):
                if a == b:
                    # A wildcard in both (a masked variable) counts as equal.
                    same += 1
                elif a == W:
                    wild += 1
            # A wildcard of the template fits any token.
            sim = (same + wild) / n
            if sim > best_sim or (sim == best_sim and wild > best_wild):
                best, best_sim, best_wild = c, sim, wild
        if best is not None and best_sim >= self.options.similarity:
            return best
        return None

    def _generalise(self, new: Cluster, group: list[Cluster]) -> Cluster:
        """Merge ``new`` with its siblings when together they show a variable position.

        Siblings that differ from ``new`` in exactly one position (both constant there) are
        collected per position; once ``distinct`` different values are seen at one position it
        is a variable (user names, host names): those clusters become one, keeping the oldest
        id. Fewer values (``initialization``/``finalization``) stay apart.
        """
        need = self.options.distinct - 1
        if need <= 0 or len(new.tokens) < 2:
            return new
        tokens = new.tokens
        limit = self.options.max_diff
        by_pos: dict[tuple[int, ...], list[Cluster]] = {}
        for c in group:
            if c is new:
                continue
            diff: list[int] = []
            for i, (a, b) in enumerate(zip(c.tokens, tokens, strict=True)):
                if a != b and a != W and b != W:
                    diff.append(i)
                    if len(diff) > limit:
                        break
            if 0 < len(diff) <= limit:
                by_pos.setdefault(tuple(diff), []).append(c)
        for pos, sibs in by_pos.items():
            if len(sibs) >= need:
                members = [*sibs, new]
                keep = min(members, key=lambda c: c.first_seen_seq)
                for c in members:
                    if c is not keep:
                        self._absorb(keep, c)
                keep.set_tokens([W if i in pos else t for i, t in enumerate(keep.tokens)])
                self._subsume(keep)
                return keep
        return new

    def _subsume(self, keep: Cluster) -> None:
        """Absorb the siblings ``keep``'s template now covers (they differ only where it has ``<*>``)."""
        group = self.groups.get(keep.key)
        if not group or all(t == W for t in keep.tokens):
            return
        for c in list(group):
            if c is not keep and all(a == W or a == b for a, b in zip(keep.tokens, c.tokens, strict=True)):
                self._absorb(keep, c)

    def _absorb(self, keep: Cluster, other: Cluster) -> None:
        keep.count += other.count
        keep.first_seen = min(keep.first_seen, other.first_seen)
        keep.last_seen = max(keep.last_seen, other.last_seen)
        keep.set_tokens([a if a == b else W for a, b in zip(keep.tokens, other.tokens, strict=True)])
        other.merged_into = keep
        self.clusters.pop(other.id, None)
        self._forget(other)
        self.merged += 1

    def _merge(self, cluster: Cluster, tokens: list[str]) -> None:
        if cluster.tokens != tokens:
            merged = [a if a == b else W for a, b in zip(cluster.tokens, tokens, strict=True)]
            if merged != cluster.tokens:
                cluster.set_tokens(merged)
                self._subsume(cluster)

    def _create(self, tokens: list[str], key: tuple[Any, ...], now: float) -> Cluster:
        cid = template_id(tokens)
        while cid in self.clusters:  # a hash collision, or the same text after a merge: keep ids unique
            cid = template_id([cid, *tokens])
        cluster = Cluster(cid, list(tokens), key, now)
        self._seq += 1
        cluster.first_seen_seq = self._seq
        self._insert(cluster)
        return cluster

    def _insert(self, cluster: Cluster) -> None:
        self.clusters[cluster.id] = cluster
        self.groups.setdefault(cluster.key, []).append(cluster)
        while len(self.clusters) > self.options.max_templates:
            _, old = self.clusters.popitem(last=False)
            self._forget(old)
            self.evicted += 1

    def _forget(self, cluster: Cluster) -> None:
        cluster.alive = False
        group = self.groups.get(cluster.key)
        if group is not None:
            group.remove(cluster)
            if not group:
                del self.groups[cluster.key]

    # -- persistence --------------------------------------------------------------------------

    def restore(self, clusters: Iterable[dict[str, Any]]) -> None:
        """Load clusters saved with :meth:`Cluster.to_dict` (least recently used first)."""
        loaded = []
        for d in clusters:
            tokens = [str(t) for t in d["tokens"]]
            c = Cluster(str(d["id"]), tokens, self._key(tokens), float(d.get("first_seen", 0.0)))
            c.count = int(d.get("count", 0))
            c.last_seen = float(d.get("last_seen", c.first_seen))
            loaded.append(c)
        # All parsed before any is inserted: a damaged entry leaves the miner as it was.
        for c in loaded:
            self._seq += 1
            c.first_seen_seq = self._seq
            self._insert(c)

    def top(self, n: int | None = None) -> list[Cluster]:
        """Clusters by count, most frequent first."""
        key = _top_key
        if n is None:
            return sorted(self.clusters.values(), key=key)
        return heapq.nsmallest(n, self.clusters.values(), key=key)


__all__ = ["KINDS", "Cluster", "Miner", "MinerOptions", "template_id"]
