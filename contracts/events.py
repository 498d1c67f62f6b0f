"""Public events of the first flow: intake ⇄ coordination (seed 002, pp.14-15).

No field here may hold personal data. People appear only as `subject_ref`, a pseudonym the
owning service derives; attributes are coarse (age band, district code, issue tags).
"""

from datetime import date
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field, model_validator

from contracts.envelope import CODE_PATTERN, ContractModel, PublicEvent
from contracts.glossary import (
    AgeBand,
    Channel,
    ClosureReason,
    ConclusionOutcome,
    ConnectionTarget,
    ConsentPurpose,
    ContactMethod,
    ContactOutcome,
    ContactReach,
    ContactResponse,
    FollowUpStatus,
    HostConcern,
    IdentifiedBy,
    IntegratedScheme,
    IssueTag,
    LocalResourceKind,
    MeetingType,
    MenuKind,
    MenuStatus,
    Milestone,
    OrganisationKind,
    OutreachConclusionReason,
    ParticipationClosureReason,
    ParticipationNeed,
    PlaceKind,
    PlacementOutcome,
    PlatformTheme,
    Program,
    Relation,
    ReturnReason,
    Role,
    RoleResponsibility,
    Sector,
    StatutoryDuty,
    TargetGroup,
    Urgency,
)
from contracts.topics import (
    COMMUNITY_EVENTS,
    COORDINATION_EVENTS,
    DIRECTORY_EVENTS,
    INTAKE_EVENTS,
    OUTREACH_EVENTS,
    PARTICIPATION_EVENTS,
)

SUBJECT_REF_PATTERN = r"^subj_[0-9a-f]{32}$"
DISTRICT_PATTERN = r"^[a-z0-9-]{1,32}$"

IssueTags = list[IssueTag]


class CaseReceived(PublicEvent):
    """A consultation was received by intake (包括的相談支援の受付)."""

    event_type: ClassVar[str] = "CaseReceived"
    topic: ClassVar[str] = INTAKE_EVENTS

    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    channel: Channel
    issue_tags: IssueTags = Field(min_length=1, max_length=14)
    age_band: AgeBand
    household_size: int = Field(ge=1, le=20)
    district: str = Field(pattern=DISTRICT_PATTERN)
    received_on: date


class MemberConcerned(ContractModel):
    """A household member support is for: their pseudonym and coarse attributes, never more."""

    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    relation: Relation = Field(description="Relation to the person the case is about (self for that person).")
    age_band: AgeBand


class ReferredToCoordination(PublicEvent):
    """Intake asked multi-agency coordination to take a complex case (支援依頼).

    Version 2 names the household members the referral is for (`members`, at least one): support
    is for a household, and the coordination case must know each member as themselves (the son
    of the 8050 household, the daughter of the four-person family), not only the person who
    consulted. `subject_ref` and `age_band` stay: those of the person the intake case is about.
    """

    event_type: ClassVar[str] = "ReferredToCoordination"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[str] = INTAKE_EVENTS

    referral_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    members: list[MemberConcerned] = Field(min_length=1, max_length=20)
    referring_organisation: str = Field(pattern=CODE_PATTERN)
    issue_tags: IssueTags = Field(min_length=1, max_length=14)
    age_band: AgeBand
    district: str = Field(pattern=DISTRICT_PATTERN)
    urgency: Urgency
    referred_on: date


class ReferralAccepted(PublicEvent):
    """Coordination opened its own case for a referral."""

    event_type: ClassVar[str] = "ReferralAccepted"
    topic: ClassVar[str] = COORDINATION_EVENTS

    referral_id: UUID
    coordination_case_id: UUID
    accepted_on: date


class PlanRole(ContractModel):
    """One agency's part in a plan; the responsibility is a category, never free text.

    `members`: the household members the role is for, by pseudonym; empty means the household as
    a whole (every plan agreed before roles named members reads so). Added with a default, so
    the event stays version 1 (docs/adr/0006, an additive change).
    """

    organisation: str = Field(pattern=CODE_PATTERN)
    responsibility: RoleResponsibility
    review_on: date
    members: list[Annotated[str, Field(pattern=SUBJECT_REF_PATTERN)]] = Field(
        default_factory=list, max_length=20, description="Household members the role is for; empty: all."
    )


