"""The event store's contract as a reusable test class (after eventsourcing's tests/persistence.py).

Subclass it with a `store` fixture (an `EventStore` on an empty store) and the hooks below, which
reach behind the store's back the way only its own implementation can (tampering with stored rows,
reading the outbox). Every behaviour the services rely on is pinned down here, so the in-memory
store that service tests run on behaves as PostgreSQL does.
"""

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import pytest

from contracts.envelope import Envelope
from libs import outbox
from libs.domain import Aggregate, DomainEvent, RegisterEntry
from libs.eventstore import (
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    LogQuery,
    NewEvent,
    RegisterQuery,
    RegisterSort,
    RegisterWrite,
)
from libs.text import day_terms, name_terms, query_terms


def _events(n: int, **data: object) -> list[NewEvent]:
    return [NewEvent("Something", {"n": i, **data}, metadata={"actor": "tester"}) for i in range(n)]


def _message() -> outbox.OutgoingMessage:
    now = datetime.now(UTC)
    envelope = Envelope(
        event_id=uuid.uuid4(),
        event_type="ThingHappened",
        schema_version=1,
        case_key=uuid.uuid4(),
        occurred_at=now,
        recorded_at=now,
        organisation="org-a",
        actor="tester",
        correlation_id=uuid.uuid4(),
        payload={},
    )
    return outbox.OutgoingMessage("contract.test", envelope)


