"""Coordination's use cases: open from a referral, agree a plan, return the case."""

import uuid
from datetime import date
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import events as public
from contracts.glossary import MeetingType, ReturnReason
from libs import commands
from libs.commands import Context, Outcome
from libs.domain import NotFound
from libs.inbox import Delivery
from services.coordination.domain import model
from services.coordination.service_layer.public_events import to_public


def stream_id(coordination_case_id: uuid.UUID) -> str:
    return f"coordination-case-{coordination_case_id}"


async def on_referred(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """支援依頼を受ける: open (or find) the coordination case of this referral."""
    referral = delivery.event
    assert isinstance(referral, public.ReferredToCoordination)
    case_id = model.case_id_for(referral.referral_id)
    opened = model.CaseOpened(
        coordination_case_id=case_id,
        case_key=referral.case_key,
        referral_id=referral.referral_id,
        referring_organisation=referral.referring_organisation,
        subject_ref=referral.subject_ref,
        issue_tags=referral.issue_tags,
        age_band=referral.age_band,
        district=referral.district,
        urgency=referral.urgency,
        consent_to_share=referral.consent_to_share,
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


async def agree_plan(
    engine: AsyncEngine,
    ctx: Context,
    case_id: uuid.UUID,
    *,
    meeting_type: MeetingType,
    goals: list[str],
    roles: list[model.Role],
    agreed_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    return await commands.run(
        engine,
        model.COORDINATION_CASE,
        stream_id(case_id),
        partial(model.agree_plan, meeting_type=meeting_type, goals=goals, roles=roles, agreed_on=agreed_on),
        to_public,
        ctx,
        expected_version=expected_version,
    )


async def return_to_origin(
    engine: AsyncEngine,
    ctx: Context,
    case_id: uuid.UUID,
    *,
    reason: ReturnReason,
    note: str | None,
    returned_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    return await commands.run(
        engine,
        model.COORDINATION_CASE,
        stream_id(case_id),
        partial(model.return_to_origin, reason=reason, note=note, returned_on=returned_on),
        to_public,
        ctx,
        expected_version=expected_version,
    )


async def get_case(engine: AsyncEngine, case_id: uuid.UUID) -> commands.Loaded[model.Case]:
    async with engine.connect() as conn:
        loaded = await commands.load(conn, model.COORDINATION_CASE, stream_id(case_id))
    if loaded.state.status is model.Status.NEW:
        raise NotFound("case_not_found", "ケースが見つかりません。")
    return loaded
