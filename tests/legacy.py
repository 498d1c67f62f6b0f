"""Public events as an earlier release published them (superseded schema versions)."""

import uuid
from datetime import UTC, date, datetime

from contracts.envelope import Envelope
from contracts.events import ContactAttempted
from contracts.glossary import ContactMethod, ContactOutcome
from contracts.superseded import ContactAttemptedV1
from libs.commands import Context, envelope_for


def contact_attempted_v1(
    outcome: ContactOutcome = ContactOutcome.FAMILY_ONLY, case_key: uuid.UUID | None = None
) -> Envelope:
    """A ContactAttempted as version 1 put it on Kafka and in outboxes: one `outcome` code."""
    event = ContactAttemptedV1(
        case_key=case_key or uuid.uuid4(),
        outreach_case_id=uuid.uuid4(),
        attempt_number=1,
        method=ContactMethod.VIA_FAMILY,
        outcome=outcome,
        attempted_on=date(2026, 4, 3),
    )
    return envelope_for(event, Context(organisation="test-org", actor="tester"), datetime.now(UTC))


def as_v1(envelope: Envelope) -> Envelope:
    """A v2 ContactAttempted envelope rewritten as the v1 the previous release would have sent."""
    event = ContactAttempted.model_validate(envelope.payload)
    payload = {k: v for k, v in envelope.payload.items() if k not in ("reached", "response")}
    payload["outcome"] = event.outcome.value
    return envelope.model_copy(update={"schema_version": 1, "payload": payload})
