"""A concern noticed at a place (気づき) and passed on to intake or outreach (つなぎ).

Seed 002: what a place notices and cannot handle goes to the specialists — intake for a
consultation, outreach for someone who will not come forward. The worker's description of the
person is free text about them: it is sealed under a subject_ref community draws for the person,
and only the coarse facts (issue tags, age band, district) cross to the other programs.

Pure: no I/O, no clock, no random ids.
"""

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Literal
from uuid import UUID

from contracts.glossary import AgeBand, IssueTag
from libs.domain import Aggregate, DomainError, DomainEvent, InvalidCommand, NotFound

STREAM_TYPE = "CommunityConcern"

RaisedTo = Literal["intake", "outreach"]


# --- private events -------------------------------------------------------------------


class ConcernNoted(DomainEvent):
    personal_fields = ("description",)

    concern_id: UUID
    case_key: UUID
    subject_ref: str
    place_id: UUID
    holder_organisation: str
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    noticed_on: date
    description: str | None  # None: erased


class ConcernRaised(DomainEvent):
    raised_to: RaisedTo
    raised_on: date


# --- state ----------------------------------------------------------------------------


class Status(StrEnum):
    NEW = "new"
    NOTED = "noted"
    RAISED = "raised"


@dataclass(frozen=True)
class Concern:
    status: Status = Status.NEW
    noted: ConcernNoted | None = None
    raised: ConcernRaised | None = None

    @property
    def holder(self) -> str | None:
        return self.noted.holder_organisation if self.noted else None


def evolve(concern: Concern, event: DomainEvent) -> Concern:
    match event:
        case ConcernNoted():
            return replace(concern, status=Status.NOTED, noted=event)
        case ConcernRaised():
            return replace(concern, status=Status.RAISED, raised=event)
    raise TypeError(f"unknown event {type(event).__name__}")


CONCERN = Aggregate[Concern](
    stream_type=STREAM_TYPE,
    initial=Concern,
    evolve=evolve,
    events=(ConcernNoted, ConcernRaised),
    subject_of=lambda concern: concern.noted.subject_ref if concern.noted else None,
)


# --- decisions --------------------------------------------------------------------------


def note(
    concern: Concern, noted: ConcernNoted, *, place_opened_on: date, place_closed_on: date | None
) -> list[DomainEvent]:
    """Record what was noticed at a place that was running on that day."""
    if concern.status is not Status.NEW:
        raise DomainError("concern_exists", "この気づきはすでに記録されています。")
    if not noted.issue_tags:
        raise InvalidCommand("no_issue_tag", "課題分類を1つ以上選んでください。")
    if noted.noticed_on < place_opened_on:
        raise DomainError("concern_before_opening", "気づいた日が居場所の開設日より前になっています。")
    if place_closed_on is not None and noted.noticed_on >= place_closed_on:
        raise DomainError("place_closed", "閉所後の日付では気づきを記録できません。")
    return [noted]


def raise_concern(concern: Concern, raised: ConcernRaised) -> list[DomainEvent]:
    """Pass the concern on, once: intake or outreach opens its own record under the case key."""
    if concern.noted is None:
        raise NotFound("concern_not_found", "気づきの記録が見つかりません。")
    if concern.raised is not None:
        raise DomainError(
            "concern_already_raised",
            "この気づきはすでにつないでいます。つなぎ先で対応状況を確認してください。",
        )
    if raised.raised_on < concern.noted.noticed_on:
        raise DomainError("raised_before_noticed", "つないだ日が気づいた日より前になっています。")
    return [raised]
