"""Private participation events → public contract events (the privacy boundary).

Wishes, findings, arrangements, follow-up and closing notes and the host's worries stay here:
only codes, ids and dates cross. Menus publish their coded fields only; their titles and
descriptions are free text and are served by participation's API instead (`GET /menus/{menu_id}`).
"""

from collections.abc import Sequence

from contracts import events as public
from contracts.envelope import PublicEvent
from libs.domain import DomainEvent
from services.participation.domain import menu, model


def to_public(case: model.Case, event: DomainEvent) -> Sequence[PublicEvent]:
    opened = case.opened
    assert opened is not None
    ids = {"case_key": opened.case_key, "participation_case_id": opened.participation_case_id}
    match event:
        case model.CaseOpened():
            return [
                public.ParticipationAccepted(
                    **ids,
                    referral_id=opened.referral_id,
                    coordination_case_id=opened.coordination_case_id,
                    subject_ref=opened.subject_ref,
                    accepted_on=opened.opened_on,
                )
            ]
        case model.NeedsAssessed():
            return [
                public.ParticipationAssessed(
                    **ids,
                    subject_ref=opened.subject_ref,
                    assessment_version=event.assessment_version,
                    needs=event.needs,
                    assessed_on=event.assessed_on,
                )
            ]
        case model.PlacementStarted():
            return [
                public.PlacementStarted(
                    **ids,
                    placement_id=event.placement_id,
                    subject_ref=opened.subject_ref,
                    menu_id=event.menu_id,
                    menu_kind=event.menu_kind,
                    host_organisation=event.host_organisation,
                    district=event.menu_district,
                    started_on=event.started_on,
                )
            ]
        case model.PlacementFollowedUp():
            started = case.placement(event.placement_id).started
            return [
                public.PlacementFollowedUp(
                    **ids,
                    placement_id=event.placement_id,
                    status=event.status,
                    days_since_start=(event.followed_up_on - started.started_on).days,
                    followed_up_on=event.followed_up_on,
                )
            ]
        case model.PlacementEnded():
            started = case.placement(event.placement_id).started
            return [
                public.PlacementEnded(
                    **ids,
                    placement_id=event.placement_id,
                    menu_id=started.menu_id,
                    outcome=event.outcome,
                    started_on=started.started_on,
                    ended_on=event.ended_on,
                    days_placed=(event.ended_on - started.started_on).days,
                )
            ]
        case model.HostSupported():
            started = case.placement(event.placement_id).started
            return [
                public.HostSupported(
                    **ids,
                    placement_id=event.placement_id,
                    menu_id=started.menu_id,
                    host_organisation=started.host_organisation,
                    concern=event.concern,
                    supported_on=event.supported_on,
                )
            ]
        case model.CaseClosed():
            # Reports back to coordination (the note stays here).
            return [public.ParticipationClosed(**ids, reason=event.reason, closed_on=event.closed_on)]
    return []


def menu_to_public(state: menu.Menu, event: DomainEvent) -> Sequence[PublicEvent]:
    """Catalogue changes as coded facts; seats are published by the case as placements."""
    current = state.current
    assert current is not None
    fields = {
        "case_key": current.menu_id,
        "menu_id": current.menu_id,
        "kind": current.kind,
        "host_organisation": current.host_organisation,
        "district": current.district,
        "capacity": current.capacity,
        "target_groups": current.target_groups,
        "status": state.status,
    }
    match event:
        case menu.MenuPublished():
            return [public.MenuPublished(**fields, published_on=event.published_on)]
        case menu.MenuRevised():
            return [public.MenuUpdated(**fields, updated_on=event.revised_on)]
    return []