# A tiny aggregate whose only event is at schema version 2: v1 stored `text`, v2 calls it `title`.
class Titled(DomainEvent):
    schema_version = 2
    upcasters: ClassVar[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {
        1: lambda data: {"title": data["text"]}
    }
    title: str


def _evolve(state: list[str], event: DomainEvent) -> list[str]:
    assert isinstance(event, Titled)
    return [*state, event.title]


NOTE = Aggregate[list[str]](stream_type="Note", initial=list, evolve=_evolve, events=(Titled,))


class EventStoreContract(ABC):
    # --- hooks each store implements -----------------------------------------------------------

    @abstractmethod
    async def tamper_edit(self, store: EventStore, stream_id: str, version: int) -> None:
        """Set `data["n"]` of one stored event to 99, behind the store's back."""

    @abstractmethod
    async def tamper_delete(self, store: EventStore, stream_id: str, version: int) -> None:
        """Delete one stored event, behind the store's back."""

    @abstractmethod
    async def published(self, store: EventStore) -> list[uuid.UUID]:
        """The message ids committed to the outbox, oldest first."""

    # --- reading and writing streams -------------------------------------------------------------

    async def test_appends_and_reads_a_stream_in_version_order(self, store: EventStore) -> None:
        async with store.transaction() as s:
            version = await s.append("s-1", "Thing", 0, _events(3, name="山田　太郎\ufe00"))
        assert version == 3
        async with store.reading() as s:
            stream = await s.read_stream("s-1")
        assert [e.version for e in stream] == [1, 2, 3]
        assert [e.data["n"] for e in stream] == [0, 1, 2]
        assert stream[0].data["name"] == "山田　太郎\ufe00"
        assert stream[0].metadata == {"actor": "tester"}
        assert stream[0].stream_type == "Thing"
        assert stream[0].recorded_at.tzinfo is not None

    async def test_unknown_stream_reads_empty(self, store: EventStore) -> None:
        async with store.reading() as s:
            assert await s.read_stream("nobody") == []

    async def test_appending_nothing_changes_nothing(self, store: EventStore) -> None:
        async with store.transaction() as s:
            assert await s.append("s-0", "Thing", 0, []) == 0
            assert await s.read_all() == []

    @pytest.mark.parametrize("expected", [0, 1, 3])
    async def test_wrong_expected_version_is_a_conflict(self, store: EventStore, expected: int) -> None:
        async with store.transaction() as s:
            await s.append("s-2", "Thing", 0, _events(2))
        with pytest.raises(ConcurrencyError):
            async with store.transaction() as s:
                await s.append("s-2", "Thing", expected, _events(1))
        async with store.reading() as s:
            assert len(await s.read_stream("s-2")) == 2

    async def test_appends_are_visible_in_their_transaction_and_to_others_only_once_committed(
        self, store: EventStore
    ) -> None:
        async with store.transaction() as writer:
            await writer.append("s-vis", "Thing", 0, _events(2))
            assert [e.version for e in await writer.read_stream("s-vis")] == [1, 2]
            assert len(await writer.read_all()) == 2
            async with store.reading() as other:
                assert await other.read_stream("s-vis") == []
                assert await other.read_all() == []
                assert await other.stream_ids(stream_type="Thing") == []
            async with store.transaction() as other:
                assert await other.read_stream("s-vis") == []
        async with store.reading() as other:
            assert [e.version for e in await other.read_stream("s-vis")] == [1, 2]

    async def test_concurrent_appends_at_the_same_version_let_exactly_one_win(
        self, store: EventStore
    ) -> None:
        async with store.transaction() as s:
            await s.append("s-3", "Thing", 0, _events(1))
        # Both writers hold an open transaction at version 1 before either commits.
        both_ready = asyncio.Barrier(2)

        async def writer(tag: str) -> str:
            try:
                async with store.transaction() as s:
                    await s.read_stream("s-3")
                    await both_ready.wait()
                    await s.append("s-3", "Thing", 1, _events(2, writer=tag))
                return "ok"
            except ConcurrencyError:
                return "conflict"

        results = await asyncio.gather(writer("a"), writer("b"))
        assert sorted(results) == ["conflict", "ok"]
        async with store.reading() as s:
            stream = await s.read_stream("s-3")
        assert [e.version for e in stream] == [1, 2, 3]
        assert len({e.data.get("writer") for e in stream[1:]}) == 1

    @pytest.mark.parametrize("clash", ["version", "event_id"])
    async def test_two_open_transactions_that_clash_let_exactly_one_commit(
        self, store: EventStore, clash: str
    ) -> None:
        """The second append comes while the first transaction is still open: PostgreSQL blocks it
        until the first commits, a store without locks may take it and must refuse it at commit."""
        shared = uuid.uuid4()
        error = ConcurrencyError if clash == "version" else DuplicateEventError
        first_appended = asyncio.Event()

        async def writer(tag: str) -> str:
            stream, event = ("s-clash", uuid.uuid4()) if clash == "version" else (f"s-clash-{tag}", shared)
            try:
                async with store.transaction() as s:
                    if tag == "b":
                        await first_appended.wait()
                    await s.append(
                        stream, "Thing", 0, [NewEvent("Something", {"writer": tag}, event_id=event)]
                    )
                    if tag == "a":
                        first_appended.set()
                        await asyncio.sleep(0.2)  # the other writer appends meanwhile
                return "ok"
            except error:
                return "conflict"

        assert sorted(await asyncio.gather(writer("a"), writer("b"))) == ["conflict", "ok"]
        async with store.reading() as s:
            stored = await s.read_all()
        assert len(stored) == 1

    async def test_appends_at_the_end_from_many_writers_at_once_all_land_in_one_chain(
        self, store: EventStore
    ) -> None:
        """Records no decision depends on (access records) queue instead of conflicting."""
        async with store.transaction() as s:
            await s.append("s-end", "Log", 0, _events(1))
        writers = 12
        all_open = asyncio.Barrier(writers)

        async def writer(n: int) -> int:
            async with store.transaction() as s:
                await s.read_stream("s-end")
                await all_open.wait()  # every transaction is open before any appends
                return await s.append_at_end("s-end", "Log", _events(1, writer=n))

        versions = await asyncio.gather(*(writer(n) for n in range(writers)))
        assert sorted(versions) == list(range(2, writers + 2))
        async with store.reading() as s:
            stream = await s.read_stream("s-end")
            report = await s.verify_chain()
        assert sorted(e.data["writer"] for e in stream[1:]) == list(range(writers))
        assert report.ok, report.problems

    async def test_append_at_the_end_opens_a_new_stream(self, store: EventStore) -> None:
        async with store.transaction() as s:
            assert await s.append_at_end("s-new", "Log", _events(2)) == 2
            assert await s.append_at_end("s-new", "Log", _events(1)) == 3
        async with store.reading() as s:
            assert [e.version for e in await s.read_stream("s-new")] == [1, 2, 3]
            assert (await s.verify_chain()).ok

    async def test_a_failed_append_leaves_nothing_behind(self, store: EventStore) -> None:
        duplicate = uuid.uuid4()
        async with store.transaction() as s:
            await s.append("s-4", "Thing", 0, [NewEvent("A", {}, event_id=duplicate)])
        with pytest.raises(DuplicateEventError):
            async with store.transaction() as s:
                await s.append("s-5", "Thing", 0, [NewEvent("B", {}), NewEvent("C", {}, event_id=duplicate)])
        async with store.reading() as s:
            assert await s.read_stream("s-5") == []
            assert len(await s.read_all()) == 1

    async def test_an_event_id_twice_in_one_append_is_a_duplicate(self, store: EventStore) -> None:
        twice = uuid.uuid4()
        with pytest.raises(DuplicateEventError):
            async with store.transaction() as s:
                await s.append("s-4b", "Thing", 0, [NewEvent("A", {}, event_id=twice)] * 2)
        async with store.reading() as s:
            assert await s.read_all() == []

    async def test_a_failed_transaction_leaves_no_events_and_no_messages(self, store: EventStore) -> None:
        kept = _message()
        async with store.transaction() as s:
            await s.append("s-kept", "Thing", 0, _events(1))
            await s.publish([kept])
        with pytest.raises(RuntimeError, match="boom"):
            async with store.transaction() as s:
                await s.append("s-lost", "Thing", 0, _events(2))
                await s.append("s-kept", "Thing", 1, _events(1))
                await s.publish([_message(), _message()])
                raise RuntimeError("boom")
        async with store.reading() as s:
            assert await s.read_stream("s-lost") == []
            assert [e.stream_id for e in await s.read_all()] == ["s-kept"]
        assert await self.published(store) == [kept.envelope.event_id]

    # --- the log ------------------------------------------------------------------------------------

    async def test_reads_the_whole_log_in_order_in_pages(self, store: EventStore) -> None:
        for i in range(5):
            async with store.transaction() as s:
                await s.append(f"s-log-{i % 2}", "Thing", i // 2, _events(1, i=i))
        async with store.reading() as s:
            first = await s.read_all(after=0, limit=3)
            rest = await s.read_all(after=first[-1].global_position, limit=10)
        log = first + rest
        assert [e.data["i"] for e in log] == [0, 1, 2, 3, 4]
        positions = [e.global_position for e in log]
        assert positions == sorted(positions) and len(set(positions)) == 5

    async def test_the_log_filters_by_case_type_organisation_actor_and_time(self, store: EventStore) -> None:
        case_a, case_b = uuid.uuid4(), uuid.uuid4()

        def event(org: str, actor: str, case_key: uuid.UUID | None) -> NewEvent:
            return NewEvent("Seen", {}, metadata={"organisation": org, "actor": actor}, case_key=case_key)

        async with store.transaction() as s:
            await s.append("case-a", "Case", 0, [event("org-a", "u1", case_a), event("org-a", "u2", case_a)])
        async with store.transaction() as s:
            await s.append("access-a", "Access", 0, [event("org-b", "u1", case_a)])
        async with store.transaction() as s:
            await s.append("case-b", "Case", 0, [event("org-b", "u2", case_b), event("org-a", "u1", None)])

        async def where(**query: Any) -> list[tuple[str, int]]:
            async with store.reading() as s:
                return [(e.stream_id, e.version) for e in await s.log(LogQuery(**query))]

        assert await where(case_key=case_a) == [("case-a", 1), ("case-a", 2), ("access-a", 1)]
        assert await where(stream_type="Case") == [("case-a", 1), ("case-a", 2), ("case-b", 1), ("case-b", 2)]
        assert await where(organisation="org-b") == [("access-a", 1), ("case-b", 1)]
        assert await where(actor="u2") == [("case-a", 2), ("case-b", 1)]
        assert await where(organisation="org-a", actor="u1") == [("case-a", 1), ("case-b", 2)]
        assert await where(case_key=case_a, stream_type="Case", actor="u1") == [("case-a", 1)]
        assert await where(organisation="nobody") == []

        async with store.reading() as s:
            everything = await s.read_all()
            assert len(everything) == 5
            after = everything[1].global_position
            assert await s.log(LogQuery(after=after, limit=2)) == everything[2:4]
            assert await s.log(LogQuery(after=after, stream_type="Case")) == [everything[3], everything[4]]
            # Time is a half-open interval [start, end).
            t = everything[2].recorded_at
            since = await s.log(LogQuery(start=t))
            before = await s.log(LogQuery(end=t))
            end = everything[-1].recorded_at
            between = await s.log(LogQuery(start=t, end=end))
        assert since == [e for e in everything if e.recorded_at >= t] and everything[2] in since
        assert before == [e for e in everything if e.recorded_at < t] and everything[2] not in before
        assert between == [e for e in everything if t <= e.recorded_at < end]
        assert everything[-1] not in between

    async def test_log_all_reads_every_page(self, store: EventStore) -> None:
        async with store.transaction() as s:
            await s.append("s-many", "Thing", 0, _events(7))
            await s.append("s-other", "Other", 0, _events(2))
        async with store.reading() as s:
            rows = await s.log_all(LogQuery(stream_type="Thing", limit=1), page=3)
        assert [e.data["n"] for e in rows] == list(range(7))

    async def test_stream_ids_by_type_and_by_case_key_in_the_order_opened(self, store: EventStore) -> None:
        case_a, case_b = uuid.uuid4(), uuid.uuid4()

        def about(case_key: uuid.UUID | None) -> list[NewEvent]:
            return [NewEvent("Opened", {}, case_key=case_key)]

        # Opened in an order that is not alphabetical.
        async with store.transaction() as s:
            await s.append("z-case", "Case", 0, about(case_a))
        async with store.transaction() as s:
            await s.append("a-consent", "Consent", 0, about(case_a))
            await s.append("m-case", "Case", 0, about(case_b))
        async with store.transaction() as s:
            await s.append("b-case", "Case", 0, about(None))
            # Later events do not change what a stream was opened as.
            await s.append("z-case", "Case", 1, about(case_b))
            await s.append("b-case", "Case", 1, about(case_a))
        async with store.reading() as s:
            assert await s.stream_ids(stream_type="Case") == ["z-case", "m-case", "b-case"]
            assert await s.stream_ids(stream_type="Consent") == ["a-consent"]
            assert await s.stream_ids(case_key=case_a) == ["z-case", "a-consent"]
            assert await s.stream_ids(case_key=case_b) == ["m-case"]
            assert await s.stream_ids(stream_type="Case", case_key=case_a) == ["z-case"]
            assert await s.stream_ids() == ["z-case", "a-consent", "m-case", "b-case"]
            assert await s.stream_ids(stream_type="Nothing") == []

    # --- the outbox ------------------------------------------------------------------------------

    async def test_published_messages_are_committed_with_the_transaction(self, store: EventStore) -> None:
        first, second, third = _message(), _message(), _message()
        async with store.transaction() as s:
            await s.publish([first, second])
            await s.publish([])
        async with store.transaction() as s:
            await s.publish([third])
        assert await self.published(store) == [m.envelope.event_id for m in (first, second, third)]

    # --- loading aggregates ------------------------------------------------------------------------

    async def test_load_reads_older_schema_versions_through_the_upcasters(self, store: EventStore) -> None:
        old = NewEvent("Titled", {"text": "written by the old code"}, schema_version=1)
        new = NewEvent("Titled", {"title": "written by the new code"}, schema_version=2)
        async with store.transaction() as s:
            await s.append("note-1", "Note", 0, [old, new])
        async with store.reading() as s:
            loaded = await s.load(NOTE, "note-1")
            stream = await s.read_stream("note-1")
            empty = await s.load(NOTE, "note-none")
        assert loaded.state == ["written by the old code", "written by the new code"]
        assert (loaded.version, loaded.head_hash) == (2, stream[-1].hash)
        assert [e.schema_version for e in stream] == [1, 2]
        assert stream[0].data == {"text": "written by the old code"}  # stored events never change
        assert (empty.state, empty.version, empty.head_hash) == ([], 0, None)

    async def test_append_after_load_with_the_head_hash_continues_the_chain(self, store: EventStore) -> None:
        async with store.transaction() as s:
            await s.append("note-2", "Note", 0, [NewEvent("Titled", {"title": "a"}, schema_version=2)])
        async with store.transaction() as s:
            loaded = await s.load(NOTE, "note-2")
            more = [NewEvent("Titled", {"title": "b"}, schema_version=2)]
            await s.append("note-2", "Note", loaded.version, more, head_hash=loaded.head_hash)
        async with store.reading() as s:
            assert (await s.load(NOTE, "note-2")).state == ["a", "b"]
            assert (await s.verify_chain()).ok

    # --- the hash chain ------------------------------------------------------------------------------

    async def test_hash_chain_verifies_when_untouched(self, store: EventStore) -> None:
        async with store.transaction() as s:
            await s.append("s-6", "Thing", 0, _events(3))
            await s.append("s-7", "Thing", 0, _events(2))
        async with store.reading() as s:
            report = await s.verify_chain(page=2)
        assert report.ok, report.problems
        assert (report.streams, report.events) == (2, 5)

    async def test_hash_chain_detects_an_edited_row(self, store: EventStore) -> None:
        async with store.transaction() as s:
            await s.append("s-8", "Thing", 0, _events(3))
        await self.tamper_edit(store, "s-8", 2)
        async with store.reading() as s:
            assert [e.data["n"] for e in await s.read_stream("s-8")] == [0, 99, 2]
            report = await s.verify_chain()
        assert not report.ok
        assert any("s-8 v2" in p and "hash" in p for p in report.problems)

    async def test_hash_chain_detects_a_deleted_row(self, store: EventStore) -> None:
        async with store.transaction() as s:
            await s.append("s-9", "Thing", 0, _events(3))
        await self.tamper_delete(store, "s-9", 2)
        async with store.reading() as s:
            report = await s.verify_chain()
        assert any("s-9 v3" in p and "gap" in p for p in report.problems)
        assert any("s-9 v3" in p and "link" in p for p in report.problems)


def _entry(n: int, **changes: Any) -> RegisterEntry:
    values: dict[str, Any] = {
        "case_id": uuid.UUID(int=n),
        "case_key": uuid.UUID(int=1000 + n),
        "organisation": "org-a",
        "status": "open",
        "district": "chuo-1",
        "issue_tags": ("8050",),
        "opened_on": date(2026, 4, n),
        "subject_ref": f"subj_{n:032x}",
        "search": name_terms("架空　花子", "カクウ ハナコ") + day_terms(date(1961, 4, 1)) if n == 1 else (),
    }
    return RegisterEntry(**(values | changes))


class RegisterContract:
    """The case register's storage: lines written with commands, queried by workers."""

    async def _save(self, store: EventStore, *entries: RegisterEntry, worker: str | None = "w-1") -> None:
        async with store.transaction() as s:
            for e in entries:
                await s.save_register(f"case-{e.case_id}", e, 1, worker)

    async def _ids(self, store: EventStore, **query: Any) -> list[int]:
        async with store.reading() as s:
            if "q" in query:
                query["tokens"] = tuple(s.blind(t) for t in query_terms(query.pop("q"))) or (b"",)
            rows = await s.register(RegisterQuery(organisation=query.pop("organisation", "org-a"), **query))
        return [r.case_id.int for r in rows]

    async def test_lists_the_organisations_lines_newest_first_with_filters(self, store: EventStore) -> None:
        await self._save(
            store,
            _entry(1),
            _entry(2, status="closed", district="kita-1", issue_tags=("poverty_debt",)),
            _entry(3, organisation="org-b"),
            _entry(4, opened_on=None),
        )
        assert await self._ids(store) == [2, 1, 4]  # no date sorts last
        assert await self._ids(store, descending=False) == [1, 2, 4]
        assert await self._ids(store, organisation="org-b") == [3]
        assert await self._ids(store, status=("closed",)) == [2]
        assert await self._ids(store, district="chuo-1") == [1, 4]
        assert await self._ids(store, issue_tag="poverty_debt") == [2]
        assert await self._ids(store, opened_from=date(2026, 4, 2)) == [2]
        assert await self._ids(store, opened_to=date(2026, 4, 1)) == [1]
        assert await self._ids(store, worker="w-1") == [2, 1, 4]

    async def test_the_worker_who_opened_stays_until_a_handover_names_another(
        self, store: EventStore
    ) -> None:
        async def worker_after(entry: RegisterEntry, writer: str | None = None) -> str | None:
            await self._save(store, entry, worker=writer)
            async with store.reading() as s:
                [row] = await s.register(RegisterQuery(organisation=entry.organisation))
            return row.worker

        assert await worker_after(_entry(1), "w-1") == "w-1"
        assert await worker_after(_entry(1), "w-2") == "w-1"  # a later writer is not the 担当者
        assert await worker_after(_entry(1, handed_to=("w-3",))) == "w-3"
        assert await worker_after(_entry(1), "w-4") == "w-3"
        # Handed to another organisation that has not named its 担当者 yet: nobody, not the old one.
        assert await worker_after(_entry(1, organisation="org-b", handed_to=(None,))) is None

    async def test_pages_by_cursor_without_gaps_or_repeats(self, store: EventStore) -> None:
        await self._save(store, *(_entry(n, opened_on=date(2026, 4, 1 + n % 3)) for n in range(1, 8)))
        seen: list[int] = []
        after = None
        while True:
            async with store.reading() as s:
                page = await s.register(RegisterQuery(organisation="org-a", limit=3, after=after))
            seen += [r.case_id.int for r in page]
            if len(page) < 3:
                break
            last = page[-1]
            after = (last.opened_on, last.case_id)
        assert sorted(seen) == list(range(1, 8)) and len(seen) == 7

    async def test_due_lines_are_overdue_before_the_day_given(self, store: EventStore) -> None:
        await self._save(
            store, _entry(1, due_on=date(2026, 5, 1)), _entry(2, due_on=date(2026, 6, 1)), _entry(3)
        )
        assert await self._ids(store, overdue_on=date(2026, 5, 15)) == [1]
        assert await self._ids(store, sort=RegisterSort.DUE, descending=False) == [1, 2, 3]

    async def test_worklist_filters_and_counts(self, store: EventStore) -> None:
        await self._save(
            store,
            _entry(1, due_on=date(2026, 5, 10), last_activity_on=date(2026, 4, 20)),
            _entry(2, due_on=date(2026, 5, 11), last_activity_on=date(2026, 4, 21)),
            _entry(3, last_activity_on=None),
            _entry(4, organisation="org-b", due_on=date(2026, 5, 1), last_activity_on=date(2026, 4, 1)),
        )
        assert await self._ids(store, due_by=date(2026, 5, 10)) == [1]  # due on the day itself counts
        assert await self._ids(store, quiet_since=date(2026, 4, 20)) == [1]
        async with store.reading() as s:
            assert await s.register_count(RegisterQuery(organisation="org-a")) == 3
            assert (
                await s.register_count(RegisterQuery(organisation="org-a", due_by=date(2026, 5, 11), limit=1))
                == 2
            )
            assert await s.register_count(RegisterQuery(organisation="org-c")) == 0

    async def test_every_line_of_a_case_key_shows_its_consent_expiry_whenever_it_was_written(
        self, store: EventStore
    ) -> None:
        key = _entry(1).case_key
        assert key is not None
        async with store.transaction() as s:  # noted before any line of the key exists
            await s.save_consent_expiry(key, date(2026, 5, 10))
            await s.save_consent_expiry(uuid.UUID(int=1002), date(2026, 6, 30))
            await s.save_consent_expiry(uuid.UUID(int=1004), None)  # none in force
        # Case 5 is a second case under case 1's key (a coordination case after a return).
        await self._save(store, _entry(1), _entry(2), _entry(3), _entry(4), _entry(5, case_key=key))

        async with store.reading() as s:
            rows = await s.register(RegisterQuery(organisation="org-a", descending=False))
        assert [(r.case_id.int, r.consent_expires_on) for r in rows] == [
            (1, date(2026, 5, 10)),
            (2, date(2026, 6, 30)),
            (3, None),
            (4, None),
            (5, date(2026, 5, 10)),
        ]
        window = {"consent_expires_from": date(2026, 5, 10), "consent_expires_by": date(2026, 6, 9)}
        assert await self._ids(store, **window) == [5, 1]  # the first day of the window counts
        assert await self._ids(store, consent_expires_from=date(2026, 5, 11)) == [2]  # past: out
        assert await self._ids(store, consent_expires_by=date(2026, 6, 30)) == [5, 2, 1]
        assert await self._ids(store, sort=RegisterSort.CONSENT_EXPIRY, descending=False) == [1, 5, 2, 3, 4]
        async with store.reading() as s:
            assert await s.register_count(RegisterQuery(organisation="org-a", **window)) == 2

        async with store.transaction() as s:  # a new consent: both lines of the key follow at once
            await s.save_consent_expiry(key, date(2027, 3, 31))
        assert await self._ids(store, **window) == []
        async with store.transaction() as s:
            await s.clear_register()  # a rebuild starts from nothing, consents too
        await self._save(store, _entry(2))
        async with store.reading() as s:
            (row,) = await s.register(RegisterQuery(organisation="org-a"))
        assert row.consent_expires_on is None

    async def test_searches_whole_names_in_kanji_or_kana_and_birth_dates(self, store: EventStore) -> None:
        await self._save(store, _entry(1), _entry(2))
        for found in ("架空", "花子", "架空 花子", "かくう", "ｶｸｳ", "カクウハナコ", "1961-04-01", "19610401"):
            assert await self._ids(store, q=found) == [1], found
        for missed in ("架", "はな", "1961-04-02", "   "):
            assert await self._ids(store, q=missed) == [], missed

    async def test_a_line_is_rewritten_in_place_and_its_first_worker_stays(self, store: EventStore) -> None:
        await self._save(store, _entry(1))
        await self._save(store, _entry(1, status="closed", search=name_terms("別名")), worker="w-2")
        async with store.reading() as s:
            (row,) = await s.register(RegisterQuery(organisation="org-a"))
        assert (row.status, row.worker) == ("closed", "w-1")
        assert await self._ids(store, q="別名") == [1]
        assert await self._ids(store, q="架空") == []  # tokens no longer true are gone

    async def test_a_bulk_save_reads_as_saving_line_by_line(self, store: EventStore) -> None:
        lines = [
            RegisterWrite(f"case-{e.case_id}", e, 1, "w-1")
            for e in (_entry(1), _entry(2, district="kita-1"), _entry(3, organisation="org-b"))
        ]
        # The same case again later in the batch: rewritten in place, its first worker kept.
        rewrite = _entry(1, status="closed", search=name_terms("別名"))
        lines.append(RegisterWrite(f"case-{rewrite.case_id}", rewrite, 2, "w-2"))

        async def everything() -> list[Any]:
            async with store.reading() as s:
                rows = [await s.register(RegisterQuery(organisation=o)) for o in ("org-a", "org-b")]
            return [rows, *[await self._ids(store, q=q) for q in ("別名", "架空", "1961-04-01")]]

        async with store.transaction() as s:
            await s.save_registers(lines)
        bulk = await everything()
        async with store.transaction() as s:
            await s.clear_register()
            for line in lines:
                await s.save_register(*line)
        assert await everything() == bulk
        (second, first), (other,) = bulk[0]
        assert (first.case_id.int, first.status, first.worker, first.version) == (1, "closed", "w-1", 2)
        assert (second.case_id.int, second.district, other.case_id.int) == (2, "kita-1", 3)
        assert bulk[1:] == [[1], [], []]

    async def test_erasing_the_person_removes_their_search_tokens(self, store: EventStore) -> None:
        await self._save(store, _entry(1))
        async with store.transaction() as s:
            await s.erase_subject(_entry(1).subject_ref or "")
        assert await self._ids(store, q="架空") == []
        assert await self._ids(store) == [1]  # the line stays: the case exists, pseudonymous

    async def test_clearing_leaves_nothing_and_rolls_back_with_its_transaction(
        self, store: EventStore
    ) -> None:
        await self._save(store, _entry(1))
        with pytest.raises(RuntimeError):
            async with store.transaction() as s:
                await s.clear_register()
                raise RuntimeError("the rebuild failed")
        assert await self._ids(store) == [1]
        async with store.transaction() as s:
            await s.clear_register()
        assert await self._ids(store) == []
