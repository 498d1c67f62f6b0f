"""Intake's use cases on the in-memory event store: no HTTP, no Kafka, no PostgreSQL.

The handlers run the real write path (authorise, load, decide, append, outbox) on
`InMemoryEventStore`, so what these tests see in `store.events` and `store.outbox` is what the
service would have committed. The store has no cipher: personal fields stay in clear here, which
lets the tests check that they never reach a public event.
"""

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from contracts import events as public
from contracts.envelope import PublicEvent
from contracts.glossary import (
    AgeBand,
    Channel,
    ConsentPurpose,
    IssueTag,
    LegalBasis,
    MeetingType,
    Program,
    Relation,
    Role,
    RoleResponsibility,
    SimpleSupportKind,
    Urgency,
)
from libs.auth import Principal
from libs.authz import Forbidden
from libs.commands import Context, envelope_for
from libs.directory import Directory, Organisation, User
from libs.domain import NotFound
from libs.eventstore import ConcurrencyError, RecordedEvent, RegisterQuery
from libs.handover import HandOver, handoff
from libs.http import Caller
from libs.inbox import Delivery
from libs.testing.memory import InMemoryEventStore
from libs.text import query_terms
from services.intake.domain import consent, model
from services.intake.entrypoints import register, timeline
from services.intake.service_layer import handlers

HOLDER = "houkatsu-chuo"
NAME = "架空　花子"
SUMMARY = "母の介護と子育ての両立"
TODAY = date(2026, 6, 15)

DIRECTORY = Directory(
    municipality="架空市",
    organisations={
        o.id: o
        for o in (
            Organisation(HOLDER, HOLDER, frozenset({Program.INTAKE})),
            Organisation("houkatsu-kita", "houkatsu-kita", frozenset({Program.INTAKE})),
            Organisation("shakyo-tagikan", "shakyo-tagikan", frozenset({Program.COORDINATION})),
            Organisation("city-fukushi", "city-fukushi", frozenset()),
        )
    },
    users={},
)

CONSULTATION = model.ReceiveConsultation(
    channel=Channel.COUNTER,
    person=model.Person(name=NAME, birth_date=date(1980, 5, 5)),
    household=[model.MemberDetails(relation=Relation.PARENT, age=78)],
    issue_tags=[IssueTag.DOUBLE_CARE],
    district="chuo-1",
    summary=SUMMARY,
    received_on=date(2026, 4, 1),
)


def caller(organisation: str = HOLDER, *roles: Role) -> Caller:
    principal = Principal(f"user-of-{organisation}", organisation, frozenset(roles or {Role.INTAKE_WORKER}))
    return Caller(principal, Context(organisation=organisation, actor=principal.user))


def stream(store: InMemoryEventStore, stream_id: str) -> list[RecordedEvent]:
    return [e for e in store.events if e.stream_id == stream_id]


def published(store: InMemoryEventStore) -> list[str]:
    return [m.envelope.event_type for m in store.outbox]


def delivery(event: PublicEvent, organisation: str = "shakyo-tagikan") -> Delivery:
    """A message as the inbox hands it over: the event in its envelope, from `organisation`."""
    envelope = envelope_for(event, Context(organisation=organisation, actor="someone"), datetime.now(UTC))
    return Delivery(envelope=envelope, event=event, topic=event.topic, partition=0, offset=1)


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


async def received(store: InMemoryEventStore) -> handlers.Opened:
    return await handlers.receive_consultation(store, caller(), DIRECTORY, CONSULTATION)


async def test_receiving_mints_the_case_id_stores_it_as_the_case_key_and_publishes_no_details(store):
    opened = await received(store)
    again = await received(store)

    assert opened.version == 1 and again.case_id != opened.case_id
    [event] = stream(store, handlers.stream_id(opened.case_id))
    assert event.event_type == "ConsultationReceived" and event.case_key == opened.case_id
    assert event.data["holder_organisation"] == HOLDER and event.data["person"]["name"] == NAME
    assert event.metadata["actor"] == f"user-of-{HOLDER}"
    assert published(store) == ["CaseReceived", "CaseReceived"]
    first = store.outbox[0].envelope
    assert first.case_key == opened.case_id and first.payload["subject_ref"] == event.data["subject_ref"]
    assert NAME not in first.model_dump_json() and SUMMARY not in first.model_dump_json()
    async with store.reading() as session:
        assert await session.stream_ids(case_key=opened.case_id) == [handlers.stream_id(opened.case_id)]


