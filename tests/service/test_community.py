"""Community's use cases on the in-memory event store: no HTTP, no Kafka, no PostgreSQL.

The handlers run the real write path (authorise, load, decide, append, outbox) on
`InMemoryEventStore`, so what these tests see in `store.events` and `store.outbox` is what the
service would have committed. The store has no cipher: a concern's description stays in clear
here, which lets the tests check that it never reaches a public event.
"""

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from contracts import events as public
from contracts.envelope import PublicEvent
from contracts.glossary import (
    AgeBand,
    Generation,
    IntegratedScheme,
    IssueTag,
    LocalResourceKind,
    MeetingType,
    MenuKind,
    MenuStatus,
    PlaceKind,
    PlatformTheme,
    Program,
    Role,
    Sector,
    TargetGroup,
)
from libs.auth import Principal
from libs.authz import Forbidden
from libs.commands import Context, envelope_for
from libs.directory import Directory, Organisation
from libs.domain import DomainError, NotFound
from libs.eventstore import ConcurrencyError, NewEvent, RecordedEvent, RegisterQuery
from libs.http import Caller
from libs.inbox import Delivery
from libs.testing.memory import InMemoryEventStore
from services.community.domain import concern, model, platform
from services.community.entrypoints import schemas, timeline
from services.community.service_layer import handlers

HOLDER = "shakyo-chiiki"
TODAY = date(2026, 6, 15)
DIRECTORY = Directory.load()
DESCRIPTION = "小学5年くらいの男の子。祖母の介護で来られない日が続く。"

PLACE = model.RegisterPlace(
    kind=PlaceKind.KODOMO_SHOKUDO,
    name="みんなの食卓 ひがし",
    description="誰でも来られる子ども食堂です。",
    address=None,
    district="higashi-1",
    school_district="higashi-es",
    target_groups=[TargetGroup.EVERYONE],
    multi_generational=True,
    opened_on=date(2026, 4, 1),
)
ACTIVITY = model.RecordActivity(
    held_on=date(2026, 4, 11),
    attendance=model.AttendanceCounts(children=12, older=8),
    volunteer_count=3,
    new_resident_led=True,
)
CONCERN = concern.NoteConcern(
    issue_tags=[IssueTag.YOUNG_CARER, IssueTag.YOUNG_CARER],
    age_band=AgeBand.CHILD,
    description=DESCRIPTION,
    noticed_on=date(2026, 5, 9),
)


def caller(organisation: str = HOLDER, *roles: Role) -> Caller:
    principal = Principal(
        f"user-of-{organisation}", organisation, frozenset(roles or {Role.COMMUNITY_COORDINATOR})
    )
    return Caller(principal, Context(organisation=organisation, actor=principal.user))


def stream(store: InMemoryEventStore, stream_id: str) -> list[RecordedEvent]:
    return [e for e in store.events if e.stream_id == stream_id]


def published(store: InMemoryEventStore) -> list[str]:
    return [m.envelope.event_type for m in store.outbox]


def delivery(event: PublicEvent, organisation: str) -> Delivery:
    """A message as the inbox hands it over: the event in its envelope, from `organisation`."""
    envelope = envelope_for(event, Context(organisation=organisation, actor="someone"), datetime.now(UTC))
    return Delivery(envelope=envelope, event=event, topic=event.topic, partition=0, offset=1)


async def consume(store: InMemoryEventStore, handler, message: Delivery, **kwargs) -> None:
    """Run a consumer handler in its own transaction, as the inbox does (without its dedup table)."""
    async with store.transaction() as session:
        await handler(session, message, **kwargs)


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


async def test_registering_a_place_returns_its_id_and_publishes_no_name(store):
    registered = await handlers.register_place(store, caller(), DIRECTORY, PLACE)
    again = await handlers.register_place(store, caller(), DIRECTORY, PLACE)

    assert registered.version == 1 and again.place_id != registered.place_id
    [event] = stream(store, handlers.place_stream(registered.place_id))
    assert event.event_type == "PlaceRegistered" and event.data["place_id"] == str(registered.place_id)
    assert event.data["holder_organisation"] == HOLDER and event.case_key is None  # a place is no case
    assert published(store) == ["PlaceRegistered", "PlaceRegistered"]
    sent = store.outbox[0].envelope
    assert sent.case_key == registered.place_id and PLACE.name not in sent.model_dump_json()


