"""Break-glass over the running services: who may ask (the directory decides), what a request must
say, what it opens (that case, that user), that every attempt is recorded, and the review queue
of the holding organisation and the auditor."""

import httpx

from tests.e2e.test_first_flow import WORKER, as_user, consultation
from tests.polling import eventually

OTHER_INTAKE = "kita-takahashi"  # 北地域包括支援センター: runs intake, does not hold the case
OUTSIDE = "kikan-kato"  # 基幹相談支援センター: runs no program of the business
AUDITOR = "kansa-kobayashi"
ADMIN = "city-nakamura"
REASON = {
    "reason_code": "life_or_body",
    "reason": "警察から本人の安否確認の照会。夜間で保有機関に連絡がつかないため。",
}


def intake(services, tokens, user: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=services.urls["intake"], headers=as_user(tokens, user), timeout=10)


async def _new_case(services, tokens) -> str:
    async with intake(services, tokens, WORKER) as holder:
        created = await holder.post("/cases", json=consultation())
        assert created.status_code == 201, created.text
        return created.json()["case_id"]


async def test_a_worker_of_a_program_opens_one_case_for_a_day_and_it_is_reviewed(services, tokens):
    case_id, other_case = await _new_case(services, tokens), await _new_case(services, tokens)
    async with (
        intake(services, tokens, OTHER_INTAKE) as other,
        intake(services, tokens, WORKER) as holder,
        intake(services, tokens, AUDITOR) as auditor,
    ):
        assert (await other.get(f"/cases/{case_id}")).status_code == 404
        # A header no longer opens anything: the old declared-emergency path is gone.
        declared = {"X-Legal-Basis": "emergency", "X-Legal-Basis-Reason": "urgent"}
        assert (await other.get(f"/cases/{case_id}", headers=declared)).status_code == 404

        short = await other.post(f"/cases/{case_id}/emergency-access", json={**REASON, "reason": "安否確認"})
        assert short.status_code == 422 and short.json()["code"] == "reason_too_short"
        unknown = await other.post(
            f"/cases/{case_id}/emergency-access", json={**REASON, "reason_code": "curious"}
        )
        assert unknown.status_code == 422

        granted = await other.post(f"/cases/{case_id}/emergency-access", json=REASON)
        assert granted.status_code == 201, granted.text
        grant = granted.json()
        assert grant["hours"] == 24 and grant["expires_at"] > grant["granted_at"]
        seen = await other.get(f"/cases/{case_id}")
        assert seen.status_code == 200 and seen.json()["access_basis"] == "emergency"
        assert (await other.get(f"/cases/{other_case}")).status_code == 404  # that case only
        again = await other.post(f"/cases/{case_id}/emergency-access", json=REASON)
        assert again.status_code == 409 and again.json()["code"] == "already_granted"
        assert (await holder.post(f"/cases/{case_id}/emergency-access", json=REASON)).status_code == 409

        # The holder's queue shows it the same day, with the reason; the auditor's too.
        queue = (await holder.get("/emergency-access")).json()
        [entry] = [e for e in queue if e["grant_id"] == grant["grant_id"]]
        assert (entry["case_id"], entry["user"], entry["organisation"]) == (
            case_id,
            OTHER_INTAKE,
            "houkatsu-kita",
        )
        assert entry["reason_code_label"] == "生命・身体の保護" and "reason" not in entry
        assert entry["reviews"] == [] and entry["reviewed"] is False
        # The reason is about the person: the holder reads it on the case, and that read is recorded.
        [full] = (await holder.get(f"/cases/{case_id}/emergency-access")).json()
        assert full["reason"] == REASON["reason"]
        assert (await other.get(f"/cases/{case_id}/emergency-access")).status_code == 404
        audited = (await auditor.get("/emergency-access")).json()
        assert grant["grant_id"] in {e["grant_id"] for e in audited}
        assert (await other.get("/emergency-access")).json() == []  # not the holder: nothing to review

        records = (await auditor.get(f"/audit/access?case_id={case_id}")).json()
        assert [(r["user"], r["basis"], r["basis_ref"]) for r in records] == [
            (OTHER_INTAKE, "emergency", grant["grant_id"])
        ]
        assert records[0]["review_required"] is True

        reviewed = await holder.post(
            f"/cases/{case_id}/emergency-access/{grant['grant_id']}/review",
            json={"finding": "justified", "note": "警察の照会記録と一致。"},
        )
        assert reviewed.status_code == 201, reviewed.text
        after = [
            e for e in (await holder.get("/emergency-access")).json() if e["grant_id"] == grant["grant_id"]
        ]
        assert after[0]["reviewed"] is True and after[0]["reviews"][0]["finding_label"] == "正当"
        outsider_review = await other.post(
            f"/cases/{case_id}/emergency-access/{grant['grant_id']}/review", json={"finding": "not_justified"}
        )
        assert outsider_review.status_code == 404


async def test_only_organisations_with_a_program_or_a_recorded_duty_may_ask_and_refusals_are_recorded(
    services, tokens
):
    case_id = await _new_case(services, tokens)
    async with (
        intake(services, tokens, OUTSIDE) as outside,
        intake(services, tokens, AUDITOR) as auditor,
        httpx.AsyncClient(
            base_url=services.directory_url, headers=as_user(tokens, ADMIN), timeout=10
        ) as admin,
    ):
        refused = await outside.post(f"/cases/{case_id}/emergency-access", json=REASON)
        assert refused.status_code == 403 and refused.json()["code"] == "not_eligible"
        assert (await outside.get(f"/cases/{case_id}")).status_code == 404
        for user in (AUDITOR, ADMIN):  # no worker role: refused as well
            async with intake(services, tokens, user) as http:
                assert (await http.post(f"/cases/{case_id}/emergency-access", json=REASON)).status_code == 403
        attempts = [e for e in (await auditor.get("/emergency-access")).json() if e["case_id"] == case_id]
        assert {(a["user"], a["kind"]) for a in attempts} == {
            (OUTSIDE, "refused"),
            (AUDITOR, "refused"),
            (ADMIN, "refused"),
        }

        # The municipality records that the 基幹相談支援センター holds the duty to respond to abuse of
        # disabled people: its worker may now break the glass, once the directory has reached intake.
        directory = (await admin.get("/directory")).json()
        kikan = next(o for o in directory["organisations"] if o["id"] == "kikan-soudan")
        duty = {k: kikan[k] for k in ("name", "kind", "programs", "districts")} | {
            "duties": ["disability_abuse"]
        }
        assert (await admin.put("/organisations/kikan-soudan", json=duty)).status_code == 200

        async def granted() -> bool:
            response = await outside.post(f"/cases/{case_id}/emergency-access", json=REASON)
            assert response.status_code in (201, 403), response.text
            return response.status_code == 201

        await eventually(granted, what="intake letting an organisation with a recorded duty break the glass")
        assert (await outside.get(f"/cases/{case_id}")).status_code == 200
