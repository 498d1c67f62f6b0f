"""Break-glass on intake's cases (libs/breakglass.py): the request, the review queue, the review.

A request and its refusal are both recorded on the case's emergency stream before the answer goes
out; a grant opens the case's details to that user alone until it expires, each read recorded
with the grant as its basis (`handlers.read_case`).
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from libs import access, breakglass, commands
from libs.authz import Decision, Forbidden, enforce
from libs.breakglass import EMERGENCIES, Emergencies, RequestEmergencyAccess
from libs.commands import Outcome
from libs.directory import Directory
from libs.domain import DomainError, NotFound
from libs.eventstore import EventStore, Session
from libs.http import Caller
from services.intake.domain import model
from services.intake.service_layer import authorization
from services.intake.service_layer.handlers import stream_id

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


async def request_access(
    store: EventStore,
    caller: Caller,
    directory: Directory,
    case_id: uuid.UUID,
    request: RequestEmergencyAccess,
) -> Outcome[Emergencies]:
    """Grant or refuse, and record either; a refusal answers 403 once it is recorded."""
    principal = caller.principal
    eligibility = authorization.may_break_glass(principal, directory)

    async def decide(session: Session) -> Outcome[Emergencies]:
        case = (await session.load(model.INTAKE_CASE, stream_id(case_id))).state
        if case.holder is None:
            raise NotFound("not_found", "見つかりません。")
        if case.holder == principal.organisation:
            raise DomainError(
                "not_needed", "保有機関の職員は緊急時の閲覧の手続きなしにこのケースを見られます。"
            )
        command = breakglass.Grant(
            request=request,
            grant_id=uuid.uuid4(),
            case_key=case_id,
            subject_ref=case.subject_ref,
            user=principal.user,
            organisation=principal.organisation,
            eligible=eligibility.allowed,
            why_not=None if eligibility.allowed else eligibility.reason,
            now=now(),
            hours=breakglass.hours(),
        )
        return await commands.execute(
            session,
            EMERGENCIES,
            breakglass.stream_id(case_id),
            command,
            commands.no_public,
            caller.context,
            case_key=case_id,
        )

    outcome = await commands.transact(store, decide)
    if not eligibility.allowed:  # a 403 once the attempt is recorded
        log.warning(
            "break-glass refused user=%s org=%s case=%s: %s",
            principal.user,
            principal.organisation,
            case_id,
            eligibility.reason,
        )
        raise Forbidden(
            "not_eligible",
            "緊急時の閲覧を求められるのは、この事業を運営する機関か、法令上の義務が名簿に記録された機関の"
            "職員だけです。この試みは記録され、監査担当が確認します。",
        )
    enforce(eligibility, principal, "break_glass", f"case:{case_id}", hide=False)
    return outcome


@dataclass(frozen=True)
class Entry:
    """One line of the review queue: a grant (with its reviews) or a refused attempt."""

    case_id: uuid.UUID
    granted: breakglass.GrantState | None
    refused: breakglass.EmergencyAccessRefused | None


async def queue(store: EventStore, caller: Caller) -> list[Entry]:
    """Grants and refused attempts to review: every case's for the auditor, the cases it holds for
    an intake worker of the holding organisation; nobody else has a queue (an empty one)."""
    auditor = authorization.may_review_emergencies(caller.principal, None).allowed
    entries: list[Entry] = []
    async with store.reading() as session:
        for sid in await session.stream_ids(breakglass.STREAM_TYPE):
            case_id = breakglass.case_key_of(sid)
            if not auditor:
                holder = (await session.load(model.INTAKE_CASE, stream_id(case_id))).state.holder
                if not authorization.may_review_emergencies(caller.principal, holder).allowed:
                    continue
            state = (await session.load(EMERGENCIES, sid)).state
            entries += [Entry(case_id, g, None) for g in state.grants]
            entries += [Entry(case_id, None, r) for r in state.refused]
    return sorted(entries, key=lambda e: _at(e), reverse=True)


def _at(entry: Entry) -> datetime:
    if entry.granted is not None:
        return entry.granted.granted.granted_at
    assert entry.refused is not None
    return entry.refused.attempted_at


def _reviewer(caller: Caller, case_id: uuid.UUID) -> access.Policy[Emergencies]:
    async def policy(session: Session, _: Emergencies) -> Decision:
        holder = (await session.load(model.INTAKE_CASE, stream_id(case_id))).state.holder
        return authorization.may_review_emergencies(caller.principal, holder)

    return policy


async def read(store: EventStore, caller: Caller, case_id: uuid.UUID) -> Emergencies:
    """A case's break-glass record with the reasons (sealed: about the person), for its reviewers;
    recorded like any read of personal data."""
    loaded = await access.read(
        store,
        caller,
        EMERGENCIES,
        breakglass.stream_id(case_id),
        _reviewer(caller, case_id),
        resource=f"emergency:{case_id}",
        fields=["grants.reason", "grants.reviews.note"],
        action="read_emergencies",
    )
    return loaded.state


async def review(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    grant_id: uuid.UUID,
    request: breakglass.ReviewEmergencyAccess,
) -> Outcome[Emergencies]:
    command = breakglass.Review(
        grant_id=grant_id,
        finding=request.finding,
        note=request.note,
        by_user=caller.principal.user,
        by_organisation=caller.principal.organisation,
        now=now(),
    )

    async def decide(session: Session) -> Outcome[Emergencies]:
        holder = (await session.load(model.INTAKE_CASE, stream_id(case_id))).state.holder
        guard = commands.Guard(
            lambda _: authorization.may_review_emergencies(caller.principal, holder),
            caller.principal,
            "review_break_glass",
            f"case:{case_id}",
        )
        return await commands.execute(
            session,
            EMERGENCIES,
            breakglass.stream_id(case_id),
            command,
            commands.no_public,
            caller.context,
            guard=guard,
            case_key=case_id,
        )

    return await commands.transact(store, decide)
