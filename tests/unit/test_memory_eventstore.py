"""The event store contract, run against the in-memory store service tests use; and what only it does."""

import uuid
from dataclasses import replace

import pytest

from libs.eventstore import EventStore, NewEvent
from libs.testing.eventstore_contract import EventStoreContract, RegisterContract
from libs.testing.memory import InMemoryEventStore


def _memory(store: EventStore) -> InMemoryEventStore:
    assert isinstance(store, InMemoryEventStore)
    return store


class TestInMemoryEventStore(EventStoreContract, RegisterContract):
    @pytest.fixture
    def store(self) -> InMemoryEventStore:
        return InMemoryEventStore()

    async def tamper_edit(self, store: EventStore, stream_id: str, version: int) -> None:
        events = _memory(store).events
        i = next(i for i, e in enumerate(events) if (e.stream_id, e.version) == (stream_id, version))
        events[i] = replace(events[i], data={**events[i].data, "n": 99})

    async def tamper_delete(self, store: EventStore, stream_id: str, version: int) -> None:
        events = _memory(store).events
        events[:] = [e for e in events if (e.stream_id, e.version) != (stream_id, version)]

    async def published(self, store: EventStore) -> list[uuid.UUID]:
        return [m.envelope.event_id for m in _memory(store).outbox]


async def test_personal_fields_stay_in_clear_without_a_cipher() -> None:
    store = InMemoryEventStore()
    data = {"name": "山田　太郎", "note": "x"}
    async with store.transaction() as s:
        assert await s.seal_fields("person-1", data, ["name"]) == data
        assert await s.open_fields(data) == data


async def test_erasing_a_subject_is_recorded_once_and_only_on_commit() -> None:
    store = InMemoryEventStore()
    with pytest.raises(RuntimeError, match="boom"):
        async with store.transaction() as s:
            assert await s.erase_subject("person-1") is True
            raise RuntimeError("boom")
    assert store.erased == set()
    async with store.transaction() as s:
        assert await s.erase_subject("person-1") is True
        assert await s.erase_subject("person-1") is False
    assert store.erased == {"person-1"}
    async with store.transaction() as s:
        assert await s.erase_subject("person-1") is False


async def test_a_reading_session_refuses_to_write() -> None:
    store = InMemoryEventStore()
    async with store.reading() as s:
        with pytest.raises(RuntimeError, match="reading"):
            await s.append("s-1", "Thing", 0, [NewEvent("A", {})])
        with pytest.raises(RuntimeError, match="reading"):
            await s.append_at_end("s-1", "Thing", [NewEvent("A", {})])
    assert store.events == []


async def test_reads_hand_out_copies_that_cannot_change_the_store() -> None:
    store = InMemoryEventStore()
    async with store.transaction() as s:
        await s.append("s-1", "Thing", 0, [NewEvent("A", {"n": 1})])
    async with store.reading() as s:
        (event,) = await s.read_stream("s-1")
        event.data["n"] = 2
        assert (await s.read_stream("s-1"))[0].data == {"n": 1}
        assert (await s.verify_chain()).ok


async def test_positions_follow_commit_order() -> None:
    store = InMemoryEventStore()
    async with store.transaction() as late:
        await late.append("s-late", "Thing", 0, [NewEvent("A", {})])
        async with store.transaction() as early:
            await early.append("s-early", "Thing", 0, [NewEvent("A", {})])
    assert [(e.stream_id, e.global_position) for e in store.events] == [("s-early", 1), ("s-late", 2)]
