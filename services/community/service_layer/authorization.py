"""Who may do what with community's records: the one place community decides it.

- Registering a place or recording a platform meeting: a community coordinator of an
  organisation that runs the community program (403 otherwise: a function, not an object).
- Changing a place (activities, volunteers, closing), raising a concern there, reading a
  meeting's decisions: a community coordinator of the organisation that registered it (404
  otherwise, so another organisation learns nothing about the object).
- Reading a concern (it holds a description of a person): the same coordinators; the read is
  recorded (libs/access.py). Nobody else has a legal basis here: the concern's details reach
  intake or outreach only as their own record, after the person is passed on.
- Listing the concerns (`GET /cases`, the register: no personal data): the community
  coordinators of an organisation that runs the community program, the same as registering;
  each sees only their own organisation's concerns.
- Reading the place directory (names, addresses, schedules, attendance counts — no personal
  data): any worker role of the municipality, and the municipal administrator.
- The HSDS export (`/directory/hsds`): any authenticated user. It is the resource directory
  that participation and outside tools read; it carries only public entries of places.
"""

from contracts.glossary import LegalBasis, Program, Role
from libs.auth import Principal
from libs.authz import WORKER_ROLES, Decision
from libs.directory import Directory


def may_register(principal: Principal, directory: Directory) -> Decision:
    if not principal.has_any(Role.COMMUNITY_COORDINATOR):
        return Decision.deny("not a community coordinator")
    if Program.COMMUNITY not in directory.programs_of(principal.organisation):
        return Decision.deny("organisation does not run the community program")
    return Decision.allow(LegalBasis.HOLDER, "community coordinator of a community organisation")


def may_manage(principal: Principal, holder: str | None) -> Decision:
    """`holder`: the organisation that registered the place, concern or meeting (None: no such thing)."""
    if (
        holder is not None
        and holder == principal.organisation
        and principal.has_any(Role.COMMUNITY_COORDINATOR)
    ):
        return Decision.allow(LegalBasis.HOLDER, "community coordinator of the holding organisation")
    return Decision.deny("not a community coordinator of the holding organisation")


def may_read_directory(principal: Principal) -> Decision:
    if principal.has_any(*WORKER_ROLES, Role.MUNICIPAL_ADMINISTRATOR):
        return Decision.allow(LegalBasis.HOLDER, "public place directory")
    return Decision.deny("role does not use the place directory")


def may_export_directory(_: Principal) -> Decision:
    """Any authenticated caller: the export holds public directory entries only."""
    return Decision.allow(LegalBasis.HOLDER, "public resource directory (HSDS)")
