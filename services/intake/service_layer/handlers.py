"""Intake's use cases: authorise, load, decide, append, fill the outbox — and record access."""

import secrets
import uuid
from datetime import UTC, date, datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import events as public
from contracts.glossary import Channel, ConsentPurpose, IssueTag, LegalBasis, Program, Urgency
from libs import access, commands
from libs.authz import enforce
from libs.commands import Context, Loaded, Outcome
from libs.directory import Directory
from libs.domain import DomainEvent
from libs.http import Caller
from libs.inbox import Delivery
from services.intake.domain import consent, model
from services.intake.service_layer import authorization
from services.intake.service_layer.public_events import consent_to_public, to_public

PERSONAL_FIELDS = ["person", "household", "summary"]


def stream_id(case_id: uuid.UUID) -> str:
    return f"intake-case-{case_id}"


def consent_stream(case_id: uuid.UUID) -> str:
    return f"intake-consent-{case_id}"


def new_subject_ref() -> str:
    """A random pseudonym: unlinkable to the person without intake's own records."""
    return f"subj_{secrets.token_hex(16)}"


async def _load_case(conn: AsyncConnection, case_id: uuid.UUID) -> Loaded[model.Case]:
    return await commands.load(conn, model.INTAKE_CASE, stream_id(case_id))


async def receive_consultation(
    engine: AsyncEngine,
    caller: Caller,
    directory: Directory,
    *,
    case_id: uuid.UUID,
    channel: Channel,
    person: model.Person,
    household: list[model.HouseholdMember],
    issue_tags: list[IssueTag],
    district: str,
    summary: str,
    received_on: date,
) -> Outcome[model.Case]:
    enforce(
        authorization.may_receive(caller.principal, directory),
        caller.principal,
        "receive",
        "cases",
        hide=False,
    )
    event = model.ConsultationReceived(
        case_id=case_id,
        holder_organisation=caller.principal.organisation,
        subject_ref=new_subject_ref(),
        channel=channel,
        person=person,
        household=household,
        issue_tags=sorted(set(issue_tags)),
        district=district,
        summary=summary,
        received_on=received_on,
    )
    ctx = caller.context
    return await commands.run(
        engine,
        model.INTAKE_CASE,
        stream_id(case_id),
        partial(model.receive, event=event),
        partial(to_public, organisation=ctx.organisation),
        ctx,
        expected_version=0,
    )


async def _authorised_case(
    engine: AsyncEngine, caller: Caller, case_id: uuid.UUID, action: str
) -> Loaded[model.Case]:
    """Load a case the caller may change, or 404 revealing nothing."""
    async with engine.connect() as conn:
        loaded = await _load_case(conn, case_id)
    enforce(
        authorization.may_change(caller.principal, loaded.state), caller.principal, action, f"case:{case_id}"
    )
    return loaded


