"""The national support flow end to end over real HTTP, PostgreSQL and Kafka (seed 002, pp.5, 14-15):

intake receives and assesses → refers → coordination assesses the household → drafts a plan
whose proposed roles the agencies accept or decline → a 重層的支援会議 is recorded (noting a
missing local resource) and agrees the draft → referrals to participation and outreach →
monitoring → a plan revision → conclusion with its evaluation → return to origin → intake shows
what came back and closes the case.

Also: a declined referral comes back with its reason; people passed on by outreach and by a
community place open intake cases with details pending; intake's closing rules.
"""

import json
import uuid
from datetime import UTC, date, datetime

import httpx

from contracts.events import ConcernRaised, ConnectedToSupport
from contracts.glossary import AgeBand, ConnectionTarget, IssueTag
from contracts.topics import COMMUNITY_EVENTS, COORDINATION_EVENTS, INTAKE_EVENTS, OUTREACH_EVENTS, Header
from libs.commands import Context, envelope_for
from tests.builders import collect, header, produce, wire
from tests.e2e.test_first_flow import (
    CONSENT,
    MEETING_TERMS,
    PERSON,
    _get_json,
    as_user,
    clients,
    consultation,
    plan,
    plan_draft,
    refer_new_case,
)
from tests.polling import eventually

ASSESSMENT_TEXT = "母は要介護2。本人は昼夜逆転、就労経験なし。"
HOUSEHOLD_FINDINGS = "本人：20年以上の自室中心の生活、受診歴なし"
EVALUATION = "母の介護サービスが定着し、本人が週1回居場所に通えるようになった。"
DECLINE_NOTE = "不受理カナリア：対象外と判断した理由"


async def _records(infra, topic: str, key: str, types: set[str], count: int) -> list:
    """Records of one key on a topic whose type is in `types`, once `count` of them are there."""
    return await collect(
        infra.kafka_admin,
        topic,
        lambda r: r.key == key.encode() and header(r, Header.EVENT_TYPE) in types,
        lambda kept: len(kept) >= count,
    )


