"""Privacy by construction, proven against the running services: tokens, object-level access by
organisation and role, consent, 支援会議 membership, declared emergencies, and access records."""

import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from deploy.local.issuer import LocalIssuer
from libs.directory import Directory
from tests.conftest import business_day
from tests.e2e.test_first_flow import (
    CONSENT,
    COORDINATOR,
    MEETING_TERMS,
    WORKER,
    _get_json,
    agree_plan,
    as_user,
    clients,
    consultation,
    plan,
    refer_new_case,
)
from tests.polling import eventually

DIRECTORY = Directory.load()


async def _status(client: httpx.AsyncClient, method: str, url: str, token: str | None, **kwargs) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return (await client.request(method, url, headers=headers, **kwargs)).status_code


async def test_every_endpoint_but_health_and_docs_refuses_a_request_without_a_token(services):
    async with httpx.AsyncClient(timeout=10) as client:
        for url in services.urls.values():
            spec = (await client.get(f"{url}/openapi.json")).json()
            for path, operations in spec["paths"].items():
                concrete = path.replace("{case_id}", str(uuid.uuid4())).replace(
                    "{consent_id}", str(uuid.uuid4())
                )
                concrete = concrete.replace("{referral_id}", str(uuid.uuid4()))
                concrete = concrete.replace("{meeting_id}", str(uuid.uuid4()))
                concrete = concrete.replace("{plan_version}", "1").replace("{role_index}", "0")
                for method in operations:
                    status = await _status(client, method, f"{url}{concrete}", None, json={})
                    expected = 200 if path == "/health" else 401
                    assert status == expected, (method, path, status)


async def test_tokens_that_are_expired_unsigned_foreign_or_misaddressed_are_refused(
    services, issuer: LocalIssuer
):
    url = f"{services.urls['intake']}/cases/{uuid.uuid4()}"
    user = DIRECTORY.users[WORKER]
    claims = {"sub": user.id, "org": user.organisation, "roles": sorted(user.roles)}
    now = time.time()
    stranger = ec.generate_private_key(ec.SECP256R1())
    bad_tokens = {
        "expired": issuer.token(**claims_for(claims), now=now - 10 * 3600, lifetime=3600),
        "wrong audience": issuer.token(**claims_for(claims), audience="kasane-elsewhere"),
        "wrong issuer": issuer.token(**claims_for(claims), issuer="https://evil.invalid"),
        "unsigned": jwt.encode(
            {**claims, "iss": issuer.issuer, "aud": "kasane-intake", "iat": int(now), "exp": int(now) + 600},
            key=None,
            algorithm="none",
        ),
        "foreign key": jwt.encode(
            {**claims, "iss": issuer.issuer, "aud": "kasane-intake", "iat": int(now), "exp": int(now) + 600},
            stranger,
            algorithm="ES256",
            headers={"kid": issuer.kid},
        ),
        "symmetric": jwt.encode(
            {**claims, "iss": issuer.issuer, "aud": "kasane-intake", "iat": int(now), "exp": int(now) + 600},
            "secret-that-is-at-least-32-bytes-long!!",
            algorithm="HS256",
            headers={"kid": issuer.kid},
        ),
        "unknown role": issuer.token(user.id, user.organisation, ["superuser"]),
        "garbage": "not.a.token",
    }
    async with httpx.AsyncClient(timeout=10) as client:
        good = await _status(client, "GET", url, issuer.token(**claims_for(claims)))
        assert good == 404  # authenticated; the case does not exist
        for name, token in bad_tokens.items():
            response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, name
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def claims_for(claims: dict) -> dict:
    return {"user": claims["sub"], "organisation": claims["org"], "roles": claims["roles"]}


@pytest.fixture(scope="module")
async def held_case(services, tokens):
    """A consented case of houkatsu-chuo, referred and planned at a 重層的支援会議."""
    intake, coord = clients(services, tokens)
    async with intake, coord:
        case_id, opened = await refer_new_case(intake, coord, consent=True)
    return case_id, opened["coordination_case_id"]


# Expected status per (user, endpoint) on a case held by houkatsu-chuo whose consent covers
# intake and coordination, planned at a meeting of shakyo-tagikan, houkatsu-chuo and kikan-soudan.
READ_INTAKE = {
    "chuo-suzuki": 200,  # holder
    # Other intake centres: a consent to intake is not a consent to every intake centre.
    "kita-takahashi": 404,
    "soudan-sato": 404,
    "tagikan-tanaka": 200,  # consent covers coordination
    "tsunagari-ito": 404,  # outreach: not in the consent
    "sanka-watanabe": 404,
    "chiiki-yamamoto": 404,
    "kikan-kato": 404,  # consent-based meetings give no basis on intake's record; only 支援会議 do
    "city-nakamura": 404,  # municipal administrator: aggregates only
    "kansa-kobayashi": 404,  # auditor: access records, not details
}


