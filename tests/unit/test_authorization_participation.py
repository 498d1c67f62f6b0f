"""Participation's authorisation rules, table by table: organisation × role × case or menu state.

Nobody but the holder has a basis for a participation case yet; the menu catalogue is for workers.
Pure: cases and menus are folded from participation's own events.
"""

import uuid
from datetime import date
from typing import get_args

import pytest

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
    Role,
)
from libs.domain import DomainEvent
from services.participation.domain import menu, model
from services.participation.service_layer import authorization, handlers
from tests.unit.authorization_table import (
    DIRECTORY,
    ORGANISATIONS,
    UNKNOWN,
    expect,
    principal,
    role_sets,
    worker_role_sets,
)

HOLDER = "shakyo-sanka"
HOST = "shakyo-sougou"
ROLES = role_sets(Role.PARTICIPATION_COORDINATOR)
PARTICIPATION_ROLES = {"participation_coordinator", "participation_coordinator+auditor"}
WORKERS = worker_role_sets(Role.PARTICIPATION_COORDINATOR)

REFERRAL = uuid.uuid4()
OPENED = model.CaseOpened(
    participation_case_id=model.case_id_for(REFERRAL),
    holder_organisation=HOLDER,
    case_key=uuid.uuid4(),
    referral_id=REFERRAL,
    coordination_case_id=uuid.uuid4(),
    referring_organisation="shakyo-tagikan",
    subject_ref=f"subj_{uuid.uuid4().hex}",
    needs=[ParticipationNeed.WORK_EXPERIENCE],
    issue_tags=[IssueTag.HIKIKOMORI],
    age_band=AgeBand.YOUNG_ADULT,
    district="kita-2",
    opened_on=date(2026, 4, 2),
)
ASSESSED = model.NeedsAssessed(
    assessment_version=1,
    needs=[ParticipationNeed.WORK_EXPERIENCE],
    wishes="人の少ない場所で体を動かしたい",
    findings=None,
    assessed_on=date(2026, 4, 5),
)
PLACEMENT = uuid.uuid4()
STARTED = model.PlacementStarted(
    placement_id=PLACEMENT,
    menu_id=uuid.uuid4(),
    menu_kind=MenuKind.WORK_EXPERIENCE,
    host_organisation=HOST,
    menu_district="kita-2",
    arrangements="初回は職員が同行",
    started_on=date(2026, 4, 10),
)
FOLLOWED_UP = model.PlacementFollowedUp(
    placement_id=PLACEMENT, status=FollowUpStatus.SETTLED, note=None, followed_up_on=date(2026, 5, 1)
)
ENDED = model.PlacementEnded(
    placement_id=PLACEMENT, outcome=PlacementOutcome.TERM_COMPLETED, note=None, ended_on=date(2026, 6, 1)
)
CLOSED = model.CaseClosed(
    reason=ParticipationClosureReason.SETTLED, note="本人が自分で通えている", closed_on=date(2026, 6, 2)
)

STATES = {
    "opened": (OPENED,),
    "assessed": (OPENED, ASSESSED),
    "placed": (OPENED, ASSESSED, STARTED, FOLLOWED_UP),
    "placement-ended": (OPENED, ASSESSED, STARTED, FOLLOWED_UP, ENDED),
    "closed": (OPENED, ASSESSED, STARTED, FOLLOWED_UP, ENDED, CLOSED),
}
RULES = [
    pytest.param(authorization.may_act, id="act"),
    pytest.param(authorization.may_read, id="read"),
]


def case(*events: DomainEvent) -> model.Case:
    return model.PARTICIPATION_CASE.fold(events)


# --- cases ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_only_the_holders_participation_coordinators_act_on_or_read_a_case(organisation, roles, rule):
    allowed = organisation == HOLDER and roles in PARTICIPATION_ROLES
    expect(rule(principal(organisation, ROLES[roles]), case(OPENED)), LegalBasis.HOLDER if allowed else None)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(
    ("organisation", "roles", "basis"),
    [
        pytest.param(HOLDER, {Role.PARTICIPATION_COORDINATOR}, LegalBasis.HOLDER, id="holder"),
        pytest.param(HOLDER, {Role.COMMUNITY_COORDINATOR}, None, id="holder-other-worker"),
        pytest.param("sanka-higashi", {Role.PARTICIPATION_COORDINATOR}, None, id="other-participation-org"),
        pytest.param("shakyo-tagikan", {Role.COORDINATOR}, None, id="referring-coordination-org"),
        pytest.param(HOST, {Role.PARTICIPATION_COORDINATOR}, None, id="host-of-the-placement"),
    ],
)
def test_the_holder_stays_the_only_one_in_every_state(state, organisation, roles, basis, rule):
    """Neither the organisation that referred the person nor the one hosting them reads the case."""
    expect(rule(principal(organisation, roles), case(*STATES[state])), basis)