async def test_only_an_intake_worker_of_an_intake_organisation_receives(store):
    for refused in (caller(HOLDER, Role.COORDINATOR), caller("shakyo-tagikan")):
        with pytest.raises(Forbidden):
            await handlers.receive_consultation(store, refused, DIRECTORY, CONSULTATION)
    assert store.events == [] and store.outbox == []


async def test_a_referral_returns_its_id_and_publishes_it(store):
    opened = await received(store)
    request = model.ReferToCoordination(
        urgency=Urgency.URGENT, reason="複合課題", referred_on=date(2026, 4, 2)
    )

    referred = await handlers.refer_to_coordination(
        store, caller(), opened.case_id, request, expected_version=1
    )

    assert referred.version == 2
    last = stream(store, handlers.stream_id(opened.case_id))[-1]
    assert last.event_type == "ReferredToCoordination"
    assert last.data["referral_id"] == str(referred.referral_id)
    sent = store.outbox[-1].envelope
    assert sent.event_type == "ReferredToCoordination" and sent.payload["referral_id"] == str(
        referred.referral_id
    )
    assert sent.payload["referring_organisation"] == HOLDER and "複合課題" not in sent.model_dump_json()


async def test_a_member_is_referred_to_outreach_as_themselves_by_the_holder_only(store):
    opened = await received(store)
    async with store.reading() as session:
        case = (await session.load(model.INTAKE_CASE, handlers.stream_id(opened.case_id))).state
    [mother] = case.household or ()
    assert mother.subject_ref not in (None, case.subject_ref)
    request = model.ReferMemberToOutreach(
        member=mother.subject_ref, reason="外出できない", referred_on=date(2026, 4, 3)
    )
    before = (list(store.events), list(store.outbox))
    with pytest.raises(NotFound):
        await handlers.refer_to_outreach(store, caller("houkatsu-kita"), opened.case_id, request, None)
    assert (store.events, store.outbox) == before

    referred = await handlers.refer_to_outreach(store, caller(), opened.case_id, request, None)
    sent = store.outbox[-1].envelope
    assert (sent.event_type, sent.case_key) == ("OutreachRequested", opened.case_id)
    assert sent.payload["subject_ref"] == mother.subject_ref and sent.payload["referral_id"] == str(
        referred.referral_id
    )
    assert (sent.payload["relation"], sent.payload["age_band"]) == ("parent", "75+")

    # Recorded again, the mother keeps her pseudonym and a newcomer gets one of their own.
    again = model.RecordPerson(
        person=CONSULTATION.person,
        household=[
            model.MemberDetails(relation=Relation.PARENT, age=78, subject_ref=mother.subject_ref),
            model.MemberDetails(relation=Relation.CHILD, age=12),
        ],
        recorded_on=date(2026, 4, 5),
    )
    await handlers.record_person(store, caller(), opened.case_id, again, None)
    async with store.reading() as session:
        case = (await session.load(model.INTAKE_CASE, handlers.stream_id(opened.case_id))).state
    refs = [m.subject_ref for m in case.household or ()]
    assert refs[0] == mother.subject_ref and refs[1] not in (None, mother.subject_ref, case.subject_ref)


async def test_a_handover_moves_the_case_its_line_and_who_may_change_it(store):
    opened = await received(store)
    directory = replace(
        DIRECTORY,
        users={"kita-ito": User("kita-ito", "houkatsu-kita", frozenset({Role.INTAKE_WORKER}), "伊藤")},
    )
    request = HandOver(
        to_organisation="houkatsu-kita",
        to_worker="kita-ito",
        reason="転居先の地区へ",
        handed_over_on=date(2026, 4, 5),
    )
    command = handoff(request, HOLDER, Program.INTAKE, Role.INTAKE_WORKER, directory)
    with pytest.raises(NotFound):  # only the holder hands over
        await handlers.change(store, caller("houkatsu-kita"), opened.case_id, command, None)

    await handlers.change(store, caller(), opened.case_id, command, None)
    async with store.reading() as session:
        [line] = await session.register(RegisterQuery(organisation="houkatsu-kita"))
        assert await session.register(RegisterQuery(organisation=HOLDER)) == []
    assert (line.case_id, line.worker) == (opened.case_id, "kita-ito")
    support = model.GiveSupport(given_on=date(2026, 4, 6), kind=SimpleSupportKind.LISTENING_ADVICE)
    with pytest.raises(NotFound):  # the old holder no longer changes it
        await handlers.change(store, caller(), opened.case_id, support, expected_version=None)
    await handlers.change(store, caller("houkatsu-kita"), opened.case_id, support, expected_version=None)