class PlanAgreed(PublicEvent):
    """A support plan version was agreed at a meeting (プラン決定): the roles its agencies accepted
    while it was a draft (支援プラン（案）); declined roles are not part of it."""

    event_type: ClassVar[str] = "PlanAgreed"
    topic: ClassVar[str] = COORDINATION_EVENTS

    coordination_case_id: UUID
    plan_version: int = Field(ge=1)
    meeting_type: MeetingType
    goal_count: int = Field(ge=1, le=50)
    roles: list[PlanRole] = Field(min_length=1, max_length=50)
    meeting_members: list[Annotated[str, Field(pattern=CODE_PATTERN)]] = Field(
        min_length=1, max_length=50, description="Organisations that sat in the meeting."
    )
    agreed_on: date


class ReturnedToOrigin(PublicEvent):
    """Coordination sent the case back to the organisation that referred it (つなぎもどし)."""

    event_type: ClassVar[str] = "ReturnedToOrigin"
    topic: ClassVar[str] = COORDINATION_EVENTS

    referral_id: UUID
    coordination_case_id: UUID | None = None
    returned_to: str = Field(pattern=CODE_PATTERN)
    reason: ReturnReason
    returned_on: date


class ConsentChanged(PublicEvent):
    """The person's consent to information sharing as it now stands (granted, narrowed, withdrawn).

    Services that act on consent (a 重層的支援会議 needs it) keep this state; `programs` is
    empty once withdrawn.
    """

    event_type: ClassVar[str] = "ConsentChanged"
    topic: ClassVar[str] = INTAKE_EVENTS

    consent_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    status: Literal["active", "withdrawn"]
    programs: list[Program] = Field(max_length=5)
    purpose: ConsentPurpose
    expires_on: date
    changed_on: date


class SubjectErased(PublicEvent):
    """A person's details were erased at intake: every service destroys its key for them too."""

    event_type: ClassVar[str] = "SubjectErased"
    topic: ClassVar[str] = INTAKE_EVENTS

    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    erased_on: date


class OutreachRequested(PublicEvent):
    """Intake asked outreach to reach one member of a household it knows (the son no one had
    seen, found on a home visit about his father). Outreach opens a case for that member, under
    the member's own pseudonym; the case key is intake's case."""

    event_type: ClassVar[str] = "OutreachRequested"
    topic: ClassVar[str] = INTAKE_EVENTS

    referral_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    relation: Relation = Field(description="Relation to the person the intake case is about.")
    referring_organisation: str = Field(pattern=CODE_PATTERN)
    issue_tags: IssueTags = Field(min_length=1, max_length=14)
    age_band: AgeBand
    district: str = Field(pattern=DISTRICT_PATTERN)
    urgency: Urgency
    referred_on: date


class ReferredToOutreach(PublicEvent):
    """Coordination asked outreach to build contact with a person who does not come forward."""

    event_type: ClassVar[str] = "ReferredToOutreach"
    topic: ClassVar[str] = COORDINATION_EVENTS

    referral_id: UUID
    coordination_case_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    issue_tags: IssueTags = Field(min_length=1, max_length=14)
    age_band: AgeBand
    district: str = Field(pattern=DISTRICT_PATTERN)
    urgency: Urgency
    referred_on: date


class ReferredToParticipation(PublicEvent):
    """Coordination asked participation support to find the person a place (参加支援への依頼)."""

    event_type: ClassVar[str] = "ReferredToParticipation"
    topic: ClassVar[str] = COORDINATION_EVENTS

    referral_id: UUID
    coordination_case_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    needs: list[ParticipationNeed] = Field(min_length=1, max_length=5)
    issue_tags: IssueTags = Field(min_length=1, max_length=14)
    age_band: AgeBand
    district: str = Field(pattern=DISTRICT_PATTERN)
    referred_on: date


class SupportConcluded(PublicEvent):
    """Coordination's part ended, with its evaluation (終結)."""

    event_type: ClassVar[str] = "SupportConcluded"
    topic: ClassVar[str] = COORDINATION_EVENTS

    coordination_case_id: UUID
    outcome: ConclusionOutcome
    goals_met: int = Field(ge=0, le=50)
    goals_total: int = Field(ge=0, le=50)
    concluded_on: date


