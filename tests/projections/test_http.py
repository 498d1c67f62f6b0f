"""The dashboard API as a real process: who may read it, and small counts never leave it."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest

from contracts.events import CaseReceived
from contracts.glossary import AgeBand, Channel, IssueTag
from libs.commands import Context, envelope_for
from projections import http, kpi
from tests.polling import eventually
from tests.projections.conftest import publish
from tests.projections.dashboard_process import serving


@pytest.fixture(scope="module")
def dashboard(infra, infra_home, issuer) -> Iterator[str]:
    with serving(infra, infra_home, issuer) as url:
        yield url


def consultation(district: str, channel: Channel) -> object:
    event = CaseReceived(
        case_key=uuid.uuid4(),
        subject_ref=f"subj_{uuid.uuid4().hex}",
        channel=channel,
        issue_tags=[IssueTag.YOUNG_CARER],
        age_band=AgeBand.CHILD,
        household_size=3,
        district=district,
        received_on=date(2025, 6, 10),
    )
    return envelope_for(event, Context(organisation="city-soudan", actor="tester"), datetime.now(UTC))


PERIOD = {"from": "2025-04-01", "to": "2026-03-31"}


async def test_small_counts_are_suppressed_and_the_rest_shown(infra, dashboard, tokens):
    district = f"s-{uuid.uuid4().hex[:8]}"
    await publish(
        infra,
        [consultation(district, Channel.PHONE) for _ in range(3)]
        + [consultation(district, Channel.COUNTER) for _ in range(6)],
    )
    headers = {"Authorization": f"Bearer {tokens['city-nakamura']}"}

    async def figures() -> dict | None:
        async with httpx.AsyncClient() as client:
            response = await client.get(
                f"{dashboard}/api/dashboard", params={**PERIOD, "district": district}, headers=headers
            )
        assert response.status_code == 200, response.text
        body = response.json()
        rows = body["figures"]["consultations_by_channel"]["rows"]
        return body if any(r["channel"] == "counter" and r["n"] == 6 for r in rows) else None

    body = await eventually(figures, 60, "six counter consultations on the dashboard")
    rows = {r["channel"]: r for r in body["figures"]["consultations_by_channel"]["rows"]}
    assert rows["phone"]["n"] is None and rows["phone"]["suppressed"] is True
    assert rows["counter"] == {
        "month": "2025-06",
        "channel": "counter",
        "n": 6,
        "suppressed": False,
        "channel_label": "窓口",
    }
    patterns = {r["pattern"]: r for r in body["figures"]["household_patterns"]["rows"]}
    assert patterns["young_carer"]["n"] == 9
    assert patterns["8050"] == {"pattern": "8050", "n": 0, "suppressed": False, "pattern_label": "8050"}
    assert body["kpi_version"] and body["suppression"]["max"] == 4
    # Nothing in 1..4 anywhere in a figure about people.
    for figure in body["figures"].values():
        if figure["about_people"]:
            for row in figure["rows"]:
                assert not any(
                    isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4 for v in row.values()
                )

    async with httpx.AsyncClient() as client:
        page = await client.get(f"{dashboard}/", params={**PERIOD, "district": district}, headers=headers)
    assert page.status_code == 200
    assert '<html lang="ja">' in page.text and "相談受付件数（月別・相談経路別）" in page.text
    assert "窓口" in page.text and "＊" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("city-nakamura", 200),
        ("kansa-kobayashi", 200),
        ("soudan-sato", 403),
        ("tagikan-tanaka", 403),
        (None, 401),
    ],
)
def test_only_administrators_and_auditors_read_aggregates(dashboard, tokens, user, status):
    headers = {"Authorization": f"Bearer {tokens[user]}"} if user else {}
    assert httpx.get(f"{dashboard}/api/dashboard", params=PERIOD, headers=headers).status_code == status
    page = httpx.get(f"{dashboard}/", headers=headers)
    if user is None:
        # Without a token the page is only a sign-in form: no figures.
        assert page.status_code == 200 and 'id="login"' in page.text and "<table" not in page.text
    else:
        assert page.status_code == status


def test_a_forged_token_is_refused(dashboard):
    response = httpx.get(f"{dashboard}/api/dashboard", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401


def test_the_page_draws_every_figure_from_its_own_assets(dashboard, tokens):
    headers = {"Authorization": f"Bearer {tokens['city-nakamura']}"}
    page = httpx.get(f"{dashboard}/", params=PERIOD, headers=headers)
    assert page.status_code == 200
    html = page.text
    for figure in kpi.FIGURES:
        assert f'<section class="figure" id="{figure.key}"' in html, figure.key
    # Filters in Japanese: quick periods, districts by the directory's names.
    assert all(pick in html for pick in ("今年度", "前年度", "直近12か月"))
    assert '<select name="district">' in html and ">中央一丁目</option>" in html
    # Nothing inline for the CSP to refuse: scripts and styles come from the service itself.
    assert "<script>" not in html and ' style="' not in html
    assert '<script type="application/json" id="dashboard-data">' in html
    for name, media in http.ASSET_FILES.items():
        asset = httpx.get(f"{dashboard}/assets/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(media), name
        assert asset.headers["content-security-policy"] == page.headers["content-security-policy"]
    assert "Chart.js v4.6.1" in httpx.get(f"{dashboard}/assets/vendor/chart.umd.min.js").text


def test_a_period_ending_before_it_starts_is_refused_with_a_reason(dashboard, tokens):
    headers = {"Authorization": f"Bearer {tokens['city-nakamura']}"}
    response = httpx.get(
        f"{dashboard}/api/dashboard", params={"from": "2025-05-01", "to": "2025-04-01"}, headers=headers
    )
    assert response.status_code == 422 and "期間の終わり" in response.text
