"""Every write operation of every service, as its OpenAPI lists it, refused to every outsider.

The operations come from each running service's `/openapi.json` (every POST, PUT, PATCH and
DELETE), so a route added tomorrow is in the matrix or fails it: `WRITES` must hold an entry for
each — who may use it, how it refuses the others, and a request its insider would send.

Who is an outsider, per operation (users of the demo municipality, deploy/demo-municipality.json):
- On an object (a case, a consent, a plan, a menu, a place, a concern): every user but the
  holding organisation's workers of the program's role. Changing an object needs the holder's
  basis (docs/security.md); a consent or a 支援会議 seat lets another organisation *read* a
  case, never write it, so those readers are outsiders here too. One exception the rules
  name: the agency a draft plan proposes a role to records its own answer (acceptance or
  refusal) to that role.
- On a program-level function (receive a consultation, record a meeting, identify a potential
  client, publish or manage a menu, register a place, record a platform meeting): every user
  whose organisation does not run the program or who lacks its role.
- Erasure: everyone but the municipal administrator. The administrator and the auditor are
  outsiders everywhere else: they see aggregates and access records, they change nothing (but
  for the auditor's review of a break-glass grant, which the holder's worker may also review).
- Asking for break-glass on a case is the one write made *by* outsiders, and a refused attempt
  is recorded on purpose: `ELSEWHERE` names it and the test that holds it to its rules.

Refusals answer as `libs.authz` says: 404 for an object, so that its existence is not revealed,
403 for a function. Each object exists (created first, as its legitimate worker would), so a
404 here is a refusal and not a missing object; and nothing an outsider sent was written. Then
each insider sends the very same request and it succeeds: the user is the only difference.
"""

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text

from libs import db
from libs.directory import Directory
from tests.conftest import business_day as day
from tests.e2e.test_first_flow import as_user, consultation
from tests.polling import eventually

DIRECTORY = Directory.load()
WRITE_METHODS = ("post", "put", "patch", "delete")

Objects = dict[str, str]
"""The objects created for one service's operations, by name (e.g. "case" → its id)."""


@dataclass(frozen=True)
class Write:
    """One write operation: the users with a basis for it, how everyone else is refused, and a
    request that is valid for its insider (path parameters and body from the service's objects)."""

    allowed: tuple[str, ...]
    """Demo users who may do it; the first sends the insider request."""
    refusal: int
    """404 for an object (its existence is not revealed), 403 for a function."""
    params: Callable[[Objects], dict[str, str]]
    body: Callable[[Objects], dict]


def _ids(**names: str) -> Callable[[Objects], dict[str, str]]:
    """Path parameters from the service's objects: parameter name → object name."""
    return lambda objects: {param: objects[name] for param, name in names.items()}


NO_IDS = _ids()
OBJECT, FUNCTION = 404, 403
# The holders' workers (the organisations the objects below are created by).
CHUO = ("chuo-suzuki",)  # houkatsu-chuo holds the intake cases
TAGIKAN = ("tagikan-tanaka",)  # shakyo-tagikan holds the coordination cases
TSUNAGARI = ("tsunagari-ito",)
SANKA = ("sanka-watanabe",)
CHIIKI = ("chiiki-yamamoto",)
INTAKE_WORKERS = ("chuo-suzuki", "soudan-sato", "kita-takahashi")  # of the organisations running intake
PLAN_MEMBERS = ["shakyo-tagikan", "houkatsu-chuo", "kikan-soudan"]


def _draft(drafted_on: str) -> dict:
    """A 支援プラン（案） proposing role 0 to houkatsu-chuo and role 1 to kikan-soudan."""
    return {
        "goals": ["母の介護サービス利用を開始する", "本人が週1回外出できる"],
        "wishes": "本人は母と自宅で暮らし続けたい",
        "period_from": drafted_on,
        "period_to": day(300),
        "emergency": "夜間は基幹相談支援センターの当番へ",
        "roles": [
            {"organisation": "houkatsu-chuo", "responsibility": "care_services", "review_on": day(30)},
            {"organisation": "kikan-soudan", "responsibility": "main_contact", "review_on": day(30)},
        ],
        "drafted_on": drafted_on,
    }


