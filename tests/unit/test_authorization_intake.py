"""Intake's authorisation rules, table by table: organisation × role × legal basis × case state.

Pure: states are folded from intake's own events, `today` is a fixed business day passed in.
"""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.glossary import (
    AgeBand,
    Channel,
    ClosureReason,
    ConsentPurpose,
    EmergencyReason,
    IssueTag,
    LegalBasis,
    MeetingType,
    Program,
    Role,
    StatutoryDuty,
    Urgency,
)
from libs.breakglass import EmergencyAccessGranted
from libs.directory import Directory, Organisation
from libs.domain import DomainEvent
from services.intake.domain import consent, model
from services.intake.service_layer import authorization
from tests.unit.authorization_table import (
    DIRECTORY,
    ORGANISATIONS,
    UNKNOWN,
    expect,
    principal,
    role_sets,
    worker_role_sets,
)

TODAY = date(2026, 6, 15)
HOLDER = "houkatsu-chuo"
ROLES = role_sets(Role.INTAKE_WORKER)
INTAKE_ROLES = {"intake_worker", "intake_worker+auditor"}
WORKERS = worker_role_sets(Role.INTAKE_WORKER)

RECEIVED = model.ConsultationReceived(
    case_id=uuid.uuid4(),
    holder_organisation=HOLDER,
    subject_ref=f"subj_{uuid.uuid4().hex}",
    channel=Channel.COUNTER,
    person=model.Person(name="架空　花子", birth_date=date(1980, 5, 5)),
    household=[],
    issue_tags=[IssueTag.DOUBLE_CARE],
    district="chuo-1",
    summary="母の介護と子育て",
    received_on=date(2026, 4, 1),
)
FROM_OUTREACH = model.CaseOpenedFromConnection(
    case_id=uuid.uuid4(),
    holder_organisation=HOLDER,
    subject_ref=f"subj_{uuid.uuid4().hex}",
    channel=Channel.OUTREACH,
    issue_tags=[IssueTag.HIKIKOMORI],
    age_band=AgeBand.YOUNG_ADULT,
    district="chuo-1",
    received_on=date(2026, 4, 1),
    source="outreach",
    source_ref=uuid.uuid4(),
    source_organisation="npo-tsunagari",
)
REFERRAL = model.ReferredToCoordination(
    referral_id=uuid.uuid4(), urgency=Urgency.ROUTINE, reason="複合課題", referred_on=date(2026, 4, 2)
)
ACCEPTED = model.ReferralAccepted(
    referral_id=REFERRAL.referral_id, coordination_case_id=uuid.uuid4(), accepted_on=date(2026, 4, 3)
)
CLOSED = model.CaseClosed(reason=ClosureReason.RESOLVED, note=None, closed_on=date(2026, 5, 1))
ERASED = model.PersonErased(erased_on=date(2026, 6, 1), requested_by="city-fukushi")

STATES = {
    "received": (RECEIVED,),
    "opened-from-outreach": (FROM_OUTREACH,),
    "in-coordination": (RECEIVED, REFERRAL, ACCEPTED),
    "closed": (RECEIVED, CLOSED),
    "erased": (RECEIVED, CLOSED, ERASED),
}


GRANT = EmergencyAccessGranted(
    grant_id=uuid.UUID(int=7),
    case_key=uuid.UUID(int=8),
    subject_ref=None,
    user="tagikan-tanaka",
    organisation="shakyo-tagikan",
    reason_code=EmergencyReason.LIFE_OR_BODY,
    reason=None,
    granted_at=datetime(2026, 6, 1, tzinfo=UTC),
    expires_at=datetime(2026, 6, 2, tzinfo=UTC),
)
"""A live break-glass grant of the caller on the case (the service finds it; the policy trusts it)."""


def case(*events: DomainEvent) -> model.Case:
    return model.INTAKE_CASE.fold(events)


def granted(
    programs: list[Program], granted_on: date = date(2026, 4, 1), expires_on: date = date(2027, 3, 31)
) -> consent.ConsentGranted:
    return consent.ConsentGranted(
        consent_id=uuid.uuid4(),
        programs=programs,
        purpose=ConsentPurpose.SUPPORT_COORDINATION,
        granted_on=granted_on,
        expires_on=expires_on,
    )


def consents(*events: DomainEvent) -> consent.Consents:
    return consent.CONSENTS.fold(events)


