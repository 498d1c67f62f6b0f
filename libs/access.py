"""Records of who saw a person's details, when, and on which legal basis (閲覧記録).

Every read of personal details appends one of these to an access stream of the resource,
in the service's own event store (hash-chained like everything else), before the details
are returned: no unrecorded read. An auditor can then answer "what did user X see about
person P, when, and why" from the log itself.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import CODE_PATTERN
from contracts.glossary import LegalBasis, label_ja
from libs import eventstore
from libs.authz import Decision, enforce_auditor
from libs.domain import DomainEvent
from libs.eventstore import NewEvent
from libs.http import Caller

STREAM_TYPE = "AccessLog"


class PersonalDataViewed(DomainEvent):
    resource: str
    user: str
    organisation: str
    basis: LegalBasis
    basis_ref: str | None
    reason: str | None
    fields: list[str]
    viewed_at: datetime
    review_required: bool


async def record(
    engine: AsyncEngine, caller: Caller, resource: str, decision: Decision, fields: list[str]
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
        reason=caller.declared_reason,
        fields=fields,
        viewed_at=datetime.now(UTC),
        review_required=decision.basis is LegalBasis.EMERGENCY,
    )
    stored = NewEvent(
        viewed.event_type(), viewed.model_dump(mode="json"), viewed.schema_version, caller.context.metadata()
    )
    async with engine.begin() as conn:
        await eventstore.append_at_end(conn, f"access-{resource}", STREAM_TYPE, [stored])


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


def routes(app: FastAPI) -> None:
    """`GET /audit/access` on every service: its access records, for auditors only."""
    engine: AsyncEngine = app.state.runtime.engine
    CallerDep = Annotated[Caller, Depends(app.state.caller)]

    @app.get(
        "/audit/access",
        response_model=list[AccessRecordView],
        tags=["audit"],
        summary="個人情報の閲覧記録（監査担当のみ）",
    )
    async def access_records(
        caller: CallerDep,
        case_id: Annotated[uuid.UUID | None, Query()] = None,
        user: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
    ) -> list[AccessRecordView]:
        enforce_auditor(caller.principal, "read_access_records")
        found = await records(engine, resource=f"case:{case_id}" if case_id else None, user=user)
        return [AccessRecordView(basis_label=label_ja(r.basis), **r.model_dump()) for r in found]


async def records(engine: AsyncEngine, *, resource: str | None, user: str | None) -> list[PersonalDataViewed]:
    """Access records filtered by resource and/or user, oldest first."""
    query = "SELECT data FROM events WHERE stream_type = :t"
    params: dict[str, object] = {"t": STREAM_TYPE}
    if resource is not None:
        query += " AND stream_id = :s"
        params["s"] = f"access-{resource}"
    if user is not None:
        query += " AND data->>'user' = :u"
        params["u"] = user
    async with engine.connect() as conn:
        rows = (await conn.execute(text(query + " ORDER BY global_position"), params)).scalars().all()
    return [PersonalDataViewed.model_validate(r) for r in rows]