def _agreement(agreed_on: str) -> dict:
    return {"meeting_type": "support_plan_meeting", "members": PLAN_MEMBERS, "agreed_on": agreed_on}


def _menu(**overrides) -> dict:
    return {
        "title": "あおぞら農園の農作業体験",
        "description": "野菜の収穫と袋詰め。少人数で静かな環境です。",
        "kind": "work_experience",
        "host_organisation": "farm-aozora",
        "host_name": "あおぞら農園",
        "district": "kita-2",
        "capacity": 5,
        "schedule": "毎週火・木 13時〜15時",
        "target_groups": ["hikikomori"],
    } | overrides


def _place() -> dict:
    return {
        "kind": "salon",
        "name": "ふれあいサロン みなみ",
        "district": "minami-1",
        "school_district": "minami-es",
        "target_groups": ["older"],
        "multi_generational": False,
        "opened_on": day(-30),
    }


# Every write operation, keyed as the OpenAPI names it. Within a service, the order is the order
# the insiders send their requests in (each must succeed on the state the ones before it left).
WRITES: dict[tuple[str, str, str], Write] = {
    # --- intake ----------------------------------------------------------------------------
    ("intake", "POST", "/cases"): Write(
        INTAKE_WORKERS, FUNCTION, NO_IDS, lambda o: consultation(received_on=day(-60))
    ),
    ("intake", "POST", "/cases/{case_id}/consents"): Write(
        CHUO,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {
            "programs": ["intake"],
            "purpose": "support_provision",
            "granted_on": day(-50),
            "expires_on": day(365),
        },
    ),
    ("intake", "POST", "/cases/{case_id}/consents/{consent_id}/narrow"): Write(
        CHUO,
        OBJECT,
        _ids(case_id="case", consent_id="consent"),
        lambda o: {"programs": ["intake"], "narrowed_on": day(-40)},
    ),
    ("intake", "POST", "/cases/{case_id}/consents/{consent_id}/withdraw"): Write(
        CHUO, OBJECT, _ids(case_id="case", consent_id="consent"), lambda o: {"withdrawn_on": day(-39)}
    ),
    ("intake", "PUT", "/cases/{case_id}/person"): Write(
        CHUO,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {
            "person": {"name": "架空　訂正子", "birth_date": "1970-01-02"},
            "household": [],
            "recorded_on": day(-38),
        },
    ),
    ("intake", "POST", "/cases/{case_id}/assessments"): Write(
        CHUO,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"assessed_on": day(-37), "findings": "母の介護負担が大きい", "issue_tags": ["8050"]},
    ),
    ("intake", "POST", "/cases/{case_id}/supports"): Write(
        CHUO,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"given_on": day(-36), "kind": "listening_advice", "note": "話を伺った"},
    ),
    ("intake", "POST", "/cases/{case_id}/agency-referrals"): Write(
        CHUO,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"organisation": "kikan-soudan", "reason": "障害福祉の相談", "referred_on": day(-35)},
    ),
    ("intake", "POST", "/cases/{case_id}/referrals"): Write(
        CHUO, OBJECT, _ids(case_id="case"), lambda o: {"reason": "複合課題のため", "referred_on": day(-34)}
    ),
    ("intake", "POST", "/cases/{case_id}/outreach-referrals"): Write(
        CHUO,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"member": o["subject"], "reason": "外出できず相談に来られない", "referred_on": day(-33)},
    ),
    ("intake", "POST", "/cases/{case_id}/handover"): Write(
        CHUO,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"to_worker": "chuo-suzuki", "reason": "担当替え", "handed_over_on": day(-33)},
    ),
    ("intake", "POST", "/cases/{case_id}/closure"): Write(
        CHUO, OBJECT, _ids(case_id="closable"), lambda o: {"reason": "resolved", "closed_on": day(-30)}
    ),
    ("intake", "POST", "/cases/{case_id}/emergency-access/{grant_id}/review"): Write(
        (*CHUO, "kansa-kobayashi"),
        OBJECT,
        _ids(case_id="case", grant_id="grant"),
        lambda o: {"finding": "justified"},
    ),
    ("intake", "POST", "/cases/{case_id}/erasure"): Write(
        ("city-nakamura",), FUNCTION, _ids(case_id="closable"), lambda o: {"erased_on": day()}
    ),
    # --- coordination ------------------------------------------------------------------------
    ("coordination", "POST", "/meetings"): Write(
        TAGIKAN,
        FUNCTION,
        NO_IDS,
        lambda o: {
            "meeting_type": "confidential_support_meeting",
            "held_on": day(-56),
            "attendees": [{"organisation": "shakyo-tagikan", "role": "convener"}],
            "missing_resources": [{"resource_kind": "transport", "district": "chuo-1"}],
        },
    ),
    ("coordination", "POST", "/cases/{case_id}/assessments"): Write(
        TAGIKAN,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {
            "assessed_on": day(-52),
            "members": [{"relation": "母", "issue_tags": ["elderly_care"], "findings": "要介護2"}],
        },
    ),
    # A redraft replaces the draft the case was given (nothing answered yet).
    ("coordination", "POST", "/cases/{case_id}/plans/drafts"): Write(
        TAGIKAN, OBJECT, _ids(case_id="case"), lambda o: _draft(drafted_on=day(-51))
    ),
    # Role 0 names houkatsu-chuo: its worker records its own acceptance; kikan-soudan (role 1)
    # may not record role 0's. Role 1 is declined by kikan-soudan itself (or for it).
    ("coordination", "POST", "/cases/{case_id}/plans/{plan_version}/roles/{role_index}/acceptance"): Write(
        ("chuo-suzuki", "tagikan-tanaka"),
        OBJECT,
        lambda o: {"case_id": o["case"], "plan_version": "1", "role_index": "0"},
        lambda o: {"accepted_on": day(-49)},
    ),
    ("coordination", "POST", "/cases/{case_id}/plans/{plan_version}/roles/{role_index}/decline"): Write(
        ("kikan-kato", "tagikan-tanaka"),
        OBJECT,
        lambda o: {"case_id": o["case"], "plan_version": "1", "role_index": "1"},
        lambda o: {"reason": "no_capacity", "declined_on": day(-48)},
    ),
    ("coordination", "POST", "/cases/{case_id}/plans"): Write(
        TAGIKAN, OBJECT, _ids(case_id="case"), lambda o: _agreement(agreed_on=day(-45))
    ),
    ("coordination", "POST", "/cases/{case_id}/monitoring"): Write(
        TAGIKAN,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"monitored_on": day(-40), "note": "順調", "organisations": ["houkatsu-chuo"]},
    ),
    ("coordination", "POST", "/cases/{case_id}/referrals/outreach"): Write(
        TAGIKAN,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"urgency": "routine", "reason": "本人と会えていない", "referred_on": day(-38)},
    ),
    ("coordination", "POST", "/cases/{case_id}/referrals/participation"): Write(
        TAGIKAN,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"needs": ["place_to_be"], "reason": "日中の居場所", "referred_on": day(-38)},
    ),
    ("coordination", "POST", "/cases/{case_id}/handover"): Write(
        TAGIKAN,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"to_worker": "tagikan-tanaka", "reason": "担当替え", "handed_over_on": day(-37)},
    ),
    ("coordination", "POST", "/cases/{case_id}/conclusion"): Write(
        TAGIKAN,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {
            "outcome": "improved",
            "goals_met": 1,
            "evaluation": "外出が増えた",
            "concluded_on": day(-30),
        },
    ),
    ("coordination", "POST", "/cases/{case_id}/return"): Write(
        TAGIKAN,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"reason": "support_concluded", "note": "包括で継続", "returned_on": day(-29)},
    ),
    ("coordination", "POST", "/cases/{case_id}/decline"): Write(
        TAGIKAN, OBJECT, _ids(case_id="declinable"), lambda o: {"note": "対象外", "declined_on": day(-55)}
    ),
    # --- outreach ------------------------------------------------------------------------------
    ("outreach", "POST", "/cases"): Write(
        TSUNAGARI,
        FUNCTION,
        NO_IDS,
        lambda o: {
            "identified_by": "neighbour",
            "issue_tags": ["hikikomori"],
            "age_band": "40-64",
            "district": "kita-2",
            "identified_on": day(-30),
        },
    ),
    ("outreach", "POST", "/cases/{case_id}/contact-attempts"): Write(
        TSUNAGARI,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"method": "home_visit", "outcome": "brief_contact", "attempted_on": day(-25)},
    ),
    ("outreach", "POST", "/cases/{case_id}/milestones"): Write(
        TSUNAGARI,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"milestone": "first_conversation", "note": "猫の話", "reached_on": day(-20)},
    ),
    ("outreach", "POST", "/cases/{case_id}/connection"): Write(
        TSUNAGARI,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"connected_to": "agency", "organisation": "kikan-soudan", "connected_on": day(-15)},
    ),
    ("outreach", "POST", "/cases/{case_id}/handover"): Write(
        TSUNAGARI,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"to_worker": "tsunagari-ito", "reason": "担当替え", "handed_over_on": day(-12)},
    ),
    ("outreach", "POST", "/cases/{case_id}/conclusion"): Write(
        TSUNAGARI, OBJECT, _ids(case_id="case"), lambda o: {"reason": "connected", "concluded_on": day(-10)}
    ),
    # --- participation -------------------------------------------------------------------------
    ("participation", "POST", "/menus"): Write(SANKA, FUNCTION, NO_IDS, lambda o: _menu()),
    # A menu is no secret (any worker reads the catalogue): managing another's answers 403.
    ("participation", "PATCH", "/menus/{menu_id}"): Write(
        SANKA, FUNCTION, _ids(menu_id="menu"), lambda o: {"capacity": 6}
    ),
    ("participation", "POST", "/cases/{case_id}/assessments"): Write(
        SANKA,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"needs": ["work_experience"], "wishes": "午後がよい", "assessed_on": day(-30)},
    ),
    ("participation", "POST", "/cases/{case_id}/placements"): Write(
        SANKA,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"menu_id": o["other_menu"], "started_on": day(-25)},
    ),
    ("participation", "POST", "/cases/{case_id}/placements/{placement_id}/follow-ups"): Write(
        SANKA,
        OBJECT,
        _ids(case_id="case", placement_id="placement"),
        lambda o: {"status": "settled", "note": "休まず通えている", "followed_up_on": day(-20)},
    ),
    ("participation", "POST", "/cases/{case_id}/placements/{placement_id}/host-support"): Write(
        SANKA,
        OBJECT,
        _ids(case_id="case", placement_id="placement"),
        lambda o: {"concern": "attendance", "worry": "遅刻が続く", "supported_on": day(-15)},
    ),
    ("participation", "POST", "/cases/{case_id}/placements/{placement_id}/end"): Write(
        SANKA,
        OBJECT,
        _ids(case_id="case", placement_id="placement"),
        lambda o: {"outcome": "term_completed", "ended_on": day(-10)},
    ),
    ("participation", "POST", "/cases/{case_id}/handover"): Write(
        SANKA,
        OBJECT,
        _ids(case_id="case"),
        lambda o: {"to_worker": "sanka-watanabe", "reason": "担当替え", "handed_over_on": day(-9)},
    ),
    # A second referral's case, with no placement: the first still runs one on another menu.
    ("participation", "POST", "/cases/{case_id}/closure"): Write(
        SANKA,
        OBJECT,
        _ids(case_id="closable"),
        lambda o: {"reason": "other_support", "note": "就労支援につながった", "closed_on": day(-5)},
    ),
    # --- community -----------------------------------------------------------------------------
    ("community", "POST", "/places"): Write(CHIIKI, FUNCTION, NO_IDS, lambda o: _place()),
    ("community", "POST", "/places/{place_id}/activities"): Write(
        CHIIKI,
        OBJECT,
        _ids(place_id="place"),
        lambda o: {"held_on": day(-25), "attendance": {"older": 8}, "volunteer_count": 2},
    ),
    ("community", "POST", "/places/{place_id}/volunteers"): Write(
        CHIIKI, OBJECT, _ids(place_id="place"), lambda o: {"generation": "older", "registered_on": day(-24)}
    ),
    ("community", "POST", "/places/{place_id}/volunteers/{volunteer_ref}/leave"): Write(
        CHIIKI, OBJECT, _ids(place_id="place", volunteer_ref="volunteer"), lambda o: {"left_on": day(-10)}
    ),
    ("community", "POST", "/places/{place_id}/concerns"): Write(
        CHIIKI,
        OBJECT,
        _ids(place_id="place"),
        lambda o: {
            "issue_tags": ["isolation"],
            "age_band": "75+",
            "description": "常連の方が来なくなった",
            "noticed_on": day(-9),
        },
    ),
    ("community", "POST", "/concerns/{concern_id}/raise"): Write(
        CHIIKI, OBJECT, _ids(concern_id="concern"), lambda o: {"raised_to": "intake", "raised_on": day(-8)}
    ),
    ("community", "POST", "/platform-meetings"): Write(
        CHIIKI,
        FUNCTION,
        NO_IDS,
        lambda o: {
            "held_on": day(-7),
            "sectors": ["welfare", "commerce"],
            "organisations": ["shakyo-chiiki"],
            "themes": ["isolation_prevention"],
        },
    ),
    ("community", "POST", "/places/{place_id}/close"): Write(
        CHIIKI, OBJECT, _ids(place_id="place"), lambda o: {"closed_on": day(-1)}
    ),
}


