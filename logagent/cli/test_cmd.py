"""``logagent test``: run the test cases declared in a config (``[tests.NAME]``), like `vector test`.

Prints PASS or FAIL per case with the reasons; exit 0 when all pass, 1 when one fails or there is
no case, 2 when the config is invalid.
"""

from __future__ import annotations

import argparse

from logagent.cli.common import load_or_report

HELP = "run the test cases declared in a config ([tests.NAME]): lines -> expected fields and metrics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", required=True, help="the config file holding the test cases")


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from logagent.logmetrics.testcases import CasesSection, run_case

    config = load_or_report(Path(args.config), use_default_chain=False)
    if config is None:
        return 2
    section: CasesSection | None = config.sections.get("tests")
    if section is None or not section.cases:
        print(f"no test cases in {args.config} (declare them as [tests.NAME] tables)")
        return 1
    failed = 0
    for name, case in section.cases.items():
        failures = run_case(config, case)
        if failures:
            failed += 1
            print(f"FAIL {name}")
            for f in failures:
                print(f"  {f}")
        else:
            print(f"PASS {name} ({len(case.input)} lines)")
    passed = len(section.cases) - failed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
