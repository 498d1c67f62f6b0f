"""Participation support end to end over real HTTP, PostgreSQL and Kafka (seed 002, 参加支援事業):

a menu is developed with a host → coordination's referral arrives on Kafka → the person's needs
and wishes are assessed → matched and placed → followed up (定着支援) → the placement ends.
Capacity holds under concurrent placements; public events carry no personal data; only the
holding organisation's participation coordinators see or change a case.
"""

import asyncio
import json
import uuid
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import text

from contracts.events import ReferredToParticipation
from contracts.glossary import AgeBand, IssueTag, ParticipationNeed
from contracts.topics import COORDINATION_EVENTS, PARTICIPATION_EVENTS, Header
from libs import db
from libs.commands import Context, envelope_for
from libs.directory import Directory
from libs.eventstore import PostgresSession
from tests.builders import collect, header, produce, wire
from tests.e2e.test_first_flow import clients, refer_new_case
from tests.polling import eventually

COORDINATOR = "sanka-watanabe"  # participation coordinator of 社協 参加支援 (shakyo-sanka)
DIRECTORY = Directory.load()
WISHES = "カナリア希望：朝は苦手なので午後に、静かな場所で土に触れる作業がしたい"
FINDINGS = "カナリア所見：対人緊張が強いが作業への意欲は高い"
ARRANGEMENTS = "カナリア配慮：最初の1か月は支援員が同行する"
FOLLOW_UP_NOTE = "カナリア経過：休まず通えている。農園主とも会話できるようになった"
END_NOTE = "カナリア終了：近くの農業法人でアルバイトを始めた"
WORRY = "カナリア悩み：本人に指示が伝わっているか分からない"
RESPONSE = "カナリア支援：作業手順を写真付きのカードにした"


def as_user(tokens: dict, user: str) -> dict:
    return {"Authorization": f"Bearer {tokens[user]}"}


def a_menu(**overrides) -> dict:
    return {
        "title": "あおぞら農園の農作業体験",
        "description": "野菜の収穫と袋詰め。少人数で静かな環境です。",
        "kind": "work_experience",
        "host_organisation": "farm-aozora",
        "host_name": "あおぞら農園",
        "district": "kita-2",
        "capacity": 2,
        "schedule": "毎週火・木 13時〜15時",
        "target_groups": ["hikikomori"],
    } | overrides


def client(services, tokens, user: str = COORDINATOR) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=services.urls["participation"], headers=as_user(tokens, user), timeout=30
    )


async def _get_json(http: httpx.AsyncClient, url: str, ok=lambda body: True):
    response = await http.get(url)
    if response.status_code == 200 and ok(response.json()):
        return response.json()
    return None


def referral(case_key: uuid.UUID | None = None) -> ReferredToParticipation:
    """What coordination publishes when it asks participation support to find the person a place."""
    return ReferredToParticipation(
        case_key=case_key or uuid.uuid4(),
        referral_id=uuid.uuid4(),
        coordination_case_id=uuid.uuid4(),
        subject_ref=f"subj_{uuid.uuid4().hex}",
        needs=[ParticipationNeed.WORK_EXPERIENCE, ParticipationNeed.SOCIAL_CONTACT],
        issue_tags=[IssueTag.HIKIKOMORI, IssueTag.EIGHTY_FIFTY],
        age_band=AgeBand.MIDDLE,
        district="kita-2",
        referred_on=date(2026, 4, 2),
    )


async def refer(infra, http: httpx.AsyncClient, count: int = 1) -> list[dict]:
    """Referrals published on coordination's topic (as coordination would), then the cases
    participation opened for them."""
    events = [referral() for _ in range(count)]
    ctx = Context(organisation="shakyo-tagikan", actor="tagikan-tanaka")
    await produce(
        infra.kafka_admin,
        COORDINATION_EVENTS,
        [wire(envelope_for(e, ctx, datetime.now(UTC))) for e in events],
    )
    return [
        await eventually(
            lambda e=e: _get_json(http, f"/referrals/{e.referral_id}"),
            what="participation opened the referral",
        )
        for e in events
    ]


