"""Who may do what with intake's records: the one place intake decides it.

- Receiving a consultation: an intake worker of an organisation that runs the intake program.
- Changing a case (refer, consent, assessment, simple support, referral to an agency, the
  person's details, closure): an intake worker of the organisation that holds it.
- Cases opened from another program's event (outreach, community) are held by the intake
  organisation the person was connected to when it runs the intake program, else by the
  organisation running this service; the same rules then apply.
- Seeing a person's details: the holder; another organisation only under a consent that
  covers a program it runs, read by that program's caseworker role (`CASEWORK_ROLE`: a
  coordinator under a consent to coordination; nobody under a consent to intake, which the
  holder needs none for, or to community building, which works with areas, not files), as a member of a 支援会議 (法106条の6) on the case, or by a live
  break-glass grant of that user on that case (libs/breakglass.py).
- Breaking the glass on a case: a worker (not the holder, who needs none) of an organisation of
  the directory that runs a program of the business or holds a statutory duty it records; anyone
  else is refused, and the attempt is recorded.
- The break-glass review queue: the holder's intake workers (grants on the cases it holds) and
  the auditor (all); reviewing a grant: the same.
- Erasing a person: the municipal administrator. (Access records: libs/access.py, auditors.)
Municipal administrators see aggregates on the dashboard, never a person's details here.
"""

from datetime import date

from contracts.glossary import LegalBasis, Program, Role
from libs.auth import Principal
from libs.authz import WORKER_ROLES, Decision
from libs.breakglass import EmergencyAccessGranted
from libs.directory import Directory
from services.intake.domain.consent import Consents
from services.intake.domain.model import Case

CASEWORK_ROLE: dict[Program, Role] = {
    Program.COORDINATION: Role.COORDINATOR,
    Program.OUTREACH: Role.OUTREACH_WORKER,
    Program.PARTICIPATION: Role.PARTICIPATION_COORDINATOR,
}
"""Who reads intake's details under a consent covering another program: that program's caseworker."""


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
    emergency: EmergencyAccessGranted | None,
) -> Decision:
    """`emergency`: the caller's live break-glass grant on this case, if any."""
    if case.holder is None:
        return Decision.deny("no such case")
    if case.holder == principal.organisation and principal.has_any(Role.INTAKE_WORKER):
        return Decision.allow(LegalBasis.HOLDER, "holding organisation")
    if not principal.has_any(*WORKER_ROLES):
        return Decision.deny("role may not see personal details")
    for program in sorted(directory.programs_of(principal.organisation)):
        role = CASEWORK_ROLE.get(program)
        if role is None or not principal.has_any(role):
            continue
        consent = consents.covering(program, today)
        if consent is not None:
            return Decision.allow(LegalBasis.CONSENT, f"consent covers {program}", str(consent.consent_id))
    meeting = case.confidential_meeting_of(principal.organisation)
    if meeting is not None:
        ref = f"{meeting.coordination_case_id}/plan-{meeting.plan_version}"
        return Decision.allow(LegalBasis.SUPPORT_MEETING, "member of a 支援会議 on this case", ref)
    if emergency is not None:
        return Decision.allow(LegalBasis.EMERGENCY, "break-glass grant", str(emergency.grant_id))
    return Decision.deny("no legal basis")


def may_break_glass(principal: Principal, directory: Directory) -> Decision:
    """Whether the directory lets the caller break the glass at all (the case's holder is refused
    before this: it needs no emergency)."""
    if not principal.has_any(*WORKER_ROLES):
        return Decision.deny("role does not work with people in a program")
    organisation = directory.organisations.get(principal.organisation)
    if organisation is None:
        return Decision.deny("organisation not in the directory")
    if not organisation.programs and not organisation.duties:
        return Decision.deny("organisation runs no program and holds no statutory duty")
    return Decision.allow(LegalBasis.EMERGENCY, "program or statutory duty in the directory")


def may_review_emergencies(principal: Principal, holder: str | None) -> Decision:
    """`holder`: the organisation holding the case (None: the whole queue, which only the auditor reads)."""
    if principal.has_any(Role.AUDITOR):
        return Decision.allow(LegalBasis.HOLDER, "auditor reviewing break-glass")
    if holder is not None and holder == principal.organisation and principal.has_any(Role.INTAKE_WORKER):
        return Decision.allow(LegalBasis.HOLDER, "holding organisation reviewing break-glass")
    return Decision.deny("neither the auditor nor an intake worker of the holding organisation")


def may_erase(principal: Principal) -> Decision:
    """Erasure (消去) is decided by the municipality, not by the organisation holding the case."""
    if principal.has_any(Role.MUNICIPAL_ADMINISTRATOR):
        return Decision.allow(LegalBasis.HOLDER, "municipal administrator")
    return Decision.deny("only the municipal administrator erases personal data")
