"""A small, deterministic year of public events in one district, and the figures expected from it,
computed here in plain Python, independently of the projector's SQL."""

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import combinations

from contracts import events as ev
from contracts.envelope import Envelope
from contracts.glossary import (
    AgeBand,
    Channel,
    ConclusionOutcome,
    ConnectionTarget,
    ContactMethod,
    ContactOutcome,
    FollowUpStatus,
    IdentifiedBy,
    IntegratedScheme,
    IssueTag,
    LocalResourceKind,
    MeetingType,
    MenuKind,
    OutreachConclusionReason,
    ParticipationClosureReason,
    PlaceKind,
    PlacementOutcome,
    PlatformTheme,
    Relation,
    ReturnReason,
    RoleResponsibility,
    Sector,
    TargetGroup,
    Urgency,
)
from libs.commands import Context, envelope_for

BASE = date(2025, 4, 1)
START, END = date(2025, 1, 1), date(2026, 12, 31)
FISCAL_YEAR = 2025
"""Every event of a scenario built with offset 0 falls in this 年度 (BASE … 2026-03-31)."""
POPULATION = 2_500
"""People living in a scenario's district, as the tests' directory says."""


def meeting_day(after: date) -> date:
    """Case meetings sit every 14 days from BASE: the first sitting on or after `after`, so several
    plans are often agreed at one meeting."""
    days = max(0, (after - BASE).days)
    return BASE + timedelta(days=-(-days // 14) * 14)


def _subject() -> str:
    return f"subj_{uuid.uuid4().hex}"


@dataclass
class Scenario:
    district: str
    orgs: dict[str, str]
    envelopes: list[Envelope] = field(default_factory=list)

    def add(self, event: ev.PublicEvent, program: str) -> None:
        ctx = Context(organisation=self.orgs[program], actor="tester")
        self.envelopes.append(envelope_for(event, ctx, datetime.now(UTC)))

    def events(self) -> list[ev.PublicEvent]:
        return [ev.EVENT_TYPES[e.event_type].model_validate(e.payload) for e in self.envelopes]


def build(cases: int, seed: int, *, offset: int = 0) -> Scenario:
    """`cases` consultations and the outreach, participation and community work around them."""
    rng = random.Random(seed)
    suffix = uuid.uuid4().hex[:8]
    district = f"t-{suffix}"
    orgs = {
        p: f"{p[:5]}-{suffix}" for p in ("intake", "coordination", "outreach", "participation", "community")
    }
    s = Scenario(district, orgs)
    for i in range(cases):
        key = uuid.uuid4()
        received = BASE + timedelta(days=offset + i * 3)
        tags = rng.sample(list(IssueTag), rng.randint(1, 3))
        subject = _subject()
        s.add(
            ev.CaseReceived(
                case_key=key,
                subject_ref=subject,
                channel=rng.choice(list(Channel)),
                issue_tags=tags,
                age_band=rng.choice(list(AgeBand)),
                household_size=2,
                district=district,
                received_on=received,
            ),
            "intake",
        )
        if i % 3 == 0:
            s.add(
                ev.CaseClosed(
                    case_key=key,
                    subject_ref=subject,
                    reason="resolved",
                    closed_on=received + timedelta(days=50),
                ),
                "intake",
            )
            continue
        referral, coordination = uuid.uuid4(), uuid.uuid4()
        s.add(
            ev.ReferredToCoordination(
                case_key=key,
                referral_id=referral,
                subject_ref=subject,
                members=[
                    ev.MemberConcerned(subject_ref=subject, relation=Relation.SELF, age_band=AgeBand.MIDDLE)
                ],
                referring_organisation=orgs["intake"],
                issue_tags=tags,
                age_band=AgeBand.MIDDLE,
                district=district,
                urgency=Urgency.ROUTINE,
                referred_on=received + timedelta(days=2),
            ),
            "intake",
        )
        s.add(
            ev.ReferralAccepted(
                case_key=key,
                referral_id=referral,
                coordination_case_id=coordination,
                accepted_on=received + timedelta(days=4),
            ),
            "coordination",
        )
        if i % 3 == 1:
            for version in (1, 2):
                s.add(
                    ev.PlanAgreed(
                        case_key=key,
                        coordination_case_id=coordination,
                        plan_version=version,
                        meeting_type=rng.choice(list(MeetingType)),
                        goal_count=2,
                        roles=[
                            {
                                "organisation": orgs["coordination"],
                                "responsibility": RoleResponsibility.MAIN_CONTACT,
                                "review_on": received + timedelta(days=90),
                            }
                        ],
                        meeting_members=rng.choice(
                            ([orgs["coordination"]], [orgs["coordination"], orgs["intake"]])
                        ),
                        agreed_on=meeting_day(
                            received + timedelta(days=7 + rng.randint(0, 20) + 30 * (version - 1))
                        ),
                    ),
                    "coordination",
                )
            if i % 2 == 0:
                s.add(
                    ev.SupportConcluded(
                        case_key=key,
                        coordination_case_id=coordination,
                        outcome=rng.choice(list(ConclusionOutcome)),
                        goals_met=1,
                        goals_total=2,
                        concluded_on=received + timedelta(days=80),
                    ),
                    "coordination",
                )
                s.add(
                    ev.ReturnedToOrigin(
                        case_key=key,
                        referral_id=referral,
                        coordination_case_id=coordination,
                        returned_to=orgs["intake"],
                        reason=ReturnReason.SUPPORT_CONCLUDED,
                        returned_on=received + timedelta(days=81),
                    ),
                    "coordination",
                )
            else:
                participation, placement, menu = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
                started = received + timedelta(days=20)
                s.add(
                    ev.ParticipationAccepted(
                        case_key=key,
                        referral_id=uuid.uuid4(),
                        coordination_case_id=coordination,
                        participation_case_id=participation,
                        subject_ref=subject,
                        accepted_on=received + timedelta(days=15),
                    ),
                    "participation",
                )
                s.add(
                    ev.PlacementStarted(
                        case_key=key,
                        participation_case_id=participation,
                        placement_id=placement,
                        subject_ref=subject,
                        menu_id=menu,
                        menu_kind=rng.choice(list(MenuKind)),
                        host_organisation=orgs["community"],
                        district=district,
                        started_on=started,
                    ),
                    "participation",
                )
                s.add(
                    ev.PlacementFollowedUp(
                        case_key=key,
                        participation_case_id=participation,
                        placement_id=placement,
                        status=rng.choice(list(FollowUpStatus)),
                        days_since_start=30,
                        followed_up_on=started + timedelta(days=30),
                    ),
                    "participation",
                )
                lasted = rng.choice((None, 40, 120, 200))
                if lasted is not None:
                    s.add(
                        ev.PlacementEnded(
                            case_key=key,
                            participation_case_id=participation,
                            placement_id=placement,
                            menu_id=menu,
                            outcome=PlacementOutcome.TERM_COMPLETED,
                            started_on=started,
                            ended_on=started + timedelta(days=lasted),
                            days_placed=lasted,
                        ),
                        "participation",
                    )
                    # No figure counts closures yet: the projector reads and ignores them.
                    s.add(
                        ev.ParticipationClosed(
                            case_key=key,
                            participation_case_id=participation,
                            reason=ParticipationClosureReason.SETTLED,
                            closed_on=started + timedelta(days=lasted),
                        ),
                        "participation",
                    )
        elif i % 2 == 0:
            # The meeting decided intake stays the main support: returned without a conclusion.
            s.add(
                ev.ReturnedToOrigin(
                    case_key=key,
                    referral_id=referral,
                    coordination_case_id=coordination,
                    returned_to=orgs["intake"],
                    reason=ReturnReason.MEETING_DECISION,
                    returned_on=received + timedelta(days=10),
                ),
                "coordination",
            )
    for j in range(cases // 2):
        outreach, key = uuid.uuid4(), uuid.uuid4()
        found = BASE + timedelta(days=offset + j * 5)
        s.add(
            ev.PotentialClientIdentified(
                case_key=key,
                outreach_case_id=outreach,
                subject_ref=_subject(),
                identified_by=rng.choice(list(IdentifiedBy)),
                issue_tags=[IssueTag.HIKIKOMORI],
                age_band=AgeBand.MIDDLE,
                district=district,
                identified_on=found,
            ),
            "outreach",
        )
        for attempt in range(1, 3):
            reached, response = ev.split_outcome(rng.choice(list(ContactOutcome)))
            s.add(
                ev.ContactAttempted(
                    case_key=key,
                    outreach_case_id=outreach,
                    attempt_number=attempt,
                    method=ContactMethod.HOME_VISIT,
                    reached=reached,
                    response=response,
                    attempted_on=found + timedelta(days=attempt),
                ),
                "outreach",
            )
        if j % 2 == 0:
            s.add(
                ev.ConnectedToSupport(
                    case_key=key,
                    outreach_case_id=outreach,
                    subject_ref=_subject(),
                    connected_to=rng.choice(list(ConnectionTarget)),
                    organisation=orgs["intake"],
                    issue_tags=[IssueTag.HIKIKOMORI],
                    age_band=AgeBand.MIDDLE,
                    district=district,
                    connected_on=found + timedelta(days=10),
                ),
                "outreach",
            )
            s.add(
                ev.OutreachConcluded(
                    case_key=key,
                    outreach_case_id=outreach,
                    reason=OutreachConclusionReason.CONNECTED,
                    concluded_on=found + timedelta(days=11),
                ),
                "outreach",
            )
    places = [uuid.uuid4() for _ in range(3)]
    for n, place in enumerate(places):
        s.add(
            ev.PlaceRegistered(
                case_key=place,
                place_id=place,
                kind=PlaceKind.SALON,
                district=district,
                school_district=f"sd-{n % 2}",
                target_groups=[TargetGroup.EVERYONE],
                multi_generational=True,
                integrated_schemes=[IntegratedScheme.CARE_PREVENTION],
                opened_on=BASE,
            ),
            "community",
        )
    s.add(
        ev.PlaceClosed(case_key=places[2], place_id=places[2], closed_on=BASE + timedelta(days=100)),
        "community",
    )
    for n in range(2):
        platform = uuid.uuid4()
        s.add(
            ev.PlatformMeetingHeld(
                case_key=platform,
                meeting_id=platform,
                held_on=BASE + timedelta(days=offset + 30 * n),
                district=district,
                sectors=[Sector.WELFARE, Sector.MEDICAL_HEALTH],
                sector_count=2,
                organisation_count=6,
                themes=[PlatformTheme.ISOLATION_PREVENTION],
            ),
            "community",
        )
    gap_meeting = uuid.uuid4()
    for kind in (LocalResourceKind.PLACE_TO_BE, LocalResourceKind.TRANSPORT):
        s.add(
            ev.MissingResourceNoted(
                case_key=gap_meeting,
                meeting_id=gap_meeting,
                meeting_type=MeetingType.SUPPORT_PLAN_MEETING,
                resource_kind=kind,
                district=district,
                held_on=BASE + timedelta(days=offset + 14),
            ),
            "coordination",
        )
    resident_led = uuid.uuid4()
    for n in range(6):
        s.add(
            ev.ActivityHeld(
                case_key=places[0],
                place_id=places[0],
                activity_id=resident_led if n < 2 else uuid.uuid4(),
                kind=PlaceKind.SALON,
                district=district,
                school_district="sd-0",
                held_on=BASE + timedelta(days=offset + 7 * n),
                attendance={"children": n, "youth": 1, "working_age": 2, "older": 10 + n},
                volunteer_count=3,
                new_resident_led=n < 2,
                integrated_scheme=IntegratedScheme.CARE_PREVENTION,
            ),
            "community",
        )
    return s


def percentile_cont(values: list[int], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def per_100k(count: int) -> float:
    return round(count * 100_000 / POPULATION, 1)


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def expected(s: Scenario, end: date = END) -> dict[str, object]:
    """The figures for `s.district` from START to `end`, from the events themselves (every event
    of a scenario falls before `end` unless `end` is early; only retention depends on it)."""
    events = s.events()
    received = {e.case_key: e for e in events if isinstance(e, ev.CaseReceived)}
    first_plan: dict[uuid.UUID, date] = {}
    for e in events:
        if isinstance(e, ev.PlanAgreed):
            first_plan[e.case_key] = min(first_plan.get(e.case_key, e.agreed_on), e.agreed_on)
    steps = {
        "received": ev.CaseReceived,
        "referred": ev.ReferredToCoordination,
        "accepted": ev.ReferralAccepted,
        "plan_agreed": ev.PlanAgreed,
        "concluded": ev.SupportConcluded,
        "returned": ev.ReturnedToOrigin,
        "closed": ev.CaseClosed,
        "participation_accepted": ev.ParticipationAccepted,
    }
    flow = {step: len({e.case_key for e in events if isinstance(e, kind)}) for step, kind in steps.items()}
    closed = {e.case_key for e in events if isinstance(e, ev.CaseClosed)}
    coordination_open = {e.coordination_case_id for e in events if isinstance(e, ev.ReferralAccepted)} - {
        e.coordination_case_id for e in events if isinstance(e, ev.SupportConcluded | ev.ReturnedToOrigin)
    }
    outreach_open = {e.outreach_case_id for e in events if isinstance(e, ev.PotentialClientIdentified)} - {
        e.outreach_case_id for e in events if isinstance(e, ev.OutreachConcluded)
    }
    starts = {e.placement_id: e for e in events if isinstance(e, ev.PlacementStarted)}
    ends = {e.placement_id: e for e in events if isinstance(e, ev.PlacementEnded)}
    retention = {}
    for horizon, days in (("3m", 90), ("6m", 182)):
        cohort = [p for p, e in starts.items() if e.started_on <= end - timedelta(days=days)]
        kept = [p for p in cohort if p not in ends or ends[p].days_placed >= days]
        retention[horizon] = (len(cohort), len(kept), percent(len(kept), len(cohort)))
    activities = [e for e in events if isinstance(e, ev.ActivityHeld)]
    closed_places = {e.place_id for e in events if isinstance(e, ev.PlaceClosed)}
    days = [(first_plan[k] - received[k].received_on).days for k in first_plan]
    days_by_month: dict[str, list[int]] = {}
    for k, agreed in first_plan.items():
        days_by_month.setdefault(agreed.strftime("%Y-%m"), []).append((agreed - received[k].received_on).days)
    meetings = {
        (e.agreed_on, e.meeting_type.value, frozenset(e.meeting_members))
        for e in events
        if isinstance(e, ev.PlanAgreed)
    }
    conclusions = [e for e in events if isinstance(e, ev.SupportConcluded)]
    concluded = {e.case_key for e in conclusions}
    resolved = {
        e.case_key
        for e in conclusions
        if e.outcome in (ConclusionOutcome.RESOLVED, ConclusionOutcome.IMPROVED)
    }
    returned = {e.case_key for e in events if isinstance(e, ev.ReturnedToOrigin)}
    return {
        "by_channel": Counter((e.received_on.strftime("%Y-%m"), e.channel.value) for e in received.values()),
        "by_issue": Counter(
            (e.received_on.strftime("%Y-%m"), t.value) for e in received.values() for t in e.issue_tags
        ),
        "pairs": Counter(
            pair for e in received.values() for pair in combinations(sorted(t.value for t in e.issue_tags), 2)
        ),
        "patterns": {
            "8050": sum(IssueTag.EIGHTY_FIFTY in e.issue_tags for e in received.values()),
            "double_care": sum(IssueTag.DOUBLE_CARE in e.issue_tags for e in received.values()),
            "young_carer": sum(IssueTag.YOUNG_CARER in e.issue_tags for e in received.values()),
            "8050_hikikomori": sum(
                {IssueTag.EIGHTY_FIFTY, IssueTag.HIKIKOMORI} <= set(e.issue_tags) for e in received.values()
            ),
            "multi_field": sum(len(e.issue_tags) >= 2 for e in received.values()),
            "elderly_disability": sum(
                {IssueTag.ELDERLY_CARE, IssueTag.DISABILITY} <= set(e.issue_tags) for e in received.values()
            ),
            "elderly_poverty": sum(
                {IssueTag.ELDERLY_CARE, IssueTag.POVERTY_DEBT} <= set(e.issue_tags) for e in received.values()
            ),
            "disability_poverty": sum(
                {IssueTag.DISABILITY, IssueTag.POVERTY_DEBT} <= set(e.issue_tags) for e in received.values()
            ),
        },
        "flow": flow,
        "open": {
            ("intake", s.orgs["intake"]): len(set(received) - closed),
            ("coordination", s.orgs["coordination"]): len(coordination_open),
            ("outreach", s.orgs["outreach"]): len(outreach_open),
            ("participation", s.orgs["participation"]): flow["participation_accepted"],
        },
        "days_to_plan": (len(days), percentile_cont(days, 0.5), percentile_cont(days, 0.9)),
        "days_by_month": {
            month: (len(ds), percentile_cont(ds, 0.5), percentile_cont(ds, 0.9))
            for month, ds in days_by_month.items()
        },
        "meetings": Counter((day.strftime("%Y-%m"), kind) for day, kind, _ in meetings),
        "resolution": {
            "concluded": len(concluded),
            "resolved": len(resolved),
            "resolution_rate": percent(len(resolved), len(concluded)),
            "ended": len(concluded | returned),
            "returned": len(returned),
            "return_rate": percent(len(returned), len(concluded | returned)),
        },
        "participation": {
            "accepted": flow["participation_accepted"],
            "placements": len(starts),
            "accepted_per_100k": per_100k(flow["participation_accepted"]),
            "placements_per_100k": per_100k(len(starts)),
        },
        "plans": Counter(
            (e.agreed_on.strftime("%Y-%m"), e.meeting_type.value)
            for e in events
            if isinstance(e, ev.PlanAgreed)
        ),
        "found": Counter(
            e.identified_by.value for e in events if isinstance(e, ev.PotentialClientIdentified)
        ),
        "attempts": Counter(e.outcome.value for e in events if isinstance(e, ev.ContactAttempted)),
        "connected": Counter(e.connected_to.value for e in events if isinstance(e, ev.ConnectedToSupport)),
        "placements": Counter(e.menu_kind.value for e in starts.values()),
        "platform_meetings": sum(isinstance(e, ev.PlatformMeetingHeld) for e in events),
        "missing_resources": Counter(
            e.resource_kind.value for e in events if isinstance(e, ev.MissingResourceNoted)
        ),
        "followups": Counter(e.status.value for e in events if isinstance(e, ev.PlacementFollowedUp)),
        "retention": retention,
        "places": Counter(
            e.school_district
            for e in events
            if isinstance(e, ev.PlaceRegistered) and e.place_id not in closed_places
        ),
        "places_by_district": Counter(
            e.district
            for e in events
            if isinstance(e, ev.PlaceRegistered) and e.place_id not in closed_places
        ),
        "activities": {
            "n": len(activities),
            "children": sum(a.attendance.children for a in activities),
            "youth": sum(a.attendance.youth for a in activities),
            "working_age": sum(a.attendance.working_age for a in activities),
            "older": sum(a.attendance.older for a in activities),
            "volunteers": sum(a.volunteer_count for a in activities),
            "new_resident_led": len({a.activity_id for a in activities if a.new_resident_led}),
            "new_resident_led_per_100k": per_100k(
                len({a.activity_id for a in activities if a.new_resident_led})
            ),
        },
    }
