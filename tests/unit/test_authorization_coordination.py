"""Coordination's authorisation rules, table by table: organisation × role × legal basis × case state.

Pure: cases, consents and meetings are folded from coordination's own events; `today` is a fixed
business day passed in.
"""

import uuid
from datetime import date, timedelta

import pytest

from contracts.glossary import (
    AgeBand,
    AttendeeRole,
    ConclusionOutcome,
    IssueTag,
    LegalBasis,
    MeetingDecision,
    MeetingType,
    Program,
    ReturnReason,
    Role,
    RoleResponsibility,
    Urgency,
)
from libs.domain import DomainEvent
from services.coordination.domain import consent, meeting, model
from services.coordination.service_layer import authorization
from tests.unit.authorization_table import (
    DIRECTORY,
    ORGANISATIONS,
    expect,
    principal,
    role_sets,
    worker_role_sets,
)

TODAY = date(2026, 6, 15)
HOLDER = "shakyo-tagikan"
REFERRER = "houkatsu-chuo"
AGENCY = "kikan-soudan"
ROLES = role_sets(Role.COORDINATOR)
COORDINATOR_ROLES = {"coordinator", "coordinator+auditor"}
WORKERS = worker_role_sets(Role.COORDINATOR)

REFERRAL = uuid.uuid4()
OPENED = model.CaseOpened(
    coordination_case_id=model.case_id_for(REFERRAL),
    holder_organisation=HOLDER,
    case_key=uuid.uuid4(),
    referral_id=REFERRAL,
    referring_organisation=REFERRER,
    subject_ref=f"subj_{uuid.uuid4().hex}",
    issue_tags=[IssueTag.DOUBLE_CARE],
    age_band=AgeBand.MIDDLE,
    district="chuo-1",
    urgency=Urgency.ROUTINE,
    opened_on=date(2026, 4, 2),
)
AGENCY_ROLE = model.Role(
    organisation=AGENCY, responsibility=RoleResponsibility.MAIN_CONTACT, review_on=date(2026, 7, 1)
)


def plan(version: int, meeting_type: MeetingType, members: list[str]) -> model.PlanAgreed:
    return model.PlanAgreed(
        plan_version=version,
        meeting_type=meeting_type,
        members=members,
        goals=["母の介護サービスを整える"],
        roles=[AGENCY_ROLE],
        agreed_on=date(2026, 4, 10),
        goal_count=1,
    )


CONFIDENTIAL_PLAN = plan(1, MeetingType.CONFIDENTIAL_SUPPORT_MEETING, [HOLDER, AGENCY])
CONSENTED_PLAN = plan(1, MeetingType.SUPPORT_PLAN_MEETING, [HOLDER, AGENCY])
CONCLUDED = model.SupportConcluded(
    outcome=ConclusionOutcome.RESOLVED,
    goals_met=1,
    goals_total=1,
    evaluation=None,
    concluded_on=date(2026, 6, 1),
)
RETURNED = model.ReturnedToOrigin(
    reason=ReturnReason.MEETING_DECISION, note=None, returned_on=date(2026, 5, 1)
)

STATES = {
    "opened": (OPENED,),
    "plan-agreed": (OPENED, CONFIDENTIAL_PLAN),
    "concluded": (OPENED, CONFIDENTIAL_PLAN, CONCLUDED),
    "returned": (OPENED, RETURNED),
}


def case(*events: DomainEvent) -> model.Case:
    return model.COORDINATION_CASE.fold(events)


def noted(
    programs: list[Program],
    status: str = "active",
    expires_on: date = date(2027, 3, 31),
    consent_id: uuid.UUID | None = None,
) -> consent.ConsentNoted:
    return consent.ConsentNoted(
        consent_id=consent_id or uuid.uuid4(),
        status=status,
        programs=programs,
        expires_on=expires_on,
        changed_on=date(2026, 4, 1),
    )


def consents(*events: DomainEvent) -> consent.ConsentState:
    return consent.CONSENT_STATE.fold(events)


# --- acting on a case -----------------------------------------------------------------------


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_only_the_holders_coordinators_act_on_a_case(organisation, roles):
    allowed = organisation == HOLDER and roles in COORDINATOR_ROLES
    expect(
        authorization.may_act(principal(organisation, ROLES[roles]), case(OPENED)),
        LegalBasis.HOLDER if allowed else None,
    )


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(
    ("organisation", "roles", "basis"),
    [
        pytest.param(HOLDER, {Role.COORDINATOR}, LegalBasis.HOLDER, id="holder-coordinator"),
        pytest.param(HOLDER, {Role.INTAKE_WORKER}, None, id="holder-intake-worker"),
        pytest.param("tagikan-minami", {Role.COORDINATOR}, None, id="other-coordination-org"),
    ],
)
def test_the_holder_stays_the_holder_in_every_state(state, organisation, roles, basis):
    """Whether a concluded or returned case still takes a command is the domain's refusal."""
    expect(authorization.may_act(principal(organisation, roles), case(*STATES[state])), basis)


