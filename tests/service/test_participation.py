"""Participation's use cases on the in-memory event store: no HTTP, no Kafka, no PostgreSQL.

The handlers run the real write path (authorise, load, decide, append, outbox) on
`InMemoryEventStore`, so what these tests see in `store.events` and `store.outbox` is what the
service would have committed. The store has no cipher: personal fields stay in clear here, which
lets the tests check that they never reach a public event.
"""

import uuid
from datetime import UTC, date, datetime

import pytest

from contracts import events as public
from contracts.glossary import (
    AgeBand,
    FollowUpStatus,
    IssueTag,
    LegalBasis,
    MenuKind,
    MenuStatus,
    ParticipationClosureReason,
    ParticipationNeed,
    PlacementOutcome,
    Program,
    Role,
)
from libs.auth import Principal
from libs.authz import Forbidden
from libs.commands import Context, envelope_for
from libs.directory import Directory, Organisation
from libs.domain import DomainError, NotFound
from libs.eventstore import ConcurrencyError, RecordedEvent, RegisterQuery
from libs.http import Caller
from libs.inbox import Delivery
from libs.testing.memory import InMemoryEventStore
from services.participation.domain import menu, model
from services.participation.entrypoints import register, schemas, timeline
from services.participation.service_layer import handlers

HOLDER = "shakyo-sanka"
OTHER = "sanka-higashi"  # runs participation too, but holds none of these cases
TODAY = date(2026, 6, 15)
WISHES = "人の少ない場所で、体を動かす作業がしたい"
ARRANGEMENTS = "初回は職員が同行する"

DIRECTORY = Directory(
    municipality="架空市",
    organisations={
        o.id: o
        for o in (
            Organisation(HOLDER, HOLDER, frozenset({Program.PARTICIPATION})),
            Organisation(OTHER, OTHER, frozenset({Program.PARTICIPATION})),
            Organisation("shakyo-tagikan", "shakyo-tagikan", frozenset({Program.COORDINATION})),
        )
    },
    users={},
)


def caller(organisation: str = HOLDER, *roles: Role) -> Caller:
    principal = Principal(
        f"user-of-{organisation}", organisation, frozenset(roles or {Role.PARTICIPATION_COORDINATOR})
    )
    return Caller(principal, Context(organisation=organisation, actor=principal.user))


def stream(store: InMemoryEventStore, stream_id: str) -> list[RecordedEvent]:
    return [e for e in store.events if e.stream_id == stream_id]


def published(store: InMemoryEventStore) -> list[str]:
    return [m.envelope.event_type for m in store.outbox]


def referral(district: str = "kita-2", referred_on: date = date(2026, 4, 1)) -> Delivery:
    """Coordination's referral as the inbox hands it over: the event in its envelope."""
    event = public.ReferredToParticipation(
        case_key=uuid.uuid4(),
        referral_id=uuid.uuid4(),
        coordination_case_id=uuid.uuid4(),
        subject_ref=f"subj_{uuid.uuid4().hex}",
        needs=[ParticipationNeed.WORK_EXPERIENCE],
        issue_tags=[IssueTag.HIKIKOMORI],
        age_band=AgeBand.YOUNG_ADULT,
        district=district,
        referred_on=referred_on,
    )
    envelope = envelope_for(event, Context(organisation="shakyo-tagikan", actor="someone"), datetime.now(UTC))
    return Delivery(envelope=envelope, event=event, topic=event.topic, partition=0, offset=1)


def a_menu(
    capacity: int = 2, kind: MenuKind = MenuKind.WORK_EXPERIENCE, district: str = "kita-2"
) -> menu.PublishMenu:
    return menu.PublishMenu(
        title="あおぞら農園の農作業体験",
        description="野菜の収穫と袋詰め。",
        kind=kind,
        host_organisation="farm-aozora",
        host_name="あおぞら農園",
        district=district,
        capacity=capacity,
        schedule="毎週火・木 10時〜12時",
        target_groups=[IssueTag.ISOLATION, IssueTag.HIKIKOMORI, IssueTag.ISOLATION],
    )


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


