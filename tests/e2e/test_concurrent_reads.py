"""Reads never conflict: many workers reading one case at the same moment all get it, and each
read is recorded exactly once (a read must never fail because someone else read)."""

import asyncio
from collections import Counter

import httpx

from tests.e2e.test_first_flow import CONSENT, COORDINATOR, WORKER, as_user, clients, consultation

READS_PER_USER = {WORKER: 150, COORDINATOR: 150}  # the holder, and another organisation by consent
AUDITOR = "kansa-kobayashi"


async def test_hundreds_of_concurrent_reads_of_one_case_all_succeed_and_are_each_recorded_once(
    services, tokens
):
    intake, _ = clients(services, tokens)
    async with intake:
        created = await intake.post("/cases", json=consultation())
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        assert (await intake.post(f"/cases/{case_id}/consents", json=CONSENT)).status_code == 201

    # One connection per read, never reused: a kept-alive one may be closed by the server just as
    # it is reused, which is the client's race, not the service's answer.
    limits = httpx.Limits(max_connections=sum(READS_PER_USER.values()), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=services.urls["intake"], timeout=120, limits=limits) as http:
        readers = [user for user, n in READS_PER_USER.items() for _ in range(n)]
        answers = await asyncio.gather(
            *(http.get(f"/cases/{case_id}", headers=as_user(tokens, user)) for user in readers)
        )
        statuses = Counter(a.status_code for a in answers)
        assert statuses == Counter({200: len(readers)}), {
            s: next(a.text for a in answers if a.status_code == s) for s in statuses
        }

    async with httpx.AsyncClient(base_url=services.urls["intake"], timeout=120) as http:
        records = await http.get(
            "/audit/access", params={"case_id": case_id}, headers=as_user(tokens, AUDITOR)
        )
        assert records.status_code == 200, records.text
        assert Counter(r["user"] for r in records.json()) == Counter(READS_PER_USER)