def test_nobody_acts_on_a_case_that_does_not_exist():
    expect(authorization.may_act(principal(HOLDER, {Role.COORDINATOR}), case()), None)


# --- reading a case -------------------------------------------------------------------------


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_without_another_basis_only_the_holders_coordinators_read_a_case(organisation, roles):
    allowed = organisation == HOLDER and roles in COORDINATOR_ROLES
    decision = authorization.may_read(principal(organisation, ROLES[roles]), case(OPENED), consents(), TODAY)
    expect(decision, LegalBasis.HOLDER if allowed else None)


@pytest.mark.parametrize("state", STATES)
def test_the_holder_reads_a_case_in_every_state(state):
    decision = authorization.may_read(
        principal(HOLDER, {Role.COORDINATOR}), case(*STATES[state]), consents(), TODAY
    )
    expect(decision, LegalBasis.HOLDER)


@pytest.mark.parametrize("organisation", [HOLDER, REFERRER, AGENCY])
def test_nobody_reads_a_case_that_does_not_exist(organisation):
    """Not even the referring organisation under a consent covering intake."""
    decision = authorization.may_read(
        principal(organisation, {Role.COORDINATOR, Role.INTAKE_WORKER}),
        case(),
        consents(noted([Program.INTAKE])),
        TODAY,
    )
    expect(decision, None)


def test_the_holder_is_recorded_as_holder_even_when_it_also_sat_in_the_meeting():
    decision = authorization.may_read(
        principal(HOLDER, {Role.COORDINATOR}), case(OPENED, CONFIDENTIAL_PLAN), consents(), TODAY
    )
    expect(decision, LegalBasis.HOLDER)


WITHDRAWN_ID = uuid.uuid4()
BASES = {
    # name: (reader, case events after opening, consent events, expected basis, expected ref)
    "referrer-without-consent": (REFERRER, (), (), None, None),
    "referrer-consent-covering-intake": (REFERRER, (), (noted([Program.INTAKE]),), LegalBasis.CONSENT, None),
    "referrer-consent-expiring-today": (
        REFERRER,
        (),
        (noted([Program.INTAKE], expires_on=TODAY),),
        LegalBasis.CONSENT,
        None,
    ),
    "referrer-consent-expired-yesterday": (
        REFERRER,
        (),
        (noted([Program.INTAKE], expires_on=TODAY - timedelta(days=1)),),
        None,
        None,
    ),
    "referrer-consent-not-covering-intake": (REFERRER, (), (noted([Program.COORDINATION]),), None, None),
    "referrer-consent-withdrawn": (REFERRER, (), (noted([], status="withdrawn"),), None, None),
    "referrer-consent-withdrawn-later": (
        REFERRER,
        (),
        (
            noted([Program.INTAKE], consent_id=WITHDRAWN_ID),
            noted([], status="withdrawn", consent_id=WITHDRAWN_ID),
        ),
        None,
        None,
    ),
    "referrer-one-withdrawn-one-active": (
        REFERRER,
        (),
        (noted([], status="withdrawn"), noted([Program.INTAKE])),
        LegalBasis.CONSENT,
        None,
    ),
    "other-intake-org-under-the-same-consent": ("houkatsu-kita", (), (noted([Program.INTAKE]),), None, None),
    "member-of-support-meeting": (AGENCY, (CONFIDENTIAL_PLAN,), (), LegalBasis.SUPPORT_MEETING, "plan-1"),
    "member-of-plan-meeting": (AGENCY, (CONSENTED_PLAN,), (), LegalBasis.CONSENT, "plan-1"),
    "member-of-the-revision-only": (
        AGENCY,
        (
            plan(1, MeetingType.SUPPORT_PLAN_MEETING, [HOLDER]),
            plan(2, MeetingType.CONFIDENTIAL_SUPPORT_MEETING, [HOLDER, AGENCY]),
        ),
        (),
        LegalBasis.SUPPORT_MEETING,
        "plan-2",
    ),
    "not-a-member": ("shakyo-sanka", (CONFIDENTIAL_PLAN,), (noted([Program.INTAKE]),), None, None),
    "referrer-member-and-consented": (
        REFERRER,
        (plan(1, MeetingType.CONFIDENTIAL_SUPPORT_MEETING, [HOLDER, REFERRER]),),
        (noted([Program.INTAKE]),),
        LegalBasis.SUPPORT_MEETING,
        "plan-1",
    ),
}


@pytest.mark.parametrize("basis", BASES)
def test_another_organisation_reads_a_case_only_on_a_legal_basis(basis):
    reader, case_events, consent_events, expected, ref = BASES[basis]
    decision = authorization.may_read(
        principal(reader, {Role.INTAKE_WORKER}), case(OPENED, *case_events), consents(*consent_events), TODAY
    )
    expect(decision, expected, ref)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("basis", ["referrer-consent-covering-intake", "member-of-support-meeting"])
