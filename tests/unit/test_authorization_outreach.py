"""Outreach's authorisation rules, table by table: organisation × role × case state.

Outreach has no basis but holding: no consent and no meeting reaches its records yet, so the
tables are about who holds the case and in which role. Pure: cases are folded from outreach's
own events.
"""

import uuid
from datetime import date

import pytest

from contracts.glossary import (
    AgeBand,
    ConnectionTarget,
    ContactMethod,
    ContactOutcome,
    IdentifiedBy,
    IssueTag,
    LegalBasis,
    Milestone,
    OutreachConclusionReason,
    Role,
    Urgency,
)
from libs.domain import DomainEvent
from services.outreach.domain import model
from services.outreach.service_layer import authorization
from tests.unit.authorization_table import DIRECTORY, ORGANISATIONS, expect, principal, role_sets

HOLDER = "npo-tsunagari"
ROLES = role_sets(Role.OUTREACH_WORKER)
OUTREACH_ROLES = {"outreach_worker", "outreach_worker+auditor"}

IDENTIFIED = model.PotentialClientIdentified(
    outreach_case_id=uuid.uuid4(),
    holder_organisation=HOLDER,
    case_key=uuid.uuid4(),
    subject_ref=f"subj_{uuid.uuid4().hex}",
    identified_by=IdentifiedBy.MINSEI_IIN,
    issue_tags=[IssueTag.HIKIKOMORI],
    age_band=AgeBand.MIDDLE,
    district="kita-2",
    description="日中は雨戸が閉まったまま",
    identified_on=date(2026, 4, 1),
)
REFERRAL = uuid.uuid4()
REFERRED = model.PotentialClientIdentified(
    outreach_case_id=model.case_id_for_referral(REFERRAL),
    holder_organisation=HOLDER,
    case_key=uuid.uuid4(),
    subject_ref=f"subj_{uuid.uuid4().hex}",
    identified_by=IdentifiedBy.COORDINATION_REFERRAL,
    referral_id=REFERRAL,
    coordination_case_id=uuid.uuid4(),
    referring_organisation="shakyo-tagikan",
    urgency=Urgency.URGENT,
    issue_tags=[IssueTag.SELF_NEGLECT],
    age_band=AgeBand.OLD_OLD,
    district="chuo-1",
    identified_on=date(2026, 4, 1),
)
CONTACTED = (
    model.ContactAttempted(
        attempt_number=1,
        method=ContactMethod.HOME_VISIT,
        outcome=ContactOutcome.CONVERSATION,
        attempted_on=date(2026, 4, 5),
    ),
    model.MilestoneReached(milestone=Milestone.FIRST_CONTACT, reached_on=date(2026, 4, 5)),
)
CONNECTED = model.ConnectedToSupport(
    connected_to=ConnectionTarget.INTAKE, organisation="houkatsu-chuo", connected_on=date(2026, 5, 1)
)
CONCLUDED = model.OutreachConcluded(reason=OutreachConclusionReason.CONNECTED, concluded_on=date(2026, 5, 10))

STATES = {
    "identified": (IDENTIFIED,),
    "referred-by-coordination": (REFERRED,),
    "in-contact": (IDENTIFIED, *CONTACTED),
    "connected": (IDENTIFIED, *CONTACTED, CONNECTED),
    "concluded": (IDENTIFIED, *CONTACTED, CONNECTED, CONCLUDED),
}


RULES = [
    pytest.param(authorization.may_act, id="act"),
    pytest.param(authorization.may_read, id="read"),
]


def case(*events: DomainEvent) -> model.Case:
    return model.OUTREACH_CASE.fold(events)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_recording_a_potential_client_needs_an_outreach_worker_of_an_outreach_organisation(
    organisation, roles
):
    runs_outreach = organisation in {"npo-tsunagari", "npo-yorisoi", "shakyo-sougou"}
    allowed = runs_outreach and roles in OUTREACH_ROLES
    decision = authorization.may_identify(principal(organisation, ROLES[roles]), DIRECTORY)
    expect(decision, LegalBasis.HOLDER if allowed else None)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_only_the_holders_outreach_workers_act_on_or_read_a_case(organisation, roles, rule):
    allowed = organisation == HOLDER and roles in OUTREACH_ROLES
    expect(
        rule(principal(organisation, ROLES[roles]), case(IDENTIFIED)), LegalBasis.HOLDER if allowed else None
    )


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(
    ("organisation", "roles", "basis"),
    [
        pytest.param(HOLDER, {Role.OUTREACH_WORKER}, LegalBasis.HOLDER, id="holder-outreach-worker"),
        pytest.param(HOLDER, {Role.COORDINATOR, Role.INTAKE_WORKER}, None, id="holder-other-workers"),
        pytest.param("npo-yorisoi", {Role.OUTREACH_WORKER}, None, id="other-outreach-org"),
        pytest.param("shakyo-tagikan", {Role.COORDINATOR}, None, id="referring-coordination-org"),
    ],
)
def test_the_holder_stays_the_only_one_in_every_state(state, organisation, roles, basis, rule):
    """The coordination organisation that referred the person follows outreach through its
    public events; it has no basis to read what the worker wrote."""
    expect(rule(principal(organisation, roles), case(*STATES[state])), basis)


@pytest.mark.parametrize("rule", RULES)
def test_nobody_acts_on_or_reads_a_case_that_does_not_exist(rule):
    expect(rule(principal(HOLDER, {Role.OUTREACH_WORKER}), case()), None)
