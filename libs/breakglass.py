"""Break-glass (緊急時の閲覧): seeing a person's record without consent or a 支援会議, when a life,
a body or a statutory duty cannot wait.

It is narrow by construction. Only a worker of an organisation of the directory that runs a
program of the business or holds a statutory duty the directory records (a 虐待対応 duty, say)
may ask; the request names a reason from a fixed list and says why in at least 20 characters;
what it opens is that one case, to that one user, for 24 hours (`KASANE_EMERGENCY_ACCESS_HOURS`).
Every request is an event on the case's emergency stream: a refused one too (the attempt is
recorded), and the holding organisation and the auditor review each grant in a queue the same
day. The reason is about the person, so it is sealed under the person's key like their record.

Pure: the clock, the ids and the directory's answer arrive in the command.
"""

import os
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pydantic import Field

from contracts.glossary import EmergencyReason, ReviewFinding
from libs.domain import Aggregate, Command, DomainError, DomainEvent, InvalidCommand, NotFound
from libs.text import Note

STREAM_TYPE = "EmergencyAccess"
DEFAULT_HOURS = 24
MIN_REASON = 20


def hours() -> int:
    """How long a grant lasts, from `KASANE_EMERGENCY_ACCESS_HOURS` (default 24, at most 72)."""
    return max(1, min(int(os.environ.get("KASANE_EMERGENCY_ACCESS_HOURS", DEFAULT_HOURS)), 72))


def stream_id(case_key: uuid.UUID) -> str:
    return f"emergency-{case_key}"


def case_key_of(stream: str) -> uuid.UUID:
    """The case an emergency stream (`stream_id`) belongs to."""
    return uuid.UUID(stream.removeprefix("emergency-"))


class RequestEmergencyAccess(Command):
    """What a worker gives to open a case they have no other basis for."""

    reason_code: EmergencyReason = Field(description="理由の区分")
    reason: Note = Field(description=f"具体的な理由（{MIN_REASON}文字以上）")


class Grant(Command):
    request: RequestEmergencyAccess
    grant_id: uuid.UUID
    case_key: uuid.UUID
    subject_ref: str | None
    user: str
    organisation: str
    eligible: bool
    """Whether the directory lets the user's organisation break the glass at all."""
    why_not: str | None = None
    now: datetime
    hours: int = DEFAULT_HOURS


class ReviewEmergencyAccess(Command):
    """What the holding organisation or the auditor found, looking at one grant."""

    finding: ReviewFinding = Field(description="確認の結果")
    note: Note | None = Field(default=None, description="確認の記録")


class Review(Command):
    grant_id: uuid.UUID
    finding: ReviewFinding
    note: Note | None = None
    by_user: str
    by_organisation: str
    now: datetime


class EmergencyAccessGranted(DomainEvent):
    personal_fields = ("reason",)

    grant_id: uuid.UUID
    case_key: uuid.UUID
    subject_ref: str | None
    user: str
    organisation: str
    reason_code: EmergencyReason
    reason: str | None
    granted_at: datetime
    expires_at: datetime


class EmergencyAccessRefused(DomainEvent):
    """An attempt by someone the directory does not let break the glass: recorded, not granted."""

    case_key: uuid.UUID
    user: str
    organisation: str
    reason_code: EmergencyReason
    why: str
    attempted_at: datetime


class EmergencyAccessReviewed(DomainEvent):
    personal_fields = ("note",)

    grant_id: uuid.UUID
    finding: ReviewFinding
    note: str | None
    by_user: str
    by_organisation: str
    reviewed_at: datetime


@dataclass(frozen=True)
class GrantState:
    granted: EmergencyAccessGranted
    reviews: tuple[EmergencyAccessReviewed, ...] = ()

    def live_at(self, when: datetime) -> bool:
        return self.granted.granted_at <= when < self.granted.expires_at


@dataclass(frozen=True)
class Emergencies:
    """The break-glass record of one case: its grants (with their reviews) and refused attempts."""

    subject_ref: str | None = None
    grants: tuple[GrantState, ...] = ()
    refused: tuple[EmergencyAccessRefused, ...] = ()

    def live_grant(self, user: str, organisation: str, when: datetime) -> EmergencyAccessGranted | None:
        for grant in self.grants:
            g = grant.granted
            if g.user == user and g.organisation == organisation and grant.live_at(when):
                return g
        return None


def evolve(state: Emergencies, event: DomainEvent) -> Emergencies:
    match event:
        case EmergencyAccessGranted():
            return replace(
                state,
                subject_ref=state.subject_ref or event.subject_ref,
                grants=(*state.grants, GrantState(event)),
            )
        case EmergencyAccessRefused():
            return replace(state, refused=(*state.refused, event))
        case EmergencyAccessReviewed():
            grants = tuple(
                replace(g, reviews=(*g.reviews, event)) if g.granted.grant_id == event.grant_id else g
                for g in state.grants
            )
            return replace(state, grants=grants)
    raise TypeError(f"unknown event {type(event).__name__}")


def decide(command: Command, state: Emergencies) -> list[DomainEvent]:
    match command:
        case Grant():
            request = command.request
            if not command.eligible:
                return [
                    EmergencyAccessRefused(
                        case_key=command.case_key,
                        user=command.user,
                        organisation=command.organisation,
                        reason_code=request.reason_code,
                        why=command.why_not or "not eligible",
                        attempted_at=command.now,
                    )
                ]
            if len(request.reason.strip()) < MIN_REASON:
                raise InvalidCommand(
                    "reason_too_short",
                    f"reason には緊急に閲覧する具体的な理由を{MIN_REASON}文字以上で書いてください。",
                )
            if state.live_grant(command.user, command.organisation, command.now) is not None:
                raise DomainError(
                    "already_granted", "このケースの緊急時の閲覧はすでに許可されています（期限内）。"
                )
            return [
                EmergencyAccessGranted(
                    grant_id=command.grant_id,
                    case_key=command.case_key,
                    subject_ref=command.subject_ref,
                    user=command.user,
                    organisation=command.organisation,
                    reason_code=request.reason_code,
                    reason=request.reason,
                    granted_at=command.now,
                    expires_at=command.now + timedelta(hours=command.hours),
                )
            ]
        case Review():
            if not any(g.granted.grant_id == command.grant_id for g in state.grants):
                raise NotFound("unknown_grant", "この緊急時の閲覧の記録はありません。")
            return [
                EmergencyAccessReviewed(
                    grant_id=command.grant_id,
                    finding=command.finding,
                    note=command.note,
                    by_user=command.by_user,
                    by_organisation=command.by_organisation,
                    reviewed_at=command.now,
                )
            ]
    raise TypeError(f"break-glass cannot decide {type(command).__name__}")


EMERGENCIES = Aggregate[Emergencies](
    stream_type=STREAM_TYPE,
    initial=Emergencies,
    evolve=evolve,
    events=(EmergencyAccessGranted, EmergencyAccessRefused, EmergencyAccessReviewed),
    decide=decide,
    subject_of=lambda state: state.subject_ref,
)
