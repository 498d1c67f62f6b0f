"""`python -m bench --quick` runs end to end and writes well-formed results (speed is never asserted)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ("write_1", "write_16", "relay", "projector", "freshness", "rebuild")


def test_quick_bench_writes_every_figure_with_its_baseline(tmp_path):
    home = ROOT / ".kasane" / f"bench-test-{os.getpid()}"
    out = tmp_path / "bench.json"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench", "--quick", "--home", str(home), "--out", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    finally:
        if os.environ.get("KASANE_KEEP_TEST_DATA") != "1":
            shutil.rmtree(home, ignore_errors=True)
    shown = f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    assert done.returncode == 0, shown
    results = json.loads(out.read_text())

    assert results["mode"] == "quick"
    assert results["errors"] == {}, results["errors"]
    assert results["machine"]["cores"] >= 1
    figures = results["results"]
    for figure in FIGURES:
        assert figure in figures, f"{figure} missing: {sorted(figures)}"
    for clients in (1, 16):
        write = figures[f"write_{clients}"]
        assert write["per_second"] > 0 and write["baseline"]["per_second"] > 0
        assert write["p50_ms"] <= write["p99_ms"]
    # Every outbox row reached Kafka (a relay re-send after a crash may add duplicates, never fewer).
    assert figures["projector"]["events"] >= figures["relay"]["events"] > 0
    assert figures["relay"]["baseline_per_second"] > 0
    assert figures["projector"]["baseline_per_second"] > 0
    assert figures["freshness"]["runs"] and "p99_s" in figures["freshness"]
    assert figures["rebuild"]["seconds"] > 0
    assert "peer_1" in figures or "peer_skipped" in figures
    # Ten years of two towns in intake's register, each query beside its SQL baseline.
    registers = sorted((v for k, v in figures.items() if k.startswith("register_")), key=lambda v: v["lines"])
    assert [r["population"] for r in registers] == [2_000, 10_000]
    assert registers[0]["lines"] >= 360 and registers[1]["lines"] >= 1_800
    for reg in registers:
        assert set(reg["queries"]) >= {
            "open_by_activity",
            "deep_page",
            "quiet_30_days",
            "name_kana",
            "birth_date",
        }
        for query in reg["queries"].values():
            assert query["p50_ms"] <= query["p99_ms"] and query["baseline"]["p99_ms"] > 0
            assert query["explain"]["plan"]
    assert all({"measure", "value", "met"} <= row.keys() for row in results["rows"])
    assert "| measure |" in done.stdout  # the Markdown table is printed
