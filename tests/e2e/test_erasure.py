"""Erasure proven in all five services, over real HTTP, Kafka and PostgreSQL.

One person's canary values reach every service's private records the way a real person's do:
a community place notices them and passes them to intake (community keeps the worker's
description); intake records their details, gets consent and refers them to coordination;
coordination assesses, agrees a plan and asks outreach and participation to help; outreach
records a visit and participation the person's wishes. Each of those fields is personal data,
sealed under the person's key in that service only.

Then the municipal administrator erases the person at intake. For each of the five services:
its key for the person is destroyed (a tombstone in `subject_keys`), its reads show the personal
fields as null and no canary anywhere, and its hash chain still verifies (it covers ciphertext).
Last, a byte scan of PostgreSQL's files, Kafka's log segments and every log under the test home
finds no canary in any form.
"""

import json
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs import db
from libs.eventstore import PostgresSession
from tests.conftest import business_day
from tests.e2e.test_first_flow import as_user
from tests.polling import eventually

ADMIN = "city-nakamura"  # 重層的支援推進課: the municipality decides erasure
WORKERS = {
    "community": "chiiki-yamamoto",
    "intake": "chuo-suzuki",  # houkatsu-chuo serves chuo-2: a concern raised there is held by it
    "coordination": "tagikan-tanaka",
    "outreach": "tsunagari-ito",
    "participation": "sanka-watanabe",
}
PERSON = {
    "name": "五消　カナリ子",
    "name_kana": "ゴショウ カナリコ",
    "birth_date": "1957-10-23",
    "address": "架空市五消町5-5-5",
    "phone": "000-5555-0505",
}
# What each worker writes about the person in their own words (notes often name the person).
NOTICED = f"五消カナリア気づき：{PERSON['name']}さんが食堂に来なくなった"
SUMMARY = "五消カナリア要旨：介護と家計の相談"
REFERRAL_REASON = "五消カナリア依頼：複合課題"
FINDINGS = "五消カナリア所見：昼夜逆転"
GOAL = "五消カナリア目標：週に一度の外出"
PLAN_WISHES = "五消カナリア意向：家で暮らし続けたい"
EMERGENCY = "五消カナリア緊急時：姉へ連絡"
TO_OUTREACH = "五消カナリア依頼：本人と会えていない"
TO_PARTICIPATION = "五消カナリア依頼：日中の居場所"
VISIT = f"五消カナリア訪問：{PERSON['name']}さんと玄関先で話せた"
WISHES = "五消カナリア希望：静かな場所で作業したい"
CANARIES = [
    *PERSON.values(),
    NOTICED,
    SUMMARY,
    REFERRAL_REASON,
    FINDINGS,
    GOAL,
    PLAN_WISHES,
    EMERGENCY,
    TO_OUTREACH,
    TO_PARTICIPATION,
    VISIT,
    WISHES,
]


# Where each service's read shows the person's sealed fields (all null once erased).
PERSONAL_FIELDS: dict[str, Callable[[dict], list]] = {
    # Household members have keys of their own and are erased one by one (test_household.py).
    "intake": lambda case: [case["person"], case["summary"]],
    "coordination": lambda case: [
        case["assessments"][0]["members"],
        case["plans"][0]["goals"],
        case["plans"][0]["wishes"],
        case["plans"][0]["emergency"],
        case["plans"][0]["roles"],
        case["outreach_referrals"][0]["reason"],
        case["participation_referrals"][0]["reason"],
    ],
    "outreach": lambda case: [case["attempts"][0]["note"]],
    "participation": lambda case: [case["assessments"][0]["wishes"]],
    "community": lambda concern: [concern["description"]],
}


# Every canary holds one of these, so a scan for them alone finds any canary (then named in full):
# a few needles keep the byte scan of the whole test home fast.
MARKS = ["五消", "ゴショウ", PERSON["birth_date"], PERSON["phone"]]
assert all(any(mark in canary for mark in MARKS) for canary in CANARIES)


def _forms(value: str) -> set[bytes]:
    """`value` as UTF-8, and as a JSON writer that escapes non-ASCII would put it."""
    return {value.encode(), json.dumps(value)[1:-1].encode()}


def _client(services, tokens, service: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=services.urls[service], headers=as_user(tokens, WORKERS[service]), timeout=30
    )


async def _json(client: httpx.AsyncClient, url: str) -> dict | None:
    response = await client.get(url)
    return response.json() if response.status_code == 200 else None


async def _post(client: httpx.AsyncClient, url: str, body: dict, method: str = "POST") -> dict:
    response = await client.request(method, url, json=body)
    assert response.status_code in (200, 201), f"{method} {url}: {response.status_code} {response.text}"
    return response.json()


