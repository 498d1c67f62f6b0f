"""Outreach's use cases on the in-memory event store: no HTTP, no Kafka, no PostgreSQL.

The handlers run the real write path (authorise, load, decide, append, outbox) on
`InMemoryEventStore`, so what these tests see in `store.events` and `store.outbox` is what the
service would have committed.
"""

import uuid
from datetime import UTC, date, datetime

import pytest

from contracts import events as public
from contracts.envelope import Envelope
from contracts.glossary import (
    AgeBand,
    ConnectionTarget,
    ContactMethod,
    ContactOutcome,
    IdentifiedBy,
    IssueTag,
    Program,
    Relation,
    Role,
    Urgency,
)
from libs.auth import Principal
from libs.authz import Forbidden
from libs.commands import Context
from libs.directory import Directory, Organisation
from libs.domain import NotFound
from libs.eventstore import ConcurrencyError, RecordedEvent, RegisterQuery
from libs.http import Caller
from libs.inbox import Delivery
from libs.testing.memory import InMemoryEventStore
from services.outreach.domain import model
from services.outreach.service_layer import handlers

HOLDER = "npo-tsunagari"
DESCRIPTION = "日中は雨戸が閉まったまま"

DIRECTORY = Directory(
    municipality="架空市",
    organisations={
        o.id: o
        for o in (
            Organisation(HOLDER, HOLDER, frozenset({Program.OUTREACH})),
            Organisation("npo-yorisoi", "npo-yorisoi", frozenset({Program.OUTREACH})),
            Organisation("houkatsu-chuo", "houkatsu-chuo", frozenset({Program.INTAKE})),
            Organisation("shakyo-tagikan", "shakyo-tagikan", frozenset({Program.COORDINATION})),
        )
    },
    users={},
)

REQUEST = model.IdentifyPotentialClient(
    identified_by=IdentifiedBy.MINSEI_IIN,
    issue_tags=[IssueTag.HIKIKOMORI],
    age_band=AgeBand.MIDDLE,
    district="kita-2",
    description=DESCRIPTION,
    identified_on=date(2026, 4, 1),
)


def caller(organisation: str = HOLDER, *roles: Role) -> Caller:
    principal = Principal(f"user-of-{organisation}", organisation, frozenset(roles or {Role.OUTREACH_WORKER}))
    return Caller(principal, Context(organisation=organisation, actor=principal.user))


def attempt(on: date = date(2026, 4, 5)) -> model.AttemptContact:
    return model.AttemptContact(
        method=ContactMethod.HOME_VISIT, outcome=ContactOutcome.CONVERSATION, attempted_on=on
    )


def stream(store: InMemoryEventStore, stream_id: str) -> list[RecordedEvent]:
    return [e for e in store.events if e.stream_id == stream_id]


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


async def test_identify_mints_new_ids_stores_them_and_publishes_without_the_description(store):
    opened = await handlers.identify(store, caller(), DIRECTORY, REQUEST)
    again = await handlers.identify(store, caller(), DIRECTORY, REQUEST)

    assert opened.version == 1
    assert again.outreach_case_id != opened.outreach_case_id and again.case_key != opened.case_key
    [stored] = stream(store, handlers.stream_id(opened.outreach_case_id))
    assert stored.stream_type == model.STREAM_TYPE
    assert stored.event_type == "PotentialClientIdentified"
    assert stored.case_key == opened.case_key
    assert stored.data["outreach_case_id"] == str(opened.outreach_case_id)
    assert stored.data["case_key"] == str(opened.case_key)
    assert stored.data["holder_organisation"] == HOLDER
    assert stored.metadata["organisation"] == HOLDER and stored.metadata["actor"] == "user-of-npo-tsunagari"

    first = store.outbox[0]
    assert [m.envelope.event_type for m in store.outbox] == ["PotentialClientIdentified"] * 2
    assert first.topic == public.PotentialClientIdentified.topic
    assert first.envelope.case_key == opened.case_key
    assert first.envelope.payload["outreach_case_id"] == str(opened.outreach_case_id)
    assert first.envelope.payload["subject_ref"] == stored.data["subject_ref"]
    assert first.envelope.organisation == HOLDER
    assert DESCRIPTION not in first.envelope.model_dump_json()


@pytest.mark.parametrize(
    ("organisation", "roles"),
    [
        pytest.param("houkatsu-chuo", (Role.OUTREACH_WORKER,), id="organisation-without-outreach"),
        pytest.param("nowhere-org", (Role.OUTREACH_WORKER,), id="organisation-unknown"),
        pytest.param(HOLDER, (Role.INTAKE_WORKER,), id="not-an-outreach-worker"),
    ],
)
async def test_identify_is_refused_outside_outreach_and_records_nothing(store, organisation, roles):
    with pytest.raises(Forbidden):
        await handlers.identify(store, caller(organisation, *roles), DIRECTORY, REQUEST)
    assert store.events == [] and store.outbox == []


