"""People passed between programs through the real services, not through hand-made envelopes:
outreach finds someone before any case exists and connects them to intake; a community place
notices someone and passes them to intake. Each time intake opens a case under the same key."""

import uuid

import httpx

from tests.e2e.test_first_flow import _get_json, as_user
from tests.polling import eventually


def client(services, tokens, service: str, user: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=services.urls[service], headers=as_user(tokens, user), timeout=10)


async def test_outreach_before_coordination_connects_a_person_to_an_intake_case(services, tokens):
    async with (
        client(services, tokens, "outreach", "tsunagari-ito") as outreach,
        client(services, tokens, "intake", "soudan-sato") as intake,
    ):
        found = await outreach.post(
            "/cases",
            json={
                "identified_by": "minsei_iin",
                "issue_tags": ["hikikomori", "8050"],
                "age_band": "40-64",
                "district": "minami-1",
                "note": "民生委員から。母の入院後、息子の姿を見ない。",
                "identified_on": "2026-05-01",
            },
        )
        assert found.status_code == 201, found.text
        outreach_case, case_key = found.json()["outreach_case_id"], found.json()["case_key"]
        for attempt, outcome in (("2026-05-08", "no_answer"), ("2026-05-20", "conversation")):
            tried = await outreach.post(
                f"/cases/{outreach_case}/contact-attempts",
                json={"method": "home_visit", "outcome": outcome, "attempted_on": attempt},
            )
            assert tried.status_code == 201, tried.text
        assert (await intake.get(f"/cases/{case_key}")).status_code == 404  # no intake case yet
        connected = await outreach.post(
            f"/cases/{outreach_case}/connection",
            json={"connected_to": "intake", "organisation": "city-soudan", "connected_on": "2026-06-01"},
        )
        assert connected.status_code == 201, connected.text

        opened = await eventually(
            lambda: _get_json(intake, f"/cases/{case_key}"), what="intake opening the connected person's case"
        )
        assert opened["channel"] == "outreach"
        assert opened["holder_organisation"] == "city-soudan"
        assert opened["details_pending"] is True and opened["person"] is None
        assert opened["age_band"] == "40-64" and set(opened["issue_tags"]) == {"hikikomori", "8050"}
        # The intake worker meets the person and records their details, sealed like any other.
        person = {"name": "架空　次郎", "birth_date": "1974-03-03"}
        recorded = await intake.put(
            f"/cases/{case_key}/person", json={"person": person, "household": [], "recorded_on": "2026-06-05"}
        )
        assert recorded.status_code in (200, 201), recorded.text
        seen = (await intake.get(f"/cases/{case_key}")).json()
        assert seen["person"]["name"] == "架空　次郎" and seen["details_pending"] is False


async def test_a_concern_noticed_at_a_community_place_becomes_an_intake_case_of_the_areas_centre(
    services, tokens
):
    """The place is in kita-1, which 北地域包括支援センター serves: the case is theirs, not the city's."""
    async with (
        client(services, tokens, "community", "chiiki-yamamoto") as community,
        client(services, tokens, "intake", "kita-takahashi") as intake,
        client(services, tokens, "intake", "soudan-sato") as city,
    ):
        place = await community.post(
            "/places",
            json={
                "kind": "salon",
                "name": f"ふれあいサロン{uuid.uuid4().hex[:4]}",
                "district": "kita-1",
                "school_district": "kita-es",
                "target_groups": ["older"],
                "multi_generational": False,
                "opened_on": "2026-04-01",
            },
        )
        assert place.status_code == 201, place.text
        noted = await community.post(
            f"/places/{place.json()['place_id']}/concerns",
            json={
                "issue_tags": ["isolation", "self_neglect"],
                "age_band": "75+",
                "description": "常連の方が来なくなり、近所の方も心配している。",
                "noticed_on": "2026-06-10",
            },
        )
        assert noted.status_code == 201, noted.text
        concern, case_key = noted.json()["concern_id"], noted.json()["case_key"]
        raised = await community.post(
            f"/concerns/{concern}/raise", json={"raised_to": "intake", "raised_on": "2026-06-11"}
        )
        assert raised.status_code == 200, raised.text

        opened = await eventually(
            lambda: _get_json(intake, f"/cases/{case_key}"), what="intake opening the concern's case"
        )
        assert opened["channel"] == "community_place" and opened["details_pending"] is True
        assert opened["holder_organisation"] == "houkatsu-kita"
        assert (await city.get(f"/cases/{case_key}")).status_code == 404  # the city's window does not hold it
        assert set(opened["issue_tags"]) == {"isolation", "self_neglect"}
        # Nothing of the worker's description crossed to intake.
        assert "常連" not in str(opened)


