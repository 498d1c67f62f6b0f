"""Kafka topic names and their settings: one topic per service, keyed by case.

Event topics keep everything forever (retention.ms=-1) because the log is the audit record
and the replay source for projections.
"""

INTAKE_EVENTS = "kasane.intake.events.v1"
COORDINATION_EVENTS = "kasane.coordination.events.v1"
OUTREACH_EVENTS = "kasane.outreach.events.v1"
PARTICIPATION_EVENTS = "kasane.participation.events.v1"
COMMUNITY_EVENTS = "kasane.community.events.v1"

EVENT_TOPICS: tuple[str, ...] = (
    INTAKE_EVENTS,
    COORDINATION_EVENTS,
    OUTREACH_EVENTS,
    PARTICIPATION_EVENTS,
    COMMUNITY_EVENTS,
)

PARTITIONS = 3

EVENT_TOPIC_CONFIG: dict[str, str] = {
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "cleanup.policy": "delete",
    "min.insync.replicas": "1",
}

DLQ_TOPIC_CONFIG: dict[str, str] = {
    "retention.ms": "-1",
    "cleanup.policy": "delete",
}


def dlq(topic: str) -> str:
    """Dead-letter topic for messages of `topic` that could not be processed."""
    return f"{topic}.dlq"


def all_topics() -> dict[str, dict[str, str]]:
    """Every topic Kasane needs, with its explicit configuration."""
    topics = {t: EVENT_TOPIC_CONFIG for t in EVENT_TOPICS}
    topics.update({dlq(t): DLQ_TOPIC_CONFIG for t in EVENT_TOPICS})
    return topics


class Header:
    """Kafka header names carried by every public event."""

    MESSAGE_ID = "message-id"
    EVENT_TYPE = "event-type"
    SCHEMA_VERSION = "schema-version"
    CORRELATION_ID = "correlation-id"
    CAUSATION_ID = "causation-id"
    TRACEPARENT = "traceparent"
    ORGANISATION = "organisation"
    # dead-letter headers
    DLQ_ERROR = "dlq-error"
    DLQ_CONSUMER = "dlq-consumer"
    DLQ_ORIGIN = "dlq-origin"
    DLQ_ATTEMPTS = "dlq-attempts"