async def test_the_national_support_flow_from_consultation_to_conclusion_and_back(services, tokens, infra):
    intake, coord = clients(services, tokens)
    kikan = as_user(tokens, "kikan-kato")
    async with intake, coord:
        # 包括的相談支援: receive, consent, assess, give simple support, refer (moment 1).
        case_id = (await intake.post("/cases", json=consultation())).json()["case_id"]
        assert (
            await intake.post(
                f"/cases/{case_id}/consents",
                json=CONSENT | {"programs": ["intake", "coordination", "participation"]},
            )
        ).status_code == 201
        assessed = await intake.post(
            f"/cases/{case_id}/assessments",
            json={
                "assessed_on": "2026-04-01",
                "findings": ASSESSMENT_TEXT,
                "issue_tags": ["8050", "hikikomori", "elderly_care", "employment"],
            },
        )
        assert assessed.status_code == 201, assessed.text
        supported = await intake.post(
            f"/cases/{case_id}/supports",
            json={
                "given_on": "2026-04-01",
                "kind": "information_provided",
                "note": "介護保険の申請方法を案内",
            },
        )
        assert supported.status_code == 201, supported.text
        referral = await intake.post(
            f"/cases/{case_id}/referrals",
            json={"reason": "8050と就労の複合課題", "referred_on": "2026-04-02"},
        )
        assert referral.status_code == 201, referral.text
        referral_id = referral.json()["referral_id"]
        opened = await eventually(
            lambda: _get_json(coord, f"/referrals/{referral_id}"), what="coordination opened the referral"
        )
        assert set(opened["issue_tags"]) == {"8050", "hikikomori", "elderly_care", "employment"}
        case = f"/cases/{opened['coordination_case_id']}"

        # Intake cannot close while coordination holds the referral.
        pending = await intake.post(
            f"/cases/{case_id}/closure", json={"reason": "resolved", "closed_on": "2026-04-03"}
        )
        assert pending.status_code == 409 and pending.json()["code"] == "referral_pending"
        assert "つなぎもどし" in pending.json()["detail"]

        # 多機関協働: untangle the household's problems, member by member.
        household = await coord.post(
            f"{case}/assessments",
            json={
                "assessed_on": "2026-04-05",
                "members": [
                    {
                        "relation": "本人",
                        "issue_tags": ["hikikomori", "employment"],
                        "findings": HOUSEHOLD_FINDINGS,
                    },
                    {"relation": "母", "issue_tags": ["elderly_care"], "findings": "要介護2、年金収入のみ"},
                ],
            },
        )
        assert household.status_code == 201, household.text

        # 支援プラン（案）: goals, the person's and household's wishes, the period, what to do in an
        # emergency, and the roles it proposes, each to be accepted or declined before the meeting.
        body = plan()
        sanka_role = {
            "organisation": "shakyo-sanka",
            "responsibility": "participation",
            "review_on": "2026-07-01",
        }
        proposed = plan_draft(body, "2026-04-06")
        proposed["roles"] = [
            proposed["roles"][0],
            proposed["roles"][1] | {"members": [opened["subject_ref"]]},  # the son himself
            sanka_role,
        ]
        drafted = await coord.post(f"{case}/plans/drafts", json=proposed)
        assert drafted.status_code == 201 and drafted.json()["plan_version"] == 1, drafted.text
        waiting = await coord.get("/worklists/roles_awaiting_answers", params={"limit": 200})
        assert opened["coordination_case_id"] in {c["case_id"] for c in waiting.json()["cases"]}
        early = await coord.post(f"{case}/plans", json={k: v for k, v in body.items() if k in MEETING_TERMS})
        assert early.status_code == 409 and early.json()["code"] == "roles_unanswered"

        # Each agency answers: itself, or through the coordinator when it does not use the system.
        acceptance = "/plans/1/roles/{}/acceptance"
        sanka = as_user(tokens, "sanka-watanabe")
        own = await coord.post(case + acceptance.format(1), json={"accepted_on": "2026-04-07"}, headers=kikan)
        assert own.status_code == 201, own.text
        someone_elses = await coord.post(
            case + acceptance.format(0), json={"accepted_on": "2026-04-07"}, headers=kikan
        )
        assert someone_elses.status_code == 404
        on_behalf = await coord.post(case + acceptance.format(0), json={"accepted_on": "2026-04-08"})
        assert on_behalf.status_code == 201, on_behalf.text
        no_room = await coord.post(
            f"{case}/plans/1/roles/2/decline",
            json={
                "reason": "no_capacity",
                "note": "今期の受け入れ枠が埋まっている",
                "declined_on": "2026-04-08",
            },
            headers=sanka,
        )
        assert no_room.status_code == 201, no_room.text
        unexplained = await coord.post(
            f"{case}/plans/1/roles/2/decline", json={"reason": "other", "declined_on": "2026-04-08"}
        )
        assert unexplained.status_code == 422 and unexplained.json()["code"] == "decline_note_required"
        for url, code in (
            (case + acceptance.format(0), "role_already_accepted"),
            (case + acceptance.format(5), "role_not_found"),
            (case + "/plans/7/roles/0/acceptance", "plan_not_found"),
        ):
            refused = await coord.post(url, json={"accepted_on": "2026-04-09"})
            assert refused.status_code == 409 and refused.json()["code"] == code, url
        answered = (await coord.get(case)).json()["draft"]
        assert answered["unanswered"] == [] and answered["wishes"] == proposed["wishes"]
        assert [(r["answer"], r["recorded_by"]) for r in answered["roles"]] == [
            ("accepted", "shakyo-tagikan"),
            ("accepted", "kikan-soudan"),
            ("declined", "shakyo-sanka"),
        ]
        waiting = await coord.get("/worklists/roles_awaiting_answers", params={"limit": 200})
        assert opened["coordination_case_id"] not in {c["case_id"] for c in waiting.json()["cases"]}

        # A 重層的支援会議 discusses the case and notes a missing local resource (moment 2).
        meeting = await coord.post(
            "/meetings",
            json={
                "meeting_type": "support_plan_meeting",
                "held_on": "2026-04-10",
                "attendees": [
                    {"organisation": "shakyo-tagikan", "role": "convener"},
                    {"organisation": "houkatsu-chuo", "role": "referring_agency"},
                    {"organisation": "kikan-soudan", "role": "support_agency"},
                    {"organisation": "city-fukushi", "role": "municipality"},
                ],
                "cases": [opened["coordination_case_id"]],
                "decisions": [
                    {"coordination_case_id": opened["coordination_case_id"], "decision": "plan_agreed"}
                ],
                "missing_resources": [{"resource_kind": "peer_group", "district": "chuo-1"}],
            },
        )
        assert meeting.status_code == 201, meeting.text
        meeting_id = meeting.json()["meeting_id"]
        record = await coord.get(f"/meetings/{meeting_id}", headers=kikan)
        assert record.status_code == 200 and record.json()["meeting_type_label"] == "重層的支援会議"
        assert (
            await coord.get(f"/meetings/{meeting_id}", headers=as_user(tokens, "tsunagari-ito"))
        ).status_code == 404
        not_a_coordinator = await coord.post(
            "/meetings",
            headers=kikan,
            json={
                "meeting_type": "confidential_support_meeting",
                "held_on": "2026-04-10",
                "attendees": [{"organisation": "kikan-soudan", "role": "convener"}],
                "missing_resources": [{"resource_kind": "transport", "district": "chuo-1"}],
            },
        )
        assert not_a_coordinator.status_code == 403

        # The meeting agrees the draft: type, members and date come from its record; the declined
        # role is not part of the plan.
        agreed = await coord.post(f"{case}/plans", json={"meeting_id": meeting_id})
        assert agreed.status_code == 201, agreed.text
        assert agreed.json()["plan_version"] == 1
        mismatch = await coord.post(
            f"{case}/plans", json={"meeting_id": meeting_id, "agreed_on": "2026-04-11"}
        )
        assert mismatch.status_code == 422 and mismatch.json()["code"] == "plan_meeting_mismatch"
        declined_late = await coord.post(
            f"{case}/decline", json={"note": "遅すぎる不受理", "declined_on": "2026-04-11"}
        )
        assert declined_late.status_code == 409 and declined_late.json()["code"] == "plan_exists"
        late_answer = await coord.post(case + acceptance.format(0), json={"accepted_on": "2026-04-11"})
        assert late_answer.status_code == 409 and late_answer.json()["code"] == "plan_already_agreed"

        # Moment 4: referrals to participation and outreach, monitoring with the origin.
        to_participation = await coord.post(
            f"{case}/referrals/participation",
            json={
                "needs": ["place_to_be", "work_experience"],
                "reason": "日中の居場所と就労体験",
                "referred_on": "2026-04-12",
            },
        )
        assert to_participation.status_code == 201, to_participation.text
        to_outreach = await coord.post(
            f"{case}/referrals/outreach",
            json={"urgency": "routine", "reason": "本人と直接会えていない", "referred_on": "2026-04-12"},
        )
        assert to_outreach.status_code == 201, to_outreach.text
        monitored = await coord.post(
            f"{case}/monitoring",
            json={
                "monitored_on": "2026-05-10",
                "note": "母のデイサービス開始",
                "organisations": ["houkatsu-chuo"],
            },
        )
        assert monitored.status_code == 201, monitored.text

        # Outreach connects the person to coordination on this case: noted on the case.
        connected = ConnectedToSupport(
            case_key=uuid.UUID(case_id),
            outreach_case_id=uuid.uuid4(),
            subject_ref=opened["subject_ref"],
            connected_to=ConnectionTarget.COORDINATION,
            organisation="shakyo-tagikan",
            issue_tags=[IssueTag.HIKIKOMORI],
            age_band=AgeBand.MIDDLE,
            district="chuo-1",
            connected_on=date(2026, 5, 20),
        )
        await produce(infra.kafka_admin, OUTREACH_EVENTS, [wire(_envelope(connected, "npo-tsunagari"))])
        await eventually(
            lambda: _get_json(coord, case, lambda b: len(b["connections"]) == 1),
            what="coordination noting outreach's connection",
        )

        # A revision is a new version: drafted, answered and agreed afresh.
        revision = plan(agreed_on="2026-06-01", roles=[sanka_role | {"review_on": "2026-09-01"}])
        redrafted = await coord.post(f"{case}/plans/drafts", json=plan_draft(revision, "2026-05-25"))
        assert redrafted.status_code == 201 and redrafted.json()["plan_version"] == 2, redrafted.text
        superseded = await coord.post(case + acceptance.format(1), json={"accepted_on": "2026-05-26"})
        assert superseded.status_code == 409 and superseded.json()["code"] == "plan_already_agreed"
        by_host = await coord.post(
            f"{case}/plans/2/roles/0/acceptance", json={"accepted_on": "2026-05-26"}, headers=sanka
        )
        assert by_host.status_code == 201, by_host.text
        revised = await coord.post(
            f"{case}/plans", json={k: v for k, v in revision.items() if k in MEETING_TERMS}
        )
        assert revised.status_code == 201 and revised.json()["plan_version"] == 2, revised.text

        # Moment 5: conclusion with its evaluation, then the return to origin.
        conclusion = {
            "outcome": "improved",
            "goals_met": 2,
            "evaluation": EVALUATION,
            "concluded_on": "2026-09-15",
        }
        too_many = await coord.post(f"{case}/conclusion", json=conclusion | {"goals_met": 3})
        assert too_many.status_code == 422 and too_many.json()["code"] == "goals_met_out_of_range"
        concluded = await coord.post(f"{case}/conclusion", json=conclusion)
        assert concluded.status_code == 201, concluded.text
        twice = await coord.post(f"{case}/conclusion", json=conclusion)
        assert twice.status_code == 409 and twice.json()["code"] == "already_concluded"
        late_referral = await coord.post(
            f"{case}/referrals/outreach", json={"reason": "追加", "referred_on": "2026-09-16"}
        )
        assert late_referral.status_code == 409 and late_referral.json()["code"] == "case_concluded"
        returned = await coord.post(
            f"{case}/return",
            json={"reason": "support_concluded", "note": "包括で見守りを継続", "returned_on": "2026-09-15"},
        )
        assert returned.status_code == 201, returned.text
        after_return = await coord.post(
            f"{case}/referrals/participation",
            json={"needs": ["place_to_be"], "reason": "再依頼", "referred_on": "2026-09-16"},
        )
        assert after_return.status_code == 409 and after_return.json()["code"] == "case_returned"

        seen = (await coord.get(case)).json()
        assert seen["status"] == "returned" and seen["conclusion"]["goals_total"] == 2
        assert [p["current"] for p in seen["plans"]] == [False, True]
        first = seen["plans"][0]
        assert [(r["organisation"], r["accepted_on"], r["accepted_recorded_by"]) for r in first["roles"]] == [
            ("houkatsu-chuo", "2026-04-08", "shakyo-tagikan"),
            ("kikan-soudan", "2026-04-07", "kikan-soudan"),
        ]
        assert (
            first["roles"][1]["members"] == [opened["subject_ref"]] and first["wishes"] == proposed["wishes"]
        )
        assert seen["assessments"][0]["members"][0]["findings"] == HOUSEHOLD_FINDINGS

        # Intake shows what came back and why, with coordination's evaluation, then closes.
        back = await eventually(
            lambda: _get_json(
                intake,
                f"/cases/{case_id}",
                lambda b: b["status"] == "returned" and b["referrals"][0]["outcome"] is not None,
            ),
            what="intake showing the return and the evaluation",
        )
        shown = back["referrals"][0]
        assert shown["return_reason_label"] == "支援終結によるつなぎもどし"
        assert (shown["outcome_label"], shown["goals_met"], shown["goals_total"]) == ("改善", 2, 2)
        assert [m["meeting_type"] for m in back["meetings"]] == ["support_plan_meeting"] * 2
        assert back["assessments"][0]["findings"] == ASSESSMENT_TEXT
        assert back["supports"][0]["kind_label"] == "情報提供"
        closed = await intake.post(
            f"/cases/{case_id}/closure", json={"reason": "resolved", "closed_on": "2026-09-20"}
        )
        assert closed.status_code == 201, closed.text
        again = await intake.post(
            f"/cases/{case_id}/closure", json={"reason": "resolved", "closed_on": "2026-09-21"}
        )
        assert again.status_code == 409 and again.json()["code"] == "already_closed"
        final = (await intake.get(f"/cases/{case_id}")).json()
        assert final["status"] == "closed" and final["closure"]["reason_label"] == "課題解決"

    # On Kafka: the referrals, the conclusion and the missing resource, with no personal data.
    coordination = await _records(
        infra,
        COORDINATION_EVENTS,
        case_id,
        {"ReferredToParticipation", "ReferredToOutreach", "SupportConcluded", "ReturnedToOrigin"},
        4,
    )
    by_type = {header(r, Header.EVENT_TYPE): json_payload(r) for r in coordination}
    assert by_type["ReferredToParticipation"]["referral_id"] == to_participation.json()["referral_id"]
    assert by_type["ReferredToParticipation"]["needs"] == ["place_to_be", "work_experience"]
    assert by_type["ReferredToOutreach"]["referral_id"] == to_outreach.json()["referral_id"]
    assert (by_type["SupportConcluded"]["outcome"], by_type["SupportConcluded"]["goals_met"]) == (
        "improved",
        2,
    )
    assert by_type["ReturnedToOrigin"]["reason"] == "support_concluded"
    resources = await _records(infra, COORDINATION_EVENTS, meeting_id, {"MissingResourceNoted"}, 1)
    assert json_payload(resources[0]) | {"case_key": None, "meeting_id": None} == {
        "case_key": None,
        "meeting_id": None,
        "meeting_type": "support_plan_meeting",
        "resource_kind": "peer_group",
        "district": "chuo-1",
        "held_on": "2026-04-10",
    }
    closure = await _records(infra, INTAKE_EVENTS, case_id, {"CaseClosed"}, 1)
    assert json_payload(closure[0])["reason"] == "resolved"
    raw = b"".join(r.value for r in (*coordination, *resources, *closure))
    for secret in (
        *PERSON.values(),
        ASSESSMENT_TEXT,
        HOUSEHOLD_FINDINGS,
        EVALUATION,
        "日中の居場所",
        "母のデイサービス",
    ):
        assert secret.encode() not in raw, f"personal data on Kafka: {secret}"


