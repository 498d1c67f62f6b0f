"""Participation's part of a case's timeline (libs/timeline.py): its cases opened for the case key.

Who may see them is participation's rule for reading a case (`may_read`): the holding
organisation's participation coordinators; nobody else has a basis here yet.
"""

import uuid
from datetime import date

from contracts.glossary import Program
from libs import handover, timeline
from libs.authz import Decision
from libs.directory import Directory
from libs.eventstore import Session
from libs.http import Caller
from services.participation.domain import model
from services.participation.service_layer import authorization

LABELS = {
    "CaseHandedOver": handover.LABEL,
    "CaseOpened": "参加支援の依頼の受理（ケース開始）",
    "NeedsAssessed": "本人の希望と状況の把握",
    "PlacementStarted": "参加の開始（マッチング）",
    "PlacementFollowedUp": "定着支援",
    "PlacementEnded": "参加の終了",
    "HostSupported": "受け入れ先への支援",
    "CaseClosed": "参加支援の終結",
}


async def may_see(
    session: Session, caller: Caller, case_key: uuid.UUID, _: Directory, _today: date
) -> Decision:
    decisions = []
    for stream in await session.stream_ids(model.STREAM_TYPE, case_key):
        case = (await session.load(model.PARTICIPATION_CASE, stream)).state
        decisions.append(authorization.may_read(caller.principal, case))
    return timeline.first_allowed(decisions)


router = timeline.router(timeline.TimelineSource(Program.PARTICIPATION, LABELS, may_see))