def meeting(meeting_type: MeetingType, members: list[str]) -> model.SupportMeetingRecorded:
    return model.SupportMeetingRecorded(
        coordination_case_id=ACCEPTED.coordination_case_id,
        plan_version=2,
        meeting_type=meeting_type,
        members=members,
        held_on=date(2026, 5, 20),
    )


def meeting_ref(recorded: model.SupportMeetingRecorded) -> str:
    return f"{recorded.coordination_case_id}/plan-{recorded.plan_version}"


# --- receiving a consultation ---------------------------------------------------------------


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_receiving_needs_an_intake_worker_of_an_organisation_running_intake(organisation, roles):
    runs_intake = organisation in {"houkatsu-chuo", "houkatsu-kita"}
    allowed = runs_intake and roles in INTAKE_ROLES
    decision = authorization.may_receive(principal(organisation, ROLES[roles]), DIRECTORY)
    expect(decision, LegalBasis.HOLDER if allowed else None)


# --- changing a case ------------------------------------------------------------------------


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_only_the_holders_intake_workers_change_a_case(organisation, roles):
    allowed = organisation == HOLDER and roles in INTAKE_ROLES
    decision = authorization.may_change(principal(organisation, ROLES[roles]), case(RECEIVED))
    expect(decision, LegalBasis.HOLDER if allowed else None)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(
    ("organisation", "roles", "basis"),
    [
        pytest.param(HOLDER, {Role.INTAKE_WORKER}, LegalBasis.HOLDER, id="holder-intake-worker"),
        pytest.param(HOLDER, {Role.COORDINATOR}, None, id="holder-coordinator"),
        pytest.param("houkatsu-kita", {Role.INTAKE_WORKER}, None, id="other-intake-org"),
    ],
)
def test_the_holder_stays_the_holder_in_every_state(state, organisation, roles, basis):
    """Whether a closed or erased case may still be changed is the domain's refusal, not authorisation's."""
    expect(authorization.may_change(principal(organisation, roles), case(*STATES[state])), basis)


@pytest.mark.parametrize("organisation", [HOLDER, "houkatsu-kita", "kikan-soudan"])
def test_nobody_changes_a_case_that_does_not_exist(organisation):
    expect(authorization.may_change(principal(organisation, {Role.INTAKE_WORKER}), case()), None)


# --- seeing a person's details: the holder --------------------------------------------------


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_without_another_basis_only_the_holders_intake_workers_see_details(organisation, roles):
    allowed = organisation == HOLDER and roles in INTAKE_ROLES
    decision = authorization.may_see_details(
        principal(organisation, ROLES[roles]), case(RECEIVED), consents(), DIRECTORY, TODAY, None
    )
    expect(decision, LegalBasis.HOLDER if allowed else None)


@pytest.mark.parametrize("state", STATES)
def test_the_holder_sees_details_in_every_state(state):
    decision = authorization.may_see_details(
        principal(HOLDER, {Role.INTAKE_WORKER}), case(*STATES[state]), consents(), DIRECTORY, TODAY, None
    )
    expect(decision, LegalBasis.HOLDER)


def test_the_holder_is_recorded_as_holder_even_when_a_consent_or_meeting_would_also_allow():
    both = case(RECEIVED, meeting(MeetingType.CONFIDENTIAL_SUPPORT_MEETING, [HOLDER]))
    decision = authorization.may_see_details(
        principal(HOLDER, {Role.INTAKE_WORKER}),
        both,
        consents(granted([Program.INTAKE])),
        DIRECTORY,
        TODAY,
        GRANT,
    )
    expect(decision, LegalBasis.HOLDER)


@pytest.mark.parametrize(
    ("organisation", "roles"),
    [
        pytest.param(HOLDER, {Role.INTAKE_WORKER}, id="holder"),
        pytest.param("shakyo-tagikan", {Role.COORDINATOR}, id="consented-coordinator"),
    ],
)
def test_nobody_sees_details_of_a_case_that_does_not_exist(organisation, roles):
    """Not even with a consent and a break-glass grant at hand."""
    decision = authorization.may_see_details(
        principal(organisation, roles),
        case(),
        consents(granted([Program.COORDINATION, Program.INTAKE])),
        DIRECTORY,
        TODAY,
        GRANT,
    )
    expect(decision, None)


# --- seeing a person's details: consent, 支援会議, a break-glass grant ---------------------------

