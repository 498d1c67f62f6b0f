"""地域づくり事業 end to end over real HTTP, PostgreSQL and Kafka:

a coordinator registers a 子ども食堂 → records volunteers and activities → the place appears in
the HSDS resource directory → a concern noticed there is passed to intake (ConcernRaised on Kafka,
with no personal data) → a multi-sector platform meets. Then: who may do what, and what is refused.
"""

import json
import uuid
from datetime import UTC, datetime

import httpx

from contracts.events import MenuPublished, MenuUpdated
from contracts.topics import COMMUNITY_EVENTS, PARTICIPATION_EVENTS, Header
from libs.commands import Context, envelope_for
from libs.directory import Directory
from tests.builders import collect, header, produce, wire
from tests.polling import eventually

COORDINATOR = "chiiki-yamamoto"  # community coordinator of 社協 地域づくり (shakyo-chiiki)
DIRECTORY = Directory.load()
DESCRIPTION = "小学5年くらいの男の子。祖母の介護で食堂に来られない日が続き、痩せてきた。"

PLACE = {
    "kind": "kodomo_shokudo",
    "name": "みんなの食卓 ひがし",
    "description": "子どもも大人も、誰でも来られる食堂です。",
    "address": {
        "postal_code": "000-0001",
        "prefecture": "北海道",
        "city": "架空市",
        "street": "東町1-2-3 東町会館",
    },
    "district": "higashi-3",
    "school_district": "higashi-es",
    "target_groups": ["everyone", "children"],
    "multi_generational": True,
    "schedule": [
        {"freq": "WEEKLY", "byday": ["SA"], "opens_at": "11:00", "closes_at": "14:00"},
        {
            "freq": "MONTHLY",
            "byday": ["2WE"],
            "opens_at": "17:00",
            "closes_at": "19:00",
            "description": "夕食会",
        },
    ],
    "opened_on": "2026-04-01",
}


def activity(**overrides) -> dict:
    return {
        "held_on": "2026-04-11",
        "attendance": {"children": 14, "youth": 1, "working_age": 6, "older": 9},
        "volunteer_count": 5,
    } | overrides


MEETING = {
    "held_on": "2026-05-20",
    "sectors": ["welfare", "commerce", "education", "residents_association"],
    "organisations": ["shakyo-chiiki", "shoukoukai", "shogakko-higashi"],
    "themes": ["children_and_youth", "place_making"],
    "decisions": ["夏休みに商店街で子どもの職業体験を開く"],
    "minutes": "商工会から空き店舗の活用案が出た。",
}


def as_user(tokens: dict, user: str) -> dict:
    return {"Authorization": f"Bearer {tokens[user]}"}


def community(services, tokens, user: str = COORDINATOR) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=services.urls["community"], headers=as_user(tokens, user), timeout=10)


async def new_place(client: httpx.AsyncClient, **overrides) -> str:
    created = await client.post("/places", json=PLACE | overrides)
    assert created.status_code == 201, created.text
    return created.json()["place_id"]


