"""Participation's responses: menus as the catalogue shows them, a case as its holder sees it, and
what a write created or changed.

Requests are the domain's commands themselves (services/participation/domain/model.py and menu.py).
"""

import uuid
from datetime import date

from pydantic import BaseModel, Field

from contracts.glossary import (
    AgeBand,
    FollowUpStatus,
    HostConcern,
    IssueTag,
    MenuKind,
    MenuStatus,
    ParticipationClosureReason,
    ParticipationNeed,
    PlacementOutcome,
    label_ja,
)
from libs import handover
from services.participation.domain import menu, model


class MenuView(BaseModel):
    menu_id: uuid.UUID
    version: int
    title: str
    description: str
    kind: MenuKind
    kind_label: str
    host_organisation: str
    host_name: str
    district: str
    capacity: int
    placed: int = Field(description="現在の参加者数")
    free_seats: int
    schedule: str
    target_groups: list[IssueTag]
    status: MenuStatus
    status_label: str
    managed_by: str
    published_on: date
    revised_on: date | None


class AssessmentView(BaseModel):
    assessment_version: int
    needs: list[ParticipationNeed]
    need_labels: list[str]
    wishes: str | None = Field(description="消去済みの場合は null")
    findings: str | None
    assessed_on: date


class FollowUpView(BaseModel):
    status: FollowUpStatus
    status_label: str
    note: str | None
    followed_up_on: date


class HostSupportView(BaseModel):
    concern: HostConcern
    concern_label: str
    worry: str | None
    response: str | None
    supported_on: date


class PlacementView(BaseModel):
    placement_id: uuid.UUID
    menu_id: uuid.UUID
    menu_kind: MenuKind
    host_organisation: str
    district: str
    arrangements: str | None
    started_on: date
    active: bool
    follow_ups: list[FollowUpView]
    host_support: list[HostSupportView]
    ended_on: date | None
    outcome: PlacementOutcome | None
    outcome_label: str | None
    end_note: str | None


class ClosureView(BaseModel):
    reason: ParticipationClosureReason
    reason_label: str
    note: str | None = Field(description="消去済みの場合は null")
    closed_on: date


class CaseView(BaseModel):
    participation_case_id: uuid.UUID
    version: int
    status: model.Status
    holder_organisation: str
    handovers: list[handover.HandoverView]
    case_key: uuid.UUID
    referral_id: uuid.UUID
    coordination_case_id: uuid.UUID
    referring_organisation: str
    subject_ref: str
    referred_needs: list[ParticipationNeed]
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    opened_on: date
    assessments: list[AssessmentView]
    placements: list[PlacementView]
    closure: ClosureView | None = Field(description="終結（未終結の場合は null）")


class Changed(BaseModel):
    participation_case_id: uuid.UUID
    version: int


class Placed(Changed):
    placement_id: uuid.UUID


class MenuChanged(BaseModel):
    menu_id: uuid.UUID
    version: int


def menu_view(menu_id: uuid.UUID, state: menu.Menu, version: int) -> MenuView:
    current = state.current
    assert current is not None
    return MenuView(
        **current.model_dump(exclude={"menu_id"}),
        menu_id=menu_id,
        version=version,
        kind_label=label_ja(current.kind),
        placed=len(state.seats),
        free_seats=state.free_seats,
        status=state.status,
        status_label=label_ja(state.status),
        revised_on=state.revised_on,
    )


def _placement_view(p: model.Placement) -> PlacementView:
    s = p.started
    return PlacementView(
        placement_id=s.placement_id,
        menu_id=s.menu_id,
        menu_kind=s.menu_kind,
        host_organisation=s.host_organisation,
        district=s.menu_district,
        arrangements=s.arrangements,
        started_on=s.started_on,
        active=p.active,
        follow_ups=[
            FollowUpView(
                status=f.status, status_label=label_ja(f.status), note=f.note, followed_up_on=f.followed_up_on
            )
            for f in p.follow_ups
        ],
        host_support=[
            HostSupportView(
                concern=h.concern,
                concern_label=label_ja(h.concern),
                worry=h.worry,
                response=h.response,
                supported_on=h.supported_on,
            )
            for h in p.host_support
        ],
        ended_on=p.ended.ended_on if p.ended else None,
        outcome=p.ended.outcome if p.ended else None,
        outcome_label=label_ja(p.ended.outcome) if p.ended else None,
        end_note=p.ended.note if p.ended else None,
    )


def case_view(case: model.Case, version: int) -> CaseView:
    opened = case.opened
    assert opened is not None
    return CaseView(
        **opened.model_dump(exclude={"needs", "holder_organisation"}),
        holder_organisation=case.holder,
        handovers=handover.views(case.handovers),
        version=version,
        status=case.status,
        referred_needs=opened.needs,
        assessments=[
            AssessmentView(**a.model_dump(), need_labels=[label_ja(n) for n in a.needs])
            for a in case.assessments
        ],
        placements=[_placement_view(p) for p in case.placements],
        closure=ClosureView(
            reason=case.closed.reason,
            reason_label=label_ja(case.closed.reason),
            note=case.closed.note,
            closed_on=case.closed.closed_on,
        )
        if case.closed
        else None,
    )
