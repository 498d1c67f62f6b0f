"""Local resources that case meetings found missing (不足する地域資源), kept for community building.

Coordination publishes each gap a meeting notes (kind and district only); community keeps them
so that the places and activities it develops answer what casework could not find.
"""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from contracts.glossary import LocalResourceKind
from libs.domain import Aggregate, DomainEvent

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


GAP = Aggregate[Gap](stream_type=STREAM_TYPE, initial=Gap, evolve=_evolve, events=(ResourceGapNoted,))


def note(gap: Gap, noted: ResourceGapNoted) -> list[DomainEvent]:
    """One record per (meeting, kind, district): a re-delivery adds nothing."""
    return [] if gap.noted else [noted]
