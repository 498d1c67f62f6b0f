"""Intake's use cases: authorise, load, decide, append, fill the outbox — and record access."""

import secrets
import uuid
from datetime import date
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import events as public
from contracts.glossary import (
    Channel,
    ClosureReason,
    ConsentPurpose,
    IssueTag,
    LegalBasis,
    Program,
    SimpleSupportKind,
    Urgency,
)
from libs import access, clock, commands
from libs.authz import enforce
from libs.commands import Context, Decide, Loaded, Outcome
from libs.directory import Directory
from libs.domain import DomainEvent
from libs.http import Caller
from libs.inbox import Delivery
from services.intake.domain import consent, model
from services.intake.service_layer import authorization
from services.intake.service_layer.public_events import consent_to_public, to_public

PERSONAL_FIELDS = [
    "person",
    "household",
    "summary",
    "assessments.findings",
    "supports.note",
    "agency_referrals.reason",
    "closed.note",
]


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


def _holder_only(caller: Caller, case_id: uuid.UUID, action: str) -> commands.Guard[model.Case]:
    """The holder's intake worker, or 404 revealing nothing."""
    return commands.Guard(
        partial(authorization.may_change, caller.principal), caller.principal, action, f"case:{case_id}"
    )


async def _change(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    action: str,
    decide: Decide[model.Case],
    expected_version: int | None = None,
) -> Outcome[model.Case]:
    """One command on the case, by the holder's intake worker."""
    return await commands.run(
        engine,
        model.INTAKE_CASE,
        stream_id(case_id),
        decide,
        partial(to_public, organisation=caller.context.organisation),
        caller.context,
        expected_version=expected_version,
        guard=_holder_only(caller, case_id, action),
    )


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
    event = model.ReferredToCoordination(
        referral_id=uuid.uuid4(), urgency=urgency, reason=reason, referred_on=referred_on
    )
    return await _change(
        engine, caller, case_id, "refer", partial(model.refer, referral=event), expected_version
    )


