"""Coordination's use cases on the in-memory event store: no HTTP, no Kafka, no PostgreSQL.

The handlers run the real write path (authorise, load, decide, append, outbox) on
`InMemoryEventStore`, so what these tests see in `store.events` and `store.outbox` is what the
service would have committed. The store has no cipher: personal fields stay in clear here, which
lets the tests check that they never reach a public event.
"""

import inspect
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts import events as public
from contracts.envelope import PublicEvent
from contracts.glossary import (
    AgeBand,
    AttendeeRole,
    ConnectionTarget,
    ConsentPurpose,
    IssueTag,
    LegalBasis,
    LocalResourceKind,
    MeetingDecision,
    MeetingType,
    MenuKind,
    ParticipationClosureReason,
    Program,
    Relation,
    Role,
    RoleDeclineReason,
    RoleResponsibility,
    Urgency,
)
from libs.auth import Principal
from libs.authz import Forbidden
from libs.commands import Context, envelope_for
from libs.directory import Directory, Organisation
from libs.domain import DomainError, InvalidCommand, NotFound
from libs.eventstore import ConcurrencyError, RecordedEvent, RegisterQuery
from libs.http import Caller
from libs.inbox import Delivery
from libs.testing.memory import InMemoryEventStore
from services.coordination.domain import meeting, model
from services.coordination.entrypoints import register, timeline
from services.coordination.entrypoints.schemas import case_view
from services.coordination.service_layer import authorization, handlers

HOLDER = "shakyo-tagikan"
REFERRER = "houkatsu-chuo"
AGENCY = "kikan-soudan"
GOAL = "子の保育先を確保する"
REASON = "本人と会えていない"
TODAY = date(2026, 6, 15)

DIRECTORY = Directory(
    municipality="架空市",
    organisations={
        o.id: o
        for o in (
            Organisation(HOLDER, HOLDER, frozenset({Program.COORDINATION})),
            Organisation("tagikan-minami", "tagikan-minami", frozenset({Program.COORDINATION})),
            Organisation(REFERRER, REFERRER, frozenset({Program.INTAKE})),
            Organisation(AGENCY, AGENCY, frozenset()),
        )
    },
    users={},
)


def caller(organisation: str = HOLDER, *roles: Role) -> Caller:
    principal = Principal(f"user-of-{organisation}", organisation, frozenset(roles or {Role.COORDINATOR}))
    return Caller(principal, Context(organisation=organisation, actor=principal.user))


def stream(store: InMemoryEventStore, stream_id: str) -> list[RecordedEvent]:
    return [e for e in store.events if e.stream_id == stream_id]


def published(store: InMemoryEventStore) -> list[str]:
    return [m.envelope.event_type for m in store.outbox]


def delivery(event: PublicEvent, organisation: str = REFERRER) -> Delivery:
    """A message as the inbox hands it over: the event in its envelope, from `organisation`."""
    envelope = envelope_for(event, Context(organisation=organisation, actor="someone"), datetime.now(UTC))
    return Delivery(envelope=envelope, event=event, topic=event.topic, partition=0, offset=1)


async def consume(
    store: InMemoryEventStore, handler: Callable[..., Awaitable[None]], message: Delivery
) -> None:
    """One delivery handled in its own transaction, as the inbox consumer does."""
    routed = {"directory": DIRECTORY} if "directory" in inspect.signature(handler).parameters else {}
    async with store.transaction() as session:
        await handler(session, message, organisation=HOLDER, **routed)


def referral(case_key: uuid.UUID | None = None) -> public.ReferredToCoordination:
    subject_ref = f"subj_{uuid.uuid4().hex}"
    return public.ReferredToCoordination(
        case_key=case_key or uuid.uuid4(),
        referral_id=uuid.uuid4(),
        subject_ref=subject_ref,
        members=[
            public.MemberConcerned(subject_ref=subject_ref, relation=Relation.SELF, age_band=AgeBand.MIDDLE)
        ],
        referring_organisation=REFERRER,
        issue_tags=[IssueTag.DOUBLE_CARE],
        age_band=AgeBand.MIDDLE,
        district="chuo-1",
        urgency=Urgency.ROUTINE,
        referred_on=date(2026, 4, 2),
    )


