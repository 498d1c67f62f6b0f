"""Public events of the first flow: intake ⇄ coordination (seed 002, pp.14-15).

No field here may hold personal data. People appear only as `subject_ref`, a pseudonym the
owning service derives; attributes are coarse (age band, district code, issue tags).
"""

from datetime import date
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from contracts.envelope import CODE_PATTERN, ContractModel, PublicEvent
from contracts.glossary import (
    AgeBand,
    Channel,
    ConclusionOutcome,
    ConnectionTarget,
    ConsentPurpose,
    IssueTag,
    MeetingType,
    ParticipationNeed,
    Program,
    ReturnReason,
    RoleResponsibility,
    Urgency,
)
from contracts.topics import COMMUNITY_EVENTS, COORDINATION_EVENTS, INTAKE_EVENTS, OUTREACH_EVENTS

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


class ReferredToCoordination(PublicEvent):
    """Intake asked multi-agency coordination to take a complex case (支援依頼)."""

    event_type: ClassVar[str] = "ReferredToCoordination"
    topic: ClassVar[str] = INTAKE_EVENTS

    referral_id: UUID
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
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
    """One agency's part in a plan; the responsibility is a category, never free text."""

    organisation: str = Field(pattern=CODE_PATTERN)
    responsibility: RoleResponsibility
    review_on: date


class PlanAgreed(PublicEvent):
    """A support plan version was agreed at a meeting (プラン決定)."""

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
        ReferredToParticipation,
        SupportConcluded,
        ConnectedToSupport,
        ConcernRaised,
    )
}
