"""Following an erasure: every service that holds data about a person destroys its own key.

Intake decides an erasure and publishes `SubjectErased`; each other service records that it
followed (an event in its own log, so the audit trail shows it) and destroys its key for the
person in the same transaction. One implementation, registered by every consumer of intake.
"""

from dataclasses import dataclass
from datetime import date

from contracts import events as public
from libs import commands
from libs.commands import Context, no_public
from libs.domain import Aggregate, Command, DomainEvent
from libs.eventstore import Session
from libs.inbox import Delivery


class PersonalDataErased(DomainEvent):
    """Intake erased the person; this service destroyed its own key for them."""

    subject_ref: str
    erased_on: date


@dataclass(frozen=True)
class Erasure:
    erased: PersonalDataErased | None = None


def _evolve(_: Erasure, event: DomainEvent) -> Erasure:
    assert isinstance(event, PersonalDataErased)
    return Erasure(event)


class NoteErasure(Command):
    erased: PersonalDataErased


def _decide(command: NoteErasure, state: Erasure) -> list[DomainEvent]:
    return [] if state.erased else [command.erased]


ERASURE = Aggregate[Erasure](
    stream_type="Erasure", initial=Erasure, evolve=_evolve, events=(PersonalDataErased,), decide=_decide
)


async def follow(session: Session, delivery: Delivery, *, service: str, organisation: str) -> None:
    """Consumer of `SubjectErased`: record the erasure and destroy this service's key for the person."""
    event = delivery.event
    assert isinstance(event, public.SubjectErased)
    noted = PersonalDataErased(subject_ref=event.subject_ref, erased_on=event.erased_on)
    await commands.execute(
        session,
        ERASURE,
        f"{service}-erasure-{event.subject_ref}",
        NoteErasure(erased=noted),
        no_public,
        Context.reacting_to(delivery.envelope, organisation, f"{service}.consumer"),
    )
    await session.erase_subject(event.subject_ref)