async def test_another_organisation_learns_nothing_and_changes_nothing(store):
    opened = await received(store)
    before = (list(store.events), list(store.outbox))
    assess = model.RecordAssessment(
        assessed_on=date(2026, 4, 3), findings="所見", issue_tags=[IssueTag.HOUSING]
    )

    for stranger in (caller("houkatsu-kita"), caller(HOLDER, Role.COORDINATOR)):
        with pytest.raises(NotFound):
            await handlers.change(store, stranger, opened.case_id, assess, expected_version=None)
        with pytest.raises(NotFound):
            await handlers.change(store, stranger, uuid.uuid4(), assess, expected_version=None)
        with pytest.raises(NotFound):
            await handlers.read_case(store, stranger, DIRECTORY, opened.case_id, TODAY)
        with pytest.raises(NotFound):
            await handlers.read_consents(store, stranger, opened.case_id)
    assert (store.events, store.outbox) == before  # not even an access record


async def test_a_stale_version_is_refused_and_the_agency_referral_returns_its_id(store):
    opened = await received(store)
    request = model.ReferToAgency(
        organisation="hellowork-kaku", reason="就労相談", referred_on=date(2026, 4, 4)
    )

    with pytest.raises(ConcurrencyError):
        await handlers.refer_to_agency(store, caller(), opened.case_id, request, expected_version=7)
    assert len(stream(store, handlers.stream_id(opened.case_id))) == 1

    passed = await handlers.refer_to_agency(store, caller(), opened.case_id, request, expected_version=None)
    last = stream(store, handlers.stream_id(opened.case_id))[-1]
    assert last.data["agency_referral_id"] == str(passed.agency_referral_id) and passed.version == 2
    assert published(store) == ["CaseReceived"]  # an agency outside the business: nothing public


async def test_a_consent_is_kept_under_the_case_key_published_and_opens_the_case_to_its_programs(store):
    opened = await received(store)
    request = consent.GrantConsent(
        programs=[Program.COORDINATION, Program.COORDINATION],
        purpose=ConsentPurpose.SUPPORT_COORDINATION,
        granted_on=date(2026, 4, 1),
        expires_on=date(2027, 3, 31),
    )
    coordinator = caller("shakyo-tagikan", Role.COORDINATOR)
    with pytest.raises(NotFound):
        await handlers.read_case(store, coordinator, DIRECTORY, opened.case_id, TODAY)

    granted = await handlers.grant_consent(store, caller(), opened.case_id, request)

    [stored] = stream(store, handlers.consent_stream(opened.case_id))
    assert stored.case_key == opened.case_id and stored.data["consent_id"] == str(granted.consent_id)
    assert stored.data["programs"] == ["coordination"]
    sent = store.outbox[-1].envelope
    assert sent.event_type == "ConsentChanged" and sent.payload["consent_id"] == str(granted.consent_id)
    async with store.reading() as session:
        assert await session.stream_ids(case_key=opened.case_id) == [
            handlers.stream_id(opened.case_id),
            handlers.consent_stream(opened.case_id),
        ]
    seen = await handlers.read_case(store, coordinator, DIRECTORY, opened.case_id, TODAY)
    assert seen.basis is LegalBasis.CONSENT and seen.loaded.state.person.name == NAME
    assert [c.consent_id for c in seen.consents.records] == [granted.consent_id]

    withdraw = consent.Withdraw(
        request=consent.WithdrawConsent(withdrawn_on=date(2026, 6, 1)), consent_id=granted.consent_id
    )
    await handlers.change_consent(store, caller(), opened.case_id, withdraw)
    assert (
        published(store)[-1] == "ConsentChanged"
        and store.outbox[-1].envelope.payload["status"] == "withdrawn"
    )
    with pytest.raises(NotFound):
        await handlers.read_case(store, coordinator, DIRECTORY, opened.case_id, TODAY)


