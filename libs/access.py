"""Records of who saw a person's details, when, and on which legal basis (閲覧記録).

Every read of personal details appends one of these to an access stream of the resource,
in the service's own event store (hash-chained like everything else), before the details
are returned: no unrecorded read. An auditor can then answer "what did user X see about
person P, when, and why" from the log itself.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import CODE_PATTERN
from contracts.glossary import LegalBasis, label_ja
from libs import commands
from libs.authz import Decision, enforce_auditor
from libs.domain import Aggregate, DomainEvent
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


@dataclass(frozen=True)
class AccessLog:
    entries: tuple[PersonalDataViewed, ...] = field(default_factory=tuple)


def _evolve(log: AccessLog, event: DomainEvent) -> AccessLog:
    assert isinstance(event, PersonalDataViewed)
    return AccessLog((*log.entries, event))


ACCESS_LOG = Aggregate[AccessLog](
    stream_type=STREAM_TYPE, initial=AccessLog, evolve=_evolve, events=(PersonalDataViewed,)
)


def _record(_: AccessLog, viewed: PersonalDataViewed) -> list[DomainEvent]:
    return [viewed]


async def record(
    engine: AsyncEngine, caller: Caller, resource: str, decision: Decision, fields: list[str]
) -> None:
    """Append the access record of one read, and commit it, before the caller sees anything."""
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
    await commands.run(
        engine,
        ACCESS_LOG,
        f"access-{resource}",
        partial(_record, viewed=viewed),
        commands.no_public,
        caller.context,
    )


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
