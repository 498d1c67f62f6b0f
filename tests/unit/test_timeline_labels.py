"""Every event a worker's timeline can show reads as Japanese, in every program (never a type name)."""

import pytest

from services.community.domain import concern
from services.community.entrypoints import timeline as community
from services.coordination.domain import model as coordination_model
from services.coordination.entrypoints import timeline as coordination
from services.intake.domain import consent
from services.intake.domain import model as intake_model
from services.intake.entrypoints import timeline as intake
from services.outreach.domain import model as outreach_model
from services.outreach.entrypoints import timeline as outreach
from services.participation.domain import model as participation_model
from services.participation.entrypoints import timeline as participation


@pytest.mark.parametrize(
    "labels, aggregates",
    [
        (intake.LABELS, (intake_model.INTAKE_CASE, consent.CONSENTS)),
        (coordination.LABELS, (coordination_model.COORDINATION_CASE,)),
        (outreach.LABELS, (outreach_model.OUTREACH_CASE,)),
        (participation.LABELS, (participation_model.PARTICIPATION_CASE,)),
        (community.LABELS, (concern.CONCERN,)),
    ],
    ids=["intake", "coordination", "outreach", "participation", "community"],
)
def test_every_case_event_has_a_japanese_label(labels, aggregates):
    events = {e.event_type() for aggregate in aggregates for e in aggregate.events}
    assert events - set(labels) == set()
    assert all(any("\u3040" <= ch <= "\u9fff" for ch in label) for label in labels.values())
