"""The first flow end to end over real HTTP, PostgreSQL and Kafka (seed 002, pp.14-15):

intake receives → refers → coordination opens its case → drafts a plan, records the agencies'
answers and the meeting's agreement → returns the case → intake shows the return. Then: no
personal data ever reached Kafka.
"""

import asyncio
import uuid
from datetime import date, timedelta

import httpx

from contracts.topics import COORDINATION_EVENTS, INTAKE_EVENTS, Header
from tests.builders import collect, header
from tests.conftest import business_day
from tests.polling import eventually

PERSON = {
    "name": "架空　花子",
    "name_kana": "カクウ ハナコ",
    "birth_date": "1974-05-06",
    "address": "架空市中央一丁目2-3",
    "phone": "090-0000-1234",
}
SUMMARY = "母（82歳）の介護と本人のひきこもり。家計も逼迫。"


def consultation(**overrides) -> dict:
    return {
        "channel": "phone",
        "person": PERSON,
        "household": [{"relation": "parent", "age": 82, "name": "架空　ウメ"}],
        "issue_tags": ["8050", "hikikomori", "elderly_care", "poverty_debt"],
        "district": "chuo-1",
        "summary": SUMMARY,
        "received_on": "2026-04-01",
    } | overrides


CONSENT = {
    "programs": ["intake", "coordination"],
    "purpose": "support_coordination",
    "granted_on": "2026-04-01",
    "expires_on": business_day(365),  # judged against the services' business day
}
WORKER = "chuo-suzuki"  # intake worker of 中央地域包括支援センター (houkatsu-chuo)
COORDINATOR = "tagikan-tanaka"  # coordinator of 社協 多機関協働 (shakyo-tagikan)


def as_user(tokens: dict, user: str) -> dict:
    return {"Authorization": f"Bearer {tokens[user]}"}


def plan(meeting_type: str = "support_plan_meeting", **overrides) -> dict:
    return {
        "meeting_type": meeting_type,
        "members": ["shakyo-tagikan", "houkatsu-chuo", "kikan-soudan"],
        "goals": ["母の介護サービス利用を開始する", "本人が週1回外出できる"],
        "roles": [
            {"organisation": "houkatsu-chuo", "responsibility": "care_services", "review_on": "2026-07-01"},
            {"organisation": "kikan-soudan", "responsibility": "main_contact", "review_on": "2026-07-01"},
        ],
        "agreed_on": "2026-04-10",
    } | overrides


WISHES = "本人は母と自宅で暮らし続けたい。母は息子の将来を心配している。"
MEETING_TERMS = ("meeting_id", "meeting_type", "members", "agreed_on")


def plan_draft(body: dict, drafted_on: str | None = None) -> dict:
    """The 支援プラン（案） a `plan()` body proposes: its goals and roles, with the person's and
    household's wishes, a year of support from the day it is drafted and the emergency contact."""
    on = drafted_on or body.get("agreed_on") or "2026-04-10"
    return {
        "goals": body["goals"],
        "wishes": WISHES,
        "period_from": on,
        "period_to": (date.fromisoformat(on) + timedelta(days=365)).isoformat(),
        "emergency": "夜間・休日は基幹相談支援センターの当番へ連絡する",
        "roles": body["roles"],
        "drafted_on": on,
    }


async def agree_plan(
    coord: httpx.AsyncClient, case: str, body: dict, *, drafted_on: str | None = None, headers=None
) -> httpx.Response:
    """A plan as practised, over HTTP: the draft, each role accepted (the coordinator recording each
    agency's word, on the day of the draft), then the meeting's agreement (`body`'s meeting terms).
    Returns the agreement's response, or the first step's refusal."""
    drafted = await coord.post(f"{case}/plans/drafts", json=plan_draft(body, drafted_on), headers=headers)
    if drafted.status_code != 201:
        return drafted
    version, on = drafted.json()["plan_version"], plan_draft(body, drafted_on)["drafted_on"]
    for index in range(len(body["roles"])):
        accepted = await coord.post(
            f"{case}/plans/{version}/roles/{index}/acceptance", json={"accepted_on": on}, headers=headers
        )
        if accepted.status_code != 201:
            return accepted
    terms = {k: v for k, v in body.items() if k in MEETING_TERMS}
    return await coord.post(f"{case}/plans", json=terms, headers=headers)


def clients(services, tokens, worker: str = WORKER, coordinator: str = COORDINATOR):
    """An intake client acting as `worker` and a coordination client acting as `coordinator`."""
    return (
        httpx.AsyncClient(base_url=services.urls["intake"], headers=as_user(tokens, worker), timeout=10),
        httpx.AsyncClient(
            base_url=services.urls["coordination"], headers=as_user(tokens, coordinator), timeout=10
        ),
    )


