"""A meeting of a multi-sector platform (多分野のプラットフォーム; seed 002).

Where people from welfare, schools, shops, farms, residents' associations and NPOs meet to
learn about the area and start things together. What sectors came and which themes were
worked on are published (codes); the decisions and minutes are free text and stay here.

Pure: no I/O, no clock, no random ids: the meeting's id and holder arrive in the command.
"""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from pydantic import Field

from contracts.glossary import PlatformTheme, Sector
from libs.domain import Aggregate, Command, DomainError, DomainEvent, InvalidCommand
from libs.fields import DistrictCode, Happened, OrganisationCode
from libs.text import Note

STREAM_TYPE = "CommunityPlatformMeeting"


class PlatformMeetingRecorded(DomainEvent):
    """Minutes and decisions are about the area's work; people discussed by name belong in a
    concern (sealed), not here — the API says so to the worker."""

    meeting_id: UUID
    holder_organisation: str
    held_on: date
    district: str | None
    sectors: list[Sector]
    organisations: list[str]
    themes: list[PlatformTheme]
    decisions: list[str]
    minutes: str | None


@dataclass(frozen=True)
class Meeting:
    recorded: PlatformMeetingRecorded | None = None

    @property
    def holder(self) -> str | None:
        return self.recorded.holder_organisation if self.recorded else None


def evolve(meeting: Meeting, event: DomainEvent) -> Meeting:
    if isinstance(event, PlatformMeetingRecorded):
        return Meeting(event)
    raise TypeError(f"unknown event {type(event).__name__}")


class RecordMeeting(Command):
    """A multi-sector platform meeting (プラットフォーム会議)."""

    held_on: Happened
    district: DistrictCode | None = Field(default=None, description="地区コード（市全域なら省略）")
    sectors: list[Sector] = Field(min_length=1, max_length=14, description="参加した分野（2分野以上）")
    organisations: list[OrganisationCode] = Field(
        default_factory=list, max_length=200, description="参加した団体・機関のコード"
    )
    themes: list[PlatformTheme] = Field(min_length=1, max_length=8)
    decisions: list[Note] = Field(
        default_factory=list,
        max_length=50,
        description="決まったこと（個人が特定される内容は書かないでください）",
    )
    minutes: Note | None = Field(default=None, description="記録（個人が特定される内容は書かないでください）")


class Record(Command):
    """A meeting to record with what the service gives it: a new id and the holding organisation."""

    request: RecordMeeting
    meeting_id: UUID
    holder_organisation: str


def decide(command: Command, meeting: Meeting) -> list[DomainEvent]:
    """The events a command leads to on this meeting, or a DomainError saying why not."""
    match command:
        case Record():
            return _record(meeting, command)
    raise TypeError(f"a platform meeting cannot decide {type(command).__name__}")


MEETING = Aggregate[Meeting](
    stream_type=STREAM_TYPE, initial=Meeting, evolve=evolve, events=(PlatformMeetingRecorded,), decide=decide
)


def _record(meeting: Meeting, command: Record) -> list[DomainEvent]:
    """A platform is multi-sector by definition: at least two different sectors must have met."""
    request = command.request
    if meeting.recorded is not None:
        raise DomainError("meeting_exists", "この会議はすでに記録されています。")
    if len(set(request.sectors)) < 2:
        raise InvalidCommand(
            "single_sector",
            "プラットフォーム会議には2つ以上の分野の参加が必要です（単一分野の会議は対象外です）。",
        )
    if not request.themes:
        raise InvalidCommand("no_theme", "協議のテーマを1つ以上選んでください。")
    return [
        PlatformMeetingRecorded(
            meeting_id=command.meeting_id,
            holder_organisation=command.holder_organisation,
            held_on=request.held_on,
            district=request.district,
            sectors=sorted(set(request.sectors)),
            organisations=sorted(set(request.organisations)),
            themes=sorted(set(request.themes)),
            decisions=request.decisions,
            minutes=request.minutes,
        )
    ]