def _envelope(event, organisation: str):
    return envelope_for(event, Context(organisation=organisation, actor="e2e-producer"), datetime.now(UTC))


async def test_a_declined_referral_comes_back_with_its_reason(services, tokens, infra):
    intake, coord = clients(services, tokens)
    async with intake, coord:
        case_id, opened = await refer_new_case(intake, coord, consent=False)
        case = f"/cases/{opened['coordination_case_id']}"
        assert (
            await coord.post(f"{case}/decline", json={"note": DECLINE_NOTE, "declined_on": "2026-04-01"})
        ).json()["code"] == "decline_before_opening"
        outsider = await coord.post(
            f"{case}/decline",
            json={"note": "x", "declined_on": "2026-04-03"},
            headers=as_user(tokens, "kikan-kato"),
        )
        assert outsider.status_code == 404
        declined = await coord.post(
            f"{case}/decline", json={"note": DECLINE_NOTE, "declined_on": "2026-04-03"}
        )
        assert declined.status_code == 201, declined.text
        again = await coord.post(f"{case}/decline", json={"note": DECLINE_NOTE, "declined_on": "2026-04-04"})
        assert again.status_code == 409 and again.json()["code"] == "case_returned"
        assert (await coord.get(case)).json()["return_note"] == DECLINE_NOTE

        back = await eventually(
            lambda: _get_json(intake, f"/cases/{case_id}", lambda b: b["status"] == "returned"),
            what="intake showing the declined referral",
        )
        assert back["referrals"][0]["return_reason"] == "referral_declined"
        assert back["referrals"][0]["return_reason_label"] == "支援依頼の不受理"
        # Back at intake: it can work the case itself, pass it to an agency and close it.
        to_agency = await intake.post(
            f"/cases/{case_id}/agency-referrals",
            json={"organisation": "hellowork-kaku", "reason": "就労相談のため", "referred_on": "2026-04-05"},
        )
        assert to_agency.status_code == 201, to_agency.text
        closed = await intake.post(
            f"/cases/{case_id}/closure", json={"reason": "connected_to_agency", "closed_on": "2026-04-06"}
        )
        assert closed.status_code == 201, closed.text
        late = await intake.post(
            f"/cases/{case_id}/supports", json={"given_on": "2026-04-07", "kind": "listening_advice"}
        )
        assert late.status_code == 409 and late.json()["code"] == "case_closed"

    returned = await _records(infra, COORDINATION_EVENTS, case_id, {"ReturnedToOrigin"}, 1)
    assert json_payload(returned[0])["reason"] == "referral_declined"
    assert DECLINE_NOTE.encode() not in returned[0].value


