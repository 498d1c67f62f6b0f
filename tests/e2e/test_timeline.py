"""A case's timeline across programs, over the five real services and the projection service.

One case crosses programs: intake receives it (a canary name), the person consents for intake and
coordination, intake refers it, coordination plans it at a 支援会議 and refers the person to
participation and outreach. Each service shows its part only to whom its own rules give a basis,
decrypts personal details only for them and records that read; the projection service merges the
answers in time order with the caller's own token and says "見られません（法的根拠なし）" elsewhere.
"""

import json
import shutil
import uuid

import httpx
import pytest

from contracts import programs
from tests.e2e.test_first_flow import (
    CONSENT,
    _get_json,
    agree_plan,
    as_user,
    clients,
    consultation,
    plan,
    refer_new_case,
)
from tests.polling import eventually

CANARY = "架空　カナリア太郎"
PERSON = {"name": CANARY, "birth_date": "1970-01-02", "address": "架空市北町9-9-9"}
HOLDER = "chuo-suzuki"  # intake worker of houkatsu-chuo, which receives the case
COORDINATOR = "tagikan-tanaka"
MEMBER = "kikan-kato"  # kikan-soudan sits in the 支援会議; runs no program, has no consent
OTHER_INTAKE = "kita-takahashi"  # houkatsu-kita runs intake, holds nothing: a consent to intake is not to it
OUTREACH = "tsunagari-ito"
PARTICIPATION = "sanka-watanabe"
AUDITOR = "kansa-kobayashi"
ADMINISTRATOR = "city-nakamura"
REFUSED = "見られません（法的根拠なし）"
PROGRAMS = programs.NAMES


def as_text(value: object) -> str:
    """JSON as a reader sees it (repr would escape the ideographic space in the canary's name)."""
    return json.dumps(value, ensure_ascii=False)


async def crossing_case(services, tokens) -> dict:
    """A case through intake → coordination (支援会議) → participation and outreach; ids of each part."""
    intake, coord = clients(services, tokens, worker=HOLDER)
    async with (
        intake,
        coord,
        httpx.AsyncClient(
            base_url=services.urls["participation"], headers=as_user(tokens, PARTICIPATION)
        ) as part,
        httpx.AsyncClient(base_url=services.urls["outreach"], headers=as_user(tokens, OUTREACH)) as outreach,
    ):
        created = await intake.post("/cases", json=consultation(person=PERSON))
        assert created.status_code == 201, created.text
        case_key = created.json()["case_id"]
        granted = await intake.post(f"/cases/{case_key}/consents", json=CONSENT)
        assert granted.status_code == 201, granted.text
        referred = await intake.post(
            f"/cases/{case_key}/referrals", json={"reason": "複合課題のため", "referred_on": "2026-04-02"}
        )
        assert referred.status_code == 201, referred.text
        referral_id = referred.json()["referral_id"]
        opened = await eventually(
            lambda: _get_json(coord, f"/referrals/{referral_id}"), what="coordination opened the referral"
        )
        case = f"/cases/{opened['coordination_case_id']}"
        assessed = await coord.post(
            f"{case}/assessments",
            json={
                "assessed_on": "2026-04-05",
                "members": [{"relation": "本人", "issue_tags": ["hikikomori"], "findings": "外出が難しい"}],
            },
        )
        assert assessed.status_code == 201, assessed.text
        agreed = await agree_plan(
            coord,
            case,
            plan(
                meeting_type="confidential_support_meeting",
                members=["shakyo-tagikan", "houkatsu-chuo", "kikan-soudan"],
            ),
        )
        assert agreed.status_code == 201, agreed.text
        to_participation = await coord.post(
            f"{case}/referrals/participation",
            json={"needs": ["place_to_be"], "reason": "日中の居場所", "referred_on": "2026-04-12"},
        )
        assert to_participation.status_code == 201, to_participation.text
        to_outreach = await coord.post(
            f"{case}/referrals/outreach",
            json={"urgency": "routine", "reason": "本人と会えていない", "referred_on": "2026-04-12"},
        )
        assert to_outreach.status_code == 201, to_outreach.text
        participation_case = await eventually(
            lambda: _get_json(part, f"/referrals/{to_participation.json()['referral_id']}"),
            what="participation opened the referral",
        )
        outreach_case = await eventually(
            lambda: _get_json(outreach, f"/referrals/{to_outreach.json()['referral_id']}"),
            what="outreach opened the referral",
        )
        # Intake learns of the 支援会議 from coordination's public event: then its members have a basis.
        await eventually(
            lambda: _get_json(intake, f"/cases/{case_key}", headers=as_user(tokens, MEMBER)),
            what="intake noted the 支援会議 on the case",
        )
    return {
        "case_key": case_key,
        "coordination_case_id": opened["coordination_case_id"],
        "participation_case_id": participation_case["participation_case_id"],
        "outreach_case_id": outreach_case["outreach_case_id"],
    }