async def test_a_place_its_activities_the_directory_and_a_concern_passed_to_intake(services, tokens, infra):
    async with community(services, tokens) as chiiki:
        created = await chiiki.post("/places", json=PLACE)
        assert created.status_code == 201, created.text
        place_id = created.json()["place_id"]
        assert created.headers["Location"] == f"/places/{place_id}" and created.headers["ETag"] == '"1"'

        volunteer = await chiiki.post(
            f"/places/{place_id}/volunteers", json={"generation": "older", "registered_on": "2026-04-01"}
        )
        assert volunteer.status_code == 201, volunteer.text
        assert volunteer.json()["volunteer_ref"].startswith("vol_")
        first = await chiiki.post(
            f"/places/{place_id}/activities", json=activity(), headers={"If-Match": '"2"'}
        )
        assert first.status_code == 201, first.text
        second = await chiiki.post(
            f"/places/{place_id}/activities", json=activity(held_on="2026-04-18", new_resident_led=True)
        )
        assert second.status_code == 201, second.text

        seen = (await chiiki.get(f"/places/{place_id}")).json()
        assert seen["status"] == "open" and seen["kind_label"] == "子ども食堂"
        assert [a["attendance_total"] for a in seen["activities"]] == [30, 30]
        assert seen["active_volunteers"] == 1 and seen["volunteers"][0]["generation"] == "older"
        assert seen["schedule"][1]["text_ja"] == "毎月 第2水曜 17:00〜19:00（夕食会）"
        listed = (await chiiki.get("/places", params={"school_district": "higashi-es"})).json()
        assert place_id in [p["place_id"] for p in listed]

        # Any authenticated user reads the HSDS directory: here the auditor, who reads nothing else.
        export = await chiiki.get("/directory/hsds", headers=as_user(tokens, "kansa-kobayashi"))
        assert export.status_code == 200, export.text
        page = export.json()
        assert page["hsds_version"] == "3.0" and page["total_items"] == len(page["contents"]) >= 1
        service = next(s for s in page["contents"] if s["id"] == place_id)
        assert service["name"] == PLACE["name"] and service["status"] == "active"
        assert service["organization"]["name"] == "架空市社会福祉協議会 地域づくり"
        assert service["organization_id"] == service["organization"]["id"]
        assert [(s["freq"], s["byday"], s["opens_at"]) for s in service["schedules"]] == [
            ("WEEKLY", "SA", "11:00+09:00"),
            ("MONTHLY", "2WE", "17:00+09:00"),
        ]
        location = service["service_at_locations"][0]["location"]
        assert location["location_type"] == "physical" and location["name"] == PLACE["name"]
        assert location["addresses"][0]["address_1"] == "東町1-2-3 東町会館"
        assert service["x_kasane"]["school_district"] == "higashi-es"

        figures = (await chiiki.get("/summary", headers=as_user(tokens, "city-nakamura"))).json()
        assert figures["places_by_school_district"]["higashi-es"] >= 1
        assert (
            figures["new_resident_led_activities"] >= 1 and figures["attendance_by_generation"]["older"] >= 18
        )

        # A concern noticed at the place, passed to intake.
        noted = await chiiki.post(
            f"/places/{place_id}/concerns",
            json={
                "issue_tags": ["young_carer", "elderly_care"],
                "age_band": "0-17",
                "description": DESCRIPTION,
                "noticed_on": "2026-04-18",
            },
        )
        assert noted.status_code == 201, noted.text
        concern_id, case_key = noted.json()["concern_id"], noted.json()["case_key"]
        raised = await chiiki.post(
            f"/concerns/{concern_id}/raise", json={"raised_to": "intake", "raised_on": "2026-04-19"}
        )
        assert raised.status_code == 200, raised.text
        again = await chiiki.post(
            f"/concerns/{concern_id}/raise", json={"raised_to": "outreach", "raised_on": "2026-04-20"}
        )
        assert again.status_code == 409 and again.json()["code"] == "concern_already_raised"
        assert "つないで" in again.json()["detail"]

        detail = (await chiiki.get(f"/concerns/{concern_id}")).json()
        assert detail["description"] == DESCRIPTION and detail["raised_to"] == "intake"
        assert detail["subject_ref"].startswith("subj_") and detail["district"] == "higashi-3"
        assert (await chiiki.get(f"/cases/{case_key}")).json()["concern_id"] == concern_id
        audit = await chiiki.get(
            "/audit/access", params={"case_id": case_key}, headers=as_user(tokens, "kansa-kobayashi")
        )
        assert audit.status_code == 200 and {r["user"] for r in audit.json()} == {COORDINATOR}
        assert len(audit.json()) == 2  # both reads were recorded before the details were returned

        met = await chiiki.post("/platform-meetings", json=MEETING)
        assert met.status_code == 201, met.text
        meeting_id = met.json()["meeting_id"]
        meeting = (await chiiki.get(f"/platform-meetings/{meeting_id}")).json()
        assert meeting["sector_labels"][0] == "商工・商店街" and meeting["decisions"] == MEETING["decisions"]

    # On Kafka: the place's events keyed by the place, the concern keyed by its new case, the meeting by
    # its id — and none of the free text, the place's name, or the person's pseudonym.
    def keyed(key: str, n: int):
        return collect(
            infra.kafka_admin,
            COMMUNITY_EVENTS,
            lambda r: r.key == key.encode(),
            lambda kept: len(kept) >= n,
        )

    place_records = await keyed(place_id, 3)
    assert [header(r, Header.EVENT_TYPE) for r in place_records] == [
        "PlaceRegistered",
        "ActivityHeld",
        "ActivityHeld",
    ]
    [concern_record] = await keyed(case_key, 1)
    assert header(concern_record, Header.EVENT_TYPE) == "ConcernRaised"
    assert header(concern_record, Header.ORGANISATION) == "shakyo-chiiki"
    [meeting_record] = await keyed(meeting_id, 1)
    assert header(meeting_record, Header.EVENT_TYPE) == "PlatformMeetingHeld"
    raw = b"".join(r.value for r in (*place_records, concern_record, meeting_record))
    payload = json.loads(concern_record.value)["payload"]
    assert payload["concern_id"] == concern_id and payload["place_id"] == place_id
    assert (payload["raised_to"], payload["age_band"], payload["district"]) == ("intake", "0-17", "higashi-3")
    for secret in (DESCRIPTION, "祖母", detail["subject_ref"], PLACE["name"], "東町", "職業体験", "空き店舗"):
        assert secret.encode() not in raw, f"free text or personal data on Kafka: {secret}"


