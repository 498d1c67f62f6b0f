"""Who may do what with intake's records: the one place intake decides it.

- Receiving a consultation: an intake worker of an organisation that runs the intake program.
- Changing a case (refer, consent, assessment, simple support, referral to an agency, the
  person's details, closure): an intake worker of the organisation that holds it.
- Cases opened from another program's event (outreach, community) are held by the intake
  organisation the person was connected to when it runs the intake program, else by the
  organisation running this service; the same rules then apply.
- Seeing a person's details: the holder; another organisation only under a consent that
  covers a program it runs, as a member of a 支援会議 (法106条の6) on the case, or on a
  declared statutory duty / emergency with a reason (recorded and flagged for review).
- Erasing a person: the municipal administrator. (Access records: libs/access.py, auditors.)
Municipal administrators see aggregates on the dashboard, never a person's details here.
"""

from datetime import date

from contracts.glossary import LegalBasis, Program, Role
from libs.auth import Principal
from libs.authz import WORKER_ROLES, Decision
from libs.directory import Directory
from services.intake.domain.consent import Consents
from services.intake.domain.model import Case


def may_receive(principal: Principal, directory: Directory) -> Decision:
    if not principal.has_any(Role.INTAKE_WORKER):
        return Decision.deny("not an intake worker")
    if Program.INTAKE not in directory.programs_of(principal.organisation):
        return Decision.deny("organisation does not run the intake program")
    return Decision.allow(LegalBasis.HOLDER, "intake worker of an intake organisation")


def may_change(principal: Principal, case: Case) -> Decision:
    if case.holder == principal.organisation and principal.has_any(Role.INTAKE_WORKER):
        return Decision.allow(LegalBasis.HOLDER, "intake worker of the holding organisation")
    return Decision.deny("not an intake worker of the holding organisation")


def may_see_details(
    principal: Principal,
    case: Case,
    consents: Consents,
    directory: Directory,
    today: date,
    declared: LegalBasis | None,
) -> Decision:
    if case.holder is None:
        return Decision.deny("no such case")
    if case.holder == principal.organisation and principal.has_any(Role.INTAKE_WORKER):
        return Decision.allow(LegalBasis.HOLDER, "holding organisation")
    if not principal.has_any(*WORKER_ROLES):
        return Decision.deny("role may not see personal details")
    for program in sorted(directory.programs_of(principal.organisation)):
        consent = consents.covering(program, today)
        if consent is not None:
            return Decision.allow(LegalBasis.CONSENT, f"consent covers {program}", str(consent.consent_id))
    meeting = case.confidential_meeting_of(principal.organisation)
    if meeting is not None:
        ref = f"{meeting.coordination_case_id}/plan-{meeting.plan_version}"
        return Decision.allow(LegalBasis.SUPPORT_MEETING, "member of a 支援会議 on this case", ref)
    if declared is LegalBasis.EMERGENCY:
        return Decision.allow(LegalBasis.EMERGENCY, "declared statutory duty or emergency")
    return Decision.deny("no legal basis")


def may_erase(principal: Principal) -> Decision:
    """Erasure (消去) is decided by the municipality, not by the organisation holding the case."""
    if principal.has_any(Role.MUNICIPAL_ADMINISTRATOR):
        return Decision.allow(LegalBasis.HOLDER, "municipal administrator")
    return Decision.deny("only the municipal administrator erases personal data")