def consent_given(
    case_key: uuid.UUID, *programs: Program, expires_on: date = date(2027, 3, 31)
) -> public.ConsentChanged:
    return public.ConsentChanged(
        case_key=case_key,
        consent_id=uuid.uuid4(),
        subject_ref=f"subj_{uuid.uuid4().hex}",
        status="active",
        programs=list(programs),
        purpose=ConsentPurpose.SUPPORT_COORDINATION,
        expires_on=expires_on,
        changed_on=date(2026, 4, 1),
    )


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


async def opened(
    store: InMemoryEventStore, case_key: uuid.UUID | None = None
) -> public.ReferredToCoordination:
    """A case opened from intake's referral; returns the referral (the case id derives from it)."""
    referred = referral(case_key)
    await consume(store, handlers.on_referred, delivery(referred))
    return referred


def case_of(referred: public.ReferredToCoordination) -> uuid.UUID:
    return model.case_id_for(referred.referral_id)


def meeting_on(
    case_id: uuid.UUID, kind: MeetingType = MeetingType.SUPPORT_PLAN_MEETING
) -> meeting.HoldMeeting:
    return meeting.HoldMeeting(
        meeting_type=kind,
        held_on=date(2026, 4, 10),
        attendees=[
            meeting.Attendee(organisation=HOLDER, role=AttendeeRole.CONVENER),
            meeting.Attendee(organisation=AGENCY, role=AttendeeRole.SUPPORT_AGENCY),
        ],
        cases=[case_id],
        decisions=[meeting.CaseDecision(coordination_case_id=case_id, decision=MeetingDecision.PLAN_AGREED)],
        missing_resources=[
            meeting.MissingResource(resource_kind=LocalResourceKind.PEER_GROUP, district="kita-2")
        ],
    )


PLAN_ROLE = model.Role(
    organisation=AGENCY, responsibility=RoleResponsibility.MAIN_CONTACT, review_on=date(2026, 7, 1)
)
WISHES = "本人は母と自宅で暮らし続けたい"


def plan_draft(*roles: model.Role, drafted_on: date = date(2026, 4, 6)) -> model.DraftPlan:
    return model.DraftPlan(
        goals=[GOAL],
        wishes=WISHES,
        period_from=date(2026, 4, 10),
        period_to=date(2027, 3, 31),
        emergency="夜間は当番へ連絡",
        roles=list(roles or (PLAN_ROLE,)),
        drafted_on=drafted_on,
    )


def terms(kind: MeetingType = MeetingType.CONFIDENTIAL_SUPPORT_MEETING) -> model.AgreePlan:
    """A meeting described inline (no record of it): its type, members and date."""
    return model.AgreePlan(meeting_type=kind, members=[HOLDER, AGENCY], agreed_on=date(2026, 4, 10))


async def drafted_and_accepted(store: InMemoryEventStore, case_id: uuid.UUID, *roles: model.Role) -> int:
    """A draft whose every role the coordinator accepted on its agency's word; the case's version."""
    drafted = await handlers.draft_plan(store, caller(), case_id, plan_draft(*roles), expected_version=None)
    version = drafted.version
    for index in range(len(roles) or 1):
        accepted = model.AcceptRole(accepted_on=date(2026, 4, 8))
        version = (await handlers.answer_role(store, caller(), case_id, 1, index, accepted, None)).version
    return version


async def test_a_referral_opens_one_case_under_its_case_key_and_its_acceptance_is_published(store):
    referred = referral()
    message = delivery(referred)

    for _ in range(2):  # a re-delivery finds the case open
        await consume(store, handlers.on_referred, message)

    [event] = stream(store, handlers.stream_id(case_of(referred)))
    assert event.event_type == "CaseOpened" and event.case_key == referred.case_key
    assert event.data["holder_organisation"] == HOLDER
    assert event.metadata["causation_id"] == str(message.envelope.event_id)
    assert published(store) == ["ReferralAccepted"]
    sent = store.outbox[0].envelope
    assert sent.case_key == referred.case_key and sent.payload["coordination_case_id"] == str(
        case_of(referred)
    )
    async with store.reading() as session:
        assert await session.stream_ids(case_key=referred.case_key) == [handlers.stream_id(case_of(referred))]


