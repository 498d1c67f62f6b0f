"""The event store's contract as a reusable test class (after eventsourcing's tests/persistence.py).

Subclass it and provide an `engine` fixture: an AsyncEngine on an empty database with the
service schema installed. Every behaviour the services rely on is pinned down here.
"""

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from libs import eventstore
from libs.eventstore import ConcurrencyError, NewEvent


def _events(n: int, **data: object) -> list[NewEvent]:
    return [NewEvent("Something", {"n": i, **data}, metadata={"actor": "tester"}) for i in range(n)]


class EventStoreContract:
    async def test_appends_and_reads_a_stream_in_version_order(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            version = await eventstore.append(conn, "s-1", "Thing", 0, _events(3, name="山田　太郎\ufe00"))
        assert version == 3
        async with engine.connect() as conn:
            stream = await eventstore.read_stream(conn, "s-1")
        assert [e.version for e in stream] == [1, 2, 3]
        assert [e.data["n"] for e in stream] == [0, 1, 2]
        assert stream[0].data["name"] == "山田　太郎\ufe00"
        assert stream[0].metadata == {"actor": "tester"}
        assert stream[0].stream_type == "Thing"

    async def test_unknown_stream_reads_empty(self, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            assert await eventstore.read_stream(conn, "nobody") == []

    async def test_appending_nothing_changes_nothing(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            assert await eventstore.append(conn, "s-0", "Thing", 0, []) == 0
            assert await eventstore.read_all(conn) == []

    @pytest.mark.parametrize("expected", [0, 1, 3])
    async def test_wrong_expected_version_is_a_conflict(self, engine: AsyncEngine, expected: int) -> None:
        async with engine.begin() as conn:
            await eventstore.append(conn, "s-2", "Thing", 0, _events(2))
        with pytest.raises(ConcurrencyError):
            async with engine.begin() as conn:
                await eventstore.append(conn, "s-2", "Thing", expected, _events(1))
        async with engine.connect() as conn:
            assert len(await eventstore.read_stream(conn, "s-2")) == 2

    async def test_concurrent_appends_at_the_same_version_let_exactly_one_win(
        self, engine: AsyncEngine
    ) -> None:
        async with engine.begin() as conn:
            await eventstore.append(conn, "s-3", "Thing", 0, _events(1))
        # Both writers hold an open transaction at version 1 before either commits.
        both_ready = asyncio.Barrier(2)

        async def writer(tag: str) -> str:
            try:
                async with engine.begin() as conn:
                    await eventstore.read_stream(conn, "s-3")
                    await both_ready.wait()
                    await eventstore.append(conn, "s-3", "Thing", 1, _events(2, writer=tag))
                return "ok"
            except ConcurrencyError:
                return "conflict"

        results = await asyncio.gather(writer("a"), writer("b"))
        assert sorted(results) == ["conflict", "ok"]
        async with engine.connect() as conn:
            stream = await eventstore.read_stream(conn, "s-3")
        assert [e.version for e in stream] == [1, 2, 3]
        assert len({e.data.get("writer") for e in stream[1:]}) == 1

    async def test_appends_at_the_end_from_many_writers_at_once_all_land_in_one_chain(
        self, engine: AsyncEngine
    ) -> None:
        """Records no decision depends on (access records) queue instead of conflicting."""
        async with engine.begin() as conn:
            await eventstore.append(conn, "s-end", "Log", 0, _events(1))
        writers = 12
        all_open = asyncio.Barrier(writers)

        async def writer(n: int) -> int:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT 1"))
                await all_open.wait()  # every transaction is open before any appends
                return await eventstore.append_at_end(conn, "s-end", "Log", _events(1, writer=n))

        versions = await asyncio.gather(*(writer(n) for n in range(writers)))
        assert sorted(versions) == list(range(2, writers + 2))
        async with engine.connect() as conn:
            stream = await eventstore.read_stream(conn, "s-end")
            report = await eventstore.verify_chain(conn)
        assert sorted(e.data["writer"] for e in stream[1:]) == list(range(writers))
        assert report.ok, report.problems

    async def test_a_failed_append_leaves_nothing_behind(self, engine: AsyncEngine) -> None:
        duplicate = uuid.uuid4()
        async with engine.begin() as conn:
            await eventstore.append(conn, "s-4", "Thing", 0, [NewEvent("A", {}, event_id=duplicate)])
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await eventstore.append(
                    conn, "s-5", "Thing", 0, [NewEvent("B", {}), NewEvent("C", {}, event_id=duplicate)]
                )
        async with engine.connect() as conn:
            assert await eventstore.read_stream(conn, "s-5") == []

    async def test_reads_the_whole_log_in_order_in_pages(self, engine: AsyncEngine) -> None:
        for i in range(5):
            async with engine.begin() as conn:
                await eventstore.append(conn, f"s-log-{i % 2}", "Thing", i // 2, _events(1, i=i))
        async with engine.connect() as conn:
            first = await eventstore.read_all(conn, after=0, limit=3)
            rest = await eventstore.read_all(conn, after=first[-1].global_position, limit=10)
        log = first + rest
        assert [e.data["i"] for e in log] == [0, 1, 2, 3, 4]
        positions = [e.global_position for e in log]
        assert positions == sorted(positions) and len(set(positions)) == 5

    async def test_hash_chain_verifies_when_untouched(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await eventstore.append(conn, "s-6", "Thing", 0, _events(3))
            await eventstore.append(conn, "s-7", "Thing", 0, _events(2))
        async with engine.connect() as conn:
            report = await eventstore.verify_chain(conn, page=2)
        assert report.ok, report.problems
        assert (report.streams, report.events) == (2, 5)

    async def test_hash_chain_detects_an_edited_row(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await eventstore.append(conn, "s-8", "Thing", 0, _events(3))
            await conn.execute(
                text(
                    "UPDATE events SET data = jsonb_set(data, '{n}', '99') WHERE stream_id = 's-8' AND version = 2"
                )
            )
        async with engine.connect() as conn:
            report = await eventstore.verify_chain(conn)
        assert not report.ok
        assert any("s-8 v2" in p and "hash" in p for p in report.problems)

    async def test_hash_chain_detects_a_deleted_row(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await eventstore.append(conn, "s-9", "Thing", 0, _events(3))
            await conn.execute(text("DELETE FROM events WHERE stream_id = 's-9' AND version = 2"))
        async with engine.connect() as conn:
            report = await eventstore.verify_chain(conn)
        assert any("s-9 v3" in p and "gap" in p for p in report.problems)
        assert any("s-9 v3" in p and "link" in p for p in report.problems)
