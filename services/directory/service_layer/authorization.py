"""Who may do what with the directory: the one place the directory service decides it.

- Changing it (organisations, districts, school districts, users): a municipal administrator
  (市町村担当課) of the organisation that keeps the directory. An administrator of any other
  organisation, and every other role, gets 403.
- Reading organisations and districts (codes, names, kinds, the programs each runs, the areas it
  serves; no personal data): anyone signed in, so every screen can show names, not codes.
- Reading users (who may sign in, with their roles and names): the administrators who keep it and
  the auditor, who checks who could see what.
"""

from contracts.glossary import LegalBasis, Role
from libs.auth import Principal
from libs.authz import Decision


def may_administer(principal: Principal, keeper: str) -> Decision:
    """`keeper`: the organisation that keeps the directory (the service's own)."""
    if not principal.has_any(Role.MUNICIPAL_ADMINISTRATOR):
        return Decision.deny("only the municipal administrator changes the directory")
    if principal.organisation != keeper:
        return Decision.deny("administrator of an organisation that does not keep the directory")
    return Decision.allow(LegalBasis.HOLDER, "municipal administrator keeping the directory")


def may_read(_: Principal) -> Decision:
    return Decision.allow(LegalBasis.HOLDER, "the municipality's organisations and districts")


def may_read_users(principal: Principal, keeper: str) -> Decision:
    if principal.has_any(Role.AUDITOR):
        return Decision.allow(LegalBasis.HOLDER, "auditor checking who may sign in")
    return may_administer(principal, keeper)