async def assessed(infra, http: httpx.AsyncClient, count: int = 1) -> list[str]:
    cases = await refer(infra, http, count)
    for case in cases:
        done = await http.post(
            f"/cases/{case['participation_case_id']}/assessments",
            json={"needs": ["work_experience"], "assessed_on": "2026-04-03"},
        )
        assert done.status_code == 201, done.text
    return [c["participation_case_id"] for c in cases]


async def new_menu(http: httpx.AsyncClient, **overrides) -> str:
    created = await http.post("/menus", json=a_menu(**overrides))
    assert created.status_code == 201, created.text
    return created.json()["menu_id"]


async def test_a_person_is_assessed_placed_followed_up_and_the_placement_ends(services, tokens, infra):
    async with client(services, tokens) as http:
        created = await http.post("/menus", json=a_menu())
        assert created.status_code == 201, created.text
        menu_id = created.json()["menu_id"]
        assert created.headers["Location"] == f"/menus/{menu_id}" and created.headers["ETag"] == '"1"'

        (opened,) = await refer(infra, http)
        case_id = opened["participation_case_id"]
        assert opened["status"] == "open" and opened["holder_organisation"] == "shakyo-sanka"
        assert opened["referring_organisation"] == "shakyo-tagikan"
        assert opened["referred_needs"] == ["work_experience", "social_contact"]
        case_key = opened["case_key"]

        assessed_ = await http.post(
            f"/cases/{case_id}/assessments",
            headers={"If-Match": '"1"'},
            json={
                "needs": ["work_experience", "social_contact"],
                "wishes": WISHES,
                "findings": FINDINGS,
                "assessed_on": "2026-04-03",
            },
        )
        assert assessed_.status_code == 201, assessed_.text
        assert assessed_.headers["ETag"] == '"2"'

        suggested = (await http.get(f"/cases/{case_id}/menu-suggestions")).json()
        assert menu_id in [m["menu_id"] for m in suggested]

        placed = await http.post(
            f"/cases/{case_id}/placements",
            json={"menu_id": menu_id, "arrangements": ARRANGEMENTS, "started_on": "2026-04-07"},
        )
        assert placed.status_code == 201, placed.text
        placement = f"/cases/{case_id}/placements/{placed.json()['placement_id']}"
        seen_menu = (await http.get(f"/menus/{menu_id}")).json()
        assert (seen_menu["placed"], seen_menu["free_seats"]) == (1, 1)

        followed = await http.post(
            f"{placement}/follow-ups",
            json={"status": "settled", "note": FOLLOW_UP_NOTE, "followed_up_on": "2026-07-07"},
        )
        assert followed.status_code == 201, followed.text
        supported = await http.post(
            f"{placement}/host-support",
            json={
                "concern": "communication_with_person",
                "worry": WORRY,
                "response": RESPONSE,
                "supported_on": "2026-07-10",
            },
        )
        assert supported.status_code == 201, supported.text
        ended = await http.post(
            f"{placement}/end",
            json={"outcome": "moved_to_employment", "note": END_NOTE, "ended_on": "2026-10-07"},
        )
        assert ended.status_code == 201, ended.text
        twice = await http.post(
            f"{placement}/end", json={"outcome": "term_completed", "ended_on": "2026-10-08"}
        )
        assert twice.status_code == 409 and twice.json()["code"] == "placement_ended"
        late = await http.post(
            f"{placement}/follow-ups", json={"status": "settled", "followed_up_on": "2026-10-09"}
        )
        assert late.status_code == 409 and late.json()["code"] == "placement_ended"
        assert (await http.get(f"/menus/{menu_id}")).json()["placed"] == 0

        case = await http.get(f"/cases/{case_id}")
        assert case.status_code == 200 and case.headers["Cache-Control"] == "no-store"
        body = case.json()
        assert body["status"] == "assessed" and body["assessments"][0]["wishes"] == WISHES
        shown = body["placements"][0]
        assert shown["arrangements"] == ARRANGEMENTS and shown["follow_ups"][0]["note"] == FOLLOW_UP_NOTE
        assert shown["follow_ups"][0]["status_label"] == "定着している"
        assert shown["host_support"][0]["worry"] == WORRY and shown["outcome_label"] == "一般就労へ移行"

        audit = await http.get(f"/audit/access?case_id={case_id}", headers=as_user(tokens, "kansa-kobayashi"))
        assert [(r["user"], r["basis"]) for r in audit.json()] == [
            (COORDINATOR, "holder")
        ] * 2  # refer() read once

    # Kafka: the case's events in order under its case key, the menu's under its id; no free text.
    expected = [
        "ParticipationAccepted",
        "ParticipationAssessed",
        "PlacementStarted",
        "PlacementFollowedUp",
        "HostSupported",
        "PlacementEnded",
    ]
    records = await collect(
        infra.kafka_admin,
        PARTICIPATION_EVENTS,
        lambda r: r.key in (case_key.encode(), menu_id.encode()),
        lambda kept: len(kept) >= len(expected) + 1,
    )
    by_case = [header(r, Header.EVENT_TYPE) for r in records if r.key == case_key.encode()]
    assert by_case == expected
    assert [header(r, Header.EVENT_TYPE) for r in records if r.key == menu_id.encode()] == ["MenuPublished"]
    raw = b"".join(r.value for r in records)
    for secret in (
        WISHES,
        FINDINGS,
        ARRANGEMENTS,
        FOLLOW_UP_NOTE,
        END_NOTE,
        WORRY,
        RESPONSE,
        "あおぞら",
        "袋詰め",
    ):
        assert secret.encode() not in raw, f"free text on Kafka: {secret}"
    payloads = {header(r, Header.EVENT_TYPE): json.loads(r.value)["payload"] for r in records}
    assert payloads["PlacementEnded"]["days_placed"] == 183  # counted as still placed after 6 months
    assert payloads["PlacementFollowedUp"]["days_since_start"] == 91
    assert payloads["PlacementStarted"]["host_organisation"] == "farm-aozora"

    # The accepted case continues coordination's flow (same correlation id, caused by the referral).
    accepted = next(r for r in records if header(r, Header.EVENT_TYPE) == "ParticipationAccepted")
    assert header(accepted, Header.CAUSATION_ID) is not None