async def _get_json(client: httpx.AsyncClient, url: str, ok=lambda body: True, headers=None):
    response = await client.get(url, headers=headers)
    if response.status_code == 200 and ok(response.json()):
        return response.json()
    return None


async def refer_new_case(
    intake: httpx.AsyncClient, coord: httpx.AsyncClient, consent: bool = True, person: dict = PERSON
) -> tuple[str, dict]:
    """A case received (and, with `consent`, consented) and referred, as coordination opened it."""
    created = await intake.post("/cases", json=consultation(person=person))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    if consent:
        granted = await intake.post(f"/cases/{case_id}/consents", json=CONSENT)
        assert granted.status_code == 201, granted.text
    referral = await intake.post(
        f"/cases/{case_id}/referrals", json={"reason": "複合課題のため", "referred_on": "2026-04-02"}
    )
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["referral_id"]
    opened = await eventually(
        lambda: _get_json(coord, f"/referrals/{referral_id}"), what="coordination opened the referral"
    )
    return case_id, opened


async def test_a_case_goes_from_intake_to_coordination_and_back(services, tokens, infra):
    intake, coord = clients(services, tokens)
    async with intake, coord:
        created = await intake.post("/cases", json=consultation())
        assert created.status_code == 201, created.text
        assert created.headers["ETag"] == '"1"'
        case_id = created.json()["case_id"]
        assert created.headers["Location"] == f"/cases/{case_id}"

        seen = (await intake.get(f"/cases/{case_id}")).json()
        assert seen["status"] == "open" and seen["person"]["name"] == PERSON["name"]
        assert seen["holder_organisation"] == "houkatsu-chuo" and seen["access_basis"] == "holder"

        consent = await intake.post(f"/cases/{case_id}/consents", json=CONSENT)
        assert consent.status_code == 201, consent.text
        referral = await intake.post(
            f"/cases/{case_id}/referrals",
            headers={"If-Match": '"1"'},
            json={"urgency": "urgent", "reason": "8050と家計の複合課題", "referred_on": "2026-04-02"},
        )
        assert referral.status_code == 201, referral.text
        referral_id = referral.json()["referral_id"]

        opened = await eventually(
            lambda: _get_json(coord, f"/referrals/{referral_id}"), what="coordination opened the referral"
        )
        coordination_case = opened["coordination_case_id"]
        assert opened["case_key"] == case_id
        assert opened["referring_organisation"] == "houkatsu-chuo"
        assert opened["holder_organisation"] == services.organisations["coordination"]
        assert opened["age_band"] == "40-64"
        assert PERSON["name"] not in str(opened)

        accepted = await eventually(
            lambda: _get_json(intake, f"/cases/{case_id}", lambda b: b["status"] == "in_coordination"),
            what="intake saw the acceptance",
        )
        assert accepted["referrals"][0]["coordination_case_id"] == coordination_case

        agreed = await agree_plan(coord, f"/cases/{coordination_case}", plan())
        assert agreed.status_code == 201, agreed.text
        returned = await coord.post(
            f"/cases/{coordination_case}/return",
            json={"reason": "meeting_decision", "note": "包括が主担当で継続", "returned_on": "2026-04-10"},
        )
        assert returned.status_code == 201, returned.text

        back = await eventually(
            lambda: _get_json(intake, f"/cases/{case_id}", lambda b: b["status"] == "returned"),
            what="intake shows the return",
        )
        shown = back["referrals"][0]
        assert shown["return_reason"] == "meeting_decision"
        assert shown["return_reason_label"] == "会議の決定によるつなぎもどし"
        assert shown["returned_by"] == services.organisations["coordination"]
        assert shown["returned_on"] == "2026-04-10"
        assert back["meetings"][0]["meeting_type_label"] == "重層的支援会議"

    # Every public event of the case is on Kafka, keyed by the case, in order, with no personal data.
    flow: list = []
    for topic, expected in (
        (INTAKE_EVENTS, ["CaseReceived", "ConsentChanged", "ReferredToCoordination"]),
        (COORDINATION_EVENTS, ["ReferralAccepted", "PlanAgreed", "ReturnedToOrigin"]),
    ):
        records = await collect(
            infra.kafka_admin,
            topic,
            lambda r: r.key == case_id.encode(),
            lambda kept, n=len(expected): len(kept) >= n,  # noqa: B008
        )
        assert [header(r, Header.EVENT_TYPE) for r in records] == expected
        flow.extend(records)
    referred, accepted_record = flow[2], flow[3]
    # Coordination's acceptance was caused by intake's referral and continues its flow.
    assert header(accepted_record, Header.CAUSATION_ID) == header(referred, Header.MESSAGE_ID)
    assert header(accepted_record, Header.CORRELATION_ID) == header(referred, Header.CORRELATION_ID)
    raw = b"".join(r.value for r in flow)
    for secret in (*PERSON.values(), SUMMARY, "架空　ウメ", "複合課題", "介護サービス利用", "包括が主担当"):
        assert secret.encode() not in raw, f"personal data on Kafka: {secret}"


