"""The event store contract, run against real PostgreSQL."""

from libs.testing.eventstore_contract import EventStoreContract


class TestPostgresEventStore(EventStoreContract):
    """Uses the `engine` fixture from tests/conftest.py: a fresh database per test."""
