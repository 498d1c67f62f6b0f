"""A meeting of a multi-sector platform (多分野のプラットフォーム; seed 002).

Where people from welfare, schools, shops, farms, residents' associations and NPOs meet to
learn about the area and start things together. What sectors came and which themes were
worked on are published (codes); the decisions and minutes are free text and stay here.

Pure: no I/O, no clock, no random ids.
"""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from contracts.glossary import PlatformTheme, Sector
from libs.domain import Aggregate, DomainError, DomainEvent, InvalidCommand

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


MEETING = Aggregate[Meeting](
    stream_type=STREAM_TYPE, initial=Meeting, evolve=evolve, events=(PlatformMeetingRecorded,)
)


def record(meeting: Meeting, recorded: PlatformMeetingRecorded) -> list[DomainEvent]:
    """A platform is multi-sector by definition: at least two different sectors must have met."""
    if meeting.recorded is not None:
        raise DomainError("meeting_exists", "この会議はすでに記録されています。")
    if len(set(recorded.sectors)) < 2:
        raise InvalidCommand(
            "single_sector",
            "プラットフォーム会議には2つ以上の分野の参加が必要です（単一分野の会議は対象外です）。",
        )
    if not recorded.themes:
        raise InvalidCommand("no_theme", "協議のテーマを1つ以上選んでください。")
    return [
        recorded.model_copy(
            update={
                "sectors": sorted(set(recorded.sectors)),
                "organisations": sorted(set(recorded.organisations)),
                "themes": sorted(set(recorded.themes)),
            }
        )
    ]
