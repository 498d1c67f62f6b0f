"""Coordination's use cases: open from a referral, agree a plan, return the case."""

import uuid
from datetime import UTC, date, datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import events as public
from contracts.glossary import MeetingType, Program, ReturnReason
from libs import access, commands
from libs.authz import enforce
from libs.commands import Context, Loaded, Outcome
from libs.domain import DomainEvent
from libs.http import Caller
from libs.inbox import Delivery
from services.coordination.domain import consent, model
from services.coordination.service_layer import authorization
from services.coordination.service_layer.public_events import to_public

PERSONAL_FIELDS = ["plans.goals", "plans.roles.note"]


def stream_id(coordination_case_id: uuid.UUID) -> str:
    return f"coordination-case-{coordination_case_id}"


def consent_stream(case_key: uuid.UUID) -> str:
    return f"coordination-consent-{case_key}"


def _no_public(_: object, __: DomainEvent) -> list:
    return []


async def on_referred(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """支援依頼を受ける: open (or find) the coordination case of this referral."""
    referral = delivery.event
    assert isinstance(referral, public.ReferredToCoordination)
    case_id = model.case_id_for(referral.referral_id)
    opened = model.CaseOpened(
        coordination_case_id=case_id,
        holder_organisation=organisation,
        case_key=referral.case_key,
        referral_id=referral.referral_id,
        referring_organisation=referral.referring_organisation,
        subject_ref=referral.subject_ref,
        issue_tags=referral.issue_tags,
        age_band=referral.age_band,
        district=referral.district,
        urgency=referral.urgency,
        opened_on=referral.referred_on,
    )
    ctx = Context.reacting_to(delivery.envelope, organisation, "coordination.consumer")
    await commands.execute(
        conn,
        model.COORDINATION_CASE,
        stream_id(case_id),
        partial(model.open_case, opened=opened),
        to_public,
        ctx,
    )


async def on_consent_changed(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """Keep the person's consent as intake last published it."""
    event = delivery.event
    assert isinstance(event, public.ConsentChanged)
    noted = consent.ConsentNoted(
        consent_id=event.consent_id,
        status=event.status,
        programs=event.programs,
        expires_on=event.expires_on,
        changed_on=event.changed_on,
    )
    ctx = Context.reacting_to(delivery.envelope, organisation, "coordination.consumer")
    await commands.execute(
        conn,
        consent.CONSENT_STATE,
        consent_stream(event.case_key),
        partial(consent.note, noted=noted),
        _no_public,
        ctx,
    )


async def on_subject_erased(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """Intake erased the person: destroy coordination's key for them too, and record it."""
    event = delivery.event
    assert isinstance(event, public.SubjectErased)
    noted = model.PersonalDataErased(subject_ref=event.subject_ref, erased_on=event.erased_on)
    ctx = Context.reacting_to(delivery.envelope, organisation, "coordination.consumer")
    await commands.execute(
        conn,
        model.ERASURE,
        f"coordination-erasure-{event.subject_ref}",
        partial(model.note_erasure, erased=noted),
        _no_public,
        ctx,
    )
    await commands.cipher().erase(conn, event.subject_ref)


async def _load(conn: AsyncConnection, case_id: uuid.UUID) -> tuple[Loaded[model.Case], consent.ConsentState]:
    loaded = await commands.load(conn, model.COORDINATION_CASE, stream_id(case_id))
    state = consent.ConsentState()
    if loaded.state.opened is not None:
        state = (
            await commands.load(conn, consent.CONSENT_STATE, consent_stream(loaded.state.opened.case_key))
        ).state
    return loaded, state


async def _authorised(
    engine: AsyncEngine, caller: Caller, case_id: uuid.UUID, action: str
) -> consent.ConsentState:
    async with engine.connect() as conn:
        loaded, consent_state = await _load(conn, case_id)
    enforce(
        authorization.may_act(caller.principal, loaded.state), caller.principal, action, f"case:{case_id}"
    )
    return consent_state


async def agree_plan(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    meeting_type: MeetingType,
    members: list[str],
    goals: list[str],
    roles: list[model.Role],
    agreed_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    consent_state = await _authorised(engine, caller, case_id, "agree_plan")
    return await commands.run(
        engine,
        model.COORDINATION_CASE,
        stream_id(case_id),
        partial(
            model.agree_plan,
            meeting_type=meeting_type,
            members=members,
            goals=goals,
            roles=roles,
            agreed_on=agreed_on,
            consented=consent_state.covers(Program.COORDINATION, agreed_on),
        ),
        to_public,
        caller.context,
        expected_version=expected_version,
    )


async def return_to_origin(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    reason: ReturnReason,
    note: str | None,
    returned_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    await _authorised(engine, caller, case_id, "return")
    return await commands.run(
        engine,
        model.COORDINATION_CASE,
        stream_id(case_id),
        partial(model.return_to_origin, reason=reason, note=note, returned_on=returned_on),
        to_public,
        caller.context,
        expected_version=expected_version,
    )


async def read_case(engine: AsyncEngine, caller: Caller, case_id: uuid.UUID) -> Loaded[model.Case]:
    """A case with its plans, if the caller has a legal basis; the read is recorded."""
    async with engine.connect() as conn:
        loaded, consent_state = await _load(conn, case_id)
    decision = enforce(
        authorization.may_read(caller.principal, loaded.state, consent_state, datetime.now(UTC).date()),
        caller.principal,
        "read_details",
        f"case:{case_id}",
    )
    await access.record(engine, caller, f"case:{case_id}", decision, PERSONAL_FIELDS)
    return loaded
