"""``logagent grep``: grep's habits over local files (plain, rotated, gzip), Loki and CloudWatch,
plus field filters, time ranges and quick aggregations. See docs/grep.md.

Exit status as grep: 0 a line was selected, 1 none was, 2 an error occurred.
"""

from __future__ import annotations

import argparse
import os
import sys

HELP = "search local files, a configured source, Loki or CloudWatch with grep's options"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # grep's -h means --no-filename; keep --help for help. (The optionals group checks conflicts.)
    parser.conflict_handler = "resolve"
    parser._optionals.conflict_handler = "resolve"
    parser.add_argument("-h", "--no-filename", action="store_true", help="no file name prefixes")
    parser.add_argument("pattern", nargs="?", metavar="PATTERN", help="the pattern (unless -e is given)")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories; none: stdin")

    g = parser.add_argument_group("matching")
    g.add_argument(
        "-e", "--regexp", action="append", default=[], metavar="PATTERN", help="a pattern (repeats)"
    )
    g.add_argument("-F", "--fixed-strings", action="store_true", help="patterns are literal strings")
    g.add_argument("-E", "--extended-regexp", action="store_true", help="patterns are regexes (the default)")
    g.add_argument("-i", "--ignore-case", action="store_true", help="ignore ASCII case")
    g.add_argument("--no-ignore-case", dest="ignore_case", action="store_false")
    g.add_argument("-v", "--invert-match", action="store_true", help="select non-matching lines")
    g.add_argument("-w", "--word-regexp", action="store_true", help="match whole words only")
    g.add_argument("-x", "--line-regexp", action="store_true", help="match whole lines only")

    g = parser.add_argument_group("output")
    g.add_argument("-c", "--count", action="store_true", help="print the number of selected lines per file")
    g.add_argument("-n", "--line-number", action="store_true", help="prefix lines with their number")
    g.add_argument("-l", "--files-with-matches", action="store_true", help="print names of matching files")
    g.add_argument("-q", "--quiet", "--silent", action="store_true", help="print nothing; exit 0 on a match")
    g.add_argument("-s", "--no-messages", action="store_true", help="no messages about unreadable files")
    g.add_argument("-H", "--with-filename", action="store_true", help="prefix lines with the file name")
    g.add_argument("-A", "--after-context", type=_count_arg, default=None, metavar="N")
    g.add_argument("-B", "--before-context", type=_count_arg, default=None, metavar="N")
    g.add_argument("-C", "--context", type=_count_arg, default=None, metavar="N")
    g.add_argument("-m", "--max-count", type=int, default=None, metavar="N", help="stop after N lines")
    g.add_argument("-a", "--text", action="store_true", help="treat binary files as text")
    g.add_argument(
        "--color",
        "--colour",
        nargs="?",
        const="auto",
        default="auto",
        choices=["auto", "always", "never"],
        help="colour matches (GREP_COLORS as GNU grep)",
    )
    g.add_argument("--label", default="(standard input)", help="the name shown for stdin")
    g.add_argument("-r", "--recursive", action="store_true", help="search directories recursively")
    g.add_argument("-R", "--dereference-recursive", action="store_true", help="like -r, following symlinks")

    g = parser.add_argument_group("sources and fields")
    g.add_argument("--config", type=str, default=None, help="agent config (with --source)")
    g.add_argument("--source", default=None, help="search every file of this configured file source")
    g.add_argument("--parser", default=None, help="parse lines with this parser (enables --where/--since)")
    g.add_argument("--where", action="append", default=[], metavar="EXPR", help="e.g. status>=500")
    g.add_argument("--since", default=None, help="RFC 3339 time or relative (15m, 2h, 3d)")
    g.add_argument("--until", default=None, help="RFC 3339 time or relative (15m, 2h, 3d)")
    g.add_argument("--json", action="store_true", help="print each selected line as a JSON event")
    g.add_argument("--count-by", default=None, metavar="FIELD", help="counts per value")
    g.add_argument("--patterns", action="store_true", help="counts per log template (logagent patterns)")
    g.add_argument(
        "--histogram", nargs="?", const="auto", default=None, metavar="BUCKET", help="bar chart over time"
    )
    g.add_argument("-f", "--follow", action="store_true", help="keep reading files as they grow and rotate")
    g.add_argument("--progress", choices=["auto", "always", "never"], default="auto", help="on stderr")

    g = parser.add_argument_group("remote")
    g.add_argument("--from", dest="origin", choices=["files", "loki", "cloudwatch"], default="files")
    g.add_argument("--loki-url", default=None, help="Loki base URL")
    g.add_argument("--selector", default=None, help='LogQL stream selector, e.g. {job="nginx"}')
    g.add_argument("--tenant", default=None, help="Loki tenant (X-Scope-OrgID)")
    g.add_argument("--page-size", type=int, default=None, help="entries per request (Loki, CloudWatch)")
    g.add_argument("--log-group", default=None, help="CloudWatch Logs group")
    g.add_argument("--log-stream-prefix", default=None, help="CloudWatch Logs stream name prefix")
    g.add_argument("--filter-pattern", default=None, help="CloudWatch filter pattern applied by the service")
    g.add_argument("--endpoint-url", default=None, help="CloudWatch Logs endpoint URL")
    g.add_argument("--region", default=None, help="AWS region")


def _count_arg(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: invalid context length argument") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value!r}: invalid context length argument")
    return n


def err(msg: str) -> None:
    print(f"logagent grep: {msg}", file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    from logagent.grep.run import GrepError, run

    if args.patterns:  # --patterns: templates (logagent.patterns) take --count-by's place
        from logagent.patterns.grep import enable

        if problem := enable(args):
            err(problem)
            return 2

    try:
        return run(args)
    except GrepError as exc:
        err(str(exc))
        return 2
    except BrokenPipeError:
        # `logagent grep ... | head`: stop quietly, and keep Python from failing again when it
        # flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