# --- the objects each service's operations act on, created by their legitimate workers --------


class Workers:
    """One client per (service, user): a request differs from another only in its token."""

    def __init__(self, services, tokens) -> None:
        self.services, self.tokens = services, tokens
        self.http = httpx.AsyncClient(timeout=30)

    async def send(
        self, service: str, user: str, method: str, url: str, body: dict | None = None
    ) -> httpx.Response:
        return await self.http.request(
            method, f"{self.services.urls[service]}{url}", json=body, headers=as_user(self.tokens, user)
        )

    async def ok(self, service: str, user: str, method: str, url: str, body: dict | None = None) -> dict:
        response = await self.send(service, user, method, url, body)
        assert response.status_code in (200, 201), (
            f"{service} {method} {url}: {response.status_code} {response.text}"
        )
        return response.json()

    async def eventually_ok(self, service: str, user: str, url: str, what: str) -> dict:
        async def probe() -> dict | None:
            response = await self.send(service, user, "GET", url)
            return response.json() if response.status_code == 200 else None

        return await eventually(probe, timeout=60, what=what)


async def _intake_case(workers: Workers) -> str:
    """A case of houkatsu-chuo with a consent covering intake and coordination."""
    case = (await workers.ok("intake", "chuo-suzuki", "POST", "/cases", consultation(received_on=day(-60))))[
        "case_id"
    ]
    consent = {
        "programs": ["intake", "coordination"],
        "purpose": "support_coordination",
        "granted_on": day(-60),
        "expires_on": day(365),
    }
    await workers.ok("intake", "chuo-suzuki", "POST", f"/cases/{case}/consents", consent)
    return case


