"""Records of who saw a person's details, when, and on which legal basis (閲覧記録).

Every read of personal details appends one of these to an access stream of the resource,
in the service's own event store (hash-chained like everything else), before the details
are returned: no unrecorded read. An auditor can then answer "what did user X see about
person P, when, and why" from the log itself.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.glossary import LegalBasis
from libs import commands
from libs.authz import Decision
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


def _no_public(_: AccessLog, __: DomainEvent) -> list:
    return []


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
        engine, ACCESS_LOG, f"access-{resource}", partial(_record, viewed=viewed), _no_public, caller.context
    )


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
