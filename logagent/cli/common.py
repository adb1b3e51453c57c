"""Helpers shared by subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from logagent.config import Config, default_config_path, load_config
from logagent.errors import ConfigError, ConfigErrors


def add_config_argument(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        required=required,
        help="config file (default: $LOGAGENT_CONFIG, then /etc/logagent/logagent.toml, "
        "then the packaged default)",
    )


def load_or_report(path: Path | None, use_default_chain: bool = True) -> Config | None:
    """Load the config; print every error to stderr and return None on failure."""
    if path is None and use_default_chain:
        path = default_config_path()
    try:
        return load_config(path)
    except ConfigErrors as exc:
        for err in exc.errors:
            print(f"logagent: config error: {err}", file=sys.stderr)
    except ConfigError as exc:
        print(f"logagent: config error: {exc}", file=sys.stderr)
    return None


def setup_logging(level: str = "info") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def line_batches(stream: BinaryIO, size: int = 4096) -> Iterator[list[str]]:
    """Lines of ``stream`` (decoded with replacement, without ``\n`` or ``\r\n``) in batches."""
    batch: list[str] = []
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if line.endswith("\r"):
            line = line[:-1]
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