async def test_a_support_plan_meeting_waits_for_consent_then_the_plan_cites_it(store):
    referred = await opened(store)
    case_id = case_of(referred)
    before = (list(store.events), list(store.outbox))

    with pytest.raises(DomainError) as refused:
        await handlers.hold_meeting(store, caller(), DIRECTORY, meeting_on(case_id))
    assert refused.value.code == "consent_required"
    assert (store.events, store.outbox) == before

    given = delivery(consent_given(referred.case_key, Program.COORDINATION))
    for _ in range(2):
        await consume(store, handlers.on_consent_changed, given)
    [noted] = stream(store, handlers.consent_stream(referred.case_key))
    assert noted.case_key == referred.case_key  # the stream is named after the key; the key is stored too

    held = await handlers.hold_meeting(store, caller(), DIRECTORY, meeting_on(case_id))

    assert held.version == 1
    [record] = stream(store, handlers.meeting_stream(held.meeting_id))
    assert record.data["meeting_id"] == str(held.meeting_id) and record.data["holder_organisation"] == HOLDER
    missing = store.outbox[-1].envelope
    assert missing.event_type == "MissingResourceNoted" and missing.payload["meeting_id"] == str(
        held.meeting_id
    )

    version = await drafted_and_accepted(store, case_id)
    request = model.AgreePlan(meeting_id=held.meeting_id)
    planned = await handlers.agree_plan(store, caller(), case_id, request, expected_version=version)

    assert (planned.plan_version, planned.version) == (1, 4)
    plan = stream(store, handlers.stream_id(case_id))[-1]
    assert plan.event_type == "PlanAgreed" and plan.data["meeting_id"] == str(held.meeting_id)
    assert plan.data["members"] == sorted([HOLDER, AGENCY]) and plan.data["agreed_on"] == "2026-04-10"
    sent = store.outbox[-1].envelope
    assert sent.event_type == "PlanAgreed" and sent.payload["meeting_members"] == sorted([HOLDER, AGENCY])
    assert GOAL not in sent.model_dump_json()


async def test_refused_callers_learn_nothing_and_change_nothing(store):
    referred = await opened(store)
    case_id = case_of(referred)
    before = (list(store.events), list(store.outbox))
    decline = model.DeclineReferral(note="対象外のため", declined_on=date(2026, 4, 3))

    for stranger in (caller("tagikan-minami"), caller(HOLDER, Role.INTAKE_WORKER)):
        for target in (case_id, uuid.uuid4()):
            with pytest.raises(NotFound):
                await handlers.change(store, stranger, target, decline, expected_version=None)
            with pytest.raises(NotFound):
                await handlers.read_case(store, stranger, target, TODAY)
            with pytest.raises(NotFound):
                await handlers.draft_plan(store, stranger, target, plan_draft(), expected_version=None)
            for answer in (
                model.AcceptRole(accepted_on=date(2026, 4, 11)),
                model.DeclineRole(reason=RoleDeclineReason.NO_CAPACITY, declined_on=date(2026, 4, 11)),
            ):
                with pytest.raises(NotFound):
                    await handlers.answer_role(store, stranger, target, 1, 0, answer, None)
    # Another coordination organisation may record meetings, but not about a case it does not hold.
    with pytest.raises(NotFound):
        await handlers.hold_meeting(
            store,
            caller("tagikan-minami"),
            DIRECTORY,
            meeting_on(case_id, MeetingType.CONFIDENTIAL_SUPPORT_MEETING),
        )
    with pytest.raises(Forbidden):  # no coordinator: refused outright, not about any one case
        await handlers.hold_meeting(store, caller(HOLDER, Role.INTAKE_WORKER), DIRECTORY, meeting_on(case_id))
    assert (store.events, store.outbox) == before  # not even an access record