async def test_only_a_community_coordinator_of_a_community_organisation_registers(store):
    for refused in (caller(HOLDER, Role.INTAKE_WORKER), caller("houkatsu-chuo")):
        with pytest.raises(Forbidden):
            await handlers.register_place(store, refused, DIRECTORY, PLACE)
        with pytest.raises(Forbidden):
            await handlers.record_meeting(
                store,
                refused,
                DIRECTORY,
                platform.RecordMeeting(
                    held_on=date(2026, 5, 20),
                    sectors=[Sector.WELFARE, Sector.COMMERCE],
                    themes=[PlatformTheme.PLACE_MAKING],
                ),
            )
    assert store.events == [] and store.outbox == []


async def test_activities_and_volunteers_return_their_ids_and_only_activities_are_published(store):
    place_id = (await handlers.register_place(store, caller(), DIRECTORY, PLACE)).place_id
    volunteer = model.RegisterVolunteer(generation=Generation.OLDER, registered_on=date(2026, 4, 1))

    joined = await handlers.register_volunteer(store, caller(), place_id, volunteer, expected_version=1)
    added = await handlers.record_activity(store, caller(), place_id, ACTIVITY, expected_version=None)

    assert (joined.version, added.version) == (2, 3) and joined.volunteer_ref.startswith("vol_")
    _, registered, held = stream(store, handlers.place_stream(place_id))
    assert registered.data["volunteer_ref"] == joined.volunteer_ref
    assert held.data["activity_id"] == str(added.activity_id) and held.data["attendance"]["children"] == 12
    assert published(store) == ["PlaceRegistered", "ActivityHeld"]  # volunteers travel as counts
    assert store.outbox[-1].envelope.payload["activity_id"] == str(added.activity_id)

    leave = model.Leave(
        request=model.RecordLeaving(left_on=date(2026, 9, 30)), volunteer_ref=joined.volunteer_ref
    )
    closed = model.ClosePlace(closed_on=date(2026, 10, 1))
    assert (await handlers.change_place(store, caller(), place_id, leave, expected_version=3)).version == 4
    outcome = await handlers.change_place(store, caller(), place_id, closed, expected_version=4)
    assert outcome.state.closed_on == date(2026, 10, 1) and outcome.state.active_volunteers == []
    assert published(store)[-1] == "PlaceClosed"


async def test_another_organisation_learns_nothing_and_changes_nothing(store):
    place_id = (await handlers.register_place(store, caller(), DIRECTORY, PLACE)).place_id
    concern_id = (await handlers.note_concern(store, caller(), place_id, CONCERN)).concern_id
    before = (list(store.events), list(store.outbox))
    raise_it = concern.RaiseConcern(raised_to="intake", raised_on=date(2026, 5, 10))

    for stranger in (caller("chiiki-nishi"), caller(HOLDER, Role.INTAKE_WORKER)):
        for target in (place_id, uuid.uuid4()):
            with pytest.raises(NotFound):
                await handlers.record_activity(store, stranger, target, ACTIVITY, expected_version=None)
            with pytest.raises(NotFound):
                await handlers.note_concern(store, stranger, target, CONCERN)
        with pytest.raises(NotFound):
            await handlers.change_concern(store, stranger, concern_id, raise_it, expected_version=None)
        with pytest.raises(NotFound):
            await handlers.read_concern(store, stranger, concern_id)
    with pytest.raises(ConcurrencyError):
        await handlers.record_activity(store, caller(), place_id, ACTIVITY, expected_version=7)
    assert (store.events, store.outbox) == before  # not even an access record