def json_payload(record) -> dict:
    return json.loads(record.value)["payload"]


async def test_intake_closing_and_new_work_rules(services, tokens):
    intake, _ = clients(services, tokens)
    other = as_user(tokens, "kita-takahashi")
    async with intake:
        case_id = (await intake.post("/cases", json=consultation())).json()["case_id"]
        url = f"/cases/{case_id}"
        for path, body in (
            ("/assessments", {"assessed_on": "2026-04-02", "findings": "x", "issue_tags": ["health"]}),
            ("/supports", {"given_on": "2026-04-02", "kind": "accompaniment"}),
            (
                "/agency-referrals",
                {"organisation": "hoken-center", "reason": "x", "referred_on": "2026-04-02"},
            ),
            ("/closure", {"reason": "resolved", "closed_on": "2026-04-02"}),
        ):
            assert (await intake.post(url + path, json=body, headers=other)).status_code == 404, path
        for body, status, code in (
            ({"reason": "connected_to_agency", "closed_on": "2026-04-02"}, 409, "no_agency_referral"),
            ({"reason": "resolved", "closed_on": "2026-03-01"}, 409, "closure_before_receipt"),
            ({"reason": "no-such-reason", "closed_on": "2026-04-02"}, 422, None),
        ):
            response = await intake.post(f"{url}/closure", json=body)
            assert response.status_code == status and (code is None or response.json()["code"] == code), body
        bad_assessment = await intake.post(
            f"{url}/assessments", json={"assessed_on": "2026-04-02", "findings": "x", "issue_tags": []}
        )
        assert bad_assessment.status_code == 422
        own = await intake.post(
            f"{url}/agency-referrals",
            json={"organisation": "houkatsu-chuo", "reason": "x", "referred_on": "2026-04-02"},
        )
        assert own.status_code == 422 and own.json()["code"] == "agency_is_holder"
        closed = await intake.post(
            f"{url}/closure", json={"reason": "simple_support_completed", "closed_on": "2026-04-02"}
        )
        assert closed.status_code == 201, closed.text
        twice = await intake.post(f"{url}/closure", json={"reason": "resolved", "closed_on": "2026-04-03"})
        assert twice.status_code == 409 and twice.json()["code"] == "already_closed"
        referral = await intake.post(f"{url}/referrals", json={"reason": "x", "referred_on": "2026-04-03"})
        assert referral.status_code == 409 and referral.json()["code"] == "case_closed"