async def opened_case(store: InMemoryEventStore, delivery: Delivery | None = None) -> uuid.UUID:
    """A case opened by a referral, as the consumer opens it; its id."""
    delivery = delivery or referral()
    async with store.transaction() as session:
        await handlers.on_referred(session, delivery, organisation=HOLDER, directory=DIRECTORY)
    assert isinstance(delivery.event, public.ReferredToParticipation)
    return model.case_id_for(delivery.event.referral_id)


async def assessed_case(store: InMemoryEventStore) -> uuid.UUID:
    case_id = await opened_case(store)
    assessment = model.AssessNeeds(
        needs=[ParticipationNeed.WORK_EXPERIENCE], wishes=WISHES, assessed_on=date(2026, 4, 3)
    )
    await handlers.change(store, caller(), case_id, assessment, expected_version=1)
    return case_id


async def a_published_menu(store: InMemoryEventStore, capacity: int = 2, **details) -> uuid.UUID:
    return (
        await handlers.publish_menu(store, caller(), DIRECTORY, a_menu(capacity, **details), TODAY)
    ).menu_id


def start(menu_id: uuid.UUID, on: date = date(2026, 4, 7)) -> model.StartPlacement:
    return model.StartPlacement(menu_id=menu_id, arrangements=ARRANGEMENTS, started_on=on)


async def test_a_redelivered_referral_opens_one_case_under_its_case_key(store):
    delivery = referral()
    assert isinstance(delivery.event, public.ReferredToParticipation)

    for _ in range(2):
        case_id = await opened_case(store, delivery)

    [opened] = stream(store, handlers.stream_id(case_id))
    assert opened.event_type == "CaseOpened" and opened.case_key == delivery.event.case_key
    assert opened.data["holder_organisation"] == HOLDER
    assert opened.data["referring_organisation"] == "shakyo-tagikan"
    assert opened.metadata["causation_id"] == str(delivery.envelope.event_id)
    assert published(store) == ["ParticipationAccepted"]
    assert store.outbox[0].envelope.payload["participation_case_id"] == str(case_id)
    async with store.reading() as session:
        assert await session.stream_ids(case_key=delivery.event.case_key) == [handlers.stream_id(case_id)]
        mine = await timeline.may_see(session, caller(), delivery.event.case_key, DIRECTORY, TODAY)
        other = await timeline.may_see(session, caller(OTHER), delivery.event.case_key, DIRECTORY, TODAY)
    assert mine.allowed and mine.basis is LegalBasis.HOLDER and not other.allowed


async def test_publishing_a_menu_mints_its_id_and_publishes_codes_only(store):
    first = await handlers.publish_menu(store, caller(), DIRECTORY, a_menu(), TODAY)
    second = await handlers.publish_menu(store, caller(), DIRECTORY, a_menu(), TODAY)

    assert first.version == 1 and second.menu_id != first.menu_id
    [event] = stream(store, handlers.menu_stream(first.menu_id))
    assert event.event_type == "MenuPublished" and event.data["menu_id"] == str(first.menu_id)
    assert event.data["managed_by"] == HOLDER and event.data["published_on"] == TODAY.isoformat()
    assert event.data["target_groups"] == ["hikikomori", "isolation"]
    assert published(store) == ["MenuPublished", "MenuPublished"]
    sent = store.outbox[0].envelope
    assert sent.payload["menu_id"] == str(first.menu_id) and sent.payload["capacity"] == 2
    assert "あおぞら" not in sent.model_dump_json()


async def test_only_a_participation_coordinator_of_a_participation_organisation_publishes(store):
    for refused in (caller(HOLDER, Role.COMMUNITY_COORDINATOR), caller("shakyo-tagikan")):
        with pytest.raises(Forbidden):
            await handlers.publish_menu(store, refused, DIRECTORY, a_menu(), TODAY)
    assert store.events == [] and store.outbox == []