async def test_coordinations_referral_over_kafka_opens_the_participation_case(services, tokens):
    """The real chain: intake refers → coordination assesses and asks participation → a case here."""
    intake, coord = clients(services, tokens)
    async with intake, coord, client(services, tokens) as http:
        case_key, opened = await refer_new_case(intake, coord, consent=True)
        case = f"/cases/{opened['coordination_case_id']}"
        household = await coord.post(
            f"{case}/assessments",
            json={
                "assessed_on": "2026-04-05",
                "members": [
                    {"relation": "本人", "issue_tags": ["hikikomori"], "findings": "日中の居場所がない"}
                ],
            },
        )
        assert household.status_code == 201, household.text
        asked = await coord.post(
            f"{case}/referrals/participation",
            json={"needs": ["place_to_be"], "reason": "日中の居場所", "referred_on": "2026-04-12"},
        )
        assert asked.status_code == 201, asked.text
        referral_id = asked.json()["referral_id"]
        here = await eventually(
            lambda: _get_json(http, f"/referrals/{referral_id}"), what="participation opened the referral"
        )
        assert here["case_key"] == case_key and here["coordination_case_id"] == opened["coordination_case_id"]
        assert here["referring_organisation"] == "shakyo-tagikan" and here["referred_needs"] == [
            "place_to_be"
        ]
        assert here["opened_on"] == "2026-04-12" and here["status"] == "open"


