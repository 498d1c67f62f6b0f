"""Who may do what in participation support: the one place participation decides it.

- Acting on a case, closing it included, and reading its details (wishes, findings, follow-up
  and closing notes, the host's worries): a participation coordinator of the organisation that
  holds the case. Nobody else has a basis here yet, not even the coordination organisation that
  referred the person (it hears of the closure through the public event); refusals answer 404 so
  a case's existence is not revealed.
- Listing the cases (the register, GET /cases): a participation coordinator of an organisation
  that runs the program, over their own organisation's cases (403 otherwise).
- Reading the menu catalogue: any worker role. Menus describe places, not people, and every
  program's workers need to know what exists to suggest it. Administrators and auditors have
  the public events (dashboard) and the access records instead: 403.
- Publishing a menu: a participation coordinator of an organisation that runs the program.
  Changing one: a participation coordinator of the organisation that manages it (403: the
  menu itself is no secret).
"""

from contracts.glossary import LegalBasis, Program, Role
from libs.auth import Principal
from libs.authz import WORKER_ROLES, Decision
from libs.directory import Directory
from services.participation.domain.menu import Menu
from services.participation.domain.model import Case


def may_act(principal: Principal, case: Case) -> Decision:
    if (
        case.opened
        and case.holder == principal.organisation
        and principal.has_any(Role.PARTICIPATION_COORDINATOR)
    ):
        return Decision.allow(LegalBasis.HOLDER, "participation coordinator of the holding organisation")
    return Decision.deny("not a participation coordinator of the holding organisation")


def may_read(principal: Principal, case: Case) -> Decision:
    if case.opened is None:
        return Decision.deny("no such case")
    if may_act(principal, case).allowed:
        return Decision.allow(LegalBasis.HOLDER, "holding organisation")
    return Decision.deny("no legal basis")


def may_list(principal: Principal, directory: Directory) -> Decision:
    """The register (GET /cases): the participation coordinators of an organisation running
    participation, each seeing their own organisation's cases (codes and dates only)."""
    if not principal.has_any(Role.PARTICIPATION_COORDINATOR):
        return Decision.deny("not a participation coordinator")
    if Program.PARTICIPATION not in directory.programs_of(principal.organisation):
        return Decision.deny("organisation does not run the participation program")
    return Decision.allow(LegalBasis.HOLDER, "participation coordinator of a participation organisation")


def may_read_menus(principal: Principal) -> Decision:
    if principal.has_any(*WORKER_ROLES):
        return Decision.allow(LegalBasis.HOLDER, "worker reading the menu catalogue")
    return Decision.deny("role does not use the menu catalogue")


def may_publish_menu(principal: Principal, directory: Directory) -> Decision:
    if not principal.has_any(Role.PARTICIPATION_COORDINATOR):
        return Decision.deny("not a participation coordinator")
    if Program.PARTICIPATION not in directory.programs_of(principal.organisation):
        return Decision.deny("organisation does not run the participation program")
    return Decision.allow(LegalBasis.HOLDER, "participation coordinator of a participation organisation")


def may_manage_menu(principal: Principal, menu: Menu) -> Decision:
    if (
        menu.published is not None
        and menu.published.managed_by == principal.organisation
        and principal.has_any(Role.PARTICIPATION_COORDINATOR)
    ):
        return Decision.allow(LegalBasis.HOLDER, "participation coordinator of the managing organisation")
    return Decision.deny("not a participation coordinator of the managing organisation")