class ConnectedToSupport(PublicEvent):
    """Outreach connected a person to intake, coordination or an agency (つなぎ).

    `case_key` is the case it belongs to: the referring case when coordination asked for
    outreach, otherwise a new key that intake opens its case under.
    """

    event_type: ClassVar[str] = "ConnectedToSupport"
    topic: ClassVar[str] = OUTREACH_EVENTS

    outreach_case_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    connected_to: ConnectionTarget
    organisation: str = Field(
        pattern=CODE_PATTERN, description="The organisation the person was connected to."
    )
    issue_tags: IssueTags = Field(min_length=1, max_length=14)
    age_band: AgeBand
    district: str = Field(pattern=DISTRICT_PATTERN)
    connected_on: date


class ConcernRaised(PublicEvent):
    """Someone at a community place noticed a person in trouble and passed it on (気づき・つなぎ).

    `case_key` is new: intake opens its case under it, or outreach its potential client.
    """

    event_type: ClassVar[str] = "ConcernRaised"
    topic: ClassVar[str] = COMMUNITY_EVENTS

    concern_id: UUID
    place_id: UUID
    raised_to: Literal["intake", "outreach"]
    issue_tags: IssueTags = Field(min_length=1, max_length=14)
    age_band: AgeBand
    district: str = Field(pattern=DISTRICT_PATTERN)
    raised_on: date


class PotentialClientIdentified(PublicEvent):
    """Outreach opened a case for someone who has not asked for help (潜在的な相談者の把握).

    `case_key` is the referring case when coordination asked for outreach, the concern's key when
    a community place passed the person on, otherwise a new key minted by outreach. Who noticed
    the person is a category; what they said stays in outreach's private record.
    """

    event_type: ClassVar[str] = "PotentialClientIdentified"
    topic: ClassVar[str] = OUTREACH_EVENTS

    outreach_case_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    identified_by: IdentifiedBy
    referral_id: UUID | None = Field(
        default=None, description="The referral that asked for outreach, if any (coordination's or intake's)."
    )
    concern_id: UUID | None = Field(default=None, description="Community's ConcernRaised, if any.")
    issue_tags: IssueTags = Field(min_length=1, max_length=14)
    age_band: AgeBand
    district: str = Field(pattern=DISTRICT_PATTERN)
    identified_on: date


_SPLIT: dict[ContactOutcome, tuple[ContactReach, ContactResponse | None]] = {
    ContactOutcome.NO_ANSWER: (ContactReach.NOBODY, None),
    ContactOutcome.FAMILY_ONLY: (ContactReach.FAMILY, None),
    ContactOutcome.REFUSED: (ContactReach.PERSON, ContactResponse.REFUSED),
    ContactOutcome.BRIEF_CONTACT: (ContactReach.PERSON, ContactResponse.BRIEF_CONTACT),
    ContactOutcome.CONVERSATION: (ContactReach.PERSON, ContactResponse.CONVERSATION),
}


def split_outcome(outcome: ContactOutcome) -> tuple[ContactReach, ContactResponse | None]:
    """A v1 outcome code as whom it reached and how they responded (the v1→v2 split)."""
    return _SPLIT[outcome]


class ContactAttempted(PublicEvent):
    """One attempt to reach the person (訪問・手紙・電話・家族を通じて) and what came of it.

    Version 2 splits v1's single `outcome` code into `reached` (nobody, the family, the person)
    and `response`. One code could not say that the family turned the worker away (家族が拒否,
    common with ひきこもり) without counting it as the person's refusal, and every reader had to
    keep its own list of which codes mean "reached the person" (docs/adr/0006). `outcome` stays
    readable as a property, so code written against v1 keeps working.
    """

    event_type: ClassVar[str] = "ContactAttempted"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[str] = OUTREACH_EVENTS

    outreach_case_id: UUID
    attempt_number: int = Field(ge=1)
    method: ContactMethod
    reached: ContactReach
    response: ContactResponse | None = Field(
        default=None, description="None when nobody was reached; required when the person was."
    )
    attempted_on: date

    @model_validator(mode="after")
    def _response_fits_reach(self) -> "ContactAttempted":
        if self.reached is ContactReach.NOBODY and self.response is not None:
            raise ValueError("nobody was reached, so there is no response")
        if self.reached is ContactReach.PERSON and self.response is None:
            raise ValueError("the person was reached: say how they responded")
        return self

    @property
    def outcome(self) -> ContactOutcome:
        """The v1 code of this attempt; v1 had no code for a family's response (family_only)."""
        if self.reached is ContactReach.NOBODY:
            return ContactOutcome.NO_ANSWER
        if self.reached is ContactReach.FAMILY or self.response is None:
            return ContactOutcome.FAMILY_ONLY
        return ContactOutcome(self.response.value)


