"""Results as JSON and as the Markdown table in docs/bench.md (between its two marker lines).

Only the table is generated; the explanations around it are written by people, so a new run
replaces the table and leaves the prose alone.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:table:begin -->"
END = "<!-- bench:table:end -->"


def machine() -> dict[str, Any]:
    """What the numbers were measured on: cores, CPU model, memory, OS, Python."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": memory_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_end": load,
        "commit": _commit(),
    }


def _commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text}{unit}"


def table(results: dict[str, Any]) -> str:
    """The Markdown table: one line per measure, Kasane beside its same-run baseline."""
    lines = [
        f"Run {results['date']} · {results['mode']} · population {results['population']:,} · "
        f"{results['runs']} runs per figure (median) · {results['machine']['cores']} cores "
        f"({results['machine']['cpu']}) · commit {results['machine'].get('commit') or '?'}",
        "",
    ]
    for part in results.get("parts", []):
        stages = ",".join(part["stages"])
        load = ", ".join(str(x) for x in part["machine"].get("load_average_at_end") or []) or "?"
        lines += [
            f"The {stages} figures: a later run alone (`python -m bench --only {stages}`), "
            f"{part['date']} · {part['runs']} runs per figure · {part['seconds']:,.0f} s · "
            f"{part['machine']['cores']} cores ({part['machine']['cpu']}) · commit "
            f"{part['machine'].get('commit') or '?'} · load average at its end {load}",
            "",
        ]
    lines += [
        "| measure | Kasane (median) | baseline (median, same run) | ratio | target | met |",
        "|---|---:|---:|---:|---|:-:|",
    ]
    for row in results["rows"]:
        met = {True: "yes", False: "**no**", None: "–"}[row.get("met")]
        lines.append(
            f"| {row['measure']} | {row['value']} | {row.get('baseline') or '–'} | "
            f"{_fmt(row.get('ratio'))} | {row.get('target') or '–'} | {met} |"
        )
    return "\n".join(lines)


def update_markdown(results: dict[str, Any], path: Path) -> None:
    """Replace the table between the markers of `path` (append markers and table if missing)."""
    generated = f"{BEGIN}\n{table(results)}\n{END}"
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + generated + tail
    else:
        text = text + ("\n" if text else "") + generated + "\n"
    path.write_text(text)


def fmt(value: float | None, unit: str = "") -> str:
    """A number as the table shows it (public for the suite's row builder)."""
    return _fmt(value, unit)
