"""`python -m bench` (what `make bench` runs): measure Kasane against same-run baselines.

python -m bench            the city (~170,000 people), 3 runs per figure; writes docs/bench.json
                           and the table in docs/bench.md
python -m bench --quick    a small town, 1 run per figure; writes .kasane/bench/quick.json only
python -m bench --profile  also py-spy profiles of the first run of each figure (under --home)
python -m bench --only register
                           only these stages (comma-separated); their figures replace those of
                           the same stages in the results file and its table, the rest is kept
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from bench import report
from bench.suite import STAGES, Plan, Suite, merged
from deploy.run import ROOT

DEFAULT_HOME = ROOT / ".kasane" / "bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small town, one run per figure")
    parser.add_argument("--profile", action="store_true", help="py-spy profiles under HOME/profiles")
    parser.add_argument(
        "--population", type=int, help="size of the town (default: the city, 170,000; quick: 2,000)"
    )
    parser.add_argument("--runs", type=int, help="runs per figure (default: 3; quick: 1)")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="folder for the bench's servers")
    parser.add_argument(
        "--out", type=Path, help="JSON results (default: docs/bench.json, quick: HOME/quick.json)"
    )
    parser.add_argument(
        "--markdown", type=Path, help="Markdown file whose table is replaced (default: docs/bench.md)"
    )
    parser.add_argument(
        "--only",
        type=lambda value: frozenset(value.split(",")),
        help=f"run only these stages, comma-separated: {','.join(STAGES)}",
    )
    args = parser.parse_args(argv)
    if args.only and not args.only <= set(STAGES):
        parser.error(f"--only: unknown stage {','.join(sorted(args.only - set(STAGES)))}")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    plan = Plan.quick() if args.quick else Plan.full()
    plan = dataclasses.replace(
        plan, population=args.population or plan.population, runs=args.runs or plan.runs
    )
    home = args.home.resolve()
    out = args.out or (home / "quick.json" if args.quick else ROOT / "docs" / "bench.json")
    markdown = args.markdown or (None if args.quick else ROOT / "docs" / "bench.md")

    results = Suite(plan, home, args.profile, args.only).run()
    if args.only and out.exists():
        previous = json.loads(out.read_text())
        if previous.get("mode") == results["mode"]:
            results = merged(previous, results)
    report.write_json(results, out)
    if markdown is not None:
        report.update_markdown(results, markdown)
    print(report.table(results))
    print(f"\n▸ results: {out}" + (f", table: {markdown}" if markdown else ""))
    if results["errors"]:
        print("▸ errors:\n" + json.dumps(results["errors"], indent=2, ensure_ascii=False), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