async def test_another_organisations_worker_gets_not_found_and_changes_nothing(store):
    opened = await handlers.identify(store, caller(), DIRECTORY, REQUEST)
    before_events, before_outbox = len(store.events), len(store.outbox)

    with pytest.raises(NotFound):
        await handlers.change(store, caller("npo-yorisoi"), opened.outreach_case_id, attempt(), 1)
    with pytest.raises(NotFound):  # the same answer for a case that does not exist
        await handlers.change(store, caller("npo-yorisoi"), uuid.uuid4(), attempt(), None)

    assert len(store.events) == before_events and len(store.outbox) == before_outbox


async def test_a_stale_version_is_a_conflict_and_the_current_one_is_accepted(store):
    opened = await handlers.identify(store, caller(), DIRECTORY, REQUEST)

    with pytest.raises(ConcurrencyError) as stale:
        await handlers.change(store, caller(), opened.outreach_case_id, attempt(), 0)
    assert stale.value.expected_version == 0
    assert len(store.events) == 1 and len(store.outbox) == 1

    outcome = await handlers.change(store, caller(), opened.outreach_case_id, attempt(), opened.version)
    # The attempt, then first contact and first conversation reached by it.
    assert outcome.version == 4 and outcome.state.status is model.Status.IN_CONTACT
    assert [m.envelope.event_type for m in store.outbox[1:]] == [
        "ContactAttempted",
        "RelationshipMilestoneReached",
        "RelationshipMilestoneReached",
    ]


async def test_a_connection_asks_the_directory_whether_the_target_runs_the_program(store):
    opened = await handlers.identify(store, caller(), DIRECTORY, REQUEST)
    await handlers.change(store, caller(), opened.outreach_case_id, attempt(), None)
    to_intake = model.ConnectToSupport(
        connected_to=ConnectionTarget.INTAKE, organisation="shakyo-tagikan", connected_on=date(2026, 5, 1)
    )

    assert handlers.connection(DIRECTORY, to_intake).runs_target_program is False
    right = to_intake.model_copy(update={"organisation": "houkatsu-chuo"})
    outcome = await handlers.change(
        store, caller(), opened.outreach_case_id, handlers.connection(DIRECTORY, right), None
    )
    assert outcome.state.status is model.Status.CONNECTED
    assert store.outbox[-1].envelope.event_type == "ConnectedToSupport"


def referral_delivery() -> Delivery:
    referral = public.ReferredToOutreach(
        case_key=uuid.uuid4(),
        referral_id=uuid.uuid4(),
        coordination_case_id=uuid.uuid4(),
        subject_ref=f"subj_{uuid.uuid4().hex}",
        issue_tags=[IssueTag.SELF_NEGLECT],
        age_band=AgeBand.OLD_OLD,
        district="chuo-1",
        urgency=Urgency.URGENT,
        referred_on=date(2026, 4, 1),
    )
    now = datetime.now(UTC)
    envelope = Envelope(
        event_id=uuid.uuid4(),
        event_type=referral.event_type,
        schema_version=referral.schema_version,
        case_key=referral.case_key,
        occurred_at=now,
        recorded_at=now,
        organisation="shakyo-tagikan",
        actor="user-of-shakyo-tagikan",
        correlation_id=uuid.uuid4(),
        payload=referral.model_dump(mode="json"),
    )
    return Delivery(envelope, referral, referral.topic, partition=0, offset=7)


async def test_a_referral_delivered_twice_opens_one_case(store):
    delivery = referral_delivery()
    referral = delivery.event
    assert isinstance(referral, public.ReferredToOutreach)

    for _ in range(2):
        async with store.transaction() as session:
            await handlers.on_referred(session, delivery, organisation=HOLDER, directory=DIRECTORY)

    case_stream = handlers.stream_id(model.case_id_for_referral(referral.referral_id))
    async with store.reading() as session:
        assert await session.stream_ids(stream_type=model.STREAM_TYPE) == [case_stream]
        loaded = await session.load(model.OUTREACH_CASE, case_stream)
    [stored] = stream(store, case_stream)
    assert loaded.version == 1
    assert loaded.state.identified is not None
    assert loaded.state.identified.referral_id == referral.referral_id
    assert loaded.state.identified.referring_organisation == "shakyo-tagikan"
    assert loaded.state.identified.holder_organisation == HOLDER
    assert stored.case_key == referral.case_key
    assert stored.metadata["causation_id"] == str(delivery.envelope.event_id)
    assert stored.metadata["correlation_id"] == str(delivery.envelope.correlation_id)
    assert [m.envelope.event_type for m in store.outbox] == ["PotentialClientIdentified"]


