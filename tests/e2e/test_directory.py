"""The municipality's directory kept by its administrator through the API, and followed by the
program services over Kafka: an agency or a district registered today is a valid code in
intake within seconds, no file edited and nothing restarted."""

import httpx
from sqlalchemy import text

from libs import db
from tests.conftest import business_day
from tests.e2e.test_first_flow import as_user, consultation
from tests.polling import eventually

ADMIN = "city-nakamura"  # 市町村担当課, the organisation that keeps the directory
AUDITOR = "kansa-kobayashi"
WORKER = "chuo-suzuki"


def directory(services, tokens, user: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=services.directory_url, headers=as_user(tokens, user), timeout=10)


def intake(services, tokens) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=services.urls["intake"], headers=as_user(tokens, WORKER), timeout=10)


async def test_everyone_reads_organisations_and_districts_only_the_keepers_read_users(services, tokens):
    async with directory(services, tokens, WORKER) as worker, directory(services, tokens, AUDITOR) as auditor:
        read = await worker.get("/directory")
        assert read.status_code == 200, read.text
        body = read.json()
        assert read.headers["ETag"] == f'"{body["version"]}"'
        organisations = {o["id"]: o for o in body["organisations"]}
        assert organisations["houkatsu-chuo"] == {
            "id": "houkatsu-chuo",
            "name": "中央地域包括支援センター",
            "kind": "comprehensive_support_center",
            "programs": ["intake"],
            "districts": ["chuo-1", "chuo-2"],
            "duties": ["elder_abuse"],
        }
        assert organisations["hellowork-kaku"]["programs"] == [] and "users" not in body
        refused = await worker.get("/users")
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        users = await auditor.get("/users")
        assert users.status_code == 200
        assert {
            "id": ADMIN,
            "organisation": "city-fukushi",
            "roles": ["municipal_administrator"],
        }.items() <= next(u for u in users.json() if u["id"] == ADMIN).items()


async def test_only_the_municipal_administrator_changes_the_directory(services, tokens):
    agency = {"name": "架空市こども家庭センター", "kind": "child_and_family"}
    for user in (WORKER, AUDITOR, "tagikan-tanaka"):
        async with directory(services, tokens, user) as http:
            refused = await http.put("/organisations/kodomo-refused", json=agency)
            assert refused.status_code == 403, (user, refused.text)
    async with directory(services, tokens, ADMIN) as admin:
        listed = {o["id"] for o in (await admin.get("/directory")).json()["organisations"]}
    assert "kodomo-refused" not in listed


async def test_an_agency_registered_today_is_a_code_intake_accepts(services, tokens):
    """The care manager's office opened this month: until the administrator registers it, intake
    refuses it as the 相談者's organisation (a typo would pass otherwise); then accepts it."""
    received = consultation(
        consulter={"kind": "professional", "organisation": "kyotaku-higashi", "name": "架空　ケア美"},
        received_on=business_day(),
    )
    async with intake(services, tokens) as http, directory(services, tokens, ADMIN) as admin:
        before = await http.post("/cases", json=received)
        assert before.status_code == 422 and before.json()["code"] == "unknown_organisation"
        registered = await admin.put(
            "/organisations/kyotaku-higashi",
            json={"name": "居宅介護支援事業所ひがし", "kind": "care_management"},
        )
        assert registered.status_code == 200, registered.text
        version = registered.json()["version"]
        assert registered.headers["ETag"] == f'"{version}"'

        async def accepted() -> bool:
            response = await http.post("/cases", json=received)
            assert response.status_code in (201, 422), response.text
            return response.status_code == 201

        await eventually(accepted, what="intake accepting the newly registered agency")
        # Setting it again to the same is not a change: no new version.
        again = await admin.put(
            "/organisations/kyotaku-higashi",
            json={"name": "居宅介護支援事業所ひがし", "kind": "care_management"},
        )
        assert again.json()["version"] == version
    # Intake keeps the version in its own database: it works on if the directory service stops.
    engine = db.create_engine(services.database_urls["intake"], pool_size=1)
    try:
        async with engine.connect() as conn:
            kept = (await conn.execute(text("SELECT version FROM directory_copy"))).scalar()
    finally:
        await engine.dispose()
    assert kept is not None and kept >= version


async def test_a_new_district_needs_its_school_district_and_becomes_valid_everywhere(services, tokens):
    async with directory(services, tokens, ADMIN) as admin, intake(services, tokens) as http:
        orphan = await admin.put(
            "/districts/minami-9",
            json={"name": "南町九丁目", "population": 1200, "school_district": "minami-ms"},
        )
        assert orphan.status_code == 422 and orphan.json()["code"] == "unknown_school_district"
        assert "先に小学校区を登録" in orphan.json()["detail"]
        unknown_area = await admin.put(
            "/organisations/houkatsu-minami",
            json={
                "name": "南地域包括支援センター",
                "kind": "comprehensive_support_center",
                "programs": ["intake"],
                "districts": ["minami-9"],
            },
        )
        assert unknown_area.status_code == 422 and unknown_area.json()["code"] == "unknown_district"

        assert (
            await admin.put("/school-districts/minami2-es", json={"name": "南第二小学校区"})
        ).status_code == 200
        added = await admin.put(
            "/districts/minami-9",
            json={"name": "南町九丁目", "population": 1200, "school_district": "minami2-es"},
        )
        assert added.status_code == 200, added.text

        async def accepted() -> bool:
            response = await http.post(
                "/cases", json=consultation(district="minami-9", received_on=business_day())
            )
            assert response.status_code in (201, 422), response.text
            return response.status_code == 201

        await eventually(accepted, what="intake accepting the new district")


async def test_changes_are_made_on_the_version_seen_and_keep_an_administrator(services, tokens):
    async with directory(services, tokens, ADMIN) as admin:
        seen = int((await admin.get("/directory")).headers["ETag"].strip('"'))
        first = await admin.put(
            "/users/hoken-mori",
            json={
                "organisation": "hoken-center",
                "roles": ["intake_worker"],
                "display": "森（保健センター）",
            },
            headers={"If-Match": f'"{seen}"'},
        )
        assert first.status_code == 200, first.text
        stale = await admin.put(
            "/users/hoken-mori",
            json={
                "organisation": "hoken-center",
                "roles": ["outreach_worker"],
                "display": "森（保健センター）",
            },
            headers={"If-Match": f'"{seen}"'},
        )
        assert stale.status_code == 409, stale.text
        unknown_org = await admin.put(
            "/users/nobody",
            json={"organisation": "no-such-org", "roles": ["intake_worker"], "display": "誰か"},
        )
        assert unknown_org.status_code == 422 and unknown_org.json()["code"] == "unknown_organisation"
        last = await admin.delete(f"/users/{ADMIN}")
        assert last.status_code == 409 and last.json()["code"] == "last_administrator"
        demoted = await admin.put(
            f"/users/{ADMIN}",
            json={"organisation": "city-fukushi", "roles": ["auditor"], "display": "中村（推進課）"},
        )
        assert demoted.status_code == 409 and demoted.json()["code"] == "last_administrator"
        assert (await admin.delete("/users/hoken-mori")).status_code == 200
        assert (await admin.delete("/users/hoken-mori")).status_code == 404
        users = {u["id"] for u in (await admin.get("/users")).json()}
        assert "hoken-mori" not in users and ADMIN in users