async def _coordination_case(workers: Workers) -> str:
    """A case intake referred, as coordination (shakyo-tagikan) opened it."""
    case = await _intake_case(workers)
    referral = await workers.ok(
        "intake",
        "chuo-suzuki",
        "POST",
        f"/cases/{case}/referrals",
        {"reason": "複合課題", "referred_on": day(-58)},
    )
    opened = await workers.eventually_ok(
        "coordination",
        "tagikan-tanaka",
        f"/referrals/{referral['referral_id']}",
        "coordination opening the referral",
    )
    return opened["coordination_case_id"]


async def _assessed(workers: Workers, coordination_case: str) -> None:
    members = [{"relation": "本人", "issue_tags": ["hikikomori"], "findings": "日中の居場所がない"}]
    await workers.ok(
        "coordination",
        "tagikan-tanaka",
        "POST",
        f"/cases/{coordination_case}/assessments",
        {"assessed_on": day(-55), "members": members},
    )


async def _intake_objects(workers: Workers) -> Objects:
    case = await _intake_case(workers)
    consent = (await workers.ok("intake", "chuo-suzuki", "GET", f"/cases/{case}/consents"))[0]["consent_id"]
    closable = (
        await workers.ok("intake", "chuo-suzuki", "POST", "/cases", consultation(received_on=day(-60)))
    )["case_id"]
    subject = (await workers.ok("intake", "chuo-suzuki", "GET", f"/cases/{case}"))["subject_ref"]
    # Another intake organisation's worker broke the glass on the case: the grant to review.
    grant = await workers.ok(
        "intake",
        "kita-takahashi",
        "POST",
        f"/cases/{case}/emergency-access",
        {
            "reason_code": "life_or_body",
            "reason": "夜間に本人の安否確認の依頼があり保有機関に連絡がつかない。",
        },
    )
    return {
        "case": case,
        "consent": consent,
        "closable": closable,
        "subject": subject,
        "grant": grant["grant_id"],
    }


