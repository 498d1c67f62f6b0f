"""The projector counts ContactAttempted the same whether it was published as v1 or v2."""

from tests.legacy import as_v1
from tests.projections import scenario
from tests.projections.conftest import publish, running, wait_caught_up
from tests.projections.test_projector import check, figures


async def test_v1_and_v2_contact_attempts_count_alike(infra, settings):
    s = scenario.build(cases=12, seed=6)
    attempts = [i for i, e in enumerate(s.envelopes) if e.event_type == "ContactAttempted"]
    assert len(attempts) >= 4
    # Every other attempt as the previous release published it: one `outcome` code, version 1.
    published = list(s.envelopes)
    for i in attempts[::2]:
        published[i] = as_v1(published[i])
    assert {e.schema_version for e in published if e.event_type == "ContactAttempted"} == {1, 2}
    await publish(infra, published)
    async with running(settings):
        await wait_caught_up(settings)
    check(await figures(settings, s.district), s)  # the figures of the all-v2 scenario