async def _key_state(engine: AsyncEngine, subject_ref: str) -> str:
    """'live', 'destroyed' (a tombstone: no wrapped key left) or 'unknown' for one person's key."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT erased_at IS NOT NULL, wrapped_dek IS NULL FROM subject_keys WHERE subject_ref = :s"
                ),
                {"s": subject_ref},
            )
        ).first()
    if row is None:
        return "unknown"
    return "destroyed" if row[0] and row[1] else "live"


async def _chain_problems(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        report = await PostgresSession(conn, None).verify_chain()
    return [] if report.ok else report.problems[:3]


def _files_holding_canaries(root: Path) -> dict[str, list[str]]:
    """Every file under `root` holding a canary, in any form, with the canaries it holds."""
    marks = set().union(*map(_forms, MARKS))
    found: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # a segment or temporary file removed while the scan walked
                continue
            if any(mark in data for mark in marks):
                held = [c for c in CANARIES if any(form in data for form in _forms(c))]
                found[str(path.relative_to(root))] = held or [
                    m for m in MARKS if any(f in data for f in _forms(m))
                ]
    return found


async def _person_in_all_five_services(services, tokens) -> dict[str, tuple[str, str]]:
    """Drive the person through the five programs; return, per service, the URL its worker reads
    the person's record at and the pseudonym that service seals their data under."""
    day = business_day
    community = _client(services, tokens, "community")
    intake = _client(services, tokens, "intake")
    coord = _client(services, tokens, "coordination")
    outreach = _client(services, tokens, "outreach")
    participation = _client(services, tokens, "participation")
    async with community, intake, coord, outreach, participation:
        place = await _post(
            community,
            "/places",
            {
                "kind": "kodomo_shokudo",
                "name": "ひだまりこども食堂",
                "district": "chuo-2",
                "school_district": "chuo-es",
                "target_groups": ["everyone"],
                "multi_generational": True,
                "opened_on": day(-90),
            },
        )
        noted = await _post(
            community,
            f"/places/{place['place_id']}/concerns",
            {
                "issue_tags": ["isolation", "poverty_debt"],
                "age_band": "65-74",
                "description": NOTICED,
                "noticed_on": day(-60),
            },
        )
        concern_id, case_key = noted["concern_id"], noted["case_key"]
        await _post(
            community, f"/concerns/{concern_id}/raise", {"raised_to": "intake", "raised_on": day(-59)}
        )

        case = f"/cases/{case_key}"
        await eventually(lambda: _json(intake, case), what="intake opening the raised concern's case")
        await _post(
            intake,
            f"{case}/person",
            {"person": PERSON, "household": [], "summary": SUMMARY, "recorded_on": day(-58)},
            method="PUT",
        )
        await _post(
            intake,
            f"{case}/consents",
            {
                "programs": ["intake", "coordination"],
                "purpose": "support_coordination",
                "granted_on": day(-58),
                "expires_on": day(365),
            },
        )
        referral = await _post(
            intake, f"{case}/referrals", {"reason": REFERRAL_REASON, "referred_on": day(-57)}
        )

        opened = await eventually(
            lambda: _json(coord, f"/referrals/{referral['referral_id']}"),
            what="coordination opening the referral",
        )
        coordination_case = f"/cases/{opened['coordination_case_id']}"
        await _post(
            coord,
            f"{coordination_case}/assessments",
            {
                "assessed_on": day(-55),
                "members": [{"relation": "本人", "issue_tags": ["isolation"], "findings": FINDINGS}],
            },
        )
        drafted = await _post(
            coord,
            f"{coordination_case}/plans/drafts",
            {
                "goals": [GOAL],
                "wishes": PLAN_WISHES,
                "period_from": day(-50),
                "period_to": day(300),
                "emergency": EMERGENCY,
                "roles": [
                    {"organisation": "city-soudan", "responsibility": "main_contact", "review_on": day(30)}
                ],
                "drafted_on": day(-52),
            },
        )
        await _post(
            coord,
            f"{coordination_case}/plans/{drafted['plan_version']}/roles/0/acceptance",
            {"accepted_on": day(-51)},
        )
        await _post(
            coord,
            f"{coordination_case}/plans",
            {
                "meeting_type": "support_plan_meeting",
                "members": ["shakyo-tagikan", "city-soudan"],
                "agreed_on": day(-50),
            },
        )
        to_outreach = await _post(
            coord, f"{coordination_case}/referrals/outreach", {"reason": TO_OUTREACH, "referred_on": day(-45)}
        )
        to_participation = await _post(
            coord,
            f"{coordination_case}/referrals/participation",
            {"needs": ["place_to_be"], "reason": TO_PARTICIPATION, "referred_on": day(-45)},
        )

        reached = await eventually(
            lambda: _json(outreach, f"/referrals/{to_outreach['referral_id']}"),
            what="outreach opening the referral",
        )
        outreach_case = f"/cases/{reached['outreach_case_id']}"
        await _post(
            outreach,
            f"{outreach_case}/contact-attempts",
            {"method": "home_visit", "outcome": "brief_contact", "note": VISIT, "attempted_on": day(-40)},
        )
        placed = await eventually(
            lambda: _json(participation, f"/referrals/{to_participation['referral_id']}"),
            what="participation opening the referral",
        )
        participation_case = f"/cases/{placed['participation_case_id']}"
        await _post(
            participation,
            f"{participation_case}/assessments",
            {"needs": ["place_to_be"], "wishes": WISHES, "assessed_on": day(-40)},
        )

        records = {
            "intake": case,
            "coordination": coordination_case,
            "outreach": outreach_case,
            "participation": participation_case,
            "community": f"/concerns/{concern_id}",
        }
        clients = {
            "intake": intake,
            "coordination": coord,
            "outreach": outreach,
            "participation": participation,
            "community": community,
        }
        found: dict[str, tuple[str, str]] = {}
        for service, url in records.items():
            body = await _json(clients[service], url)
            assert body is not None, f"{service}: its worker cannot read {url}"
            shown = [c for c in CANARIES if c in json.dumps(body, ensure_ascii=False)]
            assert shown, f"{service}: the person's canary never reached its record {url}"
            assert None not in PERSONAL_FIELDS[service](body), f"{service}: personal fields missing: {body}"
            found[service] = (url, body["subject_ref"])
        return found


