"""Coordination's part of a case's timeline (libs/timeline.py): its cases opened for the case key.

Who may see them is coordination's rule for reading a case (`may_read`): the holder's
coordinators, organisations that sat in a meeting on the case, the referring organisation under
a consent covering intake. A key referred twice has two coordination cases; a basis on either
shows the key's history here.
"""

import uuid

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.glossary import Program
from libs import clock, commands, timeline
from libs.authz import Decision
from libs.directory import Directory
from libs.http import Caller
from services.coordination.domain import consent, model
from services.coordination.service_layer import authorization, handlers

LABELS = {
    "CaseOpened": "支援依頼の受理（ケース開始）",
    "AssessmentRecorded": "課題の解きほぐし（アセスメント）",
    "PlanAgreed": "支援プランの合意",
    "RoleAccepted": "役割の受諾",
    "MonitoringRecorded": "モニタリング",
    "ReferredToOutreach": "アウトリーチ事業への依頼",
    "ReferredToParticipation": "参加支援事業への依頼",
    "ConnectionNoted": "つなぎの報告",
    "PartnerReported": "連携先からの報告",
    "SupportConcluded": "支援の終結（評価）",
    "ReturnedToOrigin": "つなぎもどし",
    "ConsentNoted": "同意状況の反映",
}


async def may_see(conn: AsyncConnection, caller: Caller, case_key: uuid.UUID, _: Directory) -> Decision:
    consent_state = (
        await commands.load(conn, consent.CONSENT_STATE, handlers.consent_stream(case_key))
    ).state
    today = clock.today()
    decisions = []
    for stream in await timeline.stream_ids(conn, model.STREAM_TYPE, case_key):
        case = (await commands.load(conn, model.COORDINATION_CASE, stream)).state
        decisions.append(authorization.may_read(caller.principal, case, consent_state, today))
    return timeline.first_allowed(decisions)


def routes(app: FastAPI) -> None:
    timeline.routes(app, timeline.TimelineSource(Program.COORDINATION, LABELS, may_see))
