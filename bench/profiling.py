"""Sampling profiles of a running process with py-spy, taken while a measurement runs.

py-spy attaches from outside, so the profiled service runs unchanged; the collapsed-stack output
(`--format raw`) is plain text that can be grepped or turned into a flame graph later.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


def _py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def sampled(pid: int, output: Path, rate: int = 200) -> Iterator[bool]:
    """Sample `pid` until the block ends; yields whether a profiler is running at all."""
    tool = _py_spy()
    if tool is None:
        yield False
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    log = output.with_suffix(".log").open("wb")
    proc = subprocess.Popen(
        [tool, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--output", str(output)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield True
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def top_functions(collapsed: Path, limit: int = 25) -> list[tuple[str, float]]:
    """Functions by share of samples in which they are on the stack (inclusive), from a raw profile."""
    totals: dict[str, int] = {}
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        for frame in set(stack.split(";")):
            totals[frame] = totals.get(frame, 0) + count
    if not samples:
        return []
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:limit]
    return [(frame, count / samples) for frame, count in ranked]