class RelationshipMilestoneReached(PublicEvent):
    """A step in the relationship with the person (初回接触、初回会話、初めての外出、支援の受け入れ)."""

    event_type: ClassVar[str] = "RelationshipMilestoneReached"
    topic: ClassVar[str] = OUTREACH_EVENTS

    outreach_case_id: UUID
    milestone: Milestone
    reached_on: date


class OutreachConcluded(PublicEvent):
    """Outreach ended its involvement with the person (アウトリーチの終結)."""

    event_type: ClassVar[str] = "OutreachConcluded"
    topic: ClassVar[str] = OUTREACH_EVENTS

    outreach_case_id: UUID
    reason: OutreachConclusionReason
    concluded_on: date


class Attendance(ContractModel):
    """Who came to a community activity, by generation: counts only, never who."""

    children: int = Field(ge=0, le=10000, description="0-17歳")
    youth: int = Field(ge=0, le=10000, description="18-39歳")
    working_age: int = Field(ge=0, le=10000, description="40-64歳")
    older: int = Field(ge=0, le=10000, description="65歳以上")


class PlaceRegistered(PublicEvent):
    """Community registered a place (居場所: 子ども食堂、サロン、コミュニティカフェ、共生型拠点).

    Places are not cases: `case_key` is the place id, so one place's events stay in order. The
    place's name, address and schedule are a public directory entry served by community's API
    (`/directory/hsds`), not carried here, because contracts allow no free text.

    Version 2 adds `integrated_schemes`, the 包括化対象事業 the place is run under: the municipality
    still reports each scheme's places under its own law. A v1 place did not say, and nothing in it
    tells: it reads as None (not recorded), never as a guess.
    """

    event_type: ClassVar[str] = "PlaceRegistered"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[str] = COMMUNITY_EVENTS

    place_id: UUID
    kind: PlaceKind
    district: str = Field(pattern=DISTRICT_PATTERN)
    school_district: str = Field(pattern=DISTRICT_PATTERN, description="小学校区コード")
    target_groups: list[TargetGroup] = Field(min_length=1, max_length=8)
    multi_generational: bool
    integrated_schemes: Annotated[list[IntegratedScheme], Field(max_length=5)] | None = Field(
        description="包括化対象事業（複数可）。[]: いずれでもない（地域づくり事業として開設）。"
        "null: 記録されていない（v1）"
    )
    opened_on: date


class PlaceClosed(PublicEvent):
    """A place stopped running (閉所). `case_key` is the place id."""

    event_type: ClassVar[str] = "PlaceClosed"
    topic: ClassVar[str] = COMMUNITY_EVENTS

    place_id: UUID
    closed_on: date


class ActivityHeld(PublicEvent):
    """An activity took place at a place, with attendance by generation. `case_key` is the place id.

    `new_resident_led`: a new activity started and run by residents (住民主体の新たな活動), the
    KPI counted per 100,000 people.

    Version 2 adds `integrated_scheme`, the 包括化対象事業 the activity was held under (a place may
    lend its room to another scheme's activity). A v1 activity did not say: None.
    """

    event_type: ClassVar[str] = "ActivityHeld"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[str] = COMMUNITY_EVENTS

    place_id: UUID
    activity_id: UUID
    kind: PlaceKind
    district: str = Field(pattern=DISTRICT_PATTERN)
    school_district: str = Field(pattern=DISTRICT_PATTERN)
    held_on: date
    attendance: Attendance
    volunteer_count: int = Field(ge=0, le=10000)
    new_resident_led: bool
    integrated_scheme: IntegratedScheme | None = Field(
        description="活動を実施した包括化対象事業。null: いずれでもない、または記録されていない（v1）"
    )


class PlatformMeetingHeld(PublicEvent):
    """A multi-sector platform met (多分野のプラットフォーム). `case_key` is the meeting id.

    Sectors and themes are codes; who said what and the decisions stay in community's record.
    """

    event_type: ClassVar[str] = "PlatformMeetingHeld"
    topic: ClassVar[str] = COMMUNITY_EVENTS

    meeting_id: UUID
    held_on: date
    district: str | None = Field(default=None, pattern=DISTRICT_PATTERN, description="None: 市全域")
    sectors: list[Sector] = Field(min_length=2, max_length=14)
    sector_count: int = Field(ge=2, le=14)
    organisation_count: int = Field(ge=0, le=200)
    themes: list[PlatformTheme] = Field(min_length=1, max_length=8)


