"""Persistence of a source's templates under ``data_dir/patterns/<source>.json``.

The file holds the clusters in least-recently-used order (ids, tokens, counts, first/last seen)
and is replaced atomically (write to a temporary file, fsync, rename), so a crash leaves the old
or the new file, never half of one. Ids would survive even a lost file: an id is a hash of the
template a cluster was created with (see :func:`logagent.patterns.miner.template_id`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

import orjson

from logagent.patterns.miner import Miner

log = logging.getLogger(__name__)

VERSION = 1


def store_path(data_dir: Path, source: str) -> Path:
    """The file of ``source``: its name, made safe for a file name (then with a short hash of
    the real name, so ``a/b`` and ``a_b`` do not share a file)."""
    safe = re.sub(r"[^\w.-]", "_", source)
    if safe != source or safe.startswith("."):
        safe += "-" + hashlib.blake2b(source.encode(), digest_size=4).hexdigest()
    return Path(data_dir) / "patterns" / f"{safe}.json"


def save(miner: Miner, path: Path) -> None:
    """Write the miner's clusters to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"version": VERSION, "clusters": [c.to_dict() for c in miner.clusters.values()]}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(doc))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(miner: Miner, path: Path) -> int:
    """Restore clusters saved by :func:`save`; returns how many. A damaged file is logged and skipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.error("Cannot read the templates in %s: %s; starting empty.", path, exc)
        return 0
    try:
        doc: Any = orjson.loads(raw)
        clusters = doc["clusters"]
        if doc.get("version") != VERSION or not isinstance(clusters, list):
            raise ValueError("unknown layout")
        miner.restore(clusters)
    except (ValueError, KeyError, TypeError) as exc:
        log.error("Damaged template store %s (%s); starting empty.", path, exc)
        return 0
    return len(miner.clusters)
