"""Types of the optional compiled module built from parsers/_speedups.c."""

from typing import Any

def scan_combined(
    lines: list[str],
    record_type: type,
    ts_cache: Any,
    levels: tuple[str, str, str],
    keys: tuple[str, ...],
) -> tuple[list[Any], int]: ...