async def test_a_read_is_recorded_under_the_case_key_before_the_details_are_returned(store):
    opened = await received(store)

    seen = await handlers.read_case(store, caller(), DIRECTORY, opened.case_id, TODAY)

    assert seen.basis is LegalBasis.HOLDER and seen.loaded.version == 1
    assert seen.loaded.state.summary == SUMMARY
    [record] = [e for e in store.events if e.stream_type == "AccessLog"]
    assert record.stream_id == f"access-case:{opened.case_id}" and record.case_key == opened.case_id
    assert record.data["basis"] == "holder" and "person" in record.data["fields"]


async def test_only_the_municipality_erases_and_the_key_goes_with_the_record(store):
    opened = await received(store)
    subject_ref = stream(store, handlers.stream_id(opened.case_id))[0].data["subject_ref"]
    request = model.ErasePerson(erased_on=date(2026, 6, 1))

    with pytest.raises(Forbidden):
        await handlers.erase_person(store, caller(), opened.case_id, request)
    assert store.erased == set()

    admin = caller("city-fukushi", Role.MUNICIPAL_ADMINISTRATOR)
    outcome = await handlers.erase_person(store, admin, opened.case_id, request)

    assert outcome.version == 2 and store.erased == {subject_ref}
    last = stream(store, handlers.stream_id(opened.case_id))[-1]
    assert last.event_type == "PersonErased" and last.data["requested_by"] == "user-of-city-fukushi"
    assert published(store)[-1] == "SubjectErased"


async def test_a_redelivered_acceptance_or_meeting_is_recorded_once(store):
    opened = await received(store)
    request = model.ReferToCoordination(reason="複合課題", referred_on=date(2026, 4, 2))
    referred = await handlers.refer_to_coordination(store, caller(), opened.case_id, request, None)
    accepted = delivery(
        public.ReferralAccepted(
            case_key=opened.case_id,
            referral_id=referred.referral_id,
            coordination_case_id=uuid.uuid4(),
            accepted_on=date(2026, 4, 3),
        )
    )
    agreed = delivery(
        public.PlanAgreed(
            case_key=opened.case_id,
            coordination_case_id=accepted.event.coordination_case_id,
            plan_version=1,
            meeting_type=MeetingType.CONFIDENTIAL_SUPPORT_MEETING,
            goal_count=1,
            roles=[
                public.PlanRole(
                    organisation="shakyo-tagikan",
                    responsibility=RoleResponsibility.MAIN_CONTACT,
                    review_on=date(2026, 7, 1),
                )
            ],
            meeting_members=[HOLDER, "shakyo-tagikan"],
            agreed_on=date(2026, 5, 1),
        )
    )
    outbox_before = len(store.outbox)

    for _ in range(2):
        for message, handle in ((accepted, handlers.on_referral_accepted), (agreed, handlers.on_plan_agreed)):
            async with store.transaction() as session:
                await handle(session, message, organisation=HOLDER)

    types = [e.event_type for e in stream(store, handlers.stream_id(opened.case_id))]
    assert types == [
        "ConsultationReceived",
        "ReferredToCoordination",
        "ReferralAccepted",
        "SupportMeetingRecorded",
    ]
    last = stream(store, handlers.stream_id(opened.case_id))[-1]
    assert last.metadata["causation_id"] == str(agreed.envelope.event_id)
    assert len(store.outbox) == outbox_before  # private records: nothing published


async def test_a_concern_opens_a_pending_case_once_and_its_timeline_follows_intakes_rule(store):
    concern = public.ConcernRaised(
        case_key=uuid.uuid4(),
        concern_id=uuid.uuid4(),
        place_id=uuid.uuid4(),
        raised_to="intake",
        issue_tags=[IssueTag.ISOLATION],
        age_band=AgeBand.OLD_OLD,
        district="chuo-1",
        raised_on=date(2026, 5, 10),
    )
    message = delivery(concern, organisation="shakyo-chiiki")

    for _ in range(2):
        async with store.transaction() as session:
            await handlers.on_concern_raised(session, message, organisation=HOLDER, directory=DIRECTORY)

    [opened] = stream(store, handlers.stream_id(concern.case_key))
    assert opened.event_type == "CaseOpenedFromConnection" and opened.case_key == concern.case_key
    assert published(store) == ["CaseReceived"]
    async with store.reading() as session:
        mine = await timeline.may_see(session, caller(), concern.case_key, DIRECTORY, TODAY)
        other = await timeline.may_see(session, caller("houkatsu-kita"), concern.case_key, DIRECTORY, TODAY)
    assert mine.allowed and mine.basis is LegalBasis.HOLDER and not other.allowed