async def _coordination_objects(workers: Workers) -> Objects:
    case, declinable = await _coordination_case(workers), await _coordination_case(workers)
    await _assessed(workers, case)
    await workers.ok(
        "coordination", "tagikan-tanaka", "POST", f"/cases/{case}/plans/drafts", _draft(drafted_on=day(-53))
    )
    return {"case": case, "declinable": declinable}


async def _outreach_objects(workers: Workers) -> Objects:
    found = await workers.ok(
        "outreach", "tsunagari-ito", "POST", "/cases", WRITES[("outreach", "POST", "/cases")].body({})
    )
    return {"case": found["outreach_case_id"]}


async def _participation_case(workers: Workers, coordination_case: str, referred_on: str) -> str:
    """A participation case opened from coordination's referral (the case is assessed there)."""
    referral = await workers.ok(
        "coordination",
        "tagikan-tanaka",
        "POST",
        f"/cases/{coordination_case}/referrals/participation",
        {"needs": ["work_experience"], "reason": "就労体験", "referred_on": referred_on},
    )
    opened = await workers.eventually_ok(
        "participation",
        "sanka-watanabe",
        f"/referrals/{referral['referral_id']}",
        "participation opening the referral",
    )
    return opened["participation_case_id"]


async def _participation_objects(workers: Workers) -> Objects:
    coordination_case = await _coordination_case(workers)
    await _assessed(workers, coordination_case)
    case = await _participation_case(workers, coordination_case, day(-45))
    closable = await _participation_case(workers, coordination_case, day(-44))
    menu = (await workers.ok("participation", "sanka-watanabe", "POST", "/menus", _menu()))["menu_id"]
    other_menu = (
        await workers.ok("participation", "sanka-watanabe", "POST", "/menus", _menu(title="まちかどカフェ"))
    )["menu_id"]
    await workers.ok(
        "participation",
        "sanka-watanabe",
        "POST",
        f"/cases/{case}/assessments",
        {"needs": ["work_experience"], "assessed_on": day(-40)},
    )
    placed = await workers.ok(
        "participation",
        "sanka-watanabe",
        "POST",
        f"/cases/{case}/placements",
        {"menu_id": menu, "started_on": day(-35)},
    )
    return {
        "case": case,
        "closable": closable,
        "menu": menu,
        "other_menu": other_menu,
        "placement": placed["placement_id"],
    }