async def test_a_concern_opens_a_case_key_and_crosses_without_the_description(store):
    place_id = (await handlers.register_place(store, caller(), DIRECTORY, PLACE)).place_id

    noted = await handlers.note_concern(store, caller(), place_id, CONCERN)

    assert noted.version == 1
    [event] = stream(store, handlers.concern_stream(noted.concern_id))
    assert event.case_key == noted.case_key and event.data["case_key"] == str(noted.case_key)
    assert event.data["concern_id"] == str(noted.concern_id) and event.data["district"] == "higashi-1"
    assert event.data["issue_tags"] == ["young_carer"] and event.data["description"] == DESCRIPTION
    assert published(store) == ["PlaceRegistered"]  # noting is community's own business
    async with store.reading() as session:
        assert await session.stream_ids(case_key=noted.case_key) == [
            handlers.concern_stream(noted.concern_id)
        ]

    raise_it = concern.RaiseConcern(raised_to="outreach", raised_on=date(2026, 5, 10))
    outcome = await handlers.change_concern(store, caller(), noted.concern_id, raise_it, expected_version=1)

    assert outcome.version == 2 and stream(store, handlers.concern_stream(noted.concern_id))[-1].case_key == (
        noted.case_key
    )
    sent = store.outbox[-1].envelope
    assert sent.event_type == "ConcernRaised" and sent.case_key == noted.case_key
    assert sent.payload["concern_id"] == str(noted.concern_id) and sent.payload["raised_to"] == "outreach"
    assert (
        DESCRIPTION not in sent.model_dump_json() and event.data["subject_ref"] not in sent.model_dump_json()
    )


async def test_reading_a_concern_is_recorded_under_its_case_key_before_it_is_returned(store):
    place_id = (await handlers.register_place(store, caller(), DIRECTORY, PLACE)).place_id
    noted = await handlers.note_concern(store, caller(), place_id, CONCERN)

    by_id = await handlers.read_concern(store, caller(), noted.concern_id)
    by_case = await handlers.read_concern_of_case(store, caller(), noted.case_key)

    assert by_id.state == by_case.state and by_id.state.noted is not None
    assert by_id.state.noted.description == DESCRIPTION
    records = stream(store, f"access-case:{noted.case_key}")
    assert len(records) == 2 and all(r.case_key == noted.case_key for r in records)
    assert {r.data["user"] for r in records} == {f"user-of-{HOLDER}"}
    assert records[0].data["fields"] == ["description"] and records[0].data["basis"] == "holder"

    with pytest.raises(NotFound):
        await handlers.read_concern_of_case(store, caller(), uuid.uuid4())
    with pytest.raises(NotFound):
        await handlers.read_concern(store, caller(), uuid.uuid4())
    assert len(store.events) == 4  # the refusals recorded nothing


async def test_the_timeline_rule_is_the_concerns_holder(store):
    place_id = (await handlers.register_place(store, caller(), DIRECTORY, PLACE)).place_id
    noted = await handlers.note_concern(store, caller(), place_id, CONCERN)

    async with store.reading() as session:
        holder = await timeline.may_see(session, caller(), noted.case_key, DIRECTORY, TODAY)
        other = await timeline.may_see(session, caller("chiiki-nishi"), noted.case_key, DIRECTORY, TODAY)
        unknown = await timeline.may_see(session, caller(), uuid.uuid4(), DIRECTORY, TODAY)
    assert holder.allowed and not other.allowed and not unknown.allowed


