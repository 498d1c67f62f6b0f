"""The short fault run (`make test`): real processes killed and paused under a workload.

Every must-be-0 row of the checker must be 0; then anomalies are planted in the databases and
the same checker must report each of them, so a pass can never be vacuous.
"""

import asyncio
import os
import shutil

from faults import anomalies, checker, suite
from tests.conftest import ROOT


async def test_no_promise_is_broken_under_the_short_fault_schedule_and_planted_anomalies_are_caught():
    home = ROOT / ".kasane" / f"faults-test-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    result = await suite.run(suite.SHORT, home, keep=True)
    cluster = result.cluster
    try:
        report = result.report
        print(report.table())
        assert report.violations == [], report.table()
        # The run did real work under real faults; otherwise the zeros would mean nothing.
        assert report.get("operations (ok)") >= 50
        assert report.get("messages on Kafka") >= 50
        assert report.get("read model rows") > 0
        assert report.get("poison messages injected") == len(suite.POISON) * 2
        assert len(result.faults) >= 6
        assert any(op.command == "assess" and op.outcome.value == "ok" for op in result.history), (
            "no case reached coordination"
        )

        for process in cluster.processes.values():  # nothing may repair what is planted next
            await asyncio.to_thread(process.stop)
        planted = await anomalies.plant_all(cluster.database_urls, result.history)
        broken = checker.check(await suite.gather(cluster, result.history, result.poison))
        print(planted, broken.table(), sep="\n")
        assert not broken.ok
        for row in anomalies.PLANTS.values():
            assert broken.get(row) >= 1, f"the checker missed a planted anomaly: {row}\n{broken.table()}"
    finally:
        await asyncio.to_thread(cluster.stop)
        if os.environ.get("KASANE_KEEP_TEST_DATA") != "1":
            shutil.rmtree(home, ignore_errors=True)
