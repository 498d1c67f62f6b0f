"""Superseded versions of public events, frozen as they were published.

Kafka keeps every event forever and projections rebuild from offset 0, so a version that is no
longer produced is still read. Its model stays here unchanged: it validates an old payload
before `contracts/upcasting.py` lifts it to the current version, and its JSON Schema stays
committed next to the current one (`contracts/schemas/<Event>.v<N>.json`). Never edit a model
here; add a new version to `events.py` instead (docs/adr/0006).
"""

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field

from contracts.envelope import PublicEvent
from contracts.glossary import ContactMethod, ContactOutcome
from contracts.topics import OUTREACH_EVENTS


class ContactAttemptedV1(PublicEvent):
    """One attempt to reach the person (訪問・手紙・電話・家族を通じて) and what came of it."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="ContactAttempted")

    event_type: ClassVar[str] = "ContactAttempted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = OUTREACH_EVENTS

    outreach_case_id: UUID
    attempt_number: int = Field(ge=1)
    method: ContactMethod
    outcome: ContactOutcome
    attempted_on: date


SUPERSEDED: dict[tuple[str, int], type[PublicEvent]] = {
    (cls.event_type, cls.schema_version): cls for cls in (ContactAttemptedV1,)
}
"""(event type, version) → the model of that version, for every version older than the current one."""
