"""Community's responses: places, concerns and meetings as a caller sees them, and what a write created.

Requests are the domain's commands themselves (services/community/domain/).
"""

import uuid
from dataclasses import asdict
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from contracts.glossary import (
    AgeBand,
    Generation,
    IntegratedScheme,
    IssueTag,
    LegalBasis,
    PlaceKind,
    PlatformTheme,
    Sector,
    TargetGroup,
    label_ja,
)
from libs.http import Caller
from services.community.domain import concern, model, platform
from services.community.service_layer.handlers import Summary
from services.community.service_layer.hsds import slot_text


class SlotView(model.Slot):
    text_ja: str


class ActivityView(BaseModel):
    activity_id: uuid.UUID
    held_on: date
    attendance: model.AttendanceCounts
    attendance_total: int
    volunteer_count: int
    new_resident_led: bool
    integrated_scheme: IntegratedScheme | None = Field(
        description="null: いずれでもない、または記録されていない"
    )
    integrated_scheme_label: str | None


class VolunteerView(BaseModel):
    volunteer_ref: str
    generation: Generation
    registered_on: date
    left_on: date | None


class PlaceView(BaseModel):
    place_id: uuid.UUID
    version: int
    status: Literal["open", "closed"]
    holder_organisation: str
    kind: PlaceKind
    kind_label: str
    name: str
    description: str | None
    address: model.PlaceAddress | None
    district: str
    school_district: str
    target_groups: list[TargetGroup]
    target_group_labels: list[str]
    multi_generational: bool
    integrated_schemes: list[IntegratedScheme] | None = Field(
        description="包括化対象事業。[]: いずれでもない、null: 記録されていない（登録が古い）"
    )
    integrated_scheme_labels: list[str]
    schedule: list[SlotView]
    opened_on: date
    closed_on: date | None
    activities: list[ActivityView]
    active_volunteers: int
    volunteers: list[VolunteerView] | None = Field(
        description="登録した事業所の地域づくりコーディネーターにのみ表示（仮名の識別子と世代のみ）"
    )


class PlaceCreated(BaseModel):
    place_id: uuid.UUID
    version: int


class ActivityCreated(BaseModel):
    place_id: uuid.UUID
    activity_id: uuid.UUID
    version: int


class VolunteerCreated(BaseModel):
    place_id: uuid.UUID
    volunteer_ref: str
    version: int


class ConcernCreated(BaseModel):
    concern_id: uuid.UUID
    case_key: uuid.UUID
    version: int


class ConcernView(BaseModel):
    concern_id: uuid.UUID
    version: int
    status: concern.Status
    case_key: uuid.UUID
    subject_ref: str
    place_id: uuid.UUID
    holder_organisation: str
    access_basis: LegalBasis
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    noticed_on: date
    description: str | None = Field(description="消去済みの場合は null")
    raised_to: Literal["intake", "outreach"] | None
    raised_on: date | None


class MeetingCreated(BaseModel):
    meeting_id: uuid.UUID
    version: int


class MeetingView(BaseModel):
    meeting_id: uuid.UUID
    holder_organisation: str
    held_on: date
    district: str | None
    sectors: list[Sector]
    sector_labels: list[str]
    organisations: list[str]
    themes: list[PlatformTheme]
    theme_labels: list[str]
    decisions: list[str]
    minutes: str | None


class SummaryView(BaseModel):
    places_open: int
    places_multi_generational: int
    places_by_school_district: dict[str, int]
    places_by_district: dict[str, int]
    activities: int
    new_resident_led_activities: int
    attendance_by_generation: dict[str, int]
    active_volunteers: int
    resource_gaps: dict[str, dict[str, int]] = Field(
        description="多機関協働の会議で不足とされた地域資源（種類→地区→件数）：地域づくりの手がかり"
    )


def slot_view(slot: model.Slot) -> SlotView:
    return SlotView.model_validate(slot.model_dump() | {"text_ja": slot_text(slot)})


def place_view(place: model.Place, version: int, caller: Caller) -> PlaceView:
    """A place as `caller` sees it: volunteers (pseudonyms) only for the holding organisation."""
    registered = place.registered
    assert registered is not None
    holder = caller.principal.organisation == registered.holder_organisation
    return PlaceView(
        place_id=registered.place_id,
        version=version,
        status="closed" if place.closed_on else "open",
        holder_organisation=registered.holder_organisation,
        kind=registered.kind,
        kind_label=label_ja(registered.kind),
        name=registered.name,
        description=registered.description,
        address=registered.address,
        district=registered.district,
        school_district=registered.school_district,
        target_groups=registered.target_groups,
        target_group_labels=[label_ja(t) for t in registered.target_groups],
        multi_generational=registered.multi_generational,
        integrated_schemes=registered.integrated_schemes,
        integrated_scheme_labels=[label_ja(s) for s in registered.integrated_schemes or ()],
        schedule=[slot_view(s) for s in registered.schedule],
        opened_on=registered.opened_on,
        closed_on=place.closed_on,
        activities=[
            ActivityView(
                activity_id=a.activity_id,
                held_on=a.held_on,
                attendance=model.AttendanceCounts.model_validate(a.attendance.model_dump()),
                attendance_total=a.attendance.total,
                volunteer_count=a.volunteer_count,
                new_resident_led=a.new_resident_led,
                integrated_scheme=a.integrated_scheme,
                integrated_scheme_label=label_ja(a.integrated_scheme) if a.integrated_scheme else None,
            )
            for a in place.activities
        ],
        active_volunteers=len(place.active_volunteers),
        volunteers=[
            VolunteerView(
                volunteer_ref=v.volunteer_ref,
                generation=v.generation,
                registered_on=v.registered_on,
                left_on=v.left_on,
            )
            for v in place.volunteers.values()
        ]
        if holder
        else None,
    )


def concern_view(state: concern.Concern, version: int) -> ConcernView:
    noted = state.noted
    assert noted is not None
    return ConcernView(
        concern_id=noted.concern_id,
        version=version,
        status=state.status,
        case_key=noted.case_key,
        subject_ref=noted.subject_ref,
        place_id=noted.place_id,
        holder_organisation=noted.holder_organisation,
        access_basis=LegalBasis.HOLDER,
        issue_tags=noted.issue_tags,
        age_band=noted.age_band,
        district=noted.district,
        noticed_on=noted.noticed_on,
        description=noted.description,
        raised_to=state.raised.raised_to if state.raised else None,
        raised_on=state.raised.raised_on if state.raised else None,
    )


def meeting_view(meeting: platform.Meeting) -> MeetingView:
    recorded = meeting.recorded
    assert recorded is not None
    return MeetingView.model_validate(
        recorded.model_dump()
        | {
            "sector_labels": [label_ja(s) for s in recorded.sectors],
            "theme_labels": [label_ja(t) for t in recorded.themes],
        }
    )


def summary_view(summary: Summary) -> SummaryView:
    return SummaryView.model_validate(asdict(summary))
