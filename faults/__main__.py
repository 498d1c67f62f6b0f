"""`python -m faults [--short]`: run the fault schedule, print the checker's table, exit 1 on a violation."""

import argparse
import asyncio
import json
import shutil
import sys
from pathlib import Path

from deploy.run import ROOT, shown
from faults.suite import FULL, SHORT, Result, run


def summary(result: Result) -> str:
    lines = ["", "Faults injected:", *(f"  {line}" for line in result.faults), ""]
    lines.append("Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in result.timings.items()))
    lines += ["", result.report.table()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the subset that runs in make test")
    parser.add_argument(
        "--home", type=Path, default=ROOT / ".kasane" / "faults", help="data, logs, history and report"
    )
    parser.add_argument("--keep-data", action="store_true", help="keep databases and logs after the run")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    shutil.rmtree(home, ignore_errors=True)
    result = asyncio.run(run(SHORT if args.short else FULL, home))
    print(summary(result), flush=True)
    report = {
        "profile": "short" if args.short else "full",
        "rows": [
            {"check": r.name, "count": r.count, "must_be_zero": r.must_be_zero, "examples": r.examples}
            for r in result.report.rows
        ],
        "faults": result.faults,
        "timings": result.timings,
        "ok": result.report.ok,
    }
    (home / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"history: {shown(home / 'history.jsonl')}, report: {shown(home / 'report.json')}")
    if not args.keep_data:
        for folder in ("postgres", "kafka"):
            shutil.rmtree(home / folder, ignore_errors=True)
    return 0 if result.report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