@pytest.fixture(scope="module")
async def case(services, tokens) -> dict:
    return await crossing_case(services, tokens)


async def timeline_of(projections: str, tokens, user: str, case_key: str) -> dict:
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.get(f"{projections}/api/timeline/{case_key}", headers=as_user(tokens, user))
    assert response.status_code == 200, response.text
    return response.json()


def states(document: dict) -> dict[str, str]:
    return {p["program"]: p["state"] for p in document["programs"]}


async def test_the_holder_sees_intake_and_coordination_in_order_with_details(projections, tokens, case):
    document = await timeline_of(projections, tokens, HOLDER, case["case_key"])
    assert states(document) == {
        "intake": "shown",
        "coordination": "shown",  # houkatsu-chuo sat in the 支援会議
        "outreach": "refused",
        "participation": "refused",
        "community": "refused",
    }
    labels = {p["program"]: p["state_label"] for p in document["programs"]}
    assert labels["outreach"] == REFUSED and labels["participation"] == REFUSED
    events = document["events"]
    times = [e["recorded_at"] for e in events]
    assert times == sorted(times)
    kinds = [(e["program"], e["event_type"]) for e in events]
    assert kinds[0] == ("intake", "ConsultationReceived")
    assert kinds.index(("intake", "ReferredToCoordination")) < kinds.index(("coordination", "CaseOpened"))
    assert kinds.index(("coordination", "CaseOpened")) < kinds.index(("coordination", "PlanAgreed"))
    drafted, accepted = (
        kinds.index(("coordination", "PlanDrafted")),
        kinds.index(("coordination", "RoleAccepted")),
    )
    assert drafted < accepted < kinds.index(("coordination", "PlanAgreed"))  # the plan as practised
    assert ("coordination", "ReferredToParticipation") in kinds and (
        "coordination",
        "ReferredToOutreach",
    ) in kinds
    received = events[0]
    assert received["event_label"] == "相談の受付" and received["program_label"] == "包括的相談支援事業"
    assert received["organisation"] == "houkatsu-chuo"
    assert received["details"]["person"]["name"] == CANARY  # decrypted for the holder
    assert all(e["program"] in ("intake", "coordination") for e in events)


async def test_a_support_meeting_member_sees_what_the_meeting_shares(projections, tokens, case):
    document = await timeline_of(projections, tokens, MEMBER, case["case_key"])
    assert states(document) == {
        "intake": "shown",
        "coordination": "shown",
        "outreach": "refused",
        "participation": "refused",
        "community": "refused",
    }
    bases = {p["program"]: p["access_basis_label"] for p in document["programs"]}
    assert bases["intake"] == bases["coordination"] == "支援会議（法106条の6）"
    assert CANARY in as_text(document["events"])


