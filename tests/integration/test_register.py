"""The case register is written with each command and rebuilds from the event store to the same rows."""

import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from contracts.glossary import ConsentPurpose, Program
from libs import commands, register
from libs.commands import Context
from libs.crypto import KeyEncryptionKey, PersonalDataCipher
from libs.domain import Aggregate, Command, DomainEvent, RegisterEntry
from libs.eventstore import PostgresEventStore, RegisterQuery
from libs.text import name_terms, query_terms
from services.intake.domain import consent


class Opened(DomainEvent):
    personal_fields = ("name",)
    case_id: uuid.UUID
    name: str | None
    opened_on: date


class Visited(DomainEvent):
    visited_on: date


@dataclass(frozen=True)
class Case:
    opened: Opened | None = None
    last: date | None = None


class Open(Command):
    case_id: uuid.UUID
    name: str
    opened_on: date


class Visit(Command):
    visited_on: date


def _evolve(case: Case, event: DomainEvent) -> Case:
    if isinstance(event, Opened):
        return Case(event, event.opened_on)
    assert isinstance(event, Visited)
    return replace(case, last=event.visited_on)


def _decide(command: Command, case: Case) -> list[DomainEvent]:
    if isinstance(command, Open):
        return [Opened(case_id=command.case_id, name=command.name, opened_on=command.opened_on)]
    assert isinstance(command, Visit)
    return [Visited(visited_on=command.visited_on)]


def _entry(case: Case) -> RegisterEntry | None:
    if case.opened is None:
        return None
    return RegisterEntry(
        case_id=case.opened.case_id,
        case_key=case.opened.case_id,
        organisation="org-a",
        status="open",
        opened_on=case.opened.opened_on,
        last_activity_on=case.last,
        subject_ref=f"subj_{case.opened.case_id.hex}",
        search=name_terms(case.opened.name),
    )


CASE = Aggregate[Case](
    stream_type="Case",
    initial=Case,
    evolve=_evolve,
    events=(Opened, Visited),
    decide=_decide,
    subject_of=lambda case: f"subj_{case.opened.case_id.hex}" if case.opened else None,
    case_key_of=lambda case: case.opened.case_id if case.opened else None,
    register=_entry,
)


async def _lines(store: PostgresEventStore, q: str | None = None, **query: Any) -> list[tuple]:
    async with store.reading() as s:
        tokens = tuple(s.blind(t) for t in query_terms(q)) if q else ()
        rows = await s.register(RegisterQuery(organisation="org-a", tokens=tokens, limit=100, **query))
    return [tuple(vars(r).values()) for r in rows]


async def test_the_register_is_written_with_the_command_and_rebuilds_to_the_same_rows(engine) -> None:
    store = PostgresEventStore(engine, PersonalDataCipher(KeyEncryptionKey.generate()))
    names = ["架空　花子", "架空　太郎", "見本　一郎"]
    for n, name in enumerate(names, 1):
        case_id = uuid.UUID(int=n)
        ctx = Context("org-a", f"worker-{n}")
        await commands.run(
            store,
            CASE,
            f"case-{n}",
            Open(case_id=case_id, name=name, opened_on=date(2026, 4, n)),
            commands.no_public,
            ctx,
        )
        await commands.run(
            store,
            CASE,
            f"case-{n}",
            Visit(visited_on=date(2026, 5, n)),
            commands.no_public,
            Context("org-a", "someone-else"),
        )
    written = await _lines(store)
    assert [(r[1].int, r[4], r[9]) for r in written] == [
        (3, "worker-3", date(2026, 5, 3)),
        (2, "worker-2", date(2026, 5, 2)),
        (1, "worker-1", date(2026, 5, 1)),
    ]  # newest first; the worker who opened the case; the last activity
    assert len(await _lines(store, "架空")) == 2 and len(await _lines(store, "一郎")) == 1

    # Consents, their own streams under the case key, give the lines of that key their expiry.
    async def on_consents(n: int, command: Command) -> None:
        await commands.run(
            store,
            consent.CONSENTS,
            f"consent-{n}",
            command,
            commands.no_public,
            Context("org-a", "worker"),
            case_key=uuid.UUID(int=n),
        )

    def grant(consent_id: int, expires_on: date) -> consent.Grant:
        request = consent.GrantConsent(
            programs=[Program.COORDINATION],
            purpose=ConsentPurpose.SUPPORT_COORDINATION,
            granted_on=date(2026, 4, 10),
            expires_on=expires_on,
        )
        return consent.Grant(
            request=request, consent_id=uuid.UUID(int=consent_id), received_on=date(2026, 4, 1)
        )

    def withdraw(consent_id: int) -> consent.Withdraw:
        request = consent.WithdrawConsent(withdrawn_on=date(2026, 5, 1))
        return consent.Withdraw(request=request, consent_id=uuid.UUID(int=consent_id))

    await on_consents(1, grant(11, date(2026, 5, 20)))
    await on_consents(1, grant(12, date(2027, 3, 31)))
    await on_consents(1, withdraw(12))  # the later one withdrawn: the earlier one's expiry shows
    await on_consents(2, grant(21, date(2026, 5, 25)))
    await on_consents(2, withdraw(21))  # none in force
    await on_consents(9, grant(91, date(2026, 5, 20)))  # a key with no line (yet)
    written = await _lines(store)
    assert [(r[1].int, r[-1]) for r in written] == [(3, None), (2, None), (1, date(2026, 5, 20))]
    assert await _lines(store, consent_expires_by=date(2026, 5, 31)) == [written[2]]

    assert await register.rebuild(store, [CASE, consent.CONSENTS]) == 3
    assert await _lines(store) == written
    assert len(await _lines(store, "架空")) == 2 and len(await _lines(store, "一郎")) == 1
    assert await _lines(store, consent_expires_by=date(2026, 5, 31)) == [written[2]]