async def test_a_referral_to_outreach_returns_its_id_and_keeps_the_reason_here(store):
    referred = await opened(store)
    case_id = case_of(referred)
    request = model.ReferToOutreach(urgency=Urgency.URGENT, reason=REASON, referred_on=date(2026, 4, 4))

    with pytest.raises(ConcurrencyError):
        await handlers.refer_to_outreach(store, caller(), case_id, request, expected_version=7)
    assert len(stream(store, handlers.stream_id(case_id))) == 1

    sent_one = await handlers.refer_to_outreach(store, caller(), case_id, request, expected_version=1)
    sent_two = await handlers.refer_to_outreach(store, caller(), case_id, request, expected_version=None)

    assert (sent_one.version, sent_two.version) == (2, 3) and sent_one.referral_id != sent_two.referral_id
    stored = [e.data["referral_id"] for e in stream(store, handlers.stream_id(case_id))[1:]]
    assert stored == [str(sent_one.referral_id), str(sent_two.referral_id)]
    assert published(store) == ["ReferralAccepted", "ReferredToOutreach", "ReferredToOutreach"]
    envelope = store.outbox[1].envelope
    assert envelope.payload["referral_id"] == str(sent_one.referral_id)
    assert (
        envelope.payload["subject_ref"] == referred.subject_ref and REASON not in envelope.model_dump_json()
    )


async def test_a_read_is_recorded_under_the_case_key_and_consent_opens_it_to_the_referrer(store):
    referred = await opened(store)
    case_id = case_of(referred)
    with pytest.raises(NotFound):
        await handlers.read_case(store, caller(REFERRER, Role.INTAKE_WORKER), case_id, TODAY)

    seen = await handlers.read_case(store, caller(), case_id, TODAY)

    assert seen.version == 1 and seen.state.opened is not None
    [record] = [e for e in store.events if e.stream_type == "AccessLog"]
    assert record.stream_id == f"access-case:{case_id}" and record.case_key == referred.case_key
    assert record.data["basis"] == "holder" and "plans.goals" in record.data["fields"]

    await consume(
        store, handlers.on_consent_changed, delivery(consent_given(referred.case_key, Program.INTAKE))
    )
    await handlers.read_case(store, caller(REFERRER, Role.INTAKE_WORKER), case_id, TODAY)
    last = [e for e in store.events if e.stream_type == "AccessLog"][-1]
    assert last.data["basis"] == "consent" and last.data["organisation"] == REFERRER
    with pytest.raises(NotFound):  # judged on the business day it is given: the consent has expired
        await handlers.read_case(store, caller(REFERRER, Role.INTAKE_WORKER), case_id, date(2027, 4, 1))