async def test_a_full_menu_refuses_the_next_person_and_capacity_never_drops_below_the_placed(
    services, tokens, infra
):
    async with client(services, tokens) as http:
        menu_id = await new_menu(http, capacity=2)
        first, second, third = await assessed(infra, http, 3)
        for case_id in (first, second):
            placed = await http.post(
                f"/cases/{case_id}/placements", json={"menu_id": menu_id, "started_on": "2026-04-07"}
            )
            assert placed.status_code == 201, placed.text

        full = await http.post(
            f"/cases/{third}/placements", json={"menu_id": menu_id, "started_on": "2026-04-07"}
        )
        assert full.status_code == 409 and full.json()["code"] == "menu_full"
        assert "定員（2人）" in full.json()["detail"]
        again = await http.post(
            f"/cases/{first}/placements", json={"menu_id": menu_id, "started_on": "2026-04-08"}
        )
        assert again.status_code == 409 and again.json()["code"] == "already_placed"

        shrink = await http.patch(f"/menus/{menu_id}", json={"capacity": 1})
        assert shrink.status_code == 409 and shrink.json()["code"] == "capacity_below_placements"
        grown = await http.patch(f"/menus/{menu_id}", json={"capacity": 3}, headers={"If-Match": '"3"'})
        assert grown.status_code == 200, grown.text
        stale = await http.patch(f"/menus/{menu_id}", json={"capacity": 4}, headers={"If-Match": '"3"'})
        assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
        closed = await http.patch(f"/menus/{menu_id}", json={"status": "closed"})
        assert closed.status_code == 200, closed.text
        refused = await http.post(
            f"/cases/{third}/placements", json={"menu_id": menu_id, "started_on": "2026-04-09"}
        )
        assert refused.status_code == 409 and refused.json()["code"] == "menu_closed"
        assert (await http.patch(f"/menus/{menu_id}", json={"status": "active"})).status_code == 200
        placed = await http.post(
            f"/cases/{third}/placements", json={"menu_id": menu_id, "started_on": "2026-04-09"}
        )
        assert placed.status_code == 201, placed.text

        seen = (await http.get(f"/menus/{menu_id}")).json()
        assert (seen["capacity"], seen["placed"], seen["status"], seen["status_label"]) == (
            3,
            3,
            "active",
            "実施中",
        )
        listed = (await http.get("/menus", params={"district": "kita-2", "kind": "work_experience"})).json()
        assert menu_id in [m["menu_id"] for m in listed]

    updates = await collect(
        infra.kafka_admin,
        PARTICIPATION_EVENTS,
        lambda r: r.key == menu_id.encode(),
        lambda kept: len(kept) >= 4,
    )
    assert [header(r, Header.EVENT_TYPE) for r in updates] == ["MenuPublished", *["MenuUpdated"] * 3]
    assert json.loads(updates[1].value)["payload"]["capacity"] == 3
    assert json.loads(updates[2].value)["payload"]["status"] == "closed"


async def test_concurrent_placements_fill_a_menu_exactly_to_its_capacity(services, tokens, infra):
    capacity, people = 3, 8
    async with client(services, tokens) as http:
        menu_id = await new_menu(http, capacity=capacity)
        cases = await assessed(infra, http, people)
        responses = await asyncio.gather(
            *(
                http.post(
                    f"/cases/{case_id}/placements", json={"menu_id": menu_id, "started_on": "2026-04-07"}
                )
                for case_id in cases
            )
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] * capacity + [409] * (people - capacity), [r.text for r in responses]
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {"menu_full"}
        seen = (await http.get(f"/menus/{menu_id}")).json()
        assert (seen["placed"], seen["free_seats"]) == (capacity, 0)
        placed = [c for c, r in zip(cases, responses, strict=True) if r.status_code == 201]
        for case_id in cases:
            status = (await http.get(f"/cases/{case_id}")).json()["status"]
            assert status == ("placed" if case_id in placed else "assessed")

    # The menu's own stream holds exactly `capacity` seats, and its hash chain is intact.
    engine = db.create_engine(services.database_urls["participation"])
    try:
        async with engine.connect() as conn:
            seats = (
                await conn.execute(
                    text("SELECT count(*) FROM events WHERE stream_id = :s AND event_type = 'SeatTaken'"),
                    {"s": f"participation-menu-{menu_id}"},
                )
            ).scalar_one()
            report = await PostgresSession(conn, None).verify_chain()
    finally:
        await engine.dispose()
    assert seats == capacity and report.ok


