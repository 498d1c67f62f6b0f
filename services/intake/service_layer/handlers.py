"""Intake's use cases: each loads the case, decides, appends and fills the outbox."""

import secrets
import uuid
from datetime import date
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import events as public
from contracts.glossary import Channel, IssueTag, Urgency
from libs import commands
from libs.commands import Context, Outcome
from libs.domain import NotFound
from libs.inbox import Delivery
from services.intake.domain import model
from services.intake.service_layer.public_events import to_public


def stream_id(case_id: uuid.UUID) -> str:
    return f"intake-case-{case_id}"


def new_subject_ref() -> str:
    """A random pseudonym: unlinkable to the person without intake's own records."""
    return f"subj_{secrets.token_hex(16)}"


async def receive_consultation(
    engine: AsyncEngine,
    ctx: Context,
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
    event = model.ConsultationReceived(
        case_id=case_id,
        subject_ref=new_subject_ref(),
        channel=channel,
        person=person,
        household=household,
        issue_tags=sorted(set(issue_tags)),
        district=district,
        summary=summary,
        received_on=received_on,
    )
    return await commands.run(
        engine,
        model.INTAKE_CASE,
        stream_id(case_id),
        partial(model.receive, event=event),
        partial(to_public, organisation=ctx.organisation),
        ctx,
        expected_version=0,
    )


async def refer_to_coordination(
    engine: AsyncEngine,
    ctx: Context,
    case_id: uuid.UUID,
    *,
    urgency: Urgency,
    consent_to_share: bool,
    reason: str,
    referred_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    event = model.ReferredToCoordination(
        referral_id=uuid.uuid4(),
        urgency=urgency,
        consent_to_share=consent_to_share,
        reason=reason,
        referred_on=referred_on,
    )
    return await commands.run(
        engine,
        model.INTAKE_CASE,
        stream_id(case_id),
        partial(model.refer, referral=event),
        partial(to_public, organisation=ctx.organisation),
        ctx,
        expected_version=expected_version,
    )


async def get_case(engine: AsyncEngine, case_id: uuid.UUID) -> commands.Loaded[model.Case]:
    async with engine.connect() as conn:
        loaded = await commands.load(conn, model.INTAKE_CASE, stream_id(case_id))
    if loaded.state.status is model.Status.NEW:
        raise NotFound("case_not_found", "相談が見つかりません。")
    return loaded


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
    if event.returned_to != organisation:
        return  # returned to another organisation's case: not ours to record
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