async def test_the_register_lists_the_callers_concerns_newest_first_filtered_and_paged(store):
    higashi = (await handlers.register_place(store, caller(), DIRECTORY, PLACE)).place_id
    kita_place = PLACE.model_copy(update={"district": "kita-2"})
    kita = (await handlers.register_place(store, caller(), DIRECTORY, kita_place)).place_id
    # A second community organisation, whose concern the register never shows to HOLDER.
    nishi_org = Organisation("chiiki-nishi", "地域づくり西", frozenset({Program.COMMUNITY}))
    town = replace(DIRECTORY, organisations={**DIRECTORY.organisations, nishi_org.id: nishi_org})
    nishi = (await handlers.register_place(store, caller(nishi_org.id), town, PLACE)).place_id
    first = await handlers.note_concern(store, caller(), higashi, CONCERN)
    later = CONCERN.model_copy(update={"noticed_on": date(2026, 5, 20)})
    second = await handlers.note_concern(store, caller(), kita, later)
    await handlers.note_concern(store, caller(nishi_org.id), nishi, CONCERN)
    raise_it = concern.RaiseConcern(raised_to="intake", raised_on=date(2026, 5, 12))
    await handlers.change_concern(store, caller(), first.concern_id, raise_it, expected_version=1)

    async with store.reading() as session:
        rows = await session.register(RegisterQuery(organisation=HOLDER))
        theirs = await session.register(RegisterQuery(organisation=nishi_org.id))
        raised = await session.register(RegisterQuery(organisation=HOLDER, status=("raised",)))
        in_kita = await session.register(RegisterQuery(organisation=HOLDER, district="kita-2"))
        page = await session.register(RegisterQuery(organisation=HOLDER, limit=1))
        rest = await session.register(
            RegisterQuery(organisation=HOLDER, limit=1, after=(page[0].opened_on, page[0].case_id))
        )

    assert [r.case_id for r in rows] == [second.concern_id, first.concern_id]  # newest first
    assert len(theirs) == 1 and theirs[0].case_id not in {first.concern_id, second.concern_id}
    assert [r.case_key for r in rows] == [second.case_key, first.case_key]
    assert rows[1].status == "raised" and rows[1].last_activity_on == date(2026, 5, 12)
    assert rows[1].issue_tags == ("young_carer",) and rows[1].worker == f"user-of-{HOLDER}"
    assert [r.case_id for r in raised] == [first.concern_id]
    assert [r.case_id for r in in_kita] == [second.concern_id]
    assert [r.case_id for r in page + rest] == [second.concern_id, first.concern_id]


async def test_menus_and_resource_gaps_are_kept_once_however_often_they_arrive(store):
    menu_id, meeting_id = uuid.uuid4(), uuid.uuid4()
    menu_message = delivery(
        public.MenuPublished(
            case_key=menu_id,
            menu_id=menu_id,
            kind=MenuKind.WORK_EXPERIENCE,
            host_organisation="shakyo-sanka",
            district="kita-2",
            capacity=2,
            target_groups=[IssueTag.HIKIKOMORI],
            status=MenuStatus.ACTIVE,
            published_on=date(2026, 5, 1),
        ),
        organisation="shakyo-sanka",
    )
    gap_message = delivery(
        public.MissingResourceNoted(
            case_key=meeting_id,
            meeting_id=meeting_id,
            meeting_type=MeetingType.CONFIDENTIAL_SUPPORT_MEETING,
            resource_kind=LocalResourceKind.PLACE_TO_BE,
            district="kita-2",
            held_on=date(2026, 5, 2),
        ),
        organisation="shakyo-tagikan",
    )

    for _ in range(2):
        await consume(store, handlers.on_menu_changed, menu_message, organisation=HOLDER)
        await consume(store, handlers.on_missing_resource, gap_message, organisation=HOLDER)

    assert [e.event_type for e in store.events] == ["MenuNoted", "ResourceGapNoted"]
    assert store.events[0].metadata["causation_id"] == str(menu_message.envelope.event_id)
    assert store.outbox == []
    export = await handlers.export_hsds(store, caller("city-kansa", Role.AUDITOR), DIRECTORY)
    assert [s["id"] for s in export["contents"]] == [str(menu_id)]
    figures = await handlers.summary(store, caller())
    assert figures.resource_gaps == {"place_to_be": {"kita-2": 1}} and figures.places_open == 0


async def test_an_erasure_destroys_both_pseudonyms_once(store):
    place_id = (await handlers.register_place(store, caller(), DIRECTORY, PLACE)).place_id
    noted = await handlers.note_concern(store, caller(), place_id, CONCERN)
    own = stream(store, handlers.concern_stream(noted.concern_id))[0].data["subject_ref"]
    intakes = f"subj_{uuid.uuid4().hex}"
    message = delivery(
        public.SubjectErased(case_key=noted.case_key, subject_ref=intakes, erased_on=date(2026, 6, 1)),
        organisation="houkatsu-chuo",
    )

    for _ in range(2):
        await consume(store, handlers.on_subject_erased, message, service="community", organisation=HOLDER)

    assert store.erased == {own, intakes}
    assert [e.event_type for e in stream(store, f"community-erasure-{intakes}")] == ["PersonalDataErased"]