async def test_only_the_holding_coordinators_manage_and_every_worker_reads_the_directory(services, tokens):
    async with community(services, tokens) as chiiki:
        place_id = await new_place(chiiki)
        noted = await chiiki.post(
            f"/places/{place_id}/concerns",
            json={
                "issue_tags": ["isolation"],
                "age_band": "75+",
                "description": "一人暮らし",
                "noticed_on": "2026-05-02",
            },
        )
        concern_id = noted.json()["concern_id"]
        meeting_id = (await chiiki.post("/platform-meetings", json=MEETING)).json()["meeting_id"]

        async def status(method: str, url: str, user: str, **kwargs) -> int:
            return (await chiiki.request(method, url, headers=as_user(tokens, user), **kwargs)).status_code

        for user, info in DIRECTORY.users.items():
            holder = user == COORDINATOR
            reads_directory = bool(info.roles - {"auditor"})
            got = {
                "register": await status("POST", "/places", user, json=PLACE | {"opened_on": "2026-04-01"}),
                "activity": await status(
                    "POST", f"/places/{place_id}/activities", user, json=activity(held_on="2026-03-01")
                ),
                "close": await status(
                    "POST", f"/places/{place_id}/close", user, json={"closed_on": "2026-03-01"}
                ),
                "read place": await status("GET", f"/places/{place_id}", user),
                "hsds": await status("GET", "/directory/hsds", user),
                "concern": await status("GET", f"/concerns/{concern_id}", user),
                "raise": await status(
                    "POST",
                    f"/concerns/{concern_id}/raise",
                    user,
                    json={"raised_to": "intake", "raised_on": "2026-05-01"},
                ),
                "meeting": await status("GET", f"/platform-meetings/{meeting_id}", user),
                "record meeting": await status(
                    "POST", "/platform-meetings", user, json=MEETING | {"sectors": ["welfare"]}
                ),
            }
            expected = {
                "register": 201 if holder else 403,
                # The holder is authorised, then refused by the domain: nothing is written.
                "activity": 409 if holder else 404,
                "close": 409 if holder else 404,
                "read place": 200 if reads_directory else 403,
                "hsds": 200,
                "concern": 200 if holder else 404,
                "raise": 409 if holder else 404,  # raised before it was noticed
                "meeting": 200 if holder else 404,
                "record meeting": 422 if holder else 403,  # one sector is not a platform
            }
            assert got == expected, user

        others_view = (await chiiki.get(f"/places/{place_id}", headers=as_user(tokens, "chuo-suzuki"))).json()
        assert others_view["volunteers"] is None and others_view["name"] == PLACE["name"]