async def test_a_plan_is_drafted_answered_by_each_agency_and_agreed_with_the_accepted_roles(store):
    referred = await opened(store)
    case_id = case_of(referred)
    agency = caller(AGENCY, Role.INTAKE_WORKER)
    hospital = model.Role(
        organisation="byoin-msw",
        responsibility=RoleResponsibility.HEALTH_CARE,
        review_on=date(2026, 7, 1),
        members=[referred.subject_ref],
    )
    stranger = hospital.model_copy(update={"members": [f"subj_{uuid.uuid4().hex}"]})
    with pytest.raises(InvalidCommand) as unknown:
        await handlers.draft_plan(store, caller(), case_id, plan_draft(PLAN_ROLE, stranger), None)
    assert unknown.value.code == "unknown_member" and "roles.1.members" in unknown.value.message

    drafted = await handlers.draft_plan(store, caller(), case_id, plan_draft(PLAN_ROLE, hospital), None)

    assert (drafted.plan_version, drafted.draft, drafted.version) == (1, 1, 2)
    assert published(store) == ["ReferralAccepted"]  # a draft and its answers stay in coordination

    async def worklist(name: str) -> list[uuid.UUID]:
        found = next(w for w in register.WORKLISTS if w.name == name)
        async with store.reading() as session:
            rows = await session.register(found.narrow(RegisterQuery(HOLDER), TODAY, caller().principal))
        return [r.case_id for r in rows]

    assert await worklist("roles_awaiting_answers") == [case_id]
    assert await worklist("referrals_to_answer") == []
    with pytest.raises(DomainError) as waiting:
        await handlers.agree_plan(store, caller(), case_id, terms(), None)
    assert waiting.value.code == "roles_unanswered"

    # The agency answers for itself; the hospital, which does not use the system, through the coordinator.
    own = await handlers.answer_role(
        store, agency, case_id, 1, 0, model.AcceptRole(accepted_on=date(2026, 4, 7)), None
    )
    with pytest.raises(NotFound):  # not its role: as if there were none
        await handlers.answer_role(
            store, agency, case_id, 1, 1, model.AcceptRole(accepted_on=date(2026, 4, 7)), None
        )
    refusal = model.DeclineRole(
        reason=RoleDeclineReason.NO_CAPACITY, note="担当MSWが不在", declined_on=date(2026, 4, 8)
    )
    with pytest.raises(ConcurrencyError):  # If-Match: the coordinator answers what they saw
        await handlers.answer_role(store, caller(), case_id, 1, 1, refusal, expected_version=2)
    on_behalf = await handlers.answer_role(store, caller(), case_id, 1, 1, refusal, own.version)

    answers = stream(store, handlers.stream_id(case_id))[-2:]
    assert [(e.event_type, e.data["recorded_by_organisation"]) for e in answers] == [
        ("RoleAccepted", AGENCY),
        ("RoleDeclined", HOLDER),
    ]
    assert answers[1].data["reason"] == "no_capacity" and answers[1].data["note"] == "担当MSWが不在"
    assert await worklist("roles_awaiting_answers") == [] and await worklist("referrals_to_answer") == [
        case_id
    ]
    view = case_view(on_behalf.state, on_behalf.version)
    assert view.draft is not None and view.draft.unanswered == [] and view.draft.wishes == WISHES
    assert [(r.answer, r.recorded_by, r.decline_reason_label) for r in view.draft.roles] == [
        ("accepted", AGENCY, None),
        ("declined", HOLDER, "受け入れる余力がない（人員・枠）"),
    ]

    planned = await handlers.agree_plan(store, caller(), case_id, terms(), on_behalf.version)

    assert (planned.plan_version, planned.version) == (1, 5)
    sent = store.outbox[-1].envelope
    assert sent.event_type == "PlanAgreed" and [r["organisation"] for r in sent.payload["roles"]] == [AGENCY]
    assert WISHES not in sent.model_dump_json() and "MSW" not in sent.model_dump_json()
    seen = (await handlers.read_case(store, caller(), case_id, TODAY)).state
    [plan] = case_view(seen, planned.version).plans
    assert seen.draft is None and plan.wishes == WISHES and plan.period_to == date(2027, 3, 31)
    assert [(r.organisation, r.accepted_on, r.accepted_recorded_by) for r in plan.roles] == [
        (AGENCY, date(2026, 4, 7), AGENCY)
    ]
    with pytest.raises(NotFound):  # the plan is agreed: nothing is open to the agency's answer
        await handlers.answer_role(
            store, agency, case_id, 1, 0, model.AcceptRole(accepted_on=date(2026, 4, 11)), None
        )


async def test_partner_news_lands_on_the_latest_case_of_the_key_once_per_connection(store):
    first = await opened(store)
    second = await opened(store, first.case_key)  # the same person referred again
    started = public.PlacementStarted(
        case_key=first.case_key,
        participation_case_id=uuid.uuid4(),
        placement_id=uuid.uuid4(),
        subject_ref=first.subject_ref,
        menu_id=uuid.uuid4(),
        menu_kind=MenuKind.PLACE_TO_BE,
        host_organisation="shakyo-sanka",
        district="chuo-1",
        started_on=date(2026, 5, 1),
    )
    connected = public.ConnectedToSupport(
        case_key=first.case_key,
        outreach_case_id=uuid.uuid4(),
        subject_ref=first.subject_ref,
        connected_to=ConnectionTarget.COORDINATION,
        organisation=HOLDER,
        issue_tags=[IssueTag.ISOLATION],
        age_band=AgeBand.MIDDLE,
        district="chuo-1",
        connected_on=date(2026, 5, 2),
    )
    outbox_before = len(store.outbox)

    await consume(store, handlers.on_partner_report, delivery(started, "shakyo-sanka"))
    for _ in range(2):
        await consume(store, handlers.on_partner_report, delivery(connected, "npo-tsunagari"))
    stranger = started.model_copy(update={"case_key": uuid.uuid4()})
    await consume(store, handlers.on_partner_report, delivery(stranger, "shakyo-sanka"))

    assert len(stream(store, handlers.stream_id(case_of(first)))) == 1
    types = [e.event_type for e in stream(store, handlers.stream_id(case_of(second)))]
    assert types == ["CaseOpened", "PartnerReported", "ConnectionNoted"]
    assert stream(store, handlers.stream_id(case_of(second)))[1].data["detail"] == "place_to_be"
    assert len(store.outbox) == outbox_before  # private notes: nothing published


