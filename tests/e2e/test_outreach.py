"""Outreach end to end over real HTTP, PostgreSQL and Kafka (seed 002, p.26):

a 民生委員 notices someone → letters and visits → first contact, conversation, outing → connected to
intake → concluded; coordination's referral and a community concern open linked cases; everyone but
the holding organisation's outreach workers is refused; no personal data reaches Kafka.
"""

import json
import uuid
from datetime import UTC, date, datetime

import httpx

from contracts import events as public
from contracts.glossary import AgeBand, IssueTag, Urgency
from contracts.topics import COMMUNITY_EVENTS, COORDINATION_EVENTS, OUTREACH_EVENTS, Header
from libs.commands import Context, envelope_for
from services.outreach.domain.model import case_id_for_concern
from tests.builders import collect, header, produce, wire
from tests.e2e.test_first_flow import as_user
from tests.polling import eventually

WORKER = "tsunagari-ito"  # outreach worker of NPO法人つながり (npo-tsunagari)
DESCRIPTION = "架空　一郎さん（50代）、母と二人暮らし。雨戸が閉まったまま。"
NOTE = "民生委員の架空　民子さんから電話で相談あり"
VISIT_NOTE = "玄関先で5分ほど話せた。猫の話題に反応。"


def potential_client(**overrides) -> dict:
    return {
        "identified_by": "minsei_iin",
        "issue_tags": ["hikikomori", "8050"],
        "age_band": "40-64",
        "district": "kita-2",
        "description": DESCRIPTION,
        "note": NOTE,
        "identified_on": "2026-04-01",
    } | overrides


def contact(outcome: str, method: str = "home_visit", on: str = "2026-04-05", **overrides) -> dict:
    return {"method": method, "outcome": outcome, "attempted_on": on} | overrides


CONNECTION = {"connected_to": "intake", "organisation": "city-soudan", "connected_on": "2026-05-01"}
CONCLUSION = {"reason": "connected", "concluded_on": "2026-05-10"}


def client(services, tokens, user: str = WORKER) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=services.urls["outreach"], headers=as_user(tokens, user), timeout=10)


async def _get(client: httpx.AsyncClient, url: str) -> dict | None:
    response = await client.get(url)
    return response.json() if response.status_code == 200 else None


async def _post(
    client: httpx.AsyncClient, url: str, body: dict, status: int = 201, **kwargs
) -> httpx.Response:
    response = await client.post(url, json=body, **kwargs)
    assert response.status_code == status, response.text
    return response


async def _identified(outreach: httpx.AsyncClient, **overrides) -> tuple[str, str]:
    created = (await _post(outreach, "/cases", potential_client(**overrides))).json()
    return created["outreach_case_id"], created["case_key"]


async def _kafka_events(infra, case_key: str, last: str) -> list:
    """The outreach topic's records of one case, up to and including the first `last`."""
    return await collect(
        infra.kafka_admin,
        OUTREACH_EVENTS,
        lambda r: r.key == case_key.encode(),
        lambda kept: any(header(r, Header.EVENT_TYPE) == last for r in kept),
    )


