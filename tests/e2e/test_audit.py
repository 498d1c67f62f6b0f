"""The auditor's views over the five real services and the projection service: the event log as
metadata (filters, paging, never personal data), hash-chain verification that notices an edited
row, access records, and refusals for everyone who is not an auditor."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from libs import db
from tests.e2e.test_first_flow import as_user
from tests.e2e.test_timeline import (  # noqa: F401
    AUDITOR,
    CANARY,
    HOLDER,
    as_text,
    case,
    crossing_case,
)

NOT_AUDITORS = (
    HOLDER,
    "tagikan-tanaka",
    "tsunagari-ito",
    "sanka-watanabe",
    "chiiki-yamamoto",
    "city-nakamura",
)


def audit_client(services, tokens, service: str, user: str = AUDITOR) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=services.urls[service], headers=as_user(tokens, user), timeout=120)


async def test_only_auditors_reach_the_audit_functions(services, tokens, projections):
    async with httpx.AsyncClient(timeout=120) as http:
        for name, url in services.urls.items():
            for path in ("/audit/log", "/audit/chain", "/audit/access"):
                assert (await http.get(f"{url}{path}")).status_code == 401, (name, path)
                for user in NOT_AUDITORS:
                    refused = await http.get(f"{url}{path}", headers=as_user(tokens, user))
                    assert refused.status_code == 403, (name, path, user)
                    assert refused.json()["code"] == "forbidden"
        for user in NOT_AUDITORS:
            assert (
                await http.get(f"{projections}/api/audit", headers=as_user(tokens, user))
            ).status_code == 403
            assert (await http.get(f"{projections}/audit", headers=as_user(tokens, user))).status_code == 403
        assert (await http.get(f"{projections}/api/audit")).status_code == 401


async def test_bad_filters_get_an_actionable_422(services, tokens, projections):
    bad = [
        {"limit": "0"},
        {"limit": "501"},
        {"after": "-1"},
        {"organisation": "Not A Code!"},
        {"actor": "x"},
        {"case_key": "not-a-key"},
        {"from": "2026-05-02", "to": "2026-05-01"},
        {"from": "1800-01-01"},
        {"to": "9999-12-31"},
    ]
    async with audit_client(services, tokens, "intake") as http:
        for params in bad:
            response = await http.get("/audit/log", params=params)
            assert response.status_code == 422, params
            assert response.json()["code"] in ("invalid_request", "invalid_period"), params
    async with httpx.AsyncClient(base_url=projections, headers=as_user(tokens, AUDITOR), timeout=120) as http:
        for params in (
            {"from": "2026-05-02", "to": "2026-05-01"},
            {"organisation": "Bad Code"},
            {"limit": "0"},
        ):
            assert (await http.get("/api/audit", params=params)).status_code == 422, params


async def test_the_log_is_filtered_by_case_organisation_actor_and_period(services, tokens, case):  # noqa: F811
    key = case["case_key"]
    async with audit_client(services, tokens, "intake") as http:
        by_case = (await http.get("/audit/log", params={"case_key": key, "limit": 500})).json()
        entries = by_case["entries"]
        kinds = {e["event_type"] for e in entries}
        assert {"ConsultationReceived", "ConsentGranted", "ReferredToCoordination"} <= kinds
        assert all(key in e["stream_id"] for e in entries)  # intake's streams of the case carry its key
        positions = [e["position"] for e in entries]
        assert positions == sorted(positions)
        first = entries[0]
        assert first["organisation"] == "houkatsu-chuo" and first["actor"] == HOLDER
        assert first["case_key"] is None or first["case_key"] == key

        by_actor = (
            await http.get("/audit/log", params={"case_key": key, "actor": HOLDER, "limit": 500})
        ).json()
        assert by_actor["entries"] and all(e["actor"] == HOLDER for e in by_actor["entries"])
        by_org = (await http.get("/audit/log", params={"organisation": "houkatsu-chuo", "limit": 500})).json()
        assert by_org["entries"] and all(e["organisation"] == "houkatsu-chuo" for e in by_org["entries"])
        nobody = (await http.get("/audit/log", params={"case_key": key, "actor": "nobody-here"})).json()
        assert nobody == {"entries": [], "next_after": None}

        today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
        around = {
            "case_key": key,
            "from": str(today - timedelta(days=1)),
            "to": str(today + timedelta(days=1)),
        }
        assert len((await http.get("/audit/log", params=around | {"limit": 500})).json()["entries"]) == len(
            entries
        )
        past = {"case_key": key, "from": "2020-01-01", "to": "2020-12-31"}
        assert (await http.get("/audit/log", params=past)).json()["entries"] == []

        page_one = (await http.get("/audit/log", params={"case_key": key, "limit": 2})).json()
        assert len(page_one["entries"]) == 2 and page_one["next_after"] == page_one["entries"][-1]["position"]
        page_two = (
            await http.get(
                "/audit/log", params={"case_key": key, "limit": 2, "after": page_one["next_after"]}
            )
        ).json()
        assert [e["position"] for e in page_one["entries"] + page_two["entries"]] == positions[:4]

    # Another program's own case is found through the case key its opening event names.
    async with audit_client(services, tokens, "coordination") as http:
        coordination = (await http.get("/audit/log", params={"case_key": key, "limit": 500})).json()[
            "entries"
        ]
        streams = {e["stream_id"] for e in coordination}
        assert f"coordination-case-{case['coordination_case_id']}" in streams
        assert {"CaseOpened", "PlanAgreed", "ReferredToParticipation"} <= {
            e["event_type"] for e in coordination
        }
        opening = next(e for e in coordination if e["event_type"] == "CaseOpened")
        assert opening["case_key"] == key


async def test_the_log_holds_no_personal_data(services, tokens, case):  # noqa: F811
    async with httpx.AsyncClient(timeout=120) as http:
        for name, url in services.urls.items():
            for params in ({"case_key": case["case_key"], "limit": 500}, {"limit": 500}):
                response = await http.get(f"{url}/audit/log", params=params, headers=as_user(tokens, AUDITOR))
                assert response.status_code == 200, name
                assert CANARY not in response.text and "カナリア" not in response.text, name
                fields = (
                    set().union(*(e.keys() for e in response.json()["entries"]))
                    if response.json()["entries"]
                    else set()
                )
                assert not fields & {"data", "payload", "details", "person"}, name


async def test_chain_verification_notices_an_edited_row(services, tokens, projections):
    fresh = await crossing_case(services, tokens)
    async with httpx.AsyncClient(timeout=300) as http:
        for name, url in services.urls.items():
            verified = (await http.get(f"{url}/audit/chain", headers=as_user(tokens, AUDITOR))).json()
            assert verified["ok"] is True and verified["problems"] == [], (name, verified)
            assert verified["events"] > 0 or name == "community", name
    stream = f"intake-case-{fresh['case_key']}"
    engine = db.create_engine(services.database_urls["intake"])
    try:
        async with engine.begin() as conn:
            original = (
                await conn.execute(
                    text("SELECT global_position, data FROM events WHERE stream_id = :s AND version = 1"),
                    {"s": stream},
                )
            ).one()
            # An insider "corrects" the channel of the consultation directly in the database.
            await conn.execute(
                text(
                    "UPDATE events SET data = jsonb_set(data, '{channel}', '\"visit\"') WHERE global_position = :p"
                ),
                {"p": original.global_position},
            )
        async with httpx.AsyncClient(timeout=300) as http:
            broken = (
                await http.get(f"{services.urls['intake']}/audit/chain", headers=as_user(tokens, AUDITOR))
            ).json()
            assert broken["ok"] is False and broken["problem_count"] >= 1
            assert broken["first_broken_stream"] == stream
            assert any("content does not match its hash" in p for p in broken["problems"])
            assert CANARY not in as_text(broken)
            others = (
                await http.get(
                    f"{services.urls['coordination']}/audit/chain", headers=as_user(tokens, AUDITOR)
                )
            ).json()
            assert others["ok"] is True
            seen = await http.get(f"{projections}/api/audit", headers=as_user(tokens, AUDITOR))
            assert seen.status_code == 200, seen.text
            chains = {s["program"]: s["chain"] for s in seen.json()["services"]}
            assert chains["intake"]["ok"] is False and chains["intake"]["first_broken_stream"] == stream
            assert all(chains[p]["ok"] for p in chains if p != "intake")
            page = await http.get(f"{projections}/audit", headers=as_user(tokens, AUDITOR))
            assert "改ざんの疑い" in page.text and stream in page.text
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE events SET data = CAST(:d AS jsonb) WHERE global_position = :p"),
                {"d": json.dumps(original.data), "p": original.global_position},
            )
        await engine.dispose()
    async with httpx.AsyncClient(timeout=300) as http:
        restored = (
            await http.get(f"{services.urls['intake']}/audit/chain", headers=as_user(tokens, AUDITOR))
        ).json()
        assert restored["ok"] is True


async def test_the_audit_page_browses_every_service(services, tokens, projections, case):  # noqa: F811
    key = case["case_key"]
    async with httpx.AsyncClient(timeout=60) as http:  # a read of the details, to be listed below
        read = await http.get(f"{services.urls['intake']}/timeline/{key}", headers=as_user(tokens, HOLDER))
        assert read.status_code == 200
    async with httpx.AsyncClient(base_url=projections, headers=as_user(tokens, AUDITOR), timeout=300) as http:
        document = (await http.get("/api/audit", params={"case_key": key})).json()
        assert [s["program"] for s in document["services"]] == [
            "intake",
            "coordination",
            "outreach",
            "participation",
            "community",
        ]
        assert all(s["log_state"] == "shown" and s["access_state"] == "shown" for s in document["services"])
        assert all(s["chain"]["ok"] for s in document["services"])
        programs = {row["program"] for row in document["log"]}
        assert {"intake", "coordination", "outreach", "participation"} <= programs
        times = [row["entry"]["recorded_at"] for row in document["log"]]
        assert times == sorted(times)
        assert any(r["program"] == "intake" and r["record"]["user"] == HOLDER for r in document["access"])
        assert CANARY not in as_text(document)

        by_actor = (await http.get("/api/audit", params={"actor": HOLDER, "verify": "false"})).json()
        assert by_actor["log"] and all(row["entry"]["actor"] == HOLDER for row in by_actor["log"])
        assert all(row["record"]["user"] == HOLDER for row in by_actor["access"])
        assert all(s["chain_state"] == "not_run" for s in by_actor["services"])
        # Filtering by organisation keeps that organisation's rows and drops the others'
        # (an empty answer would pass "all rows match", so each side is shown to be non-empty).
        for organisation in ("npo-tsunagari", "houkatsu-chuo"):
            params = {"case_key": key, "organisation": organisation, "verify": "false"}
            filtered = (await http.get("/api/audit", params=params)).json()
            kept = [row for row in document["log"] if row["entry"]["organisation"] == organisation]
            assert kept and len(kept) < len(document["log"]), organisation
            assert [row["entry"] for row in filtered["log"]] == [row["entry"] for row in kept]
            assert all(row["record"]["organisation"] == organisation for row in filtered["access"])
        assert any(row["record"]["user"] == HOLDER for row in filtered["access"])  # houkatsu-chuo's read

        async with httpx.AsyncClient(base_url=projections, timeout=30) as anonymous:
            sign_in = await anonymous.get("/audit")
        assert sign_in.status_code == 200 and 'id="login"' in sign_in.text
        page = await http.get("/audit", params={"case_key": key})
        assert page.status_code == 200 and "監査" in page.text and "正常（改ざんなし）" in page.text
        assert "個人情報の閲覧記録" in page.text and HOLDER in page.text and CANARY not in page.text
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