class ParticipationAccepted(PublicEvent):
    """Participation support opened its case for coordination's referral (参加支援の受付)."""

    event_type: ClassVar[str] = "ParticipationAccepted"
    topic: ClassVar[str] = PARTICIPATION_EVENTS

    referral_id: UUID
    coordination_case_id: UUID
    participation_case_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    accepted_on: date


class ParticipationAssessed(PublicEvent):
    """The person's needs were assessed (アセスメント); their wishes in their own words stay private."""

    event_type: ClassVar[str] = "ParticipationAssessed"
    topic: ClassVar[str] = PARTICIPATION_EVENTS

    participation_case_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    assessment_version: int = Field(ge=1)
    needs: list[ParticipationNeed] = Field(min_length=1, max_length=5)
    assessed_on: date


class PlacementStarted(PublicEvent):
    """The person started taking part in a menu (マッチング・参加開始). `district` is the menu's."""

    event_type: ClassVar[str] = "PlacementStarted"
    topic: ClassVar[str] = PARTICIPATION_EVENTS

    participation_case_id: UUID
    placement_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    menu_id: UUID
    menu_kind: MenuKind
    host_organisation: str = Field(pattern=CODE_PATTERN)
    district: str = Field(pattern=DISTRICT_PATTERN)
    started_on: date


class PlacementFollowedUp(PublicEvent):
    """A follow-up after placement (定着支援): how it is going, as a category."""

    event_type: ClassVar[str] = "PlacementFollowedUp"
    topic: ClassVar[str] = PARTICIPATION_EVENTS

    participation_case_id: UUID
    placement_id: UUID
    status: FollowUpStatus
    days_since_start: int = Field(ge=0)
    followed_up_on: date


class PlacementEnded(PublicEvent):
    """A placement ended, with its outcome; `days_placed` lets a report count 3- and 6-month stays."""

    event_type: ClassVar[str] = "PlacementEnded"
    topic: ClassVar[str] = PARTICIPATION_EVENTS

    participation_case_id: UUID
    placement_id: UUID
    menu_id: UUID
    outcome: PlacementOutcome
    started_on: date
    ended_on: date
    days_placed: int = Field(ge=0)


class HostSupported(PublicEvent):
    """Participation support helped a host organisation with a placement (受け入れ先の支援)."""

    event_type: ClassVar[str] = "HostSupported"
    topic: ClassVar[str] = PARTICIPATION_EVENTS

    participation_case_id: UUID
    placement_id: UUID
    menu_id: UUID
    host_organisation: str = Field(pattern=CODE_PATTERN)
    concern: HostConcern
    supported_on: date


class ParticipationClosed(PublicEvent):
    """Participation support closed the person's case (参加支援の終結), reporting back to the
    coordination case that referred them. The reason is a code; the worker's note stays private."""

    event_type: ClassVar[str] = "ParticipationClosed"
    topic: ClassVar[str] = PARTICIPATION_EVENTS

    participation_case_id: UUID
    reason: ParticipationClosureReason
    closed_on: date


class MenuPublished(PublicEvent):
    """A participation menu was added to the catalogue (参加支援メニューの開拓).

    A menu is about a place, not a person, but its title and description are free text: they
    are served by participation's API (`GET /menus/{menu_id}`), not carried here. `case_key`
    is the menu id: a menu is no case, and keying by it keeps one menu's events in order.
    """

    event_type: ClassVar[str] = "MenuPublished"
    topic: ClassVar[str] = PARTICIPATION_EVENTS

    menu_id: UUID
    kind: MenuKind
    host_organisation: str = Field(pattern=CODE_PATTERN)
    district: str = Field(pattern=DISTRICT_PATTERN)
    capacity: int = Field(ge=1, le=1000)
    target_groups: IssueTags = Field(max_length=14, description="Empty: open to anyone.")
    status: MenuStatus
    published_on: date