async def test_a_noticed_person_is_approached_connected_and_concluded(services, tokens, infra):
    async with client(services, tokens) as outreach:
        created = await _post(outreach, "/cases", potential_client())
        assert created.headers["ETag"] == '"1"'
        case_id, case_key = created.json()["outreach_case_id"], created.json()["case_key"]
        assert created.headers["Location"] == f"/cases/{case_id}"
        case = f"/cases/{case_id}"

        seen = (await outreach.get(case)).json()
        assert seen["status"] == "identified" and seen["description"] == DESCRIPTION
        assert seen["identified_by_label"] == "民生委員・児童委員"
        assert seen["subject_ref"].startswith("subj_") and seen["holder_organisation"] == "npo-tsunagari"

        await _post(outreach, f"{case}/contact-attempts", contact("no_answer", "letter", "2026-04-02"))
        await _post(outreach, f"{case}/contact-attempts", contact("family_only", "via_family", "2026-04-03"))
        brief = await _post(outreach, f"{case}/contact-attempts", contact("brief_contact", note=VISIT_NOTE))
        assert brief.headers["ETag"] == '"5"'  # the attempt and the first-contact milestone
        talked = await _post(
            outreach,
            f"{case}/contact-attempts",
            contact("conversation", on="2026-04-12"),
            headers={"If-Match": brief.headers["ETag"]},
        )
        assert talked.json()["version"] == 7  # the attempt and the first-conversation milestone
        await _post(
            outreach,
            f"{case}/milestones",
            {"milestone": "first_outing", "note": "図書館へ同行", "reached_on": "2026-04-20"},
        )
        await _post(outreach, f"{case}/connection", CONNECTION | {"note": "本人の希望で相談窓口へ同行"})
        await _post(outreach, f"{case}/conclusion", CONCLUSION)

        done = (await outreach.get(case)).json()
        assert done["status"] == "concluded" and done["conclusion_reason_label"] == "支援機関につながった"
        assert [a["outcome"] for a in done["attempts"]] == [
            "no_answer",
            "family_only",
            "brief_contact",
            "conversation",
        ]
        assert done["attempts"][2]["note"] == VISIT_NOTE and done["attempts"][0]["method_label"] == "手紙"
        assert [m["milestone"] for m in done["milestones"]] == [
            "first_contact",
            "first_conversation",
            "first_outing",
        ]
        assert (done["connected_to"], done["connected_organisation"]) == ("intake", "city-soudan")

        audited = await outreach.get(
            f"/audit/access?case_id={case_id}", headers=as_user(tokens, "kansa-kobayashi")
        )
        assert [(r["user"], r["basis"]) for r in audited.json()] == [(WORKER, "holder"), (WORKER, "holder")]

    records = await _kafka_events(infra, case_key, "OutreachConcluded")
    assert [header(r, Header.EVENT_TYPE) for r in records] == [
        "PotentialClientIdentified",
        "ContactAttempted",
        "ContactAttempted",
        "ContactAttempted",
        "RelationshipMilestoneReached",
        "ContactAttempted",
        "RelationshipMilestoneReached",
        "RelationshipMilestoneReached",
        "ConnectedToSupport",
        "OutreachConcluded",
    ]
    connected = public.ConnectedToSupport.model_validate(json.loads(records[8].value)["payload"])
    assert str(connected.case_key) == case_key and connected.subject_ref == seen["subject_ref"]
    assert connected.organisation == "city-soudan" and connected.age_band == AgeBand.MIDDLE
    assert all(header(r, Header.ORGANISATION) == "npo-tsunagari" for r in records)
    raw = b"".join(r.value for r in records)
    for secret in (DESCRIPTION, NOTE, VISIT_NOTE, "架空", "図書館", "同行"):
        assert secret.encode() not in raw, f"personal data on Kafka: {secret}"


def _referral(case_key: uuid.UUID, referral_id: uuid.UUID) -> public.ReferredToOutreach:
    return public.ReferredToOutreach(
        case_key=case_key,
        referral_id=referral_id,
        coordination_case_id=uuid.uuid4(),
        subject_ref=f"subj_{uuid.uuid4().hex}",
        issue_tags=[IssueTag.HIKIKOMORI, IssueTag.ISOLATION],
        age_band=AgeBand.YOUNG_ADULT,
        district="chuo-1",
        urgency=Urgency.URGENT,
        referred_on=date(2026, 4, 3),
    )


async def test_a_coordination_referral_opens_one_linked_case_that_reports_back_under_its_case_key(
    services, tokens, infra
):
    # Coordination's API for referring to outreach is not there yet: send its public event as it would.
    case_key, referral_id = uuid.uuid4(), uuid.uuid4()
    referral = _referral(case_key, referral_id)
    ctx = Context(organisation="shakyo-tagikan", actor="tagikan-tanaka")
    twice = [wire(envelope_for(referral, ctx, datetime.now(UTC))) for _ in range(2)]  # two deliveries
    await produce(infra.kafka_admin, COORDINATION_EVENTS, twice)

    async with client(services, tokens) as outreach:
        opened = await eventually(
            lambda: _get(outreach, f"/referrals/{referral_id}"), what="outreach opened the referral"
        )
        assert opened["case_key"] == str(case_key) and opened["subject_ref"] == referral.subject_ref
        assert opened["coordination_case_id"] == str(referral.coordination_case_id)
        assert (opened["identified_by"], opened["referring_organisation"]) == (
            "coordination_referral",
            "shakyo-tagikan",
        )
        assert opened["urgency"] == "urgent" and opened["identified_on"] == "2026-04-03"
        assert opened["description"] is None
        case = f"/cases/{opened['outreach_case_id']}"

        await _post(outreach, f"{case}/contact-attempts", contact("conversation", on="2026-04-10"))
        await _post(
            outreach,
            f"{case}/connection",
            {"connected_to": "coordination", "organisation": "shakyo-tagikan", "connected_on": "2026-04-20"},
        )
        await _post(outreach, f"{case}/conclusion", CONCLUSION | {"concluded_on": "2026-04-21"})

    records = await _kafka_events(infra, str(case_key), "OutreachConcluded")
    types = [header(r, Header.EVENT_TYPE) for r in records]
    assert types.count("PotentialClientIdentified") == 1  # the second delivery opened nothing
    assert types[-2:] == ["ConnectedToSupport", "OutreachConcluded"]
    first = json.loads(records[0].value)
    assert first["payload"]["referral_id"] == str(referral_id)
    assert all(json.loads(r.value)["case_key"] == str(case_key) for r in records)
    # Outreach's first event continues coordination's flow.
    assert header(records[0], Header.CORRELATION_ID) == str(ctx.correlation_id)


