"""Outreach's use cases: authorise, load, decide, append, fill the outbox — and record access.

Three ways a case opens: a worker records someone noticed (民生委員, neighbour, meeting, agency);
coordination refers a case (ReferredToOutreach); a community place raises a concern addressed to
outreach (ConcernRaised). The last two arrive over Kafka and derive the case id from the message's
own id, so a re-delivery finds the case already open.
"""

import secrets
import uuid
from datetime import date
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import events as public
from contracts.glossary import (
    AgeBand,
    ConnectionTarget,
    ContactMethod,
    ContactOutcome,
    IdentifiedBy,
    IssueTag,
    Milestone,
    OutreachConclusionReason,
    Program,
)
from libs import access, commands
from libs.authz import enforce
from libs.commands import Context, Loaded, Outcome
from libs.directory import Directory
from libs.http import Caller
from libs.inbox import Delivery
from services.outreach.domain import model
from services.outreach.service_layer import authorization
from services.outreach.service_layer.public_events import to_public

PERSONAL_FIELDS = [
    "description",
    "note",
    "attempts.note",
    "milestones.note",
    "connection.note",
    "conclusion.note",
]


def stream_id(outreach_case_id: uuid.UUID) -> str:
    return f"outreach-case-{outreach_case_id}"


def new_subject_ref() -> str:
    """A random pseudonym for a person outreach found itself: meaningless without outreach's records."""
    return f"subj_{secrets.token_hex(16)}"


# --- reactions to other programs' public events (run by the inbox consumer) -----------------