async def test_requests_without_a_token_are_refused(services):
    async with httpx.AsyncClient(base_url=services.urls["community"], timeout=10) as anonymous:
        some = uuid.uuid4()
        for method, url in (
            ("POST", "/places"),
            ("GET", "/places"),
            ("GET", f"/places/{some}"),
            ("POST", f"/places/{some}/activities"),
            ("POST", f"/places/{some}/concerns"),
            ("POST", f"/concerns/{some}/raise"),
            ("GET", f"/concerns/{some}"),
            ("GET", f"/cases/{some}"),
            ("POST", "/platform-meetings"),
            ("GET", "/directory/hsds"),
            ("GET", "/summary"),
        ):
            response = await anonymous.request(method, url, json={})
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_bad_input_is_422_and_impossible_transitions_are_409(services, tokens):
    async with community(services, tokens) as chiiki:
        for bad in (
            PLACE | {"kind": "pachinko"},
            PLACE | {"district": "東町"},
            PLACE | {"target_groups": []},
            PLACE | {"name": "   "},
            PLACE | {"name": "食" * 101},
            PLACE | {"unexpected": "field"},
            PLACE | {"address": PLACE["address"] | {"postal_code": "1234"}},
            PLACE
            | {"schedule": [{"freq": "DAILY", "byday": ["SA"], "opens_at": "10:00", "closes_at": "12:00"}]},
        ):
            response = await chiiki.post("/places", json=bad)
            assert response.status_code == 422, (bad, response.text)
        backwards = PLACE | {
            "schedule": [{"freq": "WEEKLY", "byday": ["SA"], "opens_at": "14:00", "closes_at": "11:00"}]
        }
        refused = await chiiki.post("/places", json=backwards)
        assert refused.status_code == 422 and refused.json()["code"] == "closes_before_opens"
        assert "終了時刻" in refused.json()["detail"]

        place_id = await new_place(chiiki)
        activities = f"/places/{place_id}/activities"
        negative = await chiiki.post(activities, json=activity(attendance={"children": -1}))
        assert negative.status_code == 422
        nobody = await chiiki.post(activities, json=activity(attendance={}))
        assert nobody.status_code == 422 and nobody.json()["code"] == "no_attendance"
        early = await chiiki.post(activities, json=activity(held_on="2026-03-31"))
        assert early.status_code == 409 and early.json()["code"] == "activity_before_opening"
        assert (await chiiki.post(f"/places/{uuid.uuid4()}/activities", json=activity())).status_code == 404
        assert (await chiiki.get(f"/places/{uuid.uuid4()}")).status_code == 404
        assert (await chiiki.get("/places/not-a-uuid")).status_code == 422

        stale = await chiiki.post(activities, json=activity(), headers={"If-Match": '"7"'})
        assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
        assert (
            await chiiki.post(activities, json=activity(), headers={"If-Match": "later"})
        ).status_code == 422

        ref = (
            await chiiki.post(
                f"/places/{place_id}/volunteers", json={"generation": "youth", "registered_on": "2026-04-05"}
            )
        ).json()["volunteer_ref"]
        leave = f"/places/{place_id}/volunteers/{ref}/leave"
        assert (await chiiki.post(leave, json={"left_on": "2026-09-30"})).status_code == 200
        twice = await chiiki.post(leave, json={"left_on": "2026-10-01"})
        assert twice.status_code == 409 and twice.json()["code"] == "volunteer_already_left"
        unknown = await chiiki.post(
            f"/places/{place_id}/volunteers/vol_{uuid.uuid4().hex}/leave", json={"left_on": "2026-10-01"}
        )
        assert unknown.status_code == 404
        assert (
            await chiiki.post(f"/places/{place_id}/volunteers/山田/leave", json={"left_on": "2026-10-01"})
        ).status_code == 422

        assert (await chiiki.post(activities, json=activity(held_on="2026-06-06"))).status_code == 201
        too_soon = await chiiki.post(f"/places/{place_id}/close", json={"closed_on": "2026-06-01"})
        assert too_soon.status_code == 409 and too_soon.json()["code"] == "activities_after_closing"
        closed = await chiiki.post(f"/places/{place_id}/close", json={"closed_on": "2026-07-01"})
        assert closed.status_code == 200, closed.text
        again = await chiiki.post(f"/places/{place_id}/close", json={"closed_on": "2026-07-02"})
        assert again.status_code == 409 and again.json()["code"] == "place_already_closed"
        after = await chiiki.post(activities, json=activity(held_on="2026-07-04"))
        assert after.status_code == 409 and after.json()["code"] == "place_closed"
        assert "閉所" in after.json()["detail"]
        late_concern = await chiiki.post(
            f"/places/{place_id}/concerns",
            json={
                "issue_tags": ["isolation"],
                "age_band": "75+",
                "description": "気になる",
                "noticed_on": "2026-07-05",
            },
        )
        assert late_concern.status_code == 409 and late_concern.json()["code"] == "place_closed"
        assert place_id not in [p["place_id"] for p in (await chiiki.get("/places")).json()]
        assert place_id in [
            p["place_id"] for p in (await chiiki.get("/places", params={"include_closed": True})).json()
        ]
        exported = (await chiiki.get("/directory/hsds")).json()["contents"]
        assert next(s for s in exported if s["id"] == place_id)["status"] == "inactive"

        for bad_concern in (
            {"issue_tags": [], "age_band": "75+", "description": "x", "noticed_on": "2026-05-01"},
            {"issue_tags": ["isolation"], "age_band": "old", "description": "x", "noticed_on": "2026-05-01"},
            {
                "issue_tags": ["isolation"],
                "age_band": "75+",
                "description": "\x00",
                "noticed_on": "2026-05-01",
            },
        ):
            assert (await chiiki.post(f"/places/{place_id}/concerns", json=bad_concern)).status_code == 422
        assert (
            await chiiki.post(
                f"/concerns/{uuid.uuid4()}/raise", json={"raised_to": "intake", "raised_on": "2026-05-01"}
            )
        ).status_code == 404
        wrong_target = await chiiki.post(
            f"/concerns/{uuid.uuid4()}/raise", json={"raised_to": "police", "raised_on": "2026-05-01"}
        )
        assert wrong_target.status_code == 422

        one_sector = await chiiki.post(
            "/platform-meetings", json=MEETING | {"sectors": ["welfare", "welfare"]}
        )
        assert one_sector.status_code == 422 and one_sector.json()["code"] == "single_sector"
        assert (
            await chiiki.post("/platform-meetings", json=MEETING | {"themes": ["gossip"]})
        ).status_code == 422


