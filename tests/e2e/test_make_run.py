"""`make run` end to end: `python -m deploy.run --check` starts PostgreSQL, Kafka and the services,
loads the demo cases through the real APIs and Kafka, and stops without leaving a process behind.

It uses free ports and its own home folder, so a developer's `make run` is never touched.
"""

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from deploy.local import LocalKafka, LocalPostgres

ROOT = Path(__file__).resolve().parents[2]


def live_processes_with(marker: str) -> list[str]:
    """Processes (zombies aside) whose command line, or environment where readable, contains `marker`."""
    ps = subprocess.run(["ps", "-axww", "-o", "pid=,stat=,args="], capture_output=True, text=True, check=True)
    found = []
    for line in ps.stdout.splitlines():
        pid, stat, *args = line.split(maxsplit=2)
        if stat.startswith("Z") or int(pid) == os.getpid():
            continue
        environ = Path(f"/proc/{pid}/environ")
        try:
            in_environ = marker.encode() in environ.read_bytes()
        except OSError:  # no /proc (macOS), or the process is gone
            in_environ = False
        if in_environ or marker in " ".join(args):
            found.append(line.strip())
    return found


def test_check_run_serves_the_demo_and_stops_cleanly() -> None:
    home = ROOT / ".kasane" / f"check-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    # Every process of the run inherits this variable: the services, the broker, the postmaster.
    marker = f"check-{uuid.uuid4().hex}"
    env = {**os.environ, "KASANE_RUN_CHECK_MARKER": marker}
    command = [sys.executable, "-m", "deploy.run", "--check", "--home", str(home), "--base-port", "0"]
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=480)
        output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        assert result.returncode == 0, output
        assert "Ctrl-C で停止 / Ctrl-C to stop" in result.stdout, output
        assert re.search(r"consultations \d{3}", result.stdout), output
        for every_program in ("planned", "concluded", "placements", "contact_attempts", "activities"):
            assert re.search(rf"{every_program} \d+", result.stdout), (every_program, output)
        assert "check passed" in result.stdout, output
        assert (home / "demo-loaded").exists()
        assert live_processes_with(marker) == []
        assert live_processes_with(str(home)) == []
    finally:
        # Only does something if the run died before stopping them; safe to call regardless.
        LocalKafka(home / "kafka").stop()
        LocalPostgres(home / "postgres").stop()
        if os.environ.get("KASANE_KEEP_TEST_DATA") != "1":
            shutil.rmtree(home, ignore_errors=True)
