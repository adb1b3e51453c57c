"""File identity by content: a checksum of the first line (or the first ``max_bytes`` bytes).

Paths change on rotation and inodes are reused after deletion, so neither identifies a file; the
first line does (Vector and Filebeat do the same). A short file of one line is enough: the
fingerprint never waits for a full block.
"""

from __future__ import annotations

import hashlib
import os

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def fingerprint(fd: int, max_bytes: int = 1024, skip: int = 0) -> str | None:
    """The fingerprint of the open file ``fd``, or None while its first line is incomplete."""
    head = os.pread(fd, max_bytes, skip)
    nl = head.find(b"\n")
    if nl >= 0:
        head = head[: nl + 1]
    elif len(head) < max_bytes:
        return None
    return hashlib.blake2b(head, digest_size=8).hexdigest()


def is_compressed(fd: int) -> bool:
    """True for gzip or zstd content (rotated archives are not tailed)."""
    head = os.pread(fd, 4, 0)
    return head.startswith(GZIP_MAGIC) or head.startswith(ZSTD_MAGIC)
