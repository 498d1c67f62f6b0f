"""Outreach's part of a case's timeline (libs/timeline.py): its cases opened for the case key.

Who may see them is outreach's rule for reading a case (`may_read`): only the holder's outreach
workers, since what a worker writes before the person consents has no basis to go further.
"""

import uuid
from datetime import date

from contracts.glossary import Program
from libs import handover, timeline
from libs.authz import Decision
from libs.directory import Directory
from libs.eventstore import Session
from libs.http import Caller
from services.outreach.domain import model
from services.outreach.service_layer import authorization

LABELS = {
    "CaseHandedOver": handover.LABEL,
    "PotentialClientIdentified": "支援が必要と思われる人の把握",
    "ContactAttempted": "接触の試み",
    "MilestoneReached": "関係づくりの進展",
    "ConnectedToSupport": "支援機関へのつなぎ",
    "OutreachConcluded": "終結",
}


async def may_see(
    session: Session, caller: Caller, case_key: uuid.UUID, _: Directory, _today: date
) -> Decision:
    decisions = []
    for stream in await session.stream_ids(model.STREAM_TYPE, case_key):
        case = (await session.load(model.OUTREACH_CASE, stream)).state
        decisions.append(authorization.may_read(caller.principal, case))
    return timeline.first_allowed(decisions)


router = timeline.router(timeline.TimelineSource(Program.OUTREACH, LABELS, may_see))
