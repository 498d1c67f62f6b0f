"""The event store contract, run against real PostgreSQL."""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.crypto import KeyEncryptionKey, PersonalDataCipher
from libs.eventstore import EventStore, PostgresEventStore
from libs.testing.eventstore_contract import EventStoreContract, RegisterContract


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
