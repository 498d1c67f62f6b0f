"""Community's part of a case's timeline (libs/timeline.py): the concern that raised the case key.

Who may see it is community's rule for a concern (`may_manage`): the community coordinators of
the organisation whose place noticed the person.
"""

import uuid

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.glossary import Program
from libs import commands, timeline
from libs.authz import Decision
from libs.directory import Directory
from libs.http import Caller
from services.community.domain import concern
from services.community.service_layer import authorization

LABELS = {
    "ConcernNoted": "居場所での気づきの記録",
    "ConcernRaised": "相談機関へのつなぎ",
}


async def may_see(conn: AsyncConnection, caller: Caller, case_key: uuid.UUID, _: Directory) -> Decision:
    decisions = []
    for stream in await timeline.stream_ids(conn, concern.STREAM_TYPE, case_key):
        noticed = (await commands.load(conn, concern.CONCERN, stream)).state
        decisions.append(authorization.may_manage(caller.principal, noticed.holder))
    return timeline.first_allowed(decisions)


def routes(app: FastAPI) -> None:
    timeline.routes(app, timeline.TimelineSource(Program.COMMUNITY, LABELS, may_see))
