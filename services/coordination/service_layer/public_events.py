"""Private coordination events → public contract events (the privacy boundary).

Plan goals and role notes are free text about the person: they stay here. Only the
number of goals and each role's organisation, category and review date are published.
"""

from collections.abc import Sequence

from contracts import events as public
from contracts.envelope import PublicEvent
from libs.domain import DomainEvent
from services.coordination.domain import model


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
                        )
                        for r in event.roles
                    ],
                    meeting_members=event.members,
                    agreed_on=event.agreed_on,
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
