"""``logagent check-config``: validate a config (exit 0), or name each bad key (exit 2)."""

from __future__ import annotations

import argparse

from logagent.cli.common import add_config_argument, load_or_report

HELP = "validate a config file and exit (0: valid, 2: invalid)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)


def main(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 2
    where = config.path or "packaged default"
    print(f"config OK ({where}): {len(config.sources)} sources, {len(config.sinks)} sinks")
    return 0
