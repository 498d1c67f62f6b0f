"""The envelope every public event travels in, on Kafka and in the outbox.

The envelope holds who/when/why (organisation, actor, correlation and causation, trace
context); the payload is one of the public event models in `events.py`.
"""

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# Pseudonymous identifiers only: an actor is a user id, an organisation a short code.
CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


class ContractModel(BaseModel):
    """Frozen and strict about unknown fields.

    `extra="forbid"` matters for privacy: a producer cannot add a field (a name, a note)
    that the contract does not name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


class PublicEvent(ContractModel):
    """Base of every public event payload."""

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str]

    case_key: UUID = Field(description="Case identifier; also the Kafka key, so one case stays in order.")


class Envelope(ContractModel):
    """Metadata around a public event; the unit that the outbox stores and Kafka carries."""

    event_id: UUID = Field(description="Unique per event; consumers deduplicate on it.")
    event_type: str
    schema_version: int = Field(ge=1)
    case_key: UUID
    occurred_at: datetime = Field(description="When it happened in the world (business time).")
    recorded_at: datetime = Field(description="When the owning service recorded it.")
    organisation: str = Field(pattern=CODE_PATTERN, description="Organisation that recorded the event.")
    actor: str = Field(pattern=CODE_PATTERN, description="Pseudonymous id of the user or process.")
    correlation_id: UUID = Field(description="Shared by every event of one business flow.")
    causation_id: UUID | None = Field(default=None, description="The message that caused this one.")
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT_PATTERN)
    payload: dict[str, Any]