async def _community_objects(workers: Workers) -> Objects:
    place = (await workers.ok("community", "chiiki-yamamoto", "POST", "/places", _place()))["place_id"]
    volunteer = await workers.ok(
        "community",
        "chiiki-yamamoto",
        "POST",
        f"/places/{place}/volunteers",
        {"generation": "youth", "registered_on": day(-28)},
    )
    concern = await workers.ok(
        "community",
        "chiiki-yamamoto",
        "POST",
        f"/places/{place}/concerns",
        {
            "issue_tags": ["self_neglect"],
            "age_band": "75+",
            "description": "最近見かけない",
            "noticed_on": day(-20),
        },
    )
    return {"place": place, "volunteer": volunteer["volunteer_ref"], "concern": concern["concern_id"]}


ELSEWHERE = {
    ("intake", "POST", "/cases/{case_id}/emergency-access"): "tests/e2e/test_breakglass.py",
}
"""Write operations whose rules do not fit the matrix, and the test that holds them to theirs."""

OBJECTS = {
    "intake": _intake_objects,
    "coordination": _coordination_objects,
    "outreach": _outreach_objects,
    "participation": _participation_objects,
    "community": _community_objects,
}


# --- the matrix -------------------------------------------------------------------------------


async def _write_operations(url: str) -> list[tuple[str, str]]:
    """(METHOD, path template) of every write operation the service documents."""
    async with httpx.AsyncClient(timeout=30) as client:
        spec = (await client.get(f"{url}/openapi.json")).json()
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in WRITE_METHODS
    ]