async def test_a_placement_returns_its_id_holds_a_seat_and_publishes_no_arrangements(store):
    case_id = await assessed_case(store)
    menu_id = await a_published_menu(store)

    placed = await handlers.start_placement(store, caller(), case_id, start(menu_id), expected_version=2)

    assert placed.version == 3
    [seat] = [e for e in stream(store, handlers.menu_stream(menu_id)) if e.event_type == "SeatTaken"]
    assert seat.data == {
        "placement_id": str(placed.placement_id),
        "participation_case_id": str(case_id),
        "taken_on": "2026-04-07",
    }
    started = stream(store, handlers.stream_id(case_id))[-1]
    assert started.event_type == "PlacementStarted"
    assert started.data["placement_id"] == str(placed.placement_id)
    assert started.data["arrangements"] == ARRANGEMENTS and started.case_key is not None
    sent = store.outbox[-1].envelope
    assert sent.event_type == "PlacementStarted" and sent.payload["placement_id"] == str(placed.placement_id)
    assert ARRANGEMENTS not in sent.model_dump_json() and WISHES not in str(store.outbox)

    # The same person in the same menu again: refused before a second seat is taken.
    with pytest.raises(DomainError) as again:
        await handlers.start_placement(store, caller(), case_id, start(menu_id), expected_version=None)
    assert again.value.code == "already_placed"
    assert [e.event_type for e in stream(store, handlers.menu_stream(menu_id))] == [
        "MenuPublished",
        "SeatTaken",
    ]


async def test_the_case_refuses_before_a_seat_is_taken_and_a_full_menu_refuses_the_case(store):
    not_assessed = await opened_case(store)
    menu_id = await a_published_menu(store, capacity=1)

    with pytest.raises(DomainError) as refused:
        await handlers.start_placement(store, caller(), not_assessed, start(menu_id), expected_version=None)
    assert refused.value.code == "not_assessed"
    assert [e.event_type for e in stream(store, handlers.menu_stream(menu_id))] == ["MenuPublished"]

    await handlers.start_placement(store, caller(), await assessed_case(store), start(menu_id), None)
    late = await assessed_case(store)
    with pytest.raises(DomainError) as full:
        await handlers.start_placement(store, caller(), late, start(menu_id), expected_version=None)
    assert full.value.code == "menu_full"
    assert [e.event_type for e in stream(store, handlers.stream_id(late))] == ["CaseOpened", "NeedsAssessed"]


async def test_another_organisation_learns_nothing_and_changes_nothing(store):
    case_id = await assessed_case(store)
    menu_id = await a_published_menu(store)
    before = (list(store.events), list(store.outbox))
    follow_up = model.FollowUp(
        request=model.RecordFollowUp(status=FollowUpStatus.SETTLED, followed_up_on=date(2026, 5, 1)),
        placement_id=uuid.uuid4(),
    )

    for stranger in (caller(OTHER), caller(HOLDER, Role.COMMUNITY_COORDINATOR)):
        for unknown_or_not_theirs in (case_id, uuid.uuid4()):
            with pytest.raises(NotFound):
                await handlers.change(
                    store, stranger, unknown_or_not_theirs, follow_up, expected_version=None
                )
            with pytest.raises(NotFound):
                await handlers.start_placement(store, stranger, unknown_or_not_theirs, start(menu_id), None)
            with pytest.raises(NotFound):
                await handlers.suggest_menus(store, stranger, unknown_or_not_theirs)
            with pytest.raises(NotFound):
                await handlers.read_case(store, stranger, unknown_or_not_theirs)
    assert (store.events, store.outbox) == before  # not even an access record


async def test_a_read_is_recorded_under_the_case_key_before_the_details_are_returned(store):
    case_id = await assessed_case(store)

    loaded = await handlers.read_case(store, caller(), case_id)

    assert loaded.version == 2 and loaded.state.assessments[0].wishes == WISHES
    [record] = [e for e in store.events if e.stream_type == "AccessLog"]
    assert record.stream_id == f"access-case:{case_id}"
    assert record.case_key == loaded.state.opened.case_key
    assert record.data["basis"] == "holder" and "assessments.wishes" in record.data["fields"]


async def test_ending_frees_the_seat_and_a_repeated_end_heals_a_seat_left_held(store):
    case_id = await assessed_case(store)
    menu_id = await a_published_menu(store, capacity=1)
    placed = await handlers.start_placement(store, caller(), case_id, start(menu_id), None)
    end = model.End(
        request=model.EndPlacement(outcome=PlacementOutcome.TERM_COMPLETED, ended_on=date(2026, 9, 30)),
        placement_id=placed.placement_id,
    )

    # The process died between the two writes: the case records the end, the seat stays held.
    await handlers.change(store, caller(), case_id, end, expected_version=None)
    assert (await handlers.read_menu(store, caller(), menu_id)).state.free_seats == 0

    with pytest.raises(DomainError) as repeated:
        await handlers.end_placement(store, caller(), case_id, end, expected_version=None)
    assert repeated.value.code == "placement_ended"
    menu_events = stream(store, handlers.menu_stream(menu_id))
    assert (
        menu_events[-1].event_type == "SeatReleased" and menu_events[-1].data["released_on"] == "2026-09-30"
    )
    with pytest.raises(DomainError):
        await handlers.end_placement(store, caller(), case_id, end, expected_version=None)
    assert stream(store, handlers.menu_stream(menu_id)) == menu_events  # released once
    assert published(store)[-1] == "PlacementEnded"


