"""Kafka topic names and their settings: one topic per service, keyed by case.

Event topics keep everything forever (retention.ms=-1) because the log is the audit record
and the replay source for projections.
"""

from contracts.glossary import Program
from contracts.programs import BY_NAME, DIRECTORY, NAMES, PROGRAMS, events_topic

INTAKE_EVENTS = BY_NAME[Program.INTAKE].topic
COORDINATION_EVENTS = BY_NAME[Program.COORDINATION].topic
OUTREACH_EVENTS = BY_NAME[Program.OUTREACH].topic
PARTICIPATION_EVENTS = BY_NAME[Program.PARTICIPATION].topic
COMMUNITY_EVENTS = BY_NAME[Program.COMMUNITY].topic

EVENT_TOPICS: tuple[str, ...] = tuple(p.topic for p in PROGRAMS)
"""The programs' topics: the business's record, which projections and the fault checker read."""
DIRECTORY_EVENTS = events_topic(DIRECTORY)
"""Versions of the municipality's directory, which every program service keeps a copy of."""

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


def dead_letters(consumer: str) -> str:
    """Where `consumer`'s inbox parks the messages it could not process: a topic of its own, which
    only its principal may write and read, so nobody else can put a message in its replay path
    (libs/dlq.py also checks each parked message against its origin before replaying it)."""
    return f"kasane.{consumer}.dlq.v1"


DEAD_LETTER_TOPICS: tuple[str, ...] = tuple(dead_letters(name) for name in NAMES)


def all_topics() -> dict[str, dict[str, str]]:
    """Every topic Kasane needs, with its explicit configuration."""
    topics = {t: EVENT_TOPIC_CONFIG for t in (*EVENT_TOPICS, DIRECTORY_EVENTS)}
    topics.update({t: DLQ_TOPIC_CONFIG for t in DEAD_LETTER_TOPICS})
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