async def test_object_level_access_matrix(services, tokens, held_case):
    case_id, coordination_case = held_case
    intake_url, coord_url = services.urls["intake"], services.urls["coordination"]
    async with httpx.AsyncClient(timeout=10) as client:
        coordinated = await agree_plan(
            client, f"{coord_url}/cases/{coordination_case}", plan(), headers=as_user(tokens, COORDINATOR)
        )
        assert coordinated.status_code == 201, coordinated.text
        # A meeting's agreement on a day before the case: always refused by the domain if authorised.
        too_early = {k: v for k, v in plan(agreed_on="2026-03-01").items() if k in MEETING_TERMS}
        refer = {"reason": "再依頼", "referred_on": "2026-04-02"}
        for user in DIRECTORY.users:
            token = tokens[user]
            got = {
                "read intake": await _status(client, "GET", f"{intake_url}/cases/{case_id}", token),
                "consents": await _status(client, "GET", f"{intake_url}/cases/{case_id}/consents", token),
                "refer": await _status(
                    client, "POST", f"{intake_url}/cases/{case_id}/referrals", token, json=refer
                ),
                "grant consent": await _status(
                    client, "POST", f"{intake_url}/cases/{case_id}/consents", token, json=CONSENT
                ),
                "read coordination": await _status(
                    client, "GET", f"{coord_url}/cases/{coordination_case}", token
                ),
                "plan": await _status(
                    client,
                    "POST",
                    f"{coord_url}/cases/{coordination_case}/plans",
                    token,
                    json=too_early,
                ),
                "audit": await _status(client, "GET", f"{intake_url}/audit/access?case_id={case_id}", token),
            }
            holder = user == WORKER
            coordinator = user == COORDINATOR
            member = DIRECTORY.users[user].organisation in {"shakyo-tagikan", "houkatsu-chuo", "kikan-soudan"}
            is_worker = bool(DIRECTORY.users[user].roles - {"municipal_administrator", "auditor"})
            expected = {
                "read intake": READ_INTAKE[user],
                "consents": 200 if holder else 404,
                "refer": 409 if holder else 404,  # holder: already referred
                "grant consent": 201 if holder else 404,
                "read coordination": 200 if coordinator or (member and is_worker) else 404,
                "plan": 409 if coordinator else 404,
                "audit": 200 if user == "kansa-kobayashi" else 403,
            }
            assert got == expected, user


async def test_receiving_is_refused_to_organisations_outside_the_intake_program(services, tokens):
    async with httpx.AsyncClient(base_url=services.urls["intake"], timeout=10) as client:
        for user in ("tagikan-tanaka", "tsunagari-ito", "city-nakamura", "kansa-kobayashi", "kikan-kato"):
            response = await client.post("/cases", json=consultation(), headers=as_user(tokens, user))
            assert response.status_code == 403, user
        ok = await client.post("/cases", json=consultation(), headers=as_user(tokens, "kita-takahashi"))
        assert ok.status_code == 201


async def test_withdrawn_consent_ends_the_other_organisations_access_at_once(services, tokens):
    intake, coord = clients(services, tokens)
    async with intake, coord:
        case_id, opened = await refer_new_case(intake, coord, consent=True)
        url = f"/cases/{case_id}"
        as_coordinator = as_user(tokens, COORDINATOR)
        seen = await intake.get(url, headers=as_coordinator)
        assert seen.status_code == 200 and seen.json()["access_basis"] == "consent"

        consent_id = (await intake.get(f"{url}/consents")).json()[0]["consent_id"]
        narrowed = await intake.post(
            f"{url}/consents/{consent_id}/narrow", json={"programs": ["intake"], "narrowed_on": "2026-05-01"}
        )
        assert narrowed.status_code == 200, narrowed.text
        assert (await intake.get(url, headers=as_coordinator)).status_code == 404
        wider = await intake.post(
            f"{url}/consents/{consent_id}/narrow",
            json={"programs": ["intake", "coordination"], "narrowed_on": "2026-05-02"},
        )
        assert wider.status_code == 409 and wider.json()["code"] == "consent_not_narrower"
        withdrawn = await intake.post(
            f"{url}/consents/{consent_id}/withdraw", json={"withdrawn_on": "2026-05-03"}
        )
        assert withdrawn.status_code == 200
        assert (await intake.get(url, headers=as_user(tokens, "kita-takahashi"))).status_code == 404
        assert (await intake.get(url)).status_code == 200  # the holder keeps its own record

        # Coordination learns of it too: a 重層的支援会議 is now refused.
        terms = {k: v for k, v in plan().items() if k in MEETING_TERMS}

        async def refused():
            response = await coord.post(f"/cases/{opened['coordination_case_id']}/plans", json=terms)
            return response.status_code == 409 and response.json()["code"] == "consent_required"

        await eventually(refused, what="coordination refusing a 重層的支援会議 after withdrawal")


