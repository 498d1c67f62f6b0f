"""Local resources that case meetings found missing (不足する地域資源), kept for community building.

Coordination publishes each gap a meeting notes (kind and district only); community keeps them
so that the places and activities it develops answer what casework could not find.
"""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from contracts.glossary import LocalResourceKind
from libs.domain import Aggregate, Command, DomainEvent

STREAM_TYPE = "CommunityResourceGap"


class ResourceGapNoted(DomainEvent):
    meeting_id: UUID
    resource_kind: LocalResourceKind
    district: str
    noted_on: date


@dataclass(frozen=True)
class Gap:
    noted: ResourceGapNoted | None = None


def _evolve(_: Gap, event: DomainEvent) -> Gap:
    assert isinstance(event, ResourceGapNoted)
    return Gap(event)


class NoteGap(Command):
    """A case meeting found a resource missing (coordination's MissingResourceNoted)."""

    noted: ResourceGapNoted


def decide(command: Command, gap: Gap) -> list[DomainEvent]:
    match command:
        case NoteGap():
            return _note(gap, command.noted)
    raise TypeError(f"a resource gap cannot decide {type(command).__name__}")


GAP = Aggregate[Gap](
    stream_type=STREAM_TYPE, initial=Gap, evolve=_evolve, events=(ResourceGapNoted,), decide=decide
)


def _note(gap: Gap, noted: ResourceGapNoted) -> list[DomainEvent]:
    """One record per (meeting, kind, district): a re-delivery adds nothing."""
    return [] if gap.noted else [noted]
