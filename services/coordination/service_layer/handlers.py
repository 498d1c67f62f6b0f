"""Coordination's use cases: open from a referral (or decline it), assess, plan and revise, record
roles' acceptance, meetings and monitoring, refer to outreach and participation, conclude, return."""

import uuid
from datetime import date
from functools import partial

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import events as public
from contracts.envelope import PublicEvent
from contracts.glossary import (
    ConclusionOutcome,
    MeetingType,
    ParticipationNeed,
    Program,
    ReturnReason,
    Urgency,
)
from libs import access, clock, commands
from libs.authz import Decision, enforce
from libs.commands import Context, Decide, Loaded, Outcome, no_public
from libs.directory import Directory
from libs.domain import InvalidCommand, NotFound
from libs.http import Caller
from libs.inbox import Delivery
from services.coordination.domain import consent, meeting, model
from services.coordination.service_layer import authorization
from services.coordination.service_layer.public_events import meeting_to_public, to_public

PERSONAL_FIELDS = [
    "assessments.members",
    "plans.goals",
    "plans.roles.note",
    "monitoring.note",
    "outreach_referrals.reason",
    "participation_referrals.reason",
    "concluded.evaluation",
    "returned.note",
]


def stream_id(coordination_case_id: uuid.UUID) -> str:
    return f"coordination-case-{coordination_case_id}"


def consent_stream(case_key: uuid.UUID) -> str:
    return f"coordination-consent-{case_key}"


def meeting_stream(meeting_id: uuid.UUID) -> str:
    return f"coordination-meeting-{meeting_id}"


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
        no_public,
        ctx,
    )


_CASES_BY_KEY = text(
    "SELECT stream_id FROM events WHERE stream_type = :t AND event_type = 'CaseOpened' "
    "AND data->>'case_key' = :k ORDER BY global_position"
)