async def refer_to_coordination(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    urgency: Urgency,
    reason: str,
    referred_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    await _authorised_case(engine, caller, case_id, "refer")
    event = model.ReferredToCoordination(
        referral_id=uuid.uuid4(), urgency=urgency, reason=reason, referred_on=referred_on
    )
    return await commands.run(
        engine,
        model.INTAKE_CASE,
        stream_id(case_id),
        partial(model.refer, referral=event),
        partial(to_public, organisation=caller.context.organisation),
        caller.context,
        expected_version=expected_version,
    )


async def change_consent(
    engine: AsyncEngine, caller: Caller, case_id: uuid.UUID, event: DomainEvent, action: str
) -> Outcome[consent.Consents]:
    """Grant, narrow or withdraw: the consent stream is written, the case only read."""
    case = (await _authorised_case(engine, caller, case_id, action)).state
    assert case.received is not None
    decide = {
        consent.ConsentGranted: partial(consent.grant, received_on=case.received.received_on),
        consent.ConsentNarrowed: consent.narrow,
        consent.ConsentWithdrawn: consent.withdraw,
    }[type(event)]
    return await commands.run(
        engine,
        consent.CONSENTS,
        consent_stream(case_id),
        lambda state: decide(state, event),
        partial(consent_to_public, case_key=case_id, subject_ref=case.received.subject_ref),
        caller.context,
    )


async def grant_consent(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    programs: list[Program],
    purpose: ConsentPurpose,
    granted_on: date,
    expires_on: date,
) -> tuple[uuid.UUID, Outcome[consent.Consents]]:
    consent_id = uuid.uuid4()
    event = consent.ConsentGranted(
        consent_id=consent_id,
        programs=sorted(set(programs)),
        purpose=purpose,
        granted_on=granted_on,
        expires_on=expires_on,
    )
    return consent_id, await change_consent(engine, caller, case_id, event, "grant_consent")


async def read_case(
    engine: AsyncEngine, caller: Caller, directory: Directory, case_id: uuid.UUID
) -> tuple[Loaded[model.Case], consent.Consents, LegalBasis]:
    """A case with the person's details, if the caller has a legal basis; the read is recorded."""
    async with engine.connect() as conn:
        loaded = await _load_case(conn, case_id)
        consents = (await commands.load(conn, consent.CONSENTS, consent_stream(case_id))).state
    now = datetime.now(UTC)
    decision = enforce(
        authorization.may_see_details(
            caller.principal, loaded.state, consents, directory, now.date(), caller.declared_basis
        ),
        caller.principal,
        "read_details",
        f"case:{case_id}",
    )
    assert decision.basis is not None
    await access.record(engine, caller, f"case:{case_id}", decision, PERSONAL_FIELDS)
    return loaded, consents, decision.basis


async def erase_person(
    engine: AsyncEngine, caller: Caller, case_id: uuid.UUID, erased_on: date
) -> Outcome[model.Case]:
    """Destroy the person's key (crypto-shredding) and record it; other services follow the public event."""
    enforce(
        authorization.may_erase(caller.principal), caller.principal, "erase", f"case:{case_id}", hide=False
    )
    erased = model.PersonErased(erased_on=erased_on, requested_by=caller.principal.user)
    async with engine.begin() as conn:
        outcome = await commands.execute(
            conn,
            model.INTAKE_CASE,
            stream_id(case_id),
            partial(model.erase, erased=erased),
            partial(to_public, organisation=caller.context.organisation),
            caller.context,
        )
        assert outcome.state.received is not None
        await commands.cipher().erase(conn, outcome.state.received.subject_ref)
    return outcome


async def read_consents(engine: AsyncEngine, caller: Caller, case_id: uuid.UUID) -> consent.Consents:
    await _authorised_case(engine, caller, case_id, "read_consents")
    async with engine.connect() as conn:
        return (await commands.load(conn, consent.CONSENTS, consent_stream(case_id))).state


# --- reactions to coordination's public events (run by the inbox consumer) -------------


async def on_referral_accepted(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    event = delivery.event
    assert isinstance(event, public.ReferralAccepted)
    decision = model.ReferralAccepted(
        referral_id=event.referral_id,
        coordination_case_id=event.coordination_case_id,
        accepted_on=event.accepted_on,
    )
    await commands.execute(
        conn,
        model.INTAKE_CASE,
        stream_id(event.case_key),
        partial(model.accept, accepted=decision),
        partial(to_public, organisation=organisation),
        Context.reacting_to(delivery.envelope, organisation, "intake.consumer"),
    )


async def on_returned_to_origin(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    event = delivery.event
    assert isinstance(event, public.ReturnedToOrigin)
    decision = model.ReturnedToOrigin(
        referral_id=event.referral_id,
        reason=event.reason,
        returned_by=delivery.envelope.organisation,
        returned_on=event.returned_on,
    )
    await commands.execute(
        conn,
        model.INTAKE_CASE,
        stream_id(event.case_key),
        partial(model.take_back, returned=decision),
        partial(to_public, organisation=organisation),
        Context.reacting_to(delivery.envelope, organisation, "intake.consumer"),
    )


async def on_plan_agreed(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """Remember the meeting's members: membership of a 支援会議 is a legal basis to see details."""
    event = delivery.event
    assert isinstance(event, public.PlanAgreed)
    meeting = model.SupportMeetingRecorded(
        coordination_case_id=event.coordination_case_id,
        plan_version=event.plan_version,
        meeting_type=event.meeting_type,
        members=event.meeting_members,
        held_on=event.agreed_on,
    )
    await commands.execute(
        conn,
        model.INTAKE_CASE,
        stream_id(event.case_key),
        partial(model.record_meeting, meeting=meeting),
        partial(to_public, organisation=organisation),
        Context.reacting_to(delivery.envelope, organisation, "intake.consumer"),
    )
