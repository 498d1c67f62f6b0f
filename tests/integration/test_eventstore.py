"""The event store contract, run against real PostgreSQL."""

import uuid
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.crypto import KeyEncryptionKey, PersonalDataCipher
from libs.domain import RegisterEntry
from libs.eventstore import EventStore, PostgresEventStore, RegisterWrite
from libs.testing.eventstore_contract import EventStoreContract, RegisterContract
from libs.text import day_terms, name_terms


def _engine(store: EventStore) -> AsyncEngine:
    assert isinstance(store, PostgresEventStore)
    return store.engine


class TestPostgresEventStore(EventStoreContract, RegisterContract):
    """Uses the `engine` fixture from tests/conftest.py: a fresh database per test."""

    @pytest.fixture
    def store(self, engine: AsyncEngine) -> PostgresEventStore:
        # A cipher: erasure and the register's blind tokens need the service's key.
        return PostgresEventStore(engine, PersonalDataCipher(KeyEncryptionKey.generate()))

    async def tamper_edit(self, store: EventStore, stream_id: str, version: int) -> None:
        async with _engine(store).begin() as conn:
            await conn.execute(
                text(
                    "UPDATE events SET data = jsonb_set(data, '{n}', '99') WHERE stream_id = :s AND version = :v"
                ),
                {"s": stream_id, "v": version},
            )

    async def tamper_delete(self, store: EventStore, stream_id: str, version: int) -> None:
        async with _engine(store).begin() as conn:
            await conn.execute(
                text("DELETE FROM events WHERE stream_id = :s AND version = :v"),
                {"s": stream_id, "v": version},
            )

    async def published(self, store: EventStore) -> list[uuid.UUID]:
        async with _engine(store).connect() as conn:
            result = await conn.execute(
                text("SELECT message_id FROM outbox ORDER BY transaction_id, position")
            )
            return [uuid.UUID(str(m)) for m in result.scalars()]

    async def test_a_bulk_save_writes_the_rows_of_line_by_line_saves(self, store: PostgresEventStore) -> None:
        """The bench fills ten years of a register in bulk: its rows must be the write path's."""
        lines = [
            RegisterWrite(
                f"intake-case-{n}",
                RegisterEntry(
                    case_id=uuid.UUID(int=n),
                    case_key=uuid.UUID(int=n),
                    organisation="org-a",
                    status="open",
                    district="chuo-1",
                    issue_tags=("8050", "hikikomori"),
                    opened_on=date(2026, 4, n),
                    last_activity_on=date(2026, 5, n),
                    subject_ref=f"subj_{n:032x}",
                    search=name_terms(f"架空 {n}郎", f"カクウ {n}ロウ") + day_terms(date(1961, 4, n)),
                ),
                1,
                f"w-{n}",
            )
            for n in range(1, 6)
        ]
        again = replace(lines[0].entry, status="closed", search=name_terms("別名"))
        lines.append(RegisterWrite(lines[0].stream_id, again, 2, "w-9"))

        async def tables() -> list[list[object]]:
            async with _engine(store).connect() as conn:
                return [
                    [tuple(r) for r in await conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]
                    for table, order in (("case_register", "stream_id"), ("case_search", "stream_id, token"))
                ]

        async with store.transaction() as s:
            for line in lines:
                await s.save_register(*line)
        one_by_one = await tables()
        async with store.transaction() as s:
            await s.clear_register()
            await s.save_registers(lines)
        assert await tables() == one_by_one
        assert len(one_by_one[0]) == 5 and len(one_by_one[1]) == 4 * 7 + 1  # 7 terms each; the first: 1