@pytest.mark.parametrize(
    ("granted", "expires", "honoured"),
    [(-30, -1, False), (-30, 0, True), (0, 30, True), (1, 30, False)],
    ids=["expired-yesterday", "expires-today", "given-today", "given-tomorrow"],
)
async def test_consent_is_honoured_from_the_day_given_through_the_day_it_expires(
    services, tokens, granted, expires, honoured
):
    """Days relative to the business day the services run on (tests/conftest.py)."""
    intake, _ = clients(services, tokens)
    async with intake:
        created = await intake.post("/cases", json=consultation(received_on=business_day(-60)))
        assert created.status_code == 201, created.text
        url = f"/cases/{created.json()['case_id']}"
        consent = CONSENT | {"granted_on": business_day(granted), "expires_on": business_day(expires)}
        recorded = await intake.post(f"{url}/consents", json=consent)
        if granted > 0:  # a consent cannot be recorded as given on a day still to come
            assert recorded.status_code == 422 and recorded.json()["code"] == "date_in_future", recorded.text
        else:
            assert recorded.status_code == 201, recorded.text
        seen = await intake.get(url, headers=as_user(tokens, COORDINATOR))
        if honoured:
            assert seen.status_code == 200, seen.text
            assert seen.json()["access_basis"] == "consent"
        else:
            assert seen.status_code == 404, seen.text


async def test_support_meeting_information_reaches_its_members_only(services, tokens):
    intake, coord = clients(services, tokens)
    async with intake, coord:
        case_id, opened = await refer_new_case(intake, coord, consent=False)
        coordination_case = f"/cases/{opened['coordination_case_id']}"
        members = ["shakyo-tagikan", "kikan-soudan"]
        held = await agree_plan(
            coord, coordination_case, plan("confidential_support_meeting", members=members)
        )
        assert held.status_code == 201, held.text

        member = as_user(tokens, "kikan-kato")
        seen = await eventually(
            lambda: _get_json(intake, f"/cases/{case_id}", lambda b: True, headers=member),
            what="the member seeing the case under 法106条の6",
        )
        assert seen["access_basis"] == "support_meeting"
        assert (await coord.get(coordination_case, headers=member)).status_code == 200
        audited = await coord.get(
            f"/audit/access?case_id={opened['coordination_case_id']}&user=kikan-kato",
            headers=as_user(tokens, "kansa-kobayashi"),
        )
        assert [(r["organisation"], r["basis"]) for r in audited.json()] == [
            ("kikan-soudan", "support_meeting")
        ]
        for outsider in ("kita-takahashi", "soudan-sato", "tsunagari-ito", "city-nakamura"):
            assert (
                await intake.get(f"/cases/{case_id}", headers=as_user(tokens, outsider))
            ).status_code == 404
            assert (await coord.get(coordination_case, headers=as_user(tokens, outsider))).status_code == 404


async def test_logs_never_contain_personal_data(services, tokens, infra):
    """Plant a canary person, drive every path that handles them (including errors), scan the logs."""
    canary = {
        "name": "カナリア　ログ子",
        "name_kana": "カナリア ログコ",
        "birth_date": "1969-02-03",
        "address": "架空市カナリア町9-9-9",
        "phone": "000-9999-4242",
    }
    summary = "カナリア要旨：ログに出てはならない文"
    intake, coord = clients(services, tokens)
    async with intake, coord:
        created = await intake.post("/cases", json=consultation(person=canary, summary=summary))
        case_id = created.json()["case_id"]
        await intake.post(f"/cases/{case_id}/consents", json=CONSENT)
        await intake.post(
            f"/cases/{case_id}/referrals", json={"reason": summary, "referred_on": "2026-04-02"}
        )
        await intake.post(
            f"/cases/{case_id}/assessments",
            json={"assessed_on": "2026-04-02", "findings": summary, "issue_tags": ["8050"]},
        )
        await intake.post(
            f"/cases/{case_id}/supports",
            json={"given_on": "2026-04-02", "kind": "listening_advice", "note": summary},
        )
        await intake.post(  # refused (already referred): the refusal must not echo the note either
            f"/cases/{case_id}/closure",
            json={"reason": "resolved", "note": summary, "closed_on": "2026-04-03"},
        )
        await intake.get(f"/cases/{case_id}")
        await intake.get(f"/cases/{case_id}", headers=as_user(tokens, "kita-takahashi"))
        # Break-glass with the person's name in the reason: the reason is sealed, never logged.
        breaking = as_user(tokens, "tsunagari-ito")
        reason = {
            "reason_code": "life_or_body",
            "reason": f"{canary['name']}さんの安否確認の依頼があり、保有機関に連絡がつかない。",
        }
        granted = await intake.post(f"/cases/{case_id}/emergency-access", json=reason, headers=breaking)
        assert granted.status_code == 201, granted.text
        await intake.get(f"/cases/{case_id}", headers=breaking)
        bad = consultation(person=canary | {"birth_date": "2999-01-01"}, summary=summary)
        assert (await intake.post("/cases", json=bad)).status_code == 422
        await intake.post("/cases", json=consultation(person=canary | {"name": canary["name"] + "\x00"}))
        await eventually(
            lambda: _get_json(intake, f"/cases/{case_id}", lambda b: b["status"] == "in_coordination"),
            what="the canary case accepted by coordination",
        )
    secrets = [*canary.values(), summary]
    logs = [*services.logs.values(), infra.kafka.log_file]
    for log in logs:
        content = log.read_text(encoding="utf-8", errors="replace")
        leaked = [s for s in secrets if s in content]
        assert not leaked, f"{log.name} contains personal data: {leaked}"