async def test_only_the_manager_revises_a_menu_on_the_version_it_saw(store):
    menu_id = await a_published_menu(store)
    revision = menu.ReviseMenu(capacity=5, status=MenuStatus.CLOSED)
    before = list(store.events)

    with pytest.raises(Forbidden):
        await handlers.revise_menu(store, caller(OTHER), menu_id, revision, None, TODAY)
    with pytest.raises(NotFound):
        await handlers.revise_menu(store, caller(), uuid.uuid4(), revision, None, TODAY)
    with pytest.raises(ConcurrencyError):
        await handlers.revise_menu(store, caller(), menu_id, revision, 7, TODAY)
    assert store.events == before

    outcome = await handlers.revise_menu(store, caller(), menu_id, revision, 1, TODAY)

    assert outcome.version == 2 and outcome.state.status is MenuStatus.CLOSED
    revised = stream(store, handlers.menu_stream(menu_id))[-1]
    assert revised.data["capacity"] == 5 and revised.data["revised_on"] == TODAY.isoformat()
    assert published(store)[-1] == "MenuUpdated" and store.outbox[-1].envelope.payload["status"] == "closed"


async def test_suggestions_are_open_menus_for_the_persons_needs_their_district_first(store):
    delivery = referral(district="minami-1")
    case_id = await opened_case(store, delivery)
    far = await a_published_menu(store, district="kita-2")
    near = await a_published_menu(store, district="minami-1")
    await a_published_menu(store, kind=MenuKind.LEARNING, district="minami-1")
    closed = await a_published_menu(store, district="minami-1")
    await handlers.revise_menu(
        store, caller(), closed, menu.ReviseMenu(status=MenuStatus.CLOSED), None, TODAY
    )

    found = await handlers.suggest_menus(store, caller(), case_id)

    assert [menu_id for menu_id, _ in found] == [near, far]
    listed = await handlers.list_menus(store, caller(), kind=None, district="minami-1", status=None)
    assert len(listed) == 3


async def test_the_register_lists_the_organisations_cases_newest_first_filtered_and_paged(store):
    older = await opened_case(store, referral(district="minami-1", referred_on=date(2026, 4, 1)))
    newer = await opened_case(store, referral(referred_on=date(2026, 5, 1)))
    assessment = model.AssessNeeds(needs=[ParticipationNeed.LEARNING], assessed_on=date(2026, 5, 20))
    await handlers.change(store, caller(), older, assessment, expected_version=1)
    async with store.transaction() as session:  # another organisation's case
        await handlers.on_referred(
            session, referral(referred_on=date(2026, 6, 1)), organisation=OTHER, directory=DIRECTORY
        )

    async with store.reading() as session:
        mine = await session.register(RegisterQuery(organisation=HOLDER))
        assessed = await session.register(RegisterQuery(organisation=HOLDER, status=("assessed",)))
        south = await session.register(RegisterQuery(organisation=HOLDER, district="minami-1"))
        [first] = await session.register(RegisterQuery(organisation=HOLDER, limit=1))
        page = await session.register(
            RegisterQuery(organisation=HOLDER, limit=1, after=(first.opened_on, first.case_id))
        )
        theirs = await session.register(RegisterQuery(organisation=OTHER))

    assert [r.case_id for r in mine] == [newer, older]
    assert (mine[1].status, mine[1].version, mine[1].last_activity_on) == ("assessed", 2, date(2026, 5, 20))
    assert (mine[0].status, mine[0].district, mine[0].issue_tags) == ("open", "kita-2", ("hikikomori",))
    assert mine[0].worker is None  # opened by the referral's consumer: no 担当者 yet
    assert [r.case_id for r in assessed] == [r.case_id for r in south] == [older]
    assert first.case_id == newer and [r.case_id for r in page] == [older]
    assert len(theirs) == 1 and theirs[0].case_id not in (newer, older)