async def test_only_the_holders_participation_coordinators_see_or_change_a_case(services, tokens, infra):
    async with client(services, tokens) as http:
        menu_id = await new_menu(http)
        (case_id,) = await assessed(infra, http)
        placed = await http.post(
            f"/cases/{case_id}/placements", json={"menu_id": menu_id, "started_on": "2026-04-07"}
        )
        placement_id = placed.json()["placement_id"]
    url = services.urls["participation"]
    case = f"{url}/cases/{case_id}"
    async with httpx.AsyncClient(timeout=10) as anyone:
        for user, details in DIRECTORY.users.items():
            headers = as_user(tokens, user)
            got = {
                "read": (await anyone.get(case, headers=headers)).status_code,
                "suggest": (await anyone.get(f"{case}/menu-suggestions", headers=headers)).status_code,
                "assess": (
                    await anyone.post(
                        f"{case}/assessments",
                        headers=headers,
                        json={
                            "needs": ["learning"],
                            "assessed_on": "2026-01-01",
                        },  # refused by the domain: no write
                    )
                ).status_code,
                "follow up": (
                    await anyone.post(
                        f"{case}/placements/{placement_id}/follow-ups",
                        headers=headers,
                        json={"status": "settled", "followed_up_on": "2026-01-01"},
                    )
                ).status_code,
                "menus": (await anyone.get(f"{url}/menus", headers=headers)).status_code,
                "menu": (await anyone.get(f"{url}/menus/{menu_id}", headers=headers)).status_code,
                "revise": (
                    await anyone.patch(f"{url}/menus/{menu_id}", headers=headers, json={"capacity": 1})
                ).status_code,
            }
            holder = user == COORDINATOR
            worker = bool(details.roles - {"municipal_administrator", "auditor"})
            expected = {
                "read": 200 if holder else 404,
                "suggest": 200 if holder else 404,
                "assess": 409 if holder else 404,
                "follow up": 409 if holder else 404,
                "menus": 200 if worker else 403,
                "menu": 200 if worker else 403,
                "revise": 200 if holder else 403,  # one person is placed: capacity 1 is allowed
            }
            assert got == expected, user
        for user in ("tagikan-tanaka", "chuo-suzuki", "city-nakamura"):
            refused = await anyone.post(f"{url}/menus", headers=as_user(tokens, user), json=a_menu())
            assert refused.status_code == 403 and refused.json()["detail"], user


async def test_every_participation_endpoint_refuses_a_request_without_a_token(services):
    url = services.urls["participation"]
    async with httpx.AsyncClient(timeout=10) as anyone:
        spec = (await anyone.get(f"{url}/openapi.json")).json()
        assert "/cases/{case_id}" in spec["paths"] and "/menus" in spec["paths"]
        for path, operations in spec["paths"].items():
            concrete = path
            for name in ("case_id", "menu_id", "placement_id", "referral_id"):
                concrete = concrete.replace(f"{{{name}}}", str(uuid.uuid4()))
            for method in operations:
                response = await anyone.request(method, f"{url}{concrete}", json={})
                assert response.status_code == (200 if path == "/health" else 401), (method, path)


@pytest.mark.parametrize(
    "bad",
    [
        a_menu(capacity=0),
        a_menu(capacity=1001),
        a_menu(kind="circus"),
        a_menu(district="北"),
        a_menu(host_organisation="あおぞら農園"),
        a_menu(title="   "),
        a_menu(title="農園\x00体験"),
        a_menu(target_groups=["elsewhere"]),
        a_menu(participant="架空　花子"),
        {k: v for k, v in a_menu().items() if k != "title"},
    ],
)
async def test_bad_menus_are_refused_with_422(services, tokens, bad):
    async with client(services, tokens) as http:
        response = await http.post("/menus", json=bad)
        assert response.status_code == 422, response.text