async def test_a_concern_raised_to_outreach_opens_a_potential_client_and_one_raised_to_intake_does_not(
    services, tokens, infra
):
    def concern(raised_to: str) -> public.ConcernRaised:
        return public.ConcernRaised(
            case_key=uuid.uuid4(),
            concern_id=uuid.uuid4(),
            place_id=uuid.uuid4(),
            raised_to=raised_to,
            issue_tags=[IssueTag.YOUNG_CARER],
            age_band=AgeBand.CHILD,
            district="minami-3",
            raised_on=date(2026, 4, 8),
        )

    to_intake, to_outreach = concern("intake"), concern("outreach")
    ctx = Context(organisation="shakyo-chiiki", actor="chiiki-yamamoto")
    # One key, in this order: once the second is processed, so was the first.
    await produce(
        infra.kafka_admin,
        COMMUNITY_EVENTS,
        [wire(envelope_for(c, ctx, datetime.now(UTC))) for c in (to_intake, to_outreach)],
    )
    async with client(services, tokens) as outreach:
        opened = await eventually(
            lambda: _get(outreach, f"/cases/{case_id_for_concern(to_outreach.concern_id)}"),
            what="outreach opened the concern",
        )
        assert opened["case_key"] == str(to_outreach.case_key) and opened["concern_id"] == str(
            to_outreach.concern_id
        )
        assert (
            opened["identified_by"] == "community_place"
            and opened["referring_organisation"] == "shakyo-chiiki"
        )
        assert opened["status"] == "identified" and opened["subject_ref"].startswith("subj_")
        ignored = await outreach.get(f"/cases/{case_id_for_concern(to_intake.concern_id)}")
        assert ignored.status_code == 404


async def test_only_the_holding_organisations_outreach_workers_see_or_change_a_case(services, tokens):
    async with client(services, tokens) as outreach:
        case_id, _ = await _identified(outreach)
        case = f"/cases/{case_id}"
        writes = {
            f"{case}/contact-attempts": contact("no_answer"),
            f"{case}/milestones": {"milestone": "first_contact", "reached_on": "2026-04-05"},
            f"{case}/connection": CONNECTION,
            f"{case}/conclusion": CONCLUSION,
        }
        others = (
            "chuo-suzuki",
            "tagikan-tanaka",
            "sanka-watanabe",
            "chiiki-yamamoto",
            "city-nakamura",
            "kansa-kobayashi",
        )
        for user in others:
            as_other = as_user(tokens, user)
            assert (await outreach.get(case, headers=as_other)).status_code == 404, user
            for url, body in writes.items():
                response = await outreach.post(url, json=body, headers=as_other)
                assert response.status_code == 404, (user, url, response.text)
                assert response.json()["detail"] == "見つかりません。"
            refused = await outreach.post("/cases", json=potential_client(), headers=as_other)
            assert refused.status_code == 403, user
        assert (await outreach.get(f"/cases/{uuid.uuid4()}")).status_code == 404
        assert (await outreach.get(f"/referrals/{uuid.uuid4()}")).status_code == 404

        # Nothing was changed or seen by the refused callers: the case is as recorded, read once by its holder.
        unchanged = (await outreach.get(case)).json()
        assert unchanged["version"] == 1 and unchanged["attempts"] == []
        audited = await outreach.get(
            f"/audit/access?case_id={case_id}", headers=as_user(tokens, "kansa-kobayashi")
        )
        assert [r["user"] for r in audited.json()] == [WORKER]

    async with httpx.AsyncClient(base_url=services.urls["outreach"], timeout=10) as anonymous:
        assert (await anonymous.get(case)).status_code == 401
        assert (await anonymous.post("/cases", json=potential_client())).status_code == 401
        assert (
            await anonymous.post(f"{case}/contact-attempts", json=contact("no_answer"))
        ).status_code == 401