async def record_person(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    person: model.Person,
    household: list[model.HouseholdMember],
    summary: str | None,
    recorded_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """Details pending → known (or corrected): sealed under the person's key like any other."""
    event = model.PersonDetailsRecorded(
        person=person, household=household, summary=summary, recorded_on=recorded_on
    )
    return await _change(
        engine,
        caller,
        case_id,
        "record_person",
        partial(model.record_person, recorded=event),
        expected_version,
    )


async def record_assessment(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    assessed_on: date,
    findings: str,
    issue_tags: list[IssueTag],
    expected_version: int | None,
) -> Outcome[model.Case]:
    event = model.AssessmentRecorded(
        assessed_on=assessed_on, findings=findings, issue_tags=sorted(set(issue_tags))
    )
    return await _change(
        engine, caller, case_id, "assess", partial(model.assess, assessment=event), expected_version
    )


async def give_support(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    given_on: date,
    kind: SimpleSupportKind,
    note: str | None,
    expected_version: int | None,
) -> Outcome[model.Case]:
    event = model.SimpleSupportGiven(given_on=given_on, kind=kind, note=note)
    return await _change(
        engine, caller, case_id, "give_support", partial(model.give_support, support=event), expected_version
    )


async def refer_to_agency(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    organisation: str,
    reason: str,
    referred_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    event = model.ReferredToAgency(
        agency_referral_id=uuid.uuid4(), organisation=organisation, reason=reason, referred_on=referred_on
    )
    return await _change(
        engine,
        caller,
        case_id,
        "refer_to_agency",
        partial(model.refer_to_agency, referral=event),
        expected_version,
    )


async def close_case(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    reason: ClosureReason,
    note: str | None,
    closed_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    event = model.CaseClosed(reason=reason, note=note, closed_on=closed_on)
    return await _change(
        engine, caller, case_id, "close", partial(model.close, closed=event), expected_version
    )


async def change_consent(
    engine: AsyncEngine, caller: Caller, case_id: uuid.UUID, event: DomainEvent, action: str
) -> Outcome[consent.Consents]:
    """Grant, narrow or withdraw: the consent stream is written, the case (read in the same
    transaction) authorises and dates it."""

    async def change(conn: AsyncConnection) -> Outcome[consent.Consents]:
        case = (await _load_case(conn, case_id)).state
        _holder_only(caller, case_id, action).check(case)
        assert case.received_on is not None and case.subject_ref is not None
        decide = {
            consent.ConsentGranted: partial(consent.grant, received_on=case.received_on),
            consent.ConsentNarrowed: consent.narrow,
            consent.ConsentWithdrawn: consent.withdraw,
        }[type(event)]
        return await commands.execute(
            conn,
            consent.CONSENTS,
            consent_stream(case_id),
            lambda state: decide(state, event),
            partial(consent_to_public, case_key=case_id, subject_ref=case.subject_ref),
            caller.context,
        )

    return await commands.transact(engine, change)


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
    decision = enforce(
        authorization.may_see_details(
            caller.principal, loaded.state, consents, directory, clock.today(), caller.declared_basis
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

    async def erase(conn: AsyncConnection) -> Outcome[model.Case]:
        outcome = await commands.execute(
            conn,
            model.INTAKE_CASE,
            stream_id(case_id),
            partial(model.erase, erased=erased),
            partial(to_public, organisation=caller.context.organisation),
            caller.context,
        )
        assert outcome.state.subject_ref is not None
        await commands.cipher().erase(conn, outcome.state.subject_ref)
        return outcome

    # The consumer may append to the case at the same moment (a meeting, a return): re-decide
    # on a conflict, as commands.run does, rather than fail the administrator's request.
    return await commands.transact(engine, erase)


async def read_consents(engine: AsyncEngine, caller: Caller, case_id: uuid.UUID) -> consent.Consents:
    async with engine.connect() as conn:
        _holder_only(caller, case_id, "read_consents").check((await _load_case(conn, case_id)).state)
        return (await commands.load(conn, consent.CONSENTS, consent_stream(case_id))).state


# --- reactions to coordination's public events (run by the inbox consumer) -------------


async def _react(
    conn: AsyncConnection,
    delivery: Delivery,
    organisation: str,
    case_id: uuid.UUID,
    decide: Decide[model.Case],
) -> None:
    """One decision on the intake case `case_id`, caused by another program's event."""
    await commands.execute(
        conn,
        model.INTAKE_CASE,
        stream_id(case_id),
        decide,
        partial(to_public, organisation=organisation),
        Context.reacting_to(delivery.envelope, organisation, "intake.consumer"),
    )


async def on_referral_accepted(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    event = delivery.event
    assert isinstance(event, public.ReferralAccepted)
    decision = model.ReferralAccepted(
        referral_id=event.referral_id,
        coordination_case_id=event.coordination_case_id,
        accepted_on=event.accepted_on,
    )
    await _react(conn, delivery, organisation, event.case_key, partial(model.accept, accepted=decision))


async def on_returned_to_origin(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    event = delivery.event
    assert isinstance(event, public.ReturnedToOrigin)
    decision = model.ReturnedToOrigin(
        referral_id=event.referral_id,
        reason=event.reason,
        returned_by=delivery.envelope.organisation,
        returned_on=event.returned_on,
    )
    await _react(conn, delivery, organisation, event.case_key, partial(model.take_back, returned=decision))


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
    await _react(conn, delivery, organisation, event.case_key, partial(model.record_meeting, meeting=meeting))


async def on_support_concluded(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """Keep coordination's evaluation with the referral: part of what comes back (つなぎもどし)."""
    event = delivery.event
    assert isinstance(event, public.SupportConcluded)
    concluded = model.CoordinationConcluded(
        coordination_case_id=event.coordination_case_id,
        outcome=event.outcome,
        goals_met=event.goals_met,
        goals_total=event.goals_total,
        concluded_on=event.concluded_on,
    )
    await _react(
        conn, delivery, organisation, event.case_key, partial(model.note_conclusion, concluded=concluded)
    )


# --- people passed on by other programs: outreach's つなぎ, a community place's 気づき -----


def holder_for(connected_to_organisation: str | None, directory: Directory, organisation: str) -> str:
    """The organisation the person was connected to, if it runs intake; else this service's."""
    if connected_to_organisation and Program.INTAKE in directory.programs_of(connected_to_organisation):
        return connected_to_organisation
    return organisation


async def _open_from_connection(
    conn: AsyncConnection, delivery: Delivery, opened: model.CaseOpenedFromConnection, organisation: str
) -> None:
    await _react(
        conn, delivery, organisation, opened.case_id, partial(model.open_from_connection, opened=opened)
    )


async def on_connected_to_support(
    conn: AsyncConnection, delivery: Delivery, *, organisation: str, directory: Directory
) -> None:
    """Outreach connected a person to intake: open their case (details pending) or link it."""
    event = delivery.event
    assert isinstance(event, public.ConnectedToSupport)
    if event.connected_to != "intake":
        return
    opened = model.CaseOpenedFromConnection(
        case_id=event.case_key,
        holder_organisation=holder_for(event.organisation, directory, organisation),
        subject_ref=event.subject_ref,
        channel=Channel.OUTREACH,
        issue_tags=sorted(set(event.issue_tags)),
        age_band=event.age_band,
        district=event.district,
        received_on=event.connected_on,
        source="outreach",
        source_ref=event.outreach_case_id,
        source_organisation=delivery.envelope.organisation,
    )
    await _open_from_connection(conn, delivery, opened, organisation)


async def on_concern_raised(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """A community place noticed someone in trouble and passed it to intake: open their case.

    The concern carries no pseudonym of the person (a place knows them by sight), so intake
    draws one, as for any new consultation.
    """
    event = delivery.event
    assert isinstance(event, public.ConcernRaised)
    if event.raised_to != "intake":
        return
    opened = model.CaseOpenedFromConnection(
        case_id=event.case_key,
        holder_organisation=organisation,
        subject_ref=new_subject_ref(),
        channel=Channel.COMMUNITY_PLACE,
        issue_tags=sorted(set(event.issue_tags)),
        age_band=event.age_band,
        district=event.district,
        received_on=event.raised_on,
        source="community",
        source_ref=event.concern_id,
        source_organisation=delivery.envelope.organisation,
        place_id=event.place_id,
    )
    await _open_from_connection(conn, delivery, opened, organisation)
