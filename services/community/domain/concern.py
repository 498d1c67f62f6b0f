"""A concern noticed at a place (気づき) and passed on to intake or outreach (つなぎ).

Seed 002: what a place notices and cannot handle goes to the specialists — intake for a
consultation, outreach for someone who will not come forward. The worker's description of the
person is free text about them: it is sealed under a subject_ref community draws for the person,
and only the coarse facts (issue tags, age band, district) cross to the other programs.

Pure: no I/O, no clock, no random ids: the concern's id, case key and pseudonym, and the facts
of the place it was noticed at, arrive in the command (`NoteAtPlace`) that wraps the worker's request.
"""

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.glossary import AgeBand, IssueTag
from libs.domain import (
    Aggregate,
    Command,
    DomainError,
    DomainEvent,
    InvalidCommand,
    NotFound,
    RegisterEntry,
)
from libs.fields import Happened
from libs.text import Note

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


# --- commands ---------------------------------------------------------------------------


class NoteConcern(Command):
    """Something noticed about a person at the place (気づき). The description is kept sealed here."""

    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    age_band: AgeBand = Field(description="おおよその年代")
    description: Note = Field(description="気づいた内容（この事業所内のみで、本人ごとの鍵で暗号化して保持）")
    noticed_on: Happened


class NoteAtPlace(Command):
    """A concern with what the service adds: new ids for the concern, its case and the person, and
    the place it was noticed at as read in the same transaction (holder, district, open period)."""

    request: NoteConcern
    concern_id: UUID
    case_key: UUID
    subject_ref: str
    place_id: UUID
    holder_organisation: str
    district: str
    place_opened_on: date
    place_closed_on: date | None


class RaiseConcern(Command):
    """Pass the concern on (つなぎ): to intake for a consultation, to outreach for someone who will not come."""

    raised_to: RaisedTo
    raised_on: Happened


def decide(command: Command, concern: Concern) -> list[DomainEvent]:
    """The events a command leads to on this concern, or a DomainError saying why not."""
    match command:
        case NoteAtPlace():
            return _note(concern, command)
        case RaiseConcern():
            return _raise(concern, command)
    raise TypeError(f"a concern cannot decide {type(command).__name__}")


def register_entry(concern: Concern) -> RegisterEntry | None:
    """The concern's line in community's register (`GET /cases`). No search terms: the state
    holds no name, kana, birth date or phone, only the sealed free-text description; and nothing
    falls due on a concern (passing it on is the worker's call), so no due date."""
    noted = concern.noted
    if noted is None:
        return None
    days = [noted.noticed_on, *([concern.raised.raised_on] if concern.raised else [])]
    return RegisterEntry(
        case_id=noted.concern_id,
        case_key=noted.case_key,
        organisation=noted.holder_organisation,
        status=concern.status.value,
        district=noted.district,
        issue_tags=tuple(sorted(tag.value for tag in noted.issue_tags)),
        opened_on=noted.noticed_on,
        last_activity_on=max(days),
        subject_ref=noted.subject_ref,
    )


CONCERN = Aggregate[Concern](
    stream_type=STREAM_TYPE,
    initial=Concern,
    evolve=evolve,
    events=(ConcernNoted, ConcernRaised),
    decide=decide,
    subject_of=lambda concern: concern.noted.subject_ref if concern.noted else None,
    # Stored with each event, so the concern of a case is found by index (timeline, erasure, /cases).
    case_key_of=lambda concern: concern.noted.case_key if concern.noted else None,
    register=register_entry,
)


# --- decisions --------------------------------------------------------------------------


def _note(concern: Concern, command: NoteAtPlace) -> list[DomainEvent]:
    """Record what was noticed at a place that was running on that day."""
    request = command.request
    if concern.status is not Status.NEW:
        raise DomainError("concern_exists", "この気づきはすでに記録されています。")
    if not request.issue_tags:
        raise InvalidCommand("no_issue_tag", "課題分類を1つ以上選んでください。")
    if request.noticed_on < command.place_opened_on:
        raise DomainError("concern_before_opening", "気づいた日が居場所の開設日より前になっています。")
    if command.place_closed_on is not None and request.noticed_on >= command.place_closed_on:
        raise DomainError("place_closed", "閉所後の日付では気づきを記録できません。")
    return [
        ConcernNoted(
            concern_id=command.concern_id,
            case_key=command.case_key,
            subject_ref=command.subject_ref,
            place_id=command.place_id,
            holder_organisation=command.holder_organisation,
            issue_tags=sorted(set(request.issue_tags)),
            age_band=request.age_band,
            district=command.district,
            noticed_on=request.noticed_on,
            description=request.description,
        )
    ]


def _raise(concern: Concern, command: RaiseConcern) -> list[DomainEvent]:
    """Pass the concern on, once: intake or outreach opens its own record under the case key."""
    if concern.noted is None:
        raise NotFound("concern_not_found", "気づきの記録が見つかりません。")
    if concern.raised is not None:
        raise DomainError(
            "concern_already_raised",
            "この気づきはすでにつないでいます。つなぎ先で対応状況を確認してください。",
        )
    if command.raised_on < concern.noted.noticed_on:
        raise DomainError("raised_before_noticed", "つないだ日が気づいた日より前になっています。")
    return [ConcernRaised(raised_to=command.raised_to, raised_on=command.raised_on)]
