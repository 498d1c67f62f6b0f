"""Who may do what with coordination's cases: the one place coordination decides it.

- Acting on a case (decline, assessment, a plan's draft and its agreement, monitoring,
  referrals to outreach and participation, conclusion, return): a coordinator of the
  organisation that holds it.
- Recording an answer (acceptance or refusal) to a role the draft plan proposes: the holder's
  coordinator (on the word of an agency that does not use the system) or a worker of the agency
  named in that role (its own answer).
- Listing the cases (the register: codes and dates, no personal data): a coordinator of an
  organisation that runs the coordination program, who sees that organisation's cases.
- Recording a meeting: a coordinator of an organisation that runs the coordination program;
  the cases it discussed must all be held by that organisation.
- Reading a meeting record (codes only: attendees, case ids, decisions, missing resources):
  the organisation that held it and the organisations that attended.
- Reading a case (its plans hold free text about the person): the holder's coordinators;
  organisations that sat in a meeting on the case (a 支援会議's members are bound by
  法106条の6 confidentiality; a 重層的支援会議 only discusses consented cases); the referring
  organisation while a consent covering intake is active.
"""

from datetime import date

from contracts.glossary import LegalBasis, MeetingType, Program, Role
from libs.auth import Principal
from libs.authz import WORKER_ROLES, Decision
from libs.directory import Directory
from services.coordination.domain.consent import ConsentState
from services.coordination.domain.meeting import Meeting
from services.coordination.domain.model import Case
from services.coordination.domain.model import Role as PlanRole


def may_act(principal: Principal, case: Case) -> Decision:
    if case.opened and case.holder == principal.organisation and principal.has_any(Role.COORDINATOR):
        return Decision.allow(LegalBasis.HOLDER, "coordinator of the holding organisation")
    return Decision.deny("not a coordinator of the holding organisation")


def may_read(principal: Principal, case: Case, consent: ConsentState, today: date) -> Decision:
    if case.opened is None:
        return Decision.deny("no such case")
    if may_act(principal, case).allowed:
        return Decision.allow(LegalBasis.HOLDER, "holding organisation")
    if not principal.has_any(*WORKER_ROLES):
        return Decision.deny("role may not see case details")
    meeting = next((p for p in case.plans if principal.organisation in p.members), None)
    if meeting is not None:
        # A 支援会議's members share under 法106条の6; a 重層的支援会議 only sat on consent.
        basis = (
            LegalBasis.SUPPORT_MEETING
            if meeting.meeting_type is MeetingType.CONFIDENTIAL_SUPPORT_MEETING
            else LegalBasis.CONSENT
        )
        return Decision.allow(basis, "member of a meeting on this case", f"plan-{meeting.plan_version}")
    if principal.organisation == case.opened.referring_organisation and consent.covers(Program.INTAKE, today):
        return Decision.allow(LegalBasis.CONSENT, "referring organisation under consent covering intake")
    return Decision.deny("no legal basis")


def may_answer_role(principal: Principal, case: Case, role: PlanRole | None) -> Decision:
    """The holder's coordinator records any agency's answer; an agency records only its own.

    `role`: the draft's role being answered, None when the draft has no such role (then only the
    holder may go on, to learn why not)."""
    holder = may_act(principal, case)
    if holder.allowed:
        return holder
    if role is not None and role.organisation == principal.organisation and principal.has_any(*WORKER_ROLES):
        return Decision.allow(LegalBasis.HOLDER, "worker of the agency named in the role")
    return Decision.deny("neither the holder's coordinator nor the agency of the role")


def may_list(principal: Principal, directory: Directory) -> Decision:
    """The register (GET /cases): the coordinators of an organisation running coordination."""
    if not principal.has_any(Role.COORDINATOR):
        return Decision.deny("not a coordinator")
    if Program.COORDINATION not in directory.programs_of(principal.organisation):
        return Decision.deny("organisation does not run the coordination program")
    return Decision.allow(LegalBasis.HOLDER, "coordinator of a coordination organisation")


def may_hold_meeting(principal: Principal, directory: Directory) -> Decision:
    if not principal.has_any(Role.COORDINATOR):
        return Decision.deny("not a coordinator")
    if Program.COORDINATION not in directory.programs_of(principal.organisation):
        return Decision.deny("organisation does not run the coordination program")
    return Decision.allow(LegalBasis.HOLDER, "coordinator of a coordination organisation")


def may_read_meeting(principal: Principal, meeting: Meeting) -> Decision:
    if meeting.held is None:
        return Decision.deny("no such meeting")
    if meeting.held.holder_organisation == principal.organisation and principal.has_any(Role.COORDINATOR):
        return Decision.allow(LegalBasis.HOLDER, "organisation that held the meeting")
    if principal.organisation in meeting.organisations and principal.has_any(*WORKER_ROLES):
        basis = (
            LegalBasis.SUPPORT_MEETING
            if meeting.held.meeting_type is MeetingType.CONFIDENTIAL_SUPPORT_MEETING
            else LegalBasis.CONSENT
        )
        return Decision.allow(basis, "attended the meeting")
    return Decision.deny("did not attend the meeting")