async def test_each_program_shows_its_part_only_under_its_own_rule(projections, tokens, case):
    expected = {
        OTHER_INTAKE: {},  # runs intake but holds nothing here: a consent to intake opens nothing to it
        OUTREACH: {"outreach": "shown"},  # holds the outreach case; the consent does not cover outreach
        PARTICIPATION: {"participation": "shown"},
        COORDINATOR: {"coordination": "shown", "intake": "shown"},  # holder there; consent covers it here
        ADMINISTRATOR: {},  # aggregates only
    }
    for user, shown in expected.items():
        document = await timeline_of(projections, tokens, user, case["case_key"])
        assert states(document) == {p: shown.get(p, "refused") for p in PROGRAMS}, user
        assert {e["program"] for e in document["events"]} == set(shown), user
        if "intake" not in shown:
            assert CANARY not in as_text(document), user


async def test_the_auditor_sees_the_events_but_no_details(projections, tokens, case):
    document = await timeline_of(projections, tokens, AUDITOR, case["case_key"])
    assert states(document) == {
        "intake": "metadata_only",
        "coordination": "metadata_only",
        "outreach": "metadata_only",
        "participation": "metadata_only",
        "community": "refused",  # community holds nothing about this case
    }
    assert document["events"] and all(e["details"] is None for e in document["events"])
    assert CANARY not in as_text(document)


async def test_reading_details_is_recorded_and_metadata_is_not(services, projections, tokens, case):
    key = case["case_key"]
    await timeline_of(projections, tokens, HOLDER, key)
    await timeline_of(projections, tokens, AUDITOR, key)
    async with httpx.AsyncClient(base_url=services.urls["intake"], headers=as_user(tokens, AUDITOR)) as http:
        records = (await http.get("/audit/access", params={"case_id": key})).json()
    timeline_reads = [r for r in records if any(f.startswith("timeline.") for f in r["fields"])]
    assert {r["user"] for r in timeline_reads} >= {HOLDER}
    assert AUDITOR not in {r["user"] for r in records}
    mine = next(r for r in timeline_reads if r["user"] == HOLDER)
    assert mine["basis"] == "holder" and "timeline.person" in mine["fields"]
    # Coordination keeps the record under the shared case key too.
    async with httpx.AsyncClient(
        base_url=services.urls["coordination"], headers=as_user(tokens, AUDITOR)
    ) as http:
        records = (await http.get("/audit/access", params={"case_id": key})).json()
    assert HOLDER in {r["user"] for r in records}


async def test_withdrawn_consent_hides_intake_at_the_next_read(services, projections, tokens):
    """The coordinator reads intake's part under the consent alone (no 支援会議 on this case)."""
    intake, coord = clients(services, tokens, worker=HOLDER)
    async with intake, coord:
        key, _ = await refer_new_case(intake, coord, person=PERSON)
    assert states(await timeline_of(projections, tokens, COORDINATOR, key))["intake"] == "shown"
    async with httpx.AsyncClient(base_url=services.urls["intake"], headers=as_user(tokens, HOLDER)) as intake:
        consent_id = (await intake.get(f"/cases/{key}/consents")).json()[0]["consent_id"]
        withdrawn = await intake.post(
            f"/cases/{key}/consents/{consent_id}/withdraw", json={"withdrawn_on": "2026-05-01"}
        )
        assert withdrawn.status_code == 200, withdrawn.text
    after = await timeline_of(projections, tokens, COORDINATOR, key)
    assert states(after)["intake"] == "refused" and {e["program"] for e in after["events"]} == {
        "coordination"
    }
    assert CANARY not in as_text(after)