async def test_participation_reports_back_to_the_coordination_case_that_referred(services, tokens):
    """Seed 002: the program coordination asked keeps it informed; coordination shows it on the case."""
    from tests.e2e.test_first_flow import clients, refer_new_case

    intake, coord = clients(services, tokens)
    async with intake, coord, client(services, tokens, "participation", "sanka-watanabe") as participation:
        _, opened = await refer_new_case(intake, coord, consent=True)
        case = f"/cases/{opened['coordination_case_id']}"
        members = [{"relation": "本人", "issue_tags": ["hikikomori"], "findings": "日中の居場所がない"}]
        assert (
            await coord.post(f"{case}/assessments", json={"assessed_on": "2026-04-05", "members": members})
        ).status_code == 201
        asked = await coord.post(
            f"{case}/referrals/participation",
            json={"needs": ["place_to_be"], "reason": "日中の居場所", "referred_on": "2026-04-12"},
        )
        assert asked.status_code == 201, asked.text
        accepted = await eventually(
            lambda: _get_json(participation, f"/referrals/{asked.json()['referral_id']}"),
            what="participation accepting the referral",
        )
        menu = await participation.post(
            "/menus",
            json={
                "title": "まちかどカフェの居場所",
                "description": "無理のない範囲で参加します。",
                "kind": "place_to_be",
                "host_organisation": "cafe-machikado",
                "host_name": "まちかどカフェ",
                "district": "kita-2",
                "capacity": 5,
                "schedule": "毎週火 10時〜12時",
            },
        )
        assert menu.status_code == 201, menu.text
        pcase = f"/cases/{accepted['participation_case_id']}"
        assessed = await participation.post(
            f"{pcase}/assessments", json={"needs": ["place_to_be"], "assessed_on": "2026-04-15"}
        )
        assert assessed.status_code == 201, assessed.text
        placed = await participation.post(
            f"{pcase}/placements", json={"menu_id": menu.json()["menu_id"], "started_on": "2026-04-20"}
        )
        assert placed.status_code == 201, placed.text
        closure = {"reason": "settled", "note": "自分で通えている", "closed_on": "2026-07-31"}
        running = await participation.post(f"{pcase}/closure", json=closure)
        assert running.status_code == 409 and running.json()["code"] == "placements_running"
        ended = await participation.post(
            f"{pcase}/placements/{placed.json()['placement_id']}/end",
            json={"outcome": "term_completed", "ended_on": "2026-07-31"},
        )
        assert ended.status_code == 201, ended.text
        closed = await participation.post(f"{pcase}/closure", json=closure)
        assert closed.status_code == 201, closed.text

        reported = await eventually(
            lambda: _get_json(coord, case, lambda b: len(b["partner_reports"]) >= 4),
            what="coordination showing participation's reports",
        )
        assert [(r["report"], r["detail"]) for r in reported["partner_reports"]] == [
            ("ParticipationAccepted", None),
            ("PlacementStarted", "place_to_be"),
            ("PlacementEnded", "term_completed"),
            ("ParticipationClosed", "settled"),
        ]
        assert reported["partner_reports"][0]["program_label"] == "参加支援事業"
        assert "自分で通えている" not in str(reported)
        again = await participation.post(
            f"{pcase}/assessments", json={"needs": ["learning"], "assessed_on": "2026-08-01"}
        )
        assert again.status_code == 409 and again.json()["code"] == "case_closed"


async def test_resources_a_case_meeting_found_missing_reach_community_building(services, tokens):
    district = "nishi-2"  # a district of the directory (others are refused); counted before and after
    async with (
        client(services, tokens, "coordination", "tagikan-tanaka") as coord,
        client(services, tokens, "community", "chiiki-yamamoto") as community,
    ):
        before = (await community.get("/summary")).json()["resource_gaps"]
        counted = {kind: before.get(kind, {}).get(district, 0) for kind in ("place_to_be", "transport")}
        held = await coord.post(
            "/meetings",
            json={
                "meeting_type": "confidential_support_meeting",
                "held_on": "2026-06-15",
                "attendees": [
                    {"organisation": "shakyo-tagikan", "role": "convener"},
                    {"organisation": "city-fukushi", "role": "municipality"},
                ],
                "missing_resources": [
                    {"resource_kind": "place_to_be", "district": district},
                    {"resource_kind": "transport", "district": district},
                ],
            },
        )
        assert held.status_code == 201, held.text
        summary = await eventually(
            lambda: _get_json(
                community,
                "/summary",
                lambda b: b["resource_gaps"].get("transport", {}).get(district, 0) > counted["transport"],
            ),
            what="community seeing the gaps",
        )
        assert summary["resource_gaps"]["place_to_be"][district] == counted["place_to_be"] + 1
        assert summary["resource_gaps"]["transport"][district] == counted["transport"] + 1