@pytest.mark.parametrize("rule", RULES)
def test_nobody_acts_on_or_reads_a_case_that_does_not_exist(rule):
    expect(rule(principal(HOLDER, {Role.PARTICIPATION_COORDINATOR}), case()), None)


def test_every_command_on_a_case_is_judged_by_the_holders_rule():
    """Closing is one more change of the case: the same rule (may_act) judges it, logged as "close";
    a new command without an entry would fail here before it could run unguarded."""
    assert set(handlers.ACTIONS) == set(get_args(handlers.CaseChange))
    assert handlers.ACTIONS[model.CloseCase] == "close"


# --- menus ----------------------------------------------------------------------------------


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ["city-fukushi", HOLDER, UNKNOWN])
def test_every_worker_and_nobody_else_reads_the_menu_catalogue(organisation, roles):
    """Menus describe places, not people; administrators and auditors have the dashboard."""
    decision = authorization.may_read_menus(principal(organisation, ROLES[roles]))
    expect(decision, LegalBasis.HOLDER if roles in WORKERS else None)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_publishing_a_menu_needs_a_participation_coordinator_of_a_participation_organisation(
    organisation, roles
):
    runs_participation = organisation in {"shakyo-sanka", "sanka-higashi", "shakyo-sougou"}
    allowed = runs_participation and roles in PARTICIPATION_ROLES
    decision = authorization.may_publish_menu(principal(organisation, ROLES[roles]), DIRECTORY)
    expect(decision, LegalBasis.HOLDER if allowed else None)


PUBLISHED = menu.MenuPublished(
    menu_id=uuid.uuid4(),
    managed_by=HOLDER,
    title="農作業体験",
    description="野菜の収穫と袋詰め。",
    kind=MenuKind.WORK_EXPERIENCE,
    host_organisation=HOST,
    host_name="ふくし農園",
    district="kita-2",
    capacity=2,
    schedule="毎週火曜 10時〜12時",
    target_groups=[IssueTag.HIKIKOMORI],
    published_on=date(2026, 4, 1),
)
MENU_STATES = {
    "published": (PUBLISHED,),
    "seat-taken": (
        PUBLISHED,
        menu.SeatTaken(
            placement_id=PLACEMENT,
            participation_case_id=OPENED.participation_case_id,
            taken_on=date(2026, 4, 10),
        ),
    ),
    "host-changed": (
        PUBLISHED,
        menu.MenuRevised(host_organisation="farm-aozora", revised_on=date(2026, 5, 1)),
    ),
    "closed": (PUBLISHED, menu.MenuRevised(status=MenuStatus.CLOSED, revised_on=date(2026, 5, 1))),
}


def a_menu(*events: DomainEvent) -> menu.Menu:
    return menu.MENU.fold(events)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_only_the_managing_organisations_participation_coordinators_change_a_menu(organisation, roles):
    """The host of the menu does not manage it, even with the right role."""
    allowed = organisation == HOLDER and roles in PARTICIPATION_ROLES
    decision = authorization.may_manage_menu(principal(organisation, ROLES[roles]), a_menu(PUBLISHED))
    expect(decision, LegalBasis.HOLDER if allowed else None)


@pytest.mark.parametrize("state", MENU_STATES)
@pytest.mark.parametrize(
    ("organisation", "basis"),
    [
        pytest.param(HOLDER, LegalBasis.HOLDER, id="manager"),
        pytest.param(HOST, None, id="host"),
        pytest.param("sanka-higashi", None, id="other-participation-org"),
    ],
)
def test_the_manager_stays_the_manager_in_every_menu_state(state, organisation, basis):
    decision = authorization.may_manage_menu(
        principal(organisation, {Role.PARTICIPATION_COORDINATOR}), a_menu(*MENU_STATES[state])
    )
    expect(decision, basis)


def test_nobody_changes_a_menu_that_was_never_published():
    expect(authorization.may_manage_menu(principal(HOLDER, {Role.PARTICIPATION_COORDINATOR}), a_menu()), None)