async def test_erasure_destroys_the_person_in_all_five_services(services, tokens, infra_home):
    records = await _person_in_all_five_services(services, tokens)
    case_url = records["intake"][0]

    async with httpx.AsyncClient(
        base_url=services.urls["intake"], headers=as_user(tokens, ADMIN), timeout=30
    ) as admin:
        erased = await admin.post(f"{case_url}/erasure", json={"erased_on": business_day()})
        assert erased.status_code == 200, erased.text
        again = await admin.post(f"{case_url}/erasure", json={"erased_on": business_day()})
        assert again.status_code == 200, again.text  # idempotent

    engines = {service: db.create_engine(url) for service, url in services.database_urls.items()}
    try:
        # Each service destroyed its own key for the person: intake in the erasing transaction,
        # the others when SubjectErased reached their follower.
        for service, (_, subject_ref) in records.items():

            async def destroyed(
                engine: AsyncEngine = engines[service], subject_ref: str = subject_ref
            ) -> bool:
                return await _key_state(engine, subject_ref) == "destroyed"

            await eventually(
                destroyed, timeout=60, what=f"{service} destroying its key for the erased person"
            )

        # The hash chains still verify: they cover ciphertext, not the destroyed plaintext.
        for service, engine in engines.items():
            problems = await _chain_problems(engine)
            assert not problems, f"{service}'s hash chain no longer verifies: {problems}"
    finally:
        for engine in engines.values():
            await engine.dispose()

    # Their reads show the personal fields as null and none of the canaries; the rest remains.
    for service, (url, _) in records.items():
        async with _client(services, tokens, service) as client:
            body = await _json(client, url)
        assert body is not None, f"{service}: its worker can no longer read {url}"
        shown = [c for c in CANARIES if c in json.dumps(body, ensure_ascii=False)]
        assert not shown, f"{service} still shows the erased person's data: {shown}"
        assert PERSONAL_FIELDS[service](body) == [None] * len(PERSONAL_FIELDS[service](body)), (
            f"{service}: personal fields not null after erasure: {body}"
        )
        assert body["issue_tags"] and body["subject_ref"], f"{service} lost the de-identified facts: {body}"
    # Intake records when the person was erased.
    async with _client(services, tokens, "intake") as intake:
        assert (await _json(intake, case_url))["erased_on"] == business_day()

    # Byte scan of the test home in one pass: PostgreSQL's files, Kafka's log segments, and the
    # services' and the broker's logs — for any canary, in any form a writer might have used.
    for part in ("postgres", "kafka", *(log.name for log in services.logs.values())):
        assert (infra_home / part).exists(), f"the scan would miss {part}: not under {infra_home}"
    leaked = _files_holding_canaries(infra_home)
    assert not leaked, f"plaintext of the erased person on disk: {leaked}"
