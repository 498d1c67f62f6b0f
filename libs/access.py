"""Records of who saw a person's details, when, and on which legal basis (閲覧記録).

Every read of personal details appends one of these to an access stream of the resource,
in the service's own event store (hash-chained like everything else), before the details
are returned: no unrecorded read. An auditor can then answer "what did user X see about
person P, when, and why" from the log itself.
"""

import inspect
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel

from contracts.envelope import CODE_PATTERN
from contracts.glossary import LegalBasis, label_ja
from libs.authz import Decision, enforce, enforce_auditor
from libs.domain import Aggregate, DomainEvent
from libs.eventstore import EventStore, Loaded, LogQuery, NewEvent, Session
from libs.http import Caller, CallerDep, StoreDep

S = TypeVar("S")
Policy = Callable[[Session, S], Decision | Awaitable[Decision]]

STREAM_TYPE = "AccessLog"


class PersonalDataViewed(DomainEvent):
    resource: str
    user: str
    organisation: str
    basis: LegalBasis
    basis_ref: str | None
    reason: str | None = None
    """A declared reason, on records made before break-glass was a request of its own (the grant,
    named by `basis_ref`, now holds it, sealed)."""
    fields: list[str]
    viewed_at: datetime
    review_required: bool


async def read(
    store: EventStore,
    caller: Caller,
    aggregate: Aggregate[S],
    stream_id: str,
    policy: Policy[S],
    *,
    resource: str | Callable[[S], str],
    fields: list[str],
    action: str = "read_details",
) -> Loaded[S]:
    """Every read of a record with personal data: load, authorise, record the access, then return.

    `policy` judges the state as loaded (in the same session, so a policy that needs another
    stream, such as the consents of the case, reads it as of the same moment). A refusal is a
    404 that says nothing; an allowed read is recorded and committed before the caller sees it.
    `resource`: what the access record is filed under, or how to name it from the state (a record
    whose case key is inside it).
    """
    async with store.reading() as session:
        loaded = await session.load(aggregate, stream_id)
        judged = policy(session, loaded.state)
        decision = await judged if inspect.isawaitable(judged) else judged
    if callable(resource):
        resource = resource(loaded.state)
    enforce(decision, caller.principal, action, resource)
    await record(store, caller, resource, decision, fields, case_key=aggregate.case_key_of(loaded.state))
    return loaded


async def record(
    store: EventStore,
    caller: Caller,
    resource: str,
    decision: Decision,
    fields: list[str],
    *,
    case_key: uuid.UUID | None = None,
) -> None:
    """Append the access record of one read, and commit it, before the caller sees anything.

    Reads of one case by many workers at once each add their record; none waits for another's
    version or fails because of it (a read is never refused because someone else read).
    """
    assert decision.allowed and decision.basis is not None
    viewed = PersonalDataViewed(
        resource=resource,
        user=caller.principal.user,
        organisation=caller.principal.organisation,
        basis=decision.basis,
        basis_ref=decision.basis_ref,
        fields=fields,
        viewed_at=datetime.now(UTC),
        review_required=decision.basis is LegalBasis.EMERGENCY,
    )
    stored = NewEvent(
        viewed.event_type(),
        viewed.model_dump(mode="json"),
        viewed.schema_version,
        caller.context.metadata(),
        case_key=case_key,
    )
    async with store.transaction() as session:
        await session.append_at_end(f"access-{resource}", STREAM_TYPE, [stored])


class AccessRecordView(BaseModel):
    resource: str
    user: str
    organisation: str
    basis: LegalBasis
    basis_label: str
    basis_ref: str | None
    reason: str | None
    fields: list[str]
    viewed_at: datetime
    review_required: bool


# `GET /audit/access` on every service: its access records, for auditors only.
router = APIRouter(tags=["audit"])


@router.get(
    "/audit/access",
    response_model=list[AccessRecordView],
    summary="個人情報の閲覧記録（監査担当のみ）",
)
async def access_records(
    caller: CallerDep,
    store: StoreDep,
    case_id: Annotated[uuid.UUID | None, Query()] = None,
    user: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
) -> list[AccessRecordView]:
    enforce_auditor(caller.principal, "read_access_records")
    found = await records(store, resource=f"case:{case_id}" if case_id else None, user=user)
    return [AccessRecordView(basis_label=label_ja(r.basis), **r.model_dump()) for r in found]


async def records(store: EventStore, *, resource: str | None, user: str | None) -> list[PersonalDataViewed]:
    """Access records filtered by resource and/or user, oldest first."""
    async with store.reading() as session:
        if resource is not None:
            rows = await session.read_stream(f"access-{resource}")
        else:
            rows = await session.log_all(LogQuery(stream_type=STREAM_TYPE, actor=user))
    found = [PersonalDataViewed.model_validate(r.data) for r in rows]
    return [r for r in found if user is None or r.user == user]
