"""Community's part of a case's timeline (libs/timeline.py): the concern that raised the case key.

Who may see it is community's rule for a concern (`may_manage`): the community coordinators of
the organisation whose place noticed the person.
"""

import uuid
from datetime import date

from contracts.glossary import Program
from libs import timeline
from libs.authz import Decision
from libs.directory import Directory
from libs.eventstore import Session
from libs.http import Caller
from services.community.domain import concern
from services.community.service_layer import authorization

LABELS = {
    "ConcernNoted": "居場所での気づきの記録",
    "ConcernRaised": "相談機関へのつなぎ",
}


async def may_see(
    session: Session, caller: Caller, case_key: uuid.UUID, _: Directory, _today: date
) -> Decision:
    """The concerns stored under the case key (found by index) decide; no concern, no basis."""
    decisions = []
    for stream in await session.stream_ids(stream_type=concern.STREAM_TYPE, case_key=case_key):
        noticed = (await session.load(concern.CONCERN, stream)).state
        decisions.append(authorization.may_manage(caller.principal, noticed.holder))
    return timeline.first_allowed(decisions)


router = timeline.router(timeline.TimelineSource(Program.COMMUNITY, LABELS, may_see))
