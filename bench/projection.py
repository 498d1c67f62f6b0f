"""Projector and rebuild: the city's events from offset 0 into the dashboard's read models.

The projector is libs.checkpoints.Projector with projections.projector.apply, on a fresh database
and a consumer group of its own, timed until its checkpoints reach the ends the topics had when it
started. Its baseline is a raw consumer with libs.kafka's consumer settings reading the same
partitions to the same ends without doing anything with the messages. Rebuild is the operator's
command, `python -m projections rebuild`, timed as a whole process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid

from aiokafka import TopicPartition

from contracts.topics import PARTITIONS
from deploy.run import ROOT
from libs import db, kafka
from libs.checkpoints import Projector
from libs.kafka import KafkaConnection
from projections import projector
from projections.runtime import caught_up, end_offsets, install


async def projector_run(
    database_url: str, connection: KafkaConnection, timeout: float = 600
) -> tuple[int, float]:
    """(events, seconds) for a fresh projection to apply every event on the topics."""
    engine = db.create_engine(database_url)
    try:
        await install(engine)
        ends = await end_offsets(connection)
        name = f"bench-{uuid.uuid4().hex[:8]}"
        replay = Projector(engine, connection, name, projector.TOPICS, projector.apply)
        began = time.perf_counter()
        task = asyncio.create_task(replay.run())
        try:
            async with asyncio.timeout(timeout):
                while True:  # progress poll of a batch job, not test synchronisation
                    if await caught_up(engine, name, ends):
                        break
                    await asyncio.sleep(0.05)
            seconds = time.perf_counter() - began
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return sum(ends.values()), seconds
    finally:
        await engine.dispose()


async def raw_consumer_run(connection: KafkaConnection, timeout: float = 600) -> tuple[int, float]:
    """(messages, seconds) for a raw consumer to read every event topic from offset 0 to its end."""
    ends = await end_offsets(connection)
    wanted = {tp: end for tp, end in ends.items() if end > 0}
    consumer = kafka.consumer(connection, None)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in projector.TOPICS for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        read = 0
        began = time.perf_counter()
        async with asyncio.timeout(timeout):
            while wanted:
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                for tp, records in batches.items():
                    read += len(records)
                    if tp in wanted and records[-1].offset + 1 >= wanted[tp]:
                        del wanted[tp]
        return read, time.perf_counter() - began
    finally:
        await consumer.stop()


def rebuild_run(env: dict[str, str], timeout: float = 600) -> float:
    """Seconds for `python -m projections rebuild` to drop the read models and replay every topic."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "projections", "rebuild"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(
            f"projections rebuild failed ({done.returncode}):\n{done.stdout}{done.stderr[-3000:]}"
        )
    return seconds
