"""Intake's break-glass API: ask for emergency access to a case, the review queue, the review.

Codes travel with their Japanese labels (`*_label`) so a screen never shows a code.
"""

import uuid
from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from contracts.glossary import EmergencyReason, ReviewFinding, label_ja
from libs import breakglass
from libs.http import CallerDep, etag
from libs.runtime import RuntimeDep
from services.intake.service_layer import emergencies

router = APIRouter(tags=["emergency-access"])


class Granted(BaseModel):
    grant_id: uuid.UUID
    granted_at: datetime
    expires_at: datetime
    hours: int
    version: int


class ReviewView(BaseModel):
    finding: ReviewFinding
    finding_label: str
    by_user: str
    by_organisation: str
    reviewed_at: datetime
    note: str | None = None


class QueueEntry(BaseModel):
    """A grant to review, or an attempt that was refused (`kind`)."""

    kind: str
    case_id: uuid.UUID
    grant_id: uuid.UUID | None
    user: str
    organisation: str
    reason_code: EmergencyReason
    reason_code_label: str
    at: datetime
    expires_at: datetime | None
    reviewed: bool
    reviews: list[ReviewView]


class GrantView(QueueEntry):
    """With the reason and the reviewers' notes: about the person, so read as a recorded access."""

    reason: str | None


class Reviewed(BaseModel):
    version: int


def _review(review: breakglass.EmergencyAccessReviewed, with_note: bool) -> ReviewView:
    return ReviewView(
        finding=review.finding,
        finding_label=label_ja(review.finding),
        by_user=review.by_user,
        by_organisation=review.by_organisation,
        reviewed_at=review.reviewed_at,
        note=review.note if with_note else None,
    )


def _entry(entry: emergencies.Entry, *, with_text: bool = False) -> QueueEntry:
    if entry.granted is not None:
        g = entry.granted.granted
        fields = {
            "kind": "granted",
            "case_id": entry.case_id,
            "grant_id": g.grant_id,
            "user": g.user,
            "organisation": g.organisation,
            "reason_code": g.reason_code,
            "reason_code_label": label_ja(g.reason_code),
            "at": g.granted_at,
            "expires_at": g.expires_at,
            "reviewed": bool(entry.granted.reviews),
            "reviews": [_review(r, with_text) for r in entry.granted.reviews],
        }
        return GrantView(**fields, reason=g.reason) if with_text else QueueEntry(**fields)
    r = entry.refused
    assert r is not None
    fields = {
        "kind": "refused",
        "case_id": entry.case_id,
        "grant_id": None,
        "user": r.user,
        "organisation": r.organisation,
        "reason_code": r.reason_code,
        "reason_code_label": label_ja(r.reason_code),
        "at": r.attempted_at,
        "expires_at": None,
        "reviewed": False,
        "reviews": [],
    }
    return GrantView(**fields, reason=None) if with_text else QueueEntry(**fields)


@router.post(
    "/cases/{case_id}/emergency-access",
    status_code=201,
    response_model=Granted,
    summary="緊急時の閲覧を求める（このケースのみ・期限つき・記録され確認される）",
    responses={
        403: {"description": "緊急時の閲覧を求められない機関・役割です（試みは記録されます）"},
        409: {"description": "保有機関の職員です、またはすでに期限内の許可があります"},
    },
)
async def request_access(
    case_id: uuid.UUID,
    body: breakglass.RequestEmergencyAccess,
    caller: CallerDep,
    runtime: RuntimeDep,
    response: Response,
) -> Granted:
    outcome = await emergencies.request_access(runtime.store, caller, runtime.directory, case_id, body)
    g = outcome.state.grants[-1].granted
    response.headers["ETag"] = etag(outcome.version)
    hours = round((g.expires_at - g.granted_at).total_seconds() / 3600)
    return Granted(
        grant_id=g.grant_id,
        granted_at=g.granted_at,
        expires_at=g.expires_at,
        hours=hours,
        version=outcome.version,
    )


@router.get(
    "/emergency-access",
    response_model=list[QueueEntry],
    summary="緊急時の閲覧の確認待ち一覧（保有機関の相談支援員・監査担当）",
)
async def review_queue(caller: CallerDep, runtime: RuntimeDep) -> list[QueueEntry]:
    return [_entry(e) for e in await emergencies.queue(runtime.store, caller)]


@router.get(
    "/cases/{case_id}/emergency-access",
    response_model=list[GrantView],
    summary="このケースの緊急時の閲覧の記録（理由つき。閲覧は記録されます）",
)
async def case_record(case_id: uuid.UUID, caller: CallerDep, runtime: RuntimeDep) -> list[QueueEntry]:
    state = await emergencies.read(runtime.store, caller, case_id)
    entries = [emergencies.Entry(case_id, g, None) for g in state.grants]
    entries += [emergencies.Entry(case_id, None, r) for r in state.refused]
    return [_entry(e, with_text=True) for e in entries]


@router.post(
    "/cases/{case_id}/emergency-access/{grant_id}/review",
    status_code=201,
    response_model=Reviewed,
    summary="緊急時の閲覧を確認する（保有機関の相談支援員・監査担当）",
)
async def review(
    case_id: uuid.UUID,
    grant_id: uuid.UUID,
    body: breakglass.ReviewEmergencyAccess,
    caller: CallerDep,
    runtime: RuntimeDep,
    response: Response,
) -> Reviewed:
    outcome = await emergencies.review(runtime.store, caller, case_id, grant_id, body)
    response.headers["ETag"] = etag(outcome.version)
    return Reviewed(version=outcome.version)
