"""``logagent run``: run the agent until SIGTERM/SIGINT; SIGHUP reloads the config."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from logagent.cli.common import add_config_argument, load_or_report, setup_logging
from logagent.config import default_config_path
from logagent.errors import LogagentError

HELP = "run the agent"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)


def main(args: argparse.Namespace) -> int:
    path = args.config or default_config_path()
    config = load_or_report(path, use_default_chain=False)
    if config is None:
        return 2
    setup_logging(config.agent.log_level)
    from logagent.agent import Agent

    log = logging.getLogger("logagent")
    log.info("Using config %s; data in %s.", path or "(packaged default)", config.agent.data_dir)
    try:
        asyncio.run(Agent(config, path).run())
    except LogagentError as exc:
        print(f"logagent: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"logagent: {exc}", file=sys.stderr)
        return 1
    return 0
