"""Private coordination events → public contract events (the privacy boundary).

Plan goals, the person's and household's wishes, emergency arrangements, role notes, reasons a
role was declined, assessments, monitoring notes, referral reasons and evaluations are free text
about the person: they stay here, and so do drafts and the agencies' answers to them. Only
counts, codes, organisations, pseudonyms and dates are published, once a plan is agreed. A
meeting's missing resources leave as kinds and districts.
"""

from collections.abc import Sequence

from contracts import events as public
from contracts.envelope import PublicEvent
from contracts.glossary import IssueTag
from libs.domain import DomainEvent
from services.coordination.domain import meeting, model


def issue_tags(case: model.Case) -> list[IssueTag]:
    """The referral's tags, widened by what the latest assessment untangled (if still readable)."""
    assert case.opened is not None
    tags = set(case.opened.issue_tags)
    if case.assessments and case.assessments[-1].members:
        tags |= {t for m in case.assessments[-1].members for t in m.issue_tags}
    return sorted(tags)


def _member(case: model.Case, subject_ref: str | None) -> model.Member:
    """The member a referral is for (the domain checked the case knows them)."""
    member = case.member(subject_ref)
    assert member is not None
    return member


def to_public(case: model.Case, event: DomainEvent) -> Sequence[PublicEvent]:
    opened = case.opened
    assert opened is not None
    match event:
        case model.CaseOpened():
            return [
                public.ReferralAccepted(
                    case_key=opened.case_key,
                    referral_id=opened.referral_id,
                    coordination_case_id=opened.coordination_case_id,
                    accepted_on=opened.opened_on,
                )
            ]
        case model.PlanAgreed():
            assert event.roles is not None and event.goals is not None
            return [
                public.PlanAgreed(
                    case_key=opened.case_key,
                    coordination_case_id=opened.coordination_case_id,
                    plan_version=event.plan_version,
                    meeting_type=event.meeting_type,
                    goal_count=len(event.goals),
                    roles=[
                        public.PlanRole(
                            organisation=r.organisation,
                            responsibility=r.responsibility,
                            review_on=r.review_on,
                            members=r.members,
                        )
                        for r in event.roles
                    ],
                    meeting_members=event.members,
                    agreed_on=event.agreed_on,
                )
            ]
        case model.ReferredToOutreach():
            return [
                public.ReferredToOutreach(
                    case_key=opened.case_key,
                    referral_id=event.referral_id,
                    coordination_case_id=opened.coordination_case_id,
                    subject_ref=_member(case, event.member).subject_ref,
                    issue_tags=issue_tags(case),
                    age_band=_member(case, event.member).age_band,
                    district=opened.district,
                    urgency=event.urgency,
                    referred_on=event.referred_on,
                )
            ]
        case model.ReferredToParticipation():
            return [
                public.ReferredToParticipation(
                    case_key=opened.case_key,
                    referral_id=event.referral_id,
                    coordination_case_id=opened.coordination_case_id,
                    subject_ref=_member(case, event.member).subject_ref,
                    needs=sorted(set(event.needs)),
                    issue_tags=issue_tags(case),
                    age_band=_member(case, event.member).age_band,
                    district=opened.district,
                    referred_on=event.referred_on,
                )
            ]
        case model.SupportConcluded():
            return [
                public.SupportConcluded(
                    case_key=opened.case_key,
                    coordination_case_id=opened.coordination_case_id,
                    outcome=event.outcome,
                    goals_met=event.goals_met,
                    goals_total=event.goals_total,
                    concluded_on=event.concluded_on,
                )
            ]
        case model.ReturnedToOrigin():
            return [
                public.ReturnedToOrigin(
                    case_key=opened.case_key,
                    referral_id=opened.referral_id,
                    coordination_case_id=opened.coordination_case_id,
                    returned_to=opened.referring_organisation,
                    reason=event.reason,
                    returned_on=event.returned_on,
                )
            ]
    return []


def meeting_to_public(state: meeting.Meeting, event: DomainEvent) -> Sequence[PublicEvent]:
    """Each missing resource a meeting noted, keyed by the meeting (a gap is the area's, not a case's)."""
    if not isinstance(event, meeting.MeetingHeld):
        return []
    return [
        public.MissingResourceNoted(
            case_key=event.meeting_id,
            meeting_id=event.meeting_id,
            meeting_type=event.meeting_type,
            resource_kind=r.resource_kind,
            district=r.district,
            held_on=event.held_on,
        )
        for r in event.missing_resources
    ]
