"""A case meeting as a record (会議録): who attended, which cases it discussed, what it decided
for each, and which local resources it found missing.

A meeting discusses several people, and the write path seals personal data under one person's
key per stream, so a meeting record holds codes only: organisations, case ids, decisions and
resource kinds. What was said about a person goes on that person's case (plan goals, return
note, evaluation). Missing resources are published (`MissingResourceNoted`) for community
building (地域づくり事業), which develops what the area lacks.

Pure: no I/O, no clock, no random ids: the meeting's id, its holder and which discussed cases
had the person's consent on the day arrive in the command (`RecordMeeting`).
"""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.glossary import AttendeeRole, LocalResourceKind, MeetingDecision, MeetingType
from libs.domain import Aggregate, Command, DomainError, DomainEvent, InvalidCommand, NotFound
from libs.fields import DistrictCode, Happened, OrganisationCode

STREAM_TYPE = "CoordinationMeeting"
CODE = r"^[a-z0-9][a-z0-9_.-]{1,63}$"


class Attendee(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    organisation: OrganisationCode
    role: AttendeeRole


class CaseDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    coordination_case_id: UUID
    decision: MeetingDecision


class MissingResource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    resource_kind: LocalResourceKind
    district: DistrictCode = Field(description="地区コード")


class MeetingHeld(DomainEvent):
    meeting_id: UUID
    holder_organisation: str
    meeting_type: MeetingType
    held_on: date
    attendees: list[Attendee]
    cases: list[UUID]
    decisions: list[CaseDecision]
    missing_resources: list[MissingResource]


@dataclass(frozen=True)
class Meeting:
    held: MeetingHeld | None = None

    @property
    def organisations(self) -> list[str]:
        return sorted({a.organisation for a in self.held.attendees}) if self.held else []


def evolve(meeting: Meeting, event: DomainEvent) -> Meeting:
    assert isinstance(event, MeetingHeld)
    return Meeting(event)


# --- commands ---------------------------------------------------------------------------


class HoldMeeting(Command):
    """A case meeting (重層的支援会議・支援会議) as a record: codes only, no free text."""

    meeting_type: MeetingType
    held_on: Happened
    attendees: list[Attendee] = Field(min_length=1, max_length=50)
    cases: list[UUID] = Field(default_factory=list, max_length=50, description="協議したケース")
    decisions: list[CaseDecision] = Field(default_factory=list, max_length=100)
    missing_resources: list[MissingResource] = Field(
        default_factory=list, max_length=50, description="不足している地域資源（地域づくり事業へ）"
    )


class RecordMeeting(Command):
    """A meeting with what the service supplies: its new id, the holder (the caller's organisation)
    and the discussed cases whose person's consent covers coordination on the day (read from
    coordination's consent notes: a 重層的支援会議 may discuss only those; a 支援会議 needs none)."""

    request: HoldMeeting
    meeting_id: UUID
    holder_organisation: str
    consented: frozenset[UUID]


# --- decisions --------------------------------------------------------------------------


def decide(command: Command, meeting: Meeting) -> list[DomainEvent]:
    """The events a command leads to on this meeting record, or a DomainError saying why not."""
    match command:
        case RecordMeeting():
            return _hold(meeting, command)
    raise TypeError(f"a meeting record cannot decide {type(command).__name__}")


# A meeting discusses several cases, so its stream has no one case key (`case_key_of`): it is no
# case's record, and no timeline of a case shows it.
MEETING = Aggregate[Meeting](
    stream_type=STREAM_TYPE, initial=Meeting, evolve=evolve, events=(MeetingHeld,), decide=decide
)


def _hold(meeting: Meeting, command: RecordMeeting) -> list[DomainEvent]:
    """Record a meeting once, if it makes sense as a record."""
    request = command.request
    held = MeetingHeld(
        meeting_id=command.meeting_id,
        holder_organisation=command.holder_organisation,
        meeting_type=request.meeting_type,
        held_on=request.held_on,
        attendees=request.attendees,
        cases=request.cases,
        decisions=request.decisions,
        missing_resources=request.missing_resources,
    )
    if meeting.held is not None:
        raise DomainError("meeting_exists", "この会議はすでに記録されています。")
    organisations = [a.organisation for a in held.attendees]
    if not organisations:
        raise InvalidCommand("meeting_without_members", "会議の出席機関を1つ以上記録してください。")
    if len(set(organisations)) != len(organisations):
        raise InvalidCommand("duplicate_attendee", "同じ機関が出席機関に重複しています。")
    if held.holder_organisation not in organisations:
        raise InvalidCommand("convener_absent", "主催する多機関協働事業の機関を出席機関に含めてください。")
    if len(set(held.cases)) != len(held.cases):
        raise InvalidCommand("duplicate_case", "同じケースが協議したケースに重複しています。")
    if not held.cases and not held.missing_resources:
        raise InvalidCommand(
            "meeting_without_agenda", "協議したケースか、不足している地域資源を1つ以上記録してください。"
        )
    if any(d.coordination_case_id not in held.cases for d in held.decisions):
        raise InvalidCommand(
            "decision_for_undiscussed_case", "決定事項は、この会議で協議したケースについてのみ記録できます。"
        )
    if held.meeting_type is MeetingType.SUPPORT_PLAN_MEETING and not set(held.cases) <= command.consented:
        raise DomainError(
            "consent_required",
            "本人の同意がないケースは重層的支援会議で扱えません。同意を得るか、支援会議（社会福祉法第106条の6）で検討してください。",
        )
    return [held]


def terms_for(meeting: Meeting, coordination_case_id: UUID) -> MeetingHeld:
    """The meeting a case decision refers to, checked to have discussed that case."""
    if meeting.held is None:
        raise NotFound("meeting_not_found", "会議の記録が見つかりません。")
    if coordination_case_id not in meeting.held.cases:
        raise DomainError("case_not_discussed", "このケースはこの会議で協議されていません。")
    return meeting.held