CONSENTED = granted([Program.COORDINATION, Program.PARTICIPATION])
OTHER_PROGRAM = granted([Program.PARTICIPATION])
EXPIRES_TODAY = granted([Program.COORDINATION], expires_on=TODAY)
EXPIRED_YESTERDAY = granted([Program.COORDINATION], expires_on=TODAY - timedelta(days=1))
GIVEN_TODAY = granted([Program.COORDINATION], granted_on=TODAY)
GIVEN_TOMORROW = granted([Program.COORDINATION], granted_on=TODAY + timedelta(days=1))
WITHDRAWN = granted([Program.COORDINATION])
NARROWED = granted([Program.COORDINATION, Program.PARTICIPATION])
CONFIDENTIAL = meeting(MeetingType.CONFIDENTIAL_SUPPORT_MEETING, [HOLDER, "shakyo-tagikan", "kikan-soudan"])
PLAN_MEETING = meeting(MeetingType.SUPPORT_PLAN_MEETING, [HOLDER, "shakyo-tagikan"])
WITHOUT_US = meeting(MeetingType.CONFIDENTIAL_SUPPORT_MEETING, [HOLDER, "kikan-soudan"])
BASES = {
    # name: (consent events, case events after receipt, live grant, expected basis, expected ref)
    "nothing": ((), (), None, None, None),
    "consent-covering-coordination": ((CONSENTED,), (), None, LegalBasis.CONSENT, str(CONSENTED.consent_id)),
    "consent-covering-another-program": ((OTHER_PROGRAM,), (), None, None, None),
    "consent-expiring-today": ((EXPIRES_TODAY,), (), None, LegalBasis.CONSENT, str(EXPIRES_TODAY.consent_id)),
    "consent-expired-yesterday": ((EXPIRED_YESTERDAY,), (), None, None, None),
    "consent-given-today": ((GIVEN_TODAY,), (), None, LegalBasis.CONSENT, str(GIVEN_TODAY.consent_id)),
    "consent-given-tomorrow": ((GIVEN_TOMORROW,), (), None, None, None),
    "consent-withdrawn": (
        (WITHDRAWN, consent.ConsentWithdrawn(consent_id=WITHDRAWN.consent_id, withdrawn_on=date(2026, 6, 1))),
        (),
        None,
        None,
        None,
    ),
    "consent-narrowed-away": (
        (
            NARROWED,
            consent.ConsentNarrowed(
                consent_id=NARROWED.consent_id, programs=[Program.PARTICIPATION], narrowed_on=date(2026, 5, 1)
            ),
        ),
        (),
        None,
        None,
        None,
    ),
    "withdrawn-then-new-consent": (
        (
            WITHDRAWN,
            consent.ConsentWithdrawn(consent_id=WITHDRAWN.consent_id, withdrawn_on=date(2026, 6, 1)),
            CONSENTED,
        ),
        (),
        None,
        LegalBasis.CONSENT,
        str(CONSENTED.consent_id),
    ),
    "member-of-support-meeting": (
        (),
        (CONFIDENTIAL,),
        None,
        LegalBasis.SUPPORT_MEETING,
        meeting_ref(CONFIDENTIAL),
    ),
    "member-of-plan-meeting-only": ((), (PLAN_MEETING,), None, None, None),
    "support-meeting-without-us": ((), (WITHOUT_US,), None, None, None),
    "break-glass-grant": ((), (), GRANT, LegalBasis.EMERGENCY, str(GRANT.grant_id)),
    "consent-before-meeting-before-emergency": (
        (CONSENTED,),
        (CONFIDENTIAL,),
        GRANT,
        LegalBasis.CONSENT,
        str(CONSENTED.consent_id),
    ),
    "meeting-before-emergency": (
        (EXPIRED_YESTERDAY,),
        (CONFIDENTIAL,),
        GRANT,
        LegalBasis.SUPPORT_MEETING,
        meeting_ref(CONFIDENTIAL),
    ),
}


@pytest.mark.parametrize("basis", BASES)
def test_another_organisation_sees_details_only_on_a_legal_basis(basis):
    """A coordinator of the coordination organisation, against each basis there is (or is not)."""
    consent_events, case_events, grant, expected, ref = BASES[basis]
    decision = authorization.may_see_details(
        principal("shakyo-tagikan", {Role.COORDINATOR}),
        case(RECEIVED, *case_events),
        consents(*consent_events),
        DIRECTORY,
        TODAY,
        grant,
    )
    expect(decision, expected, ref)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize(
    "basis", ["consent-covering-coordination", "member-of-support-meeting", "break-glass-grant"]
)
def test_a_basis_serves_workers_only(basis, roles):
    """Administrators and auditors have aggregates and access records, never a person's details;
    a consent to coordination serves its coordinators only (not the organisation's other roles)."""
    consent_events, case_events, grant, expected, ref = BASES[basis]
    decision = authorization.may_see_details(
        principal("shakyo-tagikan", ROLES[roles]),
        case(RECEIVED, *case_events),
        consents(*consent_events),
        DIRECTORY,
        TODAY,
        grant,
    )
    serves = (
        Role.COORDINATOR in ROLES[roles] if basis == "consent-covering-coordination" else roles in WORKERS
    )
    expect(decision, expected if serves else None, ref if serves else None)