class MenuUpdated(PublicEvent):
    """A menu changed (capacity, status, details): its coded fields as they now stand; `case_key` = menu id."""

    event_type: ClassVar[str] = "MenuUpdated"
    topic: ClassVar[str] = PARTICIPATION_EVENTS

    menu_id: UUID
    kind: MenuKind
    host_organisation: str = Field(pattern=CODE_PATTERN)
    district: str = Field(pattern=DISTRICT_PATTERN)
    capacity: int = Field(ge=1, le=1000)
    target_groups: IssueTags = Field(max_length=14, description="Empty: open to anyone.")
    status: MenuStatus
    updated_on: date


class CaseClosed(PublicEvent):
    """Intake closed a case (終結); the reason is a code, the worker's note stays at intake."""

    event_type: ClassVar[str] = "CaseClosed"
    topic: ClassVar[str] = INTAKE_EVENTS

    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    reason: ClosureReason
    closed_on: date


class MissingResourceNoted(PublicEvent):
    """A case meeting found a local resource missing (不足する地域資源): input to community building.

    A gap belongs to the area, not to one person: `case_key` is the meeting's id, and only the
    kind of resource and the district are published.
    """

    event_type: ClassVar[str] = "MissingResourceNoted"
    topic: ClassVar[str] = COORDINATION_EVENTS

    meeting_id: UUID
    meeting_type: MeetingType
    resource_kind: LocalResourceKind
    district: str = Field(pattern=DISTRICT_PATTERN)
    held_on: date = Field(description="The day of the meeting that found the gap.")


class DirectoryDistrict(ContractModel):
    code: str = Field(pattern=DISTRICT_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    population: int = Field(ge=0)
    school_district: str = Field(pattern=DISTRICT_PATTERN)


class DirectorySchoolDistrict(ContractModel):
    code: str = Field(pattern=DISTRICT_PATTERN)
    name: str = Field(min_length=1, max_length=100)


class DirectoryOrganisation(ContractModel):
    id: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    kind: OrganisationKind
    programs: list[Program] = Field(description="The programs it runs; empty for a 支援関係機関.")
    districts: list[Annotated[str, Field(pattern=DISTRICT_PATTERN)]] = Field(
        description="The districts it serves them in; empty: the whole municipality."
    )
    duties: list[StatutoryDuty] = Field(
        default_factory=list,
        description="Statutory duties it holds (虐待対応 …); added after v1 was first cut.",
    )


class DirectoryUser(ContractModel):
    """Who may sign in, as every token must match; no name (staff are known here by their id)."""

    id: str = Field(pattern=CODE_PATTERN)
    organisation: str = Field(pattern=CODE_PATTERN)
    roles: list[Role]


class DirectoryChanged(PublicEvent):
    """The municipality's directory as it stands after one change (event-carried state).

    Each program service keeps the latest version it has seen and checks codes, routes cases and
    authorises against it; a later version replaces an earlier one whole, so a service that missed
    or re-reads a version cannot drift. `case_key` is fixed per municipality: one partition, in order.
    """

    event_type: ClassVar[str] = "DirectoryChanged"
    topic: ClassVar[str] = DIRECTORY_EVENTS

    version: int = Field(ge=1, description="The directory's version; only a higher one replaces a copy.")
    change: str = Field(pattern=r"^[a-z_]{1,40}$", description="What changed, as a code (for the audit).")
    municipality: str = Field(min_length=1, max_length=100)
    districts: list[DirectoryDistrict]
    school_districts: list[DirectorySchoolDistrict]
    organisations: list[DirectoryOrganisation]
    users: list[DirectoryUser]


EVENT_TYPES: dict[str, type[PublicEvent]] = {
    cls.event_type: cls
    for cls in (
        CaseReceived,
        ReferredToCoordination,
        ReferralAccepted,
        PlanAgreed,
        ReturnedToOrigin,
        ConsentChanged,
        SubjectErased,
        ReferredToOutreach,
        OutreachRequested,
        ReferredToParticipation,
        ParticipationAccepted,
        ParticipationAssessed,
        PlacementStarted,
        PlacementFollowedUp,
        PlacementEnded,
        HostSupported,
        ParticipationClosed,
        MenuPublished,
        MenuUpdated,
        SupportConcluded,
        ConnectedToSupport,
        PotentialClientIdentified,
        ContactAttempted,
        RelationshipMilestoneReached,
        OutreachConcluded,
        ConcernRaised,
        CaseClosed,
        MissingResourceNoted,
        PlaceRegistered,
        PlaceClosed,
        ActivityHeld,
        PlatformMeetingHeld,
        DirectoryChanged,
    )
}
