"""Who may do what on Kafka: the one table the broker's ACLs are made from (docs/security-kafka.md).

Every program runs as its own Kafka principal, named like the program. A principal may write
only the topic it owns and read only the topics it consumes, so a leaked password or a bug in
one service cannot publish in another organisation's name nor read a program it has no business
with. What a program consumes is declared once, in contracts/programs.py; the broker
(deploy/local) and the documentation follow from `grants()`.
"""

from dataclasses import dataclass
from typing import Literal

from contracts import programs
from contracts.programs import PROGRAMS
from contracts.topics import DIRECTORY_EVENTS, dead_letters

ADMIN = "admin"
"""The broker's own principal and the only super user: creates topics, users and ACLs."""

SERVICES: tuple[str, ...] = programs.NAMES

DIRECTORY = programs.DIRECTORY
"""The municipality's directory service: writes its own topic, which every program service reads."""

PROJECTIONS = programs.PROJECTIONS
"""Read models across programs: may read every event topic, may write nothing."""

PROJECTION_GROUP_PREFIX = "projection."
"""Projectors name their consumer groups `projection.<name>` (libs/checkpoints.py)."""

CONSUMES: dict[str, tuple[str, ...]] = {
    p.name: (*(programs.events_topic(source) for source in p.consumes), DIRECTORY_EVENTS) for p in PROGRAMS
}
"""Which topics each service's inbox subscribes to: the other programs' it reacts to, and the
directory's (its copy of the municipality's directory, libs/directory_copy.py)."""

events_topic = programs.events_topic


def principals() -> tuple[str, ...]:
    """Every principal an installation has a password for."""
    return (ADMIN, *SERVICES, DIRECTORY, PROJECTIONS)


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW ACL: `principal` may do `operation` on the resource named by `pattern` and `name`.

    READ and WRITE each imply DESCRIBE, so no DESCRIBE grants are needed; WRITE on any topic also
    implies the cluster's IDEMPOTENT_WRITE (KIP-679), which the idempotent producer needs.
    """

    principal: str
    resource: Literal["TOPIC", "GROUP"]
    pattern: Literal["LITERAL", "PREFIXED"]
    name: str
    operation: Literal["READ", "WRITE"]


def grants() -> list[Grant]:
    """Every ACL of the broker; anything not granted here is denied (allow.everyone.if.no.acl.found=false).

    A consumer also writes its own dead-letter topic, because its inbox parks messages it cannot
    process there (libs/inbox.py), and reads it, because the DLQ tool replays parked messages
    through that same inbox (libs/dlq.py); nobody else may write it, so no other principal can put
    a message in its replay path, and it holds nothing the consumer could not read on the source
    topics. Consumer groups are named after the service, so one service
    cannot join, read or reset another's group.
    """
    granted: list[Grant] = [Grant(DIRECTORY, "TOPIC", "LITERAL", DIRECTORY_EVENTS, "WRITE")]
    for service in SERVICES:
        granted.append(Grant(service, "TOPIC", "LITERAL", events_topic(service), "WRITE"))
        for topic in CONSUMES.get(service, ()):
            granted.append(Grant(service, "TOPIC", "LITERAL", topic, "READ"))
        if CONSUMES.get(service):
            granted.append(Grant(service, "TOPIC", "LITERAL", dead_letters(service), "WRITE"))
            granted.append(Grant(service, "TOPIC", "LITERAL", dead_letters(service), "READ"))
            granted.append(Grant(service, "GROUP", "LITERAL", service, "READ"))
    for service in SERVICES:
        granted.append(Grant(PROJECTIONS, "TOPIC", "LITERAL", events_topic(service), "READ"))
    granted.append(Grant(PROJECTIONS, "TOPIC", "LITERAL", DIRECTORY_EVENTS, "READ"))
    granted.append(Grant(PROJECTIONS, "GROUP", "PREFIXED", PROJECTION_GROUP_PREFIX, "READ"))
    return granted


def table() -> str:
    """The grants as the Markdown table in docs/security-kafka.md (a test keeps the two equal)."""
    rows = ["| principal | operation | resource | pattern | name |", "|---|---|---|---|---|"]
    rows += [
        f"| `User:{g.principal}` | {g.operation} | {g.resource} | {g.pattern} | `{g.name}` |"
        for g in grants()
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