CONSENT_FOR = {
    Program.COORDINATION: {"shakyo-tagikan", "tagikan-minami"},
    Program.PARTICIPATION: {"shakyo-sanka", "sanka-higashi", "shakyo-sougou"},
    Program.OUTREACH: {"npo-tsunagari", "npo-yorisoi", "shakyo-sougou"},
    Program.INTAKE: set(),
    Program.COMMUNITY: set(),
}
CASEWORKER = {
    Program.COORDINATION: Role.COORDINATOR,
    Program.PARTICIPATION: Role.PARTICIPATION_COORDINATOR,
    Program.OUTREACH: Role.OUTREACH_WORKER,
    Program.INTAKE: Role.INTAKE_WORKER,
    Program.COMMUNITY: Role.COMMUNITY_COORDINATOR,
}


@pytest.mark.parametrize("organisation", ORGANISATIONS)
@pytest.mark.parametrize("program", CONSENT_FOR)
def test_a_consent_reaches_the_caseworkers_of_a_program_it_covers(program, organisation):
    """Including an organisation that runs it beside another program. A consent to intake opens
    nothing to another intake centre (the holder needs none), and one to community building opens
    nothing: community works with areas, not a person's file."""
    given = granted([program])
    worker = principal(organisation, {CASEWORKER[program]})
    decision = authorization.may_see_details(worker, case(RECEIVED), consents(given), DIRECTORY, TODAY, None)
    if organisation == HOLDER and program is Program.INTAKE:
        expect(decision, LegalBasis.HOLDER)  # its own case, its intake worker: no consent needed
    elif organisation in CONSENT_FOR[program]:
        expect(decision, LegalBasis.CONSENT, str(given.consent_id))
    else:
        expect(decision, None)


@pytest.mark.parametrize("organisation", ["shakyo-tagikan", "kikan-soudan", "houkatsu-kita"])
def test_a_support_meeting_reaches_its_members_whatever_program_they_run(organisation):
    """法106条の6 binds the members, not the programs: an agency running none is a member too."""
    sat_in = meeting(MeetingType.CONFIDENTIAL_SUPPORT_MEETING, [HOLDER, organisation])
    decision = authorization.may_see_details(
        principal(organisation, {Role.INTAKE_WORKER}),
        case(RECEIVED, sat_in),
        consents(),
        DIRECTORY,
        TODAY,
        None,
    )
    expect(decision, LegalBasis.SUPPORT_MEETING, meeting_ref(sat_in))


# --- erasing a person -----------------------------------------------------------------------


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ["city-fukushi", HOLDER, "kikan-soudan"])
def test_only_the_municipal_administrator_erases(organisation, roles):
    """Erasure is the municipality's decision, whichever organisation holds the case."""
    allowed = Role.MUNICIPAL_ADMINISTRATOR in ROLES[roles]
    expect(
        authorization.may_erase(principal(organisation, ROLES[roles])), LegalBasis.HOLDER if allowed else None
    )


# --- breaking the glass: who may ask ---------------------------------------------------------------

WITH_DUTY = Directory(
    municipality=DIRECTORY.municipality,
    organisations={
        **DIRECTORY.organisations,
        "hoken-center": Organisation(
            "hoken-center", "保健センター", frozenset(), duties=frozenset({StatutoryDuty.MENTAL_HEALTH})
        ),
    },
    users={},
)


@pytest.mark.parametrize("organisation", [*WITH_DUTY.organisations, UNKNOWN])
@pytest.mark.parametrize("roles", ROLES)
def test_only_workers_of_an_organisation_with_a_program_or_a_duty_may_break_the_glass(organisation, roles):
    decision = authorization.may_break_glass(principal(organisation, ROLES[roles]), WITH_DUTY)
    known = WITH_DUTY.organisations.get(organisation)
    eligible = known is not None and bool(known.programs or known.duties) and roles in WORKERS
    expect(decision, LegalBasis.EMERGENCY if eligible else None)