async def test_bad_input_is_refused_with_422(services, tokens):
    async with client(services, tokens) as outreach:
        for bad in (
            potential_client(identified_by="a-neighbour-called-tanaka"),
            potential_client(identified_by="coordination_referral"),  # only a referral opens such a case
            potential_client(issue_tags=[]),
            potential_client(age_band="about 50"),
            potential_client(district="北区"),
            potential_client(description="架空\x00一郎"),
            potential_client(note="   "),
            potential_client(identified_on="yesterday"),
            potential_client(name="架空　一郎"),
        ):
            response = await outreach.post("/cases", json=bad)
            assert response.status_code == 422, (bad, response.text)
        referral_only = await outreach.post(
            "/cases", json=potential_client(identified_by="coordination_referral")
        )
        assert referral_only.json()["code"] == "referral_only" and "依頼" in referral_only.json()["detail"]
        assert (await outreach.get("/cases/not-a-uuid")).status_code == 422

        case_id, _ = await _identified(outreach)
        case = f"/cases/{case_id}"
        for url, bad in (
            (f"{case}/contact-attempts", contact("waved")),
            (f"{case}/contact-attempts", contact("no_answer", method="carrier_pigeon")),
            (f"{case}/contact-attempts", contact("conversation", method="via_family")),
            (f"{case}/milestones", {"milestone": "became_friends", "reached_on": "2026-04-05"}),
            (f"{case}/connection", CONNECTION | {"organisation": "市役所"}),
            (f"{case}/connection", CONNECTION | {"connected_to": "somewhere"}),
            (f"{case}/conclusion", CONCLUSION | {"reason": "bored"}),
        ):
            response = await outreach.post(url, json=bad)
            assert response.status_code == 422, (url, bad, response.text)
        garbled = await outreach.post(
            f"{case}/contact-attempts", json=contact("no_answer"), headers={"If-Match": "soon"}
        )
        assert garbled.status_code == 422


async def test_impossible_transitions_are_refused_with_409(services, tokens):
    async with client(services, tokens) as outreach:
        case_id, _ = await _identified(outreach)
        case = f"/cases/{case_id}"

        async def refused(url: str, body: dict, code: str, **kwargs) -> None:
            response = await outreach.post(url, json=body, **kwargs)
            assert response.status_code == 409 and response.json()["code"] == code, (url, response.text)
            assert response.json()["detail"]

        await refused(
            f"{case}/contact-attempts", contact("no_answer", on="2026-03-01"), "before_identification"
        )
        await refused(
            f"{case}/milestones",
            {"milestone": "first_outing", "reached_on": "2026-04-05"},
            "milestone_out_of_order",
        )
        await refused(f"{case}/connection", CONNECTION, "no_contact_yet")
        await refused(f"{case}/conclusion", CONCLUSION, "not_connected")
        unknown = await outreach.post(f"/cases/{uuid.uuid4()}/contact-attempts", json=contact("no_answer"))
        assert unknown.status_code == 404

        await _post(outreach, f"{case}/contact-attempts", contact("conversation"))
        await refused(
            f"{case}/contact-attempts", contact("no_answer"), "version_conflict", headers={"If-Match": '"1"'}
        )
        await refused(
            f"{case}/milestones",
            {"milestone": "first_contact", "reached_on": "2026-04-06"},
            "milestone_already_reached",
        )
        wrong_program = await outreach.post(
            f"{case}/connection", json=CONNECTION | {"organisation": "shakyo-sanka"}
        )
        assert (
            wrong_program.status_code == 422 and wrong_program.json()["code"] == "organisation_not_in_program"
        )
        await _post(outreach, f"{case}/connection", CONNECTION)
        await refused(f"{case}/connection", CONNECTION | {"connected_on": "2026-05-02"}, "already_connected")
        await refused(
            f"{case}/conclusion", CONCLUSION | {"concluded_on": "2026-04-30"}, "conclusion_before_connection"
        )
        await _post(outreach, f"{case}/conclusion", CONCLUSION)
        await refused(f"{case}/conclusion", CONCLUSION, "already_concluded")
        await refused(f"{case}/contact-attempts", contact("conversation", on="2026-05-11"), "case_concluded")
        await refused(
            f"{case}/milestones", {"milestone": "first_outing", "reached_on": "2026-05-11"}, "case_concluded"
        )
