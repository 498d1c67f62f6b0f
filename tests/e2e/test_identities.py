"""Every token is checked against the municipality's directory, by every service: a signature from
the right issuer proves who issued the token, not that the municipality lets that person act so.

Unknown user → 401; another organisation or a role the directory does not give → 403; a token
living longer than an hour → 401; a user the administrator removes is refused within seconds."""

import time
import uuid

import httpx
import pytest

from deploy.local.issuer import LocalIssuer
from tests.e2e.test_first_flow import as_user
from tests.polling import eventually

ADMIN = "city-nakamura"


def _readable(services) -> dict[str, str]:
    """One authenticated GET per service, answered 200 or 404 (never 401/403) for a proper token."""
    return {
        **{name: f"{url}/cases?limit=1" for name, url in services.urls.items()},
        "directory": f"{services.directory_url}/directory",
    }


async def _get(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    "user, organisation, roles, status, code",
    [
        ("nobody-here", "city-soudan", ["intake_worker"], 401, None),
        ("chuo-suzuki", "houkatsu-kita", ["intake_worker"], 403, "organisation_mismatch"),
        ("chuo-suzuki", "no-such-org", ["intake_worker"], 403, "organisation_mismatch"),
        (
            "chuo-suzuki",
            "houkatsu-chuo",
            ["intake_worker", "coordinator", "outreach_worker", "municipal_administrator", "auditor"],
            403,
            "role_mismatch",
        ),
    ],
    ids=["unknown user", "another organisation", "organisation not in the directory", "every role"],
)
async def test_a_token_that_the_directory_does_not_bear_out_is_refused_everywhere(
    services, issuer: LocalIssuer, user, organisation, roles, status, code
):
    token = issuer.token(user, organisation, roles)
    for service, url in _readable(services).items():
        response = await _get(url, token)
        assert response.status_code == status, (service, response.text)
        if code:
            assert response.json()["code"] == code, service
        else:
            assert "名簿に登録されていません" in response.json()["detail"], service


async def test_the_dashboard_checks_identities_too(projections, issuer: LocalIssuer, tokens):
    """The projections service keeps its own copy of the directory, as the program services do."""
    own = await _get(f"{projections}/api/dashboard", tokens[ADMIN])
    assert own.status_code == 200, own.text
    every_role = issuer.token(ADMIN, "city-fukushi", ["municipal_administrator", "auditor"])
    forged = await _get(f"{projections}/api/dashboard", every_role)
    assert forged.status_code == 403 and forged.json()["code"] == "role_mismatch"
    unknown = issuer.token("city-someone", "city-fukushi", ["municipal_administrator"])
    assert (await _get(f"{projections}/api/dashboard", unknown)).status_code == 401


async def test_a_token_may_live_an_hour_and_no_longer(services, issuer: LocalIssuer):
    url = f"{services.urls['intake']}/cases/{uuid.uuid4()}"
    now = time.time()
    hour = issuer.token("chuo-suzuki", "houkatsu-chuo", ["intake_worker"], lifetime=3600, now=now)
    assert (await _get(url, hour)).status_code == 404  # authenticated; no such case
    day = issuer.token("chuo-suzuki", "houkatsu-chuo", ["intake_worker"], lifetime=24 * 3600, now=now)
    refused = await _get(url, day)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_user_the_administrator_removes_is_refused_within_seconds(
    services, issuer: LocalIssuer, tokens
):
    """A worker who moved to another office: the administrator removes them; their token, still
    signed and unexpired, opens nothing once the services have the new version."""
    async with httpx.AsyncClient(
        base_url=services.directory_url, headers=as_user(tokens, ADMIN), timeout=10
    ) as admin:
        added = await admin.put(
            "/users/kita-idou",
            json={"organisation": "houkatsu-kita", "roles": ["intake_worker"], "display": "異動（北包括）"},
        )
        assert added.status_code == 200, added.text
        token = issuer.token("kita-idou", "houkatsu-kita", ["intake_worker"])
        url = f"{services.urls['intake']}/cases?limit=1"

        async def status_is(expected: int) -> bool:
            return (await _get(url, token)).status_code == expected

        await eventually(lambda: status_is(200), what="intake knowing the new user")
        assert (await admin.delete("/users/kita-idou")).status_code == 200
        await eventually(lambda: status_is(401), what="intake refusing the removed user")
