"""Private outreach events → public contract events (the privacy boundary).

The worker's description of the person and every note stay here, as does who exactly noticed
the person; only the category of who noticed, coarse attributes, codes and dates are published.
Every event carries the case's `case_key`, so coordination and the projections can follow a
case they referred, and intake can open its case under the key of a self-found person.
"""

from collections.abc import Sequence

from contracts import events as public
from contracts.envelope import PublicEvent
from libs.domain import DomainEvent
from services.outreach.domain import model


def to_public(case: model.Case, event: DomainEvent) -> Sequence[PublicEvent]:
    found = case.identified
    assert found is not None
    match event:
        case model.PotentialClientIdentified():
            return [
                public.PotentialClientIdentified(
                    case_key=found.case_key,
                    outreach_case_id=found.outreach_case_id,
                    subject_ref=found.subject_ref,
                    identified_by=found.identified_by,
                    referral_id=found.referral_id,
                    concern_id=found.concern_id,
                    issue_tags=found.issue_tags,
                    age_band=found.age_band,
                    district=found.district,
                    identified_on=found.identified_on,
                )
            ]
        case model.ContactAttempted():
            reached, response = public.split_outcome(event.outcome)
            return [
                public.ContactAttempted(
                    case_key=found.case_key,
                    outreach_case_id=found.outreach_case_id,
                    attempt_number=event.attempt_number,
                    method=event.method,
                    reached=reached,
                    response=response,
                    attempted_on=event.attempted_on,
                )
            ]
        case model.MilestoneReached():
            return [
                public.RelationshipMilestoneReached(
                    case_key=found.case_key,
                    outreach_case_id=found.outreach_case_id,
                    milestone=event.milestone,
                    reached_on=event.reached_on,
                )
            ]
        case model.ConnectedToSupport():
            return [
                public.ConnectedToSupport(
                    case_key=found.case_key,
                    outreach_case_id=found.outreach_case_id,
                    subject_ref=found.subject_ref,
                    connected_to=event.connected_to,
                    organisation=event.organisation,
                    issue_tags=found.issue_tags,
                    age_band=found.age_band,
                    district=found.district,
                    connected_on=event.connected_on,
                )
            ]
        case model.OutreachConcluded():
            return [
                public.OutreachConcluded(
                    case_key=found.case_key,
                    outreach_case_id=found.outreach_case_id,
                    reason=event.reason,
                    concluded_on=event.concluded_on,
                )
            ]
    return []
