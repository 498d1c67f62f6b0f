"""Consent to information sharing (同意): its own record, per case, apart from the case itself.

A consent names the programs that may receive the person's information, the purpose and
an expiry; it can be narrowed or withdrawn, never silently widened (a wider scope is a new
consent). Withdrawal ends every disclosure based on it at once.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from uuid import UUID

from pydantic import Field

from contracts.glossary import ConsentPurpose, Program
from libs.domain import Aggregate, Command, DomainError, DomainEvent, InvalidCommand, NotFound
from libs.fields import Day, Happened

STREAM_TYPE = "IntakeConsent"


class ConsentGranted(DomainEvent):
    consent_id: UUID
    programs: list[Program]
    purpose: ConsentPurpose
    granted_on: date
    expires_on: date


class ConsentNarrowed(DomainEvent):
    consent_id: UUID
    programs: list[Program]
    narrowed_on: date


class ConsentWithdrawn(DomainEvent):
    consent_id: UUID
    withdrawn_on: date


@dataclass(frozen=True)
class Consent:
    consent_id: UUID
    programs: frozenset[Program]
    purpose: ConsentPurpose
    granted_on: date
    expires_on: date
    withdrawn_on: date | None = None

    def covers(self, program: Program, on: date) -> bool:
        return (
            self.withdrawn_on is None
            and self.granted_on <= on <= self.expires_on
            and program in self.programs
        )

    @property
    def status(self) -> str:
        return "withdrawn" if self.withdrawn_on else "active"


@dataclass(frozen=True)
class Consents:
    records: tuple[Consent, ...] = field(default_factory=tuple)

    def get(self, consent_id: UUID) -> Consent | None:
        return next((c for c in self.records if c.consent_id == consent_id), None)

    def covering(self, program: Program, on: date) -> Consent | None:
        return next((c for c in self.records if c.covers(program, on)), None)

    def latest_expiry(self) -> date | None:
        """The day the last consent not withdrawn runs out, whatever its scope: intake records
        every consent, so its worker renews it before the case loses its basis for sharing. A
        consent already past still counts here; the register's worklist judges it on the day."""
        return max((c.expires_on for c in self.records if c.withdrawn_on is None), default=None)


def _replace(consents: Consents, consent_id: UUID, **changes: object) -> Consents:
    return Consents(
        tuple(replace(c, **changes) if c.consent_id == consent_id else c for c in consents.records)
    )


def evolve(consents: Consents, event: DomainEvent) -> Consents:
    match event:
        case ConsentGranted():
            consent = Consent(
                event.consent_id, frozenset(event.programs), event.purpose, event.granted_on, event.expires_on
            )
            return Consents((*consents.records, consent))
        case ConsentNarrowed():
            return _replace(consents, event.consent_id, programs=frozenset(event.programs))
        case ConsentWithdrawn():
            return _replace(consents, event.consent_id, withdrawn_on=event.withdrawn_on)
    raise TypeError(f"unknown event {type(event).__name__}")


# --- commands ---------------------------------------------------------------------------


class GrantConsent(Command):
    """The person's consent to sharing their information (情報共有への同意)."""

    programs: list[Program] = Field(min_length=1, max_length=5, description="共有先の事業")
    purpose: ConsentPurpose
    granted_on: Happened
    expires_on: Day


class Grant(Command):
    """A consent with the id the service minted for it and the day the case was received (read from
    the case, which a consent may not predate)."""

    request: GrantConsent
    consent_id: UUID
    received_on: date


class NarrowConsent(Command):
    """Narrow a consent to fewer programs (同意範囲の縮小); widening needs a new consent."""

    programs: list[Program] = Field(min_length=1, max_length=5)
    narrowed_on: Happened


class Narrow(Command):
    """A narrowing of the consent named in the request's path."""

    request: NarrowConsent
    consent_id: UUID


class WithdrawConsent(Command):
    """Withdraw a consent (同意の撤回): every disclosure based on it ends."""

    withdrawn_on: Happened


class Withdraw(Command):
    """A withdrawal of the consent named in the request's path."""

    request: WithdrawConsent
    consent_id: UUID


# --- decisions --------------------------------------------------------------------------


def decide(command: Command, consents: Consents) -> list[DomainEvent]:
    """The events a consent command leads to, by the rules below on the event it would record."""
    match command:
        case Grant():
            request = command.request
            granted = ConsentGranted(
                consent_id=command.consent_id,
                programs=sorted(set(request.programs)),
                purpose=request.purpose,
                granted_on=request.granted_on,
                expires_on=request.expires_on,
            )
            return grant(consents, granted, command.received_on)
        case Narrow():
            narrowed = ConsentNarrowed(
                consent_id=command.consent_id,
                programs=sorted(set(command.request.programs)),
                narrowed_on=command.request.narrowed_on,
            )
            return narrow(consents, narrowed)
        case Withdraw():
            withdrawn = ConsentWithdrawn(
                consent_id=command.consent_id, withdrawn_on=command.request.withdrawn_on
            )
            return withdraw(consents, withdrawn)
    raise TypeError(f"intake consents cannot decide {type(command).__name__}")


# The rules, judged on the event a command would record. Public: each is pinned on its own by
# tests/unit/test_consent_domain.py, and `decide` is only their front door.


def grant(consents: Consents, granted: ConsentGranted, received_on: date) -> list[DomainEvent]:
    if not granted.programs:
        raise InvalidCommand("consent_without_scope", "同意の範囲（共有先の事業）を1つ以上選んでください。")
    if granted.expires_on <= granted.granted_on:
        raise InvalidCommand("consent_expiry", "同意の有効期限は同意日より後にしてください。")
    if granted.granted_on < received_on:
        raise DomainError("consent_before_receipt", "同意日が相談受付日より前になっています。")
    if consents.get(granted.consent_id):
        return []
    return [granted]


def _active(consents: Consents, consent_id: UUID) -> Consent:
    consent = consents.get(consent_id)
    if consent is None:
        raise NotFound("consent_not_found", "同意の記録が見つかりません。")
    if consent.withdrawn_on is not None:
        raise DomainError("consent_withdrawn", "この同意はすでに撤回されています。")
    return consent


def narrow(consents: Consents, narrowed: ConsentNarrowed) -> list[DomainEvent]:
    consent = _active(consents, narrowed.consent_id)
    scope = frozenset(narrowed.programs)
    if not scope:
        raise InvalidCommand("consent_without_scope", "範囲をすべて外す場合は同意の撤回を記録してください。")
    if not scope < consent.programs:
        raise DomainError(
            "consent_not_narrower",
            "同意の範囲は狭めることのみできます。範囲を広げるには新しい同意を記録してください。",
        )
    return [narrowed]


def withdraw(consents: Consents, withdrawn: ConsentWithdrawn) -> list[DomainEvent]:
    consent = _active(consents, withdrawn.consent_id)
    if withdrawn.withdrawn_on < consent.granted_on:
        raise DomainError("withdrawal_before_grant", "撤回日が同意日より前になっています。")
    return [withdrawn]


CONSENTS = Aggregate[Consents](
    stream_type=STREAM_TYPE,
    initial=Consents,
    evolve=evolve,
    events=(ConsentGranted, ConsentNarrowed, ConsentWithdrawn),
    decide=decide,
    # The stream is named after the case but its state does not know the case: the service layer
    # passes the case key with each command.
    consent_expires_on=Consents.latest_expiry,
)