async def test_the_register_lists_the_callers_cases_filters_pages_and_finds_them_by_kana(store):
    first = await received(store)  # 2026-04-01, chuo-1
    later = CONSULTATION.model_copy(
        update={
            "person": model.Person(
                name="架空　葉子", name_kana="カクウ　ヨウコ", birth_date=date(1990, 2, 3)
            ),
            "district": "chuo-2",
            "received_on": date(2026, 4, 10),
        }
    )
    second = await handlers.receive_consultation(store, caller(), DIRECTORY, later)
    await handlers.receive_consultation(store, caller("houkatsu-kita"), DIRECTORY, later)
    referral = model.ReferToCoordination(reason="複合課題", referred_on=date(2026, 4, 2))
    await handlers.refer_to_coordination(store, caller(), first.case_id, referral, expected_version=1)

    async def ids(**query: object) -> list[uuid.UUID]:
        async with store.reading() as session:
            if "q" in query:
                query["tokens"] = tuple(session.blind(t) for t in query_terms(str(query.pop("q"))))
            return [row.case_id for row in await session.register(RegisterQuery(HOLDER, **query))]

    assert await ids() == [second.case_id, first.case_id]  # newest first, none of houkatsu-kita's
    assert await ids(status=("referred",)) == [first.case_id]
    assert await ids(district="chuo-2") == [second.case_id]
    assert await ids(limit=1) == [second.case_id]
    assert await ids(limit=1, after=(date(2026, 4, 10), second.case_id)) == [first.case_id]
    assert await ids(q="ｶｸｳ ﾖｳｺ") == [second.case_id]  # half-width katakana finds the kana
    assert await ids(q="1990年2月3日") == [second.case_id]
    assert set(register.STATUS_LABELS) == {s.value for s in model.Status}

    admin = caller("city-fukushi", Role.MUNICIPAL_ADMINISTRATOR)
    await handlers.erase_person(store, admin, second.case_id, model.ErasePerson(erased_on=date(2026, 6, 1)))
    assert await ids(q="かくう ようこ") == []
    assert await ids() == [second.case_id, first.case_id]  # the case stays listed, unsearchable


async def test_consents_expiring_within_30_days_are_the_latest_in_force_running_out_by_today_plus_30(store):
    """TODAY is 2026-06-15: its 30 days end on 2026-07-15, both days included."""
    expiring = next(w for w in register.WORKLISTS if w.name == "consents_expiring_30_days")
    assert expiring.label and "30日後" in expiring.definition

    async def case_with(*expiries: date, withdrawn: bool = False) -> uuid.UUID:
        case_id = (await received(store)).case_id
        for expires_on in expiries:
            request = consent.GrantConsent(
                programs=[Program.COORDINATION],
                purpose=ConsentPurpose.SUPPORT_COORDINATION,
                granted_on=date(2026, 4, 1),
                expires_on=expires_on,
            )
            granted = await handlers.grant_consent(store, caller(), case_id, request)
        if withdrawn:
            request = consent.WithdrawConsent(withdrawn_on=date(2026, 6, 1))
            command = consent.Withdraw(request=request, consent_id=granted.consent_id)
            await handlers.change_consent(store, caller(), case_id, command)
        return case_id

    last_day = await case_with(date(2026, 7, 15))
    today = await case_with(date(2026, 6, 15))
    await case_with(date(2026, 7, 16))  # a day too far
    await case_with(date(2026, 6, 20), withdrawn=True)
    await case_with(date(2026, 6, 14))  # already expired
    await case_with(date(2026, 6, 20), date(2027, 3, 31))  # renewed: the later consent counts
    await received(store)  # no consent at all
    # The renewal withdrawn: the earlier consent is the one in force again.
    renewal_withdrawn = await case_with(date(2026, 6, 30), date(2027, 3, 31), withdrawn=True)

    query = expiring.narrow(RegisterQuery(HOLDER, limit=100), TODAY, caller().principal)
    async with store.reading() as session:
        rows = await session.register(query)
        assert await session.register_count(query) == 3
    assert [(r.case_id, r.consent_expires_on) for r in rows] == [  # the soonest first
        (today, date(2026, 6, 15)),
        (renewal_withdrawn, date(2026, 6, 30)),
        (last_day, date(2026, 7, 15)),
    ]