async def test_intakes_request_opens_a_case_for_the_member_under_their_own_pseudonym_once(store):
    request = public.OutreachRequested(
        case_key=uuid.uuid4(),
        referral_id=uuid.uuid4(),
        subject_ref=f"subj_{uuid.uuid4().hex}",
        relation=Relation.CHILD,
        referring_organisation="houkatsu-chuo",
        issue_tags=[IssueTag.HIKIKOMORI],
        age_band=AgeBand.MIDDLE,
        district="chuo-1",
        urgency=Urgency.ROUTINE,
        referred_on=date(2026, 4, 3),
    )
    delivery = referral_delivery()
    delivery = Delivery(
        delivery.envelope.model_copy(
            update={
                "event_type": request.event_type,
                "case_key": request.case_key,
                "organisation": "houkatsu-chuo",
                "payload": request.model_dump(mode="json"),
            }
        ),
        request,
        request.topic,
        partition=0,
        offset=8,
    )
    for _ in range(2):
        async with store.transaction() as session:
            await handlers.on_requested(session, delivery, organisation=HOLDER, directory=DIRECTORY)
    case_stream = handlers.stream_id(model.case_id_for_referral(request.referral_id))
    async with store.reading() as session:
        assert await session.stream_ids(stream_type=model.STREAM_TYPE) == [case_stream]
        found = (await session.load(model.OUTREACH_CASE, case_stream)).state.identified
    assert found is not None
    assert (found.subject_ref, found.age_band, found.case_key) == (
        request.subject_ref,
        AgeBand.MIDDLE,
        request.case_key,
    )
    assert (found.identified_by, found.referral_id, found.coordination_case_id) == (
        IdentifiedBy.INTAKE_REFERRAL,
        request.referral_id,
        None,
    )
    [published] = store.outbox
    assert published.envelope.payload["subject_ref"] == request.subject_ref
    assert published.envelope.payload["identified_by"] == "intake_referral"


async def test_a_read_is_recorded_once_and_a_refused_read_records_nothing(store):
    opened = await handlers.identify(store, caller(), DIRECTORY, REQUEST)
    access_stream = f"access-case:{opened.outreach_case_id}"

    with pytest.raises(NotFound):
        await handlers.read_case(store, caller("npo-yorisoi"), opened.outreach_case_id)
    assert stream(store, access_stream) == []

    loaded = await handlers.read_case(store, caller(), opened.outreach_case_id)
    assert loaded.version == 1
    assert loaded.state.identified is not None and loaded.state.identified.description == DESCRIPTION
    [record] = stream(store, access_stream)
    assert record.event_type == "PersonalDataViewed"
    assert record.case_key == opened.case_key
    assert record.data["user"] == "user-of-npo-tsunagari" and record.data["basis"] == "holder"
    assert record.data["resource"] == f"case:{opened.outreach_case_id}"
    assert record.data["fields"] == handlers.PERSONAL_FIELDS
    assert len(stream(store, handlers.stream_id(opened.outreach_case_id))) == 1  # reading wrote no case event


async def test_the_register_lists_the_callers_cases_newest_first_filtered_and_paged(store):
    older = await handlers.identify(store, caller(), DIRECTORY, REQUEST)
    newer_request = REQUEST.model_copy(update={"district": "chuo-1", "identified_on": date(2026, 4, 10)})
    newer = await handlers.identify(store, caller(), DIRECTORY, newer_request)
    await handlers.identify(store, caller("npo-yorisoi"), DIRECTORY, newer_request)
    await handlers.change(store, caller(), older.outreach_case_id, attempt(), None)

    async with store.reading() as session:
        rows = await session.register(RegisterQuery(organisation=HOLDER))
        in_contact = await session.register(RegisterQuery(organisation=HOLDER, status=("in_contact",)))
        in_chuo = await session.register(RegisterQuery(organisation=HOLDER, district="chuo-1"))
        first = await session.register(RegisterQuery(organisation=HOLDER, limit=1))
        second = await session.register(
            RegisterQuery(organisation=HOLDER, limit=1, after=(first[0].opened_on, first[0].case_id))
        )

    assert [r.case_id for r in rows] == [newer.outreach_case_id, older.outreach_case_id]
    newest, oldest = rows
    assert (newest.status, newest.district, newest.opened_on) == ("identified", "chuo-1", date(2026, 4, 10))
    assert (oldest.status, oldest.last_activity_on, oldest.version) == ("in_contact", date(2026, 4, 5), 4)
    assert oldest.case_key == older.case_key and oldest.worker == "user-of-npo-tsunagari"
    assert [r.case_id for r in in_contact] == [older.outreach_case_id]
    assert [r.case_id for r in in_chuo] == [newer.outreach_case_id]
    assert [r.case_id for r in first] == [newer.outreach_case_id]
    assert [r.case_id for r in second] == [older.outreach_case_id]