async def on_referred(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """Coordination asked outreach to reach the person: open (or find) the case of this referral."""
    referral = delivery.event
    assert isinstance(referral, public.ReferredToOutreach)
    case_id = model.case_id_for_referral(referral.referral_id)
    identified = model.PotentialClientIdentified(
        outreach_case_id=case_id,
        holder_organisation=organisation,
        case_key=referral.case_key,
        subject_ref=referral.subject_ref,
        identified_by=IdentifiedBy.COORDINATION_REFERRAL,
        referral_id=referral.referral_id,
        coordination_case_id=referral.coordination_case_id,
        referring_organisation=delivery.envelope.organisation,
        urgency=referral.urgency,
        issue_tags=referral.issue_tags,
        age_band=referral.age_band,
        district=referral.district,
        identified_on=referral.referred_on,
    )
    await commands.execute(
        conn,
        model.OUTREACH_CASE,
        stream_id(case_id),
        partial(model.open_from_message, identified=identified),
        to_public,
        Context.reacting_to(delivery.envelope, organisation, "outreach.consumer"),
    )


async def on_concern_raised(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """A community place passed a person on to outreach: a potential client, keyed by the concern."""
    concern = delivery.event
    assert isinstance(concern, public.ConcernRaised)
    if concern.raised_to != "outreach":
        return  # raised to intake: intake's business
    case_id = model.case_id_for_concern(concern.concern_id)
    identified = model.PotentialClientIdentified(
        outreach_case_id=case_id,
        holder_organisation=organisation,
        case_key=concern.case_key,
        subject_ref=new_subject_ref(),  # kept only if this delivery opens the case
        identified_by=IdentifiedBy.COMMUNITY_PLACE,
        concern_id=concern.concern_id,
        referring_organisation=delivery.envelope.organisation,
        issue_tags=concern.issue_tags,
        age_band=concern.age_band,
        district=concern.district,
        identified_on=concern.raised_on,
    )
    await commands.execute(
        conn,
        model.OUTREACH_CASE,
        stream_id(case_id),
        partial(model.open_from_message, identified=identified),
        to_public,
        Context.reacting_to(delivery.envelope, organisation, "outreach.consumer"),
    )


# --- commands from workers ------------------------------------------------------------------


async def identify(
    engine: AsyncEngine,
    caller: Caller,
    directory: Directory,
    *,
    outreach_case_id: uuid.UUID,
    identified_by: IdentifiedBy,
    issue_tags: list[IssueTag],
    age_band: AgeBand,
    district: str,
    description: str | None,
    note: str | None,
    identified_on: date,
) -> Outcome[model.Case]:
    """Record a person someone noticed, under a new case key and a new pseudonym."""
    enforce(
        authorization.may_identify(caller.principal, directory),
        caller.principal,
        "identify",
        "cases",
        hide=False,
    )
    identified = model.PotentialClientIdentified(
        outreach_case_id=outreach_case_id,
        holder_organisation=caller.principal.organisation,
        case_key=uuid.uuid4(),
        subject_ref=new_subject_ref(),
        identified_by=identified_by,
        issue_tags=sorted(set(issue_tags)),
        age_band=age_band,
        district=district,
        description=description,
        note=note,
        identified_on=identified_on,
    )
    return await commands.run(
        engine,
        model.OUTREACH_CASE,
        stream_id(outreach_case_id),
        partial(model.identify, identified=identified),
        to_public,
        caller.context,
        expected_version=0,
    )


async def _load(conn: AsyncConnection, case_id: uuid.UUID) -> Loaded[model.Case]:
    return await commands.load(conn, model.OUTREACH_CASE, stream_id(case_id))


async def _change(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    action: str,
    decide: commands.Decide[model.Case],
    expected_version: int | None,
) -> Outcome[model.Case]:
    """One command on the case, by whoever may act on it (else 404 revealing nothing)."""
    return await commands.run(
        engine,
        model.OUTREACH_CASE,
        stream_id(case_id),
        decide,
        to_public,
        caller.context,
        expected_version=expected_version,
        guard=commands.Guard(
            partial(authorization.may_act, caller.principal), caller.principal, action, f"case:{case_id}"
        ),
    )


async def attempt_contact(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    method: ContactMethod,
    outcome: ContactOutcome,
    note: str | None,
    attempted_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    decide = partial(
        model.attempt_contact, method=method, outcome=outcome, note=note, attempted_on=attempted_on
    )
    return await _change(engine, caller, case_id, "attempt_contact", decide, expected_version)


async def reach_milestone(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    milestone: Milestone,
    note: str | None,
    reached_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    decide = partial(model.reach_milestone, milestone=milestone, note=note, reached_on=reached_on)
    return await _change(engine, caller, case_id, "reach_milestone", decide, expected_version)


async def connect(
    engine: AsyncEngine,
    caller: Caller,
    directory: Directory,
    case_id: uuid.UUID,
    *,
    connected_to: ConnectionTarget,
    organisation: str,
    note: str | None,
    connected_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    program = {ConnectionTarget.INTAKE: Program.INTAKE, ConnectionTarget.COORDINATION: Program.COORDINATION}
    runs = connected_to not in program or program[connected_to] in directory.programs_of(organisation)
    decide = partial(
        model.connect,
        connected_to=connected_to,
        organisation=organisation,
        runs_target_program=runs,
        note=note,
        connected_on=connected_on,
    )
    return await _change(engine, caller, case_id, "connect", decide, expected_version)


async def conclude(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    reason: OutreachConclusionReason,
    note: str | None,
    concluded_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    decide = partial(model.conclude, reason=reason, note=note, concluded_on=concluded_on)
    return await _change(engine, caller, case_id, "conclude", decide, expected_version)


async def read_case(engine: AsyncEngine, caller: Caller, case_id: uuid.UUID) -> Loaded[model.Case]:
    """A case with the worker's description and notes, if the caller may see them; the read is recorded."""
    async with engine.connect() as conn:
        loaded = await _load(conn, case_id)
    decision = enforce(
        authorization.may_read(caller.principal, loaded.state),
        caller.principal,
        "read_details",
        f"case:{case_id}",
    )
    await access.record(engine, caller, f"case:{case_id}", decision, PERSONAL_FIELDS)
    return loaded
