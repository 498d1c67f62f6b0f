"""Authorisation decisions: made by each service's policy, enforced and logged here.

Every decision is logged (ASVS 16.3.2 at level 3: all authorisation decisions, without the
sensitive data itself). A refusal to reach an object answers 404 so that it reveals nothing
about whether the object exists; a refusal of a whole function answers 403.
"""

import logging
from dataclasses import dataclass

from fastapi import HTTPException

from contracts.glossary import LegalBasis, Role
from libs.auth import Principal
from libs.directory import Directory
from libs.domain import DomainError, NotFound

log = logging.getLogger("kasane.authz")

WORKER_ROLES: tuple[Role, ...] = (
    Role.INTAKE_WORKER,
    Role.COORDINATOR,
    Role.OUTREACH_WORKER,
    Role.PARTICIPATION_COORDINATOR,
    Role.COMMUNITY_COORDINATOR,
)
"""The roles of people who work with a person in one of the programs (not auditors, not the
municipality's administrator): the only ones any legal basis can open a person's record to."""


class Forbidden(DomainError):
    status = 403


@dataclass(frozen=True)
class Decision:
    """Allowed or not, on which legal basis, and why (for the log)."""

    allowed: bool
    reason: str
    basis: LegalBasis | None = None
    basis_ref: str | None = None

    @classmethod
    def allow(cls, basis: LegalBasis, reason: str, basis_ref: str | None = None) -> "Decision":
        return cls(True, reason, basis, basis_ref)

    @classmethod
    def deny(cls, reason: str) -> "Decision":
        return cls(False, reason)


def enforce(
    decision: Decision, principal: Principal, action: str, resource: str, *, hide: bool = True
) -> Decision:
    """Log the decision; raise 404 (hide=True, object access) or 403 when it refuses."""
    log.info(
        "authz %s user=%s org=%s action=%s resource=%s basis=%s reason=%s",
        "allow" if decision.allowed else "deny",
        principal.user,
        principal.organisation,
        action,
        resource,
        decision.basis.value if decision.basis else "-",
        decision.reason,
    )
    if decision.allowed:
        return decision
    if hide:
        raise NotFound("not_found", "見つかりません。")
    raise Forbidden("forbidden", "この操作を行う権限がありません。")


def enforce_auditor(principal: Principal, action: str) -> None:
    """Audit functions are for auditors only; everyone else gets 403 (they exist, others may not use them)."""
    allowed = principal.has_any(Role.AUDITOR)
    decision = Decision.allow(LegalBasis.HOLDER, "auditor") if allowed else Decision.deny("not an auditor")
    enforce(decision, principal, action, "audit", hide=False)


def check_identity(principal: Principal, directory: Directory) -> None:
    """The token's user, organisation and roles as the municipality's directory has them: a user
    it does not hold is not authenticated (401); one acting for another organisation, or with a
    role the directory does not give them, is refused (403). Logged, with codes only."""
    user = directory.users.get(principal.user)
    if user is None:
        log.warning("authentication refused: user %s is not in the directory", principal.user)
        raise HTTPException(
            401,
            detail="この利用者は自治体の名簿に登録されていません。市町村担当課に登録を依頼してください。",
            headers={"WWW-Authenticate": 'Bearer realm="kasane", error="invalid_token"'},
        )
    if user.organisation != principal.organisation:
        log.warning(
            "identity refused: user %s claims %s, the directory has %s",
            principal.user,
            principal.organisation,
            user.organisation,
        )
        raise Forbidden("organisation_mismatch", "トークンの所属機関が名簿の所属と一致しません。")
    if extra := principal.roles - user.roles:
        log.warning(
            "identity refused: user %s claims roles %s not in the directory", principal.user, sorted(extra)
        )
        raise Forbidden("role_mismatch", "トークンに名簿にない役割が含まれています。")