async def test_a_platform_meeting_returns_its_id_and_stays_with_its_holder(store):
    request = platform.RecordMeeting(
        held_on=date(2026, 5, 20),
        sectors=[Sector.WELFARE, Sector.COMMERCE, Sector.WELFARE],
        organisations=["shoukoukai", HOLDER],
        themes=[PlatformTheme.PLACE_MAKING],
        minutes="空き店舗の活用案",
    )

    recorded = await handlers.record_meeting(store, caller(), DIRECTORY, request)

    [event] = stream(store, handlers.meeting_stream(recorded.meeting_id))
    assert event.data["meeting_id"] == str(recorded.meeting_id) and event.data["sectors"] == [
        "commerce",
        "welfare",
    ]
    sent = store.outbox[-1].envelope
    assert sent.event_type == "PlatformMeetingHeld" and sent.case_key == recorded.meeting_id
    assert "空き店舗" not in sent.model_dump_json()
    assert (await handlers.read_meeting(store, caller(), recorded.meeting_id)).state.holder == HOLDER
    with pytest.raises(NotFound):
        await handlers.read_meeting(store, caller("chiiki-nishi"), recorded.meeting_id)


async def test_places_and_activities_carry_their_schemes_and_a_place_from_before_says_not_recorded(store):
    schemes = [IntegratedScheme.CHILDCARE_HUB, IntegratedScheme.CARE_PREVENTION]
    hub = PLACE.model_copy(update={"integrated_schemes": schemes})
    place_id = (await handlers.register_place(store, caller(), DIRECTORY, hub)).place_id
    with pytest.raises(DomainError) as which:
        await handlers.record_activity(store, caller(), place_id, ACTIVITY, expected_version=None)
    assert which.value.code == "integrated_scheme_required"
    chosen = ACTIVITY.model_copy(update={"integrated_scheme": IntegratedScheme.CARE_PREVENTION})
    await handlers.record_activity(store, caller(), place_id, chosen, expected_version=None)

    registered, held = stream(store, handlers.place_stream(place_id))
    assert registered.schema_version == held.schema_version == 2
    assert registered.data["integrated_schemes"] == ["care_prevention", "childcare_hub"]
    place, activity = (m.envelope for m in store.outbox)
    assert (place.schema_version, place.payload["integrated_schemes"]) == (
        2,
        ["care_prevention", "childcare_hub"],
    )
    assert (activity.schema_version, activity.payload["integrated_scheme"]) == (2, "care_prevention")

    # A place the previous release stored (v1, no schemes) reads as "not recorded", and so do its
    # activities: nothing to default them to.
    old = registered.data | {"place_id": str(uuid.uuid4())}
    del old["integrated_schemes"]
    old_stream = handlers.place_stream(uuid.UUID(old["place_id"]))
    async with store.transaction() as session:
        await session.append(
            old_stream, model.STREAM_TYPE, 0, [NewEvent("PlaceRegistered", old, schema_version=1)]
        )
    await handlers.record_activity(store, caller(), uuid.UUID(old["place_id"]), ACTIVITY, expected_version=1)
    loaded = await handlers.read_place(store, caller(), uuid.UUID(old["place_id"]))
    view = schemas.place_view(loaded.state, loaded.version, caller())
    assert view.integrated_schemes is None and view.integrated_scheme_labels == []
    assert view.activities[0].integrated_scheme is None
    new_view = schemas.place_view((await handlers.read_place(store, caller(), place_id)).state, 2, caller())
    assert new_view.integrated_scheme_labels == [
        "一般介護予防事業（地域介護予防活動支援事業）",
        "地域子育て支援拠点事業",
    ]
    assert new_view.activities[0].integrated_scheme_label == "一般介護予防事業（地域介護予防活動支援事業）"