async def test_participation_menus_join_the_directory(services, tokens, infra):
    """Participation's MenuPublished/MenuUpdated reach community's HSDS export (here produced as
    participation would, so the test does not depend on participation's API)."""
    menu_id = uuid.uuid4()
    fields = {
        "case_key": menu_id,
        "menu_id": menu_id,
        "kind": "work_experience",
        "host_organisation": "shakyo-sanka",
        "district": "kita-2",
        "capacity": 2,
        "target_groups": ["hikikomori"],
        "status": "active",
    }
    ctx = Context(organisation="shakyo-sanka", actor="sanka-watanabe")
    published = envelope_for(MenuPublished(**fields, published_on="2026-05-01"), ctx, datetime.now(UTC))
    await produce(infra.kafka_admin, PARTICIPATION_EVENTS, [wire(published)])

    async def exported(status: str):
        async with community(services, tokens, "sanka-watanabe") as client:
            contents = (await client.get("/directory/hsds")).json()["contents"]
        found = next((s for s in contents if s["id"] == str(menu_id)), None)
        return found if found and found["status"] == status else None

    shown = await eventually(lambda: exported("active"), what="the menu in the directory")
    assert shown["x_kasane"]["source"] == "participation" and shown["service_areas"][0]["name"] == "kita-2"
    assert shown["organization"]["name"] == "架空市社会福祉協議会 参加支援"

    closed = envelope_for(
        MenuUpdated(**fields | {"status": "closed"}, updated_on="2026-06-01"), ctx, datetime.now(UTC)
    )
    await produce(infra.kafka_admin, PARTICIPATION_EVENTS, [wire(closed)])
    await eventually(lambda: exported("inactive"), what="the closed menu marked inactive")
