"""``logagent reload --pid PID``: validate the config, then send SIGHUP to the running agent.

systemd's ``ExecReload=`` uses it: a bad config is refused (exit 2) before the agent sees it, and
no external ``kill`` binary is needed on minimal hosts.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from logagent.cli.common import add_config_argument, load_or_report

HELP = "validate the config and send SIGHUP to a running agent (for ExecReload=)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--pid", type=int, required=True, help="the agent's pid (systemd: $MAINPID)")


def main(args: argparse.Namespace) -> int:
    if load_or_report(args.config) is None:
        print("logagent: reload refused; the running config stays", file=sys.stderr)
        return 2
    try:
        os.kill(args.pid, signal.SIGHUP)
    except ProcessLookupError:
        print(f"logagent: no process {args.pid}", file=sys.stderr)
        return 1
    except PermissionError:
        print(f"logagent: not allowed to signal process {args.pid}", file=sys.stderr)
        return 1
    return 0
