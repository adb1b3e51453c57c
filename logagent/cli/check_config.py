"""``logagent check-config``: validate a config (exit 0), or name each bad key (exit 2).

``--check-sinks`` also builds every sink and runs its ``healthcheck()`` (endpoint reachable,
credentials accepted), printing which failed and why (exit 1 if any failed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from logagent.cli.common import add_config_argument, load_or_report
from logagent.config import Config

HELP = "validate a config file and exit (0: valid, 1: a sink check failed, 2: invalid)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--check-sinks",
        action="store_true",
        help="also try each sink's endpoint and credentials; exit 1 if any fails",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        metavar="SECS",
        help="seconds each sink check may take (default: 15)",
    )


def main(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 2
    where = config.path or "packaged default"
    print(f"config OK ({where}): {len(config.sources)} sources, {len(config.sinks)} sinks")
    if getattr(args, "check_sinks", False):
        return asyncio.run(check_sinks(config, args.timeout))
    return 0


async def check_sinks(config: Config, timeout_secs: float) -> int:
    """Run every sink's healthcheck; print one line per sink; 1 if any failed."""
    from logagent.components import SinkContext, SinkUnavailable
    from logagent.metrics import AgentMetrics

    metrics = AgentMetrics()
    failed = 0
    for name, sink_config in config.sinks.items():
        reason = None
        try:
            sink = sink_config.build(name, SinkContext(name, metrics, config.agent.data_dir))
            await asyncio.wait_for(sink.healthcheck(), timeout_secs)
        except SinkUnavailable as exc:
            reason = str(exc)
        except TimeoutError:
            reason = f"no answer within {timeout_secs:g}s"
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if reason is None:
            print(f"sink {name} ({sink_config.type}): ok")
        else:
            failed += 1
            print(f"sink {name} ({sink_config.type}): FAILED: {reason}", file=sys.stderr)
    return 1 if failed else 0
