"""Case registers over real HTTP and PostgreSQL: a worker lists and finds their organisation's cases."""

import random

from tests.conftest import business_day
from tests.e2e.test_first_flow import CONSENT, PERSON, as_user, clients, consultation, refer_new_case
from tests.polling import eventually

KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


def _someone() -> dict:
    """A person no other test names: a random kana family name and birth date."""
    family = "".join(random.choice(KATAKANA) for _ in range(6))
    born = f"19{random.randint(30, 99)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}"
    return PERSON | {"name": f"{family}　一子", "name_kana": f"{family} イチコ", "birth_date": born}


async def test_a_worker_lists_and_finds_their_organisations_cases(services, tokens):
    intake, coord = clients(services, tokens)
    person, other = _someone(), _someone()
    async with intake, coord:
        first = (await intake.post("/cases", json=consultation(person=person))).json()["case_id"]
        second = (
            await intake.post("/cases", json=consultation(person=person, received_on="2026-04-02"))
        ).json()
        await intake.post("/cases", json=consultation(person=other))

        family = person["name_kana"].split()[0]
        found = await intake.get("/cases", params={"q": family})
        assert found.status_code == 200, found.text
        assert [c["case_id"] for c in found.json()["cases"]] == [second["case_id"], first]  # newest first
        line = found.json()["cases"][0]
        assert line["status_label"] and line["worker"] == "chuo-suzuki" and line["overdue"] is False
        assert PERSON["name"] not in found.text and family not in found.text  # no personal data listed

        # Hiragana for katakana, the family name as written, a birth date typed without dashes.
        hiragana = "".join(chr(ord(c) - 0x60) for c in family)
        for query in (hiragana, person["name"].split("　")[0], person["birth_date"].replace("-", "")):
            again = await intake.get("/cases", params={"q": query})
            assert {c["case_id"] for c in again.json()["cases"]} == {first, second["case_id"]}, query

        page = await intake.get("/cases", params={"q": family, "limit": 1})
        assert [c["case_id"] for c in page.json()["cases"]] == [second["case_id"]]
        rest = await intake.get(
            "/cases", params={"q": family, "limit": 1, "cursor": page.json()["next_cursor"]}
        )
        assert [c["case_id"] for c in rest.json()["cases"]] == [first] and rest.json()["next_cursor"] is None

        # Another 地域包括支援センター lists its own cases only; a coordinator has no intake register.
        elsewhere = await intake.get(
            "/cases", params={"q": family}, headers=as_user(tokens, "kita-takahashi")
        )
        assert elsewhere.status_code == 200 and elsewhere.json()["cases"] == []
        assert (await intake.get("/cases", headers=as_user(tokens, "tagikan-tanaka"))).status_code == 403
        assert (await intake.get("/cases", params={"cursor": "garbage"})).status_code == 422
        for day_param in ("opened_from", "opened_to", "consent_expires_by"):  # a number is not a day
            assert (await intake.get("/cases", params={day_param: "5.79e-77"})).status_code == 422, day_param

        # The coordinator's register holds the case referred to them.
        _, opened = await refer_new_case(intake, coord)

        async def listed() -> bool:
            cases = (await coord.get("/cases", params={"status": "open", "limit": 200})).json()["cases"]
            return opened["coordination_case_id"] in {c["case_id"] for c in cases}

        await eventually(listed, what="the referred case in the coordinator's register")


async def test_worklists_say_what_they_count_and_list_it(services, tokens):
    intake, coord = clients(services, tokens)
    async with intake, coord:
        person = _someone()
        created = await intake.post("/cases", json=consultation(person=person, received_on="2026-04-01"))
        case_id = created.json()["case_id"]

        lists = await intake.get("/worklists")
        assert lists.status_code == 200, lists.text
        by_name = {w["name"]: w for w in lists.json()}
        assert {"my_cases", "overdue", "quiet_30_days", "referrals_waiting"} <= set(by_name)
        assert all(w["label"] and w["definition"] for w in by_name.values())
        assert by_name["my_cases"]["count"] >= 1

        # Received in April and nothing since: the worker's own, and quiet for 30 days or more.
        for name in ("my_cases", "quiet_30_days"):
            listed, cursor = set(), None
            while True:
                page = await intake.get(
                    f"/worklists/{name}",
                    params={"limit": 200, "cursor": cursor} if cursor else {"limit": 200},
                )
                assert page.status_code == 200, page.text
                listed |= {c["case_id"] for c in page.json()["cases"]}
                if not (cursor := page.json()["next_cursor"]):
                    break
            assert case_id in listed, name
            assert len(listed) == by_name[name]["count"], name  # the count and the list agree

        elsewhere = await intake.get("/worklists/my_cases", headers=as_user(tokens, "kita-takahashi"))
        assert case_id not in {c["case_id"] for c in elsewhere.json()["cases"]}
        assert (await intake.get("/worklists/nothing-like-it")).status_code == 404
        assert (await intake.get("/worklists", headers=as_user(tokens, "tagikan-tanaka"))).status_code == 403
        reviews = await coord.get("/worklists")
        assert {"plan_reviews_due", "consents_expiring_30_days"} <= {w["name"] for w in reviews.json()}

        # A consent running out in ten business days: on the worklist, soonest first, and a filter.
        consent = CONSENT | {"expires_on": business_day(10)}
        granted = await intake.post(f"/cases/{case_id}/consents", json=consent)
        assert granted.status_code == 201, granted.text
        expiring = await intake.get("/worklists/consents_expiring_30_days", params={"limit": 200})
        assert expiring.status_code == 200, expiring.text
        lines = {c["case_id"]: c for c in expiring.json()["cases"]}
        assert lines[case_id]["consent_expires_on"] == business_day(10)
        days = [c["consent_expires_on"] for c in expiring.json()["cases"]]
        assert days == sorted(days) and business_day(-1) < days[0] and days[-1] <= business_day(30)
        for by, listed in ((business_day(10), True), (business_day(9), False)):
            found = await intake.get("/cases", params={"consent_expires_by": by, "limit": 200})
            assert (case_id in {c["case_id"] for c in found.json()["cases"]}) is listed, by
