"""Outreach's responses: a case as a worker sees it, and what a write created or changed.

Requests are the domain's commands themselves (services/outreach/domain/model.py).
"""

import uuid
from datetime import date

from pydantic import BaseModel, Field

from contracts.glossary import (
    AgeBand,
    ConnectionTarget,
    ContactMethod,
    ContactOutcome,
    IdentifiedBy,
    IssueTag,
    Milestone,
    OutreachConclusionReason,
    Urgency,
    label_ja,
)
from libs import handover
from services.outreach.domain import model


class AttemptView(BaseModel):
    attempt_number: int
    method: ContactMethod
    method_label: str
    outcome: ContactOutcome
    outcome_label: str
    note: str | None = Field(description="消去済みの場合は null")
    attempted_on: date


class MilestoneView(BaseModel):
    milestone: Milestone
    milestone_label: str
    note: str | None
    reached_on: date


class CaseView(BaseModel):
    outreach_case_id: uuid.UUID
    version: int
    status: model.Status
    holder_organisation: str
    handovers: list[handover.HandoverView]
    case_key: uuid.UUID
    subject_ref: str
    identified_by: IdentifiedBy
    identified_by_label: str
    referral_id: uuid.UUID | None
    coordination_case_id: uuid.UUID | None
    concern_id: uuid.UUID | None
    referring_organisation: str | None
    urgency: Urgency
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    description: str | None = Field(description="本人についての記述（未記入・消去済みの場合は null）")
    note: str | None
    identified_on: date
    attempts: list[AttemptView]
    milestones: list[MilestoneView]
    connected_to: ConnectionTarget | None
    connected_organisation: str | None
    connected_on: date | None
    conclusion_reason: OutreachConclusionReason | None
    conclusion_reason_label: str | None
    concluded_on: date | None


class Created(BaseModel):
    outreach_case_id: uuid.UUID
    case_key: uuid.UUID
    version: int


class Changed(BaseModel):
    outreach_case_id: uuid.UUID
    version: int


def case_view(case: model.Case, version: int) -> CaseView:
    found = case.identified
    assert found is not None
    connection, conclusion = case.connection, case.conclusion
    return CaseView(
        **found.model_dump(exclude={"outreach_case_id", "holder_organisation"}),
        outreach_case_id=found.outreach_case_id,
        holder_organisation=case.holder,
        handovers=handover.views(case.handovers),
        version=version,
        status=case.status,
        identified_by_label=label_ja(found.identified_by),
        attempts=[
            AttemptView(**a.model_dump(), method_label=label_ja(a.method), outcome_label=label_ja(a.outcome))
            for a in case.attempts
        ],
        milestones=[
            MilestoneView(**m.model_dump(), milestone_label=label_ja(m.milestone)) for m in case.milestones
        ],
        connected_to=connection.connected_to if connection else None,
        connected_organisation=connection.organisation if connection else None,
        connected_on=connection.connected_on if connection else None,
        conclusion_reason=conclusion.reason if conclusion else None,
        conclusion_reason_label=label_ja(conclusion.reason) if conclusion else None,
        concluded_on=conclusion.concluded_on if conclusion else None,
    )
