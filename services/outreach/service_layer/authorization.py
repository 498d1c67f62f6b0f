"""Who may do what with outreach's cases: the one place outreach decides it.

An outreach case is often opened before the person has consented to anything, and before any
other program knows them; what the worker writes (who they are, what was said at the door) has
no legal basis to reach another organisation. So:

- Recording a potential client, and listing the register (`may_identify`): an outreach worker
  of an organisation that runs outreach, who sees only their own organisation's cases.
- Acting on a case (contact, milestone, connection, conclusion): an outreach worker of the
  organisation that holds it.
- Reading a case (its description and notes are personal data): the same workers, recorded.
Everyone else gets 404 for a case, whether or not it exists; other programs follow outreach
through its public events, which carry no personal data.
"""

from contracts.glossary import LegalBasis, Program, Role
from libs.auth import Principal
from libs.authz import Decision
from libs.directory import Directory
from services.outreach.domain.model import Case


def may_identify(principal: Principal, directory: Directory) -> Decision:
    if not principal.has_any(Role.OUTREACH_WORKER):
        return Decision.deny("not an outreach worker")
    if Program.OUTREACH not in directory.programs_of(principal.organisation):
        return Decision.deny("organisation does not run the outreach program")
    return Decision.allow(LegalBasis.HOLDER, "outreach worker of an outreach organisation")


def may_act(principal: Principal, case: Case) -> Decision:
    if case.identified is None:
        return Decision.deny("no such case")
    if case.holder == principal.organisation and principal.has_any(Role.OUTREACH_WORKER):
        return Decision.allow(LegalBasis.HOLDER, "outreach worker of the holding organisation")
    return Decision.deny("not an outreach worker of the holding organisation")


def may_read(principal: Principal, case: Case) -> Decision:
    """Only the holder's outreach workers: no consent or meeting reaches an outreach record yet."""
    if may_act(principal, case).allowed:
        return Decision.allow(LegalBasis.HOLDER, "holding organisation")
    return Decision.deny("no legal basis")
