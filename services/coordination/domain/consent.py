"""What coordination knows of the person's consent: intake's public ConsentChanged, kept per case.

Coordination never records consent itself (intake does, with the person); it keeps the
latest state of each consent so that a 重層的支援会議 is refused the moment consent lapses.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Literal
from uuid import UUID

from contracts.glossary import Program
from libs.domain import Aggregate, Command, DomainEvent

STREAM_TYPE = "CoordinationConsent"


class ConsentNoted(DomainEvent):
    consent_id: UUID
    status: Literal["active", "withdrawn"]
    programs: list[Program]
    expires_on: date
    changed_on: date


@dataclass(frozen=True)
class ConsentState:
    latest: dict[UUID, ConsentNoted] = field(default_factory=dict)

    def covers(self, program: Program, on: date) -> bool:
        return any(
            c.status == "active" and program in c.programs and on <= c.expires_on
            for c in self.latest.values()
        )

    def latest_expiry(self, program: Program = Program.COORDINATION) -> date | None:
        """The day the last active consent that lets coordination hold the case runs out: after it,
        `covers` refuses a 重層的支援会議, so the coordinator asks intake to renew it before then."""
        return max(
            (c.expires_on for c in self.latest.values() if c.status == "active" and program in c.programs),
            default=None,
        )


def evolve(state: ConsentState, event: DomainEvent) -> ConsentState:
    assert isinstance(event, ConsentNoted)
    return ConsentState({**state.latest, event.consent_id: event})


class NoteConsent(Command):
    """Intake published a consent's new state (its public ConsentChanged)."""

    noted: ConsentNoted


def decide(command: Command, state: ConsentState) -> list[DomainEvent]:
    """The events a command leads to on the consent notes of one case key."""
    match command:
        case NoteConsent():
            return _note(state, command.noted)
    raise TypeError(f"coordination's consent notes cannot decide {type(command).__name__}")


# The stream is named after the case key and its state does not know it: the service passes the
# key with each command, so the notes are found among the case's records.
CONSENT_STATE = Aggregate[ConsentState](
    stream_type=STREAM_TYPE,
    initial=ConsentState,
    evolve=evolve,
    events=(ConsentNoted,),
    decide=decide,
    consent_expires_on=ConsentState.latest_expiry,
)


def _note(state: ConsentState, noted: ConsentNoted) -> list[DomainEvent]:
    """Keep the newest state; a re-delivered or older change adds nothing."""
    if state.latest.get(noted.consent_id) == noted:
        return []
    return [noted]
