"""Superseded versions of public events, frozen as they were published.

Kafka keeps every event forever and projections rebuild from offset 0, so a version that is no
longer produced is still read. Its model stays here unchanged: it validates an old payload
before `contracts/upcasting.py` lifts it to the current version, and its JSON Schema stays
committed next to the current one (`contracts/schemas/<Event>.v<N>.json`). Never edit a model
here; add a new version to `events.py` instead (docs/adr/0006).
"""

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field

from contracts.envelope import CODE_PATTERN, ContractModel, PublicEvent
from contracts.glossary import (
    AgeBand,
    ContactMethod,
    ContactOutcome,
    IssueTag,
    PlaceKind,
    TargetGroup,
    Urgency,
)
from contracts.topics import COMMUNITY_EVENTS, INTAKE_EVENTS, OUTREACH_EVENTS


class ContactAttemptedV1(PublicEvent):
    """One attempt to reach the person (訪問・手紙・電話・家族を通じて) and what came of it."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="ContactAttempted")

    event_type: ClassVar[str] = "ContactAttempted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = OUTREACH_EVENTS

    outreach_case_id: UUID
    attempt_number: int = Field(ge=1)
    method: ContactMethod
    outcome: ContactOutcome
    attempted_on: date


class ReferredToCoordinationV1(PublicEvent):
    """Intake asked multi-agency coordination to take a complex case (支援依頼)."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="ReferredToCoordination")

    event_type: ClassVar[str] = "ReferredToCoordination"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = INTAKE_EVENTS

    referral_id: UUID
    subject_ref: str = Field(pattern=r"^subj_[0-9a-f]{32}$")
    referring_organisation: str = Field(pattern=CODE_PATTERN)
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    age_band: AgeBand
    district: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    urgency: Urgency
    referred_on: date


class PlaceRegisteredV1(PublicEvent):
    """Community registered a place (居場所: 子ども食堂、サロン、コミュニティカフェ、共生型拠点).

    Places are not cases: `case_key` is the place id, so one place's events stay in order. The
    place's name, address and schedule are a public directory entry served by community's API
    (`/directory/hsds`), not carried here, because contracts allow no free text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", title="PlaceRegistered")

    event_type: ClassVar[str] = "PlaceRegistered"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = COMMUNITY_EVENTS

    place_id: UUID
    kind: PlaceKind
    district: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    school_district: str = Field(pattern=r"^[a-z0-9-]{1,32}$", description="小学校区コード")
    target_groups: list[TargetGroup] = Field(min_length=1, max_length=8)
    multi_generational: bool
    opened_on: date


class Attendance(ContractModel):
    """Who came to a community activity, by generation: counts only, never who."""

    children: int = Field(ge=0, le=10000, description="0-17歳")
    youth: int = Field(ge=0, le=10000, description="18-39歳")
    working_age: int = Field(ge=0, le=10000, description="40-64歳")
    older: int = Field(ge=0, le=10000, description="65歳以上")


class ActivityHeldV1(PublicEvent):
    """An activity took place at a place, with attendance by generation. `case_key` is the place id.

    `new_resident_led`: a new activity started and run by residents (住民主体の新たな活動), the
    KPI counted per 100,000 people.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", title="ActivityHeld")

    event_type: ClassVar[str] = "ActivityHeld"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = COMMUNITY_EVENTS

    place_id: UUID
    activity_id: UUID
    kind: PlaceKind
    district: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    school_district: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    held_on: date
    attendance: Attendance
    volunteer_count: int = Field(ge=0, le=10000)
    new_resident_led: bool


SUPERSEDED: dict[tuple[str, int], type[PublicEvent]] = {
    (cls.event_type, cls.schema_version): cls
    for cls in (ContactAttemptedV1, ReferredToCoordinationV1, PlaceRegisteredV1, ActivityHeldV1)
}
"""(event type, version) → the model of that version, for every version older than the current one."""