async def test_bad_requests_get_clear_4xx_never_500(services, tokens):
    intake, _ = clients(services, tokens)
    async with intake:
        missing = await intake.get(f"/cases/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.json()["detail"]
        assert (await intake.get("/cases/not-a-uuid")).status_code == 422

        # A person may be recorded without a name (an anonymous call), never without any age.
        ageless = consultation(person={"name": "架空　花子"})
        invalid = await intake.post("/cases", json=ageless)
        assert invalid.status_code == 422
        [error] = invalid.json()["detail"]
        assert (error["loc"], error["type"]) == (["body", "person"], "age_unknown") and "年代" in error["msg"]
        anonymous = consultation(consulter={"kind": "anonymous"}, person={"age_band": "40-64"}, household=[])
        assert (await intake.post("/cases", json=anonymous)).status_code == 201

        for bad in (
            consultation(channel="carrier-pigeon"),
            consultation(issue_tags=[]),
            consultation(person=PERSON | {"name": "架空\x00花子"}),
            consultation(person=PERSON | {"name": "   "}),
            consultation(person=PERSON | {"name": "花" * 101}),
            consultation(person=PERSON | {"birth_date": "2027-01-01"}),
            consultation(district="中央"),
            consultation(unexpected="field"),
        ):
            response = await intake.post("/cases", json=bad)
            assert response.status_code == 422, (bad, response.text)

        # Dates of what happened are judged on the business day (Tokyo); districts against the
        # municipality's directory. The reason names the field.
        tomorrow = await intake.post("/cases", json=consultation(received_on=business_day(1)))
        assert tomorrow.status_code == 422 and tomorrow.json()["code"] == "date_in_future"
        assert "received_on" in tomorrow.json()["detail"]
        nowhere = await intake.post("/cases", json=consultation(district="nowhere-99"))
        assert nowhere.status_code == 422 and nowhere.json()["code"] == "unknown_district"
        assert "nowhere-99" in nowhere.json()["detail"]
        typo = consultation(consulter={"kind": "professional", "organisation": "kyotaku-minmai"})
        misspelt = await intake.post("/cases", json=typo)
        assert misspelt.status_code == 422 and misspelt.json()["code"] == "unknown_organisation"
        assert "consulter.organisation" in misspelt.json()["detail"]
        today = await intake.post("/cases", json=consultation(received_on=business_day(0)))
        assert today.status_code == 201, today.text
        ahead = {"reason": "理由", "referred_on": business_day(1)}
        later = await intake.post(f"/cases/{today.json()['case_id']}/referrals", json=ahead)
        assert later.status_code == 422 and later.json()["code"] == "date_in_future"

        refer = {"reason": "理由", "referred_on": "2026-04-02"}
        unknown = await intake.post(f"/cases/{uuid.uuid4()}/referrals", json=refer)
        assert unknown.status_code == 404

        case_id = (await intake.post("/cases", json=consultation())).json()["case_id"]
        stale = await intake.post(f"/cases/{case_id}/referrals", headers={"If-Match": '"0"'}, json=refer)
        assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
        garbled = await intake.post(
            f"/cases/{case_id}/referrals", headers={"If-Match": "yesterday"}, json=refer
        )
        assert garbled.status_code == 422
        early = await intake.post(f"/cases/{case_id}/referrals", json=refer | {"referred_on": "2026-03-01"})
        assert early.status_code == 409 and early.json()["code"] == "referral_before_receipt"

        # Workers refer the same case at the same moment, all having seen version 1: exactly one
        # wins, the others are told someone else changed it, and the case holds one referral.
        racing = await asyncio.gather(
            *(
                intake.post(f"/cases/{case_id}/referrals", headers={"If-Match": '"1"'}, json=refer)
                for _ in range(8)
            )
        )
        statuses = sorted(r.status_code for r in racing)
        assert statuses == [201] + [409] * 7, [r.text for r in racing]
        assert {r.json()["code"] for r in racing if r.status_code == 409} == {"version_conflict"}
        assert len((await intake.get(f"/cases/{case_id}")).json()["referrals"]) == 1
        again = await intake.post(f"/cases/{case_id}/referrals", json=refer)
        assert again.status_code == 409 and again.json()["code"] == "already_referred"

        for bad_consent in (
            CONSENT | {"programs": []},
            CONSENT | {"programs": ["elsewhere"]},
            CONSENT | {"expires_on": "2026-03-01"},
        ):
            response = await intake.post(f"/cases/{case_id}/consents", json=bad_consent)
            assert response.status_code == 422, (bad_consent, response.text)


async def test_coordination_refuses_plans_and_returns_that_make_no_sense(services, tokens):
    intake, coord = clients(services, tokens)
    async with intake, coord:
        _, without_consent = await refer_new_case(intake, coord, consent=False)
        case = f"/cases/{without_consent['coordination_case_id']}"

        refused = await agree_plan(coord, case, plan("support_plan_meeting"))
        assert refused.status_code == 409 and refused.json()["code"] == "consent_required"
        assert "支援会議" in refused.json()["detail"]
        drafts = f"{case}/plans/drafts"
        assert (await coord.post(drafts, json=plan_draft(plan(roles=[])))).status_code == 422
        assert (await coord.post(drafts, json=plan_draft(plan(goals=[])))).status_code == 422
        someone_else = plan_draft(plan()) | {
            "roles": [
                {
                    "organisation": "kikan-soudan",
                    "responsibility": "main_contact",
                    "review_on": "2026-07-01",
                    "members": [f"subj_{uuid.uuid4().hex}"],
                }
            ]
        }
        stranger = await coord.post(drafts, json=someone_else)
        assert stranger.status_code == 422 and "roles.0.members" in stranger.json()["detail"]
        for_the_person = someone_else | {
            "roles": [someone_else["roles"][0] | {"members": [without_consent["subject_ref"]]}]
        }
        redrafted = await coord.post(drafts, json=for_the_person)  # replaces the refused meeting's draft
        assert redrafted.status_code == 201 and redrafted.json()["draft"] == 2, redrafted.text
        confidential = {"meeting_type": "confidential_support_meeting", "members": ["shakyo-tagikan"]}
        unanswered = await coord.post(f"{case}/plans", json=confidential | {"agreed_on": "2026-04-10"})
        assert unanswered.status_code == 409 and unanswered.json()["code"] == "roles_unanswered"
        answered = await coord.post(f"{case}/plans/1/roles/0/acceptance", json={"accepted_on": "2026-04-10"})
        assert answered.status_code == 201, answered.text
        assert (await coord.post(f"{case}/plans", json=confidential | {"members": []})).status_code == 422
        too_early = await coord.post(f"{case}/plans", json=confidential | {"agreed_on": "2026-01-01"})
        assert too_early.status_code == 409 and too_early.json()["code"] == "plan_before_opening"
        concluded_without_plan = await coord.post(
            f"{case}/return", json={"reason": "support_concluded", "returned_on": "2026-04-20"}
        )
        assert concluded_without_plan.status_code == 409

        # Which meetings may agree a plan is not settled here yet: a 支援会議 still may.
        allowed = await coord.post(f"{case}/plans", json=confidential | {"agreed_on": "2026-04-10"})
        assert allowed.status_code == 201, allowed.text
        [agreed] = (await coord.get(case)).json()["plans"]
        assert agreed["roles"][0]["members"] == [without_consent["subject_ref"]]
        done = await coord.post(
            f"{case}/return", json={"reason": "support_concluded", "returned_on": "2026-04-20"}
        )
        assert done.status_code == 201, done.text
        twice = await coord.post(
            f"{case}/return", json={"reason": "support_concluded", "returned_on": "2026-04-21"}
        )
        assert twice.status_code == 409 and twice.json()["code"] == "case_returned"
        after = await agree_plan(coord, case, plan("confidential_support_meeting", agreed_on="2026-04-21"))
        assert after.status_code == 409 and after.json()["code"] == "case_returned"

        assert (await coord.get(f"/cases/{uuid.uuid4()}")).status_code == 404


async def test_health_and_openapi_are_served_without_a_token(services):
    async with httpx.AsyncClient(timeout=10) as client:
        for url in services.urls.values():
            health = await client.get(f"{url}/health")
            assert health.status_code == 200 and health.json() == {
                "status": "ok",
                "database": True,
                "broker": True,
            }
            spec = (await client.get(f"{url}/openapi.json")).json()
            assert spec["openapi"].startswith("3.") and "/cases/{case_id}" in spec["paths"]