async def test_people_passed_on_by_outreach_and_community_open_intake_cases(services, tokens, infra):
    intake, _ = clients(services, tokens, worker="kita-takahashi")
    async with intake:
        # Outreach connects someone to 北地域包括 (it runs intake): it holds the new case.
        case_key = uuid.uuid4()
        connected = ConnectedToSupport(
            case_key=case_key,
            outreach_case_id=uuid.uuid4(),
            subject_ref=f"subj_{uuid.uuid4().hex}",
            connected_to=ConnectionTarget.INTAKE,
            organisation="houkatsu-kita",
            issue_tags=[IssueTag.HIKIKOMORI, IssueTag.ISOLATION],
            age_band=AgeBand.MIDDLE,
            district="kita-1",
            connected_on=date(2026, 5, 10),
        )
        elsewhere = connected.model_copy(
            update={"connected_to": ConnectionTarget.AGENCY, "outreach_case_id": uuid.uuid4()}
        )
        await produce(
            infra.kafka_admin,
            OUTREACH_EVENTS,
            [wire(_envelope(elsewhere, "npo-tsunagari")), wire(_envelope(connected, "npo-tsunagari"))],
        )
        opened = await eventually(
            lambda: _get_json(intake, f"/cases/{case_key}"), what="intake opening the connected person's case"
        )
        assert opened["holder_organisation"] == "houkatsu-kita" and opened["channel"] == "outreach"
        assert opened["details_pending"] is True and opened["person"] is None
        assert opened["age_band"] == "40-64" and opened["subject_ref"] == connected.subject_ref
        assert [c["source_ref"] for c in opened["connections"]] == [
            str(connected.outreach_case_id)
        ]  # agency one ignored
        assert [c["source_organisation"] for c in opened["connections"]] == ["npo-tsunagari"]

        # The worker meets the person and records the details (sealed, like any consultation).
        details = {
            "person": {"name": "架空　三郎", "birth_date": "1978-08-09"},
            "household": [{"relation": "parent", "age": 79}],
            "summary": "アウトリーチから引き継ぎ、本人と初回面談",
            "recorded_on": "2026-05-12",
        }
        stranger = as_user(tokens, "chuo-suzuki")
        assert (
            await intake.put(f"/cases/{case_key}/person", json=details, headers=stranger)
        ).status_code == 404
        recorded = await intake.put(f"/cases/{case_key}/person", json=details)
        assert recorded.status_code == 200, recorded.text
        known = (await intake.get(f"/cases/{case_key}")).json()
        assert known["details_pending"] is False and known["person"]["name"] == "架空　三郎"
        [father] = known["household"]
        assert father["subject_ref"].startswith("subj_") and father["subject_ref"] != known["subject_ref"]
        assert (father["relation_label"], father["identity"]["age"], father["age_band"]) == ("親", 79, "75+")

        # The same person connected again by another outreach case: linked, not a second case.
        again = connected.model_copy(
            update={"outreach_case_id": uuid.uuid4(), "connected_on": date(2026, 6, 1)}
        )
        await produce(infra.kafka_admin, OUTREACH_EVENTS, [wire(_envelope(again, "npo-tsunagari"))])
        linked = await eventually(
            lambda: _get_json(intake, f"/cases/{case_key}", lambda b: len(b["connections"]) == 2),
            what="intake linking the second connection",
        )
        assert linked["person"]["name"] == "架空　三郎"

    # A community place raises a concern with intake: the service's organisation holds it.
    soudan = httpx.AsyncClient(
        base_url=services.urls["intake"], headers=as_user(tokens, "soudan-sato"), timeout=10
    )
    async with soudan:
        concern_key = uuid.uuid4()
        to_outreach = ConcernRaised(
            case_key=concern_key,
            concern_id=uuid.uuid4(),
            place_id=uuid.uuid4(),
            raised_to="outreach",
            issue_tags=[IssueTag.YOUNG_CARER],
            age_band=AgeBand.CHILD,
            district="minami-1",
            raised_on=date(2026, 5, 15),
        )
        to_intake = to_outreach.model_copy(update={"raised_to": "intake", "concern_id": uuid.uuid4()})
        await produce(
            infra.kafka_admin,
            COMMUNITY_EVENTS,
            [wire(_envelope(to_outreach, "shakyo-chiiki")), wire(_envelope(to_intake, "shakyo-chiiki"))],
        )
        concern = await eventually(
            lambda: _get_json(soudan, f"/cases/{concern_key}"), what="intake opening the concern's case"
        )
        assert concern["holder_organisation"] == services.organisations["intake"]
        assert concern["channel"] == "community_place" and concern["age_band"] == "0-17"
        assert [c["source_ref"] for c in concern["connections"]] == [str(to_intake.concern_id)]

    # Intake published both cases as received, with the bands the other programs gave.
    for key, band in ((case_key, "40-64"), (concern_key, "0-17")):
        received = await _records(infra, INTAKE_EVENTS, str(key), {"CaseReceived"}, 1)
        assert json_payload(received[0])["age_band"] == band
        assert b"\xe6\x9e\xb6\xe7\xa9\xba" not in received[0].value  # 架空