async def _last_position(database_url: str) -> int:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (
                await conn.execute(text("SELECT coalesce(max(global_position), 0) FROM events"))
            ).scalar_one()
    finally:
        await engine.dispose()


async def _written_by_people_since(database_url: str, position: int) -> list[tuple[str, str, str]]:
    """Events appended after `position` on a person's request (consumers' reactions excluded)."""
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT stream_id, event_type, metadata->>'actor' FROM events "
                    "WHERE global_position > :p AND metadata->>'actor' NOT LIKE '%.consumer' "
                    "ORDER BY global_position"
                ),
                {"p": position},
            )
            return [tuple(row) for row in rows]
    finally:
        await engine.dispose()


async def test_the_table_names_exactly_the_write_operations_of_every_service(services):
    documented = {
        (service, method, path)
        for service, url in services.urls.items()
        for method, path in await _write_operations(url)
    } - ELSEWHERE.keys()
    missing = sorted(documented - WRITES.keys())
    assert not missing, (
        f"write operations with no entry in WRITES (add who may use them and a valid request): {missing}"
    )
    stale = sorted(WRITES.keys() - documented)
    assert not stale, f"WRITES names operations the services no longer document: {stale}"


@pytest.mark.parametrize("service", list(OBJECTS))
async def test_every_write_operation_is_refused_to_outsiders_and_done_for_insiders(services, tokens, service):
    operations = [
        op for op in await _write_operations(services.urls[service]) if (service, *op) not in ELSEWHERE
    ]
    missing = [f"{method} {path}" for method, path in operations if (service, method, path) not in WRITES]
    assert not missing, f"{service}: no entry in WRITES for {missing}, so no outsider was tried on it"

    workers = Workers(services, tokens)
    async with workers.http:
        objects = await OBJECTS[service](workers)
        before = await _last_position(services.database_urls[service])

        wrong: list[str] = []
        for method, path in operations:
            write = WRITES[(service, method, path)]
            url = path.format(**write.params(objects))
            for user in DIRECTORY.users:
                if user in write.allowed:
                    continue
                response = await workers.send(service, user, method, url, write.body(objects))
                if response.status_code != write.refusal:
                    wrong.append(
                        f"{method} {path} as {user}: {response.status_code} (expected {write.refusal})"
                    )
        assert not wrong, f"{service} did not refuse outsiders:\n" + "\n".join(wrong)
        written = await _written_by_people_since(services.database_urls[service], before)
        assert not written, f"{service} recorded events on outsiders' refused requests: {written}"

        # The same requests from an insider succeed: the objects exist, the bodies are valid.
        for (owner, method, path), write in WRITES.items():
            if owner != service:
                continue
            url = path.format(**write.params(objects))
            insider = write.allowed[0]
            response = await workers.send(service, insider, method, url, write.body(objects))
            assert response.status_code in (200, 201), (
                f"{method} {path} as {insider}: {response.status_code} {response.text}"
            )