async def test_bad_requests_get_clear_4xx_never_500(services, tokens, infra):
    async with client(services, tokens) as http:
        menu_id = await new_menu(http)
        (opened,) = await refer(infra, http)
        case_id = opened["participation_case_id"]

        assert (await http.patch(f"/menus/{menu_id}", json={})).status_code == 422
        assert (await http.patch(f"/menus/{menu_id}", json={"capacity": -1})).status_code == 422
        assert (await http.patch(f"/menus/{menu_id}", json={"status": "sleeping"})).status_code == 422
        assert (await http.get("/menus/not-a-uuid")).status_code == 422
        assert (await http.get("/menus", params={"district": "中央"})).status_code == 422
        missing_menu = await http.get(f"/menus/{uuid.uuid4()}")
        assert missing_menu.status_code == 404 and missing_menu.json()["code"] == "menu_not_found"
        assert (await http.patch(f"/menus/{uuid.uuid4()}", json={"capacity": 3})).status_code == 404

        assess = f"/cases/{case_id}/assessments"
        for bad in (
            {"needs": [], "assessed_on": "2026-04-03"},
            {"needs": ["flying"], "assessed_on": "2026-04-03"},
            {"needs": ["learning"], "assessed_on": "yesterday"},
            {"needs": ["learning"], "wishes": "  ", "assessed_on": "2026-04-03"},
            {"needs": ["learning"], "assessed_on": "2026-04-03", "name": "架空　花子"},
        ):
            response = await http.post(assess, json=bad)
            assert response.status_code == 422, (bad, response.text)
        early = await http.post(assess, json={"needs": ["learning"], "assessed_on": "2026-04-01"})
        assert early.status_code == 409 and early.json()["code"] == "assessment_before_opening"
        garbled = await http.post(
            assess, headers={"If-Match": "soon"}, json={"needs": ["learning"], "assessed_on": "2026-04-03"}
        )
        assert garbled.status_code == 422

        place = f"/cases/{case_id}/placements"
        unassessed = await http.post(place, json={"menu_id": menu_id, "started_on": "2026-04-07"})
        assert unassessed.status_code == 409 and unassessed.json()["code"] == "not_assessed"
        assert "アセスメント" in unassessed.json()["detail"]
        assert (
            await http.post(assess, json={"needs": ["learning"], "assessed_on": "2026-04-03"})
        ).status_code == 201
        assert (await http.get(f"/menus/{menu_id}")).json()["placed"] == 0  # the refusal took no seat
        assert (
            await http.post(place, json={"menu_id": "menu-1", "started_on": "2026-04-07"})
        ).status_code == 422
        unknown = await http.post(place, json={"menu_id": str(uuid.uuid4()), "started_on": "2026-04-07"})
        assert unknown.status_code == 404 and unknown.json()["code"] == "menu_not_found"
        before = await http.post(place, json={"menu_id": menu_id, "started_on": "2026-03-01"})
        assert before.status_code == 409 and before.json()["code"] == "placement_before_opening"
        assert (await http.get(f"/menus/{menu_id}")).json()["placed"] == 0

        placed = await http.post(place, json={"menu_id": menu_id, "started_on": "2026-04-07"})
        assert placed.status_code == 201, placed.text
        placement = f"{place}/{placed.json()['placement_id']}"
        assert (
            await http.post(f"{placement}/end", json={"outcome": "vanished", "ended_on": "2026-05-01"})
        ).status_code == 422
        too_early = await http.post(
            f"{placement}/end", json={"outcome": "term_completed", "ended_on": "2026-04-01"}
        )
        assert too_early.status_code == 409 and too_early.json()["code"] == "end_before_start"
        assert (
            await http.post(
                f"{placement}/host-support", json={"concern": "gossip", "supported_on": "2026-05-01"}
            )
        ).status_code == 422
        no_placement = await http.post(
            f"{place}/{uuid.uuid4()}/follow-ups", json={"status": "settled", "followed_up_on": "2026-05-01"}
        )
        assert no_placement.status_code == 404

        assert (await http.get(f"/cases/{uuid.uuid4()}")).status_code == 404
        assert (await http.get("/cases/not-a-uuid")).status_code == 422
        unknown_case = await http.post(
            f"/cases/{uuid.uuid4()}/assessments", json={"needs": ["learning"], "assessed_on": "2026-04-03"}
        )
        assert unknown_case.status_code == 404