def test_a_basis_serves_workers_only(basis, roles):
    reader, case_events, consent_events, expected, ref = BASES[basis]
    decision = authorization.may_read(
        principal(reader, ROLES[roles]), case(OPENED, *case_events), consents(*consent_events), TODAY
    )
    if roles in WORKERS:
        expect(decision, expected, ref)
    else:
        expect(decision, None)


# --- recording an answer to a proposed role ------------------------------------------------

DRAFTED = model.PlanDrafted(
    plan_version=1,
    draft=1,
    goals=["母の介護サービスを整える"],
    wishes="自宅で暮らしたい",
    period_from=date(2026, 4, 10),
    period_to=date(2027, 3, 31),
    emergency=None,
    roles=[AGENCY_ROLE],
    kept_answers=[None],
    drafted_on=date(2026, 4, 6),
)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_the_holders_coordinator_or_the_named_agency_records_an_answer(organisation, roles):
    """The same rule for an acceptance and a refusal: the agency itself, or the coordinator on
    the word of an agency that does not use the system."""
    holder = organisation == HOLDER and roles in COORDINATOR_ROLES
    agency = organisation == AGENCY and roles in WORKERS
    decision = authorization.may_answer_role(
        principal(organisation, ROLES[roles]), case(OPENED, DRAFTED), AGENCY_ROLE
    )
    expect(decision, LegalBasis.HOLDER if holder or agency else None)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", [HOLDER, AGENCY, REFERRER])
def test_without_a_role_to_name_only_the_holders_coordinator_records(organisation, roles):
    """No such draft or role index (or a plan already agreed): nobody is 'the agency of the role'."""
    allowed = organisation == HOLDER and roles in COORDINATOR_ROLES
    decision = authorization.may_answer_role(
        principal(organisation, ROLES[roles]), case(OPENED, CONFIDENTIAL_PLAN), None
    )
    expect(decision, LegalBasis.HOLDER if allowed else None)


def test_an_answer_on_a_case_that_does_not_exist_is_refused():
    expect(authorization.may_answer_role(principal(HOLDER, {Role.COORDINATOR}), case(), None), None)


# --- meetings -------------------------------------------------------------------------------


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_holding_a_meeting_needs_a_coordinator_of_an_organisation_running_coordination(organisation, roles):
    allowed = organisation in {"shakyo-tagikan", "tagikan-minami"} and roles in COORDINATOR_ROLES
    decision = authorization.may_hold_meeting(principal(organisation, ROLES[roles]), DIRECTORY)
    expect(decision, LegalBasis.HOLDER if allowed else None)


def held(meeting_type: MeetingType) -> meeting.Meeting:
    return meeting.MEETING.fold(
        [
            meeting.MeetingHeld(
                meeting_id=uuid.uuid4(),
                holder_organisation=HOLDER,
                meeting_type=meeting_type,
                held_on=date(2026, 4, 10),
                attendees=[
                    meeting.Attendee(organisation=HOLDER, role=AttendeeRole.CONVENER),
                    meeting.Attendee(organisation=REFERRER, role=AttendeeRole.REFERRING_AGENCY),
                    meeting.Attendee(organisation=AGENCY, role=AttendeeRole.SUPPORT_AGENCY),
                ],
                cases=[OPENED.coordination_case_id],
                decisions=[
                    meeting.CaseDecision(
                        coordination_case_id=OPENED.coordination_case_id, decision=MeetingDecision.PLAN_AGREED
                    )
                ],
                missing_resources=[],
            )
        ]
    )


ATTENDANCE_BASIS = {
    MeetingType.CONFIDENTIAL_SUPPORT_MEETING: LegalBasis.SUPPORT_MEETING,
    MeetingType.SUPPORT_PLAN_MEETING: LegalBasis.CONSENT,
}


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
@pytest.mark.parametrize("meeting_type", list(MeetingType))
def test_a_meeting_record_is_read_by_its_holder_and_its_attendees(meeting_type, organisation, roles):
    """The holder's coordinators as holder; every attendee's workers (the holder's other workers
    included) on the basis the meeting itself had."""
    decision = authorization.may_read_meeting(principal(organisation, ROLES[roles]), held(meeting_type))
    if organisation == HOLDER and roles in COORDINATOR_ROLES:
        expect(decision, LegalBasis.HOLDER)
    elif organisation in {HOLDER, REFERRER, AGENCY} and roles in WORKERS:
        expect(decision, ATTENDANCE_BASIS[meeting_type])
    else:
        expect(decision, None)


def test_a_meeting_that_was_never_held_is_read_by_nobody():
    expect(authorization.may_read_meeting(principal(HOLDER, {Role.COORDINATOR}), meeting.Meeting()), None)
