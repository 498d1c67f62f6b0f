"""The case studies workers bring to the business, driven through the real services on Kafka and
PostgreSQL: support names the household member it is for, each member travels between programs
as themselves, and the worklists show what is due on the business day (the services' clock)."""

import httpx

from tests.conftest import business_day
from tests.e2e.test_first_flow import _get_json, as_user
from tests.polling import eventually


def client(services, tokens, service: str, user: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=services.urls[service], headers=as_user(tokens, user), timeout=10)


async def _worklist(http: httpx.AsyncClient, name: str) -> set[str]:
    response = await http.get(f"/worklists/{name}", params={"limit": 200})
    assert response.status_code == 200, response.text
    return {line["case_id"] for line in response.json()["cases"]}


async def test_the_8050_household_the_son_travels_as_himself(services, tokens):
    """The father's care manager calls about the father (84); on the home visit the worker finds the
    son (51), who has not left the house for years. The son goes to outreach as himself, the
    household to coordination, and from coordination the son alone to participation."""
    async with (
        client(services, tokens, "intake", "chuo-suzuki") as intake,
        client(services, tokens, "coordination", "tagikan-tanaka") as coord,
        client(services, tokens, "outreach", "tsunagari-ito") as outreach,
        client(services, tokens, "participation", "sanka-watanabe") as participation,
    ):
        received = await intake.post(
            "/cases",
            json={
                "channel": "phone",
                "consulter": {
                    "kind": "professional",
                    "organisation": "kyotaku-minami",
                    "name": "架空　ケア子",
                },
                "person": {"name": "架空　一郎", "birth_date": "1942-05-01"},
                "household": [{"relation": "child", "name": "架空　次郎", "age": 51}],
                "issue_tags": ["8050", "elderly_care"],
                "district": "chuo-1",
                "summary": "ケアマネジャーから。父の介護サービスを増やしたいが同居の長男が拒む。",
                "received_on": business_day(-40),
            },
        )
        assert received.status_code == 201, received.text
        case_id = received.json()["case_id"]
        case = (await intake.get(f"/cases/{case_id}")).json()
        father, [son] = case["subject_ref"], case["household"]
        assert (
            case["consulter"]["kind_label"] == "関係機関の職員"
            and case["consulter"]["name"] == "架空　ケア子"
        )
        assert son["subject_ref"] != father and son["age_band"] == "40-64" and son["relation_label"] == "子"
        # The son is found by his own name in the register of the case.
        found = await intake.get("/cases", params={"q": "次郎"})
        assert case_id in {line["case_id"] for line in found.json()["cases"]}

        # The son, to outreach, as himself.
        asked = await intake.post(
            f"/cases/{case_id}/outreach-referrals",
            json={
                "member": son["subject_ref"],
                "reason": "訪問時、長男が数年外出していないと分かった",
                "referred_on": business_day(-38),
            },
        )
        assert asked.status_code == 201, asked.text
        opened = await eventually(
            lambda: _outreach_case_of(outreach, case_id), what="outreach opening the son's case"
        )
        assert opened["subject_ref"] == son["subject_ref"] and opened["age_band"] == "40-64"
        assert opened["identified_by"] == "intake_referral"
        assert "次郎" not in str(opened) and "ケア子" not in str(opened)
        outreach_case = opened["outreach_case_id"]
        # Nobody has tried to reach him for 38 days: he is on outreach's list.
        assert outreach_case in await _worklist(outreach, "not_contacted_14_days")

        # The household, father and son, to coordination (consent given for both programs).
        consent = {
            "programs": ["intake", "coordination"],
            "purpose": "support_coordination",
            "granted_on": business_day(-37),
            "expires_on": business_day(300),
        }
        assert (await intake.post(f"/cases/{case_id}/consents", json=consent)).status_code == 201
        referred = await intake.post(
            f"/cases/{case_id}/referrals",
            json={
                "members": [father, son["subject_ref"]],
                "reason": "父の介護と長男のひきこもり",
                "referred_on": business_day(-36),
            },
        )
        assert referred.status_code == 201, referred.text
        intake_case = await eventually(
            lambda: _get_json(
                intake,
                f"/cases/{case_id}",
                ok=lambda c: c["referrals"][0]["coordination_case_id"] is not None,
            ),
            what="coordination accepting the referral",
        )
        assert intake_case["referrals"][0]["members"] == [father, son["subject_ref"]]
        coordination_case = intake_case["referrals"][0]["coordination_case_id"]
        path = f"/cases/{coordination_case}"
        members = [
            {"relation": "本人", "issue_tags": ["elderly_care"], "findings": "要介護3、サービス増が必要"},
            {"relation": "長男", "issue_tags": ["hikikomori"], "findings": "日中の居場所がない"},
        ]
        assessed = await coord.post(
            f"{path}/assessments", json={"assessed_on": business_day(-30), "members": members}
        )
        assert assessed.status_code == 201, assessed.text
        # A member the referral did not name cannot be sent on.
        stranger = "subj_" + "0" * 32
        refused = await coord.post(
            f"{path}/referrals/participation",
            json={
                "member": stranger,
                "needs": ["place_to_be"],
                "reason": "居場所",
                "referred_on": business_day(-29),
            },
        )
        assert refused.status_code == 422 and refused.json()["code"] == "unknown_member"
        sent = await coord.post(
            f"{path}/referrals/participation",
            json={
                "member": son["subject_ref"],
                "needs": ["place_to_be"],
                "reason": "日中の居場所",
                "referred_on": business_day(-29),
            },
        )
        assert sent.status_code == 201, sent.text
        accepted = await eventually(
            lambda: _get_json(participation, f"/referrals/{sent.json()['referral_id']}"),
            what="participation accepting the son's referral",
        )
        placed_case = (await participation.get(f"/cases/{accepted['participation_case_id']}")).json()
        assert placed_case["subject_ref"] == son["subject_ref"] and placed_case["age_band"] == "40-64"
        # Not yet assessed: on participation's list of cases to assess.
        assert accepted["participation_case_id"] in await _worklist(participation, "to_assess")

        # Outreach reaches the son today: he leaves the list of people not contacted.
        tried = await outreach.post(
            f"/cases/{outreach_case}/contact-attempts",
            json={"method": "home_visit", "outcome": "conversation", "attempted_on": business_day()},
        )
        assert tried.status_code == 201, tried.text
        assert outreach_case not in await _worklist(outreach, "not_contacted_14_days")


