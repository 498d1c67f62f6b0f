"""Line and branch coverage per package, from the JSON report `make test` writes.

coverage.py reports per file or in one total; the figures worth comparing are per package, and per
program under services/ (each one is owned and deployed on its own), with lines and branches apart.
Usage: `python -m tests.coverage_by_package .kasane/coverage/coverage.json`.
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

# Packages whose programs are reported one by one.
SPLIT = {"services"}


def package_of(path: str) -> str:
    parts = Path(path).parts
    return "/".join(parts[:2]) if parts[0] in SPLIT and len(parts) > 2 else parts[0]


def percent(covered: int, total: int) -> str:
    return f"{100 * covered / total:5.1f}%" if total else "     -"


def table(report: dict) -> list[str]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for path, file in report["files"].items():
        summary = file["summary"]
        for row in (package_of(path), "TOTAL"):
            counts = sums[row]
            counts[0] += summary["covered_lines"]
            counts[1] += summary["num_statements"]
            counts[2] += summary.get("covered_branches", 0)
            counts[3] += summary.get("num_branches", 0)
    width = max(len(name) for name in sums)
    lines = [f"{'package':<{width}}  {'lines':^20}  {'branches':^20}".rstrip()]
    for name in [*sorted(n for n in sums if n != "TOTAL"), "TOTAL"]:
        lines_hit, lines_all, branches_hit, branches_all = sums[name]
        if lines_all == 0:
            continue
        lines.append(
            f"{name:<{width}}  {lines_hit:>6}/{lines_all:<6} {percent(lines_hit, lines_all)}"
            f"  {branches_hit:>6}/{branches_all:<6} {percent(branches_hit, branches_all)}"
        )
    return lines


def main(argv: list[str]) -> int:
    print("\n".join(table(json.loads(Path(argv[0]).read_text()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