async def test_refusals_on_every_service_reveal_nothing(services, tokens, case):
    unknown = str(uuid.uuid4())
    async with httpx.AsyncClient(timeout=30) as http:
        for name, url in services.urls.items():
            for user in (ADMINISTRATOR, "chiiki-yamamoto" if name != "community" else OUTREACH):
                known = await http.get(f"{url}/timeline/{case['case_key']}", headers=as_user(tokens, user))
                missing = await http.get(f"{url}/timeline/{unknown}", headers=as_user(tokens, user))
                assert known.status_code == missing.status_code == 404, (name, user)
                assert known.json() == missing.json(), (name, user)
            audited = await http.get(f"{url}/timeline/{unknown}", headers=as_user(tokens, AUDITOR))
            assert audited.status_code == 404, name
            assert (await http.get(f"{url}/timeline/{case['case_key']}")).status_code == 401, name
            assert (
                await http.get(f"{url}/timeline/not-a-key", headers=as_user(tokens, HOLDER))
            ).status_code == 422


async def test_the_projection_refuses_bad_requests(projections, tokens, issuer):
    async with httpx.AsyncClient(base_url=projections, timeout=30) as http:
        key = str(uuid.uuid4())
        assert (await http.get(f"/api/timeline/{key}")).status_code == 401
        bad = {"Authorization": "Bearer not.a.token"}
        assert (await http.get(f"/api/timeline/{key}", headers=bad)).status_code == 401
        assert (await http.get(f"/timeline/{key}", headers=bad)).status_code == 401
        assert (await http.get("/api/timeline/not-a-key", headers=as_user(tokens, HOLDER))).status_code == 422
        unknown = (await http.get(f"/api/timeline/{key}", headers=as_user(tokens, HOLDER))).json()
        assert set(states(unknown).values()) == {"refused"} and unknown["events"] == []


async def test_the_timeline_page_in_japanese(projections, tokens, case):
    url = f"/timeline/{case['case_key']}"
    async with httpx.AsyncClient(base_url=projections, timeout=60) as http:
        sign_in = await http.get(url)
        assert sign_in.status_code == 200 and 'id="login"' in sign_in.text and CANARY not in sign_in.text
        assert "script-src 'self'" in sign_in.headers["Content-Security-Policy"]
        page = await http.get(url, headers=as_user(tokens, HOLDER))
        assert page.status_code == 200
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert "ケースの経過" in page.text and "相談の受付" in page.text and CANARY in page.text
        assert REFUSED in page.text and "<script>" not in page.text
        other = await http.get(url, headers=as_user(tokens, PARTICIPATION))
        assert CANARY not in other.text and REFUSED in other.text
        script = await http.get("/assets/casework.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
async def test_signing_in_shows_the_timeline_and_the_audit_filters_in_chromium(projections, tokens, case):
    from playwright.async_api import async_playwright

    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        page = await browser.new_page(locale="ja-JP")
        page.set_default_timeout(120_000)  # a deadline, not a speed requirement: the machine is shared
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
        try:
            await page.goto(f"{projections}/timeline/{case['case_key']}")
            assert await page.locator("table").count() == 0
            await page.fill("input[name=token]", tokens[HOLDER])
            await page.click("#login button")
            await page.wait_for_selector("text=経過（記録された順）")
            body = await page.inner_text("body")
            assert CANARY in body and "相談の受付" in body and REFUSED in body

            auditor = await browser.new_page(locale="ja-JP")
            auditor.set_default_timeout(120_000)
            auditor.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            await auditor.goto(f"{projections}/audit")
            await auditor.fill("input[name=token]", tokens[AUDITOR])
            await auditor.click("#login button")
            await auditor.wait_for_selector("#filters")
            await auditor.fill("input[name=case_key]", case["case_key"])
            await auditor.click("#filters button")
            await auditor.wait_for_function(
                # The server wrote the filter back into the page: the new page is in place.
                "(key) => document.querySelector('input[name=case_key]')?.getAttribute('value') === key",
                arg=case["case_key"],
            )
            text = await auditor.inner_text("body")
            assert "正常（改ざんなし）" in text and "ConsultationReceived" in text and CANARY not in text
        finally:
            await browser.close()
    assert problems == []