async def _outreach_case_of(outreach: httpx.AsyncClient, case_key: str) -> dict | None:
    """The outreach case opened under intake's case key, as outreach shows it."""
    page = await outreach.get("/cases", params={"limit": 200})
    for line in page.json()["cases"]:
        if line["case_key"] == case_key:
            return await _get_json(outreach, f"/cases/{line['case_id']}")
    return None


async def test_the_four_person_family_each_member_has_a_role_in_one_plan(services, tokens):
    """The daughter's teacher consults about her absences; the case opens the whole family: her
    mother's illness, her father's job and debts, her grandmother's care. One plan gives each member
    a role of an agency, three of which never sign in; the coordinator records their answers."""
    async with (
        client(services, tokens, "intake", "chuo-suzuki") as intake,
        client(services, tokens, "coordination", "tagikan-tanaka") as coord,
        client(services, tokens, "coordination", "kikan-kato") as kikan,
    ):
        received = await intake.post(
            "/cases",
            json={
                "channel": "school",
                "consulter": {"kind": "professional", "organisation": "shogakko-kita", "name": "架空　先生"},
                "person": {"name": "架空　ひかり", "birth_date": "2013-06-01"},
                "household": [
                    {"relation": "parent", "name": "架空　明美", "age": 44},
                    {"relation": "parent", "name": "架空　誠", "age": 47},
                    {"relation": "grandparent", "name": "架空　トメ", "age": 81},
                ],
                "issue_tags": ["young_carer", "disability", "poverty_debt", "elderly_care"],
                "district": "chuo-1",
                "summary": "担任から。欠席が続き、母の通院と祖母の介護を担っている様子。",
                "received_on": business_day(-50),
            },
        )
        assert received.status_code == 201, received.text
        case_id = received.json()["case_id"]
        case = (await intake.get(f"/cases/{case_id}")).json()
        daughter = case["subject_ref"]
        mother, father, grandmother = (m["subject_ref"] for m in case["household"])
        consent = {
            "programs": ["intake", "coordination"],
            "purpose": "support_coordination",
            "granted_on": business_day(-49),
            "expires_on": business_day(300),
        }
        assert (await intake.post(f"/cases/{case_id}/consents", json=consent)).status_code == 201
        family = [daughter, mother, father, grandmother]
        referral = {"members": family, "reason": "世帯全体の支援が必要", "referred_on": business_day(-48)}
        assert (await intake.post(f"/cases/{case_id}/referrals", json=referral)).status_code == 201
        accepted = await eventually(
            lambda: _get_json(
                intake,
                f"/cases/{case_id}",
                ok=lambda c: c["referrals"][0]["coordination_case_id"] is not None,
            ),
            what="coordination accepting the family's referral",
        )
        path = f"/cases/{accepted['referrals'][0]['coordination_case_id']}"
        opened = (await coord.get(path)).json()
        assert [(m["subject_ref"], m["relation"]) for m in opened["members"]] == [
            (daughter, "self"),
            (mother, "parent"),
            (father, "parent"),
            (grandmother, "grandparent"),
        ]
        assert "明美" not in str(opened)  # coordination knows the family by pseudonyms only
        assessment = {
            "assessed_on": business_day(-45),
            "members": [{"relation": "本人", "issue_tags": ["young_carer"], "findings": "欠席が続く"}],
        }
        assert (await coord.post(f"{path}/assessments", json=assessment)).status_code == 201

        def role(organisation: str, responsibility: str, member: str) -> dict:
            return {
                "organisation": organisation,
                "responsibility": responsibility,
                "review_on": business_day(-1),
                "members": [member],
            }

        roles = [
            role("shogakko-kita", "child_services", daughter),
            role("kikan-soudan", "disability_services", mother),
            role("hellowork-kaku", "employment_support", father),
            role("houkatsu-chuo", "care_services", grandmother),
        ]
        draft = {
            "goals": ["娘が学校に通える", "母の通院と祖母の介護を家族だけで抱えない"],
            "wishes": "家族で暮らし続けたい",
            "period_from": business_day(-40),
            "period_to": business_day(320),
            "emergency": "夜間は基幹相談支援センターの当番へ",
            "roles": roles,
            "drafted_on": business_day(-40),
        }
        stranger = role("shogakko-kita", "child_services", "subj_" + "0" * 32)
        wrong = await coord.post(f"{path}/plans/drafts", json=draft | {"roles": [stranger]})
        assert wrong.status_code == 422 and wrong.json()["code"] == "unknown_member"
        drafted = await coord.post(f"{path}/plans/drafts", json=draft)
        assert drafted.status_code == 201, drafted.text
        version = drafted.json()["plan_version"]
        assert opened["coordination_case_id"] in await _worklist(coord, "roles_awaiting_answers")

        # The school, which never signs in: the coordinator records its word. 基幹相談支援センター
        # answers for itself. Hello Work declines; the father's role goes to the 自立相談支援機関.
        answer = f"{path}/plans/{version}/roles"
        assert (
            await coord.post(f"{answer}/0/acceptance", json={"accepted_on": business_day(-39)})
        ).status_code == 201
        assert (
            await kikan.post(f"{answer}/1/acceptance", json={"accepted_on": business_day(-39)})
        ).status_code == 201
        declined = await coord.post(
            f"{answer}/2/decline", json={"reason": "other_agency_suited", "declined_on": business_day(-39)}
        )
        assert declined.status_code == 201, declined.text
        assert (
            await coord.post(f"{answer}/3/acceptance", json={"accepted_on": business_day(-39)})
        ).status_code == 201
        roles[2] = role("jiritsu-soudan", "employment_support", father)
        redrafted = await coord.post(
            f"{path}/plans/drafts", json=draft | {"roles": roles, "drafted_on": business_day(-38)}
        )
        assert redrafted.status_code == 201, redrafted.text
        assert (
            await coord.post(f"{answer}/2/acceptance", json={"accepted_on": business_day(-37)})
        ).status_code == 201

        members = ["shakyo-tagikan", "shogakko-kita", "kikan-soudan", "jiritsu-soudan", "houkatsu-chuo"]
        agreed = await coord.post(
            f"{path}/plans",
            json={"meeting_type": "support_plan_meeting", "members": members, "agreed_on": business_day(-35)},
        )
        assert agreed.status_code == 201, agreed.text
        [plan] = (await coord.get(path)).json()["plans"]
        assert [(r["organisation"], r["members"]) for r in plan["roles"]] == [
            ("shogakko-kita", [daughter]),
            ("kikan-soudan", [mother]),
            ("jiritsu-soudan", [father]),
            ("houkatsu-chuo", [grandmother]),
        ]  # each member, one role, in one plan
        assert [r["accepted_recorded_by"] for r in plan["roles"]] == [
            "shakyo-tagikan",
            "kikan-soudan",
            "shakyo-tagikan",
            "shakyo-tagikan",
        ]
        # Agreed, no answer missing; the reviews fell due yesterday.
        assert opened["coordination_case_id"] not in await _worklist(coord, "roles_awaiting_answers")
        assert opened["coordination_case_id"] in await _worklist(coord, "plan_reviews_due")