async def test_a_meeting_record_is_read_by_its_attendees_and_a_conclusion_may_cite_it(store):
    referred = await opened(store)
    case_id = case_of(referred)
    held = await handlers.hold_meeting(
        store, caller(), DIRECTORY, meeting_on(case_id, MeetingType.CONFIDENTIAL_SUPPORT_MEETING)
    )

    seen = await handlers.read_meeting(store, caller(AGENCY, Role.INTAKE_WORKER), held.meeting_id)

    assert seen.state.held is not None and seen.state.held.cases == [case_id]
    [record] = [e for e in store.events if e.stream_type == "AccessLog"]
    assert record.stream_id == f"access-meeting:{held.meeting_id}" and record.case_key is None
    assert record.data["basis"] == "support_meeting"
    with pytest.raises(NotFound):
        await handlers.read_meeting(store, caller(REFERRER, Role.INTAKE_WORKER), held.meeting_id)

    version = await drafted_and_accepted(store, case_id)
    await handlers.agree_plan(store, caller(), case_id, model.AgreePlan(meeting_id=held.meeting_id), version)
    unheld = model.ConcludeSupport(
        outcome="improved",
        goals_met=1,
        evaluation="保育先が決まった",
        concluded_on=date(2026, 9, 1),
        meeting_id=uuid.uuid4(),
    )
    with pytest.raises(NotFound) as unknown:
        await handlers.change(store, caller(), case_id, unheld, expected_version=None)
    assert unknown.value.code == "meeting_not_found"

    cited = unheld.model_copy(update={"meeting_id": held.meeting_id})
    outcome = await handlers.change(store, caller(), case_id, cited, expected_version=None)

    concluded = stream(store, handlers.stream_id(case_id))[-1]
    assert outcome.version == 5 and concluded.data["meeting_id"] == str(held.meeting_id)
    assert (
        published(store)[-1] == "SupportConcluded"
        and "保育先" not in store.outbox[-1].envelope.model_dump_json()
    )


async def test_the_timeline_follows_the_rule_for_reading_a_case(store):
    """The rule judges consent on the business day it is given."""
    referred = await opened(store)
    term = TODAY + timedelta(days=365)
    given = consent_given(referred.case_key, Program.INTAKE, expires_on=term)
    await consume(store, handlers.on_consent_changed, delivery(given))

    async with store.reading() as session:
        holder = await timeline.may_see(session, caller(), referred.case_key, DIRECTORY, TODAY)
        referrer = await timeline.may_see(
            session, caller(REFERRER, Role.INTAKE_WORKER), referred.case_key, DIRECTORY, TODAY
        )
        other = await timeline.may_see(session, caller("tagikan-minami"), referred.case_key, DIRECTORY, TODAY)
        nobody = await timeline.may_see(session, caller(), uuid.uuid4(), DIRECTORY, TODAY)
        rows = await session.stream_ids(case_key=referred.case_key)

    assert holder.allowed and holder.basis is LegalBasis.HOLDER
    assert referrer.allowed and referrer.basis is LegalBasis.CONSENT
    assert not other.allowed and not nobody.allowed
    assert rows == [handlers.stream_id(case_of(referred)), handlers.consent_stream(referred.case_key)]


