"""Community's authorisation rules, table by table: organisation × role × state of the place,
concern or platform meeting.

Pure: the holder each rule judges is read from a state folded from community's own events.
"""

import uuid
from datetime import date, time

import pytest

from contracts.glossary import (
    AgeBand,
    IssueTag,
    LegalBasis,
    PlaceKind,
    PlatformTheme,
    Role,
    Sector,
    TargetGroup,
)
from services.community.domain import concern, model, platform
from services.community.service_layer import authorization
from tests.unit.authorization_table import (
    DIRECTORY,
    ORGANISATIONS,
    UNKNOWN,
    expect,
    principal,
    role_sets,
    worker_role_sets,
)

HOLDER = "shakyo-chiiki"
ROLES = role_sets(Role.COMMUNITY_COORDINATOR)
COMMUNITY_ROLES = {"community_coordinator", "community_coordinator+auditor"}
WORKERS = worker_role_sets(Role.COMMUNITY_COORDINATOR)

REGISTERED = model.PlaceRegistered(
    place_id=uuid.uuid4(),
    holder_organisation=HOLDER,
    kind=PlaceKind.KODOMO_SHOKUDO,
    name="みんなの食卓",
    description=None,
    address=None,
    district="higashi-1",
    school_district="higashi-es",
    target_groups=[TargetGroup.EVERYONE],
    multi_generational=True,
    integrated_schemes=[],
    schedule=[model.Slot(freq="WEEKLY", byday=["SA"], opens_at=time(11), closes_at=time(14))],
    opened_on=date(2026, 4, 1),
)
NOTED = concern.ConcernNoted(
    concern_id=uuid.uuid4(),
    case_key=uuid.uuid4(),
    subject_ref=f"subj_{uuid.uuid4().hex}",
    place_id=REGISTERED.place_id,
    holder_organisation=HOLDER,
    issue_tags=[IssueTag.YOUNG_CARER],
    age_band=AgeBand.CHILD,
    district="higashi-1",
    noticed_on=date(2026, 5, 9),
    description="祖母の介護で来られない日が続く",
)
MEETING = platform.PlatformMeetingRecorded(
    meeting_id=uuid.uuid4(),
    holder_organisation=HOLDER,
    held_on=date(2026, 5, 20),
    district=None,
    sectors=[Sector.WELFARE, Sector.COMMERCE],
    organisations=["chiiki-nishi", HOLDER],
    themes=[PlatformTheme.CHILDREN_AND_YOUTH],
    decisions=["夏休みに職業体験を開く"],
    minutes=None,
)

# Each object community guards, in each state it can be in; None: there is no such object.
HOLDERS = {
    "place-open": model.PLACE.fold([REGISTERED]).holder,
    "place-closed": model.PLACE.fold([REGISTERED, model.PlaceClosed(closed_on=date(2026, 6, 1))]).holder,
    "concern-noted": concern.CONCERN.fold([NOTED]).holder,
    "concern-raised": concern.CONCERN.fold(
        [NOTED, concern.ConcernRaised(raised_to="outreach", raised_on=date(2026, 5, 10))]
    ).holder,
    "platform-meeting": platform.MEETING.fold([MEETING]).holder,
}
NOTHING = {
    "no-place": model.PLACE.initial().holder,
    "no-concern": concern.CONCERN.initial().holder,
    "no-meeting": platform.MEETING.initial().holder,
}


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_registering_needs_a_community_coordinator_of_a_community_organisation(organisation, roles):
    allowed = organisation in {"shakyo-chiiki", "chiiki-nishi"} and roles in COMMUNITY_ROLES
    decision = authorization.may_register(principal(organisation, ROLES[roles]), DIRECTORY)
    expect(decision, LegalBasis.HOLDER if allowed else None)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ORGANISATIONS)
def test_only_the_holders_community_coordinators_manage_a_place(organisation, roles):
    allowed = organisation == HOLDER and roles in COMMUNITY_ROLES
    decision = authorization.may_manage(principal(organisation, ROLES[roles]), HOLDERS["place-open"])
    expect(decision, LegalBasis.HOLDER if allowed else None)


@pytest.mark.parametrize("thing", HOLDERS)
@pytest.mark.parametrize(
    ("organisation", "roles", "basis"),
    [
        pytest.param(HOLDER, {Role.COMMUNITY_COORDINATOR}, LegalBasis.HOLDER, id="holder"),
        pytest.param(HOLDER, {Role.OUTREACH_WORKER, Role.INTAKE_WORKER}, None, id="holder-other-workers"),
        pytest.param("chiiki-nishi", {Role.COMMUNITY_COORDINATOR}, None, id="other-community-org"),
        pytest.param("npo-tsunagari", {Role.OUTREACH_WORKER}, None, id="outreach-the-concern-went-to"),
    ],
)
def test_the_holder_stays_the_only_one_for_every_object_and_state(thing, organisation, roles, basis):
    """A concern's details stay with community after it is passed on: outreach opens its own record."""
    expect(authorization.may_manage(principal(organisation, roles), HOLDERS[thing]), basis)


@pytest.mark.parametrize("thing", NOTHING)
@pytest.mark.parametrize("organisation", [HOLDER, UNKNOWN])
def test_nobody_manages_what_does_not_exist(thing, organisation):
    assert NOTHING[thing] is None
    expect(
        authorization.may_manage(principal(organisation, {Role.COMMUNITY_COORDINATOR}), NOTHING[thing]), None
    )


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ["city-fukushi", HOLDER, "houkatsu-chuo", UNKNOWN])
def test_the_place_directory_is_for_workers_and_the_municipal_administrator(organisation, roles):
    """It holds no personal data; auditors have the access records instead."""
    allowed = roles in WORKERS or Role.MUNICIPAL_ADMINISTRATOR in ROLES[roles]
    decision = authorization.may_read_directory(principal(organisation, ROLES[roles]))
    expect(decision, LegalBasis.HOLDER if allowed else None)


@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("organisation", ["city-kansa", HOLDER, UNKNOWN])
def test_the_hsds_export_is_open_to_any_authenticated_caller(organisation, roles):
    expect(authorization.may_export_directory(principal(organisation, ROLES[roles])), LegalBasis.HOLDER)