async def test_closing_needs_every_placement_ended_reports_back_and_frees_any_seat_left_held(store):
    case_id = await assessed_case(store)
    menu_id = await a_published_menu(store, capacity=1)
    placed = await handlers.start_placement(store, caller(), case_id, start(menu_id), None)
    closure = model.CloseCase(
        reason=ParticipationClosureReason.SETTLED,
        note="自分で通えるようになった",
        closed_on=date(2026, 10, 1),
    )

    with pytest.raises(DomainError) as running:
        await handlers.close_case(store, caller(), case_id, closure, expected_version=None)
    assert running.value.code == "placements_running"
    # The end reached the case, but the process died before the seat was released.
    end = model.End(
        request=model.EndPlacement(outcome=PlacementOutcome.TERM_COMPLETED, ended_on=date(2026, 9, 30)),
        placement_id=placed.placement_id,
    )
    ended = await handlers.change(store, caller(), case_id, end, expected_version=None)
    assert (await handlers.read_menu(store, caller(), menu_id)).state.free_seats == 0

    closed = await handlers.close_case(store, caller(), case_id, closure, expected_version=ended.version)

    assert closed.version == ended.version + 1 and closed.state.status is model.Status.CLOSED
    assert stream(store, handlers.stream_id(case_id))[-1].data["note"] == "自分で通えるようになった"
    assert (await handlers.read_menu(store, caller(), menu_id)).state.free_seats == 1
    sent = store.outbox[-1].envelope
    assert (
        sent.event_type == "ParticipationClosed"
        and store.outbox[-1].topic == "kasane.participation.events.v1"
    )
    assert sent.payload == {
        "case_key": str(closed.state.opened.case_key),
        "participation_case_id": str(case_id),
        "reason": "settled",
        "closed_on": "2026-10-01",
    }
    assert "自分で通える" not in str(store.outbox)
    with pytest.raises(DomainError) as again:
        await handlers.close_case(store, caller(), case_id, closure, expected_version=None)
    assert again.value.code == "already_closed"
    assessment = model.AssessNeeds(needs=[ParticipationNeed.LEARNING], assessed_on=date(2026, 10, 2))
    with pytest.raises(DomainError) as late:
        await handlers.change(store, caller(), case_id, assessment, expected_version=None)
    assert late.value.code == "case_closed"

    async with store.reading() as session:
        [line] = await session.register(RegisterQuery(organisation=HOLDER, status=("closed",)))
        still_open = await session.register(RegisterQuery(organisation=HOLDER, status=register.OPEN))
    assert (line.case_id, line.last_activity_on) == (case_id, date(2026, 10, 1))
    assert still_open == [] and register.STATUS_LABELS["closed"] == "終結"
    assert set(register.STATUS_LABELS) == {s.value for s in model.Status}
    assert set(timeline.LABELS) == {e.event_type() for e in model.PARTICIPATION_CASE.events}
    loaded = await handlers.read_case(store, caller(), case_id)
    view = schemas.case_view(loaded.state, loaded.version)
    assert view.closure is not None and view.closure.reason_label == "活動に定着し支援を終了"


async def test_only_the_holders_coordinator_closes_and_a_stranger_learns_nothing(store):
    case_id = await assessed_case(store)
    closure = model.CloseCase(reason=ParticipationClosureReason.OTHER_SUPPORT, closed_on=date(2026, 5, 1))
    before = (list(store.events), list(store.outbox))

    for stranger in (caller(OTHER), caller(HOLDER, Role.COMMUNITY_COORDINATOR), caller("shakyo-tagikan")):
        for case in (case_id, uuid.uuid4()):
            with pytest.raises(NotFound):
                await handlers.close_case(store, stranger, case, closure, expected_version=None)
    assert (store.events, store.outbox) == before
    with pytest.raises(ConcurrencyError):
        await handlers.close_case(store, caller(), case_id, closure, expected_version=1)

    closed = await handlers.close_case(store, caller(), case_id, closure, expected_version=2)

    assert closed.version == 3 and published(store)[-1] == "ParticipationClosed"