async def test_the_register_lists_the_organisations_own_cases_newest_first(store):
    first = referral().model_copy(update={"referred_on": date(2026, 4, 2), "district": "chuo-1"})
    second = referral().model_copy(update={"referred_on": date(2026, 4, 9), "district": "kita-2"})
    for referred in (first, second):
        await consume(store, handlers.on_referred, delivery(referred))
    async with store.transaction() as session:  # another coordination organisation's case
        await handlers.on_referred(
            session, delivery(referral()), organisation="tagikan-minami", directory=DIRECTORY
        )
    decline = model.DeclineReferral(note="対象外のため", declined_on=date(2026, 4, 3))
    await handlers.change(store, caller(), case_of(first), decline, expected_version=None)

    async with store.reading() as session:
        rows = await session.register(RegisterQuery(organisation=HOLDER))
        returned = await session.register(RegisterQuery(organisation=HOLDER, status=("returned",)))
        north = await session.register(RegisterQuery(organisation=HOLDER, district="kita-2"))
        page = await session.register(RegisterQuery(organisation=HOLDER, limit=1))
        rest = await session.register(
            RegisterQuery(organisation=HOLDER, after=(page[0].opened_on, page[0].case_id))
        )

    assert [r.case_id for r in rows] == [case_of(second), case_of(first)]
    assert [(r.status, r.last_activity_on) for r in rows] == [
        ("open", date(2026, 4, 9)),
        ("returned", date(2026, 4, 3)),
    ]
    assert rows[1].worker is None and rows[1].version == 2  # opened by a referral: no 担当者 yet
    assert [r.case_id for r in returned] == [case_of(first)]
    assert [r.case_id for r in north] == [case_of(second)]
    assert [r.case_id for r in page] == [case_of(second)] and [r.case_id for r in rest] == [case_of(first)]

    assert authorization.may_list(caller().principal, DIRECTORY).allowed
    for stranger in (caller(HOLDER, Role.INTAKE_WORKER), caller(REFERRER, Role.COORDINATOR)):
        assert not authorization.may_list(stranger.principal, DIRECTORY).allowed


async def test_consents_expiring_within_30_days_reach_every_case_of_the_key_whenever_noted(store):
    """TODAY is 2026-06-15. Intake's consent may arrive before the case it covers is opened, and a
    key may hold a second case after a return: every case of the key shows the consent."""
    expiring = next(w for w in register.WORKLISTS if w.name == "consents_expiring_30_days")
    assert expiring.label and "多機関協働事業" in expiring.definition

    async def listed() -> list[tuple[uuid.UUID, date | None]]:
        query = expiring.narrow(RegisterQuery(HOLDER, limit=100), TODAY, caller().principal)
        async with store.reading() as session:
            return [(r.case_id, r.consent_expires_on) for r in await session.register(query)]

    key = uuid.uuid4()
    given = consent_given(key, Program.COORDINATION, expires_on=date(2026, 7, 1))
    await consume(store, handlers.on_consent_changed, delivery(given))  # before any case of the key
    first = await opened(store, key)
    assert await listed() == [(case_of(first), date(2026, 7, 1))]

    outreach_only = await opened(store)  # a consent that does not let coordination hold the case
    await consume(
        store,
        handlers.on_consent_changed,
        delivery(consent_given(outreach_only.case_key, Program.OUTREACH, expires_on=date(2026, 6, 20))),
    )
    far = await opened(store)
    await consume(
        store,
        handlers.on_consent_changed,
        delivery(consent_given(far.case_key, Program.COORDINATION, expires_on=date(2026, 7, 16))),
    )
    decline = model.DeclineReferral(note="対象外のため", declined_on=date(2026, 4, 3))
    await handlers.change(store, caller(), case_of(first), decline, expected_version=None)
    again = await opened(store, key)  # referred again under the same key: the consent holds
    assert await listed() == [(case_of(again), date(2026, 7, 1))]  # the returned case is done

    withdrawn = given.model_copy(
        update={"status": "withdrawn", "programs": [], "changed_on": date(2026, 6, 1)}
    )
    await consume(store, handlers.on_consent_changed, delivery(withdrawn))
    assert await listed() == []


async def test_participations_closure_is_noted_with_its_reason_on_the_case_that_referred(store):
    referred = await opened(store)
    closed = public.ParticipationClosed(
        case_key=referred.case_key,
        participation_case_id=uuid.uuid4(),
        reason=ParticipationClosureReason.MOVED_AWAY,
        closed_on=date(2026, 9, 1),
    )
    outbox_before = len(store.outbox)

    await consume(store, handlers.on_partner_report, delivery(closed, "shakyo-sanka"))

    noted = stream(store, handlers.stream_id(case_of(referred)))[-1]
    assert noted.event_type == "PartnerReported"
    assert noted.data == {
        "program": "participation",
        "report": "ParticipationClosed",
        "detail": "moved_away",
        "partner_case_id": str(closed.participation_case_id),
        "reported_on": "2026-09-01",
    }
    assert len(store.outbox) == outbox_before  # a private note: nothing published