async def on_connected_to_support(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """Outreach connected a person to coordination: note it on the case of that case key.

    Coordination cases open only from intake's referrals, so a key with no case here is
    nothing coordination can act on yet: ignored (outreach's own record keeps the connection).
    The latest case of the key is the one a connection can matter to.
    """
    event = delivery.event
    assert isinstance(event, public.ConnectedToSupport)
    if event.connected_to != "coordination":
        return
    streams = (
        (await conn.execute(_CASES_BY_KEY, {"t": model.STREAM_TYPE, "k": str(event.case_key)}))
        .scalars()
        .all()
    )
    if not streams:
        return
    noted = model.ConnectionNoted(
        outreach_case_id=event.outreach_case_id,
        organisation=event.organisation,
        connected_on=event.connected_on,
    )
    await commands.execute(
        conn,
        model.COORDINATION_CASE,
        streams[-1],
        partial(model.note_connection, noted=noted),
        to_public,
        Context.reacting_to(delivery.envelope, organisation, "coordination.consumer"),
    )


def _partner_report(event: PublicEvent) -> tuple[Program, str | None, uuid.UUID, date]:
    """What a partner's public event tells coordination: program, detail code, partner case, date."""
    match event:
        case public.ParticipationAccepted():
            return Program.PARTICIPATION, None, event.participation_case_id, event.accepted_on
        case public.PlacementStarted():
            return Program.PARTICIPATION, event.menu_kind.value, event.participation_case_id, event.started_on
        case public.PlacementEnded():
            return Program.PARTICIPATION, event.outcome.value, event.participation_case_id, event.ended_on
        case public.OutreachConcluded():
            return Program.OUTREACH, event.reason.value, event.outreach_case_id, event.concluded_on
        case public.ConnectedToSupport():
            return Program.OUTREACH, event.connected_to.value, event.outreach_case_id, event.connected_on
    raise TypeError(f"not a partner report: {event.event_type}")


async def on_partner_report(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """Outreach and participation report back (seed 002): note it on the case that referred them.

    Keys with no coordination case are people the partner found or took on itself: nothing to
    note here (the partner's own record and the projections keep them).
    """
    event = delivery.event
    if isinstance(event, public.ConnectedToSupport) and event.connected_to == "coordination":
        await on_connected_to_support(conn, delivery, organisation=organisation)
        return
    streams = (
        (await conn.execute(_CASES_BY_KEY, {"t": model.STREAM_TYPE, "k": str(event.case_key)}))
        .scalars()
        .all()
    )
    if not streams:
        return
    program, detail, partner_case, on = _partner_report(event)
    reported = model.PartnerReported(
        program=program, report=event.event_type, detail=detail, partner_case_id=partner_case, reported_on=on
    )
    await commands.execute(
        conn,
        model.COORDINATION_CASE,
        streams[-1],
        partial(model.note_partner_report, reported=reported),
        to_public,
        Context.reacting_to(delivery.envelope, organisation, "coordination.consumer"),
    )


async def _load(conn: AsyncConnection, case_id: uuid.UUID) -> tuple[Loaded[model.Case], consent.ConsentState]:
    loaded = await commands.load(conn, model.COORDINATION_CASE, stream_id(case_id))
    state = consent.ConsentState()
    if loaded.state.opened is not None:
        state = (
            await commands.load(conn, consent.CONSENT_STATE, consent_stream(loaded.state.opened.case_key))
        ).state
    return loaded, state


def _guard(caller: Caller, case_id: uuid.UUID, action: str) -> commands.Guard[model.Case]:
    """The holder's coordinator, or 404 revealing nothing."""
    return commands.Guard(
        partial(authorization.may_act, caller.principal), caller.principal, action, f"case:{case_id}"
    )


async def _authorised(
    conn: AsyncConnection, caller: Caller, case_id: uuid.UUID, action: str
) -> tuple[Loaded[model.Case], consent.ConsentState]:
    """The case and its consent state, read in the command's transaction, if the caller may act."""
    loaded, consent_state = await _load(conn, case_id)
    _guard(caller, case_id, action).check(loaded.state)
    return loaded, consent_state


async def _act(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    action: str,
    decide: Decide[model.Case],
    expected_version: int | None,
) -> Outcome[model.Case]:
    """One command on the case, by the holder's coordinator."""
    return await commands.run(
        engine,
        model.COORDINATION_CASE,
        stream_id(case_id),
        decide,
        to_public,
        caller.context,
        expected_version=expected_version,
        guard=_guard(caller, case_id, action),
    )


async def _meeting_of(
    conn: AsyncConnection, caller: Caller, meeting_id: uuid.UUID, case_id: uuid.UUID
) -> meeting.MeetingHeld:
    """The meeting a case decision cites: held by the caller's organisation and about this case."""
    state = (await commands.load(conn, meeting.MEETING, meeting_stream(meeting_id))).state
    if state.held is None or state.held.holder_organisation != caller.principal.organisation:
        raise NotFound("meeting_not_found", "会議の記録が見つかりません。")
    return meeting.terms_for(state, case_id)


async def decline(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    note: str,
    declined_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """不受理: the referral goes back to its origin as ReturnedToOrigin(referral_declined)."""
    return await _act(
        engine,
        caller,
        case_id,
        "decline",
        partial(model.decline, note=note, declined_on=declined_on),
        expected_version,
    )


async def record_assessment(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    assessed_on: date,
    members: list[model.MemberAssessment],
    expected_version: int | None,
) -> Outcome[model.Case]:
    event = model.AssessmentRecorded(assessed_on=assessed_on, members=members)
    return await _act(
        engine, caller, case_id, "assess", partial(model.assess, assessment=event), expected_version
    )


async def agree_plan(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    goals: list[str],
    roles: list[model.Role],
    meeting_type: MeetingType | None = None,
    members: list[str] | None = None,
    agreed_on: date | None = None,
    meeting_id: uuid.UUID | None = None,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """A plan version agreed at a meeting: named by its record (`meeting_id`), or described inline."""

    async def agree(conn: AsyncConnection) -> Outcome[model.Case]:
        loaded, consent_state = await _authorised(conn, caller, case_id, "agree_plan")
        kind, attending, on = meeting_type, members, agreed_on
        if meeting_id is not None:
            held = await _meeting_of(conn, caller, meeting_id, case_id)
            attended = sorted({a.organisation for a in held.attendees})
            if (
                (kind is not None and kind is not held.meeting_type)
                or (attending is not None and sorted(set(attending)) != attended)
                or (on is not None and on != held.held_on)
            ):
                raise InvalidCommand(
                    "plan_meeting_mismatch",
                    "会議の種類・出席機関・日付は会議の記録と一致させるか、省略してください。",
                )
            kind, attending, on = held.meeting_type, attended, held.held_on
        if kind is None or attending is None or on is None:
            raise InvalidCommand(
                "plan_without_meeting",
                "会議の記録（meeting_id）か、会議の種類・出席機関・決定日を指定してください。",
            )
        return await commands.execute(
            conn,
            model.COORDINATION_CASE,
            stream_id(case_id),
            partial(
                model.agree_plan,
                meeting_type=kind,
                members=attending,
                goals=goals,
                roles=roles,
                agreed_on=on,
                consented=consent_state.covers(Program.COORDINATION, on),
                meeting_id=meeting_id,
            ),
            to_public,
            caller.context,
            expected_version=expected_version,
            loaded=loaded,
        )

    return await commands.transact(engine, agree, retry=expected_version is None)


async def accept_role(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    plan_version: int,
    role_index: int,
    accepted_on: date,
) -> Outcome[model.Case]:
    """Record an agency's acceptance of its role: by the holder's coordinator or the agency itself."""

    def may_accept(case: model.Case) -> Decision:
        plan = next((p for p in case.plans if p.plan_version == plan_version), None)
        role = plan.roles[role_index] if plan and plan.roles and 0 <= role_index < len(plan.roles) else None
        return authorization.may_accept_role(caller.principal, case, role)

    return await commands.run(
        engine,
        model.COORDINATION_CASE,
        stream_id(case_id),
        partial(
            model.accept_role,
            plan_version=plan_version,
            role_index=role_index,
            accepted_on=accepted_on,
            recorded_by=caller.principal.organisation,
        ),
        to_public,
        caller.context,
        guard=commands.Guard(may_accept, caller.principal, "accept_role", f"case:{case_id}"),
    )


async def monitor(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    monitored_on: date,
    note: str,
    organisations: list[str],
    expected_version: int | None,
) -> Outcome[model.Case]:
    return await _act(
        engine,
        caller,
        case_id,
        "monitor",
        partial(model.monitor, monitored_on=monitored_on, note=note, organisations=organisations),
        expected_version,
    )


async def refer_to_outreach(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    urgency: Urgency,
    reason: str,
    referred_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    event = model.ReferredToOutreach(
        referral_id=uuid.uuid4(), urgency=urgency, reason=reason, referred_on=referred_on
    )
    return await _act(
        engine,
        caller,
        case_id,
        "refer_to_outreach",
        partial(model.refer_to_outreach, referral=event),
        expected_version,
    )


async def refer_to_participation(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    needs: list[ParticipationNeed],
    reason: str,
    referred_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    event = model.ReferredToParticipation(
        referral_id=uuid.uuid4(), needs=sorted(set(needs)), reason=reason, referred_on=referred_on
    )
    return await _act(
        engine,
        caller,
        case_id,
        "refer_to_participation",
        partial(model.refer_to_participation, referral=event),
        expected_version,
    )


async def conclude(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    outcome: ConclusionOutcome,
    goals_met: int,
    evaluation: str,
    concluded_on: date,
    meeting_id: uuid.UUID | None = None,
    expected_version: int | None,
) -> Outcome[model.Case]:
    decide = partial(
        model.conclude,
        outcome=outcome,
        goals_met=goals_met,
        evaluation=evaluation,
        concluded_on=concluded_on,
        meeting_id=meeting_id,
    )
    return await _act_at_meeting(engine, caller, case_id, "conclude", decide, meeting_id, expected_version)


async def return_to_origin(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    reason: ReturnReason,
    note: str | None,
    returned_on: date,
    meeting_id: uuid.UUID | None = None,
    expected_version: int | None,
) -> Outcome[model.Case]:
    decide = partial(
        model.return_to_origin, reason=reason, note=note, returned_on=returned_on, meeting_id=meeting_id
    )
    return await _act_at_meeting(engine, caller, case_id, "return", decide, meeting_id, expected_version)


async def _act_at_meeting(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    action: str,
    decide: Decide[model.Case],
    meeting_id: uuid.UUID | None,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """A decision on the case that may cite the meeting where it was taken (checked, same transaction)."""

    async def act(conn: AsyncConnection) -> Outcome[model.Case]:
        loaded, _ = await _authorised(conn, caller, case_id, action)
        if meeting_id is not None:
            await _meeting_of(conn, caller, meeting_id, case_id)
        return await commands.execute(
            conn,
            model.COORDINATION_CASE,
            stream_id(case_id),
            decide,
            to_public,
            caller.context,
            expected_version=expected_version,
            loaded=loaded,
        )

    return await commands.transact(engine, act, retry=expected_version is None)


async def hold_meeting(
    engine: AsyncEngine,
    caller: Caller,
    directory: Directory,
    *,
    meeting_id: uuid.UUID,
    meeting_type: MeetingType,
    held_on: date,
    attendees: list[meeting.Attendee],
    cases: list[uuid.UUID],
    decisions: list[meeting.CaseDecision],
    missing_resources: list[meeting.MissingResource],
) -> Outcome[meeting.Meeting]:
    """Record a meeting. Every case it discussed must be the caller's organisation's (404
    otherwise, revealing nothing); a 重層的支援会議 needs each person's consent on the day."""
    enforce(
        authorization.may_hold_meeting(caller.principal, directory),
        caller.principal,
        "hold_meeting",
        "meetings",
        hide=False,
    )
    held = meeting.MeetingHeld(
        meeting_id=meeting_id,
        holder_organisation=caller.principal.organisation,
        meeting_type=meeting_type,
        held_on=held_on,
        attendees=attendees,
        cases=cases,
        decisions=decisions,
        missing_resources=missing_resources,
    )

    async def hold(conn: AsyncConnection) -> Outcome[meeting.Meeting]:
        consented: set[uuid.UUID] = set()
        for case_id in cases:
            _, consent_state = await _authorised(conn, caller, case_id, "discuss_at_meeting")
            if consent_state.covers(Program.COORDINATION, held_on):
                consented.add(case_id)
        return await commands.execute(
            conn,
            meeting.MEETING,
            meeting_stream(meeting_id),
            partial(meeting.hold, held=held, consented=consented),
            meeting_to_public,
            caller.context,
            expected_version=0,
        )

    return await commands.transact(engine, hold, retry=False)


async def read_meeting(engine: AsyncEngine, caller: Caller, meeting_id: uuid.UUID) -> Loaded[meeting.Meeting]:
    """A meeting record (codes only), to those who held or attended it; the read is recorded."""
    async with engine.connect() as conn:
        loaded = await commands.load(conn, meeting.MEETING, meeting_stream(meeting_id))
    decision = enforce(
        authorization.may_read_meeting(caller.principal, loaded.state),
        caller.principal,
        "read_meeting",
        f"meeting:{meeting_id}",
    )
    await access.record(
        engine, caller, f"meeting:{meeting_id}", decision, ["attendees", "cases", "decisions"]
    )
    return loaded


async def read_case(engine: AsyncEngine, caller: Caller, case_id: uuid.UUID) -> Loaded[model.Case]:
    """A case with its plans, if the caller has a legal basis; the read is recorded."""
    async with engine.connect() as conn:
        loaded, consent_state = await _load(conn, case_id)
    decision = enforce(
        authorization.may_read(caller.principal, loaded.state, consent_state, clock.today()),
        caller.principal,
        "read_details",
        f"case:{case_id}",
    )
    await access.record(engine, caller, f"case:{case_id}", decision, PERSONAL_FIELDS)
    return loaded
